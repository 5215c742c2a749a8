/**
 * The saved plan is the unit of review and of deploy. `plan` makes, per municipality, an artifact directory: the
 * synthesized stack that was planned, Terraform's saved plan file, its JSON, the provider lock file, the reviewer's
 * report (what the plan does, with data-loss and outage call-outs, and the baseline's findings) and a manifest of
 * SHA-256 sums. The approver reads its summary in the run's job summary; `apply` applies exactly that file, or, when
 * the state moved since (Terraform refuses a stale saved plan), plans again and applies only if the new plan does
 * what the approved one did — otherwise it stops and shows the difference.
 *
 * "real" plans use the stack's own backend and the credentials in the environment; "offline" plans (no credentials:
 * pull requests, forks) use cli/offline-plan.ts's override with mock credentials and can never be applied.
 */
import * as fs from "fs";
import * as path from "path";
import { countChanges, offlineOverride, terraformIn, terraformVersion } from "../cli/offline-plan";
import { TOOLKIT_VERSION } from "../core/version";
import { sha256 } from "./targets";

export type PlanMode = "real" | "offline";

export interface PlanManifest {
  readonly id: string;
  readonly mode: PlanMode;
  readonly destroy: boolean;
  /** a destroy that keeps the log archive (Terraform forgets it: `removed` blocks); applied as a normal plan */
  readonly decommission?: boolean;
  readonly commit?: string;
  readonly stackSha256: string;
  readonly planSha256: string;
  readonly planJsonSha256: string;
  readonly terraformVersion?: string;
  readonly toolkitVersion: string;
  readonly counts: PlanCounts;
  /** a decommission's log archive: forgotten by Terraform, left in place */
  readonly kept?: string[];
  readonly createdAt: string;
}

export interface PlanCounts {
  readonly create: number;
  readonly update: number;
  readonly replace: number;
  readonly delete: number;
}

/** The files of a plan artifact, by role. */
export const ARTIFACT_FILES = { stack: "cdk.tf.json", lock: ".terraform.lock.hcl", plan: "plan.tfplan", planJson: "plan.json", report: "report.md", summary: "summary.md", manifest: "manifest.json" } as const;

export class PlanDriftError extends Error {
  constructor(readonly differences: string[]) {
    super(`the plan made now differs from the approved one; nothing was applied:\n${differences.map((d) => `  ${d}`).join("\n")}\nApprove a new plan (re-run the deploy).`);
    this.name = "PlanDriftError";
  }
}

export class ArtifactMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArtifactMismatchError";
  }
}

export interface MakePlanOptions {
  readonly id: string;
  /** the synthesized stack (cdk.tf.json) to plan; for a destroy, a stack whose resources are ignored */
  readonly stackFile: string;
  /** the artifact directory to write (created; must not exist or be empty) */
  readonly outDir: string;
  readonly mode: PlanMode;
  readonly destroy?: boolean;
  /**
   * With destroy: keep the log archive. Every resource the LogArchive construct made (buckets with their Object Lock
   * logs, keys, log groups) is forgotten by Terraform (`removed` with `destroy = false`) instead of destroyed, so the
   * logs stay for their retention; everything else is destroyed. (A `-destroy` plan would ignore `removed` blocks.)
   */
  readonly keepArchive?: boolean;
  readonly commit?: string;
  /** refuse unless the stack's SHA-256 is this (what the targets job computed for this run) */
  readonly expectStackSha256?: string;
  /** the reviewer's report for this plan (Markdown); the default is the plan's own diff and the baseline */
  readonly report?: (planJson: any, stackJson: any) => string;
}

/** Makes the plan artifact; returns its manifest. */
export function makePlanArtifact(o: MakePlanOptions): PlanManifest {
  let stackText = fs.readFileSync(o.stackFile);
  const stackSha = sha256(stackText);
  if (o.expectStackSha256 && o.expectStackSha256 !== stackSha) {
    throw new ArtifactMismatchError(`${o.id}: this job synthesized a stack (sha256 ${stackSha.slice(0, 16)}…) other than the one the run chose to deploy (${o.expectStackSha256.slice(0, 16)}…): the tree or the environment differs between the jobs; nothing was planned`);
  }
  if (fs.existsSync(o.outDir) && fs.readdirSync(o.outDir).length) throw new Error(`${o.outDir} is not empty: a plan artifact is written into a new directory`);
  fs.mkdirSync(o.outDir, { recursive: true });
  let stack = JSON.parse(stackText.toString("utf8"));
  const work = fs.mkdtempSync(path.join(path.dirname(path.resolve(o.outDir)), `.alpha-prime-plan-${o.id}-`));
  try {
    fs.writeFileSync(path.join(work, ARTIFACT_FILES.stack), stackText);
    if (o.mode === "offline") fs.writeFileSync(path.join(work, "alpha_prime_offline_override.tf.json"), JSON.stringify(offlineOverride(stack), null, 2));
    const { run } = terraformIn(work, stack);
    run("init", ["init", "-input=false", "-no-color"]);
    const decommission = !!(o.destroy && o.keepArchive);
    if (decommission) {
      // the stack planned is the one kept in the artifact: its removed blocks are part of what is approved
      const inState = run("state list", ["state", "list"]).split("\n").filter(Boolean);
      const keep = inState.filter(isArchiveAddress);
      stack = { ...stack, resource: undefined, removed: keep.map((from) => ({ from, lifecycle: { destroy: false } })) };
      stackText = Buffer.from(JSON.stringify(stack, null, 2));
      fs.writeFileSync(path.join(work, ARTIFACT_FILES.stack), stackText);
    }
    run("validate", ["validate", "-no-color"]);
    const offline = o.mode === "offline" ? ["-refresh=false", "-lock=false"] : [];
    run("plan", ["plan", "-input=false", "-no-color", ...offline, ...(o.destroy && !decommission ? ["-destroy"] : []), `-out=${ARTIFACT_FILES.plan}`]);
    const planJsonText = run("show", ["show", "-json", ARTIFACT_FILES.plan]);
    const planJson = JSON.parse(planJsonText);
    fs.copyFileSync(path.join(work, ARTIFACT_FILES.plan), path.join(o.outDir, ARTIFACT_FILES.plan));
    if (fs.existsSync(path.join(work, ARTIFACT_FILES.lock))) fs.copyFileSync(path.join(work, ARTIFACT_FILES.lock), path.join(o.outDir, ARTIFACT_FILES.lock));
    fs.writeFileSync(path.join(o.outDir, ARTIFACT_FILES.stack), stackText);
    fs.writeFileSync(path.join(o.outDir, ARTIFACT_FILES.planJson), planJsonText);
    const manifest: PlanManifest = {
      id: o.id,
      mode: o.mode,
      destroy: !!o.destroy,
      ...(decommission ? { decommission: true } : {}),
      ...(o.commit ? { commit: o.commit } : {}),
      stackSha256: decommission ? sha256(stackText) : stackSha,
      planSha256: sha256(fs.readFileSync(path.join(o.outDir, ARTIFACT_FILES.plan))),
      planJsonSha256: sha256(planJsonText),
      terraformVersion: terraformVersion(),
      toolkitVersion: TOOLKIT_VERSION,
      counts: countChanges(planJson),
      ...(decommission ? { kept: (planJson.resource_changes ?? []).filter((rc: any) => (rc.change?.actions ?? []).includes("forget")).map((rc: any) => rc.address) } : {}),
      createdAt: new Date().toISOString(),
    };
    const report = (o.report ?? reviewerReport)(planJson, stack);
    fs.writeFileSync(path.join(o.outDir, ARTIFACT_FILES.report), report);
    fs.writeFileSync(path.join(o.outDir, ARTIFACT_FILES.summary), planSummary(manifest, report));
    fs.writeFileSync(path.join(o.outDir, ARTIFACT_FILES.manifest), JSON.stringify(manifest, null, 2) + "\n");
    return manifest;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** What the LogArchive construct made (its construct id is the first part of every name): the archive a destroy keeps. */
export function isArchiveAddress(address: string): boolean {
  return /^[a-z0-9_]+\.LogArchive_/.test(address);
}

/** The plan's reviewer report: what it does to each resource (prior state → planned), with call-outs, and the baseline's findings. */
export function reviewerReport(planJson: any, stackJson: any): string {
  const d = require("../review/diff") as typeof import("../review/diff");
  const { checkStack } = require("../policy/engine") as typeof import("../policy/engine");
  const { plannedValuesOf, StackModel } = require("../policy/model") as typeof import("../policy/model");
  const { textReport } = require("../policy/report") as typeof import("../policy/report");
  const id = String(stackJson.locals?.alpha_prime?.municipality ?? "stack");
  const tmp = fs.mkdtempSync(path.join(require("os").tmpdir(), "alpha-prime-report-"));
  try {
    const file = path.join(tmp, "plan.json");
    fs.writeFileSync(file, JSON.stringify(planJson));
    const sides = d.readPlan(file, id);
    const diff = d.markdown(d.diffSides({ ...sides.base, label: "prior state" }, { ...sides.head, label: "this plan" }));
    const check = textReport([checkStack(new StackModel(id, stackJson, plannedValuesOf(planJson)))]);
    return `${diff}\n### α′ baseline\n\n\`\`\`text\n${check}\`\`\`\n`;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** What the approver reads first (the job summary): counts, the plan's checksum, and the risks. */
export function planSummary(m: PlanManifest, report: string): string {
  const risks = report.split("\n").filter((l) => /^- (🛑|🔌|💥)/.test(l));
  return [
    `### ${m.id}: ${m.destroy ? "DESTROY plan" : "plan"} (${m.mode === "real" ? "against the real state" : "OFFLINE, mock credentials: not applicable"})`,
    "",
    `**${m.counts.create} to create, ${m.counts.update} to update, ${m.counts.replace} to replace, ${m.counts.delete} to destroy.** Plan file sha256 \`${m.planSha256}\`${m.commit ? ` for commit \`${m.commit.slice(0, 12)}\`` : ""}.`,
    ...(m.kept ? ["", `The log archive is KEPT: ${m.kept.length} resource(s) leave Terraform's state without being destroyed (its logs stay for their retention; delete them by hand when it ends).`] : []),
    "",
    ...(risks.length ? ["Risks:", "", ...risks.slice(0, 30), ...(risks.length > 30 ? [`- … ${risks.length - 30} more in the report`] : []), ""] : ["No data-loss, outage or destroy risk in this plan.", ""]),
    `The full report is \`${ARTIFACT_FILES.report}\` in the plan artifact.`,
    "",
  ].join("\n");
}

/** What an apply compares: each change's actions and planned values (prior values may differ: the state moved). */
function comparable(plan: any): Map<string, { actions: string; after: string; unknown: string; replace: string }> {
  const out = new Map();
  for (const rc of plan.resource_changes ?? []) {
    const actions: string[] = rc.change?.actions ?? [];
    if (actions.length === 1 && (actions[0] === "no-op" || actions[0] === "read")) continue;
    out.set(rc.address, { actions: actions.join("+"), after: JSON.stringify(rc.change?.after ?? null), unknown: JSON.stringify(rc.change?.after_unknown ?? null), replace: JSON.stringify(rc.change?.replace_paths ?? []) });
  }
  return out;
}

/** How a new plan differs from the approved one, one line per resource (empty: it does the same). */
export function planDifferences(approved: any, now: any): string[] {
  const a = comparable(approved);
  const b = comparable(now);
  const out: string[] = [];
  for (const [address, x] of b) {
    const y = a.get(address);
    if (!y) out.push(`+ ${address}: ${x.actions} now, not in the approved plan`);
    else if (y.actions !== x.actions) out.push(`~ ${address}: approved ${y.actions}, now ${x.actions}`);
    else if (y.after !== x.after || y.unknown !== x.unknown || y.replace !== x.replace) out.push(`~ ${address}: ${x.actions} with other values than approved`);
  }
  for (const [address, y] of a) if (!b.has(address)) out.push(`- ${address}: approved ${y.actions}, no longer planned`);
  return out.sort();
}

export interface ApplyResult {
  readonly id: string;
  /** "saved": the approved plan file itself; "replanned": the state had moved and the new plan did the same */
  readonly applied: "saved" | "replanned";
  readonly planSha256: string;
  readonly output: string;
}

/** Reads and verifies a plan artifact: every file is the one its manifest names. */
export function readArtifact(dir: string, id: string): { manifest: PlanManifest; planJson: any } {
  const file = (k: keyof typeof ARTIFACT_FILES) => path.join(dir, ARTIFACT_FILES[k]);
  if (!fs.existsSync(file("manifest"))) throw new ArtifactMismatchError(`${dir}: no ${ARTIFACT_FILES.manifest}: not a plan artifact of 'alpha-prime plan --artifacts'`);
  const manifest = JSON.parse(fs.readFileSync(file("manifest"), "utf8")) as PlanManifest;
  if (manifest.id !== id) throw new ArtifactMismatchError(`${dir}: the plan is for '${manifest.id}', not '${id}'`);
  const checks: [keyof typeof ARTIFACT_FILES, string][] = [
    ["plan", manifest.planSha256],
    ["stack", manifest.stackSha256],
    ["planJson", manifest.planJsonSha256],
  ];
  for (const [k, want] of checks) {
    const got = fs.existsSync(file(k)) ? sha256(fs.readFileSync(file(k))) : "missing";
    if (got !== want) throw new ArtifactMismatchError(`${file(k)}: sha256 ${got.slice(0, 16)}… is not the ${want.slice(0, 16)}… of the reviewed plan: refused`);
  }
  return { manifest, planJson: JSON.parse(fs.readFileSync(file("planJson"), "utf8")) };
}

/** Terraform's refusal of a saved plan made before the state changed (terraform apply, "Saved plan is stale"). */
const STALE = /Saved plan is stale/;

/**
 * Applies the approved plan artifact. `expectStackSha256`: the stack this job synthesized, which must be the one
 * planned (the apply runs the same commit as the plan).
 */
export function applyPlanArtifact(o: { id: string; artifactDir: string; expectStackSha256?: string; expectPlanSha256?: string }): ApplyResult {
  const { manifest, planJson } = readArtifact(o.artifactDir, o.id);
  if (manifest.mode !== "real") throw new ArtifactMismatchError(`${o.id}: an offline plan (mock credentials, no real state) is for review only and is never applied`);
  if (o.expectPlanSha256 && o.expectPlanSha256 !== manifest.planSha256) throw new ArtifactMismatchError(`${o.id}: the plan artifact (sha256 ${manifest.planSha256.slice(0, 16)}…) is not the approved one (${o.expectPlanSha256.slice(0, 16)}…)`);
  if (o.expectStackSha256 && o.expectStackSha256 !== manifest.stackSha256) throw new ArtifactMismatchError(`${o.id}: this job's synthesized stack is not the one planned: refused`);
  const stack = JSON.parse(fs.readFileSync(path.join(o.artifactDir, ARTIFACT_FILES.stack), "utf8"));
  const work = fs.mkdtempSync(path.join(path.dirname(path.resolve(o.artifactDir)), `.alpha-prime-apply-${o.id}-`));
  try {
    for (const k of ["stack", "lock", "plan"] as const) if (fs.existsSync(path.join(o.artifactDir, ARTIFACT_FILES[k]))) fs.copyFileSync(path.join(o.artifactDir, ARTIFACT_FILES[k]), path.join(work, ARTIFACT_FILES[k]));
    const { run } = terraformIn(work, stack);
    // the lock file of the plan: the providers that planned are the ones that apply
    run("init", ["init", "-input=false", "-no-color", ...(fs.existsSync(path.join(work, ARTIFACT_FILES.lock)) ? ["-lockfile=readonly"] : [])]);
    const destroy = manifest.destroy && !manifest.decommission ? ["-destroy"] : [];
    try {
      return { id: o.id, applied: "saved", planSha256: manifest.planSha256, output: run("apply", ["apply", "-input=false", "-no-color", ARTIFACT_FILES.plan]) };
    } catch (e) {
      if (!(e instanceof Error && STALE.test(e.message))) throw e;
    }
    // the state moved since the approval: plan again, and apply only what was approved
    run("plan", ["plan", "-input=false", "-no-color", ...destroy, "-out=replan.tfplan"]);
    const now = JSON.parse(run("show", ["show", "-json", "replan.tfplan"]));
    const differences = planDifferences(planJson, now);
    if (differences.length) throw new PlanDriftError(differences);
    return { id: o.id, applied: "replanned", planSha256: manifest.planSha256, output: run("apply", ["apply", "-input=false", "-no-color", "replan.tfplan"]) };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
