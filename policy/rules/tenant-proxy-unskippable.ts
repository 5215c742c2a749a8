import { proxyBypassViolations } from "../proxy-enforcement";
import type { Rule } from "../types";

export const tenantProxyUnskippable: Rule = {
  id: "AP-TEN-001",
  severity: "error",
  title: "Names that need a tenant header are reachable only through the tenant-restriction proxy",
  rationale:
    "A PC that ignores the PAC file, or a PAC file that sends sign-in hosts DIRECT, would reach Microsoft, Slack or Google without the tenant header, so staff could sign in to any tenant and copy residents' data out.",
  references: { alphaPrime: "テナント制限 (接続先制限と併用)" },
  check(model) {
    const ctx = model.context.tenantRestriction;
    const sanitized = new Set(ctx?.sanitization?.hosts ?? []);
    // sanitized file hosts are judged by AP-SAN-001, so one weakness is reported once
    return proxyBypassViolations(model, (ctx?.proxyOnlyDomains ?? []).filter((n) => !sanitized.has(n)));
  },
};
