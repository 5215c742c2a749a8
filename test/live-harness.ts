/**
 * Running real programs on the loopback for the live tests: throwaway CAs, free ports, bounded waits, curl through
 * a proxy, and processes that are always stopped by their process group at the end. 127.0.0.0/8 only.
 */
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";

export function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

/**
 * A CA `<name>.crt/.key` and server certificates `<host>.crt/.key` signed by it (throwaway, test only). `alsoFor`
 * adds names to a host's certificate, as real SaaS certificates carry many (what fronting tests need).
 */
export function makeCa(dir: string, name: string, servers: string[], alsoFor: Record<string, string[]> = {}): void {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  for (const host of servers) {
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${host}`, "-keyout", `${host}.key`, "-out", `${host}.csr`], dir);
    fs.writeFileSync(path.join(dir, `${host}.ext`), `subjectAltName=${[host, ...(alsoFor[host] ?? [])].map((n) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\n`);
    openssl(["x509", "-req", "-in", `${host}.csr`, "-CA", `${name}.crt`, "-CAkey", `${name}.key`, "-CAcreateserial", "-days", "2", "-extfile", `${host}.ext`, "-out", `${host}.crt`], dir);
  }
}

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, ms: number, host = "127.0.0.1"): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, host, () => (c.destroy(), resolve(true)));
      c.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on ${host}:${port} within ${ms} ms`);
}

/** Waits until something accepts connections on a Unix socket (clamd listens on one). */
export async function waitForUnixSocket(socketPath: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect({ path: socketPath }, () => (c.destroy(), resolve(true)));
      c.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on ${socketPath} within ${ms} ms`);
}

export interface Curl {
  status: number;
  body: Buffer;
  stderr: string;
}

/**
 * curl through the proxy, trusting only `caFile`; bounded in time (`maxSeconds`, 20 unless told). Asynchronous:
 * stand-in origins run in the test's own process and must keep answering while curl waits.
 */
export function curl(proxyPort: number, url: string, caFile: string, headers: string[] = [], maxSeconds = 20): Promise<Curl> {
  const args = ["-sS", "-v", "--max-time", String(maxSeconds), "--noproxy", "", "--proxy", `http://127.0.0.1:${proxyPort}`, "--cacert", caFile, ...headers.flatMap((h) => ["-H", h]), "-w", "\n%{http_code}", url];
  return new Promise((resolve) => {
    execFile("curl", args, { encoding: "buffer", timeout: (maxSeconds + 10) * 1000, maxBuffer: 64 * 1048576 }, (_err, stdout, stderr) => {
      const text = stdout as Buffer;
      const cut = text.lastIndexOf(0x0a);
      resolve({ status: Number(text.subarray(cut + 1).toString()), body: text.subarray(0, cut), stderr: (stderr as Buffer).toString() });
    });
  });
}

/** Processes started for a test, each in its own process group, stopped together at the end. */
export class Processes {
  private readonly children: ChildProcess[] = [];
  readonly logs = new Map<string, string>();

  start(name: string, command: string, args: string[]): ChildProcess {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.logs.set(name, "");
    const keep = (d: Buffer) => this.logs.set(name, (this.logs.get(name)! + d.toString()).slice(-20000));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.children.push(child);
    return child;
  }

  /** Starts a server and waits until it accepts connections on a Unix socket; on timeout the error carries its output. */
  async startListeningOnSocket(name: string, command: string, args: string[], socketPath: string, ms: number): Promise<ChildProcess> {
    const child = this.start(name, command, args);
    await waitForUnixSocket(socketPath, ms).catch((e: Error) => {
      throw new Error(`${e.message}\n${name} said:\n${this.logs.get(name)}`);
    });
    return child;
  }

  /** Starts a server and waits until it listens on `port`; on timeout the error carries what the program said. */
  async startListening(name: string, command: string, args: string[], port: number, ms: number): Promise<ChildProcess> {
    const child = this.start(name, command, args);
    await waitForPort(port, ms).catch((e: Error) => {
      throw new Error(`${e.message}\n${name} said:\n${this.logs.get(name)}`);
    });
    return child;
  }

  /** Stops one process group: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(child: ChildProcess, graceMs = 8000): Promise<void> {
    if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return; // already gone
    }
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs));
    if ((await Promise.race([exited, timer])) === "timeout") {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* gone meanwhile */
      }
      await exited;
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.children.map((c) => this.stop(c)));
  }
}

/** Squid (and the engine) drop root to their own users: give them the temp directory when the tests run as root. */
export function handOver(dir: string, user: string): void {
  if (process.getuid?.() === 0) execFileSync("chown", ["-R", `${user}:`, dir]);
}

/** The end of every live test: each process stopped by its process group, stand-in origins closed, files removed. */
export async function tearDown(processes: Processes, servers: { close(cb: () => void): unknown }[], dir: string): Promise<void> {
  await processes.stopAll();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  if (!process.env.KEEP_SQUID_DIR) fs.rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`kept ${dir}\n`);
}

/** CONNECT through the proxy to `target` (host:port), then TLS with `servername` as SNI, trusting `ca` (as PCs do). */
export function tlsThroughProxy(proxyPort: number, target: string, servername: string, ca: Buffer, ms = 10_000): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (raw.destroy(), reject(new Error(`CONNECT ${target} through the proxy timed out`))), ms);
    const raw = net.connect(proxyPort, "127.0.0.1", () => raw.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    raw.once("error", (e) => (clearTimeout(timer), reject(e)));
    raw.once("data", (d) => {
      if (!/^HTTP\/1\.1 200/.test(d.toString())) return clearTimeout(timer), raw.destroy(), reject(new Error(`CONNECT refused: ${d.toString().split("\r\n")[0]}`));
      const t = tls.connect({ socket: raw, servername, ca }, () => (clearTimeout(timer), resolve(t)));
      t.once("error", (e) => (clearTimeout(timer), reject(e)));
    });
  });
}

export interface RawResponse {
  status: number;
  head: string;
  body: Buffer;
}

/**
 * Sends HTTP/1.1 requests one after another on one (bumped) connection and reads each response by its
 * Content-Length, as a browser reusing a connection would. Bounded in time.
 */
export function exchange(socket: tls.TLSSocket, requests: string[], ms = 10_000): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const out: RawResponse[] = [];
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no complete answer within ${ms} ms (got ${out.length} of ${requests.length})`))), ms);
    const next = () => {
      if (out.length === requests.length) return clearTimeout(timer), socket.destroy(), resolve(out);
      socket.write(requests[out.length]);
    };
    socket.on("data", (d: Buffer) => {
      buffer = Buffer.concat([buffer, d]);
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      out.push({ status: Number(head.split(" ")[1]), head, body: buffer.subarray(end + 4, end + 4 + length) });
      buffer = buffer.subarray(end + 4 + length);
      next();
    });
    socket.on("close", () => {
      if (out.length < requests.length) clearTimeout(timer), resolve(out);
    });
    socket.on("error", (e) => (clearTimeout(timer), reject(e)));
    next();
  });
}

/**
 * A WebSocket client through the proxy, step by step as a browser does it: CONNECT, TLS (trusting the interception
 * CA, as LGWAN PCs do), the upgrade request, then raw bytes after 101. Bounded in time.
 */
export async function webSocketThroughProxy(proxyPort: number, host: string, port: number, ca: Buffer): Promise<{ status: string; echo: string }> {
  const t = await tlsThroughProxy(proxyPort, `${host}:${port}`, host, ca);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (t.destroy(), reject(new Error("WebSocket through the proxy timed out"))), 10_000);
    t.write(`GET /socket HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n\r\n`);
    let buffer = "";
    let status = "";
    t.on("data", (chunk) => {
      buffer += chunk.toString();
      if (!status && buffer.includes("\r\n\r\n")) {
        status = buffer.split("\r\n")[0];
        buffer = buffer.slice(buffer.indexOf("\r\n\r\n") + 4);
        if (!status.includes(" 101 ")) {
          clearTimeout(timer);
          t.destroy();
          return resolve({ status, echo: "" });
        }
        t.write("ping-through-squid");
      }
      if (status && buffer.length >= "ping-through-squid".length) {
        clearTimeout(timer);
        t.destroy();
        resolve({ status, echo: buffer });
      }
    });
    t.on("error", (e) => (clearTimeout(timer), reject(e)));
  });
}

/** A stand-in origin's WebSocket endpoint: answers the upgrade (RFC 6455), then echoes what it is sent. */
export function acceptWebSocket(req: { headers: Record<string, string | string[] | undefined> }, socket: import("stream").Duplex): void {
  const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.on("data", (d) => socket.write(d));
}

/** Squid's helper programs (squid.conf names them) written into a test's directory, as the instance's user data does. */
export function writeSquidHelpers(dir: string): string {
  const { renderSniCheckHelper } = require("../constructs/tenant-proxy") as typeof import("../constructs/tenant-proxy");
  const helper = path.join(dir, "sni-is-host");
  fs.writeFileSync(helper, renderSniCheckHelper(), { mode: 0o755 });
  return helper;
}
