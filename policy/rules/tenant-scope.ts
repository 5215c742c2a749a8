import type { Rule, Violation } from "../types";
import { allowlistTargets, tenantScopeBreaches } from "../tenant-scope";

export const tenantScope: Rule = {
  id: "AP-TEN-005",
  severity: "error",
  title: "No allowlisted name reopens other tenants under a wildcard a tenant mechanism replaced, unless that service is waived",
  rationale:
    "Tenant restriction replaces *.sharepoint.com or *.cybozu.com by the municipality's own tenant hosts. A name under that wildcard that is not the tenant's own (x.sharepoint.com, x-my.sharepoint.com, *.sharepoint.com itself) — entered as an extra domain, a relay target, by learn or by a catalog refresh — puts another tenant straight back on the allowlist and in the PAC file's DIRECT list. Judged on the stack's own firewall allowlist, so a config check that was bypassed is still caught.",
  references: { alphaPrime: "テナント制限 (one rule for names under a restricted tenant mechanism)" },
  check(model) {
    const out: Violation[] = [];
    const declared = model.context.tenantRestriction;
    const targets = allowlistTargets(model.resources.map((r) => [r.address, r.values] as [string, Record<string, any>]));
    for (const b of tenantScopeBreaches(targets, declared && { services: declared.services, tenant_hosts: declared.tenantHosts })) {
      out.push({ address: "allowlist", message: `${b.name} is allowlisted under ${b.wildcard}, which the tenant restriction of ${b.services.join(" / ")} narrows to the municipality's own tenant: it reopens other tenants (waive the service with a reason, or remove the name)` });
    }
    return out;
  },
};
