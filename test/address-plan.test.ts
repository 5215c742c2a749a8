import * as fc from "fast-check";
import * as ipaddr from "ipaddr.js";
import {
  maxAvailabilityZones,
  planLayout,
  PRIVATE_SUBNET_MAX_PREFIX,
  proxySubnetPlan,
  relaySubnetPlan,
  smallestPrefixFor,
  subnetPlan,
  SUBNET_TIERS,
} from "../constructs/breakout-plan";
import { BANDWIDTH_TIERS } from "../constructs/bandwidth-tier";
import { envDirWith, resources, SAMPLE_IDS, sampleText, synthStacks, TfJson } from "./helpers";

/** [first address, last address] of a CIDR, as numbers. */
function range(cidr: string): [number, number] {
  const [addr, bits] = ipaddr.IPv4.parseCIDR(cidr);
  const first = addr.toByteArray().reduce((n, b) => n * 256 + b, 0);
  return [first, first + 2 ** (32 - bits) - 1];
}
const inside = (inner: string, outer: string) => range(inner)[0] >= range(outer)[0] && range(inner)[1] <= range(outer)[1];
const overlap = (a: string, b: string) => range(a)[0] <= range(b)[1] && range(b)[0] <= range(a)[1];
const prefixOf = (cidr: string) => Number(cidr.split("/")[1]);
/** Addresses AWS leaves for use in a subnet (it reserves the first four and the last). */
const usable = (cidr: string) => 2 ** (32 - prefixOf(cidr)) - 5;

/** Every breakout prefix with every zone count it holds, at a random aligned base in 10/8, 172.16/12, 192.168/16. */
const plans = fc
  .tuple(fc.integer({ min: 16, max: 24 }), fc.integer({ min: 0, max: 2 ** 16 - 1 }), fc.constantFrom("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
  .filter(([bits, , space]) => bits >= prefixOf(space))
  .chain(([bits, n, space]) => {
    const [first] = range(space);
    const slots = 2 ** (bits - prefixOf(space));
    const base = first + (n % slots) * 2 ** (32 - bits);
    const cidr = `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".")}/${bits}`;
    return fc.record({ cidr: fc.constant(cidr), zones: fc.integer({ min: 2, max: Math.min(3, maxAvailabilityZones(cidr)) }) });
  });

describe("the breakout address plan", () => {
  test("every tier's subnets and the proxy subnets lie inside the VPC and never overlap", () => {
    fc.assert(
      fc.property(plans, ({ cidr, zones }) => {
        const plan = subnetPlan(cidr, zones);
        const all = [...SUBNET_TIERS.flatMap((t) => plan[t].subnets), ...proxySubnetPlan(cidr, zones)];
        for (const s of all) expect(inside(s, cidr)).toBe(true);
        for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) expect(overlap(all[i], all[j])).toBe(false);
        for (const t of SUBNET_TIERS) for (const s of plan[t].subnets) expect(inside(s, plan[t].block)).toBe(true);
      }),
      { seed: 24, numRuns: 400 },
    );
  });

  test("each subnet holds what it must: Client VPN's /27, the proxy fleet during a refresh, AWS's /28 minimum", () => {
    // load balancer + the fleet scaled to its maximum and doubled by an instance refresh
    const proxyHosts = 1 + 2 * Math.max(...BANDWIDTH_TIERS.map((t) => t.proxyMaxInstancesPerAz));
    fc.assert(
      fc.property(plans, ({ cidr, zones }) => {
        const plan = subnetPlan(cidr, zones);
        for (const t of SUBNET_TIERS) for (const s of plan[t].subnets) expect(prefixOf(s)).toBeLessThanOrEqual(28);
        for (const s of plan.private.subnets) expect(prefixOf(s)).toBeLessThanOrEqual(PRIVATE_SUBNET_MAX_PREFIX);
        for (const s of proxySubnetPlan(cidr, zones)) expect(usable(s)).toBeGreaterThanOrEqual(proxyHosts);
      }),
      { seed: 27, numRuns: 400 },
    );
  });

  test("the relay's own subnets lie inside the VPC, apart from every other subnet, and hold the relay fleet during a refresh; a /24 has none", () => {
    const relayHosts = 2 * Math.max(...BANDWIDTH_TIERS.map((t) => t.relayInstancesPerAz)); // fleet doubled by instance refresh
    fc.assert(
      fc.property(plans, ({ cidr, zones }) => {
        const relay = relaySubnetPlan(cidr, zones);
        if (prefixOf(cidr) === 24) return expect(relay).toBeUndefined();
        expect(relay).toHaveLength(zones);
        const plan = subnetPlan(cidr, zones);
        const others = [...SUBNET_TIERS.flatMap((t) => plan[t].subnets), ...proxySubnetPlan(cidr, zones)];
        for (const r of relay!) {
          expect(inside(r, cidr)).toBe(true);
          expect(usable(r)).toBeGreaterThanOrEqual(relayHosts);
          for (const o of others) expect(overlap(r, o)).toBe(false);
        }
      }),
      { seed: 28, numRuns: 400 },
    );
  });

  test("a /22 and larger keep the four-tier cut every deployed municipality has (no subnet moves)", () => {
    expect(planLayout("10.64.0.0/22")).toBe("quartered");
    expect(subnetPlan("10.96.0.0/21", 3)).toEqual({
      private: { block: "10.96.0.0/23", subnets: ["10.96.0.0/25", "10.96.0.128/25", "10.96.1.0/25"] },
      tgw: { block: "10.96.2.0/23", subnets: ["10.96.2.0/25", "10.96.2.128/25", "10.96.3.0/25"] },
      firewall: { block: "10.96.4.0/23", subnets: ["10.96.4.0/25", "10.96.4.128/25", "10.96.5.0/25"] },
      public: { block: "10.96.6.0/23", subnets: ["10.96.6.0/25", "10.96.6.128/25", "10.96.7.0/25"] },
    });
    expect(proxySubnetPlan("10.64.0.0/22", 2)).toEqual(["10.64.0.192/28", "10.64.0.208/28"]);
    // the Transit Gateway tier's fourth zone slot, split in four
    expect(relaySubnetPlan("10.64.0.0/22", 2)).toEqual(["10.64.1.192/28", "10.64.1.208/28"]);
  });

  test("a /24 is cut compactly: private /26s below, /28s for proxy, Transit Gateway, firewall and NAT above", () => {
    expect(planLayout("10.112.0.0/24")).toBe("compact");
    expect(subnetPlan("10.112.0.0/24", 2)).toEqual({
      private: { block: "10.112.0.0/25", subnets: ["10.112.0.0/26", "10.112.0.64/26"] },
      tgw: { block: "10.112.0.160/27", subnets: ["10.112.0.160/28", "10.112.0.176/28"] },
      firewall: { block: "10.112.0.192/27", subnets: ["10.112.0.192/28", "10.112.0.208/28"] },
      public: { block: "10.112.0.224/27", subnets: ["10.112.0.224/28", "10.112.0.240/28"] },
    });
    expect(proxySubnetPlan("10.112.0.0/24", 2)).toEqual(["10.112.0.128/28", "10.112.0.144/28"]);
    expect(relaySubnetPlan("10.112.0.0/24", 2)).toBeUndefined(); // full: the relay shares the private subnets
  });

  test("adding a zone to a /23 adds subnets and moves none", () => {
    const two = subnetPlan("10.8.2.0/23", 2);
    const three = subnetPlan("10.8.2.0/23", 3);
    for (const t of SUBNET_TIERS) expect(three[t].subnets.slice(0, 2)).toEqual(two[t].subnets);
    expect(proxySubnetPlan("10.8.2.0/23", 3).slice(0, 2)).toEqual(proxySubnetPlan("10.8.2.0/23", 2));
    // the private tier's fourth zone slot, split in four
    expect(relaySubnetPlan("10.8.2.0/23", 3)).toEqual(["10.8.2.192/28", "10.8.2.208/28", "10.8.2.224/28"]);
  });

  test("the smallest workable network depends on the zone count alone: /24 for two zones, /23 for three", () => {
    expect(maxAvailabilityZones("10.0.0.0/24")).toBe(2);
    expect(maxAvailabilityZones("10.0.0.0/23")).toBe(4);
    expect(smallestPrefixFor(2)).toBe(24);
    expect(smallestPrefixFor(3)).toBe(23);
    expect(() => subnetPlan("10.0.0.0/24", 3)).toThrow("10.0.0.0/24 holds at most 2 availability zones, got 3 (a /23 or larger holds them)");
    expect(() => subnetPlan("10.0.0.0/25", 2)).toThrow(/smaller than a \/24/);
  });
});

/**
 * The heaviest /24: the village sample on the 10g tier, with the relay (both directions) and ClamAV 無害化 added. A
 * /24 has no room for the relay's own subnets, so its internet target is one the firewall reads a name from (TLS).
 */
const WORST_VILLAGE = sampleText("aogashima")
  .replace("bandwidthTier: 1g", "bandwidthTier: 10g")
  .replace(
    "logging:",
    [
      "  sanitization:",
      "    services: [microsoft-365]",
      "    engine: clamav",
      "relay:",
      "  - { name: webmail, from: remote-access, listenPort: 443, target: \"172.28.5.20:443\" }",
      "  - { name: cloud-mail, from: lgwan, listenPort: 8443, target: \"outlook.office365.com:443\" }",
      "logging:",
    ].join("\n"),
  );

const budgets: [string, () => TfJson][] = [
  ...SAMPLE_IDS.map((id): [string, () => TfJson] => [id, () => synthStacks({ only: [id] }).stacks[id]]),
  [
    "a /24 village on 10g with relay, Client VPN, proxy and ClamAV",
    () => {
      const tf = synthStacks({ envDir: envDirWith({ "aogashima.yaml": WORST_VILLAGE }) }).stacks.aogashima;
      // the case is what it says: both fleets at 10g size, Client VPN on
      expect(resources(tf, "aws_autoscaling_group").map(([, g]) => g.max_size)).toEqual([8, 8]);
      expect(resources(tf, "aws_ec2_client_vpn_network_association")).toHaveLength(2);
      return tf;
    },
  ],
];

describe.each(budgets)("%s: every subnet has the addresses its synthesized occupants need", (_, synth) => {
  const tf = synth();
  const subnetRef = (name: string) => `\${aws_subnet.${name}.id}`;
  const subnets = resources(tf, "aws_subnet");

  test.each(subnets.map(([name, s]) => [name, s.cidr_block as string]))("%s (%s)", (name, cidr) => {
    const ref = subnetRef(name);
    const has = (list: unknown) => (Array.isArray(list) ? list : [list]).includes(ref);
    let used = 0;
    let mustStayFree = 0;
    for (const [, e] of resources(tf, "aws_vpc_endpoint")) if (e.vpc_endpoint_type === "Interface" && has(e.subnet_ids)) used += 1;
    for (const [, g] of resources(tf, "aws_autoscaling_group")) {
      // max_size covers an instance refresh (twice the fleet); spread over the group's zones, rounded up
      if (has(g.vpc_zone_identifier)) used += Math.ceil(g.max_size / g.vpc_zone_identifier.length);
    }
    for (const [, lb] of resources(tf, "aws_lb")) {
      if ((lb.subnet_mapping ?? []).some((m: any) => m.subnet_id === ref)) used += 1;
      // an NLB that lets AWS choose its address needs 8 free addresses (ELB user guide, "Availability Zones")
      if (has(lb.subnets)) [used, mustStayFree] = [used + 1, Math.max(mustStayFree, 8)];
    }
    for (const [, r] of resources(tf, "aws_route53_resolver_endpoint")) used += r.ip_address.filter((a: any) => a.subnet_id === ref).length;
    for (const [, n] of resources(tf, "aws_nat_gateway")) if (n.subnet_id === ref) used += 1;
    for (const [, a] of resources(tf, "aws_ec2_transit_gateway_vpc_attachment")) if (has(a.subnet_ids)) used += 1;
    for (const [, f] of resources(tf, "aws_networkfirewall_firewall")) if (f.subnet_mapping.some((m: any) => m.subnet_id === ref)) used += 1;
    // Client VPN: a /27 or larger with 20 free addresses at all times (Client VPN admin guide, target network requirements)
    const clientVpn = resources(tf, "aws_ec2_client_vpn_network_association").some(([, a]) => a.subnet_id === ref);
    if (clientVpn) {
      expect(prefixOf(cidr)).toBeLessThanOrEqual(27);
      used += 1;
      mustStayFree = Math.max(mustStayFree, 20);
    }
    expect(used).toBeGreaterThan(0); // every subnet holds something
    expect(usable(cidr) - used).toBeGreaterThanOrEqual(mustStayFree);
  });
});
