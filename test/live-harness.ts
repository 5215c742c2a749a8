/**
 * Running real programs on the loopback for the live tests: throwaway CAs, free ports, bounded waits, curl through
 * a proxy, and processes that are always stopped by their process group at the end. 127.0.0.0/8 only.
 */
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

/** A CA `<name>.crt/.key` and server certificates `<host>.crt/.key` signed by it (throwaway, test only). */
export function makeCa(dir: string, name: string, servers: string[]): void {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  for (const host of servers) {
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${host}`, "-keyout", `${host}.key`, "-out", `${host}.csr`], dir);
    fs.writeFileSync(path.join(dir, `${host}.ext`), `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\n`);
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

export interface Curl {
  status: number;
  body: Buffer;
  stderr: string;
}

/**
 * curl through the proxy, trusting only `caFile`; bounded in time. Asynchronous: stand-in origins run in the test's
 * own process and must keep answering while curl waits.
 */
export function curl(proxyPort: number, url: string, caFile: string, headers: string[] = []): Promise<Curl> {
  const args = ["-sS", "-v", "--max-time", "20", "--noproxy", "", "--proxy", `http://127.0.0.1:${proxyPort}`, "--cacert", caFile, ...headers.flatMap((h) => ["-H", h]), "-w", "\n%{http_code}", url];
  return new Promise((resolve) => {
    execFile("curl", args, { encoding: "buffer", timeout: 30000, maxBuffer: 64 * 1048576 }, (_err, stdout, stderr) => {
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
