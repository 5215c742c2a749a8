// Validates GitHub Actions workflow files with GitHub's own parser (@actions/workflow-parser, ESM-only, so the
// jest test runs this in a child process). Prints one JSON line per file: parse errors and the jobs it found.
import { readFileSync } from "node:fs";
import { register } from "node:module";
import { basename } from "node:path";

register("./json-import-hooks.mjs", import.meta.url);
const { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } = await import("@actions/workflow-parser");

const results = [];
for (const file of process.argv.slice(2)) {
  const parsed = parseWorkflow({ name: basename(file), content: readFileSync(file, "utf8") }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  let jobs = [];
  if (parsed.value && errors.length === 0) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    errors.push(...(template.errors ?? []).map((e) => e.Message ?? e.message ?? String(e)));
    jobs = (template.jobs ?? []).map((j) => ({ id: j.id?.value ?? j.id, needs: (j.needs ?? []).map((n) => n.value ?? n) }));
  }
  results.push({ file: basename(file), errors, jobs });
}
process.stdout.write(JSON.stringify(results));
