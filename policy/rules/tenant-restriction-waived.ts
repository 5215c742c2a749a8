import type { Rule, Violation } from "../types";
import { restrictionsUndoneByWaivers, stackNameGrants } from "../tenant-scope";

export const tenantRestrictionWaived: Rule = {
  id: "AP-TEN-003",
  severity: "warning",
  title: "Waived tenant restrictions are reported with their reason, and with every configured restriction the waiver undoes",
  rationale:
    "A waiver is an accepted risk (staff may use any tenant of that service); it must stay visible in every check, not only in the YAML. Services that share a tenant namespace share its wildcard (kintone and Garoon both live on *.cybozu.com): waiving one puts the wildcard back on the firewall, so the other's configured tenant hosts no longer keep staff on the municipality's tenant either, and that is said of the other service by name.",
  references: { alphaPrime: "テナント制限 (例外の記録)" },
  check(model) {
    const out: Violation[] = [];
    const ctx = model.context.tenantRestriction;
    for (const s of ctx?.services ?? []) {
      if (s.status === "waived") out.push({ address: `breakout.tenantWaivers.${s.saas}`, message: `tenant restriction of ${s.saas} is waived: ${s.reason ?? "(no reason)"}` });
    }
    const grants = stackNameGrants(model);
    for (const u of restrictionsUndoneByWaivers(grants, ctx && { services: ctx.services, tenant_hosts: ctx.tenantHosts })) {
      out.push({
        address: `breakout.tenants.${u.saas}`,
        message: `tenant restriction of ${u.saas} is undone by the waiver of ${u.waivedBy.join(" / ")}: both use ${u.wildcard}, and the firewall passes ${u.names.join(" ")} for every tenant there, so ${u.saas}'s own tenant hosts no longer keep staff on the municipality's tenant (waive ${u.saas} too with its own reason, or drop the waiver)`,
      });
    }
    return out;
  },
};
