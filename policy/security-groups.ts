/** Security group rules in all three Terraform spellings, normalized for the rules. */
import { asArray, perStack } from "./model";
import type { StackModel } from "./model";

export interface SecurityGroupRule {
  readonly address: string;
  readonly protocol: string;
  readonly from: number;
  readonly to: number;
  /** CIDR peers (IPv4 and IPv6): sources of ingress, destinations of egress; empty when the peer is another security group or a prefix list */
  readonly sources: string[];
}

export type IngressRule = SecurityGroupRule;

function ports(from: unknown, to: unknown, protocol: unknown): [number, number] {
  if (String(protocol) === "-1" || String(protocol) === "all") return [0, 65535];
  return [Number(from ?? 0), Number(to ?? from ?? 65535)];
}

/**
 * The CIDRs of prefix lists the stack defines itself (aws_ec2_managed_prefix_list entries, inline or as separate
 * resources): a rule to such a list is a rule to its blocks. Lists the stack only refers to (an S3 gateway
 * endpoint's, AWS-managed ones) hold AWS service ranges and contribute nothing here.
 */
function prefixListCidrs(model: StackModel, ids: unknown[]): string[] {
  return ids.flatMap((id) => {
    const list = model.referenced(id);
    if (list?.type !== "aws_ec2_managed_prefix_list") return [];
    const separate = model.attached("aws_ec2_managed_prefix_list_entry", "prefix_list_id", list).map((e) => e.values.cidr);
    return [...asArray<any>(list.values.entry).map((e) => e?.cidr), ...separate].filter((c): c is string => typeof c === "string");
  });
}

function rules(model: StackModel, direction: "ingress" | "egress"): SecurityGroupRule[] {
  const out: SecurityGroupRule[] = [];
  for (const sg of model.ofType("aws_security_group", "aws_default_security_group")) {
    for (const r of asArray<any>(sg.values[direction])) {
      const [from, to] = ports(r.from_port, r.to_port, r.protocol);
      const sources = [...asArray<string>(r.cidr_blocks), ...asArray<string>(r.ipv6_cidr_blocks), ...prefixListCidrs(model, asArray(r.prefix_list_ids))];
      out.push({ address: sg.address, protocol: String(r.protocol), from, to, sources });
    }
  }
  for (const r of model.ofType("aws_security_group_rule").filter((x) => x.values.type === direction)) {
    const [from, to] = ports(r.values.from_port, r.values.to_port, r.values.protocol);
    const sources = [...asArray<string>(r.values.cidr_blocks), ...asArray<string>(r.values.ipv6_cidr_blocks), ...prefixListCidrs(model, asArray(r.values.prefix_list_ids))];
    out.push({ address: r.address, protocol: String(r.values.protocol), from, to, sources });
  }
  for (const r of model.ofType(`aws_vpc_security_group_${direction}_rule`)) {
    const [from, to] = ports(r.values.from_port, r.values.to_port, r.values.ip_protocol);
    out.push({ address: r.address, protocol: String(r.values.ip_protocol), from, to, sources: [r.values.cidr_ipv4, r.values.cidr_ipv6, ...prefixListCidrs(model, [r.values.prefix_list_id])].filter(Boolean) });
  }
  return out;
}

/** Ingress rules, once per stack (AP-NET-006 and AP-EC2-003 read them). */
export const ingressRules = perStack((model): readonly IngressRule[] => rules(model, "ingress"));

/** Egress rules; `sources` are their destinations. */
export function egressRules(model: StackModel): SecurityGroupRule[] {
  return rules(model, "egress");
}
