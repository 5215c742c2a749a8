/**
 * RemoteAccessVpn: AWS Client VPN for telework PCs, evacuation-shelter tablets and staff phones.
 *
 * Always full tunnel: a remote device gets the same α′ rules as an office PC, because its internet traffic
 * leaves through the breakout VPC's private subnets and therefore through the same firewall. Client VPN
 * source-NATs clients to its network interfaces in those subnets, which is why the firewall's HOME_NET holds
 * the VPC range rather than the client range (https://repost.aws/knowledge-center/client-vpn-give-users-resource-access).
 */
import { Construct } from "constructs";
import { CloudwatchLogStream } from "@cdktf/provider-aws/lib/cloudwatch-log-stream";
import { Ec2ClientVpnAuthorizationRule } from "@cdktf/provider-aws/lib/ec2-client-vpn-authorization-rule";
import { Ec2ClientVpnEndpoint } from "@cdktf/provider-aws/lib/ec2-client-vpn-endpoint";
import { Ec2ClientVpnNetworkAssociation } from "@cdktf/provider-aws/lib/ec2-client-vpn-network-association";
import { Ec2ClientVpnRoute } from "@cdktf/provider-aws/lib/ec2-client-vpn-route";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { acceptFinding } from "./accepted-findings";
import type { LogDestinations } from "./log-archive";

export interface RemoteAccessVpnProps {
  readonly namePrefix: string;
  readonly vpcId: string;
  readonly vpcCidr: string;
  /** one subnet per AZ (the breakout VPC's private subnets, whose routes lead through the firewall) */
  readonly subnetIds: readonly string[];
  readonly clientCidr: string;
  readonly serverCertificateArn: string;
  /** CA of client certificates: mutual authentication is always on */
  readonly clientRootCertificateArn: string;
  /** also require a SAML sign-in through the municipality's IdP. @default no SAML */
  readonly samlProviderArn?: string;
  /** on-prem LGWAN ranges remote devices may reach */
  readonly lgwanCidrs: readonly string[];
  /** whether remote devices may also reach the allowlisted SaaS through the firewall. @default true */
  readonly internetBreakout?: boolean;
  /** DNS servers pushed to clients (the inbound resolver, so the DNS firewall applies): at most two. */
  readonly dnsServers: readonly string[];
  /** @default 8 */
  readonly sessionTimeoutHours?: number;
  readonly loginBanner: string;
  readonly logs: LogDestinations;
  readonly connectionLogGroupName: string;
}

/** A Client VPN endpoint "can have up to two DNS servers" (CreateClientVpnEndpoint, EC2 API Reference). */
export const CLIENT_VPN_MAX_DNS_SERVERS = 2;

export class RemoteAccessVpn extends Construct {
  readonly endpointId: string;
  /** the endpoint's security group: targets admit remote clients by referencing it */
  readonly securityGroupId: string;

  constructor(scope: Construct, id: string, props: RemoteAccessVpnProps) {
    super(scope, id);
    // the provider does not check this; the API refuses a third server when the endpoint is created
    if (props.dnsServers.length > CLIENT_VPN_MAX_DNS_SERVERS) throw new Error(`a Client VPN endpoint takes at most ${CLIENT_VPN_MAX_DNS_SERVERS} DNS servers, got ${props.dnsServers.length}`);
    const internet = props.internetBreakout ?? true;
    const name = (s: string) => `${props.namePrefix}-${s}`;
    const destinations = [...props.lgwanCidrs, props.vpcCidr, ...(internet ? ["0.0.0.0/0"] : [])];

    const sg = new SecurityGroup(this, "SecurityGroup", {
      name: name("client-vpn"),
      description: "Client VPN endpoint: remote devices reach only the LGWAN segments, the breakout VPC and (if allowed) the firewall-filtered internet",
      vpcId: props.vpcId,
      ingress: [],
      egress: [],
    });
    destinations.forEach((cidr, i) => {
      const rule = new VpcSecurityGroupEgressRule(this, `Egress${i}`, {
        securityGroupId: sg.id,
        cidrIpv4: cidr,
        ipProtocol: "-1",
        description: cidr === "0.0.0.0/0" ? "internet through the breakout firewall (allowlist enforced there)" : `to ${cidr}`,
      });
      if (cidr === "0.0.0.0/0") {
        acceptFinding(rule, "AP-SG-001", "Full-tunnel remote devices reach allowlisted SaaS by name, whose addresses no security group can list; every such flow leaves through the breakout firewall, whose allowlist (TLS SNI, HTTP Host, default drop) holds it.");
      }
    });
    this.securityGroupId = sg.id;

    const logGroup = props.logs.logGroup("ClientVpnConnections", props.connectionLogGroupName);
    const stream = new CloudwatchLogStream(this, "ConnectionLogStream", { name: "connections", logGroupName: logGroup.name });
    const endpoint = new Ec2ClientVpnEndpoint(this, "Endpoint", {
      description: name("remote-access"),
      serverCertificateArn: props.serverCertificateArn,
      clientCidrBlock: props.clientCidr,
      splitTunnel: false,
      transportProtocol: "udp",
      vpnPort: 443,
      vpcId: props.vpcId,
      securityGroupIds: [sg.id],
      dnsServers: [...props.dnsServers],
      selfServicePortal: "disabled",
      sessionTimeoutHours: props.sessionTimeoutHours ?? 8,
      disconnectOnSessionTimeout: true,
      authenticationOptions: [
        { type: "certificate-authentication", rootCertificateChainArn: props.clientRootCertificateArn },
        ...(props.samlProviderArn ? [{ type: "federated-authentication", samlProviderArn: props.samlProviderArn }] : []),
      ],
      connectionLogOptions: { enabled: true, cloudwatchLogGroup: logGroup.name, cloudwatchLogStream: stream.name },
      clientLoginBannerOptions: { enabled: true, bannerText: props.loginBanner },
      tags: { Name: name("remote-access") },
    });
    this.endpointId = endpoint.id;

    const associations = props.subnetIds.map(
      (subnetId, i) => new Ec2ClientVpnNetworkAssociation(this, `Association${i}`, { clientVpnEndpointId: endpoint.id, subnetId }),
    );
    destinations.forEach((cidr, i) => {
      new Ec2ClientVpnAuthorizationRule(this, `Authorization${i}`, {
        clientVpnEndpointId: endpoint.id,
        targetNetworkCidr: cidr,
        authorizeAllGroups: true,
        description: cidr === "0.0.0.0/0" ? "allowlisted SaaS via the breakout firewall" : `reach ${cidr}`,
      });
    });
    // The VPC range is routed by each association itself; the other destinations need explicit routes.
    const routed = destinations.filter((c) => c !== props.vpcCidr);
    associations.forEach((assoc, a) => {
      routed.forEach((cidr, r) => {
        new Ec2ClientVpnRoute(this, `Route${a}-${r}`, {
          clientVpnEndpointId: endpoint.id,
          destinationCidrBlock: cidr,
          targetVpcSubnetId: assoc.subnetId,
          description: `via ${cidr === "0.0.0.0/0" ? "the breakout firewall" : "the Transit Gateway"}`,
        });
      });
    });
  }
}
