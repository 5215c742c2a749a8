import { narrowedHosts } from "../../catalog/allowlist";
import { formatDomainPattern } from "../../catalog/domains";
import { SaasCatalog } from "../../catalog/saas-catalog";
import { proxyBypassViolations } from "../proxy-enforcement";
import { stackAllowlistTargets } from "../tenant-scope";
import type { Rule } from "../types";

export const tenantProxyUnskippable: Rule = {
  id: "AP-TEN-001",
  severity: "error",
  title: "Names that need a tenant header are reachable only through the tenant-restriction proxy",
  rationale:
    "A PC that ignores the PAC file, or a PAC file that sends sign-in hosts DIRECT, would reach Microsoft, Slack or Google without the tenant header, so staff could sign in to any tenant and copy residents' data out. The header hosts are the catalog's for every configured service, narrowed to the firewall's allowlist, besides those the stack lists itself.",
  references: { alphaPrime: "テナント制限 (接続先制限と併用)" },
  check(model) {
    const ctx = model.context.tenantRestriction;
    const catalog = SaasCatalog.default();
    // the stack's own list, and the catalog's header hosts of every service it calls configured: a hand edit that
    // drops a sign-in host from both the list and the enforcement rules is still judged
    const headerHosts = (ctx?.services ?? []).filter((s) => s.status === "configured" && catalog.has(s.saas)).flatMap((s) => (catalog.get(s.saas).tenantRestriction?.headers ?? []).flatMap((h) => h.hosts));
    const onFirewall = narrowedHosts(headerHosts, stackAllowlistTargets(model)).map(formatDomainPattern);
    const sanitized = new Set(ctx?.sanitization?.hosts ?? []);
    // sanitized file hosts are judged by AP-SAN-001, so one weakness is reported once
    return proxyBypassViolations(model, [...new Set([...(ctx?.proxyOnlyDomains ?? []), ...onFirewall])].filter((n) => !sanitized.has(n)));
  },
};
