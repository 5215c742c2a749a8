/**
 * The tenant-restriction proxy with its 無害化 engine, as an instance runs it, on the loopback: real Squid, c-icap
 * (virus_scan + clamd_mod) and clamd with the files rendered for a sample municipality, only paths and ports moved
 * into a temporary directory (directory modes as on the instance: c-icap's TmpDir is closed to clamd), a signature
 * database written here (ClamAV's EICAR hash signature; nothing is downloaded), the engine check and the systemd
 * drop-ins' commands as rendered, and one TLS origin standing in for Slack's hosts. Each program is started and
 * stopped on its own, so tests can put the engine in any state; every process is stopped by its group at the end.
 */
import { execFile, execFileSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { ENGINE_LAYOUT, EngineLayout, ICAP_SERVICE, clamdSocket, renderCicapConfig, renderClamdConfig, renderEngineCheckScript, renderEngineDownPage, renderEngineUnits, renderTooBigPage, renderUnscannablePage, renderVirusFoundPage, UNSCANNABLE_PAGE } from "../constructs/file-sanitization";
import { renderSquidConfig, SQUID_LAYOUT, SquidLayout } from "../constructs/tenant-proxy";
import { loadFiles } from "../config/load";
import type { MunicipalityConfig } from "../config/types";
import { effectiveAllowlist } from "../stacks/allowlist";
import { envDirWith, sampleText, tempDir } from "./helpers";
import { curl, Curl, freePort, handOver, makeCa, Processes, tearDown, writeSquidHelpers } from "./live-harness";
import { eicarHashSignatures } from "./malware-samples";

/** Slack's file host (sanitized), a Slack host bumped only for the tenant header, and its WebSocket host. */
export const FILE_HOST = "files.slack.com";
export const CHAT_HOST = "app.slack.com";
export const WS_HOST = "wss-primary.slack.com";
const ORIGIN_IP = "127.0.0.4";
export const GUIDANCE = "テスト用: 情報政策課に依頼してください / test: ask the information policy office";

/** Debian's architecture-specific c-icap modules directory on this machine. */
function localCicapModules(): string {
  const found = fs.readdirSync("/usr/lib").map((d) => path.join("/usr/lib", d, "c_icap")).find((d) => fs.existsSync(path.join(d, "virus_scan.so")));
  if (!found) throw new Error("c-icap's virus_scan.so was not found under /usr/lib/*/c_icap (apt-get install libc-icap-mod-virus-scan)");
  return found;
}

/** Kaga's env file with a limit small enough to test quickly; everything else as the sample ships it. */
export function kagaWithLimit(limitMb: number): MunicipalityConfig {
  const text = sampleText("kaga");
  const edited = text.replace(/maxFileSizeMb: \d+/, `maxFileSizeMb: ${limitMb}`);
  if (edited === text) throw new Error("kaga.yaml has no maxFileSizeMb to change");
  const r = loadFiles([path.join(envDirWith({ "kaga.yaml": edited }), "kaga.yaml")]);
  if (r.issues.length) throw new Error(r.issues.map((i) => i.message).join("\n"));
  return r.configs[0];
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface SeenRequest {
  readonly host?: string;
  readonly url?: string;
  readonly headers: http.IncomingHttpHeaders;
}

export class SanitizingProxy {
  readonly dir = tempDir("alpha-prime-sanitize-");
  readonly processes = new Processes();
  readonly servers: https.Server[] = [];
  /** path → what the stand-in origin answers (any host it serves) */
  readonly routes = new Map<string, Handler>();
  /** upgrade (WebSocket) requests the origin received */
  readonly upgrades: SeenRequest[] = [];
  /** every request the origin received, in order */
  readonly seen: SeenRequest[] = [];
  proxyPort = 0;
  tlsPort = 0;
  engine: EngineLayout = ENGINE_LAYOUT;
  squid: SquidLayout = SQUID_LAYOUT;
  readonly limit: number;
  private readonly running = new Map<string, ChildProcess>();

  private constructor(readonly config: MunicipalityConfig) {
    this.limit = config.breakout.sanitization!.maxFileSizeMb * 1048576;
  }

  /** Renders every file and starts the stand-in origin; no program of the proxy runs yet. */
  static async create(config: MunicipalityConfig): Promise<SanitizingProxy> {
    const s = new SanitizingProxy(config);
    await s.prepare();
    return s;
  }

  private async prepare(): Promise<void> {
    const dir = this.dir;
    fs.chmodSync(dir, 0o755);
    makeCa(dir, "interception-ca", []);
    // like Slack's real certificate, the file host's names every Slack host (what domain fronting relies on)
    makeCa(dir, "origin-ca", [FILE_HOST], { [FILE_HOST]: [`*.${FILE_HOST.split(".").slice(1).join(".")}`] });
    fs.writeFileSync(path.join(dir, "interception.pem"), fs.readFileSync(path.join(dir, "interception-ca.crt"), "utf8") + fs.readFileSync(path.join(dir, "interception-ca.key"), "utf8"));
    this.tlsPort = await freePort();
    this.proxyPort = await freePort();
    const mk = (d: string, mode = 0o755) => (fs.mkdirSync(path.join(dir, d), { recursive: true }), fs.chmodSync(path.join(dir, d), mode), path.join(dir, d));
    this.engine = {
      ...ENGINE_LAYOUT,
      icapPort: await freePort(),
      cicapModulesDir: localCicapModules(),
      cicapTemplateDir: mk("templates"),
      cicapLogDir: mk("cicap-log"),
      cicapRunDir: mk("cicap-run"),
      // as on the instance (0750, c-icap's): clamd cannot open these files by name, it gets each one's descriptor
      cicapTmpDir: mk("cicap-tmp", 0o750),
      clamavDatabaseDir: mk("clamav-db"),
      clamavLogDir: mk("clamav-log"),
      clamavRunDir: mk("clamav-run"),
      clamdConfigFile: path.join(dir, "clamd.conf"),
      engineCheckProgram: path.join(dir, "alpha-prime-engine-check"),
      engineCheckLog: path.join(dir, "log", "engine-check.log"),
    };
    mk("templates/virus_scan/en");
    mk("errors");
    mk("log");
    const san = this.config.breakout.sanitization!;
    const guidance = { guidance: GUIDANCE };
    fs.writeFileSync(path.join(this.engine.clamavDatabaseDir, "alpha-prime-test.hdb"), eicarHashSignatures());
    fs.writeFileSync(path.join(this.engine.cicapTemplateDir, "virus_scan/en/VIRUS_FOUND"), renderVirusFoundPage(guidance));
    for (const f of fs.readdirSync("/usr/share/squid/errors/templates")) fs.copyFileSync(path.join("/usr/share/squid/errors/templates", f), path.join(dir, "errors", f));
    fs.writeFileSync(path.join(dir, "errors", "ERR_ICAP_FAILURE"), renderEngineDownPage(guidance, this.limit));
    fs.writeFileSync(path.join(dir, "errors", "ERR_TOO_BIG"), renderTooBigPage(guidance, this.limit));
    fs.writeFileSync(path.join(dir, "errors", UNSCANNABLE_PAGE), renderUnscannablePage(guidance));
    fs.writeFileSync(this.engine.clamdConfigFile, renderClamdConfig({ maxFileSizeBytes: this.limit, layout: this.engine }));
    fs.writeFileSync(path.join(dir, "c-icap.conf"), renderCicapConfig({ maxFileSizeBytes: this.limit, layout: this.engine }));
    fs.writeFileSync(this.engine.engineCheckProgram, renderEngineCheckScript({ layout: this.engine }), { mode: 0o755 });

    const server = https.createServer({ key: fs.readFileSync(path.join(dir, `${FILE_HOST}.key`)), cert: fs.readFileSync(path.join(dir, `${FILE_HOST}.crt`)) }, (req, res) => {
      this.seen.push({ host: req.headers.host, url: req.url, headers: req.headers });
      const handler = this.routes.get(new URL(req.url ?? "/", "https://x").pathname);
      if (handler) return handler(req, res);
      res.statusCode = 404;
      res.end();
    });
    server.on("upgrade", (req, socket) => {
      this.upgrades.push({ host: req.headers.host, url: req.url, headers: req.headers });
      require("./live-harness").acceptWebSocket(req, socket);
    });
    await new Promise<void>((resolve) => server.listen(this.tlsPort, ORIGIN_IP, resolve));
    this.servers.push(server);
    fs.writeFileSync(path.join(dir, "hosts"), [FILE_HOST, CHAT_HOST, WS_HOST].map((h) => `${ORIGIN_IP} ${h}`).join("\n") + "\n");

    this.squid = { ...SQUID_LAYOUT, port: this.proxyPort, tlsPort: this.tlsPort, caFile: path.join(dir, "interception.pem"), certDb: path.join(dir, "ssl_db"), logDir: path.join(dir, "log"), pidFile: path.join(dir, "squid.pid"), coredumpDir: dir, errorDir: path.join(dir, "errors"), upstreamCaFile: path.join(dir, "origin-ca.crt"), sniCheckHelper: writeSquidHelpers(dir) };
    const allowlist = effectiveAllowlist(this.config);
    const rendered = renderSquidConfig({
      municipality: this.config.id,
      clientCidrs: ["127.0.0.0/8"],
      allowedDomains: allowlist.domains,
      headerRules: allowlist.headerRules.map((r) => ({ label: r.saas, ...r })),
      sanitization: { hosts: allowlist.sanitization!.hosts, icapUrl: `icap://127.0.0.1:${this.engine.icapPort}/${ICAP_SERVICE}`, engine: "clamav", maxFileSizeBytes: this.limit, largerFiles: san.largerFiles },
      layout: this.squid,
    });
    // the one test-only addition: names resolve from a hosts file to the stand-in origin
    fs.writeFileSync(path.join(dir, "squid.conf"), `${rendered}\nhosts_file ${path.join(dir, "hosts")}\n`);
    execFileSync(this.squid.certgen, ["-c", "-s", this.squid.certDb, "-M", "16MB"], { stdio: "pipe" });

    // each program drops root to its own user, as on the instance
    handOver(dir, "proxy");
    for (const d of [this.engine.clamavDatabaseDir, this.engine.clamavLogDir, this.engine.clamavRunDir]) handOver(d, "clamav");
    for (const d of [this.engine.cicapLogDir, this.engine.cicapRunDir, this.engine.cicapTmpDir]) handOver(d, "c-icap");
  }

  async startClamd(): Promise<void> {
    this.running.set("clamd", await this.processes.startListeningOnSocket("clamd", "clamd", ["-c", this.engine.clamdConfigFile], clamdSocket(this.engine), 60000));
  }

  async startCicap(): Promise<void> {
    this.running.set("c-icap", await this.processes.startListening("c-icap", "c-icap", ["-N", "-f", path.join(this.dir, "c-icap.conf")], this.engine.icapPort, 20000));
  }

  async startSquid(): Promise<void> {
    this.running.set("squid", await this.processes.startListening("squid", "squid", ["-N", "-d", "1", "-f", path.join(this.dir, "squid.conf")], this.proxyPort, 20000));
  }

  async stop(name: "clamd" | "c-icap" | "squid"): Promise<void> {
    const child = this.running.get(name);
    if (child) await this.processes.stop(child, 5000);
    this.running.delete(name);
  }

  /** A command line from a rendered systemd drop-in (ExecStartPre=…), run as systemd would, bounded in time. */
  unitCommand(unit: string, key: "ExecStartPre" | "ExecStartPost"): string[] {
    const text = renderEngineUnits({ layout: this.engine })[unit];
    const line = text.split("\n").find((l) => l.startsWith(`${key}=`));
    if (!line) throw new Error(`${unit} has no ${key}`);
    return line.slice(key.length + 1).split(" ");
  }

  run(argv: string[], ms: number): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      execFile(argv[0], argv.slice(1), { timeout: ms, encoding: "utf8" }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: stdout + stderr }));
    });
  }

  url(p: string, host = FILE_HOST): string {
    return `https://${host}:${this.tlsPort}${p}`;
  }

  /** A download through the proxy, as a PC trusting the interception CA makes it. */
  get(p: string, headers: string[] = [], maxSeconds = 30): Promise<Curl> {
    return curl(this.proxyPort, this.url(p), path.join(this.dir, "interception-ca.crt"), headers, maxSeconds);
  }

  read(file: string): string {
    const f = path.join(this.dir, file);
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
  }

  close(): Promise<void> {
    return tearDown(this.processes, this.servers, this.dir);
  }
}

/** Serves `body` with a Content-Length, or chunked (no length: the PC and the proxy learn the size only at the end). */
export function serve(body: Buffer | (() => Buffer), o: { chunked?: boolean; headers?: Record<string, string> } = {}): Handler {
  return (_req, res) => {
    const data = typeof body === "function" ? body() : body;
    res.setHeader("content-type", "application/octet-stream");
    for (const [k, v] of Object.entries(o.headers ?? {})) res.setHeader(k, v);
    if (!o.chunked) {
      res.setHeader("content-length", data.length);
      res.end(data);
      return;
    }
    let off = 0;
    const step = (): void => {
      while (off < data.length) {
        const part = data.subarray(off, off + 65536);
        off += part.length;
        if (!res.write(part)) {
          res.once("drain", step);
          return;
        }
      }
      res.end();
    };
    step();
  };
}
