/**
 * The adjustable AWS service quotas a municipality's stack uses, with their default values: what the preflight quota
 * rule (AP-PRE-006) counts in a synthesized stack, and what the README's per-tier table is computed from. Defaults
 * are per account and Region; an account may already use some of them, which only the account can tell.
 */
// the type only: synthesis loads this module, and a stack may read no more of the tier table than its own row (the
// row is what its fingerprint holds, stacks/inputs.ts); the README's table is given the rows by its caller
import type { BandwidthTier } from "../constructs/bandwidth-tier";
import { instanceSpec } from "../constructs/proxy-capacity";
import { asArray, Resource, StackModel } from "./model";

export interface Quota {
  readonly id: string;
  /** the quota's name in the Service Quotas console */
  readonly name: string;
  /** its Service Quotas code, where we have checked it */
  readonly code?: string;
  readonly defaultValue: number;
  /** the page that states the default */
  readonly source: string;
}

const VPC = "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html";
const S2S = "https://docs.aws.amazon.com/vpn/latest/s2svpn/vpn-limits.html";
const TGW = "https://docs.aws.amazon.com/vpc/latest/tgw/transit-gateway-quotas.html";
const CVPN = "https://docs.aws.amazon.com/vpn/latest/clientvpn-admin/limits.html";
const NFW = "https://docs.aws.amazon.com/network-firewall/latest/developerguide/quotas.html";
const R53 = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html";

export const QUOTAS = {
  vpnConnections: { id: "vpnConnections", name: "Site-to-Site VPN connections per Region", defaultValue: 50, source: S2S },
  customerGateways: { id: "customerGateways", name: "Customer gateways per Region", code: "L-4FB7FF5D", defaultValue: 50, source: S2S },
  elasticIps: { id: "elasticIps", name: "EC2-VPC Elastic IPs", code: "L-0263D0A3", defaultValue: 5, source: VPC },
  natGatewaysPerAz: { id: "natGatewaysPerAz", name: "NAT gateways per Availability Zone", code: "L-FE5A380F", defaultValue: 5, source: VPC },
  routesPerRouteTable: { id: "routesPerRouteTable", name: "Routes per route table (non-propagated routes)", defaultValue: 50, source: VPC },
  rulesPerSecurityGroup: { id: "rulesPerSecurityGroup", name: "Inbound or outbound rules per security group", defaultValue: 60, source: VPC },
  securityGroupsPerInterface: { id: "securityGroupsPerInterface", name: "Security groups per network interface", defaultValue: 5, source: VPC },
  interfaceEndpointsPerVpc: { id: "interfaceEndpointsPerVpc", name: "Interface VPC endpoints per VPC", defaultValue: 50, source: VPC },
  transitGateways: { id: "transitGateways", name: "Transit gateways per account", code: "L-A2478D36", defaultValue: 5, source: TGW },
  transitGatewayRouteTables: { id: "transitGatewayRouteTables", name: "Transit gateway route tables per transit gateway", code: "L-43872EB7", defaultValue: 20, source: TGW },
  transitGatewayRoutes: { id: "transitGatewayRoutes", name: "Routes per transit gateway (all route tables, static and dynamic)", code: "L-BCC1FB47", defaultValue: 10_000, source: TGW },
  clientVpnEndpoints: { id: "clientVpnEndpoints", name: "Client VPN endpoints per Region", code: "L-8EA77D34", defaultValue: 5, source: CVPN },
  clientVpnAuthorizationRules: { id: "clientVpnAuthorizationRules", name: "Authorization rules per Client VPN endpoint", code: "L-9A1BC94B", defaultValue: 200, source: CVPN },
  clientVpnRoutesPerAssociation: { id: "clientVpnRoutesPerAssociation", name: "Routes per Client VPN target network association", defaultValue: 100, source: CVPN },
  firewalls: { id: "firewalls", name: "Network Firewall firewalls per account per Region", defaultValue: 5, source: NFW },
  firewallPolicies: { id: "firewallPolicies", name: "Network Firewall firewall policies per account per Region", defaultValue: 20, source: NFW },
  statefulRuleGroups: { id: "statefulRuleGroups", name: "Network Firewall stateful rule groups per account per Region", defaultValue: 50, source: NFW },
  dnsFirewallDomainsPerList: { id: "dnsFirewallDomainsPerList", name: "Route 53 Resolver DNS Firewall domains per domain list", defaultValue: 100_000, source: R53 },
} as const satisfies Record<string, Quota>;

export type QuotaId = keyof typeof QUOTAS;

/** One place where a stack uses a quota: the resource (or scope) and how much of it. */
export interface QuotaUse {
  readonly quota: Quota;
  readonly address: string;
  readonly used: number;
}

function perKey(resources: readonly Resource[], key: (r: Resource) => string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of resources) {
    const k = key(r);
    if (k) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Everything a stack uses of each quota, counted from its own resources (one entry per scope the quota applies to). */
export function quotaUses(model: StackModel): QuotaUse[] {
  const Q = QUOTAS;
  const uses: QuotaUse[] = [];
  const add = (quota: Quota, address: string, used: number) => used > 0 && uses.push({ quota, address, used });
  const count = (quota: Quota, types: string[], address = "stack") => add(quota, address, model.ofType(...types).length);
  const ref = (v: unknown) => model.referenced(v)?.address;

  count(Q.vpnConnections, ["aws_vpn_connection"]);
  count(Q.customerGateways, ["aws_customer_gateway"]);
  count(Q.elasticIps, ["aws_eip"]);
  count(Q.transitGateways, ["aws_ec2_transit_gateway"]);
  count(Q.clientVpnEndpoints, ["aws_ec2_client_vpn_endpoint"]);
  count(Q.firewalls, ["aws_networkfirewall_firewall"]);
  count(Q.firewallPolicies, ["aws_networkfirewall_firewall_policy"]);
  add(Q.statefulRuleGroups, "stack", model.ofType("aws_networkfirewall_rule_group").filter((g) => g.values.type === "STATEFUL").length);
  const natZone = (n: Resource) => model.referenced(n.values.subnet_id)?.values.availability_zone;
  for (const [az, n] of perKey(model.ofType("aws_nat_gateway"), natZone)) add(Q.natGatewaysPerAz, az, n);

  // routes: aws_route and inline routes per table, plus one per gateway endpoint attached to the table
  const routes = perKey(model.ofType("aws_route"), (r) => ref(r.values.route_table_id));
  for (const t of model.ofType("aws_route_table")) routes.set(t.address, (routes.get(t.address) ?? 0) + asArray(t.values.route).length);
  for (const e of model.ofType("aws_vpc_endpoint").filter((x) => x.values.vpc_endpoint_type === "Gateway")) {
    for (const t of asArray<string>(e.values.route_table_ids)) {
      const a = ref(t);
      if (a) routes.set(a, (routes.get(a) ?? 0) + 1);
    }
  }
  for (const [table, n] of routes) add(Q.routesPerRouteTable, table, n);

  // security group rules, inbound and outbound apart, in all three spellings
  for (const direction of ["ingress", "egress"] as const) {
    const rules = perKey(model.ofType(`aws_vpc_security_group_${direction}_rule`), (r) => ref(r.values.security_group_id));
    for (const r of model.ofType("aws_security_group_rule").filter((x) => x.values.type === direction)) {
      const a = ref(r.values.security_group_id);
      if (a) rules.set(a, (rules.get(a) ?? 0) + 1);
    }
    for (const sg of model.ofType("aws_security_group")) rules.set(sg.address, (rules.get(sg.address) ?? 0) + asArray(sg.values[direction]).length);
    for (const [sg, n] of rules) add(Q.rulesPerSecurityGroup, `${sg} (${direction === "ingress" ? "inbound" : "outbound"})`, n);
  }
  // security groups on one network interface: launch templates, endpoints, load balancers, Client VPN
  for (const t of model.ofType("aws_launch_template")) for (const ni of asArray<any>(t.values.network_interfaces)) add(Q.securityGroupsPerInterface, t.address, asArray(ni.security_groups).length);
  for (const r of model.ofType("aws_vpc_endpoint", "aws_ec2_client_vpn_endpoint")) add(Q.securityGroupsPerInterface, r.address, asArray(r.values.security_group_ids).length);
  for (const r of model.ofType("aws_lb")) add(Q.securityGroupsPerInterface, r.address, asArray(r.values.security_groups).length);
  for (const [vpc, n] of perKey(model.ofType("aws_vpc_endpoint").filter((e) => e.values.vpc_endpoint_type === "Interface"), (e) => ref(e.values.vpc_id))) add(Q.interfaceEndpointsPerVpc, vpc, n);

  for (const [tgw, n] of perKey(model.ofType("aws_ec2_transit_gateway_route_table"), (t) => ref(t.values.transit_gateway_id))) add(Q.transitGatewayRouteTables, tgw, n);
  // Routes across a transit gateway's route tables: its static routes, and at least one propagated route per LGWAN
  // segment for each VPN attachment propagating into a table (what the sites advertise is known only on-prem).
  const segments = model.context.lgwanSegments?.length ?? 1;
  const tgwRoutes = model.ofType("aws_ec2_transit_gateway_route").length + model.ofType("aws_ec2_transit_gateway_route_table_propagation").length * segments;
  if (model.ofType("aws_ec2_transit_gateway").length === 1) add(Q.transitGatewayRoutes, model.ofType("aws_ec2_transit_gateway")[0].address, tgwRoutes);

  for (const [endpoint, n] of perKey(model.ofType("aws_ec2_client_vpn_authorization_rule"), (a) => ref(a.values.client_vpn_endpoint_id))) add(Q.clientVpnAuthorizationRules, endpoint, n);
  for (const [subnet, n] of perKey(model.ofType("aws_ec2_client_vpn_route"), (r) => r.values.target_vpc_subnet_id)) add(Q.clientVpnRoutesPerAssociation, ref(subnet) ?? subnet, n);
  for (const l of model.ofType("aws_route53_resolver_firewall_domain_list")) add(Q.dnsFirewallDomainsPerList, l.address, asArray(l.values.domains).length);
  return uses;
}

/** What one tier needs of the quotas that grow with it, for a municipality of `sites` sites in `zones` zones. */
export function tierNeeds(tier: BandwidthTier, sites: number, zones: number): { vpnConnections: number; maxSitesAtDefault: number; peakVcpus: number } {
  // vCPUs come from the one table of instance specifications (constructs/proxy-capacity.ts), which cites its pages.
  // An instance refresh runs up to twice the fleet (min healthy 100 %, max healthy 200 %): the relay's fleet, and the
  // proxy's at its scaling maximum, since a refresh may start while the morning's sign-ins hold it scaled out.
  const peak = 2 * zones * (tier.relayInstancesPerAz * instanceSpec(tier.relayInstanceType).vcpus + tier.proxyMaxInstancesPerAz * instanceSpec(tier.proxyInstanceType).vcpus);
  return { vpnConnections: sites * tier.vpnConnectionsPerSite, maxSitesAtDefault: Math.floor(QUOTAS.vpnConnections.defaultValue / tier.vpnConnectionsPerSite), peakVcpus: peak };
}

/** The README's table of what each tier needs of the quotas that grow with it (a test keeps the README equal to it). */
export function tierQuotaTable(tiers: readonly BandwidthTier[], zones = 3): string {
  const rows = tiers.map((t) => {
    const n = tierNeeds(t, 1, zones);
    return `| ${t.id} | ${t.vpnConnectionsPerSite} | ${n.maxSitesAtDefault} | ${n.peakVcpus} |`;
  });
  return [
    `| tier | VPN connections per site | sites within the default ${QUOTAS.vpnConnections.defaultValue} VPN connections per Region | peak vCPUs, relay + proxy, ${zones} zones, during an instance refresh |`,
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}
