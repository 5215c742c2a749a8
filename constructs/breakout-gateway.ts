/**
 * BreakoutGateway: the α′ local breakout itself. LGWAN-side traffic arrives from the Transit Gateway, passes
 * AWS Network Firewall (domain allowlist by TLS SNI / HTTP Host, AWS-managed threat signatures, drop by default)
 * in its own availability zone, leaves through a NAT gateway with a fixed Elastic IP, and returns the same way.
 *
 *   TGW ─► tgw subnet ─► firewall endpoint (same AZ) ─► firewall subnet ─► NAT (EIP) ─► IGW ─► SaaS
 *   SaaS ─► IGW ─► NAT ─► public subnet ─► firewall endpoint (same AZ) ─► firewall subnet ─► TGW
 *
 * DNS: a Route 53 Resolver inbound endpoint for the on-prem DNS servers' conditional forwarders, and a Resolver
 * DNS Firewall on the VPC that answers only allowlisted names.
 */
import { Construct } from "constructs";
import { terraformExpression } from "./terraform-text";
import { customerKey } from "./customer-key";
import { DefaultSecurityGroup } from "@cdktf/provider-aws/lib/default-security-group";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { Ec2TransitGatewayVpcAttachment } from "@cdktf/provider-aws/lib/ec2-transit-gateway-vpc-attachment";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway";
import { NatGateway } from "@cdktf/provider-aws/lib/nat-gateway";
import { NetworkfirewallFirewall } from "@cdktf/provider-aws/lib/networkfirewall-firewall";
import { NetworkfirewallFirewallPolicy } from "@cdktf/provider-aws/lib/networkfirewall-firewall-policy";
import { NetworkfirewallLoggingConfiguration } from "@cdktf/provider-aws/lib/networkfirewall-logging-configuration";
import { NetworkfirewallRuleGroup } from "@cdktf/provider-aws/lib/networkfirewall-rule-group";
import { Route } from "@cdktf/provider-aws/lib/route";
import { RouteTable } from "@cdktf/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktf/provider-aws/lib/route-table-association";
import { Route53ResolverEndpoint } from "@cdktf/provider-aws/lib/route53-resolver-endpoint";
import { Route53ResolverFirewallConfig } from "@cdktf/provider-aws/lib/route53-resolver-firewall-config";
import { Route53ResolverFirewallDomainList } from "@cdktf/provider-aws/lib/route53-resolver-firewall-domain-list";
import { Route53ResolverFirewallRule } from "@cdktf/provider-aws/lib/route53-resolver-firewall-rule";
import { Route53ResolverFirewallRuleGroup } from "@cdktf/provider-aws/lib/route53-resolver-firewall-rule-group";
import { Route53ResolverFirewallRuleGroupAssociation } from "@cdktf/provider-aws/lib/route53-resolver-firewall-rule-group-association";
import { Route53ResolverQueryLogConfig } from "@cdktf/provider-aws/lib/route53-resolver-query-log-config";
import { Route53ResolverQueryLogConfigAssociation } from "@cdktf/provider-aws/lib/route53-resolver-query-log-config-association";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { Subnet } from "@cdktf/provider-aws/lib/subnet";
import { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { DomainPattern, forwarderZones, toDnsFirewallDomains, toNetworkFirewallTarget } from "../catalog/domains";
import type { LogDestinations } from "./log-archive";
import { DOMAIN_RULE_GROUP_CAPACITY, hostAddress, PROXY_RULE_GROUP_CAPACITY, proxySubnetPlan, relaySubnetPlan, subnetPlan, SUBNET_TIERS, SubnetTier } from "./breakout-plan";

// The address plan is pure arithmetic known before deploy; it lives in breakout-plan.ts so validation and the PAC
// file can use it without loading provider classes. Re-exported for the construct's users.
export { hostAddress, proxySubnetPlan, relaySubnetPlan, subnetPlan, SUBNET_TIERS, DOMAIN_RULE_GROUP_CAPACITY, PROXY_RULE_GROUP_CAPACITY } from "./breakout-plan";
export type { SubnetTier } from "./breakout-plan";

/** AWS-managed rule groups (IPS) for strict-order policies; ARN form per the Network Firewall developer guide. */
export const MANAGED_THREAT_RULE_GROUPS = [
  "MalwareDomainsStrictOrder",
  "BotNetCommandAndControlDomainsStrictOrder",
  "ThreatSignaturesMalwareStrictOrder",
  "ThreatSignaturesBotnetStrictOrder",
  "ThreatSignaturesExploitsStrictOrder",
  "ThreatSignaturesWebAttacksStrictOrder",
  "ThreatSignaturesPhishingStrictOrder",
];


/** First Suricata sid of the proxy enforcement rules (the port pass rules use 1000001 and up). */
const PROXY_RULE_SID = 2000001;

/**
 * Suricata rules (strict order, first match wins) that make the proxy impossible to skip:
 * QUIC dropped for HOME_NET (browsers then fall back to TCP, whose TLS SNI the firewall reads), each proxy-only
 * name passed from PROXY_NET and dropped from the rest of HOME_NET, and the proxy's own egress names passed from
 * PROXY_NET only. Matching uses `dotprefix` so `.example.jp` matches the name and its subdomains on a label
 * boundary, exactly like the allowlist (https://docs.suricata.io/en/suricata-7.0.0/rules/transforms.html#dotprefix).
 */
export function proxyEnforcementRules(proxyOnly: readonly DomainPattern[], proxyEgress: readonly DomainPattern[], proxyEgressTls: readonly { domain: DomainPattern; port: number }[] = []): string[] {
  let sid = PROXY_RULE_SID;
  const rules = [`drop udp $HOME_NET any -> $EXTERNAL_NET 443 (msg:"QUIC dropped: browsers fall back to TLS over TCP, which the allowlist and the proxy see"; sid:${sid++}; rev:1;)`];
  const match = (p: DomainPattern, buffer: "tls.sni" | "http.host") =>
    // http.host is normalized to lower case by Suricata, so nocase is only for the SNI
    `${buffer}; dotprefix; content:".${p.name}";${buffer === "tls.sni" ? " nocase;" : ""}${p.includeSubdomains ? "" : " startswith;"} endswith;`;
  const label = (p: DomainPattern) => (p.includeSubdomains ? `*.${p.name}` : p.name);
  for (const p of proxyOnly) {
    rules.push(`pass tls $PROXY_NET any -> $EXTERNAL_NET 443 (msg:"proxy to ${label(p)}"; flow:to_server; ${match(p, "tls.sni")} sid:${sid++}; rev:1;)`);
    rules.push(`pass http $PROXY_NET any -> $EXTERNAL_NET 80 (msg:"proxy to ${label(p)}"; flow:to_server; ${match(p, "http.host")} sid:${sid++}; rev:1;)`);
    rules.push(`drop tls $HOME_NET any -> $EXTERNAL_NET any (msg:"${label(p)} only through the tenant-restriction proxy"; flow:to_server; ${match(p, "tls.sni")} sid:${sid++}; rev:1;)`);
    rules.push(`drop http $HOME_NET any -> $EXTERNAL_NET any (msg:"${label(p)} only through the tenant-restriction proxy"; flow:to_server; ${match(p, "http.host")} sid:${sid++}; rev:1;)`);
  }
  for (const p of proxyEgress) {
    rules.push(`pass tls $PROXY_NET any -> $EXTERNAL_NET 443 (msg:"proxy instances to ${label(p)}"; flow:to_server; ${match(p, "tls.sni")} sid:${sid++}; rev:1;)`);
    rules.push(`pass http $PROXY_NET any -> $EXTERNAL_NET 80 (msg:"proxy instances to ${label(p)}"; flow:to_server; ${match(p, "http.host")} sid:${sid++}; rev:1;)`);
  }
  for (const { domain, port } of proxyEgressTls) {
    rules.push(`pass tls $PROXY_NET any -> $EXTERNAL_NET ${port} (msg:"proxy instances to ${label(domain)}:${port}"; flow:to_server; ${match(domain, "tls.sni")} sid:${sid++}; rev:1;)`);
  }
  return rules;
}

/** A port-level pass rule for traffic that carries no name the firewall can read (non-TLS protocols, media). */
export interface PassRule {
  /** shown in alerts and reviews */
  readonly description: string;
  readonly protocol: "tcp" | "udp";
  /** Suricata port spec: "587" or "3478:3481" */
  readonly ports: string;
  /** destination CIDRs; undefined means any external address (then sources must be narrow) */
  readonly destinationCidrs?: readonly string[];
  /** source CIDRs; default HOME_NET */
  readonly sourceCidrs?: readonly string[];
}

export interface BreakoutGatewayProps {
  readonly namePrefix: string;
  /** the account that administers the firewall's customer-managed key */
  readonly accountId: string;
  readonly vpcCidr: string;
  readonly availabilityZones: readonly string[];
  /** On-prem (LGWAN) ranges: routed back to the Transit Gateway, and part of the firewall's HOME_NET. */
  readonly onPremCidrs: readonly string[];
  readonly transitGatewayId: string;
  /** Every allowed destination name (normalized): the firewall, DNS firewall and forwarder zones all use it. */
  readonly allowedDomains: readonly DomainPattern[];
  /** Names only the VPC's own resources resolve (AWS service endpoints), allowed in DNS but not in the firewall. */
  readonly internalDnsNames?: readonly string[];
  /** Port-level pass rules (UDP media, non-TLS relay targets). @default none */
  readonly passRules?: readonly PassRule[];
  /**
   * Names only the tenant-restriction proxy may reach (they need its header): their TLS SNI and HTTP Host pass only
   * from the proxy subnets, which this construct then creates. @default none (no proxy subnets)
   */
  readonly proxyOnlyDomains?: readonly DomainPattern[];
  /**
   * Own subnets for the relay appliance (relaySubnetPlan), so the firewall can tell its traffic from Client VPN's.
   * Where the address plan has no room (a /24), none are made and the relay uses the private subnets. @default false
   */
  readonly relaySubnets?: boolean;
  /** Names the proxy instances themselves need (OS repositories, signature mirrors), passed from the proxy subnets only. @default none */
  readonly proxyEgressDomains?: readonly DomainPattern[];
  /** TLS services on other ports the proxy instances need (an external ICAPS engine), from the proxy subnets only. @default none */
  readonly proxyEgressTls?: readonly { readonly domain: DomainPattern; readonly port: number }[];
  /** Who may query the inbound resolver (the on-prem DNS servers). */
  readonly dnsClientCidrs: readonly string[];
  readonly logs: LogDestinations;
}

export class BreakoutGateway extends Construct {
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly plan: Record<SubnetTier, { block: string; subnets: string[] }>;
  readonly privateSubnetIds: string[];
  readonly privateRouteTableIds: string[];
  readonly transitGatewayAttachmentId: string;
  readonly natGatewayIds: string[];
  /** the fixed egress addresses, one per AZ (tokens until apply) */
  readonly egressIps: string[];
  readonly firewallArn: string;
  /** HOME_NET of the firewall */
  readonly homeNet: string[];
  /** fixed addresses of the inbound resolver, one per AZ: the on-prem DNS servers' forwarder targets */
  readonly resolverInboundIps: string[];
  /** zones the on-prem DNS servers forward to the inbound resolver */
  readonly forwarderZones: string[];
  /** Network Firewall domain-list targets, in order */
  readonly firewallTargets: string[];
  /** proxy tier subnets, one per AZ (empty without proxyOnlyDomains) */
  readonly proxySubnetIds: string[];
  readonly proxySubnetCidrs: string[];
  readonly proxyRouteTableIds: string[];
  /** the relay's own subnets, one per AZ (empty without relaySubnets, or where the plan has no room) */
  readonly relaySubnetIds: string[];
  readonly relaySubnetCidrs: string[];
  readonly relayRouteTableIds: string[];

  constructor(scope: Construct, id: string, props: BreakoutGatewayProps) {
    super(scope, id);
    const azs = props.availabilityZones;
    if (props.allowedDomains.length === 0) throw new Error("allowedDomains must not be empty");
    const targets = props.allowedDomains.map(toNetworkFirewallTarget);
    if (targets.length * 2 > DOMAIN_RULE_GROUP_CAPACITY) {
      throw new Error(`${targets.length} domains need ${targets.length * 2} capacity; the allowlist holds ${DOMAIN_RULE_GROUP_CAPACITY}`);
    }
    this.firewallTargets = targets;
    this.vpcCidr = props.vpcCidr;
    this.plan = subnetPlan(props.vpcCidr, azs.length);
    this.homeNet = [...props.onPremCidrs, props.vpcCidr];
    const name = (s: string) => `${props.namePrefix}-${s}`;

    const vpc = new Vpc(this, "Vpc", { cidrBlock: props.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true, tags: { Name: name("breakout") } });
    this.vpcId = vpc.id;
    // The default security group admits nothing, so nothing can fall back on it.
    new DefaultSecurityGroup(this, "DefaultSecurityGroup", { vpcId: vpc.id, ingress: [], egress: [] });
    const flowLogs = props.logs.s3Destination(`vpc-flow-logs/${props.namePrefix}-breakout`);
    new FlowLog(this, "FlowLog", {
      vpcId: vpc.id,
      trafficType: "ALL",
      logDestinationType: "s3",
      logDestination: flowLogs.arnWithPrefix,
      maxAggregationInterval: 60,
      dependsOn: flowLogs.dependsOn,
    });

    const subnets = {} as Record<SubnetTier, Subnet[]>;
    for (const tier of SUBNET_TIERS) {
      subnets[tier] = azs.map(
        (az, i) =>
          new Subnet(this, `${cap(tier)}Subnet${i}`, {
            vpcId: vpc.id,
            availabilityZone: az,
            cidrBlock: this.plan[tier].subnets[i],
            mapPublicIpOnLaunch: false,
            tags: { Name: name(`${tier}-${az}`) },
          }),
      );
    }
    this.privateSubnetIds = subnets.private.map((s) => s.id);

    const attachment = new Ec2TransitGatewayVpcAttachment(this, "TgwAttachment", {
      transitGatewayId: props.transitGatewayId,
      vpcId: vpc.id,
      subnetIds: subnets.tgw.map((s) => s.id),
      // keeps both directions of a flow in one AZ, so the stateful firewall sees them both
      applianceModeSupport: "enable",
      dnsSupport: "enable",
      transitGatewayDefaultRouteTableAssociation: false,
      transitGatewayDefaultRouteTablePropagation: false,
      tags: { Name: name("inspection") },
    });
    this.transitGatewayAttachmentId = attachment.id;

    const igw = new InternetGateway(this, "InternetGateway", { vpcId: vpc.id, tags: { Name: name("igw") } });
    const eips = azs.map(
      (az, i) =>
        new Eip(this, `EgressIp${i}`, {
          domain: "vpc",
          tags: { Name: name(`egress-${az}`) },
          // SaaS tenants list these addresses (kintone IP制限, Entra named locations): losing one locks users out
          lifecycle: { preventDestroy: true },
        }),
    );
    this.egressIps = eips.map((e) => e.publicIp);
    const nats = azs.map(
      (az, i) =>
        new NatGateway(this, `NatGateway${i}`, {
          allocationId: eips[i].id,
          subnetId: subnets.public[i].id,
          connectivityType: "public",
          tags: { Name: name(`nat-${az}`) },
          dependsOn: [igw],
        }),
    );
    this.natGatewayIds = nats.map((n) => n.id);

    const firewall = this.networkFirewall(props, vpc.id, subnets.firewall, targets);
    this.firewallArn = firewall.arn;
    const endpointIn = (az: string) =>
      // the firewall endpoint of one AZ, read from the firewall's sync states (no data source, so plans stay offline)
      terraformExpression(`[for s in ${firewall.terraformResourceType}.${firewall.friendlyUniqueId}.firewall_status[0].sync_states : s.attachment[0].endpoint_id if s.availability_zone == "${az}"][0]`);

    // Own subnets of the proxy tier and the relay (where asked for), before the routes: the public route tables
    // send each subnet's return traffic back through the firewall.
    this.proxySubnetCidrs = props.proxyOnlyDomains?.length ? proxySubnetPlan(props.vpcCidr, azs.length) : [];
    const proxySubnets = this.proxySubnetCidrs.map(
      (cidr, i) => new Subnet(this, `ProxySubnet${i}`, { vpcId: vpc.id, availabilityZone: azs[i], cidrBlock: cidr, mapPublicIpOnLaunch: false, tags: { Name: name(`proxy-${azs[i]}`) } }),
    );
    this.proxySubnetIds = proxySubnets.map((s) => s.id);
    this.relaySubnetCidrs = props.relaySubnets ? (relaySubnetPlan(props.vpcCidr, azs.length) ?? []) : [];
    const relaySubnets = this.relaySubnetCidrs.map(
      (cidr, i) => new Subnet(this, `RelaySubnet${i}`, { vpcId: vpc.id, availabilityZone: azs[i], cidrBlock: cidr, mapPublicIpOnLaunch: false, tags: { Name: name(`relay-${azs[i]}`) } }),
    );
    this.relaySubnetIds = relaySubnets.map((s) => s.id);

    type Target = Partial<Record<"vpcEndpointId" | "natGatewayId" | "gatewayId" | "transitGatewayId", string>>;
    const addRoutes = (rt: RouteTable, prefix: string, routes: { key: string | number; cidr: string; target: Target }[]) =>
      routes.forEach((r) => new Route(this, `${prefix}-${r.key}`, { routeTableId: rt.id, destinationCidrBlock: r.cidr, ...r.target, dependsOn: r.target.vpcEndpointId ? [firewall] : undefined }));
    const routeTable = (tier: SubnetTier, i: number, routes: { cidr: string; target: Target }[]) => {
      const rt = new RouteTable(this, `${cap(tier)}RouteTable${i}`, { vpcId: vpc.id, tags: { Name: name(`${tier}-${azs[i]}`) } });
      new RouteTableAssociation(this, `${cap(tier)}RouteTableAssociation${i}`, { subnetId: subnets[tier][i].id, routeTableId: rt.id });
      addRoutes(rt, `${cap(tier)}Route${i}`, routes.map((r, k) => ({ key: k, ...r })));
      return rt;
    };
    const toOnPrem = props.onPremCidrs.map((cidr) => ({ cidr, target: { transitGatewayId: props.transitGatewayId } }));
    // Every subnet whose instances, endpoints or clients reach the internet, with its zone: its return traffic from
    // the NAT gateways goes back to the firewall endpoint of its own zone, the one its outbound traffic passed. AWS
    // accepts a route more specific than the VPC's local route only if it matches a whole subnet and targets a NAT
    // gateway, network interface or Gateway Load Balancer endpoint (a firewall endpoint is one): one route per subnet
    // ("Subnet route tables", Amazon VPC User Guide; checked by AP-PRE-001).
    const inspected = [
      ...this.plan.private.subnets.map((cidr, i) => ({ key: `PrivateSubnet${i}`, cidr, az: azs[i] })),
      ...this.proxySubnetCidrs.map((cidr, i) => ({ key: `ProxySubnet${i}`, cidr, az: azs[i] })),
      ...this.relaySubnetCidrs.map((cidr, i) => ({ key: `RelaySubnet${i}`, cidr, az: azs[i] })),
    ];
    const privateTables: RouteTable[] = [];
    azs.forEach((az, i) => {
      routeTable("tgw", i, [{ cidr: "0.0.0.0/0", target: { vpcEndpointId: endpointIn(az) } }]);
      routeTable("firewall", i, [{ cidr: "0.0.0.0/0", target: { natGatewayId: nats[i].id } }, ...toOnPrem]);
      const publicTable = routeTable("public", i, [
        { cidr: "0.0.0.0/0", target: { gatewayId: igw.id } },
        // on-prem flows entered through this zone's firewall endpoint (appliance mode keeps them in one zone)
        ...props.onPremCidrs.map((cidr) => ({ cidr, target: { vpcEndpointId: endpointIn(az) } })),
      ]);
      addRoutes(publicTable, `PublicReturn${i}`, inspected.map((w) => ({ key: w.key, cidr: w.cidr, target: { vpcEndpointId: endpointIn(w.az) } })));
      privateTables.push(routeTable("private", i, [{ cidr: "0.0.0.0/0", target: { vpcEndpointId: endpointIn(az) } }, ...toOnPrem]));
    });
    this.privateRouteTableIds = privateTables.map((t) => t.id);

    // Proxy tier and relay: own route tables, same paths as the private tier (out through the firewall of their AZ).
    const ownTables = (tier: "Proxy" | "Relay", own: Subnet[]) =>
      own.map((subnet, i) => {
        const rt = new RouteTable(this, `${tier}RouteTable${i}`, { vpcId: vpc.id, tags: { Name: name(`${tier.toLowerCase()}-${azs[i]}`) } });
        new RouteTableAssociation(this, `${tier}RouteTableAssociation${i}`, { subnetId: subnet.id, routeTableId: rt.id });
        addRoutes(rt, `${tier}Route${i}`, [{ cidr: "0.0.0.0/0", target: { vpcEndpointId: endpointIn(azs[i]) } }, ...toOnPrem].map((r, k) => ({ key: k, ...r })));
        return rt.id;
      });
    this.proxyRouteTableIds = ownTables("Proxy", proxySubnets);
    this.relayRouteTableIds = ownTables("Relay", relaySubnets);

    const dns = this.dns(props, vpc.id, subnets.private);
    this.resolverInboundIps = dns.inboundIps;
    this.forwarderZones = forwarderZones(props.allowedDomains);
  }

  private networkFirewall(props: BreakoutGatewayProps, vpcId: string, firewallSubnets: Subnet[], targets: string[]): NetworkfirewallFirewall {
    const name = (s: string) => `${props.namePrefix}-${s}`;
    // The policy and rule groups are the allowlist: encrypted with a key the municipality owns, audits and can revoke
    // (AP-KMS-003). Network Firewall uses the key on behalf of whoever creates or updates these resources (Network
    // Firewall Developer Guide, "Encryption at rest with AWS KMS"), so the key policy names no service:
    // AccountAdministers leaves it to the account's IAM policies to allow the deploying role. The provider's own
    // acceptance test (TestAccNetworkFirewallFirewall_encryptionConfiguration) uses a key with the default policy.
    const key = customerKey(this, "FirewallKey", {
      description: `${props.namePrefix}: encrypts the Network Firewall, its policy and rule groups (the allowlist)`,
      accountId: props.accountId,
      statements: [],
    });
    new KmsAlias(this, "FirewallKeyAlias", { name: `alias/${name("firewall")}`, targetKeyId: key.keyId });
    const encryptionConfiguration = { type: "CUSTOMER_KMS", keyId: key.arn };
    const homeNet = { key: "HOME_NET", ipSet: { definition: this.homeNet } };
    const allowlist = new NetworkfirewallRuleGroup(this, "DomainAllowlist", {
      name: name("domain-allowlist"),
      type: "STATEFUL",
      capacity: DOMAIN_RULE_GROUP_CAPACITY,
      description: "Allowlisted SaaS domains (TLS SNI and HTTP Host); other HTTP/TLS from HOME_NET is dropped",
      encryptionConfiguration,
      ruleGroup: {
        ruleVariables: { ipSets: [homeNet] },
        rulesSource: { rulesSourceList: { generatedRulesType: "ALLOWLIST", targetTypes: ["TLS_SNI", "HTTP_HOST"], targets } },
        statefulRuleOptions: { ruleOrder: "STRICT_ORDER" },
      },
    });
    const references = MANAGED_THREAT_RULE_GROUPS.map((g, i) => ({
      priority: 100 + i * 10,
      resourceArn: `arn:aws:network-firewall:${regionOf(props.availabilityZones[0])}:aws-managed:stateful-rulegroup/${g}`,
    }));
    references.push({ priority: 1000, resourceArn: allowlist.arn });
    if (props.proxyOnlyDomains?.length) {
      const proxyNet = { key: "PROXY_NET", ipSet: { definition: proxySubnetPlan(props.vpcCidr, props.availabilityZones.length) } };
      const rules = proxyEnforcementRules(props.proxyOnlyDomains, props.proxyEgressDomains ?? [], props.proxyEgressTls ?? []);
      if (rules.length > PROXY_RULE_GROUP_CAPACITY) throw new Error(`${rules.length} proxy enforcement rules exceed the rule group's capacity of ${PROXY_RULE_GROUP_CAPACITY}`);
      const enforcement = new NetworkfirewallRuleGroup(this, "ProxyEnforcement", {
        name: name("proxy-enforcement"),
        type: "STATEFUL",
        capacity: PROXY_RULE_GROUP_CAPACITY,
        description: "Hosts that need a tenant header pass only from the proxy subnets; QUIC is dropped so browsers use TCP",
        encryptionConfiguration,
        ruleGroup: {
          ruleVariables: { ipSets: [homeNet, proxyNet] },
          rulesSource: { rulesString: rules.join("\n") },
          statefulRuleOptions: { ruleOrder: "STRICT_ORDER" },
        },
      });
      // before the allowlist, which would pass these names from anywhere in HOME_NET
      references.push({ priority: 900, resourceArn: enforcement.arn });
    }
    const passRules = props.passRules ?? [];
    if (passRules.length) {
      const rules = passRules.map((r, i) => {
        const src = r.sourceCidrs?.length ? `[${r.sourceCidrs.join(",")}]` : "$HOME_NET";
        const dst = r.destinationCidrs?.length ? `[${r.destinationCidrs.join(",")}]` : "$EXTERNAL_NET";
        const flow = r.protocol === "tcp" ? "flow:to_server; " : "";
        return `pass ${r.protocol} ${src} any -> ${dst} ${r.ports} (msg:"${r.description.replace(/[";\\]/g, " ")}"; ${flow}sid:${1000001 + i}; rev:1;)`;
      });
      const ports = new NetworkfirewallRuleGroup(this, "PortPassRules", {
        name: name("port-pass-rules"),
        type: "STATEFUL",
        capacity: 100,
        description: "Non-TLS traffic the allowlist cannot name: UDP media ranges and relay targets",
        encryptionConfiguration,
        ruleGroup: {
          ruleVariables: { ipSets: [homeNet] },
          rulesSource: { rulesString: rules.join("\n") },
          statefulRuleOptions: { ruleOrder: "STRICT_ORDER" },
        },
      });
      references.push({ priority: 1100, resourceArn: ports.arn });
    }
    const policy = new NetworkfirewallFirewallPolicy(this, "FirewallPolicy", {
      name: name("policy"),
      encryptionConfiguration,
      firewallPolicy: {
        statelessDefaultActions: ["aws:forward_to_sfe"],
        statelessFragmentDefaultActions: ["aws:forward_to_sfe"],
        // anything no rule passes is dropped once its application layer is known, and alerted on
        statefulDefaultActions: ["aws:drop_established", "aws:alert_established"],
        statefulEngineOptions: { ruleOrder: "STRICT_ORDER", streamExceptionPolicy: "REJECT" },
        statefulRuleGroupReference: references,
        policyVariables: { ruleVariables: [homeNet] },
      },
    });
    const firewall = new NetworkfirewallFirewall(this, "Firewall", {
      name: name("firewall"),
      firewallPolicyArn: policy.arn,
      vpcId,
      subnetMapping: firewallSubnets.map((s) => ({ subnetId: s.id })),
      deleteProtection: true,
      subnetChangeProtection: true,
      firewallPolicyChangeProtection: false,
      encryptionConfiguration,
    });
    const alert = props.logs.s3Destination("network-firewall/alert");
    const flow = props.logs.s3Destination("network-firewall/flow");
    new NetworkfirewallLoggingConfiguration(this, "FirewallLogging", {
      firewallArn: firewall.arn,
      loggingConfiguration: {
        logDestinationConfig: [
          { logType: "ALERT", logDestinationType: "S3", logDestination: { bucketName: alert.bucketName, prefix: alert.prefix.replace(/\/$/, "") } },
          { logType: "FLOW", logDestinationType: "S3", logDestination: { bucketName: flow.bucketName, prefix: flow.prefix.replace(/\/$/, "") } },
        ],
      },
      dependsOn: alert.dependsOn,
    });
    return firewall;
  }

  private dns(props: BreakoutGatewayProps, vpcId: string, privateSubnets: Subnet[]): { inboundIps: string[] } {
    const name = (s: string) => `${props.namePrefix}-${s}`;
    const sg = new SecurityGroup(this, "ResolverSecurityGroup", {
      name: name("resolver-inbound"),
      description: "Route 53 Resolver inbound endpoint: DNS from the on-prem DNS servers and VPC clients only",
      vpcId,
      egress: [],
      ingress: [],
    });
    const sources = [...props.dnsClientCidrs, this.plan.private.block];
    sources.forEach((cidr, i) => {
      for (const protocol of ["udp", "tcp"]) {
        new VpcSecurityGroupIngressRule(this, `ResolverIngress-${protocol}-${i}`, {
          securityGroupId: sg.id,
          cidrIpv4: cidr,
          ipProtocol: protocol,
          fromPort: 53,
          toPort: 53,
          description: i < props.dnsClientCidrs.length ? "DNS from on-prem DNS servers" : "DNS from clients in the breakout VPC (Client VPN, relay)",
        });
      }
    });
    const inboundIps = this.plan.private.subnets.map((cidr) => hostAddress(cidr, 10));
    new Route53ResolverEndpoint(this, "InboundResolver", {
      name: name("inbound"),
      direction: "INBOUND",
      securityGroupIds: [sg.id],
      protocols: ["Do53"],
      ipAddress: privateSubnets.map((s, i) => ({ subnetId: s.id, ip: inboundIps[i] })),
    });

    // DNS firewall: allowlisted names resolve, everything else gets NXDOMAIN.
    const allowed = new Route53ResolverFirewallDomainList(this, "DnsAllowlist", {
      name: name("dns-allowlist"),
      domains: [...props.allowedDomains.flatMap(toDnsFirewallDomains), ...(props.internalDnsNames ?? []).map((n) => `${n}.`)],
    });
    const everything = new Route53ResolverFirewallDomainList(this, "DnsEverything", { name: name("dns-everything"), domains: ["*"] });
    const group = new Route53ResolverFirewallRuleGroup(this, "DnsFirewallRuleGroup", { name: name("dns-firewall") });
    new Route53ResolverFirewallRule(this, "DnsAllowRule", {
      name: "allow-allowlisted",
      action: "ALLOW",
      firewallDomainListId: allowed.id,
      firewallRuleGroupId: group.id,
      priority: 100,
      // SaaS names CNAME into CDNs (akamaiedge.net, cloudfront.net…): follow the chain of an allowed name
      firewallDomainRedirectionAction: "TRUST_REDIRECTION_DOMAIN",
    });
    new Route53ResolverFirewallRule(this, "DnsBlockRule", {
      name: "block-everything-else",
      action: "BLOCK",
      blockResponse: "NXDOMAIN",
      firewallDomainListId: everything.id,
      firewallRuleGroupId: group.id,
      priority: 200,
    });
    new Route53ResolverFirewallRuleGroupAssociation(this, "DnsFirewallAssociation", {
      name: name("dns-firewall"),
      firewallRuleGroupId: group.id,
      vpcId,
      priority: 101,
      mutationProtection: "ENABLED",
    });
    // fail closed: if the DNS firewall cannot answer, queries are not resolved
    new Route53ResolverFirewallConfig(this, "DnsFirewallConfig", { resourceId: vpcId, firewallFailOpen: "DISABLED" });
    const queryDestination = props.logs.s3Destination("dns-query-logs");
    const queryLogs = new Route53ResolverQueryLogConfig(this, "QueryLogConfig", {
      name: name("dns-query-logs"),
      destinationArn: queryDestination.arnWithPrefix.replace(/\/$/, ""),
      dependsOn: queryDestination.dependsOn,
    });
    new Route53ResolverQueryLogConfigAssociation(this, "QueryLogAssociation", { resolverQueryLogConfigId: queryLogs.id, resourceId: vpcId });
    return { inboundIps };
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function regionOf(az: string): string {
  return az.replace(/[a-z]$/, "");
}
