import type { Rule, Violation } from "../types";

export const firewallCustomerKey: Rule = {
  id: "AP-KMS-003",
  severity: "error",
  title: "Network Firewall firewalls, policies and rule groups are encrypted with a customer-managed key",
  rationale:
    "The firewall policy and rule groups are the allowlist itself: which SaaS the LGWAN side may reach, which hosts only the tenant proxy may, HOME_NET. " +
    "With AWS's own key (the default) the municipality cannot audit or revoke their use in CloudTrail, unlike every other store of the breakout. " +
    "BreakoutGateway gives them one rotating key of their own (alias/<prefix>-firewall) whose key policy is account administration only, so the account's IAM policies decide who may use it: Network Firewall uses the key on behalf of whoever creates or updates these resources, so the deploying role needs KMS permissions on it (kms:DescribeKey, kms:CreateGrant, kms:GenerateDataKey, kms:Decrypt; Network Firewall Developer Guide, \"Encryption at rest with AWS KMS\"). " +
    "Adding the key to deployed stacks changes encryption_configuration in place (UpdateFirewallEncryptionConfiguration, UpdateFirewallPolicy, UpdateRuleGroup); nothing is replaced.",
  references: { alphaPrime: "鍵管理（カスタマー管理キー）", checkov: ["CKV_AWS_345", "CKV_AWS_346"] },
  check(model) {
    const out: Violation[] = [];
    for (const r of model.ofType("aws_networkfirewall_firewall", "aws_networkfirewall_firewall_policy", "aws_networkfirewall_rule_group")) {
      const e = [r.values.encryption_configuration].flat()[0];
      if (!e) out.push({ address: r.address, message: "has no encryption_configuration (AWS-owned key)" });
      else if (e.type !== "CUSTOMER_KMS") out.push({ address: r.address, message: `encryption_configuration type is ${e.type}, not CUSTOMER_KMS` });
      else if (!e.key_id) out.push({ address: r.address, message: "encryption_configuration names no key_id" });
    }
    return out;
  },
};
