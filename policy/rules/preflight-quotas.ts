import { QUOTAS, quotaUses } from "../quotas";
import type { Rule, Violation } from "../types";

const TITLES: Record<string, string> = {
  "vpc/latest/userguide/amazon-vpc-limits": "Amazon VPC quotas",
  "vpn/latest/s2svpn/vpn-limits": "Site-to-Site VPN quotas",
  "vpc/latest/tgw/transit-gateway-quotas": "AWS Transit Gateway quotas",
  "vpn/latest/clientvpn-admin/limits": "AWS Client VPN quotas",
  "network-firewall/latest/developerguide/quotas": "AWS Network Firewall quotas",
  "Route53/latest/DeveloperGuide/DNSLimitations": "Quotas on Route 53 Resolver DNS Firewall",
};
const PAGES = [...new Set(Object.values(QUOTAS).map((q) => q.source))].map((url) => {
  const key = url.replace(/^https:\/\/docs\.aws\.amazon\.com\//, "").replace(/\.html$/, "");
  return { title: TITLES[key] ?? key, url };
});

export const preflightQuotas: Rule = {
  id: "AP-PRE-006",
  severity: "warning",
  title: "The stack fits the default service quotas of a fresh account (VPN connections and routes, security group rules, endpoints, firewall, Client VPN), or the increase is on record",
  rationale:
    "Quotas are per account and Region and can be raised, so a stack above a default is not wrong, but its apply fails until Service Quotas has granted the increase, and the bandwidth tier multiplies some of them (VPN connections per site). A warning names the quota and what the stack needs; once the increase is granted, suppress it in the env file with the case number as the reason, so the review shows it. What the account already uses elsewhere only the account can tell (README, \"What only a real apply can tell\").",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): サービスクォータ (帯域ティアごと)",
    aws: PAGES,
  },
  check(model) {
    const out: Violation[] = [];
    for (const u of quotaUses(model)) {
      if (u.used <= u.quota.defaultValue) continue;
      out.push({
        address: u.address,
        message: `needs ${u.used} of "${u.quota.name}"${u.quota.code ? ` (${u.quota.code})` : ""}, whose default is ${u.quota.defaultValue}: request an increase before deploy, then suppress this finding with the case number`,
      });
    }
    return out;
  },
};
