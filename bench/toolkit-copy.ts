/**
 * A throw-away git repository holding this toolkit (its files as on disk, the build in dist/, node_modules linked),
 * for benchmarks and tests of incremental review: commits that change env files, the catalog or the toolkit, and
 * `alpha-prime diff <base> <head>` run in it as a repository of integrators would.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../core/paths";

function git(repo: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "bench@example.invalid", GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "bench@example.invalid" } });
}

export interface ToolkitCopy {
  readonly root: string;
  /** the CLI of the copy */
  readonly cli: string;
  git(...args: string[]): string;
  /** commits everything (adds, changes, removals) and returns the commit */
  commit(message: string): string;
}

/**
 * Copies the toolkit into `dest` (files git would track here, and dist/), links node_modules, and commits it with
 * `env/` holding `envFiles` (file name → text) instead of the samples. `npm run build` must have run.
 */
export function copyToolkit(dest: string, envFiles?: Record<string, string>): ToolkitCopy {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const rel of listed) {
    const from = path.join(REPO_ROOT, rel);
    if (!fs.existsSync(from) || !fs.statSync(from).isFile()) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(dest, rel)), { recursive: true });
    fs.copyFileSync(from, path.join(dest, rel));
  }
  fs.cpSync(path.join(REPO_ROOT, "dist"), path.join(dest, "dist"), { recursive: true });
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dest, "node_modules"), "dir");
  if (envFiles) {
    for (const f of fs.readdirSync(path.join(dest, "env"))) if (/\.ya?ml$/.test(f)) fs.rmSync(path.join(dest, "env", f));
    for (const [name, text] of Object.entries(envFiles)) fs.writeFileSync(path.join(dest, "env", name), text);
  }
  git(dest, "init", "--quiet", "--initial-branch=main");
  // .gitignore's `node_modules/` matches a directory, not the link made here
  fs.appendFileSync(path.join(dest, ".git", "info", "exclude"), "/node_modules\n");
  const copy: ToolkitCopy = {
    root: dest,
    cli: path.join(dest, "bin", "alpha-prime.js"),
    git: (...args) => git(dest, ...args),
    commit: (message) => {
      git(dest, "add", "--all");
      git(dest, "commit", "--quiet", "--allow-empty", "-m", message);
      return git(dest, "rev-parse", "HEAD").trim();
    },
  };
  copy.commit("the toolkit");
  return copy;
}
