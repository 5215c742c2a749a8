import { Cidr, cidrContains, cidrOf, parseCidr, sameCidr } from "../../core/cidr";
import type { Rule, Violation } from "../types";
import { allRoutes, subnetsOf, TargetKind, vpcCidrs, vpcOf } from "../vpc-routing";

/** Targets a route more specific than the local route may have (a Network Firewall endpoint is a GWLB endpoint). */
const INSIDE_VPC_TARGETS: ReadonlySet<TargetKind> = new Set(["nat-gateway", "network-interface", "gwlb-endpoint", "firewall-endpoint"]);

/** Link-local addresses reserved for AWS services (IMDS, the Amazon DNS server): no route may cover them exactly or within. */
const RESERVED = cidrOf("169.254.168.0/22");

export const preflightRoutes: Rule = {
  id: "AP-PRE-001",
  severity: "error",
  title: "Routes are ones CreateRoute accepts: a destination inside the VPC is exactly one of its subnets and targets a NAT gateway, network interface or firewall/GWLB endpoint; no duplicates, nothing in 169.254.168.0/22",
  rationale:
    "Every route table holds the VPC's local route. A route more specific than it must match the whole CIDR block of a subnet in the VPC and go to a NAT gateway, a network interface or a Gateway Load Balancer endpoint (a Network Firewall endpoint is one); a route for the VPC's own block collides with the local route; two routes for one destination in a table collide with each other; and 169.254.168.0/22 is reserved for AWS's own services. The provider checks none of this: the plan succeeds and CreateRoute fails on apply, half-way through a deploy, after the firewall and NAT gateways already cost money.",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): AWS が apply 時に拒否する構成",
    aws: [
      { title: "Subnet route tables: rules and considerations (Amazon VPC User Guide)", url: "https://docs.aws.amazon.com/vpc/latest/userguide/subnet-route-tables.html#route-table-rule-considerations" },
      { title: "CreateRoute (Amazon EC2 API Reference)", url: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    const seen = new Map<string, string>();
    for (const r of allRoutes(model)) {
      const dest = model.memo(parseCidr, r.destination);
      if (typeof dest === "string") continue; // a prefix list or an IPv6 route: not judged here
      if (cidrContains(RESERVED, dest) || sameCidr(RESERVED, dest)) out.push({ address: r.address, message: `${dest.text} lies in 169.254.168.0/22, which is reserved for AWS services` });
      if (r.table) {
        const key = `${r.table.address} ${dest.address.toString()}/${dest.bits}`;
        const first = seen.get(key);
        if (first) out.push({ address: r.address, message: `${dest.text} is already routed in ${r.table.address} by ${first}: CreateRoute answers RouteAlreadyExists` });
        else seen.set(key, r.address);
      }
      const vpc = vpcOf(model, r.table);
      if (!vpc) continue;
      const blocks = vpcCidrs(model, vpc);
      const home = blocks.find((b) => cidrContains(b, dest));
      if (!home) continue; // outside the VPC, or wider than it (the local route stays more specific)
      if (sameCidr(home, dest)) {
        out.push({ address: r.address, message: `${dest.text} is the VPC's own block: it collides with the local route` });
        continue;
      }
      const subnet = subnetsOf(model, vpc).find((s) => {
        const c = model.memo(parseCidr, s.values.cidr_block);
        return typeof c !== "string" && sameCidr(c as Cidr, dest);
      });
      if (!subnet) out.push({ address: r.address, message: `${dest.text} is inside the VPC (${home.text}) but is not the whole block of any of its subnets: AWS refuses a route more specific than the local route unless it matches a subnet exactly` });
      if (!INSIDE_VPC_TARGETS.has(r.kind)) out.push({ address: r.address, message: `${dest.text} is inside the VPC and goes to a ${r.kind.replace("-", " ")}: such a route may target only a NAT gateway, a network interface or a Gateway Load Balancer (firewall) endpoint` });
    }
    return out;
  },
};
