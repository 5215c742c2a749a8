import { cidrContains, parseCidr, Cidr } from "../../core/cidr";
import type { Resource, StackModel } from "../model";
import type { Rule, Violation } from "../types";

/** A route's target is the Network Firewall: its endpoint id is read from the firewall's sync states. */
function toFirewall(route: Resource): boolean {
  return typeof route.values.vpc_endpoint_id === "string" && route.values.vpc_endpoint_id.includes("aws_networkfirewall_firewall.");
}

/** The routes of the route table associated with a subnet. */
function routesOf(model: StackModel, subnet: Resource): Resource[] {
  const tables = model.ofType("aws_route_table_association").filter((a) => model.pointsAt(a.values.subnet_id, subnet)).map((a) => model.referenced(a.values.route_table_id));
  return model.ofType("aws_route").filter((r) => tables.some((t) => t && model.pointsAt(r.values.route_table_id, t)));
}

const refsIn = (model: StackModel, values: unknown): Resource[] => (Array.isArray(values) ? values : [values]).map((v) => model.referenced(v)).filter((r): r is Resource => r !== undefined);

export const inspectionSymmetric: Rule = {
  id: "AP-NET-009",
  severity: "error",
  title: "Traffic to the internet passes the firewall both ways: out from the LGWAN side and the workload subnets, and back from the NAT gateways",
  rationale:
    "The allowlist, IPS and logs exist only on the firewall's path. A subnet whose default route skips the firewall reaches the internet uninspected; a return path that skips it leaves the stateful engine seeing one direction, so it drops the flow (and a later change could pass it unseen). Every tier the address plan adds needs both routes.",
  references: { alphaPrime: "接続先制限・IPS の経路 (inspection VPC, symmetric routing)" },
  check(model) {
    const out: Violation[] = [];
    const firewallSubnets = model.ofType("aws_networkfirewall_firewall").flatMap((f) => refsIn(model, (f.values.subnet_mapping ?? []).map((m: any) => m.subnet_id)));
    const natSubnets = model.ofType("aws_nat_gateway").flatMap((n) => refsIn(model, n.values.subnet_id));
    const tgwSubnets = model.ofType("aws_ec2_transit_gateway_vpc_attachment").flatMap((a) => refsIn(model, a.values.subnet_ids));
    if (!firewallSubnets.length) return out; // no inspection VPC in this stack
    const special = new Set([...firewallSubnets, ...natSubnets].map((s) => s.address));
    // the LGWAN side enters through the Transit Gateway subnets; instances, endpoints and Client VPN live in the others
    const inspected = model.ofType("aws_subnet").filter((s) => !special.has(s.address));
    for (const s of inspected) {
      const def = routesOf(model, s).find((r) => r.values.destination_cidr_block === "0.0.0.0/0");
      if (def && !toFirewall(def)) out.push({ address: def.address, message: `the default route of ${s.address} (${s.values.cidr_block}) does not go to the firewall endpoint` });
      if (!def && tgwSubnets.some((t) => t.address === s.address)) out.push({ address: s.address, message: "traffic from the Transit Gateway has no default route through the firewall" });
    }
    const workloads = inspected.filter((s) => !tgwSubnets.some((t) => t.address === s.address));
    for (const nat of natSubnets) {
      const back = routesOf(model, nat).filter(toFirewall);
      for (const w of workloads) {
        const cidr = parseCidr(w.values.cidr_block);
        if (typeof cidr === "string") continue;
        const covers = back.some((r) => {
          const d = parseCidr(r.values.destination_cidr_block);
          return typeof d !== "string" && cidrContains(d as Cidr, cidr);
        });
        if (!covers) out.push({ address: nat.address, message: `return traffic from the NAT gateway in ${nat.address} to ${w.address} (${w.values.cidr_block}) does not go back through the firewall` });
      }
    }
    return out;
  },
};
