/**
 * One mutation of a real synthesized sample (mitoyo) per rule of the preflight family and the port-pass rule: each
 * reproduces what the stacks did (or could do) before, and only that rule may catch it. policy.test.ts runs them with
 * the rest of the pack's weakenings; preflight.test.ts runs them through `alpha-prime check`.
 */
type Tf = any;

function named(tf: Tf, type: string, prefix: string): [string, any] {
  const entry = Object.entries<any>(tf.resource[type] ?? {}).find(([n]) => n.startsWith(prefix));
  if (!entry) throw new Error(`no ${type} ${prefix}`);
  return entry;
}

export const PREFLIGHT_WEAKENINGS: Record<string, (tf: Tf) => void> = {
  // what the relay's SMTP pass was: the whole private block, Client VPN's interfaces included
  "AP-NET-010": (tf) => {
    const [, g] = named(tf, "aws_networkfirewall_rule_group", "Breakout_PortPassRules");
    g.rule_group.rules_source.rules_string = g.rule_group.rules_source.rules_string.replace(/^pass tcp \[[^\]]+\]/m, "pass tcp [10.64.0.0/24]");
  },
  // what the return routes were: a block of subnets, which CreateRoute refuses (next to the exact routes, which stay)
  "AP-PRE-001": (tf) => {
    const [, r] = named(tf, "aws_route", "Breakout_PublicReturn0-PrivateSubnet0");
    tf.resource.aws_route.Weakened_BlockRoute = { ...r, destination_cidr_block: "10.64.0.0/24" };
  },
  // what a three-zone municipality got: one inbound resolver address per zone
  "AP-PRE-002": (tf) => {
    const [, e] = named(tf, "aws_ec2_client_vpn_endpoint", "RemoteAccess_Endpoint");
    e.dns_servers = [...e.dns_servers, "10.64.0.138"];
  },
  // what an id of 19 characters gave the proxy: alpha-prime-<id>-proxy cut at 32, ending in a hyphen
  "AP-PRE-003": (tf) => {
    const [, lb] = named(tf, "aws_lb", "TenantProxy_LoadBalancer");
    lb.name = "alpha-prime-minamiawaji-awaji-";
  },
  // what the volume keys named: the account's default Auto Scaling role, absent on a fresh account
  "AP-PRE-004": (tf) => {
    const [, k] = named(tf, "aws_kms_key", "Relay_VolumeKey");
    const policy = JSON.parse(k.policy);
    for (const s of policy.Statement) if (s.Sid?.startsWith("AutoScaling")) s.Principal = { AWS: "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling" };
    k.policy = JSON.stringify(policy);
  },
  // a domain allowlist that outgrew the capacity its rule group was made with
  "AP-PRE-005": (tf) => {
    const [, g] = named(tf, "aws_networkfirewall_rule_group", "Breakout_DomainAllowlist");
    g.capacity = 10;
  },
  // a sixth Elastic IP: one more than a fresh account's default quota
  "AP-PRE-006": (tf) => {
    const [, eip] = named(tf, "aws_eip", "Breakout_EgressIp0");
    for (let i = 0; i < 4; i++) tf.resource.aws_eip[`Weakened_ExtraIp${i}`] = { ...eip };
  },
};
