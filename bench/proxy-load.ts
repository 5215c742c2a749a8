/**
 * The two ends of the proxy benchmark (bench/proxy.ts), run as their own processes so they can be pinned to cores
 * other than the proxy's: stand-in origin servers (TLS on loopback addresses) and a load client that goes through
 * the proxy the way a browser does (CONNECT, TLS with the name in the ClientHello, HTTP/1.1). Loopback only; every
 * loop is bounded by a deadline given on the command line.
 *
 *   node dist/bench/proxy-load.js origin '<OriginOptions JSON>'   prints "ready" once every server listens
 *   node dist/bench/proxy-load.js client '<ClientOptions JSON>'   prints one ClientResult JSON line, then exits
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as tls from "tls";

export interface OriginOptions {
  readonly port: number;
  readonly servers: readonly { readonly ip: string; readonly certFile: string; readonly keyFile: string }[];
}

/**
 * bulk: a few long downloads of `path` on kept-alive connections (throughput);
 * requests: small requests one after another on kept-alive connections (requests per second);
 * handshakes: a new proxy connection, TLS handshake and one small request each (new connections per second).
 */
export type ClientMode = "bulk" | "requests" | "handshakes";

export interface ClientOptions {
  readonly proxyPort: number;
  readonly host: string;
  readonly port: number;
  /** PEM file of the CA the client trusts: the interception CA for bumped hosts, the origin's for spliced ones */
  readonly caFile: string;
  readonly mode: ClientMode;
  readonly concurrency: number;
  readonly durationMs: number;
  /** bulk: the paths fetched in turn (their sizes are in the name, /bytes/<n>) */
  readonly paths: readonly string[];
}

export interface ClientResult {
  readonly seconds: number;
  /** response body bytes received in full responses */
  readonly bytes: number;
  readonly requests: number;
  readonly connections: number;
  readonly errors: number;
  /** responses that were not 200 or not of the expected length */
  readonly wrong: number;
  readonly firstProblem?: string;
}

/** Body sizes are in the path (/bytes/<n>), so a response's expected length is known without a catalog. */
export function bytesPath(n: number, name = "file.bin"): string {
  return `/bytes/${n}/${name}`;
}

function expectedLength(path: string): number {
  const m = /^\/bytes\/(\d+)\//.exec(path);
  return m ? Number(m[1]) : SMALL.length;
}

const SMALL = Buffer.alloc(1024, "a");

function origin(o: OriginOptions): void {
  // one random block served over and over: the bytes are incompressible and cost the origin nothing to make
  const block = randomBytes(1 << 20);
  for (const s of o.servers) {
    const server = https.createServer({ key: fs.readFileSync(s.keyFile), cert: fs.readFileSync(s.certFile), keepAliveTimeout: 60_000 }, (req, res) => {
      const n = expectedLength(req.url ?? "/");
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(n) });
      if (n === SMALL.length && !req.url?.startsWith("/bytes/")) return void res.end(SMALL);
      let left = n;
      const more = (): void => {
        while (left > 0) {
          const chunk = block.subarray(0, Math.min(left, block.length));
          left -= chunk.length;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end();
      };
      more();
    });
    server.listen(o.port, s.ip, () => {
      if (++listening === o.servers.length) process.stdout.write("ready\n");
    });
  }
}
let listening = 0;

/** A minimal HTTP/1.1 response reader: status, Content-Length or chunked bodies, counted rather than kept. */
class ResponseReader {
  private buffer: Buffer = Buffer.alloc(0);
  private state: "head" | "body" | "chunk-size" | "chunk-data" | "chunk-end" | "trailer" = "head";
  private left = 0;
  private status = 0;
  private received = 0;
  private closeAfter = false;
  constructor(private readonly done: (status: number, bodyBytes: number, closeAfter: boolean) => void) {}

  push(data: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    for (;;) {
      if (this.state === "head") {
        const end = this.buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = this.buffer.subarray(0, end).toString("latin1");
        this.buffer = this.buffer.subarray(end + 4);
        this.status = Number(head.split(" ")[1]);
        this.received = 0;
        this.closeAfter = /\r\nconnection:\s*close/i.test(head);
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) this.state = "chunk-size";
        else {
          this.left = length ? Number(length[1]) : 0;
          this.state = "body";
        }
      } else if (this.state === "body") {
        const take = Math.min(this.left, this.buffer.length);
        this.left -= take;
        this.received += take;
        this.buffer = this.buffer.subarray(take);
        if (this.left > 0) return;
        this.state = "head";
        this.done(this.status, this.received, this.closeAfter);
      } else if (this.state === "chunk-size") {
        const end = this.buffer.indexOf("\r\n");
        if (end < 0) return;
        this.left = parseInt(this.buffer.subarray(0, end).toString("latin1"), 16);
        this.buffer = this.buffer.subarray(end + 2);
        this.state = this.left === 0 ? "trailer" : "chunk-data";
      } else if (this.state === "chunk-data") {
        const take = Math.min(this.left, this.buffer.length);
        this.left -= take;
        this.received += take;
        this.buffer = this.buffer.subarray(take);
        if (this.left > 0) return;
        this.state = "chunk-end";
      } else if (this.state === "chunk-end") {
        if (this.buffer.length < 2) return;
        this.buffer = this.buffer.subarray(2);
        this.state = "chunk-size";
      } else {
        const end = this.buffer.indexOf("\r\n");
        if (end < 0) return;
        const line = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + 2);
        if (line.length === 0) {
          this.state = "head";
          this.done(this.status, this.received, this.closeAfter);
        }
      }
    }
  }
}

/** CONNECT through the proxy, then TLS with the host's name: what a browser does for an https:// URL. */
function openTunnel(o: ClientOptions, ca: Buffer): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const raw = net.connect(o.proxyPort, "127.0.0.1", () => raw.write(`CONNECT ${o.host}:${o.port} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\n\r\n`));
    raw.setNoDelay(true);
    let head: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      raw.off("data", onData);
      const status = head.subarray(0, head.indexOf("\r\n")).toString();
      if (!/^HTTP\/1\.[01] 200/.test(status)) return reject(new Error(`CONNECT refused: ${status}`));
      const t = tls.connect({ socket: raw, servername: o.host, ca }, () => resolve(t));
      t.once("error", reject);
    };
    raw.on("data", onData);
    raw.once("error", reject);
  });
}

async function client(o: ClientOptions): Promise<ClientResult> {
  const ca = fs.readFileSync(o.caFile);
  const started = process.hrtime.bigint();
  const deadline = Date.now() + o.durationMs;
  let bytes = 0;
  let requests = 0;
  let connections = 0;
  let errors = 0;
  let wrong = 0;
  let firstProblem: string | undefined;
  const problem = (what: string): void => {
    firstProblem ??= what;
  };

  /** Runs requests on one tunnel until the deadline (bulk, requests) or for one request (handshakes). */
  const session = async (worker: number): Promise<void> => {
    const socket = await openTunnel(o, ca);
    connections++;
    await new Promise<void>((resolve) => {
      let turn = worker;
      let path = "";
      const send = (): void => {
        path = o.mode === "bulk" ? o.paths[turn++ % o.paths.length] : "/small";
        socket.write(`GET ${path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUser-Agent: alpha-prime-bench\r\n${o.mode === "handshakes" ? "Connection: close\r\n" : ""}\r\n`);
      };
      const reader = new ResponseReader((status, body, closeAfter) => {
        requests++;
        if (status !== 200 || body !== expectedLength(path)) {
          wrong++;
          problem(`${path}: HTTP ${status}, ${body} of ${expectedLength(path)} bytes`);
        } else bytes += body;
        if (o.mode === "handshakes" || closeAfter || Date.now() >= deadline) {
          socket.destroy();
          return resolve();
        }
        send();
      });
      socket.on("data", (d: Buffer) => reader.push(d));
      socket.once("error", (e) => {
        errors++;
        problem(e.message);
        resolve();
      });
      socket.once("close", () => resolve());
      // a response that never completes must not outlive the run
      const guard = setTimeout(() => {
        errors++;
        problem(`${path}: no complete response within the run (stalled)`);
        socket.destroy();
        resolve();
      }, Math.max(0, deadline - Date.now()) + 15_000);
      socket.once("close", () => clearTimeout(guard));
      send();
    });
  };

  await Promise.all(
    Array.from({ length: o.concurrency }, async (_, worker) => {
      while (Date.now() < deadline) {
        try {
          await session(worker);
        } catch (e) {
          errors++;
          problem((e as Error).message);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes, requests, connections, errors, wrong, firstProblem };
}

if (require.main === module) {
  const [role, json] = process.argv.slice(2);
  if (role === "origin") origin(JSON.parse(json) as OriginOptions);
  else if (role === "client") {
    client(JSON.parse(json) as ClientOptions).then(
      (r) => {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        process.exit(0);
      },
      (e) => {
        process.stderr.write(`${(e as Error).stack}\n`);
        process.exit(1);
      },
    );
  } else {
    process.stderr.write("usage: proxy-load.js origin|client '<json>'\n");
    process.exit(2);
  }
}
