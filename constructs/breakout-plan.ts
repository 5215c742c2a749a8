/**
 * The breakout's plan, known before deploy: the VPC's subnet addresses, fixed host addresses in them, the proxy's
 * addresses, and the capacities of the firewall's rule groups. Pure arithmetic, without provider classes, so
 * validation, the allowlist and the PAC file use it without loading the constructs (breakout-gateway.ts and
 * tenant-proxy.ts build on it).
 */
import * as ipaddr from "ipaddr.js";

/** Capacity of the domain allowlist rule group. Fixed, because a change replaces the rule group. */
export const DOMAIN_RULE_GROUP_CAPACITY = 2000;

/** Capacity of the proxy enforcement rule group (fixed for the same reason). */
export const PROXY_RULE_GROUP_CAPACITY = 1000;

/** Subnet tiers, in address order within the VPC CIDR. */
export const SUBNET_TIERS = ["private", "tgw", "firewall", "public"] as const;
export type SubnetTier = (typeof SUBNET_TIERS)[number];

/**
 * The address plan: the VPC CIDR split into four equal tier blocks, each split into four AZ slots
 * (so a /22 gives /24 tiers and /26 subnets). Slots are fixed by AZ position, so adding a zone later adds
 * subnets without moving existing ones.
 */
export function subnetPlan(vpcCidr: string, azCount: number): Record<SubnetTier, { block: string; subnets: string[] }> {
  if (azCount < 1 || azCount > 4) throw new Error(`between 1 and 4 availability zones are supported, got ${azCount}`);
  const [addr, bits] = ipaddr.IPv4.parseCIDR(vpcCidr);
  const base = ipToInt(addr);
  const toText = (n: number, prefix: number) => `${intToIp(n)}/${prefix}`;
  const tierBits = bits + 2;
  const subnetBits = bits + 4;
  const plan = {} as Record<SubnetTier, { block: string; subnets: string[] }>;
  SUBNET_TIERS.forEach((tier, t) => {
    const tierBase = base + t * 2 ** (32 - tierBits);
    plan[tier] = {
      block: toText(tierBase, tierBits),
      subnets: Array.from({ length: azCount }, (_, a) => toText(tierBase + a * 2 ** (32 - subnetBits), subnetBits)),
    };
  });
  return plan;
}

/**
 * Subnets of the tenant-restriction proxy tier: the fourth AZ slot of the private tier, split in four (a /22 gives
 * /28s). That slot never holds a zone's private subnet: the Japanese regions offer three zones to new accounts, and
 * the config accepts only those. Own subnets let the firewall tell the proxy's traffic from everyone else's
 * (Client VPN and the relay live in the private subnets), and adding them moves no existing subnet.
 */
export function proxySubnetPlan(vpcCidr: string, azCount: number): string[] {
  const plan = subnetPlan(vpcCidr, 4);
  const [addr, bits] = ipaddr.IPv4.parseCIDR(plan.private.subnets[3]);
  const prefix = bits + 2;
  if (prefix > 28) throw new Error(`${vpcCidr} is too small for proxy subnets (they would be /${prefix}; AWS's smallest subnet is /28)`);
  return Array.from({ length: azCount }, (_, a) => `${intToIp(ipToInt(addr) + a * 2 ** (32 - prefix))}/${prefix}`);
}

function ipToInt(a: ipaddr.IPv4): number {
  return a.toByteArray().reduce((n, b) => n * 256 + b, 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** A fixed host address in a subnet (offset past the five AWS reserves), so outputs are known before apply. */
export function hostAddress(subnetCidr: string, offset: number): string {
  return intToIp(ipToInt(ipaddr.IPv4.parseCIDR(subnetCidr)[0]) + offset);
}

/** The port the tenant-restriction proxy listens on (Squid's http_port, the load balancer's listener). */
export const PROXY_PORT = 3128;

/** Offset of the proxy load balancer's fixed address in each proxy subnet (AWS reserves the first four). */
const PROXY_LB_ADDRESS_OFFSET = 4;

/** The proxy's "address:port" in each proxy subnet, known before deploy (the PAC file names them). */
export function proxyEndpoints(subnetCidrs: readonly string[]): string[] {
  return subnetCidrs.map((c) => `${hostAddress(c, PROXY_LB_ADDRESS_OFFSET)}:${PROXY_PORT}`);
}

