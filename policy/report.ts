/**
 * Reports of the α′ baseline: text for people, JSON for machines, SARIF 2.1.0 for code scanning, JUnit XML for
 * CI dashboards. Every report lists the suppressions in force.
 */
import { createHash } from "crypto";
import { oneLine } from "../core/terminal-text";
import { TOOLKIT_VERSION } from "../core/version";
import { locator } from "./sources";
import * as fs from "fs";
import * as path from "path";
import { pathToFileURL } from "url";
import { SarifBuilder, SarifResultBuilder, SarifRuleBuilder, SarifRunBuilder } from "node-sarif-builder";
import junit from "junit-report-builder";
import { ALPHA_PRIME_PACK } from "./pack";
import { SUPPRESSION_RULE_ID, StackReport, unsuppressedErrors } from "./engine";
import type { Finding } from "./types";

export type ReportFormat = "text" | "json" | "sarif" | "junit";

const TOOL = { name: "alpha-prime", version: TOOLKIT_VERSION, rulesDoc: "docs/RULES.md" };

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
          ...(f.suppressedBy ? { suppressed: { reason: f.suppressedBy.reason, ...(f.suppressedBy.expires ? { expires: f.suppressedBy.expires } : {}), ...(f.suppressedBy.declaredBy ? { declaredBy: f.suppressedBy.declaredBy } : {}) } } : {}),
        })),
        suppressions: reports.flatMap((r) => r.suppressions.map((s) => ({ stack: r.stack, ...s }))),
        notes: order(reports.flatMap((r) => r.notes ?? [])).map((f) => ({ ruleId: f.ruleId, severity: f.severity, stack: f.stack, address: f.address, message: f.message })),
      },
      null,
      2,
    ) + "\n"
  );
}

/** The line of a resource in a pretty-printed cdk.tf.json (1 when not found): where a finding is when no env file is at hand. */
function lineOf(text: string | undefined, address: string): number {
  if (!text) return 1;
  const name = address.split(".")[1];
  if (!name) return 1;
  const at = text.indexOf(`"${name}": {`);
  return at < 0 ? 1 : text.slice(0, at).split("\n").length;
}

export interface ReportOptions {
  /** where env/<id>.yaml files are: findings are located at the field that caused them */
  readonly envDir?: string;
  /** absolute URL of docs/RULES.md (each rule's helpUri is its anchor there); from GitHub's environment in Actions */
  readonly rulesUrl?: string;
}

/**
 * GitHub's severity scale for security alerts (`security-severity`, 0.0-10.0: over 9.0 critical, 7.0-8.9 high,
 * 4.0-6.9 medium): an error of the baseline is high, a warning medium, and the rules whose failure lets traffic or
 * code through the gateway unchecked critical.
 * https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning#reportingdescriptor-object
 */
const CRITICAL = new Set(["AP-NET-004", "AP-NET-006", "AP-NET-009", "AP-TF-001", "AP-PAC-001"]);
export function securitySeverity(ruleId: string, severity: "error" | "warning"): string {
  return CRITICAL.has(ruleId) ? "9.1" : severity === "error" ? "7.5" : "4.0";
}

/** The rules document as an absolute URL from GitHub Actions' environment (the commit being checked), if there. */
export function rulesUrlFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_SHA: sha } = env;
  return server && repo && sha ? `${server}/${repo}/blob/${sha}/${TOOL.rulesDoc}` : undefined;
}

/**
 * A finding's identity across commits, for `partialFingerprints`: the rule, the municipality, the resource and the
 * env-file field, never a line number (an edit above it would make every alert new). GitHub computes its own
 * `primaryLocationLineHash` from the file and reserves that key, so ours has its own name.
 */
export function findingFingerprint(f: Finding, pointer: string): string {
  return createHash("sha256").update([f.ruleId, f.stack, f.address, pointer].join("\0")).digest("hex").slice(0, 32);
}

/**
 * SARIF 2.1.0 for GitHub code scanning: each result at the env file's line and column of the field that caused it
 * (policy/sources.ts; the synthesized stack when no env file is at hand), with a fingerprint that survives edits,
 * `security-severity`, and help with the rule's anchor in docs/RULES.md. Paths are relative to the working directory
 * (the repository root in CI), as GitHub asks.
 */
export function sarifReport(reports: readonly StackReport[], outdir: string, options: ReportOptions = {}): string {
  const rulesUrl = options.rulesUrl ?? rulesUrlFromEnvironment();
  const run = new SarifRunBuilder().initSimple({ toolDriverName: TOOL.name, toolDriverVersion: TOOL.version });
  if (rulesUrl) run.run.tool.driver.informationUri = rulesUrl;
  const rules = [...ALPHA_PRIME_PACK.map((r) => ({ id: r.id, title: r.title, rationale: r.rationale, severity: r.severity, references: r.references as unknown })), { id: SUPPRESSION_RULE_ID, title: "Suppressions carry a real reason, have not expired and match a finding", rationale: "A suppression is an accepted risk: it needs a reason a reviewer can judge, an end date that has not passed, and a finding it accepts.", severity: "error" as const, references: {} }];
  for (const rule of rules) {
    const r = new SarifRuleBuilder().initSimple({ ruleId: rule.id, shortDescriptionText: rule.title, fullDescriptionText: rule.rationale });
    const anchor = `${TOOL.rulesDoc}#${rule.id.toLowerCase()}`;
    r.rule.name = rule.id.replace(/-/g, "");
    r.rule.help = { text: `${rule.rationale} See ${anchor}.`, markdown: `${rule.rationale}\n\nSee [${rule.id} in docs/RULES.md](${rulesUrl ? `${rulesUrl}#${rule.id.toLowerCase()}` : anchor}).` };
    if (rulesUrl) r.rule.helpUri = `${rulesUrl}#${rule.id.toLowerCase()}`;
    // information (AP-COV-001) is a note, not a security alert: no security-severity, so code scanning lists it apart
    r.rule.defaultConfiguration = { level: rule.severity === "info" ? "note" : rule.severity };
    r.rule.properties =
      rule.severity === "info"
        ? { precision: "very-high", "problem.severity": "recommendation", references: rule.references, tags: ["alpha-prime"] }
        : { "security-severity": securitySeverity(rule.id, rule.severity), precision: "very-high", "problem.severity": rule.severity, references: rule.references, tags: ["security", "alpha-prime"] };
    run.addRule(r);
  }
  const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
  for (const report of reports) {
    const file = path.join(outdir, "stacks", report.stack, "cdk.tf.json");
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    const locate = locator(options.envDir ? envFileOf(options.envDir, report.stack) : undefined);
    for (const f of [...order(report.findings), ...order(report.notes ?? [])]) {
      const where = locate?.(f, f.suppressedBy ? report.suppressions.indexOf(f.suppressedBy) : undefined);
      const uri = relativeUri(where?.file ?? file);
      const result = new SarifResultBuilder().initSimple({ level: f.severity === "info" ? "note" : f.severity, messageText: `${f.stack}: ${f.address}: ${f.message}`, ruleId: f.ruleId, fileUri: uri, startLine: where?.line ?? lineOf(text, f.address), startColumn: where?.column ?? 1 });
      result.result.ruleIndex = ruleIndex.get(f.ruleId);
      const location = result.result.locations?.[0];
      // a point, not a range: the builder's default end (column 1) would end before the start
      if (location?.physicalLocation?.region) location.physicalLocation.region = { startLine: where?.line ?? lineOf(text, f.address), startColumn: where?.column ?? 1 };
      if (location) location.logicalLocations = [{ fullyQualifiedName: `${f.stack}.${f.address}`, kind: "resource" }];
      result.result.partialFingerprints = { "alphaPrimeFinding/v1": findingFingerprint(f, where?.pointer ?? "") };
      result.result.properties = { stack: f.stack, resource: f.address, ...(where ? { configPath: where.pointer } : {}) };
      if (f.suppressedBy) result.result.suppressions = [{ kind: "external", status: "accepted", justification: f.suppressedBy.reason }];
      run.addResult(result);
    }
  }
  const builder = new SarifBuilder();
  builder.addRun(run);
  return builder.buildSarifJsonString({ indent: true }) + "\n";
}

/** The env file of a municipality: <envDir>/<id>.yaml (or .yml). */
function envFileOf(envDir: string, id: string): string | undefined {
  return [`${id}.yaml`, `${id}.yml`].map((n) => path.join(envDir, n)).find((f) => fs.existsSync(f));
}

/** Relative to the working directory (the repository root in CI, as GitHub asks); a file outside it as a file: URI. */
function relativeUri(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith("..") || path.isAbsolute(rel) ? pathToFileURL(path.resolve(file)).href : rel.split(path.sep).join("/");
}

/**
 * JUnit XML: one suite per stack, one case per rule. An unsuppressed error fails its case; a warning does not (it
 * passes with the warning as its output, as `check` exits 0 on warnings); suppressed-only rules are skipped cases.
 */
export function junitReport(reports: readonly StackReport[]): string {
  const builder = junit.newBuilder();
  for (const report of reports) {
    const suite = builder.testSuite().name(`alpha-prime ${report.stack}`);
    for (const rule of ALPHA_PRIME_PACK) {
      const findings = [...report.findings, ...(report.notes ?? [])].filter((f) => f.ruleId === rule.id);
      const open = findings.filter((f) => !f.suppressedBy);
      const tc = suite.testCase().className(`alpha-prime.${report.stack}`).name(`${rule.id} ${rule.title}`);
      const text = open.map((f) => `${f.address}: ${f.message}`).join("\n");
      if (open.length && rule.severity === "error") tc.failure(text, rule.severity);
      // warnings and information never fail a case: CI counts failures, and `check` exits 0 on them
      else if (open.length) tc.standardOutput(open.map((f) => `${rule.severity === "info" ? "INFO" : "WARNING"} ${f.address}: ${f.message}`).join("\n"));
      else if (findings.length) tc.skipped().standardOutput(findings.map((f) => `suppressed ${f.address}: ${f.suppressedBy!.reason}`).join("\n"));
    }
    const defects = report.findings.filter((f) => f.ruleId === SUPPRESSION_RULE_ID);
    const tc = suite.testCase().className(`alpha-prime.${report.stack}`).name(`${SUPPRESSION_RULE_ID} suppressions are valid`);
    if (defects.length) tc.failure(defects.map((f) => f.message).join("\n"), "error");
  }
  return builder.build() + "\n";
}

export function renderReport(format: ReportFormat, reports: readonly StackReport[], outdir: string, options: ReportOptions = {}): string {
  switch (format) {
    case "text":
      return textReport(reports);
    case "json":
      return jsonReport(reports);
    case "sarif":
      return sarifReport(reports, outdir, options);
    case "junit":
      return junitReport(reports);
  }
}

export function exitCodeFor(reports: readonly StackReport[]): number {
  return unsuppressedErrors(reports).length ? 1 : 0;
}
