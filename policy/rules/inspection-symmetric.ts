import { parseCidr, sameCidr } from "../../core/cidr";
import type { Resource, StackModel } from "../model";
import type { Rule, Violation } from "../types";
import { allRoutes, endpointZone, RouteEntry, routesOfTable, specialSubnets, tableOf } from "../vpc-routing";

const INSPECTS = new Set(["firewall-endpoint", "gwlb-endpoint"]);

function sameBlock(model: StackModel, a: string | undefined, b: string | undefined): boolean {
  const x = model.memo(parseCidr, a);
  const y = model.memo(parseCidr, b);
  return typeof x !== "string" && typeof y !== "string" && sameCidr(x, y);
}

function describeTarget(model: StackModel, r: RouteEntry): string {
  return INSPECTS.has(r.kind) ? `the firewall endpoint in ${endpointZone(model, r) ?? "an unknown zone"}` : r.kind.replace("-", " ");
}

export const inspectionSymmetric: Rule = {
  id: "AP-NET-009",
  severity: "error",
  title: "Every internet flow passes the firewall of its own zone both ways: each subnet's default route, and a return route from each NAT gateway for exactly that subnet",
  rationale:
    "The allowlist, IPS and logs exist only on the firewall's path, and the stateful engine must see both directions of a flow at the same endpoint. A subnet whose default route skips the firewall reaches the internet uninspected; a return path that skips it, or passes another zone's endpoint, leaves each endpoint seeing one direction, so flows are dropped (and a later change could pass them unseen). AWS accepts a return route only for a whole subnet, so a route for a block of subnets is no return path at all: it is refused when the stack is applied. Every subnet the address plan adds needs both routes.",
  references: {
    alphaPrime: "接続先制限・IPS の経路 (inspection VPC, symmetric routing)",
    aws: [
      { title: "Subnet route tables: rules and considerations (Amazon VPC User Guide)", url: "https://docs.aws.amazon.com/vpc/latest/userguide/subnet-route-tables.html#route-table-rule-considerations" },
      { title: "Multi zone architecture with an internet gateway: incoming traffic routes to the firewall in the destination subnet's zone (AWS Network Firewall Developer Guide)", url: "https://docs.aws.amazon.com/network-firewall/latest/developerguide/arch-two-zone-igw.html" },
      { title: "Architecture with an internet gateway and a NAT gateway (AWS Network Firewall Developer Guide)", url: "https://docs.aws.amazon.com/network-firewall/latest/developerguide/arch-igw-ngw.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    const special = specialSubnets(model);
    if (!special.firewall.length) return out; // no inspection VPC in this stack
    const routes = allRoutes(model);
    const isOne = (list: Resource[], s: Resource) => list.some((x) => x.address === s.address);
    // the LGWAN side enters through the Transit Gateway subnets; instances, endpoints and Client VPN live in the others
    const inspected = model.ofType("aws_subnet").filter((s) => !isOne(special.firewall, s) && !isOne(special.nat, s));
    for (const s of inspected) {
      const def = routesOfTable(model, tableOf(model, s), routes).find((r) => r.destination === "0.0.0.0/0");
      if (!def) {
        if (isOne(special.tgw, s)) out.push({ address: s.address, message: "traffic from the Transit Gateway has no default route through the firewall" });
        continue;
      }
      if (!INSPECTS.has(def.kind)) out.push({ address: def.address, message: `the default route of ${s.address} (${s.values.cidr_block}) does not go to the firewall endpoint` });
      else if (endpointZone(model, def) !== s.values.availability_zone) {
        out.push({ address: def.address, message: `the default route of ${s.address} (${s.values.availability_zone}) goes to ${describeTarget(model, def)}, not its own zone's` });
      }
    }
    const workloads = inspected.filter((s) => !isOne(special.tgw, s));
    for (const nat of special.nat) {
      const back = routesOfTable(model, tableOf(model, nat), routes);
      const returnsTo = (cidr: string, zone: string | undefined, what: string) => {
        const exact = back.find((r) => sameBlock(model, r.destination, cidr));
        if (!exact) {
          const block = back.find((r) => {
            const d = model.memo(parseCidr, r.destination);
            const c = model.memo(parseCidr, cidr);
            return typeof d !== "string" && typeof c !== "string" && d.bits < c.bits && c.address.match(d.address, d.bits) && d.bits > 0;
          });
          const why = block ? `only the block ${block.destination} covers it, and AWS refuses a route that is not a whole subnet` : "no route names it";
          out.push({ address: nat.address, message: `return traffic from the NAT gateway in ${nat.address} to ${what} does not go back through the firewall: ${why}` });
        } else if (!INSPECTS.has(exact.kind) || endpointZone(model, exact) !== zone) {
          out.push({ address: exact.address, message: `return traffic from the NAT gateway in ${nat.address} to ${what} goes to ${describeTarget(model, exact)}, not the firewall endpoint in ${zone}` });
        }
      };
      for (const w of workloads) returnsTo(w.values.cidr_block, w.values.availability_zone, `${w.address} (${w.values.cidr_block})`);
      // flows from the LGWAN side left through this zone's firewall endpoint (appliance mode keeps them in one zone)
      for (const seg of model.context.lgwanSegments ?? []) returnsTo(seg, nat.values.availability_zone, `the LGWAN segment ${seg}`);
    }
    return out;
  },
};
