/**
 * `node dist/bench/validate.js`: what the parent process of `alpha-prime synth` spends per env file, measured (never
 * part of `npm test`). The parent validates every file while the workers synthesize (cli/parallel-synth.ts), so on
 * two cores its CPU is taken from theirs.
 *
 * Generates N synthetic municipalities (bench/generate.ts, national spread; default 1,741) and, in a fresh process
 * per run (the real parent is one: a cold start, no warm-up), does what the parent does per file: loadFiles in
 * batches of 16, the cross-file check, the stack's inputs (InputsContext.of: fingerprints and digests) and the
 * message that hands the config to a worker (serialized as Node's IPC does, JSON). Prints the median over runs of
 * wall and CPU time per file, and, from a CPU profile of one more run, where the time goes (each sample charged to
 * the nearest phase on its stack).
 *
 * Options: --n N; --env DIR (existing env files instead of generated ones); --runs R (default 3); --compare DIR
 * (another built checkout, e.g. the base of a change: both are measured on the same files, alternating);
 * --removal (also time removing a previous output of N stacks of 188 KB each at commit, cli/output-dir.ts: about
 * 330 MB written per run); --child (internal: one measured run).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../core/paths";
import { writeSyntheticEnv } from "./generate";

/** Phases, by the functions whose samples they take (the nearest of these on a sample's stack): module path → names. */
const PHASES: readonly { readonly phase: string; readonly where: string; readonly names: readonly string[] }[] = [
  { phase: "read", where: "config/env-input", names: ["readEnvText"] },
  { phase: "YAML parse", where: "config/env-input", names: ["parseText", "textShapeProblems", "composeDocument"] },
  { phase: "YAML parse", where: "yaml/dist/public-api", names: ["parseDocument"] },
  { phase: "YAML checks", where: "config/env-input", names: ["documentProblems"] },
  { phase: "YAML to data", where: "yaml/dist/doc/Document", names: ["toJS"] },
  { phase: "schema", where: "prebuilt/env-validator", names: [] },
  { phase: "text checks", where: "config/env-input", names: ["textProblems"] },
  { phase: "semantic", where: "config/semantic", names: ["semanticProblems"] },
  { phase: "deployability", where: "stacks/allowlist", names: ["deployabilityProblems"] },
  { phase: "defaults", where: "config/load", names: ["resolve"] },
  { phase: "cross-file", where: "config/semantic", names: ["crossFileProblems"] },
  { phase: "inputs", where: "stacks/inputs", names: ["of"] },
  { phase: "IPC message", where: "bench/validate", names: ["ipcMessage"] },
];
const PHASE_ORDER = [...new Set(PHASES.map((p) => p.phase)), "GC", "other"];

interface ChildResult {
  readonly files: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  /** phase → ms (profiled runs only) */
  readonly phases?: Record<string, number>;
  readonly removal?: { readonly wallMs: number; readonly cpuMs: number };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** What worker.send writes for a config: Node's IPC serializes a message as JSON. */
function ipcMessage(config: unknown, staging: string): number {
  return JSON.stringify({ type: "synth", config, staging, stateBucket: undefined, cache: undefined }).length;
}

/** One measured run in this process, of the toolkit built under `root`. */
async function child(root: string, envDir: string, profile: boolean, removal: boolean): Promise<ChildResult> {
  const load = require(path.join(root, "dist", "config", "load")) as typeof import("../config/load");
  const semantic = require(path.join(root, "dist", "config", "semantic")) as typeof import("../config/semantic");
  const inputs = require(path.join(root, "dist", "stacks", "inputs")) as typeof import("../stacks/inputs");
  const { SaasCatalog } = require(path.join(root, "dist", "catalog", "saas-catalog")) as typeof import("../catalog/saas-catalog");
  const files = load.envFiles(envDir);
  let session: import("inspector").Session | undefined;
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session!.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))));
  if (profile) {
    session = new (require("inspector") as typeof import("inspector")).Session();
    session.connect();
    await post("Profiler.enable");
    await post("Profiler.setSamplingInterval", { interval: 200 });
    await post("Profiler.start");
  }
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  // as cli/parallel-synth.ts: the catalog, the toolkit's identity once, then files in batches of 16
  const catalog = SaasCatalog.default();
  const context = new inputs.InputsContext(inputs.toolkitIdentity(path.join(root, "dist"), root), catalog, undefined, path.join(root, "dist"));
  const configs: import("../config/types").MunicipalityConfig[] = [];
  let sent = 0;
  for (let i = 0; i < files.length; i += 16) {
    const r = load.loadFiles(files.slice(i, i + 16), catalog);
    if (r.issues.length) throw new Error(`${r.issues.length} issues in the bench's env files, e.g. ${JSON.stringify(r.issues[0])}`);
    configs.push(...r.configs);
    for (const c of r.configs) {
      context.of(c);
      sent += ipcMessage(c, envDir);
    }
  }
  if (semantic.crossFileProblems(configs).length) throw new Error("cross-file problems in the bench's env files");
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const used = process.cpuUsage(cpu0);
  let phases: Record<string, number> | undefined;
  if (session) {
    const { profile: p } = (await post("Profiler.stop")) as { profile: CpuProfile };
    phases = phasesOf(p);
    session.disconnect();
  }
  if (sent === 0) throw new Error("nothing was handed over");
  return { files: files.length, wallMs, cpuMs: (used.user + used.system) / 1000, phases, removal: removal ? await removalRun(root, files.length) : undefined };
}

interface CpuProfile {
  readonly nodes: { readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string }; readonly children?: number[] }[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

function phasesOf(p: CpuProfile): Record<string, number> {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const phaseOfNode = new Map<number, string | undefined>();
  const own = (id: number): string | undefined => {
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(idle)" || functionName === "(program)" || functionName === "(root)") return undefined;
    return PHASES.find((ph) => url.includes(`/${ph.where}.`) && (ph.names.length === 0 || ph.names.includes(functionName)))?.phase;
  };
  const phaseOf = (id: number): string => {
    const chain: number[] = [];
    let found: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      if (phaseOfNode.has(cur)) {
        found = phaseOfNode.get(cur);
        break;
      }
      chain.push(cur);
      const ph = own(cur);
      if (ph) {
        found = ph;
        break;
      }
    }
    for (const c of chain) phaseOfNode.set(c, found);
    return found ?? "other";
  };
  const out: Record<string, number> = {};
  p.samples.forEach((s, i) => {
    const { functionName } = byId.get(s)!.callFrame;
    if (functionName === "(idle)") return;
    const ph = phaseOf(s);
    out[ph] = (out[ph] ?? 0) + (p.timeDeltas[i] ?? 0) / 1000;
  });
  return out;
}

/** Replaces an output of `n` stacks through the root's output-dir.ts, timing the commit (the old tree's removal). */
async function removalRun(root: string, n: number): Promise<{ wallMs: number; cpuMs: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "alpha-prime-bench-removal-"));
  try {
    const out = path.join(dir, "cdktf.out");
    const text = `${JSON.stringify({ resource: { filler: "x".repeat(188 * 1024) } })}\n`;
    fs.mkdirSync(path.join(out, "stacks"), { recursive: true });
    fs.writeFileSync(path.join(out, ".alpha-prime-output"), "bench\n");
    for (let i = 0; i < n; i++) {
      fs.mkdirSync(path.join(out, "stacks", `m${i}`));
      fs.writeFileSync(path.join(out, "stacks", `m${i}`, "cdk.tf.json"), text);
    }
    spawnSync("sync");
    const od = require(path.join(root, "dist", "cli", "output-dir")) as typeof import("../cli/output-dir");
    // a toolkit from before commitInBackground has only commit
    const tx = od.beginOutput(out, ".alpha-prime-output") as Omit<import("../cli/output-dir").OutputTransaction, "commitInBackground"> & { commitInBackground?: () => Promise<void> };
    fs.writeFileSync(path.join(tx.staging, "manifest.json"), "{}\n");
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    if (tx.commitInBackground) await tx.commitInBackground();
    else tx.commit();
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const used = process.cpuUsage(cpu0);
    tx.release();
    return { wallMs, cpuMs: (used.user + used.system) / 1000 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function runChild(root: string, envDir: string, profile: boolean, removal: boolean): ChildResult {
  const r = spawnSync(process.execPath, [__filename, "--child", "--root", root, "--env", envDir, ...(profile ? ["--profile"] : []), ...(removal ? ["--removal"] : [])], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`measuring ${root} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  return `${line(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n${rows.map(line).join("\n")}\n`;
}

async function main(): Promise<void> {
  if (process.argv.includes("--child")) {
    const r = await child(arg("--root")!, arg("--env")!, process.argv.includes("--profile"), process.argv.includes("--removal"));
    process.stdout.write(JSON.stringify(r));
    return;
  }
  const n = Number(arg("--n") ?? 1741);
  const runs = Number(arg("--runs") ?? 3);
  const removal = process.argv.includes("--removal");
  const roots = [REPO_ROOT, ...(arg("--compare") ? [path.resolve(arg("--compare")!)] : [])];
  let envDir = arg("--env");
  const work = envDir ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), "alpha-prime-bench-validate-"));
  try {
    if (!envDir) {
      envDir = path.join(work!, "env");
      writeSyntheticEnv(envDir, n, "national");
    }
    const timed = new Map<string, ChildResult[]>(roots.map((r) => [r, []]));
    for (let i = 0; i < runs; i++) for (const root of roots) timed.get(root)!.push(runChild(root, envDir, false, removal));
    const profiled = new Map(roots.map((root) => [root, runChild(root, envDir!, true, false)]));
    const name = (root: string) => (root === REPO_ROOT ? "this checkout" : path.basename(root));
    const files = timed.get(REPO_ROOT)![0].files;
    process.stdout.write(`\nParent process of synth, per env file (${files} files, national spread; median of ${runs} fresh processes)\n\n`);
    process.stdout.write(
      table(
        ["toolkit", "files", "wall ms/file", "CPU ms/file", ...(removal ? ["old output removal s (wall)", "removal CPU s"] : [])],
        roots.map((root) => {
          const rs = timed.get(root)!;
          const rem = removal ? [(median(rs.map((r) => r.removal!.wallMs)) / 1000).toFixed(2), (median(rs.map((r) => r.removal!.cpuMs)) / 1000).toFixed(2)] : [];
          return [name(root), String(rs[0].files), (median(rs.map((r) => r.wallMs)) / rs[0].files).toFixed(2), (median(rs.map((r) => r.cpuMs)) / rs[0].files).toFixed(2), ...rem];
        }),
      ),
    );
    process.stdout.write(`\nWhere the time goes (one profiled run each; ms per file, sampled every 0.2 ms)\n\n`);
    process.stdout.write(
      table(
        ["phase", ...roots.map(name)],
        PHASE_ORDER.map((ph) => [ph, ...roots.map((root) => ((profiled.get(root)!.phases![ph] ?? 0) / files).toFixed(3))]),
      ),
    );
    process.stdout.write(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} (${os.cpus().length} CPUs; a shared machine slows every row)\n`);
  } finally {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
