/** docs/RULES.md is generated from the rules themselves (`npm run docs:rules`); a test fails when it is stale. */
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../core/paths";
import { ALPHA_PRIME_PACK } from "./pack";
import { MIN_REASON_CHARS, SUPPRESSION_RULE_ID } from "./engine";

export const RULES_DOC_PATH = path.join(REPO_ROOT, "docs", "RULES.md");

export function rulesDoc(): string {
  const lines = [
    "# The α′ security baseline",
    "",
    "Generated from `policy/rules/*.ts` by `npm run docs:rules`; do not edit by hand. Each rule is one file; the pack",
    "(`policy/pack.ts`) lists them. `npx alpha-prime check` runs them over synthesized stacks, and every synth runs them",
    "through an aspect on each stack: an unsuppressed error stops the synth.",
    "",
    "| id | severity | rule | FSBP | Checkov | Trivy |",
    "|---|---|---|---|---|---|",
    ...ALPHA_PRIME_PACK.map((r) => `| [${r.id}](#${r.id.toLowerCase()}) | ${r.severity} | ${r.title} | ${r.references.fsbp ?? "—"} | ${(r.references.checkov ?? []).join(", ") || "—"} | ${(r.references.trivy ?? []).join(", ") || "—"} |`),
    `| ${SUPPRESSION_RULE_ID} | error | Suppressions carry a real reason, name a known rule, have not expired and match a finding | — | — | — |`,
    "",
  ];
  for (const r of ALPHA_PRIME_PACK) {
    lines.push(`## ${r.id}`, "", `**${r.title}** (${r.severity})`, "", r.rationale, "", `- α′ requirement: ${r.references.alphaPrime}`);
    if (r.references.fsbp) lines.push(`- AWS Foundational Security Best Practices: ${r.references.fsbp}`);
    if (r.references.checkov?.length) lines.push(`- Checkov: ${r.references.checkov.join(", ")}`);
    if (r.references.trivy?.length) lines.push(`- Trivy: ${r.references.trivy.join(", ")}`);
    for (const a of r.references.aws ?? []) lines.push(`- AWS: [${a.title}](${a.url})`);
    lines.push("");
  }
  lines.push(
    "## Suppressions",
    "",
    "A municipality accepts a finding in its env file; the suppression travels inside the synthesized stack",
    "(`locals.alpha_prime.suppressions`), so reviewers see it in the diff and every report lists it:",
    "",
    "```yaml",
    "suppressions:",
    "  - rule: AP-NET-006",
    "    resource: aws_vpc_security_group_ingress_rule.Example_*   # an address, or a pattern with *",
    "    reason: 防災無線ゲートウェイは県の指定によりインターネットから受信する必要がある（2027年3月まで）",
    "    expires: 2027-03-31",
    "```",
    "",
    `A suppression whose reason is shorter than ${MIN_REASON_CHARS} characters, whose rule is unknown, whose expiry has passed, or`,
    `which matches no finding is itself an error (${SUPPRESSION_RULE_ID}).`,
    "",
    "### Accepted by design",
    "",
    "Some findings are part of the design, the same for every municipality: a proxy that reaches SaaS by name needs",
    "egress to any address on 443, since the firewall, not a security group, holds it to the allowlist. The construct",
    "that makes such a resource declares the acceptance next to it, with its reason (`acceptFinding` in",
    "`constructs/accepted-findings.ts`, like cdk-nag's `NagSuppressions.addResourceSuppressions`). The stack writes",
    "them after the env file's own suppressions, each with `declared_by` (the construct path), so `check`, every",
    "report and the reviewer diff list them; they have no expiry, but one that stops matching a finding is an error",
    `(${SUPPRESSION_RULE_ID}) like any other. \`alpha-prime check\` prints those in force for each stack.`,
    "",
  );
  return lines.join("\n");
}

if (require.main === module) {
  fs.mkdirSync(path.dirname(RULES_DOC_PATH), { recursive: true });
  fs.writeFileSync(RULES_DOC_PATH, rulesDoc());
  process.stdout.write(`wrote ${path.relative(process.cwd(), RULES_DOC_PATH)}\n`);
}
