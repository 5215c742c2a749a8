/**
 * `node dist/bench/policy-pack.js <synthesized dir> [--rounds R] [--warmup W] [--top N] [--against <checkout>]`: the
 * policy pack's CPU per stack as it runs at synth time (policy/aspect.ts: `checkStack(new StackModel(id, json))` on
 * each stack's own JSON), measured in one process over every stack of a synthesized output (never part of `npm test`).
 *
 * The stacks are read and parsed first (not measured: at synth time the JSON is already in memory). W rounds (default
 * 2: V8 is still optimizing during the first) warm the JIT and the catalog, then R rounds (default 3) are timed and
 * the best round is kept: other work on a shared machine only ever adds time. Model construction is included (the
 * model's indexes are built lazily, so they are charged to the rules that ask for them). CPU time is this process's
 * (user + system, V8's helper threads included), wall time beside it. A last round times each rule where it runs
 * (wall time: a clock read per rule costs nothing, a CPU-time read per rule would), for the table of rules.
 *
 * --against <checkout>: the same stacks through another build of the pack (a checkout with `npm run build` done, e.g.
 * main before an optimization), stack by stack in turn with this one, so that both see the same machine; its reports
 * are compared with this one's.
 *
 * Make the stacks with, e.g. (ENV and OUT: directories of your choice, such as under `mktemp -d`):
 *   ENV="$ENV" node -e 'require("./dist/bench/generate").writeSyntheticEnv(process.env.ENV, 300, "national")'
 *   ALPHA_PRIME_ENV_DIR="$ENV" node bin/alpha-prime.js synth --no-cache --jobs 1 --out "$OUT"
 * `npm run bench -- --only-policy` does both and prints the table (bench/run.ts).
 */
import * as path from "path";
import { performance } from "perf_hooks";
import * as engine from "../policy/engine";
import * as model from "../policy/model";
import { ALPHA_PRIME_PACK } from "../policy/pack";
import { readSynthesizedStacks } from "../policy/synthesized";
import type { Rule } from "../policy/types";

type Stack = { readonly id: string; readonly json: Record<string, any> };

/** A build of the pack: checks a stack and returns its report. */
interface Pack {
  readonly label: string;
  check(s: Stack): engine.StackReport;
}

export interface PackTiming {
  readonly label: string;
  readonly stacks: number;
  readonly rounds: number;
  /** whole pack per stack in the best round, CPU time: new StackModel + checkStack */
  readonly msPerStack: number;
  /** the same, wall time */
  readonly wallMsPerStack: number;
  readonly findingsPerStack: number;
}

export interface PackBench {
  readonly packs: readonly PackTiming[];
  /** this pack's rules, milliseconds per stack (wall), highest first */
  readonly rules: readonly { readonly id: string; readonly msPerStack: number }[];
  /** with --against: whether every report of the other pack equals this one's */
  readonly sameReports?: boolean;
}

const DATE = "2026-11-23";

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const THIS_PACK: Pack = { label: "this checkout", check: (s) => engine.checkStack(new model.StackModel(s.id, s.json), ALPHA_PRIME_PACK, DATE) };

/** The pack of another checkout, from its dist/ (built with `npm run build`). */
export function packOf(checkout: string): Pack {
  const other = { engine: require(path.resolve(checkout, "dist", "policy", "engine")) as typeof engine, model: require(path.resolve(checkout, "dist", "policy", "model")) as typeof model };
  return { label: checkout, check: (s) => other.engine.checkStack(new other.model.StackModel(s.id, s.json), undefined, DATE) };
}

/** Times each pack over `stacks` (see the file's comment), stack by stack in turn, and this pack's rules. */
export function timePacks(stacks: readonly Stack[], options: { rounds?: number; warmup?: number; against?: Pack } = {}): PackBench {
  const rounds = options.rounds ?? 3;
  const packs = [THIS_PACK, ...(options.against ? [options.against] : [])];
  let sameReports = true;
  for (let round = 0; round < (options.warmup ?? 2); round++) {
    for (const s of stacks) {
      const reports = packs.map((p) => JSON.stringify(p.check(s)));
      if (reports.some((r) => r !== reports[0])) sameReports = false;
    }
  }
  const best = packs.map(() => ({ cpu: Infinity, wall: Infinity, findings: 0 }));
  for (let round = 0; round < rounds; round++) {
    const spent = packs.map(() => ({ cpu: 0, wall: 0, findings: 0 }));
    for (const s of stacks) {
      // alternate which goes first, so neither always finds the other's garbage to collect
      for (const i of round % 2 ? [...packs.keys()].reverse() : packs.keys()) {
        const [cpu, wall] = [cpuMs(), performance.now()];
        spent[i].findings += packs[i].check(s).findings.length;
        spent[i].cpu += cpuMs() - cpu;
        spent[i].wall += performance.now() - wall;
      }
    }
    spent.forEach((x, i) => (best[i] = { cpu: Math.min(best[i].cpu, x.cpu), wall: Math.min(best[i].wall, x.wall), findings: x.findings }));
  }
  const perRule = new Map<string, number>(ALPHA_PRIME_PACK.map((r) => [r.id, 0]));
  const timed: Rule[] = ALPHA_PRIME_PACK.map((rule) => ({
    ...rule,
    check(m) {
      const t = performance.now();
      const out = rule.check(m);
      perRule.set(rule.id, perRule.get(rule.id)! + performance.now() - t);
      return out;
    },
  }));
  for (const s of stacks) engine.checkStack(new model.StackModel(s.id, s.json), timed, DATE);
  const n = stacks.length;
  return {
    packs: packs.map((p, i) => ({ label: p.label, stacks: n, rounds, msPerStack: best[i].cpu / n, wallMsPerStack: best[i].wall / n, findingsPerStack: best[i].findings / n })),
    rules: [...perRule].map(([id, ms]) => ({ id, msPerStack: ms / n })).sort((a, b) => b.msPerStack - a.msPerStack),
    ...(options.against ? { sameReports } : {}),
  };
}

export function packTable(b: PackBench, top = 15): string {
  const sum = b.rules.reduce((a, r) => a + r.msPerStack, 0);
  const [self, other] = b.packs;
  return [
    `| pack | stacks | best of rounds | CPU ms per stack | wall ms per stack | findings per stack |`,
    `|---|---|---|---|---|---|`,
    ...b.packs.map((p) => `| ${p.label} | ${p.stacks} | ${p.rounds} | ${p.msPerStack.toFixed(2)} | ${p.wallMsPerStack.toFixed(2)} | ${p.findingsPerStack.toFixed(2)} |`),
    ...(other ? ["", `this checkout / ${other.label}: CPU ${(self.msPerStack / other.msPerStack).toFixed(2)}, wall ${(self.wallMsPerStack / other.wallMsPerStack).toFixed(2)}; reports ${b.sameReports ? "identical" : "DIFFER"}`] : []),
    ``,
    `| rule (this checkout, wall time) | ms per stack | share of the rules' sum |`,
    `|---|---|---|`,
    ...b.rules.slice(0, top).map((r) => `| ${r.id} | ${r.msPerStack.toFixed(3)} | ${((100 * r.msPerStack) / sum).toFixed(1)} % |`),
  ].join("\n");
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
  if (!dir) {
    console.error("usage: node dist/bench/policy-pack.js <synthesized dir (cdktf.out)> [--rounds R] [--warmup W] [--top N] [--against <checkout>]");
    process.exit(2);
  }
  const stacks = readSynthesizedStacks(dir).map((s) => ({ id: s.id, json: s.json }));
  const against = option("--against");
  const bench = timePacks(stacks, { rounds: Number(option("--rounds") ?? 3), warmup: Number(option("--warmup") ?? 2), against: against ? packOf(against) : undefined });
  console.log(packTable(bench, Number(option("--top") ?? 15)));
  if (bench.sameReports === false) process.exitCode = 1;
}

if (require.main === module) main();
