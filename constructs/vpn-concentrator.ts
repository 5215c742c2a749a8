/**
 * VpnConcentrator: the Transit Gateway every office reaches over IPsec, with strong, monitored tunnels.
 *
 * Routing: VPN attachments are associated with the "on-prem" route table, whose only route sends everything
 * to the inspection VPC (so the Transit Gateway advertises 0.0.0.0/0 to each site over BGP). The inspection
 * attachment is associated with the "inspection" route table, which learns the sites' prefixes from the VPN
 * attachments by propagation. Default association and propagation are off, so nothing is reachable by accident.
 */
import { Construct } from "constructs";
import { CustomerGateway } from "@cdktf/provider-aws/lib/customer-gateway";
import { Ec2TransitGateway } from "@cdktf/provider-aws/lib/ec2-transit-gateway";
import { Ec2TransitGatewayRoute } from "@cdktf/provider-aws/lib/ec2-transit-gateway-route";
import { Ec2TransitGatewayRouteTable } from "@cdktf/provider-aws/lib/ec2-transit-gateway-route-table";
import { Ec2TransitGatewayRouteTableAssociation } from "@cdktf/provider-aws/lib/ec2-transit-gateway-route-table-association";
import { Ec2TransitGatewayRouteTablePropagation } from "@cdktf/provider-aws/lib/ec2-transit-gateway-route-table-propagation";
import { VpnConnection } from "@cdktf/provider-aws/lib/vpn-connection";
import type { LogDestinations } from "./log-archive";

/**
 * The only IPsec algorithms a tunnel may negotiate. Chosen from what AWS offers
 * (https://docs.aws.amazon.com/vpn/latest/s2svpn/VPNTunnels.html):
 * - IKEv2 only (IKEv1 is weaker and needs aggressive-mode workarounds);
 * - AES-256 in CBC or GCM (GCM-16 is authenticated encryption); no AES-128;
 * - SHA-2 integrity of 256 bits or more; no SHA-1;
 * - Diffie-Hellman groups 14 (2048-bit MODP, what most municipal routers support) and 19, 20, 21 (ECP
 *   256/384/521); not 22-24 (MODP with small subgroups, RFC 8247 "SHOULD NOT") nor 15-18 (slow, no gain here).
 */
export const PINNED_CRYPTO = {
  ikeVersions: ["ikev2"],
  encryptionAlgorithms: ["AES256", "AES256-GCM-16"],
  integrityAlgorithms: ["SHA2-256", "SHA2-384", "SHA2-512"],
  dhGroupNumbers: [14, 19, 20, 21],
} as const;

/** The tunnel attributes (tunnelN_<key>) that must hold only pinned values, and the values allowed for each. */
export const PINNED_TUNNEL_ATTRIBUTES: Record<string, readonly (string | number)[]> = {
  ike_versions: PINNED_CRYPTO.ikeVersions,
  phase1_encryption_algorithms: PINNED_CRYPTO.encryptionAlgorithms,
  phase2_encryption_algorithms: PINNED_CRYPTO.encryptionAlgorithms,
  phase1_integrity_algorithms: PINNED_CRYPTO.integrityAlgorithms,
  phase2_integrity_algorithms: PINNED_CRYPTO.integrityAlgorithms,
  phase1_dh_group_numbers: PINNED_CRYPTO.dhGroupNumbers,
  phase2_dh_group_numbers: PINNED_CRYPTO.dhGroupNumbers,
};

export interface VpnSite {
  /** ASCII name, part of resource addresses */
  readonly name: string;
  readonly publicIp: string;
  readonly bgpAsn: number;
}

export interface VpnConcentratorProps {
  readonly namePrefix: string;
  /** BGP ASN of the Transit Gateway. @default 64512 */
  readonly amazonSideAsn?: number;
  readonly sites: readonly VpnSite[];
  /** Site-to-Site VPN connections per site (from the bandwidth tier). @default 1 */
  readonly connectionsPerSite?: number;
  readonly logs: LogDestinations;
  /** CloudWatch log group name for tunnel logs. */
  readonly tunnelLogGroupName: string;
}

export interface VpnConnectionInfo {
  readonly site: string;
  readonly index: number;
  readonly id: string;
  readonly tunnel1Address: string;
  readonly tunnel2Address: string;
}

export class VpnConcentrator extends Construct {
  readonly transitGatewayId: string;
  readonly connections: VpnConnectionInfo[];
  private readonly onPremRouteTable: Ec2TransitGatewayRouteTable;
  private readonly inspectionRouteTable: Ec2TransitGatewayRouteTable;

  constructor(scope: Construct, id: string, props: VpnConcentratorProps) {
    super(scope, id);
    const perSite = props.connectionsPerSite ?? 1;
    if (perSite < 1) throw new Error(`connectionsPerSite must be at least 1, got ${perSite}`);
    const name = (s: string) => `${props.namePrefix}-${s}`;

    const tgw = new Ec2TransitGateway(this, "TransitGateway", {
      description: `${props.namePrefix}: α′ breakout hub`,
      amazonSideAsn: props.amazonSideAsn ?? 64512,
      autoAcceptSharedAttachments: "disable",
      defaultRouteTableAssociation: "disable",
      defaultRouteTablePropagation: "disable",
      dnsSupport: "enable",
      vpnEcmpSupport: "enable",
      tags: { Name: name("tgw") },
    });
    this.transitGatewayId = tgw.id;
    this.onPremRouteTable = new Ec2TransitGatewayRouteTable(this, "OnPremRouteTable", { transitGatewayId: tgw.id, tags: { Name: name("on-prem") } });
    this.inspectionRouteTable = new Ec2TransitGatewayRouteTable(this, "InspectionRouteTable", { transitGatewayId: tgw.id, tags: { Name: name("inspection") } });

    const logGroup = props.logs.logGroup("VpnTunnels", props.tunnelLogGroupName);
    const tunnel = {
      ikeVersions: [...PINNED_CRYPTO.ikeVersions],
      phase1EncryptionAlgorithms: [...PINNED_CRYPTO.encryptionAlgorithms],
      phase2EncryptionAlgorithms: [...PINNED_CRYPTO.encryptionAlgorithms],
      phase1IntegrityAlgorithms: [...PINNED_CRYPTO.integrityAlgorithms],
      phase2IntegrityAlgorithms: [...PINNED_CRYPTO.integrityAlgorithms],
      phase1DhGroupNumbers: [...PINNED_CRYPTO.dhGroupNumbers],
      phase2DhGroupNumbers: [...PINNED_CRYPTO.dhGroupNumbers],
      dpdTimeoutAction: "restart",
      startupAction: "add",
      logOptions: { cloudwatchLogOptions: { logEnabled: true, logGroupArn: logGroup.arn, logOutputFormat: "json" } },
    };
    const tunnelConfig = (n: 1 | 2) =>
      Object.fromEntries(Object.entries(tunnel).map(([k, v]) => [`tunnel${n}${k.charAt(0).toUpperCase()}${k.slice(1)}`, v]));

    this.connections = [];
    for (const site of props.sites) {
      const cgw = new CustomerGateway(this, `Site-${site.name}-CustomerGateway`, {
        bgpAsn: String(site.bgpAsn),
        ipAddress: site.publicIp,
        type: "ipsec.1",
        deviceName: site.name,
        tags: { Name: name(`cgw-${site.name}`) },
      });
      for (let i = 0; i < perSite; i++) {
        // ids are stable per site and index: a higher tier adds connections, never renames existing ones
        const vpn = new VpnConnection(this, `Site-${site.name}-Vpn${i}`, {
          customerGatewayId: cgw.id,
          transitGatewayId: tgw.id,
          type: "ipsec.1",
          staticRoutesOnly: false,
          tunnelInsideIpVersion: "ipv4",
          // pre-shared keys are left to AWS to generate: never in code, config or synthesized output
          ...tunnelConfig(1),
          ...tunnelConfig(2),
          tags: { Name: name(`vpn-${site.name}-${i}`) },
        });
        new Ec2TransitGatewayRouteTableAssociation(this, `Site-${site.name}-Vpn${i}-Association`, {
          transitGatewayAttachmentId: vpn.transitGatewayAttachmentId,
          transitGatewayRouteTableId: this.onPremRouteTable.id,
        });
        new Ec2TransitGatewayRouteTablePropagation(this, `Site-${site.name}-Vpn${i}-Propagation`, {
          transitGatewayAttachmentId: vpn.transitGatewayAttachmentId,
          transitGatewayRouteTableId: this.inspectionRouteTable.id,
        });
        this.connections.push({ site: site.name, index: i, id: vpn.id, tunnel1Address: vpn.tunnel1Address, tunnel2Address: vpn.tunnel2Address });
      }
    }
  }

  /** Sends all on-prem traffic to the inspection VPC and lets it route back to the sites. */
  attachInspectionVpc(attachmentId: string): void {
    new Ec2TransitGatewayRouteTableAssociation(this, "InspectionAssociation", {
      transitGatewayAttachmentId: attachmentId,
      transitGatewayRouteTableId: this.inspectionRouteTable.id,
    });
    new Ec2TransitGatewayRoute(this, "OnPremDefaultRoute", {
      destinationCidrBlock: "0.0.0.0/0",
      transitGatewayAttachmentId: attachmentId,
      transitGatewayRouteTableId: this.onPremRouteTable.id,
    });
  }
}
