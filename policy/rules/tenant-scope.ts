import type { Rule, Violation } from "../types";
import { stackTenantScopeBreaches } from "../tenant-scope";

export const tenantScope: Rule = {
  id: "AP-TEN-005",
  severity: "error",
  title: "No name the firewall passes reopens other tenants under a wildcard a tenant mechanism replaced, unless that service is waived",
  rationale:
    "Tenant restriction replaces *.sharepoint.com or *.cybozu.com by the municipality's own tenant hosts. A name under that wildcard, or under another base domain of the same tenant namespace (*.kintone.com, *.cybozu.cn, *.sharepoint.us), that is not the tenant's own (x.sharepoint.com, x-my.sharepoint.com, *.sharepoint.com itself) — entered as an extra domain, a relay target, by learn, by a catalog refresh, or as a pass rule on the TLS SNI — puts another tenant straight back on the firewall and in the PAC file's DIRECT list. Judged on the stack's own firewall (the allowlist and every stateful pass rule that matches a name), and the stack's claim about its own tenant hosts is believed only as far as the catalog's host templates allow, so a config check that was bypassed or a hand-edited stack is still caught.",
  references: { alphaPrime: "テナント制限 (one rule for names under a restricted tenant mechanism)" },
  check(model) {
    const out: Violation[] = [];
    for (const b of stackTenantScopeBreaches(model)) {
      const how = b.via === "the domain allowlist" ? "is allowlisted" : `is passed by ${b.via}`;
      out.push({
        address: "allowlist",
        message: `${b.name} ${how} under ${b.wildcard}, which the tenant restriction of ${b.services.join(" / ")} narrows to the municipality's own tenant: it reopens other tenants (waive the service with a reason, or remove the name)${b.declaredOwn ? `; ${b.declaredOwn}` : ""}`,
      });
    }
    return out;
  },
};
