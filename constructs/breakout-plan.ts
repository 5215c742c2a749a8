/**
 * The breakout's plan, known before deploy: the VPC's subnet addresses, fixed host addresses in them, the proxy's
 * addresses, and the capacities of the firewall's rule groups. Pure arithmetic, without provider classes, so
 * validation, the allowlist and the PAC file use it without loading the constructs (breakout-gateway.ts and
 * tenant-proxy.ts build on it).
 */
import * as ipaddr from "ipaddr.js";
import { hostAddress, intToIp, ipToInt } from "../core/cidr";

export { hostAddress };

/** Capacity of the domain allowlist rule group. Fixed, because a change replaces the rule group. */
export const DOMAIN_RULE_GROUP_CAPACITY = 2000;

/** Capacity of the proxy enforcement rule group (fixed for the same reason). */
export const PROXY_RULE_GROUP_CAPACITY = 1000;

/** Subnet tiers, in address order within the VPC CIDR. */
export const SUBNET_TIERS = ["private", "tgw", "firewall", "public"] as const;
export type SubnetTier = (typeof SUBNET_TIERS)[number];

/**
 * How a breakout CIDR is cut. "quartered" (/16 to /22, every config before small networks existed): four equal tier
 * blocks, each four AZ slots (a /22 gives /26 subnets), proxy subnets in the private tier's fourth slot. "compact"
 * (/23 and /24, for towns and villages): the lower half holds the private subnets, the upper half /28 slots for the
 * proxy, Transit Gateway, firewall and public tiers. Prefixes up to /22 keep the quartered cut forever: changing it
 * would move every deployed subnet.
 */
export type PlanLayout = "quartered" | "compact";

/** The longest prefix a breakout CIDR may have. */
export const SMALLEST_BREAKOUT_PREFIX = 24;

/**
 * Size of each compact-layout subnet outside the private tier: AWS's smallest, and what those tiers need. AWS
 * recommends a separate small subnet (/28) per Transit Gateway VPC attachment, which uses one address in it
 * ("Transit Gateway design best practices", Amazon VPC Transit Gateways guide; CreateTransitGatewayVpcAttachment,
 * EC2 API reference); a firewall endpoint and a NAT gateway each take one address too.
 */
const COMPACT_SLOT_PREFIX = 28;

/**
 * Smallest prefix each private subnet may have: Client VPN associates only subnets of /27 or larger with 20 free
 * addresses at all times ("Client VPN target network requirements", AWS Client VPN administrator guide), and the
 * private subnets also hold the relay instances and the Route 53 Resolver endpoints.
 */
export const PRIVATE_SUBNET_MAX_PREFIX = 27;

export function planLayout(vpcCidr: string): PlanLayout {
  const bits = ipaddr.IPv4.parseCIDR(vpcCidr)[1];
  if (bits > SMALLEST_BREAKOUT_PREFIX) throw new Error(`${vpcCidr} is smaller than a /${SMALLEST_BREAKOUT_PREFIX}, the smallest breakout network`);
  return bits <= 22 ? "quartered" : "compact";
}

/**
 * How many availability zones a breakout CIDR holds, with room in each for every tier (private, proxy, Transit
 * Gateway, firewall, public): turning on the proxy tier or Client VPN later moves nothing, so the zone count alone
 * decides. A /24 holds two zones, a /23 four (the Japanese regions offer three), anything larger four.
 */
export function maxAvailabilityZones(vpcCidr: string): number {
  if (planLayout(vpcCidr) === "quartered") return 4;
  return compactSlots(ipaddr.IPv4.parseCIDR(vpcCidr)[1]);
}

/** The longest breakout prefix that holds this many zones (the smallest workable network for them). */
export function smallestPrefixFor(azCount: number): number {
  for (let bits = SMALLEST_BREAKOUT_PREFIX; bits >= 16; bits--) {
    if (maxAvailabilityZones(`10.0.0.0/${bits}`) >= azCount) return bits;
  }
  throw new Error(`no breakout network holds ${azCount} availability zones`);
}

/** Compact layout: the upper half holds four tiers of /28 slots, one slot per zone in each. */
function compactSlots(bits: number): number {
  return Math.min(4, 2 ** (32 - bits - 1) / (4 * 2 ** (32 - COMPACT_SLOT_PREFIX)));
}

export type SubnetPlan = Record<SubnetTier, { block: string; subnets: string[] }>;

/**
 * The address plan. Slots are fixed by AZ position, so adding a zone later adds subnets without moving existing
 * ones. See {@link PlanLayout} for the two cuts.
 */
export function subnetPlan(vpcCidr: string, azCount: number): SubnetPlan {
  if (azCount < 1 || azCount > 4) throw new Error(`between 1 and 4 availability zones are supported, got ${azCount}`);
  const max = maxAvailabilityZones(vpcCidr);
  if (azCount > max) throw new Error(`${vpcCidr} holds at most ${max} availability zones, got ${azCount} (a /${smallestPrefixFor(azCount)} or larger holds them)`);
  const [addr, bits] = ipaddr.IPv4.parseCIDR(vpcCidr);
  const base = ipToInt(addr);
  const toText = (n: number, prefix: number) => `${intToIp(n)}/${prefix}`;
  const plan = {} as SubnetPlan;
  const slots = (blockBase: number, blockBits: number, subnetBits: number) => ({
    block: toText(blockBase, blockBits),
    subnets: Array.from({ length: azCount }, (_, a) => toText(blockBase + a * 2 ** (32 - subnetBits), subnetBits)),
  });
  if (planLayout(vpcCidr) === "quartered") {
    SUBNET_TIERS.forEach((tier, t) => {
      plan[tier] = slots(base + t * 2 ** (32 - bits - 2), bits + 2, bits + 4);
    });
    return plan;
  }
  const n = compactSlots(bits);
  const slotBlockBits = COMPACT_SLOT_PREFIX - Math.log2(n);
  plan.private = slots(base, bits + 1, bits + 1 + Math.log2(n));
  // upper half: proxy (see proxySubnetPlan), then the other tiers, each a block of n /28 slots
  (["tgw", "firewall", "public"] as const).forEach((tier, t) => {
    plan[tier] = slots(compactUpperBase(base, bits) + (t + 1) * 2 ** (32 - slotBlockBits), slotBlockBits, COMPACT_SLOT_PREFIX);
  });
  return plan;
}

function compactUpperBase(base: number, bits: number): number {
  return base + 2 ** (32 - bits - 1);
}

/**
 * Subnets of the tenant-restriction proxy tier. Quartered layout: the fourth AZ slot of the private tier, split in
 * four (a /22 gives /28s); that slot never holds a zone's private subnet, as the Japanese regions offer three zones
 * to new accounts and the config accepts only those. Compact layout: the first /28 slots of the upper half. Own
 * subnets let the firewall tell the proxy's traffic from everyone else's (Client VPN and the relay live in the
 * private subnets), and adding them moves no existing subnet.
 */
export function proxySubnetPlan(vpcCidr: string, azCount: number): string[] {
  if (planLayout(vpcCidr) === "compact") {
    subnetPlan(vpcCidr, azCount); // the same zone-count check
    const [addr, bits] = ipaddr.IPv4.parseCIDR(vpcCidr);
    const upper = compactUpperBase(ipToInt(addr), bits);
    return Array.from({ length: azCount }, (_, a) => `${intToIp(upper + a * 2 ** (32 - COMPACT_SLOT_PREFIX))}/${COMPACT_SLOT_PREFIX}`);
  }
  const plan = subnetPlan(vpcCidr, 4);
  const [addr, bits] = ipaddr.IPv4.parseCIDR(plan.private.subnets[3]);
  const prefix = bits + 2;
  if (prefix > 28) throw new Error(`${vpcCidr} is too small for proxy subnets (they would be /${prefix}; AWS's smallest subnet is /28)`);
  return Array.from({ length: azCount }, (_, a) => `${intToIp(ipToInt(addr) + a * 2 ** (32 - prefix))}/${prefix}`);
}

/** How many zones the Japanese regions offer (the config accepts only those): slot 4 of a tier never holds a zone. */
const ZONES_IN_REGION = 3;

/**
 * Subnets of the relay appliance, one per AZ, or undefined where the plan has no room for them. Own subnets let the
 * firewall tell the relay's traffic from everyone else's: a relay target the firewall cannot read a name from (SMTP
 * submission on 587 with STARTTLS) is passed by port, and only the relay may have that pass; in the private subnets
 * Client VPN's interfaces would share it (full-tunnel devices could run anything over 587 to any host). Placed where
 * no zone ever goes, so adding them moves no existing subnet: quartered layout, the fourth AZ slot of the Transit
 * Gateway tier split in four (a /22 gives /28s); compact /23, the fourth AZ slot of the private tier split in four.
 * A /24 (two zones) is full: there the relay shares the private subnets, and validation refuses targets that would
 * need a port pass (stacks/allowlist.ts).
 */
export function relaySubnetPlan(vpcCidr: string, azCount: number): string[] | undefined {
  subnetPlan(vpcCidr, azCount); // the same zone-count check
  if (azCount > ZONES_IN_REGION) throw new Error(`the relay subnets use the fourth zone slot; ${azCount} zones leave none`);
  const [, bits] = ipaddr.IPv4.parseCIDR(vpcCidr);
  const layout = planLayout(vpcCidr);
  if (layout === "compact" && compactSlots(bits) < 4) return undefined;
  const slot = subnetPlan(vpcCidr, 4)[layout === "quartered" ? "tgw" : "private"].subnets[3];
  const [addr, slotBits] = ipaddr.IPv4.parseCIDR(slot);
  const prefix = slotBits + 2;
  if (prefix > COMPACT_SLOT_PREFIX) throw new Error(`${vpcCidr} is too small for relay subnets (they would be /${prefix}; AWS's smallest subnet is /28)`);
  return Array.from({ length: azCount }, (_, a) => `${intToIp(ipToInt(addr) + a * 2 ** (32 - prefix))}/${prefix}`);
}

/** The port the tenant-restriction proxy listens on (Squid's http_port, the load balancer's listener). */
export const PROXY_PORT = 3128;

/** Offset of the proxy load balancer's fixed address in each proxy subnet (AWS reserves the first four). */
const PROXY_LB_ADDRESS_OFFSET = 4;

/** The proxy's "address:port" in each proxy subnet, known before deploy (the PAC file names them). */
export function proxyEndpoints(subnetCidrs: readonly string[]): string[] {
  return subnetCidrs.map((c) => `${hostAddress(c, PROXY_LB_ADDRESS_OFFSET)}:${PROXY_PORT}`);
}

