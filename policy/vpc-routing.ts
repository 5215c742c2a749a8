/**
 * The routing of a synthesized stack as the route rules see it: each route with its table, VPC and target kind, the
 * subnets behind a table, and the zone of a firewall endpoint. Shared by AP-NET-009 (the firewall sees both
 * directions), AP-NET-010 (port passes) and AP-PRE-001 (routes AWS accepts), so the three read routes the same way.
 */
import { Cidr, parseCidr } from "../core/cidr";
import { asArray, perStack, Resource, StackModel } from "./model";

export type TargetKind = "firewall-endpoint" | "gwlb-endpoint" | "vpc-endpoint" | "nat-gateway" | "network-interface" | "gateway" | "transit-gateway" | "peering" | "other";

export interface RouteEntry {
  /** the aws_route's address, or the route table's for an inline route */
  readonly address: string;
  readonly table?: Resource;
  readonly destination?: string;
  readonly kind: TargetKind;
  /** the target's value as written (a reference or an expression) */
  readonly target: string;
}

const TARGETS: [string, (model: StackModel, v: string) => TargetKind][] = [
  ["vpc_endpoint_id", endpointKind],
  ["nat_gateway_id", () => "nat-gateway"],
  ["network_interface_id", () => "network-interface"],
  ["gateway_id", () => "gateway"],
  ["transit_gateway_id", () => "transit-gateway"],
  ["vpc_peering_connection_id", () => "peering"],
  ["egress_only_gateway_id", () => "other"],
  ["carrier_gateway_id", () => "other"],
  ["local_gateway_id", () => "other"],
  ["core_network_arn", () => "other"],
];

/** A firewall endpoint is read from the firewall's sync states; a Gateway Load Balancer endpoint is an aws_vpc_endpoint of that type. */
function endpointKind(model: StackModel, v: string): TargetKind {
  if (v.includes("aws_networkfirewall_firewall.")) return "firewall-endpoint";
  const e = model.referenced(v);
  if (e?.type === "aws_vpc_endpoint") return e.values.vpc_endpoint_type === "GatewayLoadBalancer" ? "gwlb-endpoint" : "vpc-endpoint";
  return "vpc-endpoint";
}

function entry(model: StackModel, address: string, table: Resource | undefined, values: Record<string, any>): RouteEntry {
  for (const [attribute, kind] of TARGETS) {
    const v = values[attribute];
    if (typeof v === "string" && v !== "") return { address, table, destination: values.destination_cidr_block ?? values.cidr_block, kind: kind(model, v), target: v };
  }
  return { address, table, destination: values.destination_cidr_block ?? values.cidr_block, kind: "other", target: "" };
}

/** Every route: aws_route resources and the inline routes of aws_route_table (once per stack: AP-PRE-001 and AP-NET-009). */
export const allRoutes = perStack((model): readonly RouteEntry[] => {
  const out = model.ofType("aws_route").map((r) => entry(model, r.address, model.referenced(r.values.route_table_id), r.values));
  for (const t of model.ofType("aws_route_table")) for (const r of asArray<any>(t.values.route)) out.push(entry(model, t.address, t, r));
  return out;
});

/** The route table associated with a subnet. */
export function tableOf(model: StackModel, subnet: Resource): Resource | undefined {
  const a = model.ofType("aws_route_table_association").find((x) => model.pointsAt(x.values.subnet_id, subnet));
  return a ? model.referenced(a.values.route_table_id) : undefined;
}

export function routesOfTable(model: StackModel, table: Resource | undefined, routes: readonly RouteEntry[] = allRoutes(model)): RouteEntry[] {
  return table ? routes.filter((r) => r.table?.address === table.address) : [];
}

/** The VPC a resource's vpc_id refers to. */
export function vpcOf(model: StackModel, r: Resource | undefined): Resource | undefined {
  const v = r ? model.referenced(r.values.vpc_id) : undefined;
  return v?.type === "aws_vpc" ? v : undefined;
}

/** The VPC's IPv4 CIDRs: its primary block and any associated blocks. */
export function vpcCidrs(model: StackModel, vpc: Resource): Cidr[] {
  const texts = [vpc.values.cidr_block, ...model.ofType("aws_vpc_ipv4_cidr_block_association").filter((a) => model.pointsAt(a.values.vpc_id, vpc)).map((a) => a.values.cidr_block)];
  return texts.map((t) => model.memo(parseCidr, t)).filter((c): c is Cidr => typeof c !== "string");
}

export function subnetsOf(model: StackModel, vpc: Resource): Resource[] {
  return model.ofType("aws_subnet").filter((s) => model.pointsAt(s.values.vpc_id, vpc));
}

/**
 * The availability zone of the endpoint a route targets: the zone a firewall endpoint expression selects from the
 * firewall's sync states, or the zone of a Gateway Load Balancer endpoint's subnet; undefined when it is not known.
 */
export function endpointZone(model: StackModel, route: RouteEntry): string | undefined {
  if (route.kind === "firewall-endpoint") return /availability_zone\s*==\s*"([^"]+)"/.exec(route.target)?.[1];
  if (route.kind === "gwlb-endpoint") {
    const e = model.referenced(route.target);
    const subnet = e ? asArray<string>(e.values.subnet_ids).map((s) => model.referenced(s)).find((s) => s?.type === "aws_subnet") : undefined;
    return subnet?.values.availability_zone;
  }
  return undefined;
}

/** The firewall, NAT gateway and Transit Gateway attachment subnets of a stack (the inspection VPC's own). */
export function specialSubnets(model: StackModel): { firewall: Resource[]; nat: Resource[]; tgw: Resource[] } {
  const refs = (values: unknown): Resource[] => asArray<unknown>(values as any).map((v) => model.referenced(v)).filter((r): r is Resource => r?.type === "aws_subnet");
  return {
    firewall: model.ofType("aws_networkfirewall_firewall").flatMap((f) => refs(asArray<any>(f.values.subnet_mapping).map((m) => m.subnet_id))),
    nat: model.ofType("aws_nat_gateway").flatMap((n) => refs(n.values.subnet_id)),
    tgw: model.ofType("aws_ec2_transit_gateway_vpc_attachment").flatMap((a) => refs(a.values.subnet_ids)),
  };
}
