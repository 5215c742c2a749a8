/**
 * `node dist/bench/policy-pack.js <synthesized dir> [--top N] [--rounds R] [--warmup W]`: the policy pack's CPU per stack, as it
 * runs at synth time (policy/aspect.ts: `checkStack(new StackModel(id, json))` on each stack's own JSON), measured
 * in one process over every stack of a synthesized output (never part of `npm test`).
 *
 * The stacks are read and parsed first (not measured: at synth time the JSON is already in memory); then W rounds
 * (default 2: V8 is still optimizing during the first) warm the JIT and the catalog, and R rounds (default 1) are timed. Prints the stacks, milliseconds per stack for the
 * whole pack (model construction included: the model's indexes are built lazily, so they are charged to the rules
 * that ask for them), and the rules taking the most time. The total is CPU time of this process (user + system, so
 * other work on a shared machine counts less; V8's helper threads count too), wall time beside it; the rules are timed
 * in a separate pass, by wall time (a clock read per rule costs nothing, a CPU-time read per rule would).
 *
 * Make the stacks with, e.g.:
 *   node -e 'require("./dist/bench/generate").writeSyntheticEnv("/tmp/env", 300, "national")'
 *   ALPHA_PRIME_ENV_DIR=/tmp/env node bin/alpha-prime.js synth --no-cache --jobs 1 --out /tmp/out
 */
import { performance } from "perf_hooks";
import { checkStack } from "../policy/engine";
import { StackModel } from "../policy/model";
import { ALPHA_PRIME_PACK } from "../policy/pack";
import { readSynthesizedStacks } from "../policy/synthesized";
import type { Rule } from "../policy/types";

export interface PackTiming {
  readonly stacks: number;
  readonly rounds: number;
  /** whole pack per stack, CPU time: new StackModel + checkStack */
  readonly msPerStack: number;
  /** the same, wall time */
  readonly wallMsPerStack: number;
  /** per rule, milliseconds per stack, highest first */
  readonly rules: readonly { readonly id: string; readonly msPerStack: number }[];
  readonly findings: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Times the pack over `stacks`, `rounds` times after `warmup` rounds: first the pack as it runs (CPU and wall time),
 * then once more with each rule timed where it runs (checkStack calls them in order), for the table of rules.
 */
export function timePack(stacks: readonly { id: string; json: Record<string, any> }[], rounds = 1, warmup = 2): PackTiming {
  const spent = new Map<string, number>(ALPHA_PRIME_PACK.map((r) => [r.id, 0]));
  const timed: Rule[] = ALPHA_PRIME_PACK.map((rule) => ({
    ...rule,
    check(model) {
      const t = performance.now();
      const out = rule.check(model);
      spent.set(rule.id, spent.get(rule.id)! + performance.now() - t);
      return out;
    },
  }));
  let findings = 0;
  for (let round = 0; round < warmup; round++) for (const s of stacks) checkStack(new StackModel(s.id, s.json));
  const started = performance.now();
  const cpuStarted = cpuMs();
  for (let round = 0; round < rounds; round++) {
    for (const s of stacks) findings += checkStack(new StackModel(s.id, s.json)).findings.length;
  }
  const total = cpuMs() - cpuStarted;
  const wall = performance.now() - started;
  for (let round = 0; round < rounds; round++) for (const s of stacks) checkStack(new StackModel(s.id, s.json), timed);
  const n = stacks.length * rounds;
  return {
    stacks: stacks.length,
    rounds,
    msPerStack: total / n,
    wallMsPerStack: wall / n,
    rules: [...spent].map(([id, ms]) => ({ id, msPerStack: ms / n })).sort((a, b) => b.msPerStack - a.msPerStack),
    findings: findings / rounds,
  };
}

export function packTable(t: PackTiming, top = 15): string {
  const sum = t.rules.reduce((a, r) => a + r.msPerStack, 0);
  const rows = [
    `| stacks | rounds | CPU ms per stack (pack) | wall ms per stack | findings per round |`,
    `|---|---|---|---|---|`,
    `| ${t.stacks} | ${t.rounds} | ${t.msPerStack.toFixed(2)} | ${t.wallMsPerStack.toFixed(2)} | ${t.findings} |`,
    ``,
    `| rule (wall time, timed apart) | ms per stack | share of the rules' sum |`,
    `|---|---|---|`,
    ...t.rules.slice(0, top).map((r) => `| ${r.id} | ${r.msPerStack.toFixed(3)} | ${((100 * r.msPerStack) / sum).toFixed(1)} % |`),
  ];
  return rows.join("\n");
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
  if (!dir) {
    console.error("usage: node dist/bench/policy-pack.js <synthesized dir (cdktf.out)> [--top N] [--rounds R] [--warmup W]");
    process.exit(2);
  }
  const stacks = readSynthesizedStacks(dir).map((s) => ({ id: s.id, json: s.json }));
  console.log(packTable(timePack(stacks, Number(option("--rounds") ?? 1), Number(option("--warmup") ?? 2)), Number(option("--top") ?? 15)));
}

if (require.main === module) main();
