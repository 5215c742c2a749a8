import * as ipaddr from "ipaddr.js";
import { cidrContains, parseCidr } from "../../core/cidr";
import { egressRules } from "../security-groups";
import type { Rule } from "../types";

/** Address space that is not the internet: RFC 1918, and RFC 6598 shared space (carrier NAT, never routed publicly). */
const NOT_INTERNET_V4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"].map((c) => parseCidr(c) as Exclude<ReturnType<typeof parseCidr>, string>);

/**
 * Whether a destination holds internet addresses: any IPv4 block not inside private space (so 0.0.0.0/0, and also the
 * halves 0.0.0.0/1 + 128.0.0.0/1 that would dodge a check for /0 alone), any IPv6 block outside unique-local fc00::/7.
 * A value the rule cannot read counts as the internet.
 */
export function reachesInternet(cidr: string): boolean {
  if (cidr.includes(":")) {
    try {
      const [address, bits] = ipaddr.IPv6.parseCIDR(cidr);
      return bits < 7 || address.range() !== "uniqueLocal";
    } catch {
      return true;
    }
  }
  const c = parseCidr(cidr);
  return typeof c === "string" || !NOT_INTERNET_V4.some((p) => cidrContains(p, c));
}

export const noInternetEgress: Rule = {
  id: "AP-SG-001",
  severity: "error",
  title: "No security group sends traffic to internet addresses unless its construct accepts it with the reason",
  rationale:
    "A security group is the one control at the instance itself: egress to 0.0.0.0/0 leaves only the firewall between a compromised relay or proxy and any host on the internet. " +
    "Where a destination has a fixed address it is named (on-prem targets by /32, AWS services through VPC endpoints, their security groups and the S3 prefix list). " +
    "Where it is an internet name whose addresses change (SaaS behind CDNs, a relay target such as smtp.office365.com) a security group cannot express it; the Network Firewall holds it by TLS SNI, HTTP Host or port pass rule from that subnet only, " +
    "and the construct that opens the rule declares that acceptance (constructs/accepted-findings.ts), so every case is in the stack, in the diff and in the report.",
  references: { alphaPrime: "接続先制限（多層防御）", checkov: ["CKV_AWS_382"], trivy: ["AVD-AWS-0104"] },
  check(model) {
    return egressRules(model)
      .map((r) => ({ r, internet: r.sources.filter(reachesInternet) }))
      .filter(({ internet }) => internet.length > 0)
      .map(({ r, internet }) => ({ address: r.address, message: `sends ${r.protocol === "-1" ? "all protocols" : `${r.protocol} ${r.from}-${r.to}`} to ${internet.join(", ")}` }));
  },
};
