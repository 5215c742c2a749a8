/**
 * What a synthesized output was made from: `<out>/inputs.json`, written beside cdktf's manifest by every synth
 * (the CLI, the cdktf app, the diff's revisions). It names the env directory and catalog (relative to the output),
 * what was selected, the toolkit, and per stack its inputs (stacks/inputs.ts). It is outside every stack directory,
 * so neither Terraform, nor a plan, nor a reviewer's diff of cdk.tf.json ever sees it.
 *
 * `check` and `diff` read it to refuse an output that no longer matches what it was made from: a stack whose env
 * file, catalog entries, tier row or toolkit changed since, a stack whose env file is gone (an output from another
 * branch), and an env file that has no stack (added since, or never synthesized). An output without the record
 * (written before it existed, or by hand) cannot be judged and is said to be so.
 */
import * as fs from "fs";
import * as path from "path";
import { SaasCatalog } from "../catalog/saas-catalog";
import { listEnvDirectory } from "../config/env-input";
import { configDigest, InputsContext, sha256, StackInputs, ToolkitIdentity, toolkitIdentity } from "./inputs";

export const INPUTS_FILE = "inputs.json";

/** Where an output's inputs came from: files on disk (paths relative to the output), or a git commit. */
export type OutputSource = { readonly envDir: string; readonly catalog: string } | { readonly revision: { readonly ref: string; readonly commit: string } };

/**
 * Which municipalities an output holds: every env file; some (`synth --only`, others kept from before only while
 * still current); or those whose inputs differ from a git commit's (`--changed-since`).
 */
export type Selection =
  | { readonly kind: "all" }
  | { readonly kind: "only"; readonly ids: readonly string[] }
  | { readonly kind: "changed-since"; readonly ref: string; readonly commit: string; readonly ids: readonly string[]; readonly unchanged: number };

export interface InputsRecord {
  readonly format: 1;
  readonly source: OutputSource;
  readonly selection: Selection;
  readonly toolkit: { readonly digest: string; readonly version: string; readonly code: string; readonly lock: string; readonly tierModule: string; readonly runtime: string; readonly verified: boolean };
  readonly stacks: Readonly<Record<string, StackInputs>>;
}

export function toolkitSummary(t: ToolkitIdentity): InputsRecord["toolkit"] {
  return { digest: t.digest, version: t.source.version, code: t.source.code, lock: t.source.lock, tierModule: t.source.tierModule, runtime: t.runtime, verified: t.verified };
}

/** The source record for files on disk, as paths relative to the output (no machine path in the output). */
export function fileSource(outdir: string, envDir: string, catalogFile: string): OutputSource {
  const rel = (p: string) => path.relative(path.resolve(outdir), path.resolve(p)).split(path.sep).join("/") || ".";
  return { envDir: rel(envDir), catalog: rel(catalogFile) };
}

/** The catalog file SaasCatalog.default() reads in this process. */
export function catalogFileInEffect(): string {
  const { CATALOG_PATH } = require("../catalog/saas-catalog") as typeof import("../catalog/saas-catalog");
  return process.env.ALPHA_PRIME_CATALOG ? path.resolve(process.env.ALPHA_PRIME_CATALOG) : CATALOG_PATH;
}

export function writeInputsRecord(dir: string, record: Omit<InputsRecord, "format">): void {
  const stacks: Record<string, StackInputs> = {};
  for (const id of Object.keys(record.stacks).sort()) stacks[id] = record.stacks[id];
  fs.writeFileSync(path.join(dir, INPUTS_FILE), `${JSON.stringify({ format: 1, ...record, stacks } satisfies InputsRecord, null, 2)}\n`);
}

/** The record of an output, or undefined when it has none (or one this version cannot read). */
export function readInputsRecord(outdir: string): InputsRecord | undefined {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(path.join(outdir, INPUTS_FILE), "utf8"));
  } catch {
    return undefined;
  }
  const r = data as InputsRecord;
  if (!r || r.format !== 1 || typeof r.stacks !== "object" || !r.source || !r.selection || !r.toolkit) return undefined;
  return r;
}

/** What a stack's inputs are compared with: the env directory and catalog it came from, as they are now. */
export interface CurrentInputs {
  readonly envDir: string;
  readonly catalog: SaasCatalog;
  readonly context: InputsContext;
}

export function currentInputs(envDir: string, catalog: SaasCatalog, toolkit = toolkitIdentity()): CurrentInputs {
  return { envDir, catalog, context: new InputsContext(toolkit, catalog, undefined) };
}

/**
 * Why a recorded stack would not be synthesized the same from the current inputs, or undefined when it would be.
 * The env file is compared by its bytes first; only a file whose bytes changed is loaded (so a comment or layout
 * change is recognised as no change).
 */
export function staleReason(inputs: StackInputs, now: CurrentInputs, options: StalenessOptions = {}): string | undefined {
  if (!options.anyToolkit && inputs.toolkit !== now.context.toolkit.digest) return "synthesized by another build of alpha-prime (its code, version, lock file or runtime differ from this one's)";
  // a record is read like any artifact: it names a file in the env directory, nothing else
  if (typeof inputs.env?.file !== "string" || !/^[^/\\]+\.ya?ml$/.test(inputs.env.file) || inputs.env.file.startsWith(".")) return "its record names no env file of the directory";
  const file = path.join(now.envDir, inputs.env.file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return "its env file is gone (removed since, or the output comes from another branch)";
  }
  if (sha256(bytes) !== inputs.env.sha256) {
    const { loadFiles } = require("../config/load") as typeof import("../config/load");
    const loaded = loadFiles([file], now.catalog);
    if (loaded.issues.length) return "its env file changed since, and no longer validates";
    if (configDigest(loaded.configs[0]) !== inputs.env.config) return "its env file changed since";
  }
  const changed = Object.entries(inputs.catalog).filter(([id, digest]) => now.context.entryDigest(id) !== digest).map(([id]) => id);
  if (changed.length) return `catalog ${changed.length === 1 ? "entry" : "entries"} ${changed.join(", ")} changed since`;
  // the tier table is the toolkit's code: another build's rows are its own, and are what is under review
  if (!options.anyToolkit && now.context.tierDigest(inputs.tier.id) !== inputs.tier.sha256) return `the tier table's ${inputs.tier.id} row changed since`;
  return undefined;
}

export interface Staleness {
  /** the output has a record */
  readonly recorded: boolean;
  /** why it cannot be judged (no record, a git revision's output, its env directory or catalog gone) */
  readonly unverifiable?: string;
  readonly selection?: Selection;
  /** stacks that would not be synthesized the same now */
  readonly stale: { readonly id: string; readonly why: string }[];
  /** env files in its env directory without a stack */
  readonly missing: string[];
  /** what is wrong with the output as a whole (its selection no longer the right one) */
  readonly problems: string[];
}

export interface StalenessOptions {
  /**
   * The output may come from another build of alpha-prime — a pull request's, judged by the base branch's toolkit in
   * the PR workflow's review job. Its stacks are then held to their env files and catalog entries only: the toolkit
   * digest and the tier rows (the toolkit's own table) are the change under review, not a sign of staleness.
   */
  readonly anyToolkit?: boolean;
}

/** Judges an output against the env directory and catalog it was synthesized from, as they are now. */
export function outputStaleness(outdir: string, toolkit = toolkitIdentity(), options: StalenessOptions = {}): Staleness {
  const record = readInputsRecord(outdir);
  if (!record) return { recorded: false, unverifiable: `${outdir} records no inputs (${INPUTS_FILE}): written by an older alpha-prime or not by alpha-prime`, stale: [], missing: [], problems: [] };
  const base = { recorded: true, selection: record.selection, stale: [], missing: [], problems: [] };
  if ("revision" in record.source) return { ...base, unverifiable: `${outdir} is a synthesis of ${record.source.revision.ref} (${record.source.revision.commit.slice(0, 8)}), not of files on disk` };
  const envDir = path.resolve(outdir, record.source.envDir);
  const catalogFile = path.resolve(outdir, record.source.catalog);
  if (!fs.existsSync(envDir)) return { ...base, unverifiable: `the env directory ${outdir} was synthesized from (${envDir}) no longer exists` };
  let catalog: SaasCatalog;
  try {
    catalog = SaasCatalog.fromFile(catalogFile);
  } catch {
    // not echoed: the path comes from the output, and a parser's message may quote the file
    return { ...base, unverifiable: `the catalog ${outdir} was synthesized with (${catalogFile}) cannot be read as a catalog` };
  }
  return judge(record, currentInputs(envDir, catalog, toolkit), options);
}

function judge(record: InputsRecord, now: CurrentInputs, options: StalenessOptions): Staleness {
  const stale: { id: string; why: string }[] = [];
  for (const [id, inputs] of Object.entries(record.stacks)) {
    const why = staleReason(inputs, now, options);
    if (why) stale.push({ id, why });
  }
  const ids = listEnvDirectory(now.envDir).files.map((f) => path.basename(f).replace(/\.ya?ml$/, ""));
  const missing = ids.filter((id) => !(id in record.stacks));
  return { recorded: true, selection: record.selection, stale, missing, problems: [] };
}

/** Stale stacks, a wrong selection, and missing stacks when the output claims to hold every env file. */
export function isStale(s: Staleness): boolean {
  return s.stale.length > 0 || s.problems.length > 0 || (s.selection?.kind === "all" && s.missing.length > 0);
}

/** A few lines for a person: reasons grouped, ids listed up to a point. */
export function describeStaleness(outdir: string, s: Staleness): string {
  const lines: string[] = [];
  const list = (ids: string[]) => (ids.length > 8 ? `${ids.slice(0, 8).join(", ")} … and ${ids.length - 8} more` : ids.join(", "));
  const byWhy = new Map<string, string[]>();
  for (const x of s.stale) byWhy.set(x.why, [...(byWhy.get(x.why) ?? []), x.id]);
  for (const [why, ids] of byWhy) lines.push(`  ${ids.length} stack(s): ${why}: ${list(ids)}`);
  for (const p of s.problems) lines.push(`  ${p}`);
  if (s.missing.length && (s.selection?.kind === "all" || lines.length)) {
    const what = s.selection?.kind === "all" ? "have no stack (added since it was synthesized)" : "have no stack (not selected when it was synthesized)";
    lines.push(`  ${s.missing.length} env file(s) ${what}: ${list(s.missing)}`);
  }
  return `${outdir} does not match the files it was synthesized from:\n${lines.join("\n")}\n`;
}

/** Refusal of a stale output by `check` or `diff` (exit 1: the input does not say what the tree says). */
export class StaleOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StaleOutputError";
  }
}
