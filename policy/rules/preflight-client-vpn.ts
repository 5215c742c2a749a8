import * as ipaddr from "ipaddr.js";
import { cidrsOverlap, parseCidr } from "../../core/cidr";
import { asArray, Resource } from "../model";
import type { Rule, Violation } from "../types";
import { vpcCidrs } from "../vpc-routing";

/** CreateClientVpnEndpoint: "A Client VPN endpoint can have up to two DNS servers." */
const MAX_DNS_SERVERS = 2;
/** CreateClientVpnEndpoint: the client CIDR "must have a size of at least /22 and must not be greater than /12". */
const CLIENT_CIDR_BITS = { widest: 12, narrowest: 22 };
/** Client VPN target network requirements: an associated subnet has "at least a /27 bitmask". */
const ASSOCIATED_SUBNET_MAX_BITS = 27;

export const preflightClientVpn: Rule = {
  id: "AP-PRE-002",
  severity: "error",
  title: "Client VPN endpoints are what the API accepts: at most two DNS servers, a client CIDR from /12 to /22 that overlaps neither the VPC nor a route, one associated subnet per zone, each a /27 or larger in the endpoint's VPC",
  rationale:
    "CreateClientVpnEndpoint refuses a third DNS server and a client range outside /12–/22 or overlapping the VPC; AssociateClientVpnTargetNetwork refuses a second subnet in one zone, a subnet of another VPC and one smaller than a /27. The provider checks none of it, so a three-zone municipality's stack planned cleanly and failed on apply.",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): リモートアクセス VPN",
    aws: [
      { title: "CreateClientVpnEndpoint (Amazon EC2 API Reference)", url: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateClientVpnEndpoint.html" },
      { title: "AssociateClientVpnTargetNetwork (Amazon EC2 API Reference)", url: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssociateClientVpnTargetNetwork.html" },
      { title: "Rules and best practices for using AWS Client VPN", url: "https://docs.aws.amazon.com/vpn/latest/clientvpn-admin/what-is-best-practices.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    for (const e of model.ofType("aws_ec2_client_vpn_endpoint")) {
      const dns = asArray<string>(e.values.dns_servers);
      if (dns.length > MAX_DNS_SERVERS) out.push({ address: e.address, message: `${dns.length} DNS servers (${dns.join(", ")}); an endpoint takes at most ${MAX_DNS_SERVERS}` });
      for (const d of dns) if (!d.includes("${") && !ipaddr.IPv4.isValidFourPartDecimal(d)) out.push({ address: e.address, message: `DNS server ${JSON.stringify(d)} is not an IPv4 address` });
      const client = model.memo(parseCidr, e.values.client_cidr_block);
      if (typeof client === "string") {
        if (!String(e.values.client_cidr_block ?? "").includes("${")) out.push({ address: e.address, message: `client_cidr_block ${JSON.stringify(e.values.client_cidr_block)} is ${client}` });
        continue;
      }
      if (client.bits < CLIENT_CIDR_BITS.widest || client.bits > CLIENT_CIDR_BITS.narrowest) out.push({ address: e.address, message: `client CIDR ${client.text} is a /${client.bits}; it must be from /${CLIENT_CIDR_BITS.widest} to /${CLIENT_CIDR_BITS.narrowest}` });
      const associations = model.ofType("aws_ec2_client_vpn_network_association").filter((a) => model.pointsAt(a.values.client_vpn_endpoint_id, e));
      const subnets = associations.map((a) => ({ a, s: model.referenced(a.values.subnet_id) })).filter((x): x is { a: Resource; s: Resource } => x.s?.type === "aws_subnet");
      const vpc = model.referenced(e.values.vpc_id) ?? (subnets[0] ? model.referenced(subnets[0].s.values.vpc_id) : undefined);
      if (vpc?.type === "aws_vpc") {
        for (const b of vpcCidrs(model, vpc)) if (cidrsOverlap(b, client)) out.push({ address: e.address, message: `client CIDR ${client.text} overlaps the VPC's ${b.text}` });
      }
      const zones = new Map<string, string>();
      for (const { a, s } of subnets) {
        if (vpc && !model.pointsAt(s.values.vpc_id, vpc)) out.push({ address: a.address, message: `${s.address} is not in the endpoint's VPC ${vpc.address}` });
        const c = model.memo(parseCidr, s.values.cidr_block);
        if (typeof c !== "string" && c.bits > ASSOCIATED_SUBNET_MAX_BITS) out.push({ address: a.address, message: `${s.address} (${c.text}) is smaller than the /${ASSOCIATED_SUBNET_MAX_BITS} Client VPN needs` });
        const az = s.values.availability_zone;
        if (typeof az === "string") {
          if (zones.has(az)) out.push({ address: a.address, message: `a second subnet in ${az} (also ${zones.get(az)}): an endpoint takes one subnet per zone` });
          else zones.set(az, s.address);
        }
      }
      for (const r of model.ofType("aws_ec2_client_vpn_route").filter((x) => model.pointsAt(x.values.client_vpn_endpoint_id, e))) {
        const d = model.memo(parseCidr, r.values.destination_cidr_block);
        if (typeof d !== "string" && d.bits > 0 && cidrsOverlap(d, client)) out.push({ address: r.address, message: `route ${d.text} overlaps the client CIDR ${client.text}` });
        const target = model.referenced(r.values.target_vpc_subnet_id);
        const associated = target?.type === "aws_ec2_client_vpn_network_association" ? associations.some((a) => a.address === target.address) : subnets.some((x) => x.s.address === target?.address);
        if (target && !associated) out.push({ address: r.address, message: `the route's subnet ${target.address} is not associated with the endpoint` });
      }
    }
    return out;
  },
};
