/**
 * The proxy tier, measured per core on the loopback: the *rendered* configuration of a sample municipality
 * (squid.conf, c-icap.conf and clamd.conf exactly as its synthesized stack carries them, see cli/render.ts) run on
 * real Squid, c-icap and clamd, with stand-in origins and a load client (bench/proxy-load.ts).
 *
 * What is measured, per proxy core: splicing throughput; bumping (decrypt, add the tenant header, re-encrypt)
 * throughput, requests per second on kept-alive connections and new TLS connections per second; bumping plus
 * scanning (ICAP to c-icap, clamd) throughput and CPU-seconds per MB. "Per core": the proxy's processes (Squid with
 * its helpers, c-icap, clamd) are pinned to one core and the load (client and origins) to the others, and every
 * figure is divided by the CPU time the proxy's processes used (from /proc), so a client that cannot saturate the
 * proxy still yields the proxy's cost per byte, connection or request.
 *
 * What is not measured here: a full ClamAV database (this machine has no network to fetch one; pass
 * --clamav-db <dir> where one exists, e.g. on a proxy instance), and Graviton cores (run this on an instance).
 * Those figures are estimates with sources: constructs/proxy-capacity.ts, printed with the results.
 *
 * Options: --long (longer runs, more file sizes; default is quick), --sample <id> (default kaga: header hosts,
 * spliced hosts and sanitized hosts in one allowlist), --clamav-db <dir>.
 * Every process it starts is stopped by its process group at the end; a missing program fails it at once.
 */
import { execFile, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderedFiles, synthesizedStack } from "../cli/render";
import { loadOrThrow } from "../config/load";
import { defaultEnvDir } from "../core/paths";
import { DomainPattern, domainMatches } from "../catalog/domains";
import { clamdSocket, ENGINE_LAYOUT, EngineLayout } from "../constructs/file-sanitization";
import { PROXY_PORT } from "../constructs/breakout-plan";
import { SQUID_LAYOUT, SquidLayout } from "../constructs/tenant-proxy";
import { BANDWIDTH_TIERS } from "../constructs/bandwidth-tier";
import { CLAMAV_MEMORY_GIB, FULL_DATABASE_SCAN_MB_PER_CORE, GRAVITON_CORE_SHARE, MEASURED, ProxyCoreFigures, proxyTierCapacity, TARGET_CPU } from "../constructs/proxy-capacity";
import { effectiveAllowlist } from "../stacks/allowlist";
import { freePort, handOver, makeCa, Processes } from "../test/live-harness";
import { bytesPath, ClientMode, ClientOptions, ClientResult } from "./proxy-load";

export interface ProxyBenchOptions {
  readonly long: boolean;
  readonly sample: string;
  readonly envDir?: string;
  /** a directory with a real ClamAV database (main/daily/bytecode); default: the one-signature test database */
  readonly clamavDb?: string;
}

export interface Measurement {
  readonly name: string;
  readonly result: ClientResult;
  /** CPU-seconds of each of the proxy's process trees during the run */
  readonly cpu: { readonly squid: number; readonly cicap: number; readonly clamd: number };
  /** CPU-seconds of the load client (to tell a saturated proxy from a saturated client) */
  readonly clientCpu: number;
}

export interface ProxyBenchResult {
  readonly machine: { readonly cpus: number; readonly model: string; readonly arch: string; readonly loadBefore: number[]; readonly loadAfter: number[]; readonly pinned: boolean };
  readonly database: string;
  readonly measurements: Measurement[];
  readonly figures: ProxyCoreFigures;
  /** bytes c-icap's verdict log says it scanned, against the bytes the scan runs downloaded */
  readonly scannedBytesLogged: number;
  readonly scanDownloadedBytes: number;
  /** scanned downloads that did not arrive whole, or that c-icap did not receive and pass whole: must be none */
  readonly scanProblems: readonly string[];
  readonly clamdRssMb: number;
  readonly squidRssMb: number;
}

const PROGRAMS: [string, string][] = [
  ["squid", "squid-openssl"],
  ["c-icap", "c-icap"],
  ["clamd", "clamav-daemon"],
  // the engine check the rendered systemd drop-ins run before c-icap and Squid start
  ["clamdscan", "clamdscan"],
  ["c-icap-client", "c-icap"],
  ["openssl", "openssl"],
  ["taskset", "util-linux"],
  ["getconf", "libc-bin"],
];

function which(program: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" }).status === 0;
}

/** Fails loudly, naming every missing program and the Debian package that brings it. */
export function requirePrograms(): void {
  const missing = PROGRAMS.filter(([p]) => !which(p));
  if (!fs.existsSync(SQUID_LAYOUT.certgen)) missing.push([SQUID_LAYOUT.certgen, "squid-openssl"]);
  if (!localCicapModules()) missing.push(["c-icap's virus_scan.so", "libc-icap-mod-virus-scan"]);
  if (missing.length) throw new Error(`the proxy benchmark needs ${missing.map(([p, pkg]) => `${p} (Debian: ${pkg})`).join(", ")}`);
}

function localCicapModules(): string | undefined {
  return fs
    .readdirSync("/usr/lib")
    .map((d) => path.join("/usr/lib", d, "c_icap"))
    .find((d) => fs.existsSync(path.join(d, "virus_scan.so")));
}

// ---------------------------------------------------------------------------------------------------------------
// CPU time of process trees, from /proc (Linux)

const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  return Number(r.stdout?.trim()) || 100;
})();

/** CPU ticks (user + system, with reaped children) of every process in each root's tree, and their RSS. */
function treeStats(roots: number[]): { ticks: Map<number, number>; rssKb: Map<number, number> } {
  const parent = new Map<number, number>();
  const own = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // fields after the name: state ppid ... utime(14) stime(15) cutime(16) cstime(17), counted from 3
      parent.set(Number(entry), Number(f[1]));
      own.set(Number(entry), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    } catch {
      // the process ended while we looked
    }
  }
  const rootOf = (pid: number): number | undefined => {
    for (let p: number | undefined = pid, hops = 0; p && hops < 64; p = parent.get(p), hops++) if (roots.includes(p)) return p;
    return undefined;
  };
  const ticks = new Map<number, number>(roots.map((r) => [r, 0]));
  const rssKb = new Map<number, number>(roots.map((r) => [r, 0]));
  for (const [pid, t] of own) {
    const root = rootOf(pid);
    if (root === undefined) continue;
    ticks.set(root, ticks.get(root)! + t);
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) rssKb.set(root, rssKb.get(root)! + Number(m[1]));
    } catch {
      /* gone */
    }
  }
  return { ticks, rssKb };
}

// ---------------------------------------------------------------------------------------------------------------
// The rendered configuration, moved onto the loopback

/** Which allowlisted names to load: one spliced, one bumped for its header only, one bumped and scanned. */
export function benchHosts(allowed: readonly DomainPattern[], headerHosts: readonly DomainPattern[], sanitized: readonly DomainPattern[]): { splice: string; header: string; scan?: string } {
  const concrete = (p: DomainPattern) => (p.includeSubdomains ? `bench.${p.name}` : p.name);
  const matches = (list: readonly DomainPattern[], host: string) => list.some((p) => domainMatches(p, host));
  const splice = allowed.map(concrete).find((h) => !matches(headerHosts, h) && !matches(sanitized, h));
  const header = headerHosts.map(concrete).find((h) => !matches(sanitized, h));
  const scan = sanitized.map(concrete)[0];
  if (!splice || !header) throw new Error("the sample needs a spliced host and a header host to benchmark (kaga and mitoyo have both)");
  return { splice, header, scan };
}

/**
 * Replaces every production path and port of the rendered files with the benchmark's own, and refuses a file
 * that still names a production location afterwards: a directive added to the renderer later must not make
 * the benchmark write into /var/log or read /etc on this machine.
 */
export function localize(text: string, file: string, pairs: readonly [string, string][], allowedPaths: readonly string[], workDir: string): string {
  let out = text;
  for (const [from, to] of [...pairs].sort((a, b) => b[0].length - a[0].length)) out = out.split(from).join(to);
  // absolute paths, also after "daemon:"; not URLs (icap://host:port/service)
  const leftover = [...out.matchAll(/(?<![\w.%{}/])\/(?!\/)[A-Za-z0-9_.\/-]+/g)].map((m) => m[0]).filter((p) => !p.startsWith(workDir) && !allowedPaths.some((a) => p === a || p.startsWith(`${a}/`)));
  if (leftover.length) throw new Error(`${file}: the benchmark does not know where to move ${[...new Set(leftover)].join(", ")} (add it to bench/proxy.ts)`);
  return out;
}

interface Setup {
  readonly dir: string;
  readonly proxyPort: number;
  readonly tlsPort: number;
  readonly hosts: { splice: string; header: string; scan?: string };
  readonly interceptionCa: string;
  readonly originCa: string;
  readonly engine: EngineLayout;
  /** the commands of the rendered systemd drop-ins that order c-icap after clamd and Squid after the engine */
  readonly gates?: { readonly cicapPre: string[]; readonly cicapPost: string[]; readonly squidPre: string[] };
  readonly maxFileSizeBytes?: number;
}

const LOOPBACK = { splice: "127.0.0.11", header: "127.0.0.12", scan: "127.0.0.13" } as const;

async function prepare(o: ProxyBenchOptions, dir: string): Promise<Setup> {
  const envDir = o.envDir ?? defaultEnvDir();
  const config = loadOrThrow([path.join(envDir, `${o.sample}.yaml`)])[0];
  const allowlist = effectiveAllowlist(config);
  const hosts = benchHosts(allowlist.domains, allowlist.headerRules.flatMap((r) => r.hosts), allowlist.sanitization?.hosts ?? []);
  process.stderr.write(`  synthesizing ${o.sample} for its rendered proxy configuration...\n`);
  const files = renderedFiles(o.sample, synthesizedStack(o.sample, envDir));
  const squidConf = files["proxy/squid.conf"];
  if (!squidConf) throw new Error(`${o.sample} has no proxy tier (no header rules or sanitization)`);

  fs.chmodSync(dir, 0o755);
  makeCa(dir, "interception-ca", []);
  makeCa(dir, "origin-ca", Object.values(hosts).filter((h): h is string => !!h));
  fs.writeFileSync(path.join(dir, "interception.pem"), fs.readFileSync(path.join(dir, "interception-ca.crt"), "utf8") + fs.readFileSync(path.join(dir, "interception-ca.key"), "utf8"));
  const proxyPort = await freePort();
  const tlsPort = await freePort();
  const engine: EngineLayout = {
    ...ENGINE_LAYOUT,
    icapPort: await freePort(),
    cicapModulesDir: localCicapModules()!,
    cicapTemplateDir: path.join(dir, "cicap-templates"),
    cicapLogDir: path.join(dir, "cicap-log"),
    cicapRunDir: path.join(dir, "cicap-run"),
    cicapTmpDir: path.join(dir, "cicap-tmp"),
    clamavDatabaseDir: o.clamavDb ? path.resolve(o.clamavDb) : path.join(dir, "clamav-db"),
    clamavLogDir: path.join(dir, "clamav-log"),
    // clamd's Unix socket (clamd.ctl) is here: c-icap hands it each body as an open descriptor, as on the instance
    clamavRunDir: path.join(dir, "clamav-run"),
    clamdConfigFile: path.join(dir, "clamd.conf"),
    engineCheckProgram: path.join(dir, "alpha-prime-engine-check"),
    engineCheckLog: path.join(dir, "engine-check-log", "engine-check.log"),
  };
  const squid: SquidLayout = { ...SQUID_LAYOUT, caFile: path.join(dir, "interception.pem"), certDb: path.join(dir, "ssl_db"), logDir: path.join(dir, "log"), pidFile: path.join(dir, "squid.pid"), coredumpDir: dir, errorDir: path.join(dir, "errors"), sniCheckHelper: path.join(dir, "sni-is-host") };
  for (const d of ["clamav-db", "clamav-log", "clamav-run", "cicap-log", "cicap-run", "cicap-templates", "errors", "log"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
  // as on the instance (install -m 0750, c-icap's): clamd cannot open c-icap's body files by name, only by descriptor
  fs.mkdirSync(path.join(dir, "cicap-tmp"), { mode: 0o750 });

  const pathPairs = (prod: object, local: object): [string, string][] =>
    Object.entries(prod)
      .filter(([, v]) => typeof v === "string" && v.startsWith("/"))
      .map(([k, v]) => [v as string, (local as Record<string, string>)[k]]);
  const allowedPaths = [SQUID_LAYOUT.certgen, "/etc/c-icap/c-icap.magic", engine.cicapModulesDir, engine.clamavDatabaseDir, "/bin/sh"];
  // the engine check writes its log's directory by name (mkdir -p), so the directory moves as well as the file
  const enginePairs: [string, string][] = [...pathPairs(ENGINE_LAYOUT, engine), [path.posix.dirname(ENGINE_LAYOUT.engineCheckLog), path.dirname(engine.engineCheckLog)]];

  // The files the user data writes, at their local places: block pages, c-icap templates, and the programs
  // squid.conf and the systemd drop-ins run (the SNI check helper, the engine check), moved like the configuration.
  const placed: Record<string, string> = {};
  for (const [key, text] of Object.entries(files)) {
    const onInstance = key.startsWith("proxy/files/") ? `/${key.slice("proxy/files/".length)}` : undefined;
    if (!onInstance) continue;
    for (const [from, to] of [[SQUID_LAYOUT.errorDir, squid.errorDir], [ENGINE_LAYOUT.cicapTemplateDir, engine.cicapTemplateDir]]) {
      if (onInstance.startsWith(`${from}/`)) {
        const local = path.join(to, onInstance.slice(from.length + 1));
        fs.mkdirSync(path.dirname(local), { recursive: true });
        fs.writeFileSync(local, text);
      }
    }
    placed[onInstance] = text;
  }
  const program = (onInstance: string, local: string, pairs: [string, string][], edit = (t: string) => t) => {
    const text = placed[onInstance];
    if (text === undefined) throw new Error(`the rendered user data has no ${onInstance}`);
    fs.writeFileSync(local, localize(edit(text), onInstance, pairs, allowedPaths, dir), { mode: 0o755 });
  };
  program(SQUID_LAYOUT.sniCheckHelper, squid.sniCheckHelper, pathPairs(SQUID_LAYOUT, squid));
  // Squid needs Debian's full template set under alpha-prime's pages, as the user data's cp -rn does
  for (const f of fs.readdirSync("/usr/share/squid/errors/templates")) if (!fs.existsSync(path.join(squid.errorDir, f))) fs.copyFileSync(path.join("/usr/share/squid/errors/templates", f), path.join(squid.errorDir, f));

  const squidLocal =
    localize(
      squidConf
        .replace(new RegExp(`^http_port ${PROXY_PORT} `, "m"), `http_port ${proxyPort} `)
        // the load client is on the loopback, not in an LGWAN segment
        .replace(/^(acl clients src .*)$/m, "$1\nacl clients src 127.0.0.0/8")
        .replace(/^acl to_tls_port port 443$/m, `acl to_tls_port port ${tlsPort}`)
        .replace(/^acl web_ports port 80 443$/m, `acl web_ports port 80 ${tlsPort}`)
        .replace(`icap://127.0.0.1:${ENGINE_LAYOUT.icapPort}/`, `icap://127.0.0.1:${engine.icapPort}/`)
        .replace(/^(tls_outgoing_options .*)$/m, `$1 cafile=${path.join(dir, "origin-ca.crt")}`)
        // per core: one worker, pinned (the instance's worker count is in the rendered line this replaces)
        .replace(/^workers \d+$/m, "workers 1"),
      "proxy/squid.conf",
      pathPairs(SQUID_LAYOUT, squid),
      allowedPaths,
      dir,
    ) + `\n# benchmark only: the stand-in origins' names\nhosts_file ${path.join(dir, "hosts")}\n`;
  fs.writeFileSync(path.join(dir, "squid.conf"), squidLocal);
  fs.writeFileSync(path.join(dir, "hosts"), `${LOOPBACK.splice} ${hosts.splice}\n${LOOPBACK.header} ${hosts.header}\n${hosts.scan ? `${LOOPBACK.scan} ${hosts.scan}\n` : ""}`);

  const cicapConf = files["proxy/files/etc/alpha-prime/c-icap.conf"];
  const clamdConf = files["proxy/files/etc/alpha-prime/clamd.conf"];
  const scanning = !!(hosts.scan && cicapConf && clamdConf);
  let gates: Setup["gates"];
  if (scanning) {
    fs.writeFileSync(path.join(dir, "c-icap.conf"), localize(cicapConf.replace(`Port 127.0.0.1:${ENGINE_LAYOUT.icapPort}`, `Port 127.0.0.1:${engine.icapPort}`), "c-icap.conf", enginePairs, allowedPaths, dir));
    fs.writeFileSync(engine.clamdConfigFile, localize(clamdConf, "clamd.conf", enginePairs, allowedPaths, dir));
    program(ENGINE_LAYOUT.engineCheckProgram, engine.engineCheckProgram, enginePairs, (t) => t.replace(` -p ${ENGINE_LAYOUT.icapPort} `, ` -p ${engine.icapPort} `));
    // the rendered systemd drop-ins' gates, run in their order before anything is measured (see runProxyBench)
    const unit = (name: string, key: "ExecStartPre" | "ExecStartPost") => {
      const onInstance = `/etc/systemd/system/${name}`;
      const text = placed[onInstance];
      const line = text?.split("\n").find((l) => l.startsWith(`${key}=`));
      if (!line) throw new Error(`the rendered user data has no ${key} in ${onInstance}`);
      return localize(line.slice(key.length + 1), onInstance, enginePairs, allowedPaths, dir).split(" ");
    };
    gates = { cicapPre: unit("c-icap.service.d/alpha-prime.conf", "ExecStartPre"), cicapPost: unit("c-icap.service.d/alpha-prime.conf", "ExecStartPost"), squidPre: unit("squid.service.d/alpha-prime.conf", "ExecStartPre") };
    if (!o.clamavDb) {
      // The one-signature database of the live tests, plus the same string as a body signature so the pattern
      // matcher runs over every byte (a hash signature alone is one MD5 per file).
      const eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
      const md5 = spawnSync("md5sum", { input: eicar, encoding: "utf8" }).stdout.split(" ")[0];
      fs.writeFileSync(path.join(dir, "clamav-db", "alpha-prime-bench.hdb"), `${md5}:${eicar.length}:Eicar-Test-Signature\n`);
      fs.writeFileSync(path.join(dir, "clamav-db", "alpha-prime-bench.ndb"), `Eicar-Test-Body:0:*:${Buffer.from(eicar).toString("hex")}\n`);
    }
  }
  const maxMatch = /^reply_body_max_size (\d+) bytes/m.exec(squidLocal);
  return { dir, proxyPort, tlsPort, hosts: scanning ? hosts : { ...hosts, scan: undefined }, interceptionCa: path.join(dir, "interception-ca.crt"), originCa: path.join(dir, "origin-ca.crt"), engine, gates, maxFileSizeBytes: maxMatch ? Number(maxMatch[1]) : undefined };
}

// ---------------------------------------------------------------------------------------------------------------

/** The load client running now, so an interrupted benchmark can stop it too. */
let runningClient: number | undefined;

function runClient(o: ClientOptions, cores: string | undefined): Promise<{ result: ClientResult; cpu: number }> {
  const script = path.join(__dirname, "proxy-load.js");
  const [cmd, args] = cores ? ["taskset", ["-c", cores, process.execPath, script, "client", JSON.stringify(o)]] : [process.execPath, [script, "client", JSON.stringify(o)]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, args as string[], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    runningClient = child.pid;
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }, o.durationMs + 60_000);
    let cpu = 0;
    const sampler = setInterval(() => {
      const t = treeStats([child.pid!]).ticks.get(child.pid!);
      if (t) cpu = t / CLK_TCK;
    }, 200);
    child.on("close", (code) => {
      runningClient = undefined;
      clearTimeout(timer);
      clearInterval(sampler);
      if (code !== 0) return reject(new Error(`load client failed (exit ${code}): ${err.slice(-2000)}`));
      resolve({ result: JSON.parse(out.trim().split("\n").pop()!) as ClientResult, cpu });
    });
  });
}

export async function runProxyBench(o: ProxyBenchOptions): Promise<ProxyBenchResult> {
  requirePrograms();
  const cpus = os.cpus();
  const pinned = cpus.length >= 2;
  const proxyCore = pinned ? "0" : undefined;
  const loadCores = pinned ? `1-${cpus.length - 1}` : undefined;
  const under = (cores: string | undefined, cmd: string, args: string[]): [string, string[]] => (cores ? ["taskset", ["-c", cores, cmd, ...args]] : [cmd, args]);
  const loadBefore = os.loadavg();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "alpha-prime-proxy-bench-"));
  const processes = new Processes();
  const seconds = o.long ? 15 : 4;
  // a hard stop for the whole run, and the same when the benchmark is interrupted: nothing it starts outlives it
  const abandon = (why: string, code: number) => {
    process.stderr.write(`proxy benchmark: ${why}, stopping every process it started\n`);
    if (runningClient) {
      try {
        process.kill(-runningClient, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    void processes.stopAll().finally(() => {
      fs.rmSync(dir, { recursive: true, force: true });
      process.exit(code);
    });
  };
  const watchdog = setTimeout(() => abandon("time limit reached", 1), (o.long ? 30 : 8) * 60_000);
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const onSignal = (signal: NodeJS.Signals) => abandon(`${signal} received`, 128 + (os.constants.signals[signal] ?? 15));
  for (const sig of signals) process.on(sig, onSignal);
  try {
    const s = await prepare(o, dir);
    execCertgen(s.dir);
    handOver(dir, "proxy");
    for (const d of ["clamav-db", "clamav-log", "clamav-run"]) if (fs.existsSync(path.join(dir, d))) handOver(path.join(dir, d), "clamav");
    for (const d of ["cicap-log", "cicap-run", "cicap-tmp"]) handOver(path.join(dir, d), "c-icap");

    const roots: { squid?: number; cicap?: number; clamd?: number } = {};
    if (s.hosts.scan) {
      // In the order the rendered systemd drop-ins give on the instance: c-icap only once clamd blocks EICAR (a
      // c-icap started before clamd answers registers no engine and passes every file unscanned: the scan figures
      // would then measure nothing), and Squid only once c-icap blocks it too.
      const loading = o.clamavDb ? 600_000 : 60_000;
      const clamd = await processes.startListeningOnSocket("clamd", ...under(proxyCore, "clamd", ["-c", s.engine.clamdConfigFile]), clamdSocket(s.engine), loading);
      await gate("c-icap's ExecStartPre", s.gates!.cicapPre, loading);
      const cicap = await processes.startListening("c-icap", ...under(proxyCore, "c-icap", ["-N", "-f", path.join(dir, "c-icap.conf")]), s.engine.icapPort, 20_000);
      await gate("c-icap's ExecStartPost", s.gates!.cicapPost, 90_000);
      await gate("squid's ExecStartPre", s.gates!.squidPre, 90_000);
      roots.clamd = clamd.pid;
      roots.cicap = cicap.pid;
    }
    // A free port can be taken by another program between freePort() and Squid's bind (other test runs share the
    // loopback): then Squid stops with "Unable to open HTTP Socket", and a fresh port is tried, three times at most.
    let proxyPort = s.proxyPort;
    for (let attempt = 1; ; attempt++) {
      try {
        const squid = await processes.startListening("squid", ...under(proxyCore, "squid", ["-N", "-d", "1", "-f", path.join(dir, "squid.conf")]), proxyPort, 20_000);
        roots.squid = squid.pid;
        break;
      } catch (e) {
        if (attempt >= 3 || !/Unable to open HTTP Socket/.test((e as Error).message)) throw e;
        const next = await freePort();
        const conf = path.join(dir, "squid.conf");
        fs.writeFileSync(conf, fs.readFileSync(conf, "utf8").replace(new RegExp(`^http_port ${proxyPort} `, "m"), `http_port ${next} `));
        proxyPort = next;
      }
    }
    const origin = processes.start("origin", ...under(loadCores, process.execPath, [path.join(__dirname, "proxy-load.js"), "origin", JSON.stringify({ port: s.tlsPort, servers: Object.entries(s.hosts).filter(([, h]) => h).map(([k, h]) => ({ ip: LOOPBACK[k as keyof typeof LOOPBACK], certFile: path.join(dir, `${h}.crt`), keyFile: path.join(dir, `${h}.key`) })) })]));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the stand-in origins did not start: ${processes.logs.get("origin")}`)), 15_000);
      origin.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && (clearTimeout(t), resolve()));
    });

    const rootPids = [roots.squid, roots.cicap, roots.clamd].filter((p): p is number => !!p);
    const measurements: Measurement[] = [];
    const measure = async (name: string, host: string, caFile: string, mode: ClientMode, concurrency: number, paths: string[], durationS = seconds): Promise<Measurement> => {
      const before = treeStats(rootPids).ticks;
      const { result, cpu } = await runClient({ proxyPort, host, port: s.tlsPort, caFile, mode, concurrency, durationMs: durationS * 1000, paths }, loadCores);
      const after = treeStats(rootPids).ticks;
      const used = (pid?: number) => (pid ? (after.get(pid)! - before.get(pid)!) / CLK_TCK : 0);
      const m: Measurement = { name, result, cpu: { squid: used(roots.squid), cicap: used(roots.cicap), clamd: used(roots.clamd) }, clientCpu: cpu };
      const proxyCpu = m.cpu.squid + m.cpu.cicap + m.cpu.clamd;
      process.stderr.write(
        `  ${name}: ${(result.bytes / result.seconds / 1e6).toFixed(1)} MB/s, ${(result.requests / result.seconds).toFixed(0)} req/s, ${(result.connections / result.seconds).toFixed(0)} conn/s; proxy CPU ${((proxyCpu / result.seconds) * 100).toFixed(0)} %, client CPU ${((cpu / result.seconds) * 100).toFixed(0)} %` +
          `${result.errors || result.wrong ? `; ${result.errors} error(s), ${result.wrong} wrong response(s): ${result.firstProblem}` : ""}\n`,
      );
      if (result.requests === 0) throw new Error(`${name}: not one request completed (${result.firstProblem ?? "no error reported"})`);
      measurements.push(m);
      return m;
    };

    const icpt = s.interceptionCa;
    // warm-up: the first bumped connection to each host makes its certificate (not what is measured)
    await measure("warm-up", s.hosts.header, icpt, "handshakes", 2, [], 1);
    if (s.hosts.scan) await measure("warm-up (scan)", s.hosts.scan, icpt, "bulk", 1, [bytesPath(65536)], 1);
    measurements.length = 0;

    const big = bytesPath(64 << 20);
    const splice = await measure("splice, bulk download", s.hosts.splice, s.originCa, "bulk", 4, [big]);
    const bump = await measure("bump + header, bulk download", s.hosts.header, icpt, "bulk", 4, [big]);
    const reqs = await measure("bump + header, requests on kept-alive connections", s.hosts.header, icpt, "requests", 32, []);
    const conns = await measure("bump + header, new TLS connections", s.hosts.header, icpt, "handshakes", 32, []);
    const spliceConns = await measure("splice, new TLS connections", s.hosts.splice, s.originCa, "handshakes", 16, []);
    // Scanning: documents and slides of everyday size (10 MB passes since c-icap answers after the whole file and
    // Squid's preview is off); --long adds small files and a file of the municipality's limit.
    const limit = s.maxFileSizeBytes;
    const scanSizes = [...new Set(o.long ? [256 << 10, 1 << 20, 2 << 20, 10 << 20, ...(limit ? [limit] : [])] : [1 << 20, 2 << 20, 10 << 20])];
    const scans: { path: string; size: number; m: Measurement }[] = [];
    const verdictLog = path.join(s.engine.cicapLogDir, "verdicts.log");
    const readLog = () => (fs.existsSync(verdictLog) ? fs.readFileSync(verdictLog, "utf8") : "");
    const logBefore = readLog().length;
    if (s.hosts.scan) {
      for (const size of scanSizes.filter((n) => !limit || n <= limit)) {
        const p = bytesPath(size, `report-${size}.bin`);
        scans.push({ path: p, size, m: await measure(`bump + scan, ${sizeLabel(size)} files`, s.hosts.scan, icpt, "bulk", 2, [p]) });
      }
    }
    await new Promise((r) => setTimeout(r, 1500)); // c-icap writes its access log asynchronously
    const scanLog = readLog().slice(logBefore);
    const scannedBytesLogged = [...scanLog.matchAll(/ bytes=(\d+) /g)].reduce((sum, m) => sum + Number(m[1]), 0);
    const coverage = scanCoverage(
      scanLog,
      scans.map((r) => ({ path: r.path, size: r.size, downloads: r.m.result.bytes / r.size })),
    );
    const incomplete = scans.filter((r) => r.m.result.errors || r.m.result.wrong).map((r) => `${sizeLabel(r.size)}: ${r.m.result.errors + r.m.result.wrong} download(s) failed or came back wrong (${r.m.result.firstProblem})`);
    const stats = treeStats(rootPids);

    const perCore = (m: Measurement, amount: number) => amount / m.result.seconds / ((m.cpu.squid + m.cpu.cicap + m.cpu.clamd) / m.result.seconds);
    const scanBytes = scans.reduce((sum, r) => sum + r.m.result.bytes, 0);
    const scanCpu = scans.reduce((sum, r) => sum + r.m.cpu.squid + r.m.cpu.cicap + r.m.cpu.clamd, 0);
    const figures: ProxyCoreFigures = {
      spliceGbps: (perCore(splice, splice.result.bytes) * 8) / 1e9,
      bumpGbps: (perCore(bump, bump.result.bytes) * 8) / 1e9,
      bumpRequestsPerSecond: perCore(reqs, reqs.result.requests),
      bumpNewConnectionsPerSecond: perCore(conns, conns.result.connections),
      spliceNewConnectionsPerSecond: perCore(spliceConns, spliceConns.result.connections),
      scanGbps: scanCpu ? (scanBytes * 8) / 1e9 / scanCpu : 0,
      scanCpuSecondsPerMb: scanBytes ? scanCpu / (scanBytes / 1e6) : 0,
    };
    return {
      machine: { cpus: cpus.length, model: cpus[0]?.model ?? "unknown", arch: os.arch(), loadBefore, loadAfter: os.loadavg(), pinned },
      database: o.clamavDb ? `ClamAV database in ${o.clamavDb}` : "one EICAR signature (hash + body)",
      measurements,
      figures,
      scannedBytesLogged,
      scanDownloadedBytes: scanBytes,
      scanProblems: [...coverage, ...incomplete],
      clamdRssMb: roots.clamd ? Math.round(stats.rssKb.get(roots.clamd)! / 1024) : 0,
      squidRssMb: Math.round(stats.rssKb.get(roots.squid!)! / 1024),
    };
  } finally {
    clearTimeout(watchdog);
    for (const sig of signals) process.off(sig, onSignal);
    await processes.stopAll();
    if (!process.env.KEEP_BENCH_DIR) fs.rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir}\n`);
  }
}

/** A command of a rendered systemd drop-in, run as systemd would (bounded in time); a failure stops the benchmark. */
function gate(what: string, argv: string[], ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { timeout: ms, encoding: "utf8" }, (err, stdout, stderr) => (err ? reject(new Error(`${what} (${argv.join(" ")}) failed: ${(stdout + stderr).trim() || err.message}`)) : resolve()));
  });
}

function execCertgen(dir: string): void {
  const r = spawnSync(SQUID_LAYOUT.certgen, ["-c", "-s", path.join(dir, "ssl_db"), "-M", "16MB"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${SQUID_LAYOUT.certgen} failed: ${r.stderr}`);
}

function sizeLabel(size: number): string {
  return size >= 1 << 20 ? `${+(size / 1048576).toFixed(1)} MB` : `${size >> 10} KB`;
}

/** One scan run: the file it downloaded over and over, its size, and how many times it arrived whole. */
export interface ScanRun {
  readonly path: string;
  readonly size: number;
  readonly downloads: number;
}

/**
 * Did every scanned download go through the engine whole? c-icap's verdict log (c-icap.conf's alphaPrimeVerdict:
 * "time client URL file=… bytes=<body bytes c-icap received> engine=clamav icap_status=… infection=…") must hold, for
 * each run, at least as many clean verdicts on the whole file as the client received whole files. A file that
 * reached the client past the engine (a 204 before the end, a trickle, a bypass) has no such line.
 */
export function scanCoverage(verdictLog: string, runs: readonly ScanRun[]): string[] {
  const lines = verdictLog.split("\n").filter(Boolean);
  return runs.flatMap((run) => {
    const mine = lines.filter((l) => (l.split(" ")[2] ?? "").endsWith(run.path));
    const whole = mine.filter((l) => l.includes(` bytes=${run.size} `) && / infection=- /.test(l)).length;
    return whole >= run.downloads ? [] : [`${run.path}: ${run.downloads} download(s) arrived whole, but c-icap scanned the whole file clean only ${whole} time(s) (${mine.length} verdict line(s) for it)`];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...r[i]].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c + " ".repeat(widths[i] - [...c].length)).join(" | ")} |`;
  return `${line(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n${rows.map(line).join("\n")}\n`;
}

export function proxyBenchReport(r: ProxyBenchResult): string {
  const rows = r.measurements.map((m) => {
    const s = m.result.seconds;
    const proxy = m.cpu.squid + m.cpu.cicap + m.cpu.clamd;
    return [
      m.name,
      `${((m.result.bytes * 8) / s / 1e9).toFixed(2)} Gbit/s`,
      `${(m.result.requests / s).toFixed(0)}`,
      `${(m.result.connections / s).toFixed(0)}`,
      `${((proxy / s) * 100).toFixed(0)} %`,
      m.cpu.cicap + m.cpu.clamd > 0 ? `squid ${m.cpu.squid.toFixed(1)} / c-icap ${m.cpu.cicap.toFixed(1)} / clamd ${m.cpu.clamd.toFixed(1)} s` : `squid ${m.cpu.squid.toFixed(1)} s`,
      `${((m.clientCpu / s) * 100).toFixed(0)} %`,
      m.result.errors || m.result.wrong ? `${m.result.errors + m.result.wrong}: ${m.result.firstProblem}` : "0",
    ];
  });
  const f = r.figures;
  const busy = r.machine.loadBefore[0] > r.machine.cpus * 0.25;
  return [
    `Proxy tier, per core: ${r.machine.cpus} × ${r.machine.model} (${r.machine.arch}), ${r.machine.pinned ? "proxy pinned to core 0, load on the others" : "NOT pinned (one CPU): figures are proxy CPU-seconds shared with the load"}; load average before ${r.machine.loadBefore.map((x) => x.toFixed(2)).join(" ")}, after ${r.machine.loadAfter.map((x) => x.toFixed(2)).join(" ")}${busy ? " — THE MACHINE WAS BUSY: figures are noisy, run again when it is quiet" : ""}.`,
    `Signature database: ${r.database}. Figures are noisy when the machine is busy (other processes share the cores); compare runs, not single numbers.`,
    "",
    table(["run", "throughput", "req/s", "new conn/s", "proxy CPU", "CPU-seconds", "client CPU", "errors"], rows),
    "Per proxy core (throughput ÷ the proxy's CPU share):",
    `  splice ${f.spliceGbps.toFixed(1)} Gbit/s · bump + header ${f.bumpGbps.toFixed(2)} Gbit/s, ${f.bumpRequestsPerSecond.toFixed(0)} req/s on kept-alive connections, ${f.bumpNewConnectionsPerSecond.toFixed(0)} new TLS connections/s (splice: ${f.spliceNewConnectionsPerSecond.toFixed(0)}/s)`,
    r.scanDownloadedBytes
      ? `  bump + scan ${f.scanGbps.toFixed(2)} Gbit/s, ${f.scanCpuSecondsPerMb.toFixed(4)} CPU-s per MB (Squid + c-icap + clamd); c-icap logged ${(r.scannedBytesLogged / 1e6).toFixed(1)} MB scanned of ${(r.scanDownloadedBytes / 1e6).toFixed(1)} MB downloaded\n` +
        (r.scanProblems.length ? `  NOT MET  every scanned download arrived whole and went through c-icap whole:\n${r.scanProblems.map((p) => `    - ${p}`).join("\n")}` : "  met      every scanned download arrived whole and went through c-icap whole (one clean verdict on the whole file each)")
      : "  bump + scan: not measured (the sample has no sanitized host)",
    `  memory: Squid ${r.squidRssMb} MB, clamd ${r.clamdRssMb} MB resident (${r.database})`,
    "",
    tierTableWith(r.figures),
  ].join("\n");
}

/** The tier table (constructs/bandwidth-tier.ts) with the figures just measured, beside the recorded ones it is sized from. */
export function tierTableWith(figures: ProxyCoreFigures): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const rows = BANDWIDTH_TIERS.map((t) => {
    const now = proxyTierCapacity(t, figures);
    const recorded = proxyTierCapacity(t);
    return [
      t.id,
      `${now.floorInstances}–${now.maxInstances} × ${t.proxyInstanceType}, ${now.workers} workers`,
      `${now.bumpGbpsAtTarget.toFixed(1)} (${recorded.bumpGbpsAtTarget.toFixed(1)}) Gbps`,
      `${Math.round(now.newConnectionsPerSecond)} (${Math.round(recorded.newConnectionsPerSecond)})/s`,
      `${pct(now.sanitizedShareFullDatabase)} (${pct(recorded.sanitizedShareFullDatabase)})`,
      `${pct(now.sanitizedShareOneSignature)} (${pct(recorded.sanitizedShareOneSignature)})`,
      now.problems.length ? `NO: ${now.problems.join("; ")}` : "yes",
    ];
  });
  return [
    `The tier table with these figures (in brackets: with the recorded figures of ${MEASURED.measuredAt} it is sized from). Floor fleet in 2 AZs, the whole tier bumped at ${TARGET_CPU * 100} % CPU:`,
    table(["tier", "proxy fleet (floor–max)", "bumps", "new TLS conns", "sanitized, full DB (est.)", "sanitized, this DB", "carries the tier"], rows),
    "Measured here: every per-core figure above, on this machine's cores. Estimated (not measurable here), with sources:",
    `  - Graviton vCPU = ${GRAVITON_CORE_SHARE.value} × a core measured here: ${GRAVITON_CORE_SHARE.basis}. Source: ${GRAVITON_CORE_SHARE.source}`,
    `  - full ClamAV database: ${FULL_DATABASE_SCAN_MB_PER_CORE.value} MB/s per core: ${FULL_DATABASE_SCAN_MB_PER_CORE.basis}. Sources: ${FULL_DATABASE_SCAN_MB_PER_CORE.source}`,
    `  - ClamAV memory ${CLAMAV_MEMORY_GIB.value} GiB: ${CLAMAV_MEMORY_GIB.basis}. Source: ${CLAMAV_MEMORY_GIB.source}`,
    "",
  ].join("\n");
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function proxyBenchOptionsFromArgs(argv = process.argv): ProxyBenchOptions {
  return { long: argv.includes("--long") || argv.includes("--proxy-long"), sample: arg("--sample") ?? "kaga", clamavDb: arg("--clamav-db") };
}

if (require.main === module) {
  runProxyBench(proxyBenchOptionsFromArgs())
    .then((r) => {
      process.stdout.write(`\n${proxyBenchReport(r)}`);
      if (r.scanProblems.length) process.exitCode = 1;
    })
    .catch((e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    });
}
