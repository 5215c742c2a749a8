/**
 * Arguments whose change makes Terraform replace a resource (hashicorp/aws 5.100.0: `ForceNew` in an SDK schema,
 * `RequiresReplace` in a framework one), for the types alpha-prime synthesizes whose replacement a reviewer must see
 * without a plan: the protected ones (log archive, keys, egress IPs) and everything a moved address plan drags along
 * (a replaced VPC gives its subnets, security groups, endpoints and attachments a new `vpc_id`; a replaced subnet its
 * NAT gateway and associations a new `subnet_id`; and so on, to a fixed point).
 *
 * The table is not taken on trust: test/replacing-arguments.test.ts plans a change of every argument listed here
 * against a seeded state with the real provider, offline, and expects Terraform's `replace_paths` to name it — and
 * plans the arguments deliberately left out (`IN_PLACE`) and expects an update. Types not listed are shown as updated
 * in place unless a plan says otherwise.
 */
export const FORCES_REPLACEMENT: Readonly<Record<string, readonly string[]>> = {
  // the log archive and the fixed egress addresses (data-loss call-outs)
  aws_s3_bucket: ["bucket", "bucket_prefix", "object_lock_enabled"],
  aws_s3_bucket_lifecycle_configuration: ["bucket", "expected_bucket_owner"],
  aws_s3_bucket_logging: ["bucket", "expected_bucket_owner"],
  aws_s3_bucket_object_lock_configuration: ["bucket", "expected_bucket_owner"],
  aws_s3_bucket_ownership_controls: ["bucket"],
  aws_s3_bucket_policy: ["bucket"],
  aws_s3_bucket_public_access_block: ["bucket"],
  aws_s3_bucket_server_side_encryption_configuration: ["bucket", "expected_bucket_owner"],
  aws_s3_bucket_versioning: ["bucket", "expected_bucket_owner"],
  aws_kms_key: ["customer_master_key_spec", "key_usage", "multi_region", "custom_key_store_id"],
  aws_cloudwatch_log_group: ["name", "name_prefix"],
  aws_eip: ["domain", "address", "public_ipv4_pool"],
  // the address plan
  aws_vpc: ["cidr_block", "ipv4_ipam_pool_id", "ipv4_netmask_length"],
  aws_subnet: ["cidr_block", "availability_zone", "availability_zone_id", "vpc_id", "ipv6_native", "outpost_arn"],
  aws_nat_gateway: ["subnet_id", "allocation_id", "connectivity_type", "private_ip"],
  aws_route_table: ["vpc_id"],
  aws_route: ["route_table_id", "destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id"],
  aws_route_table_association: ["subnet_id", "gateway_id"],
  aws_default_security_group: ["vpc_id"],
  aws_security_group: ["vpc_id", "name", "name_prefix", "description"],
  aws_vpc_security_group_ingress_rule: ["security_group_id"],
  aws_vpc_security_group_egress_rule: ["security_group_id"],
  aws_vpc_endpoint: ["vpc_id", "service_name", "vpc_endpoint_type"],
  aws_flow_log: ["vpc_id", "subnet_id", "log_destination", "log_destination_type", "traffic_type"],
  // what lives in the VPC: firewall, Transit Gateway attachment, Client VPN, resolver, load balancer
  aws_networkfirewall_firewall: ["vpc_id", "name"],
  aws_networkfirewall_logging_configuration: ["firewall_arn"],
  aws_ec2_transit_gateway_vpc_attachment: ["vpc_id", "transit_gateway_id"],
  aws_ec2_transit_gateway_route_table_association: ["transit_gateway_attachment_id", "transit_gateway_route_table_id"],
  aws_ec2_transit_gateway_route_table_propagation: ["transit_gateway_attachment_id", "transit_gateway_route_table_id"],
  aws_ec2_transit_gateway_route: ["destination_cidr_block", "transit_gateway_route_table_id"],
  aws_ec2_client_vpn_endpoint: ["client_cidr_block", "transport_protocol"],
  aws_ec2_client_vpn_network_association: ["client_vpn_endpoint_id", "subnet_id"],
  aws_ec2_client_vpn_route: ["client_vpn_endpoint_id", "destination_cidr_block", "target_vpc_subnet_id"],
  aws_ec2_client_vpn_authorization_rule: ["client_vpn_endpoint_id", "target_network_cidr"],
  aws_route53_resolver_endpoint: ["direction", "security_group_ids"],
  aws_route53_resolver_firewall_config: ["resource_id"],
  aws_route53_resolver_firewall_rule_group_association: ["vpc_id", "firewall_rule_group_id"],
  aws_route53_resolver_query_log_config_association: ["resolver_query_log_config_id", "resource_id"],
  aws_lb_target_group: ["vpc_id", "name", "port", "protocol", "target_type"],
  aws_lb_listener: ["load_balancer_arn"],
  // a network load balancer (the only kind alpha-prime makes) that loses a subnet from `subnets` is replaced
  aws_lb: ["subnets"],
  // the site VPNs: a new customer gateway for a new public IP, ASN or name; a new connection (new tunnel addresses
  // and keys: an outage at the site) for these settings of the connection
  aws_customer_gateway: ["bgp_asn", "device_name", "ip_address"],
  aws_vpn_connection: ["static_routes_only", "enable_acceleration", "tunnel1_inside_cidr", "tunnel2_inside_cidr"],
};

/**
 * Arguments that reference a replaced resource yet are changed in place (an attachment's subnet list, a firewall's
 * subnet mapping, the resolver's addresses, an auto scaling group's subnets): listed so the test proves the diff does
 * not cry wolf on them either.
 */
export const IN_PLACE: Readonly<Record<string, readonly string[]>> = {
  aws_ec2_transit_gateway_vpc_attachment: ["subnet_ids"],
  aws_route_table_association: ["route_table_id"],
  aws_internet_gateway: ["vpc_id"],
  aws_networkfirewall_firewall: ["subnet_mapping"],
  aws_route53_resolver_endpoint: ["ip_address"],
  aws_autoscaling_group: ["vpc_zone_identifier"],
  aws_route: ["nat_gateway_id", "vpc_endpoint_id"],
  aws_kms_alias: ["target_key_id"],
  aws_lb: ["subnet_mapping", "security_groups"],
  // ModifyVpnConnection moves a connection to another customer or transit gateway in place (an outage all the same)
  aws_vpn_connection: ["customer_gateway_id", "transit_gateway_id"],
};

/** Types whose replacement moves the network under a deployed municipality (addresses others depend on move with it). */
export const ADDRESS_PLAN_TYPES: ReadonlySet<string> = new Set(["aws_vpc", "aws_subnet"]);
