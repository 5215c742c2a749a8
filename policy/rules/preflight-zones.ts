import { asArray, Resource } from "../model";
import type { Rule, Violation } from "../types";

export const preflightZones: Rule = {
  id: "AP-PRE-009",
  severity: "error",
  title: "A firewall and a load balancer get one subnet per Availability Zone",
  rationale:
    "CreateFirewall takes subnet mappings of different Availability Zones, one firewall endpoint per zone, and CreateLoadBalancer one subnet per zone; a second subnet of a zone (or the same subnet twice) is refused on apply. The address plan gives each tier one subnet per zone today; this keeps a change to it, or to the zones of a config, from reaching AWS first.",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): ゾーンごとに一つのサブネット",
    aws: [
      { title: "CreateFirewall, SubnetMappings: each subnet in a different Availability Zone (AWS Network Firewall API Reference)", url: "https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_CreateFirewall.html" },
      { title: "CreateLoadBalancer, Subnets and SubnetMappings: one subnet per Availability Zone (Elastic Load Balancing API Reference)", url: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    const judge = (owner: Resource, subnetValues: unknown[]) => {
      const zones = new Map<string, string>();
      for (const v of subnetValues) {
        const s = model.referenced(v);
        if (s?.type !== "aws_subnet") continue;
        const zone = s.values.availability_zone ?? s.values.availability_zone_id;
        const key = typeof zone === "string" && !zone.includes("${") ? zone : `subnet ${s.address}`;
        const first = zones.get(key);
        if (first) out.push({ address: owner.address, message: `${s.address} and ${first} are both in ${key}: it takes one subnet per Availability Zone` });
        else zones.set(key, s.address);
      }
    };
    for (const f of model.ofType("aws_networkfirewall_firewall")) judge(f, asArray<any>(f.values.subnet_mapping).map((m) => m?.subnet_id));
    for (const lb of model.ofType("aws_lb", "aws_alb")) judge(lb, [...asArray(lb.values.subnets), ...asArray<any>(lb.values.subnet_mapping).map((m) => m?.subnet_id)]);
    return out;
  },
};
