/**
 * Bandwidth tiers: the one table that sizes a municipality's breakout from its contracted bandwidth
 * (vendors sell 1 Gbps, 2 Gbps, "scale up later").
 *
 * The arithmetic, honestly:
 * - A standard Site-to-Site VPN tunnel carries up to 1.25 Gbps, and one flow (one TCP connection) always uses
 *   one tunnel, so no single download is ever faster than 1.25 Gbps, whatever the tier.
 *   (https://docs.aws.amazon.com/vpn/latest/s2svpn/vpn-limits.html)
 * - More bandwidth means more tunnels carrying flows side by side: the Transit Gateway spreads flows over
 *   tunnels with equal BGP routes (VPN ECMP). Each connection has two tunnels; we size on ONE tunnel per
 *   connection (1.25 Gbps), so the contracted rate still holds while AWS maintains or loses a tunnel.
 *   Connections per site = ceil(tier Gbps / 1.25).
 * - ECMP only helps when the on-prem router also balances flows over the connections (BGP multipath);
 *   with a router that uses one path, a site gets one tunnel's 1.25 Gbps.
 * - Large (5 Gbps) tunnels exist on Transit Gateway, but hashicorp/aws 5.100.0 (our pinned provider) has no
 *   tunnel_bandwidth argument, so this table uses standard tunnels only.
 * - Other legs are not the bottleneck at these tiers: a NAT gateway scales to 100 Gbps, a Network Firewall
 *   endpoint to 100 Gbps per AZ (AWS service quotas pages).
 * - The tenant-restriction proxy is sized from measurements (constructs/proxy-capacity.ts, bench/proxy.ts): its
 *   floor carries the whole tier bumped at half its CPU, on its baseline network bandwidth, with memory for
 *   ClamAV's full database; scaling may double it. test/proxy-capacity.test.ts holds every tier to that.
 */
import { instanceSpec, squidWorkersFor } from "./proxy-capacity";

export type TierId = "1g" | "2g" | "5g" | "10g";

export interface BandwidthTier {
  readonly id: TierId;
  /** contracted breakout bandwidth */
  readonly gbps: number;
  /** Site-to-Site VPN connections per site (two tunnels each) */
  readonly vpnConnectionsPerSite: number;
  /** relay appliance instance type (Graviton, arm64) */
  readonly relayInstanceType: string;
  /** relay instances per availability zone */
  readonly relayInstancesPerAz: number;
  /** tenant-restriction proxy instance type (Graviton, arm64): it decrypts only sign-in and header hosts, splices the rest */
  readonly proxyInstanceType: string;
  /** proxy instances per availability zone: the Auto Scaling group's floor */
  readonly proxyInstancesPerAz: number;
  /** proxy instances per availability zone at most: scaling on CPU stays within this */
  readonly proxyMaxInstancesPerAz: number;
  /** Squid SMP workers on each proxy instance (one per core, see squidWorkersFor) */
  readonly proxySquidWorkers: number;
  /** alarm when breakout throughput stays above this many bits per second (80% of the tier) */
  readonly throughputAlarmBps: number;
  /** alarm when more Client VPN authentications fail in 5 minutes */
  readonly clientVpnAuthFailuresPer5Min: number;
}

/** Capacity planned per VPN connection: one standard tunnel (the other is the spare). */
export const GBPS_PER_CONNECTION = 1.25;
/** Throughput alarms fire at this share of the contracted bandwidth. */
export const THROUGHPUT_ALARM_SHARE = 0.8;

function tier(id: TierId, gbps: number, relay: [string, number], proxy: [string, number, number], clientVpnAuthFailuresPer5Min: number): BandwidthTier {
  return {
    id,
    gbps,
    vpnConnectionsPerSite: Math.ceil(gbps / GBPS_PER_CONNECTION),
    relayInstanceType: relay[0],
    relayInstancesPerAz: relay[1],
    proxyInstanceType: proxy[0],
    proxyInstancesPerAz: proxy[1],
    proxyMaxInstancesPerAz: proxy[2],
    proxySquidWorkers: squidWorkersFor(instanceSpec(proxy[0])),
    throughputAlarmBps: gbps * 1e9 * THROUGHPUT_ALARM_SHARE,
    clientVpnAuthFailuresPer5Min,
  };
}

/**
 * The table. Higher tiers only add: more connections, larger relay and proxy instances (rolled out by instance
 * refresh). The proxy carries all the allowlisted traffic of PCs that use the PAC file and may have to decrypt
 * nearly all of it (Slack's header is on every Slack host), so bumping sets its CPU; its baseline network
 * bandwidth carries the tier; every type has memory for ClamAV's full database (8 GiB or more). No burstable
 * type: a t4g sustains 20 % of a vCPU without credits. [type, floor per AZ, most per AZ].
 */
export const BANDWIDTH_TIERS: readonly BandwidthTier[] = [
  tier("1g", 1, ["t4g.small", 1], ["m7g.large", 1, 2], 20),
  tier("2g", 2, ["t4g.medium", 1], ["c7g.xlarge", 1, 2], 40),
  tier("5g", 5, ["c7g.large", 1], ["c7g.2xlarge", 1, 2], 100),
  tier("10g", 10, ["c7g.xlarge", 2], ["c7g.2xlarge", 2, 4], 200),
];

export function bandwidthTier(id: string): BandwidthTier {
  const t = BANDWIDTH_TIERS.find((x) => x.id === id);
  if (!t) throw new Error(`unknown bandwidth tier '${id}' (known: ${BANDWIDTH_TIERS.map((x) => x.id).join(", ")})`);
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Monthly cost estimate per tier, from the price list in bandwidth-tier-prices.yaml.

export interface PriceFigure {
  readonly id: string;
  readonly item: string;
  readonly unit: "hour" | "GB" | "month";
  readonly usd: number;
  readonly source: string;
  readonly recordedAt: string;
  readonly status: "verified" | "unverified";
}

export interface PriceList {
  readonly hoursPerMonth: number;
  readonly prices: readonly PriceFigure[];
}

/** What a municipality's stack consists of, for costing (derived from its config, or a reference shape). */
export interface CostShape {
  readonly sites: number;
  readonly availabilityZones: number;
  readonly remoteAccess: boolean;
  readonly relay: boolean;
  /** the tenant-restriction proxy tier */
  readonly proxy: boolean;
}

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly usdPerMonth: number;
  readonly price: PriceFigure;
}

export interface TierCost {
  readonly tier: BandwidthTier;
  readonly fixed: CostLine[];
  readonly fixedUsdPerMonth: number;
  /** TGW + firewall + NAT processing for one TB through the breakout, in either direction */
  readonly usdPerTbThroughBreakout: number;
  /** internet egress for one TB uploaded */
  readonly usdPerTbUploaded: number;
}

const GB_PER_TB = 1024;

export function loadPriceList(file: string): PriceList {
  const { parse } = require("yaml") as typeof import("yaml");
  const fs = require("fs") as typeof import("fs");
  return parse(fs.readFileSync(file, "utf8")) as PriceList;
}

export function estimateTierCost(tier: BandwidthTier, shape: CostShape, list: PriceList): TierCost {
  const price = (id: string): PriceFigure => {
    const p = list.prices.find((x) => x.id === id);
    if (!p) throw new Error(`price list has no figure '${id}'`);
    return p;
  };
  const fixed: CostLine[] = [];
  const add = (id: string, quantity: number) => {
    const p = price(id);
    const perMonth = p.unit === "hour" ? p.usd * list.hoursPerMonth : p.usd;
    if (quantity > 0) fixed.push({ item: p.item, quantity, usdPerMonth: quantity * perMonth, price: p });
  };
  const connections = shape.sites * tier.vpnConnectionsPerSite;
  add("vpnConnectionHour", connections);
  add("tgwAttachmentHour", connections + 1);
  add("firewallEndpointHour", shape.availabilityZones);
  add("natGatewayHour", shape.availabilityZones);
  add("publicIpv4Hour", shape.availabilityZones);
  add("resolverEndpointEniHour", shape.availabilityZones);
  if (shape.remoteAccess) add("clientVpnAssociationHour", shape.availabilityZones);
  if (shape.relay) {
    add(`ec2.${tier.relayInstanceType}`, shape.availabilityZones * tier.relayInstancesPerAz);
    add("nlbHour", 1);
    add("interfaceEndpointHour", 4 * shape.availabilityZones);
  }
  if (shape.proxy) {
    add(`ec2.${tier.proxyInstanceType}`, shape.availabilityZones * tier.proxyInstancesPerAz);
    add("nlbHour", 1);
    // Secrets Manager, plus Session Manager and Logs when no relay has made them already
    add("interfaceEndpointHour", (shape.relay ? 1 : 5) * shape.availabilityZones);
  }
  add("kmsKeyMonth", 2 + (shape.relay ? 1 : 0) + (shape.proxy ? 1 : 0));
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    tier,
    fixed: fixed.map((l) => ({ ...l, usdPerMonth: round(l.usdPerMonth) })),
    fixedUsdPerMonth: round(fixed.reduce((s, l) => s + l.usdPerMonth, 0)),
    usdPerTbThroughBreakout: round((price("tgwDataGb").usd + price("firewallDataGb").usd + price("natDataGb").usd) * GB_PER_TB),
    usdPerTbUploaded: round(price("internetEgressGb").usd * GB_PER_TB),
  };
}
