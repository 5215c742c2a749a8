import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadOrThrow, envFiles } from "../config/load";
import { REPO_ROOT } from "../core/paths";
import type { MunicipalityConfig } from "../config/types";
import { synthToDir } from "../cli/synth";

export const ENV_DIR = path.join(REPO_ROOT, "env");
export const SAMPLE_IDS = envFiles(ENV_DIR).map((f) => path.basename(f, ".yaml"));

export function tempDir(prefix = "alpha-prime-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export type TfJson = { resource: Record<string, Record<string, any>>; output?: Record<string, any>; terraform: any; provider: any; variable?: any };

/** Synthesizes through the same path as the CLI and returns each stack's cdk.tf.json, parsed. */
/** A cdktf.out holding the given stacks, as synthesis writes it (a manifest, one directory per stack). */
export function outdirWith(tfs: Record<string, unknown>, dir = path.join(tempDir(), "cdktf.out")): string {
  const manifest: { version: string; stacks: Record<string, unknown> } = { version: "0.21.0", stacks: {} };
  for (const [id, tf] of Object.entries(tfs)) {
    fs.mkdirSync(path.join(dir, "stacks", id), { recursive: true });
    fs.writeFileSync(path.join(dir, "stacks", id, "cdk.tf.json"), JSON.stringify(tf, null, 2));
    manifest.stacks[id] = { name: id, synthesizedStackPath: `stacks/${id}/cdk.tf.json`, workingDirectory: `stacks/${id}` };
  }
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest));
  return dir;
}

/** git in `cwd`, as a fixed author (tests' repositories have no configured identity). */
export function git(cwd: string, ...args: string[]): string {
  const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.invalid" };
  return execFileSync("git", args, { cwd, encoding: "utf8", env }).trim();
}

/** A git repository with two commits; returns it and the commits, oldest first. */
export function repoWithCommits(prefix = "alpha-prime-repo-"): { repo: string; commits: string[] } {
  const repo = tempDir(prefix);
  git(repo, "init", "-q", "-b", "main");
  const commits: string[] = [];
  for (const n of [1, 2]) {
    fs.writeFileSync(path.join(repo, "f.txt"), String(n));
    git(repo, "add", "f.txt");
    git(repo, "commit", "-q", "-m", `c${n}`);
    commits.push(git(repo, "rev-parse", "HEAD"));
  }
  return { repo, commits };
}

export function synthStacks(options: { envDir?: string; only?: string[]; stateBucket?: string } = {}): { dir: string; stacks: Record<string, TfJson>; raw: Record<string, string> } {
  const dir = path.join(tempDir(), "cdktf.out");
  const ids = synthToDir({ outdir: dir, envDir: options.envDir ?? ENV_DIR, only: options.only, stateBucket: options.stateBucket });
  const raw: Record<string, string> = {};
  const stacks: Record<string, TfJson> = {};
  for (const id of ids) {
    raw[id] = fs.readFileSync(path.join(dir, "stacks", id, "cdk.tf.json"), "utf8");
    stacks[id] = JSON.parse(raw[id]);
  }
  return { dir, stacks, raw };
}

export function loadSample(id: string): MunicipalityConfig {
  return loadOrThrow([path.join(ENV_DIR, `${id}.yaml`)])[0];
}

/** Writes a variant of a sample env file (edited as YAML text or object) into a fresh env directory. */
export function envDirWith(files: Record<string, string>): string {
  const dir = tempDir("alpha-prime-env-");
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

export function sampleText(id: string): string {
  return fs.readFileSync(path.join(ENV_DIR, `${id}.yaml`), "utf8");
}

/** All resources of one type in a synthesized stack, as [logicalId, body] pairs. */
export function resources(stack: TfJson, type: string): [string, any][] {
  return Object.entries(stack.resource[type] ?? {});
}

/** Every resource address ("type.name") in a stack. */
export function addresses(stack: TfJson): string[] {
  return Object.entries(stack.resource).flatMap(([type, byName]) => Object.keys(byName).map((n) => `${type}.${n}`)).sort();
}

export function hasTerraform(): boolean {
  const { terraformVersion } = require("../cli/offline-plan") as typeof import("../cli/offline-plan");
  return terraformVersion() !== undefined;
}

/** Synthesizes configs (e.g. a sample with one field changed) through the real app and returns parsed stacks. */
export function synthConfigs(configs: MunicipalityConfig[]): Record<string, TfJson> {
  const { buildApp } = require("../stacks/app") as typeof import("../stacks/app");
  const dir = tempDir();
  buildApp(configs, { outdir: dir }).synth();
  return Object.fromEntries(configs.map((c) => [c.id, JSON.parse(fs.readFileSync(path.join(dir, "stacks", c.id, "cdk.tf.json"), "utf8"))]));
}

/** A construct-level synth: builds constructs in a fresh stack and returns the stack JSON (no YAML involved). */
export function synthScope(build: (scope: import("constructs").Construct) => void): TfJson {
  const { Testing } = require("cdktf") as typeof import("cdktf");
  return JSON.parse(Testing.synthScope(build));
}

/** A JSON policy document of a resource, parsed. */
export function policyOf(body: { policy: string }): { Statement: any[] } {
  return JSON.parse(body.policy);
}

/** Every file under a directory, relative path → content (to compare whole outputs). */
export function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

/** Whether a program is on PATH. */
export function which(tool: string): boolean {
  const { spawnSync } = require("child_process") as typeof import("child_process");
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/**
 * `test` when the program is installed, or when running in CI (where a missing program must fail the test, not skip
 * it: .ci/run installs it); otherwise `test.skip`, after saying loudly what was not checked.
 */
export function testWithTool(tool: string | readonly string[], debianPackage: string, what: string): jest.It {
  const missing = (typeof tool === "string" ? [tool] : tool).filter((t) => !which(t));
  if (missing.length === 0 || process.env.CI) return test;
  process.stderr.write(`\n*** SKIPPED: ${missing.join(", ")} not installed: ${what} were NOT checked (apt-get install ${debianPackage}) ***\n\n`);
  return test.skip;
}

/** Runs the CLI in this process; resolves to its exit code and what it printed. */
export async function runCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = require("../cli/main") as typeof import("../cli/main");
  let out = "";
  let err = "";
  const code = await main(["node", "alpha-prime", ...args], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}
