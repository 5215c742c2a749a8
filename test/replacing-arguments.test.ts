import * as fs from "fs";
import * as path from "path";
import { offlinePlan } from "../cli/offline-plan";
import { FORCES_REPLACEMENT, IN_PLACE } from "../review/replacing-arguments";
import { hasTerraform, tempDir } from "./helpers";

// The reviewer diff decides "replaced" from this table when it has no plan; the provider decides it on deploy.
// Here the provider itself (hashicorp/aws 5.100.0 from the local mirror, offline) plans a change of every argument.
const terraform = hasTerraform();
if (!terraform) process.stderr.write("\n*** SKIPPED: no terraform binary on PATH: the diff's replacing arguments were NOT checked against the provider ***\n\n");
const maybe = terraform || process.env.CI ? describe : describe.skip;

const ARN = (service: string, resource: string) => `arn:aws:${service}:ap-northeast-1:111122223333:${resource}`;

/** Arguments every resource of a type needs to plan (only what the provider requires, plus what makes it valid). */
const BASE: Record<string, Record<string, unknown>> = {
  aws_s3_bucket: {},
  aws_s3_bucket_lifecycle_configuration: { bucket: "ap-logs-a", rule: [{ id: "keep", status: "Enabled", filter: [{}], expiration: [{ days: 400 }] }] },
  aws_s3_bucket_logging: { bucket: "ap-logs-a", target_bucket: "ap-access-a", target_prefix: "logs/" },
  aws_s3_bucket_object_lock_configuration: { bucket: "ap-logs-a", rule: [{ default_retention: [{ mode: "COMPLIANCE", days: 366 }] }] },
  aws_s3_bucket_ownership_controls: { bucket: "ap-logs-a", rule: [{ object_ownership: "BucketOwnerEnforced" }] },
  aws_s3_bucket_policy: { bucket: "ap-logs-a", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "arn:aws:s3:::ap-logs-a/*", Condition: { Bool: { "aws:SecureTransport": "false" } } }] }) },
  aws_s3_bucket_public_access_block: { bucket: "ap-logs-a", block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true },
  aws_s3_bucket_server_side_encryption_configuration: { bucket: "ap-logs-a", rule: [{ apply_server_side_encryption_by_default: [{ sse_algorithm: "aws:kms" }] }] },
  aws_s3_bucket_versioning: { bucket: "ap-logs-a", versioning_configuration: [{ status: "Enabled" }] },
  aws_kms_key: {},
  aws_cloudwatch_log_group: {},
  aws_eip: { domain: "vpc" },
  aws_vpc: { cidr_block: "10.64.0.0/22" },
  aws_subnet: { vpc_id: "vpc-0aaaaaaaaaaaaaaaa", cidr_block: "10.64.0.0/26" },
  aws_nat_gateway: { subnet_id: "subnet-0aaaaaaaaaaaaaaaa", allocation_id: "eipalloc-0aaaaaaaaaaaaaaaa" },
  aws_route_table: { vpc_id: "vpc-0aaaaaaaaaaaaaaaa" },
  aws_route: { route_table_id: "rtb-0aaaaaaaaaaaaaaaa", destination_cidr_block: "0.0.0.0/0", nat_gateway_id: "nat-0aaaaaaaaaaaaaaaa" },
  aws_route_table_association: { route_table_id: "rtb-0aaaaaaaaaaaaaaaa", subnet_id: "subnet-0aaaaaaaaaaaaaaaa" },
  aws_default_security_group: { vpc_id: "vpc-0aaaaaaaaaaaaaaaa" },
  aws_security_group: { vpc_id: "vpc-0aaaaaaaaaaaaaaaa", name: "proxy", description: "the proxy" },
  aws_vpc_security_group_ingress_rule: { security_group_id: "sg-0aaaaaaaaaaaaaaaa", ip_protocol: "tcp", from_port: 3128, to_port: 3128, cidr_ipv4: "172.16.0.0/16" },
  aws_vpc_security_group_egress_rule: { security_group_id: "sg-0aaaaaaaaaaaaaaaa", ip_protocol: "tcp", from_port: 443, to_port: 443, cidr_ipv4: "0.0.0.0/0" },
  aws_vpc_endpoint: { vpc_id: "vpc-0aaaaaaaaaaaaaaaa", service_name: "com.amazonaws.ap-northeast-1.ssm", vpc_endpoint_type: "Interface" },
  aws_flow_log: { vpc_id: "vpc-0aaaaaaaaaaaaaaaa", traffic_type: "ALL", log_destination_type: "s3", log_destination: "arn:aws:s3:::ap-logs-a" },
  aws_networkfirewall_firewall: { name: "breakout", vpc_id: "vpc-0aaaaaaaaaaaaaaaa", firewall_policy_arn: ARN("network-firewall", "firewall-policy/breakout"), subnet_mapping: [{ subnet_id: "subnet-0aaaaaaaaaaaaaaaa" }] },
  aws_networkfirewall_logging_configuration: {
    firewall_arn: ARN("network-firewall", "firewall/a"),
    logging_configuration: [{ log_destination_config: [{ log_destination_type: "S3", log_type: "ALERT", log_destination: { bucketName: "ap-logs-a" } }] }],
  },
  aws_ec2_transit_gateway_vpc_attachment: { vpc_id: "vpc-0aaaaaaaaaaaaaaaa", transit_gateway_id: "tgw-0aaaaaaaaaaaaaaaa", subnet_ids: ["subnet-0aaaaaaaaaaaaaaaa"] },
  aws_ec2_transit_gateway_route_table_association: { transit_gateway_attachment_id: "tgw-attach-0aaaaaaaaaaaaaaaa", transit_gateway_route_table_id: "tgw-rtb-0aaaaaaaaaaaaaaaa" },
  aws_ec2_transit_gateway_route_table_propagation: { transit_gateway_attachment_id: "tgw-attach-0aaaaaaaaaaaaaaaa", transit_gateway_route_table_id: "tgw-rtb-0aaaaaaaaaaaaaaaa" },
  aws_ec2_transit_gateway_route: { destination_cidr_block: "0.0.0.0/0", transit_gateway_attachment_id: "tgw-attach-0aaaaaaaaaaaaaaaa", transit_gateway_route_table_id: "tgw-rtb-0aaaaaaaaaaaaaaaa" },
  aws_ec2_client_vpn_endpoint: {
    client_cidr_block: "10.68.0.0/22",
    server_certificate_arn: ARN("acm", "certificate/11111111-2222-3333-4444-555555555555"),
    authentication_options: [{ type: "certificate-authentication", root_certificate_chain_arn: ARN("acm", "certificate/66666666-7777-8888-9999-000000000000") }],
    connection_log_options: [{ enabled: false }],
  },
  aws_ec2_client_vpn_network_association: { client_vpn_endpoint_id: "cvpn-endpoint-0aaaaaaaaaaaaaaaa", subnet_id: "subnet-0aaaaaaaaaaaaaaaa" },
  aws_ec2_client_vpn_route: { client_vpn_endpoint_id: "cvpn-endpoint-0aaaaaaaaaaaaaaaa", destination_cidr_block: "172.16.0.0/16", target_vpc_subnet_id: "subnet-0aaaaaaaaaaaaaaaa" },
  aws_ec2_client_vpn_authorization_rule: { client_vpn_endpoint_id: "cvpn-endpoint-0aaaaaaaaaaaaaaaa", target_network_cidr: "172.16.0.0/16", authorize_all_groups: true },
  aws_route53_resolver_endpoint: { direction: "INBOUND", security_group_ids: ["sg-0aaaaaaaaaaaaaaaa"], ip_address: [{ subnet_id: "subnet-0aaaaaaaaaaaaaaaa" }, { subnet_id: "subnet-0bbbbbbbbbbbbbbbb" }] },
  aws_route53_resolver_firewall_config: { resource_id: "vpc-0aaaaaaaaaaaaaaaa", firewall_fail_open: "DISABLED" },
  aws_route53_resolver_firewall_rule_group_association: { name: "allowlist", priority: 101, vpc_id: "vpc-0aaaaaaaaaaaaaaaa", firewall_rule_group_id: "rslvr-frg-0aaaaaaaaaaaaaaa" },
  aws_route53_resolver_query_log_config_association: { resolver_query_log_config_id: "rqlc-0aaaaaaaaaaaaaaa", resource_id: "vpc-0aaaaaaaaaaaaaaaa" },
  aws_lb_target_group: { name: "proxy", port: 3128, protocol: "TCP", vpc_id: "vpc-0aaaaaaaaaaaaaaaa", target_type: "instance" },
  aws_lb_listener: { load_balancer_arn: ARN("elasticloadbalancing", "loadbalancer/net/proxy/0123456789abcdef"), port: 3128, protocol: "TCP", default_action: [{ type: "forward", target_group_arn: ARN("elasticloadbalancing", "targetgroup/proxy/0123456789abcdef") }] },
  aws_lb: { name: "proxy", load_balancer_type: "network", internal: true, subnets: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"], security_groups: ["sg-0aaaaaaaaaaaaaaaa"] },
  aws_internet_gateway: { vpc_id: "vpc-0aaaaaaaaaaaaaaaa" },
  aws_autoscaling_group: { min_size: 1, max_size: 2, vpc_zone_identifier: ["subnet-0aaaaaaaaaaaaaaaa"], launch_template: [{ id: "lt-0aaaaaaaaaaaaaaaa", version: "$Latest" }] },
  aws_kms_alias: { name: "alias/alpha-prime-logs", target_key_id: "1111aaaa-2222-3333-4444-555566667777" },
  aws_customer_gateway: { bgp_asn: "65020", ip_address: "198.51.100.20", type: "ipsec.1", device_name: "honcho" },
  aws_vpn_connection: { customer_gateway_id: "cgw-0aaaaaaaaaaaaaaaa", transit_gateway_id: "tgw-0aaaaaaaaaaaaaaaa", type: "ipsec.1", static_routes_only: false },
};

/** Where one argument name takes another kind of value in another type (a resolver's ip_address blocks, a gateway's IP). */
const CHANGE_OF_TYPE: Record<string, [unknown, unknown, Record<string, unknown>?]> = {
  "aws_customer_gateway.ip_address": ["198.51.100.20", "198.51.100.30"],
  "aws_customer_gateway.bgp_asn": ["65020", "65030"],
  "aws_customer_gateway.device_name": ["honcho", "main"],
  "aws_vpn_connection.static_routes_only": [false, true],
  "aws_vpn_connection.enable_acceleration": [false, true],
  "aws_vpn_connection.tunnel1_inside_cidr": ["169.254.10.0/30", "169.254.11.0/30"],
  "aws_vpn_connection.tunnel2_inside_cidr": ["169.254.12.0/30", "169.254.13.0/30"],
  "aws_vpn_connection.customer_gateway_id": ["cgw-0aaaaaaaaaaaaaaaa", "cgw-0bbbbbbbbbbbbbbbb"],
};

/** A changed value of each argument: [in the deployed state, in the new configuration]. Where one needs a different base, a third. */
const CHANGE: Record<string, [unknown, unknown, Record<string, unknown>?]> = {
  bucket: ["ap-logs-a", "ap-logs-b"],
  bucket_prefix: ["ap-logs-a-", "ap-logs-b-"],
  object_lock_enabled: [false, true, { bucket: "ap-logs-a" }],
  expected_bucket_owner: ["111122223333", "444455556666"],
  customer_master_key_spec: ["SYMMETRIC_DEFAULT", "RSA_2048"],
  key_usage: ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
  multi_region: [false, true],
  custom_key_store_id: ["cks-0aaaaaaaaaaaaaaaa", "cks-0bbbbbbbbbbbbbbbb"],
  name: ["a", "b"],
  name_prefix: ["a-", "b-", { name: null }],
  domain: ["vpc", "standard"],
  address: ["198.51.100.10", "198.51.100.11"],
  public_ipv4_pool: ["ipv4pool-ec2-0aaaaaaaaaaaaaaaa", "ipv4pool-ec2-0bbbbbbbbbbbbbbbb"],
  cidr_block: ["10.64.0.0/26", "10.64.0.64/26"],
  ipv4_ipam_pool_id: ["ipam-pool-0aaaaaaaaaaaaaaaa", "ipam-pool-0bbbbbbbbbbbbbbbb"],
  ipv4_netmask_length: [22, 23, { ipv4_ipam_pool_id: "ipam-pool-0aaaaaaaaaaaaaaaa", cidr_block: null }],
  availability_zone: ["ap-northeast-1a", "ap-northeast-1c"],
  availability_zone_id: ["apne1-az4", "apne1-az1"],
  vpc_id: ["vpc-0aaaaaaaaaaaaaaaa", "vpc-0bbbbbbbbbbbbbbbb"],
  ipv6_native: [false, true],
  outpost_arn: [ARN("outposts", "outpost/op-0aaaaaaaaaaaaaaaa"), ARN("outposts", "outpost/op-0bbbbbbbbbbbbbbbb")],
  subnet_id: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb", { vpc_id: null }],
  allocation_id: ["eipalloc-0aaaaaaaaaaaaaaaa", "eipalloc-0bbbbbbbbbbbbbbbb"],
  connectivity_type: ["public", "private", { allocation_id: null }],
  private_ip: ["10.64.0.200", "10.64.0.201"],
  route_table_id: ["rtb-0aaaaaaaaaaaaaaaa", "rtb-0bbbbbbbbbbbbbbbb"],
  destination_cidr_block: ["0.0.0.0/0", "10.0.0.0/8"],
  destination_ipv6_cidr_block: ["::/0", "2001:db8::/32", { destination_cidr_block: null }],
  destination_prefix_list_id: ["pl-0aaaaaaaaaaaaaaaa", "pl-0bbbbbbbbbbbbbbbb", { destination_cidr_block: null }],
  gateway_id: ["vgw-0aaaaaaaaaaaaaaaa", "vgw-0bbbbbbbbbbbbbbbb", { subnet_id: null }],
  description: ["the proxy", "the proxy's fleet"],
  security_group_id: ["sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb"],
  service_name: ["com.amazonaws.ap-northeast-1.ssm", "com.amazonaws.ap-northeast-1.ssmmessages"],
  vpc_endpoint_type: ["Interface", "Gateway", { service_name: "com.amazonaws.ap-northeast-1.s3" }],
  log_destination: ["arn:aws:s3:::ap-logs-a", "arn:aws:s3:::ap-logs-b"],
  log_destination_type: ["s3", "cloud-watch-logs", { log_destination: ARN("logs", "log-group:flow") }],
  traffic_type: ["ALL", "REJECT"],
  firewall_arn: [ARN("network-firewall", "firewall/a"), ARN("network-firewall", "firewall/b")],
  transit_gateway_id: ["tgw-0aaaaaaaaaaaaaaaa", "tgw-0bbbbbbbbbbbbbbbb"],
  transit_gateway_attachment_id: ["tgw-attach-0aaaaaaaaaaaaaaaa", "tgw-attach-0bbbbbbbbbbbbbbbb"],
  transit_gateway_route_table_id: ["tgw-rtb-0aaaaaaaaaaaaaaaa", "tgw-rtb-0bbbbbbbbbbbbbbbb"],
  client_cidr_block: ["10.68.0.0/22", "10.72.0.0/22"],
  transport_protocol: ["udp", "tcp"],
  client_vpn_endpoint_id: ["cvpn-endpoint-0aaaaaaaaaaaaaaaa", "cvpn-endpoint-0bbbbbbbbbbbbbbbb"],
  target_vpc_subnet_id: ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
  target_network_cidr: ["172.16.0.0/16", "172.17.0.0/16"],
  direction: ["INBOUND", "OUTBOUND"],
  security_group_ids: [["sg-0aaaaaaaaaaaaaaaa"], ["sg-0bbbbbbbbbbbbbbbb"]],
  resource_id: ["vpc-0aaaaaaaaaaaaaaaa", "vpc-0bbbbbbbbbbbbbbbb"],
  firewall_rule_group_id: ["rslvr-frg-0aaaaaaaaaaaaaaa", "rslvr-frg-0bbbbbbbbbbbbbbb"],
  resolver_query_log_config_id: ["rqlc-0aaaaaaaaaaaaaaa", "rqlc-0bbbbbbbbbbbbbbb"],
  port: [3128, 8080],
  protocol: ["TCP", "UDP"],
  target_type: ["instance", "ip"],
  load_balancer_arn: [ARN("elasticloadbalancing", "loadbalancer/net/proxy/0123456789abcdef"), ARN("elasticloadbalancing", "loadbalancer/net/proxy2/0123456789abcdef")],
  // in place
  subnet_ids: [["subnet-0aaaaaaaaaaaaaaaa"], ["subnet-0bbbbbbbbbbbbbbbb"]],
  subnet_mapping: [[{ subnet_id: "subnet-0aaaaaaaaaaaaaaaa" }], [{ subnet_id: "subnet-0bbbbbbbbbbbbbbbb" }], { subnets: null }],
  subnets: [["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"], ["subnet-0cccccccccccccccc", "subnet-0dddddddddddddddd"]],
  security_groups: [["sg-0aaaaaaaaaaaaaaaa"], ["sg-0bbbbbbbbbbbbbbbb"]],
  ip_address: [[{ subnet_id: "subnet-0aaaaaaaaaaaaaaaa" }, { subnet_id: "subnet-0bbbbbbbbbbbbbbbb" }], [{ subnet_id: "subnet-0aaaaaaaaaaaaaaaa" }, { subnet_id: "subnet-0cccccccccccccccc" }]],
  vpc_zone_identifier: [["subnet-0aaaaaaaaaaaaaaaa"], ["subnet-0bbbbbbbbbbbbbbbb"]],
  nat_gateway_id: ["nat-0aaaaaaaaaaaaaaaa", "nat-0bbbbbbbbbbbbbbbb"],
  vpc_endpoint_id: ["vpce-0aaaaaaaaaaaaaaaa", "vpce-0bbbbbbbbbbbbbbbb", { nat_gateway_id: null }],
  target_key_id: ["1111aaaa-2222-3333-4444-555566667777", "8888aaaa-2222-3333-4444-555566667777"],
};

interface Case {
  readonly type: string;
  readonly argument: string;
  readonly replaces: boolean;
  readonly name: string;
}

const cases: Case[] = [
  ...Object.entries(FORCES_REPLACEMENT).flatMap(([type, args]) => args.map((argument) => ({ type, argument, replaces: true }))),
  ...Object.entries(IN_PLACE).flatMap(([type, args]) => args.map((argument) => ({ type, argument, replaces: false }))),
].map((c, i) => ({ ...c, name: `r${i}` }));

/** Drops arguments set to null (a case's way of saying "not with this one"). */
const present = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));

maybe("the diff's replacing arguments, checked against the provider's own plan (hashicorp/aws 5.100.0, offline)", () => {
  let changes: Map<string, { actions: string[]; replacePaths: string[][] }>;

  beforeAll(() => {
    const resource: Record<string, Record<string, unknown>> = {};
    const state: Record<string, unknown>[] = [];
    for (const c of cases) {
      const [before, after, base] = CHANGE_OF_TYPE[`${c.type}.${c.argument}`] ?? CHANGE[c.argument];
      const args = { ...BASE[c.type], ...base };
      (resource[c.type] ??= {})[c.name] = present({ ...args, [c.argument]: after });
      state.push({
        mode: "managed",
        type: c.type,
        name: c.name,
        provider: 'provider["registry.terraform.io/hashicorp/aws"]',
        instances: [{ schema_version: SCHEMA_VERSION[c.type] ?? 0, attributes: present({ id: `${c.name}-id`, ...args, [c.argument]: before }), sensitive_attributes: [] }],
      });
    }
    const dir = path.join(tempDir(), "replacing");
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, "cdk.tf.json"),
      JSON.stringify({ terraform: { required_providers: { aws: { source: "aws", version: "5.100.0" } } }, provider: { aws: [{ region: "ap-northeast-1" }] }, resource }),
    );
    const seedState = { version: 4, terraform_version: "1.11.4", serial: 1, lineage: "00000000-0000-4000-8000-000000000002", outputs: {}, resources: state };
    const plan = JSON.parse(fs.readFileSync(offlinePlan(dir, "replacing", tempDir(), { seedState }).planJsonPath, "utf8"));
    changes = new Map(plan.resource_changes.map((rc: any) => [rc.address, { actions: rc.change.actions, replacePaths: rc.change.replace_paths ?? [] }]));
  }, 120_000);

  test("every argument of the table has a case", () => {
    expect(cases.filter((c) => !(CHANGE_OF_TYPE[`${c.type}.${c.argument}`] ?? CHANGE[c.argument]) || !BASE[c.type]).map((c) => `${c.type}.${c.argument}`)).toEqual([]);
  });

  test.each(cases.map((c) => [`${c.type}.${c.argument}`, c.replaces ? "replaces" : "is changed in place", c] as const))("%s %s", (_, __, c) => {
    const change = changes.get(`${c.type}.${c.name}`);
    expect(change).toBeDefined();
    const named = change!.replacePaths.some((p) => p[0] === c.argument);
    expect({ argument: c.argument, replaced: named }).toEqual({ argument: c.argument, replaced: c.replaces });
    if (!c.replaces) expect(change!.actions).not.toContain("delete");
  });
});

/** State schema versions of the types whose provider schema is past version 0 (`terraform providers schema -json`). */
const SCHEMA_VERSION: Record<string, number> = { aws_s3_bucket_lifecycle_configuration: 1, aws_vpc: 1, aws_subnet: 1, aws_security_group: 1, aws_default_security_group: 1, aws_autoscaling_group: 1 };
