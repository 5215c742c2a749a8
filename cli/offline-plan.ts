/**
 * Offline Terraform: `terraform init`, `validate` and `plan` of a synthesized stack with no AWS account and no
 * network. The synthesized stack stays production-clean: mock credentials, the provider's skip flags and a local
 * backend go into an override file in a work copy of the stack, never into cdk.tf.json or cdktf.out.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Loaded on use: the stack's module loads cdktf and every construct, which commands other than plan never need. */
const allowLocalStateVariable = (): string => (require("../stacks/municipality-stack") as typeof import("../stacks/municipality-stack")).ALLOW_LOCAL_STATE_VARIABLE;

/** Overrides the provider mirror search with an explicit directory (the one holding registry.terraform.io/). */
export const MIRROR_ENV = "ALPHA_PRIME_TF_PROVIDER_MIRROR";

export function terraformBinary(): string {
  return process.env.TERRAFORM_BINARY_NAME || "terraform";
}

/** The terraform version, or undefined when no terraform binary runs. */
export function terraformVersion(): string | undefined {
  const r = spawnSync(terraformBinary(), ["version", "-json"], { encoding: "utf8", env: terraformEnv() });
  if (r.status !== 0 || !r.stdout) return undefined;
  try {
    return JSON.parse(r.stdout).terraform_version as string;
  } catch {
    return undefined;
  }
}

function osArch(): string {
  const arch = { x64: "amd64", arm64: "arm64", ia32: "386" }[process.arch as string] ?? process.arch;
  return `${process.platform}_${arch}`;
}

function holdsProvider(mirror: string, version: string): boolean {
  const dir = path.join(mirror, "registry.terraform.io", "hashicorp", "aws", version, osArch());
  try {
    return fs.readdirSync(dir).some((f) => f.startsWith("terraform-provider-aws_"));
  } catch {
    return false;
  }
}

/**
 * Finds a filesystem mirror holding hashicorp/aws `version`: the MIRROR_ENV directory, Terraform's implied
 * local mirror directories (https://developer.hashicorp.com/terraform/cli/config/config-file#implied-local-mirror-directories),
 * then a bounded search (depth 4) of the standard places add-on software is installed.
 */
export function findProviderMirror(version: string): string | undefined {
  const explicit = process.env[MIRROR_ENV];
  if (explicit) return holdsProvider(explicit, version) ? path.resolve(explicit) : undefined;
  const home = os.homedir();
  const xdgData = process.env.XDG_DATA_HOME || path.join(home, ".local", "share");
  const xdgDirs = (process.env.XDG_DATA_DIRS || "/usr/local/share:/usr/share").split(":").filter(Boolean);
  const implied = [path.join(home, ".terraform.d", "plugins"), path.join(xdgData, "terraform", "plugins"), ...xdgDirs.map((d) => path.join(d, "terraform", "plugins"))];
  for (const dir of implied) if (holdsProvider(dir, version)) return dir;
  for (const root of ["/opt", "/srv", "/usr/local", home]) {
    const found = searchMirror(root, version, 4);
    if (found) return found;
  }
  return undefined;
}

function searchMirror(dir: string, version: string, depth: number): string | undefined {
  if (depth < 0) return undefined;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  if (entries.some((e) => e.name === "registry.terraform.io" && e.isDirectory()) && holdsProvider(dir, version)) return dir;
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith(".") || e.name === "node_modules" || e.name === "proc") continue;
    const found = searchMirror(path.join(dir, e.name), version, depth - 1);
    if (found) return found;
  }
  return undefined;
}

export function terraformEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1", TF_INPUT: "0", ...extra };
}

export interface PlanSummary {
  readonly stack: string;
  readonly workDir: string;
  readonly planJsonPath: string;
  readonly create: number;
  readonly update: number;
  readonly replace: number;
  readonly delete: number;
  readonly total: number;
  readonly mirror?: string;
}

export class TerraformError extends Error {
  constructor(readonly step: string, readonly output: string) {
    // Terraform quotes the offending line of cdk.tf.json, which is the whole stack on one line: cut long lines.
    const shown = output.trim().split("\n").map((l) => (l.length > 300 ? `${l.slice(0, 300)} …` : l)).slice(-80).join("\n");
    super(`terraform ${step} failed:\n${shown}`);
    this.name = "TerraformError";
  }
}

export interface OfflinePlanOptions {
  /** Accept a stack's local backend (set its guard variable). @default true */
  readonly allowLocalState?: boolean;
  /** A Terraform state (format 4) to plan against, to see what a change would do to existing resources. */
  readonly seedState?: Record<string, unknown>;
}

/** The override that makes a plan work offline; lives beside the work copy of cdk.tf.json only. */
/** The override file an offline plan adds beside the stack (Terraform merges *_override.tf.json files last). */
export const OFFLINE_OVERRIDE_FILE = "alpha_prime_offline_override.tf.json";

export function offlineOverride(stack: Record<string, any>, allowLocalState = true): Record<string, unknown> {
  const providers = stack.provider?.aws ?? [{}];
  return {
    terraform: { backend: { local: { path: "terraform.tfstate" } } },
    provider: {
      aws: providers.map((p: Record<string, unknown>) => ({
        ...(p.alias ? { alias: p.alias } : {}),
        access_key: "mock-access-key",
        secret_key: "mock-secret-key",
        skip_credentials_validation: true,
        skip_requesting_account_id: true,
        skip_metadata_api_check: true,
        // with no account id requested, the allowed-account check would always fail
        allowed_account_ids: null,
      })),
    },
    ...(allowLocalState && stack.variable?.[allowLocalStateVariable()] ? { variable: { [allowLocalStateVariable()]: { default: true } } } : {}),
  };
}

/**
 * Runs Terraform in a work directory of `stack`: providers from a local filesystem mirror when one holds the
 * stack's hashicorp/aws version (a CLI configuration beside the stack, nothing global changed). A failed step is a
 * TerraformError with its output.
 */
export function terraformIn(workDir: string, stack: Record<string, any>): { run: (step: string, args: string[]) => string; mirror?: string } {
  const version: string | undefined = stack.terraform?.required_providers?.aws?.version;
  const mirror = version ? findProviderMirror(version) : undefined;
  const extra: Record<string, string> = {};
  if (mirror) {
    const cliConfig = path.join(workDir, ".terraformrc");
    fs.writeFileSync(
      cliConfig,
      `provider_installation {\n  filesystem_mirror {\n    path    = ${JSON.stringify(mirror)}\n    include = ["registry.terraform.io/hashicorp/*"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n`,
    );
    extra.TF_CLI_CONFIG_FILE = cliConfig;
  }
  const run = (step: string, args: string[]): string => {
    const r = spawnSync(terraformBinary(), args, { cwd: workDir, encoding: "utf8", env: terraformEnv(extra), maxBuffer: 256 * 1024 * 1024 });
    if (r.error) throw new TerraformError(step, r.error.message);
    if (r.status !== 0) throw new TerraformError(step, `${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  return { run, mirror };
}

/**
 * Runs init, validate, plan and show -json for one synthesized stack directory.
 * `workRoot` holds one work copy per stack (default: a temporary directory).
 */
export function offlinePlan(stackDir: string, stackId: string, workRoot = fs.mkdtempSync(path.join(os.tmpdir(), "alpha-prime-plan-")), options: OfflinePlanOptions = {}): PlanSummary {
  const stack = JSON.parse(fs.readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8"));
  const workDir = path.join(workRoot, stackId);
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });
  fs.copyFileSync(path.join(stackDir, "cdk.tf.json"), path.join(workDir, "cdk.tf.json"));
  fs.writeFileSync(path.join(workDir, OFFLINE_OVERRIDE_FILE), JSON.stringify(offlineOverride(stack, options.allowLocalState ?? true), null, 2));
  if (options.seedState) fs.writeFileSync(path.join(workDir, "terraform.tfstate"), JSON.stringify(options.seedState));

  const { run, mirror } = terraformIn(workDir, stack);
  run("init", ["init", "-input=false", "-no-color", "-backend=true"]);
  run("validate", ["validate", "-no-color"]);
  run("plan", ["plan", "-input=false", "-no-color", "-refresh=false", "-lock=false", "-out=plan.bin"]);
  const json = run("show", ["show", "-json", "plan.bin"]);
  const planJsonPath = path.join(workDir, "plan.json");
  fs.writeFileSync(planJsonPath, json);
  const plan = JSON.parse(json);
  const counts = countChanges(plan);
  return { stack: stackId, workDir, planJsonPath, ...counts, total: (plan.resource_changes ?? []).length, mirror };
}

/** Resources a plan creates, updates in place, replaces and destroys (`terraform show -json` resource_changes). */
export function countChanges(plan: any): { create: number; update: number; replace: number; delete: number } {
  const counts = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const rc of plan.resource_changes ?? []) {
    const actions: string[] = rc.change?.actions ?? [];
    if (actions.includes("create") && actions.includes("delete")) counts.replace++;
    else if (actions.includes("create")) counts.create++;
    else if (actions.includes("update")) counts.update++;
    else if (actions.includes("delete")) counts.delete++;
  }
  return counts;
}
