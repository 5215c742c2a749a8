/**
 * What a deploy run must deploy: every municipality whose synthesized stack differs from the one last deployed (its
 * marker, deploy/markers.ts), or exactly the ids a person dispatched — an unknown id fails the run, it is never
 * dropped. Municipalities deployed once whose env file is gone are reported as still running, loudly, until someone
 * destroys them through the separately approved destroy path. GitHub runs at most 256 jobs per matrix, so targets
 * come in waves of at most 256.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { closest } from "../core/errors";
import { readSynthesizedStacks } from "../policy/synthesized";
import type { DeployedMarker } from "./markers";

/** GitHub Actions' limit on the jobs one matrix generates. */
export const MATRIX_LIMIT = 256;

export interface Target {
  readonly id: string;
  /** the AWS account the stack is allowed to touch (its provider's allowed_account_ids) */
  readonly account: string;
  /** SHA-256 of the synthesized cdk.tf.json this run deploys: the plan job checks it synthesized the same */
  readonly stack: string;
  /** why it is deployed */
  readonly reason: "never deployed" | "changed since the deployed commit" | "requested";
  /** the commit last deployed, if any */
  readonly deployed?: string;
}

export interface Targets {
  readonly waves: Target[][];
  /** deployed once, env file gone: still running and billed */
  readonly stillRunning: DeployedMarker[];
  readonly unchanged: number;
}

export class UnknownMunicipalityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownMunicipalityError";
  }
}

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Splits a list into waves of at most `size`. */
export function waves<T>(items: readonly T[], size = MATRIX_LIMIT): T[][] {
  if (!(Number.isInteger(size) && size >= 1 && size <= MATRIX_LIMIT)) throw new Error(`a wave holds 1 to ${MATRIX_LIMIT} municipalities, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Parses a dispatch input ("kaga, ashiya mitoyo"): ids separated by commas or white space. */
export function parseIds(input: string | undefined): string[] {
  return [...new Set((input ?? "").split(/[\s,]+/).map((s) => s.trim()).filter(Boolean))];
}

export function computeTargets(outdir: string, markers: ReadonlyMap<string, DeployedMarker>, requested: readonly string[] = [], waveSize = MATRIX_LIMIT): Targets {
  const stacks = new Map(
    readSynthesizedStacks(outdir).map((s) => {
      const text = fs.readFileSync(s.file);
      return [s.id, { sha: sha256(text), account: String(s.json.provider?.aws?.[0]?.allowed_account_ids?.[0] ?? "") }];
    }),
  );
  const unknown = requested.filter((id) => !stacks.has(id));
  if (unknown.length) {
    const known = [...stacks.keys()];
    throw new UnknownMunicipalityError(
      `unknown municipality id(s): ${unknown.map((id) => `'${id}'${closest(id, known) ? ` (did you mean '${closest(id, known)}'?)` : ""}`).join(", ")}: nothing deployed. ` +
        `${known.length <= 20 ? `Known: ${known.join(", ")}` : `${known.length} are known`}; a removed municipality is destroyed with the destroy input, not deployed`,
    );
  }
  const chosen: Target[] = [];
  let unchanged = 0;
  for (const [id, s] of [...stacks].sort(([a], [b]) => a.localeCompare(b))) {
    const m = markers.get(id);
    const base = { id, account: s.account, stack: s.sha, ...(m ? { deployed: m.commit } : {}) };
    if (requested.length) {
      if (requested.includes(id)) chosen.push({ ...base, reason: "requested" });
    } else if (!m) chosen.push({ ...base, reason: "never deployed" });
    else if (m.stackSha256 !== s.sha) chosen.push({ ...base, reason: "changed since the deployed commit" });
    else unchanged++;
  }
  const stillRunning = [...markers.values()].filter((m) => !stacks.has(m.id)).sort((a, b) => a.id.localeCompare(b.id));
  return { waves: waves(chosen, waveSize), stillRunning, unchanged };
}

/** The run's summary (job summary Markdown): what is deployed and why, and what is still running without an env file. */
export function targetsSummary(t: Targets, slots: number): string {
  const all = t.waves.flat();
  const lines = ["## alpha-prime deploy: what this run deploys", ""];
  lines.push(`${all.length} municipalit${all.length === 1 ? "y" : "ies"} to plan and apply in ${t.waves.length} wave(s) of at most ${MATRIX_LIMIT}; ${t.unchanged} unchanged since their last deploy.`);
  if (t.waves.length > slots) lines.push("", `**${t.waves.length - slots} wave(s) beyond the workflow's ${slots} are NOT deployed by this run** (${t.waves.slice(slots).flat().length} municipalities); the next run deploys them, as their markers still differ.`);
  if (t.stillRunning.length) {
    lines.push("", `### 🛑 Still running without an env file: ${t.stillRunning.length}`, "");
    for (const m of t.stillRunning) lines.push(`- **${m.id}**: deployed at ${m.commit.slice(0, 12)}${m.deployedAt ? ` on ${m.deployedAt}` : ""}; its env file is gone but its stack still runs (and is billed). Destroy it with the workflow's \`destroy\` input (approved in the \`production-destroy\` environment), or restore its env file.`);
  }
  if (all.length) {
    lines.push("", "| wave | municipality | account | why | deployed before |", "|---|---|---|---|---|");
    t.waves.forEach((w, i) => w.forEach((x) => lines.push(`| ${i + 1} | ${x.id} | ${x.account} | ${x.reason} | ${x.deployed ? x.deployed.slice(0, 12) : "—"} |`)));
  }
  return lines.join("\n") + "\n";
}

/** GitHub step outputs: wave1…waveN (matrix JSON, `[]` when empty), count, still_running. */
export function targetsOutputs(t: Targets, slots: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < slots; i++) out[`wave${i + 1}`] = JSON.stringify((t.waves[i] ?? []).map((x) => ({ id: x.id, account: x.account, stack: x.stack })));
  out.count = String(t.waves.slice(0, slots).flat().length);
  out.still_running = t.stillRunning.map((m) => m.id).join(",");
  return out;
}

/** Appends `name=value` lines to a GitHub output file ($GITHUB_OUTPUT), refusing values that would forge another line. */
export function writeGithubOutputs(file: string, values: Record<string, string>): void {
  for (const [k, v] of Object.entries(values)) if (/[\r\n]/.test(v) || !/^[a-z_][a-z0-9_]*$/.test(k)) throw new Error(`output ${k} cannot be written as one line`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.appendFileSync(file, Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join(""));
}
