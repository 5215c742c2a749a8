/**
 * Reports of the α′ baseline: text for people, JSON for machines, SARIF 2.1.0 for code scanning, JUnit XML for
 * CI dashboards. Every report lists the suppressions in force.
 */
import { oneLine } from "../core/terminal-text";
import * as fs from "fs";
import * as path from "path";
import { SarifBuilder, SarifResultBuilder, SarifRuleBuilder, SarifRunBuilder } from "node-sarif-builder";
import junit from "junit-report-builder";
import { ALPHA_PRIME_PACK } from "./pack";
import { SUPPRESSION_RULE_ID, StackReport, unsuppressedErrors } from "./engine";
import type { Finding } from "./types";

export type ReportFormat = "text" | "json" | "sarif" | "junit";

const TOOL = { name: "alpha-prime", version: "0.1.0", rulesDoc: "docs/RULES.md" };

function counts(reports: readonly StackReport[]) {
  const all = reports.flatMap((r) => r.findings);
  return {
    stacks: reports.length,
    errors: all.filter((f) => f.severity === "error" && !f.suppressedBy).length,
    warnings: all.filter((f) => f.severity === "warning" && !f.suppressedBy).length,
    suppressed: all.filter((f) => f.suppressedBy).length,
    notes: reports.reduce((n, r) => n + (r.notes?.length ?? 0), 0),
  };
}

function order(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => a.stack.localeCompare(b.stack) || a.ruleId.localeCompare(b.ruleId) || a.address.localeCompare(b.address));
}

export function textReport(reports: readonly StackReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const open = order(r.findings.filter((f) => !f.suppressedBy));
    const notes = order(r.notes ?? []);
    lines.push(`${r.stack}: ${open.length ? `${open.length} finding(s)` : "meets the α′ baseline"}`);
    for (const f of open) lines.push(`  ${f.severity.toUpperCase()} ${f.ruleId} ${oneLine(f.address)}: ${oneLine(f.message)}`);
    // information a reviewer needs (the file paths the engine does not see), after the findings, never counted as one
    for (const f of notes) lines.push(`  INFO ${f.ruleId} ${oneLine(f.address)}: ${oneLine(f.message)}`);
    if (r.suppressions.length) {
      lines.push("  suppressions in force:");
      // one line each, whatever a hand-edited cdktf.out holds: a newline in a reason must not forge a report line
      for (const s of r.suppressions) lines.push(`    ${oneLine(s.rule)} ${oneLine(s.resource)}${s.expires ? ` (until ${oneLine(s.expires)})` : ""}: ${oneLine(s.reason)}`);
    }
  }
  const c = counts(reports);
  lines.push("", `${c.stacks} stack(s): ${c.errors} error(s), ${c.warnings} warning(s), ${c.suppressed} suppressed, ${c.notes} note(s)`);
  return lines.join("\n") + "\n";
}

export function jsonReport(reports: readonly StackReport[]): string {
  return (
    JSON.stringify(
      {
        tool: TOOL.name,
        version: TOOL.version,
        summary: counts(reports),
        findings: order(reports.flatMap((r) => r.findings)).map((f) => ({
          ruleId: f.ruleId,
          severity: f.severity,
          stack: f.stack,
          address: f.address,
          message: f.message,
          ...(f.suppressedBy ? { suppressed: { reason: f.suppressedBy.reason, ...(f.suppressedBy.expires ? { expires: f.suppressedBy.expires } : {}) } } : {}),
        })),
        suppressions: reports.flatMap((r) => r.suppressions.map((s) => ({ stack: r.stack, ...s }))),
        notes: order(reports.flatMap((r) => r.notes ?? [])).map((f) => ({ ruleId: f.ruleId, severity: f.severity, stack: f.stack, address: f.address, message: f.message })),
      },
      null,
      2,
    ) + "\n"
  );
}

/** The line of a resource in a pretty-printed cdk.tf.json (1 when not found), so code scanning can point at it. */
function lineOf(text: string | undefined, address: string): number {
  if (!text) return 1;
  const name = address.split(".")[1];
  if (!name) return 1;
  const at = text.indexOf(`"${name}": {`);
  return at < 0 ? 1 : text.slice(0, at).split("\n").length;
}

/** SARIF 2.1.0; `outdir` is where the synthesized stacks are, relative paths keep the report portable. */
export function sarifReport(reports: readonly StackReport[], outdir: string): string {
  const run = new SarifRunBuilder().initSimple({ toolDriverName: TOOL.name, toolDriverVersion: TOOL.version });
  for (const rule of ALPHA_PRIME_PACK) {
    // helpUri must be an absolute URI; the catalogue lives in the repository, so the help text names it instead.
    const r = new SarifRuleBuilder().initSimple({ ruleId: rule.id, shortDescriptionText: rule.title, fullDescriptionText: rule.rationale });
    r.rule.help = { text: `${rule.rationale} See ${TOOL.rulesDoc}#${rule.id.toLowerCase()} in the repository.` };
    r.rule.properties = { severity: rule.severity, references: rule.references, tags: ["security", "alpha-prime"] };
    run.addRule(r);
  }
  run.addRule(new SarifRuleBuilder().initSimple({ ruleId: SUPPRESSION_RULE_ID, shortDescriptionText: "Suppressions carry a real reason, have not expired and match a finding" }));
  for (const report of reports) {
    const file = path.join(outdir, "stacks", report.stack, "cdk.tf.json");
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    const uri = path.relative(process.cwd(), file).split(path.sep).join("/");
    for (const f of [...order(report.findings), ...order(report.notes ?? [])]) {
      const result = new SarifResultBuilder().initSimple({ level: f.severity === "info" ? "note" : f.severity, messageText: `${f.address}: ${f.message}`, ruleId: f.ruleId, fileUri: uri, startLine: lineOf(text, f.address) });
      const location = result.result.locations?.[0];
      if (location) location.logicalLocations = [{ fullyQualifiedName: `${f.stack}.${f.address}`, kind: "resource" }];
      if (f.suppressedBy) result.result.suppressions = [{ kind: "external", status: "accepted", justification: f.suppressedBy.reason }];
      run.addResult(result);
    }
  }
  const builder = new SarifBuilder();
  builder.addRun(run);
  return builder.buildSarifJsonString({ indent: true }) + "\n";
}

/** JUnit XML: one suite per stack, one case per rule; suppressed-only rules are skipped cases. */
export function junitReport(reports: readonly StackReport[]): string {
  const builder = junit.newBuilder();
  for (const report of reports) {
    const suite = builder.testSuite().name(`alpha-prime ${report.stack}`);
    for (const rule of ALPHA_PRIME_PACK) {
      const findings = [...report.findings, ...(report.notes ?? [])].filter((f) => f.ruleId === rule.id);
      const open = findings.filter((f) => !f.suppressedBy);
      const tc = suite.testCase().className(`alpha-prime.${report.stack}`).name(`${rule.id} ${rule.title}`);
      if (rule.severity === "info") {
        if (open.length) tc.standardOutput(open.map((f) => `${f.address}: ${f.message}`).join("\n"));
      } else if (open.length) tc.failure(open.map((f) => `${f.address}: ${f.message}`).join("\n"), rule.severity);
      else if (findings.length) tc.skipped().standardOutput(findings.map((f) => `suppressed ${f.address}: ${f.suppressedBy!.reason}`).join("\n"));
    }
    const defects = report.findings.filter((f) => f.ruleId === SUPPRESSION_RULE_ID);
    const tc = suite.testCase().className(`alpha-prime.${report.stack}`).name(`${SUPPRESSION_RULE_ID} suppressions are valid`);
    if (defects.length) tc.failure(defects.map((f) => f.message).join("\n"), "error");
  }
  return builder.build() + "\n";
}

export function renderReport(format: ReportFormat, reports: readonly StackReport[], outdir: string): string {
  switch (format) {
    case "text":
      return textReport(reports);
    case "json":
      return jsonReport(reports);
    case "sarif":
      return sarifReport(reports, outdir);
    case "junit":
      return junitReport(reports);
  }
}

export function exitCodeFor(reports: readonly StackReport[]): number {
  return unsuppressedErrors(reports).length ? 1 : 0;
}
