/** Security group ingress in all three Terraform spellings, normalized for the rules. */
import { asArray } from "./model";
import type { StackModel } from "./model";

export interface IngressRule {
  readonly address: string;
  readonly protocol: string;
  readonly from: number;
  readonly to: number;
  /** CIDR sources (IPv4 and IPv6); empty when the source is another security group or a prefix list */
  readonly sources: string[];
}

function ports(from: unknown, to: unknown, protocol: unknown): [number, number] {
  if (String(protocol) === "-1" || String(protocol) === "all") return [0, 65535];
  return [Number(from ?? 0), Number(to ?? from ?? 65535)];
}

export function ingressRules(model: StackModel): IngressRule[] {
  const out: IngressRule[] = [];
  for (const sg of model.ofType("aws_security_group")) {
    for (const r of asArray<any>(sg.values.ingress)) {
      const [from, to] = ports(r.from_port, r.to_port, r.protocol);
      out.push({ address: sg.address, protocol: String(r.protocol), from, to, sources: [...asArray<string>(r.cidr_blocks), ...asArray<string>(r.ipv6_cidr_blocks)] });
    }
  }
  for (const r of model.ofType("aws_security_group_rule").filter((x) => x.values.type === "ingress")) {
    const [from, to] = ports(r.values.from_port, r.values.to_port, r.values.protocol);
    out.push({ address: r.address, protocol: String(r.values.protocol), from, to, sources: [...asArray<string>(r.values.cidr_blocks), ...asArray<string>(r.values.ipv6_cidr_blocks)] });
  }
  for (const r of model.ofType("aws_vpc_security_group_ingress_rule")) {
    const [from, to] = ports(r.values.from_port, r.values.to_port, r.values.ip_protocol);
    out.push({ address: r.address, protocol: String(r.values.ip_protocol), from, to, sources: [r.values.cidr_ipv4, r.values.cidr_ipv6].filter(Boolean) });
  }
  return out;
}
