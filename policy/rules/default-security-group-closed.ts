import { asArray } from "../model";
import type { Rule, Violation } from "../types";

/** Resources that get their VPC's default security group when they name none (and so would lose all traffic to a closed one). */
const FALLS_BACK: Record<string, string> = {
  aws_vpc_endpoint: "security_group_ids",
  aws_ec2_client_vpn_endpoint: "security_group_ids",
  aws_route53_resolver_endpoint: "security_group_ids",
  aws_instance: "vpc_security_group_ids",
};

export const defaultSecurityGroupClosed: Rule = {
  id: "AP-SG-002",
  severity: "error",
  title: "Every VPC's default security group is managed with no rules, and nothing relies on it",
  rationale:
    "AWS creates each VPC's default security group admitting everything from its own members and sending anywhere; any resource launched without a security group joins it, and with it every other such resource. " +
    "Managing it as aws_default_security_group with no ingress and no egress removes those rules on the first apply (Terraform adopts the group and deletes every rule it does not declare), so a forgotten security group fails closed. " +
    "Because a resource that falls back on it would then reach nothing, the rule also asks every interface endpoint, Client VPN endpoint, resolver endpoint, instance and launch template to name its own groups.",
  references: { alphaPrime: "通信の最小化", fsbp: "EC2.2", checkov: ["CKV2_AWS_12"], trivy: ["AVD-AWS-0173"] },
  check(model) {
    const out: Violation[] = [];
    const defaults = model.ofType("aws_default_security_group");
    for (const vpc of model.ofType("aws_vpc")) {
      const managed = defaults.filter((d) => model.pointsAt(d.values.vpc_id, vpc));
      if (managed.length === 0) out.push({ address: vpc.address, message: "its default security group is not managed (aws_default_security_group), so AWS's allow-all rules stay" });
    }
    for (const d of defaults) {
      for (const direction of ["ingress", "egress"]) if (asArray(d.values[direction]).length) out.push({ address: d.address, message: `has ${direction} rules` });
      const extra = [...model.ofType("aws_security_group_rule"), ...model.ofType("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule")].filter((r) => model.pointsAt(r.values.security_group_id, d));
      for (const r of extra) out.push({ address: r.address, message: `adds a rule to the default security group ${d.address}` });
    }
    for (const [type, attribute] of Object.entries(FALLS_BACK)) {
      for (const r of model.ofType(type)) {
        if (type === "aws_vpc_endpoint" && (r.values.vpc_endpoint_type ?? "Gateway") !== "Interface") continue;
        if (type === "aws_instance" && asArray(r.values.security_groups).length) continue;
        if (asArray(r.values[attribute]).length === 0) out.push({ address: r.address, message: `names no security group, so it would fall back on the VPC's closed default group` });
      }
    }
    for (const lt of model.ofType("aws_launch_template")) {
      const groups = [...asArray(lt.values.vpc_security_group_ids), ...asArray<any>(lt.values.network_interfaces).flatMap((n) => asArray(n?.security_groups))];
      if (groups.length === 0) out.push({ address: lt.address, message: "names no security group, so its instances would fall back on the VPC's closed default group" });
    }
    return out;
  },
};
