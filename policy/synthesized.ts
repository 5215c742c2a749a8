/**
 * Reading the artifacts `check` and `diff` judge — a synthesized output (manifest.json and each stack's
 * cdk.tf.json) and a `terraform show -json` plan — failing closed: an empty or malformed manifest, a stack path
 * that leaves the directory, a truncated, null or non-object stack, a JSON file that is not a plan: each is an
 * error naming the file, never "no findings" or "no changes".
 */
import * as fs from "fs";
import * as path from "path";

export class ArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactError";
  }
}

/** Larger than any stack alpha-prime writes (national-scale stacks are < 1 MB), small enough to refuse a bomb. */
const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

function readJson(file: string, what: string): unknown {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new ArtifactError(`${file}: ${what} is missing`);
  }
  if (!st.isFile()) throw new ArtifactError(`${file}: ${what} is not a regular file`);
  if (st.size > MAX_ARTIFACT_BYTES) throw new ArtifactError(`${file}: ${what} is ${st.size} bytes, more than any synthesized artifact`);
  const text = fs.readFileSync(file, "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ArtifactError(`${file}: ${what} is not valid JSON (${(e as Error).message}${text.length ? "" : "; the file is empty"})`);
  }
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface SynthesizedStack {
  readonly id: string;
  readonly file: string;
  readonly json: Record<string, any>;
}

/**
 * Every stack of a synthesized output (or those of `only`), each read and checked to be a Terraform JSON object
 * inside `outdir`.
 */
export function readSynthesizedStacks(outdir: string, only?: ReadonlySet<string>): SynthesizedStack[] {
  const manifestPath = path.join(outdir, "manifest.json");
  if (!fs.existsSync(manifestPath)) throw new ArtifactError(`${outdir} has no manifest.json: synthesize first (npx alpha-prime synth)`);
  const manifest = readJson(manifestPath, "the manifest");
  if (!isObject(manifest) || !isObject(manifest.stacks)) throw new ArtifactError(`${manifestPath}: not a cdktf manifest (no "stacks" object)`);
  const entries = Object.entries<any>(manifest.stacks);
  if (entries.length === 0) throw new ArtifactError(`${manifestPath}: lists no stacks: nothing to check (an empty output is an error, not a pass)`);
  const root = fs.realpathSync(outdir);
  return entries.filter(([id]) => !only || only.has(id)).map(([id, s]) => {
    if (!isObject(s) || typeof s.synthesizedStackPath !== "string") throw new ArtifactError(`${manifestPath}: stack '${id}' has no synthesizedStackPath`);
    const file = path.resolve(outdir, s.synthesizedStackPath);
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch {
      throw new ArtifactError(`${file}: stack '${id}' listed in ${manifestPath} is missing`);
    }
    const rel = path.relative(root, real);
    if (rel.startsWith("..") || path.isAbsolute(rel)) throw new ArtifactError(`${manifestPath}: stack '${id}' points outside ${outdir} (${s.synthesizedStackPath}): refused`);
    const json = readJson(file, `stack '${id}'`);
    if (!isObject(json)) throw new ArtifactError(`${file}: stack '${id}' is ${json === null ? "null" : Array.isArray(json) ? "an array" : `a ${typeof json}`}, not a Terraform JSON object`);
    if (!isObject(json.resource) && !isObject(json.terraform)) throw new ArtifactError(`${file}: stack '${id}' has neither "resource" nor "terraform": not a synthesized stack`);
    return { id, file, json };
  });
}

/** A `terraform show -json` plan, or an error saying it is not one. */
export function readPlanJson(file: string): Record<string, any> {
  const plan = readJson(file, "the plan");
  if (!isObject(plan) || typeof plan.format_version !== "string" || !Array.isArray(plan.resource_changes ?? []) || !("planned_values" in plan || "resource_changes" in plan)) {
    throw new ArtifactError(`${file}: not a Terraform plan (expected the output of 'terraform show -json <planfile>': format_version, resource_changes)`);
  }
  return plan;
}
