import type { Rule, Violation } from "../types";

export const fileCoverage: Rule = {
  id: "AP-COV-001",
  severity: "info",
  title: "Every file path of a selected service that the sanitization engine does not see is reported, with its compensating control",
  rationale:
    "無害化 covers the hosts a vendor serves files from, bumped and sent to the engine. Files also arrive inside other protocols (Outlook desktop's MAPI), over hosts that go DIRECT (Teams images, Slack's image proxy, Zoom), or from services the municipality does not sanitize. People rely on the control they believe is there: each path it does not cover is named per municipality, with where it goes and what README recommends instead. Information, not a failure: no setting of the stack changes it.",
  references: { alphaPrime: "無害化 (coverage map)" },
  check(model) {
    const out: Violation[] = [];
    for (const p of model.context.tenantRestriction?.fileCoverage ?? []) {
      if (p.covered) continue;
      out.push({
        address: `file-coverage.${p.saas}`,
        message: `${p.what} (${p.hosts.join(" ")}): not sanitized — ${p.why}${p.compensating ? `. Compensating control: ${p.compensating}` : ""}${p.documented ? "" : " (the vendor does not document this path)"} [${p.source}]`,
      });
    }
    return out;
  },
};
