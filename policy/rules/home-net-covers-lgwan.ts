import { cidrContains, parseCidr, Cidr } from "../../core/cidr";
import type { Rule, Violation } from "../types";

function covered(definition: unknown, segment: Cidr): boolean {
  return (Array.isArray(definition) ? definition : []).some((d) => {
    const c = parseCidr(d);
    return typeof c !== "string" && cidrContains(c, segment);
  });
}

export const homeNetCoversLgwan: Rule = {
  id: "AP-NET-005",
  severity: "error",
  title: "The firewall's HOME_NET covers every LGWAN segment",
  rationale: "Network Firewall inspects domain rules only for traffic from HOME_NET, which defaults to the firewall's own VPC: LGWAN traffic arriving over the VPN would bypass the allowlist.",
  references: { alphaPrime: "LGWAN 側端末の通信を検査する" },
  check(model) {
    const segments = (model.context.lgwanSegments ?? []).map(parseCidr).filter((c): c is Cidr => typeof c !== "string");
    const out: Violation[] = [];
    for (const p of model.ofType("aws_networkfirewall_firewall_policy")) {
      const home = (p.values.firewall_policy?.policy_variables?.rule_variables ?? []).find((v: any) => v.key === "HOME_NET");
      for (const s of segments) if (!covered(home?.ip_set?.definition, s)) out.push({ address: p.address, message: `policy HOME_NET does not cover LGWAN segment ${s.text}` });
    }
    for (const g of model.ofType("aws_networkfirewall_rule_group")) {
      const home = (g.values.rule_group?.rule_variables?.ip_sets ?? []).find((v: any) => v.key === "HOME_NET");
      if (!home) continue; // the policy's HOME_NET applies
      for (const s of segments) if (!covered(home.ip_set?.definition, s)) out.push({ address: g.address, message: `rule group HOME_NET does not cover LGWAN segment ${s.text}` });
    }
    return out;
  },
};
