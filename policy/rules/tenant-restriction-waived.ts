import type { Rule, Violation } from "../types";

export const tenantRestrictionWaived: Rule = {
  id: "AP-TEN-003",
  severity: "warning",
  title: "Waived tenant restrictions are reported with their reason",
  rationale: "A waiver is an accepted risk (staff may use any tenant of that service); it must stay visible in every check, not only in the YAML.",
  references: { alphaPrime: "テナント制限 (例外の記録)" },
  check(model) {
    const out: Violation[] = [];
    for (const s of model.context.tenantRestriction?.services ?? []) {
      if (s.status === "waived") out.push({ address: `breakout.tenantWaivers.${s.saas}`, message: `tenant restriction of ${s.saas} is waived: ${s.reason ?? "(no reason)"}` });
    }
    return out;
  },
};
