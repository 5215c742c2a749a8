import { addressIn, ipToInt, networkInt, parseCidr, prefixOf } from "../../core/cidr";
import { asArray, Resource, StackModel } from "../model";
import type { Rule, Violation } from "../types";

/** Route 53: an inbound or outbound Resolver endpoint needs at least two addresses. */
const RESOLVER_MIN_ADDRESSES = 2;

/** Everything each resource waits for before Terraform creates it, transitively. */
function createdAfter(model: StackModel): (address: string) => Set<string> {
  // what a resource waits for directly: every address its values mention (a `${type.name.attr}` reference or a
  // depends_on entry), but itself
  const direct = (a: string): readonly string[] => {
    const r = model.get(a);
    return r ? model.mentions(r).filter((d) => d !== a) : [];
  };
  const memo = new Map<string, Set<string>>();
  // the addresses on the way to the one visited (a cycle is cut where it closes), one set added to and taken from
  const path = new Set<string>();
  const visit = (a: string): Set<string> => {
    const known = memo.get(a);
    if (known) return known;
    const all = new Set<string>();
    for (const d of direct(a)) {
      if (path.has(d)) continue;
      all.add(d);
      path.add(d);
      for (const x of visit(d)) all.add(x);
      path.delete(d);
    }
    memo.set(a, all);
    return all;
  };
  return (a) => {
    path.add(a);
    const all = visit(a);
    path.delete(a);
    return all;
  };
}

/** Resources that make an interface in a subnet and let EC2 choose its address, with those subnets. */
function automaticAddresses(r: Resource): unknown[] {
  const v = r.values;
  switch (r.type) {
    case "aws_vpc_endpoint":
      return v.vpc_endpoint_type === "Interface" || v.vpc_endpoint_type === "GatewayLoadBalancer" ? asArray(v.subnet_ids) : [];
    case "aws_ec2_client_vpn_network_association":
    case "aws_network_interface":
      return v.private_ip || asArray(v.private_ips).length ? [] : [v.subnet_id];
    case "aws_nat_gateway":
      return v.private_ip ? [] : [v.subnet_id];
    case "aws_ec2_transit_gateway_vpc_attachment":
      return asArray(v.subnet_ids);
    case "aws_autoscaling_group":
      return asArray(v.vpc_zone_identifier);
    case "aws_networkfirewall_firewall":
      return asArray<any>(v.subnet_mapping).map((m) => m?.subnet_id);
    case "aws_lb":
      return [...asArray(v.subnets), ...asArray<any>(v.subnet_mapping).filter((m) => !m?.private_ipv4_address).map((m) => m?.subnet_id)];
    case "aws_route53_resolver_endpoint":
      return asArray<any>(v.ip_address).filter((i) => !i?.ip).map((i) => i?.subnet_id);
    default:
      return [];
  }
}

/** The addresses resources ask for by value, with their subnets. */
function fixedAddresses(model: StackModel): { holder: Resource; subnetValue: unknown; ip: string }[] {
  const out: { holder: Resource; subnetValue: unknown; ip: string }[] = [];
  for (const r of model.ofType("aws_route53_resolver_endpoint")) for (const i of asArray<any>(r.values.ip_address)) if (typeof i?.ip === "string") out.push({ holder: r, subnetValue: i.subnet_id, ip: i.ip });
  for (const r of model.ofType("aws_lb")) for (const m of asArray<any>(r.values.subnet_mapping)) if (typeof m?.private_ipv4_address === "string") out.push({ holder: r, subnetValue: m.subnet_id, ip: m.private_ipv4_address });
  return out;
}

export const preflightAddresses: Rule = {
  id: "AP-PRE-008",
  severity: "error",
  title: "Every fixed address (inbound resolver, load balancer) is one its subnet can give — inside it, not among AWS's five — and cannot be taken first by an interface EC2 numbers itself; Resolver endpoints have at least two",
  rationale:
    "The first four addresses and the last of every subnet are AWS's, an address outside the subnet is none of its, and Route 53 wants at least two addresses for a Resolver endpoint: each is refused on apply, and the provider checks none. And a fixed address is only as safe as the order of creation: EC2 gives an interface created without an address any free one of its subnet, and Terraform creates independent resources in parallel, so an interface endpoint, a Client VPN association, a load balancer or an instance in the same subnet can take the address first, and CreateResolverEndpoint or CreateLoadBalancer fails on an address in use. A fixed address passes when everything that numbers itself in its subnet is created after its holder, or after an explicit subnet CIDR reservation that covers it.",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): 固定アドレス",
    aws: [
      { title: "Subnet CIDR blocks: the first four addresses and the last are not available (Amazon VPC User Guide)", url: "https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html" },
      { title: "High availability for Resolver endpoints: Route 53 requires at least two IP addresses (Amazon Route 53 Developer Guide)", url: "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/best-practices-resolver-endpoint-high-availability.html" },
      { title: "SubnetMapping, PrivateIPv4Address (Elastic Load Balancing API Reference)", url: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SubnetMapping.html" },
      { title: "Subnet CIDR reservations: explicit reservations are never assigned automatically (Amazon VPC User Guide)", url: "https://docs.aws.amazon.com/vpc/latest/userguide/subnet-cidr-reservation.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    for (const r of model.ofType("aws_route53_resolver_endpoint")) {
      const n = asArray(r.values.ip_address).length;
      if (n < RESOLVER_MIN_ADDRESSES) out.push({ address: r.address, message: `${n} address(es); Route 53 requires at least ${RESOLVER_MIN_ADDRESSES} for a Resolver endpoint` });
    }
    const after = createdAfter(model);
    const takers = model.resources.flatMap((r) => automaticAddresses(r).map((s) => ({ r, subnet: model.referenced(s) })));
    const reservations = model.ofType("aws_ec2_subnet_cidr_reservation").filter((x) => x.values.reservation_type === "explicit");
    for (const { holder, subnetValue, ip } of fixedAddresses(model)) {
      const subnet = model.referenced(subnetValue);
      if (subnet?.type !== "aws_subnet" || ip.includes("${")) continue;
      const cidr = model.memo(parseCidr, subnet.values.cidr_block);
      if (typeof cidr !== "string") {
        const text = subnet.values.cidr_block as string;
        if (!addressIn(ip, cidr)) out.push({ address: holder.address, message: `${ip} is not in ${subnet.address} (${text})` });
        else {
          const offset = ipToInt(ip) - networkInt(text);
          const size = 2 ** (32 - prefixOf(text));
          if (offset < 4 || offset === size - 1) out.push({ address: holder.address, message: `${ip} is one of the five addresses AWS keeps in ${subnet.address} (${text}: the first four and the last)` });
        }
      }
      const reservation = reservations.find((x) => {
        const c = model.memo(parseCidr, x.values.cidr_block);
        return model.pointsAt(x.values.subnet_id, subnet) && typeof c !== "string" && addressIn(ip, c);
      });
      for (const t of takers.filter((x) => x.subnet?.address === subnet.address && x.r.address !== holder.address)) {
        const waits = after(t.r.address);
        if (!waits.has(holder.address) && !(reservation && waits.has(reservation.address))) {
          out.push({ address: holder.address, message: `${ip} in ${subnet.address} can be taken first by ${t.r.address}, which lets EC2 choose its address and is not created after ${holder.address} (nor after an explicit subnet CIDR reservation of ${ip})` });
        }
      }
    }
    return out;
  },
};
