/**
 * `node dist/bench/review-national.js [N]`: the reviewer's comment for a national change, measured (never part of
 * `npm test`; test/review-scale.test.ts runs the same simulation on a smaller N).
 *
 * N synthetic municipalities (bench/generate.ts, default 1,741) are synthesized twice: as they are, and after a
 * catalog change (one more Zoom domain, `*.zoomgov.com`, which reaches every municipality that selected Zoom) plus
 * one address-plan move (the last municipality with a /22 moves to a /23). The diff's comment must fit GitHub's
 * limit and show the move on its first screen. Prints a table: synth and diff times, the full report's size, the
 * comment's size, and the line of the comment on which the move is first named.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { CATALOG_PATH } from "../catalog/saas-catalog";
import { REPO_ROOT } from "../core/paths";
import { writeSyntheticEnv } from "./generate";

export interface NationalChange {
  readonly base: string;
  readonly head: string;
  /** the municipality whose address plan moves */
  readonly moved: string;
  /** how many municipalities selected Zoom (and so get the new domain) */
  readonly zoomUsers: number;
  readonly synthSeconds: number;
}

/** The domain the simulated catalog change adds to Zoom. */
export const ADDED_DOMAIN = "*.zoomgov.com";

function synth(envDir: string, out: string, env: NodeJS.ProcessEnv = {}): void {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "bin", "alpha-prime.js"), "--env-dir", envDir, "synth", "--out", out], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`synth of ${envDir} failed:\n${r.stderr}`);
}

/** Synthesizes N municipalities before and after the change into `workDir`/base and `workDir`/head. */
export function simulateNationalChange(n: number, workDir: string): NationalChange {
  const baseEnv = path.join(workDir, "env-base");
  const headEnv = path.join(workDir, "env-head");
  const files = writeSyntheticEnv(baseEnv, n);
  fs.cpSync(baseEnv, headEnv, { recursive: true });
  // the address move: the last municipality on a /22 moves to a /23 (its VPC and subnets are replaced)
  const docs = files.map((f) => parse(fs.readFileSync(f, "utf8")));
  const mover = [...docs].reverse().find((d) => d.network.breakoutCidr.endsWith("/22"))!;
  mover.network.breakoutCidr = "10.64.0.0/23";
  fs.writeFileSync(path.join(headEnv, `${mover.id}.yaml`), `# yaml-language-server: $schema=municipality.schema.json\n${stringify(mover)}`);
  // the catalog change, in a copy of the catalog (ALPHA_PRIME_CATALOG: a refreshed catalog under review)
  const catalog = parse(fs.readFileSync(CATALOG_PATH, "utf8"));
  catalog.find((e: { id: string }) => e.id === "zoom").domains.push(ADDED_DOMAIN);
  const catalogFile = path.join(workDir, "saas-catalog.yaml");
  fs.writeFileSync(catalogFile, stringify(catalog));
  const started = Date.now();
  const base = path.join(workDir, "base");
  const head = path.join(workDir, "head");
  synth(baseEnv, base);
  synth(headEnv, head, { ALPHA_PRIME_CATALOG: catalogFile });
  const zoomUsers = docs.filter((d) => d.breakout.saas.includes("zoom")).length;
  return { base, head, moved: mover.id, zoomUsers, synthSeconds: (Date.now() - started) / 1000 };
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 1741);
  const work = fs.mkdtempSync(path.join(require("os").tmpdir(), "alpha-prime-review-national-"));
  try {
    const sim = simulateNationalChange(n, work);
    const { diffSides, GITHUB_COMMENT_LIMIT, markdown, readSynthesized } = require("../review/diff") as typeof import("../review/diff");
    const t0 = Date.now();
    const report = diffSides(readSynthesized(sim.base), readSynthesized(sim.head));
    const diffSeconds = (Date.now() - t0) / 1000;
    const full = markdown(report);
    const comment = markdown(report, { maxChars: GITHUB_COMMENT_LIMIT - 536, fullReportUrl: "https://github.com/OWNER/REPO/actions/runs/RUN" });
    const line = comment.split("\n").findIndex((l) => l.includes(sim.moved) && l.includes("address plan")) + 1;
    const rows = [
      ["municipalities", String(n)],
      ["selected Zoom (get the new domain)", String(sim.zoomUsers)],
      ["synth, base and head", `${sim.synthSeconds.toFixed(1)} s`],
      ["diff (read both, compare)", `${diffSeconds.toFixed(1)} s`],
      ["full report", `${full.length.toLocaleString("en-US")} characters`],
      ["comment", `${comment.length.toLocaleString("en-US")} characters (limit ${GITHUB_COMMENT_LIMIT.toLocaleString("en-US")})`],
      ["the move is first named on comment line", String(line)],
    ];
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(42)} ${v}\n`);
    process.stdout.write(`\nthe comment's first 15 lines:\n${comment.split("\n").slice(0, 15).join("\n")}\n`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
