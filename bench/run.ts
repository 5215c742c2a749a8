/**
 * `npm run bench`: synthesis at national scale, measured (never part of `npm test`).
 *
 * Generates N synthetic municipalities in a temporary directory and prints a table of: config validation time,
 * synthesis wall time and peak memory for N = 1, 100 and 1,741 on the fast path, the naive one-process path on the
 * same stacks (so the ratio is measured in the same run), one selected municipality's app time, and the test
 * suite's wall time. Peak memory is the largest sum of resident memory over the whole process tree (parent and
 * workers), sampled from /proc every 100 ms (Linux).
 *
 * Options: --spread national|uniform (default national), --skip-naive, --skip-tests, --jobs N.
 * Then the proxy tier on the loopback (bench/proxy.ts): --proxy-only runs just that, --skip-proxy leaves it out,
 * --proxy-long runs it longer, --clamav-db <dir> scans with a real database.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../core/paths";
import { Spread, writeSyntheticEnv } from "./generate";
import { proxyBenchOptionsFromArgs, proxyBenchReport, runProxyBench } from "./proxy";

interface Measured {
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly code: number | null;
  readonly output: string;
}

function rssOfTree(root: number): number {
  let total = 0;
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const visit = (pid: number) => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      return;
    }
    for (const c of children.get(pid) ?? []) visit(c);
  };
  visit(root);
  return total;
}

/** How many files `git status` lists as changed or untracked (0 outside a git checkout). */
function uncommittedChanges(): number {
  const r = spawnSync("git", ["status", "--porcelain"], { cwd: REPO_ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n").filter(Boolean).length : 0;
}

/** Runs a command, measuring wall time and the peak memory of its process tree. */
function measure(command: string, args: string[], env: Record<string, string> = {}): Promise<Measured> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, CI: "true", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, rssOfTree(child.pid!))), 100);
    child.on("close", (code) => {
      clearInterval(timer);
      resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMb: Math.round(peak / 1048576), code, output });
    });
  });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const spread = (arg("--spread") ?? "national") as Spread;
  const jobs = arg("--jobs") ?? String(os.cpus().length);
  const skipNaive = process.argv.includes("--skip-naive");
  const skipTests = process.argv.includes("--skip-tests");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "alpha-prime-bench-"));
  const cli = path.join(REPO_ROOT, "bin", "alpha-prime.js");
  const app = path.join(REPO_ROOT, "dist", "stacks", "main.js");
  const rows: string[][] = [];
  const row = (what: string, n: number | string, m: Measured | undefined, note = "") => {
    rows.push([what, String(n), m ? `${m.seconds.toFixed(1)} s` : "—", m ? `${m.peakRssMb} MB` : "—", note]);
    process.stderr.write(`  ${what} (N=${n}): ${m ? `${m.seconds.toFixed(1)} s, ${m.peakRssMb} MB` : "skipped"}${m && m.code !== 0 ? ` FAILED (exit ${m.code})\n${m.output.slice(-2000)}` : ""}\n`);
  };
  try {
    process.stderr.write(`alpha-prime benchmark: ${os.cpus().length} CPU(s), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, spread ${spread}, jobs ${jobs}\n`);
    const dirs: Record<number, string> = {};
    for (const n of [1, 100, 1741]) {
      dirs[n] = path.join(work, `env-${n}`);
      writeSyntheticEnv(dirs[n], n, spread);
    }
    const resources = (out: string) =>
      fs.readdirSync(path.join(out, "stacks")).reduce((sum, id) => sum + Object.values<Record<string, unknown>>(JSON.parse(fs.readFileSync(path.join(out, "stacks", id, "cdk.tf.json"), "utf8")).resource).reduce((k, r) => k + Object.keys(r).length, 0), 0);

    const validate = await measure(process.execPath, [cli, "--env-dir", dirs[1741], "validate"]);
    row("config validation (schema + semantic checks)", 1741, validate);

    const fast: Record<number, Measured> = {};
    for (const n of [1, 100, 1741]) {
      const out = path.join(work, `fast-${n}`);
      fast[n] = await measure(process.execPath, [cli, "--env-dir", dirs[n], "synth", "--all", "--out", out, ...(n > 1 ? ["--jobs", jobs] : [])]);
      const perStack = n > 1 ? `${((fast[n].seconds / n) * 1000).toFixed(0)} ms/stack, ${Math.round(resources(out) / n)} resources/stack` : "in process";
      row("synth, fast path (workers, one App per stack)", n, fast[n], perStack);
    }
    let naive1741: Measured | undefined;
    if (!skipNaive) {
      for (const n of [100, 1741]) {
        // plain cdktf: one process, one App with every stack, none of our synthesis tuning
        const m = await measure(process.execPath, [app], { ALPHA_PRIME_ENV_DIR: dirs[n], CDKTF_OUTDIR: path.join(work, `naive-${n}`), ALPHA_PRIME_PLAIN_CDKTF: "1" });
        if (n === 1741) naive1741 = m;
        row("synth, naive path (one process, one App)", n, m, n === 1741 && fast[1741] ? `fast path is ${(m.seconds / fast[1741].seconds).toFixed(1)}× faster` : "");
      }
    }
    // a sub-second timing on a shared VM: the median of five runs
    const runs: Measured[] = [];
    for (let i = 0; i < 5; i++) runs.push(await measure(process.execPath, [app], { ALPHA_PRIME_ENV_DIR: dirs[1741], ALPHA_PRIME_STACKS: "m0007", CDKTF_OUTDIR: path.join(work, `selected-${i}`) }));
    const selected = [...runs].sort((a, b) => a.seconds - b.seconds)[2];
    row("one selected municipality, app time (ALPHA_PRIME_STACKS)", "1 of 1741", selected, `median of 5 (${runs.map((r) => r.seconds.toFixed(2)).join(", ")} s); what \`cdktf deploy <id>\` runs before Terraform`);
    if (!skipTests) {
      const tests = await measure(process.execPath, [path.join(REPO_ROOT, "node_modules", "jest", "bin", "jest.js")]);
      // the suite runs on the working tree, so a table meant for the README should come from a clean one
      const dirty = uncommittedChanges();
      row("test suite (jest, after build)", "—", tests, (tests.code === 0 ? "passed" : "FAILED") + (dirty ? `; working tree has ${dirty} uncommitted change(s)` : ""));
    }

    const header = ["measurement", "N", "wall", "peak RSS", "note"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...r[i]].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c + " ".repeat(widths[i] - [...c].length)).join(" | ")} |`;
    process.stdout.write(`\n${line(header)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n${rows.map(line).join("\n")}\n`);
    const f = fast[1741];
    const checks = [
      [`all 1,741 under 60 s`, f.seconds < 60],
      [`all 1,741 within 1 GiB peak RSS`, f.peakRssMb <= 1024],
      ...(naive1741 ? [[`fast path ≥ 4× the naive path`, naive1741.seconds / f.seconds >= 4] as [string, boolean]] : []),
      [`one selected municipality ≤ 1 s`, selected.seconds <= 1],
    ] as [string, boolean][];
    process.stdout.write(`\n${checks.map(([what, ok]) => `${ok ? "met    " : "NOT MET"}  ${what}`).join("\n")}\n`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function proxyBench(): Promise<void> {
  if (process.argv.includes("--skip-proxy")) return;
  const r = await runProxyBench(proxyBenchOptionsFromArgs());
  process.stdout.write(`\n${proxyBenchReport(r)}`);
  // scan figures from downloads that bypassed the engine, or did not arrive, measure nothing
  if (r.scanProblems.length) process.exitCode = 1;
}

(process.argv.includes("--proxy-only") ? proxyBench() : main().then(proxyBench)).catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
