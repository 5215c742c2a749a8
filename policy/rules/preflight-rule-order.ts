import { asArray } from "../model";
import type { Rule, Violation } from "../types";

const STRICT = "STRICT_ORDER";
const ACTION = "DEFAULT_ACTION_ORDER";

/** The rule order an AWS managed rule group's name says it is for (…StrictOrder, …ActionOrder), if it says. */
function managedOrder(arn: string): string | undefined {
  const m = /:aws-managed:stateful-rulegroup\/(.+)$/.exec(arn);
  if (!m) return undefined;
  if (m[1].endsWith("StrictOrder")) return STRICT;
  if (m[1].endsWith("ActionOrder")) return ACTION;
  return undefined;
}

export const preflightRuleOrder: Rule = {
  id: "AP-PRE-010",
  severity: "error",
  title: "Every stateful rule group a firewall policy uses has the policy's rule order (strict or action), its own or, for an AWS managed group, the one its name ends in",
  rationale:
    "Network Firewall takes only stateful rule groups whose rule evaluation order matches the policy's: a strict-order policy refuses a group made with action order, and AWS managed groups come in a …StrictOrder and an …ActionOrder edition, of which a policy may use only its own. The provider checks neither, and a rule group's order cannot be changed once it exists: the mismatch fails CreateFirewallPolicy or UpdateFirewallPolicy on apply.",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): ファイアウォールの評価順序",
    aws: [
      { title: "Managing evaluation order for Suricata compatible rules: the settings for your rule groups must match the settings for the firewall policy (AWS Network Firewall Developer Guide)", url: "https://docs.aws.amazon.com/network-firewall/latest/developerguide/suricata-rule-evaluation-order.html" },
      { title: "Threat signature rule groups: a …StrictOrder group only in a strict-order policy (AWS Network Firewall Developer Guide)", url: "https://docs.aws.amazon.com/network-firewall/latest/developerguide/aws-managed-rule-groups-threat-signature.html" },
      { title: "StatefulEngineOptions and StatefulRuleOptions, RuleOrder (AWS Network Firewall API Reference)", url: "https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_StatefulRuleOptions.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    for (const p of model.ofType("aws_networkfirewall_firewall_policy")) {
      const fp = p.values.firewall_policy ?? {};
      const order = fp.stateful_engine_options?.rule_order ?? ACTION;
      for (const ref of asArray<any>(fp.stateful_rule_group_reference)) {
        const arn = String(ref?.resource_arn ?? "");
        const group = model.referenced(arn);
        const groupOrder = group?.type === "aws_networkfirewall_rule_group" ? (group.values.rule_group?.stateful_rule_options?.rule_order ?? ACTION) : managedOrder(arn);
        if (groupOrder !== undefined && groupOrder !== order) {
          out.push({ address: p.address, message: `${group?.address ?? arn} evaluates in ${groupOrder}, the policy in ${order}: Network Firewall refuses a stateful rule group whose rule order differs from its policy's` });
        }
      }
    }
    return out;
  },
};
