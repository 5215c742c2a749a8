import type { Rule, Violation } from "../types";

export const tenantRestrictionConfigured: Rule = {
  id: "AP-TEN-002",
  severity: "error",
  title: "Every selected service with a tenant mechanism has the municipality's tenant values, or a waiver with a reason",
  rationale:
    "Without tenant values the allowlist opens the service for every tenant in the world (any SharePoint, any Slack workspace, any kintone subdomain); a waiver must say why that is acceptable so auditors can judge it.",
  references: { alphaPrime: "テナント制限" },
  check(model) {
    const out: Violation[] = [];
    for (const s of model.context.tenantRestriction?.services ?? []) {
      if (s.status === "missing") out.push({ address: `breakout.tenants.${s.saas}`, message: `${s.saas} has a tenant mechanism but neither tenant values nor a waiver` });
      if (s.status === "waived" && (s.reason ?? "").trim().length < 20) out.push({ address: `breakout.tenantWaivers.${s.saas}`, message: `the waiver of ${s.saas} has no real reason` });
    }
    return out;
  },
};
