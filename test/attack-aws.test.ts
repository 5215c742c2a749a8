/**
 * An attack on "the synthesized stacks deploy" after issue 22: the samples read as AWS reads them at apply time, and
 * mutations of a real sample that AWS refuses but `alpha-prime check` lets through. Each finding cites the AWS page that
 * says AWS refuses (or cannot honour) it. These tests were written to fail on main 86dc06a.
 */
import * as fs from "fs";
import * as path from "path";
import { cidrContains, cidrOf } from "../core/cidr";
import { outdirWith, runCli, SAMPLE_IDS, synthStacks, tempDir, TfJson } from "./helpers";

const { stacks } = synthStacks();
const clone = (id = "mitoyo"): any => JSON.parse(JSON.stringify(stacks[id]));


/** The open (unsuppressed) error findings `alpha-prime check` reports for one mutated mitoyo, and its exit code. */
async function checkMutant(mutate: (tf: any) => void): Promise<{ code: number; findings: { ruleId: string; address: string; message: string }[] }> {
  const tf = clone();
  mutate(tf);
  const r = await runCli("check", outdirWith({ mitoyo: tf }), "--format", "json");
  const report = JSON.parse(r.out);
  return { code: r.code, findings: report.findings.filter((f: any) => !f.suppressed && f.severity === "error") };
}

function named(tf: any, type: string, prefix: string): [string, any] {
  const entry = Object.entries<any>(tf.resource[type] ?? {}).find(([n]) => n.startsWith(prefix));
  if (!entry) throw new Error(`no ${type} ${prefix}`);
  return entry;
}

/** "type.name" of every resource a value refers to (${type.name.attr} or a depends_on entry). */
function referencesIn(value: unknown): string[] {
  const text = JSON.stringify(value ?? null);
  return [...text.matchAll(/(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)/g)].map((m) => `${m[1]}.${m[2]}`);
}

/** Every resource each resource waits for before Terraform creates it, transitively. */
function dependencyClosure(tf: TfJson): Map<string, Set<string>> {
  const direct = new Map<string, string[]>();
  for (const [type, byName] of Object.entries(tf.resource)) {
    for (const [name, body] of Object.entries<any>(byName)) {
      const { ["//"]: _meta, ...values } = body;
      direct.set(`${type}.${name}`, referencesIn(values).filter((a) => a !== `${type}.${name}`));
    }
  }
  const closure = new Map<string, Set<string>>();
  const visit = (a: string, seen: Set<string>): Set<string> => {
    const known = closure.get(a);
    if (known) return known;
    const out = new Set<string>();
    for (const d of direct.get(a) ?? []) {
      if (seen.has(d)) continue;
      out.add(d);
      for (const x of visit(d, new Set([...seen, a]))) out.add(x);
    }
    closure.set(a, out);
    return out;
  };
  for (const a of direct.keys()) visit(a, new Set([a]));
  return closure;
}

/** The subnet resource ("aws_subnet.X") a value such as "${aws_subnet.X.id}" names. */
const subnetOf = (v: unknown): string | undefined => referencesIn(v).find((a) => a.startsWith("aws_subnet."));

/**
 * Every resource that makes a network interface in a subnet and lets EC2 pick its address: EC2 gives such an
 * interface any free address of the subnet, one a later resource may have been promised.
 */
function automaticAddressTakers(tf: TfJson): { address: string; subnet: string }[] {
  const out: { address: string; subnet: string }[] = [];
  const add = (address: string, subnets: unknown[]) => {
    for (const s of subnets) {
      const subnet = subnetOf(s);
      if (subnet) out.push({ address, subnet });
    }
  };
  for (const [type, byName] of Object.entries(tf.resource)) {
    for (const [name, r] of Object.entries<any>(byName)) {
      const address = `${type}.${name}`;
      if (type === "aws_vpc_endpoint" && r.vpc_endpoint_type === "Interface") add(address, r.subnet_ids ?? []);
      if (type === "aws_ec2_client_vpn_network_association" || type === "aws_nat_gateway") add(address, [r.subnet_id]);
      if (type === "aws_ec2_transit_gateway_vpc_attachment") add(address, r.subnet_ids ?? []);
      if (type === "aws_autoscaling_group") add(address, r.vpc_zone_identifier ?? []);
      if (type === "aws_networkfirewall_firewall") add(address, (r.subnet_mapping ?? []).map((m: any) => m.subnet_id));
      if (type === "aws_lb") add(address, [...(r.subnets ?? []), ...(r.subnet_mapping ?? []).filter((m: any) => !m.private_ipv4_address).map((m: any) => m.subnet_id)]);
      if (type === "aws_route53_resolver_endpoint") add(address, (r.ip_address ?? []).filter((i: any) => !i.ip).map((i: any) => i.subnet_id));
    }
  }
  return out;
}

/** Every address a resource asks for by value: the inbound resolver's and the proxy load balancer's. */
function fixedAddresses(tf: TfJson): { address: string; subnet: string; ip: string }[] {
  const out: { address: string; subnet: string; ip: string }[] = [];
  for (const [name, r] of Object.entries<any>(tf.resource.aws_route53_resolver_endpoint ?? {})) {
    for (const i of r.ip_address ?? []) if (i.ip) out.push({ address: `aws_route53_resolver_endpoint.${name}`, subnet: subnetOf(i.subnet_id)!, ip: i.ip });
  }
  for (const [name, r] of Object.entries<any>(tf.resource.aws_lb ?? {})) {
    for (const m of r.subnet_mapping ?? []) if (m.private_ipv4_address) out.push({ address: `aws_lb.${name}`, subnet: subnetOf(m.subnet_id)!, ip: m.private_ipv4_address });
  }
  return out;
}

describe("A1. an address a resource asks for cannot be taken first by an interface EC2 numbers itself", () => {
  // EC2 gives an interface created without an address any free address of its subnet; CreateResolverEndpoint and
  // CreateLoadBalancer then fail for an address already in use. Terraform creates resources that do not depend on each
  // other in parallel, so a fixed address is safe only if it is reserved (a subnet CIDR reservation of type explicit,
  // which EC2 never assigns automatically) before anything else numbers itself in that subnet, or if everything that
  // numbers itself there is created after the resource that holds the address.
  // - Subnet CIDR reservations (Amazon VPC User Guide): https://docs.aws.amazon.com/vpc/latest/userguide/subnet-cidr-reservation.html
  // - CreateSubnetCidrReservation, ReservationType explicit (Amazon EC2 API Reference): https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSubnetCidrReservation.html
  // - Error codes for the Amazon EC2 API (InvalidIPAddress.InUse): https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test.each(SAMPLE_IDS)("%s: every fixed address is reserved, or created before any automatic address in its subnet", (id) => {
    const tf = stacks[id];
    const deps = dependencyClosure(tf);
    const reservations = Object.entries<any>(tf.resource.aws_ec2_subnet_cidr_reservation ?? {}).map(([n, r]) => ({ address: `aws_ec2_subnet_cidr_reservation.${n}`, subnet: subnetOf(r.subnet_id), cidr: r.cidr_block, type: r.reservation_type }));
    const fixed = fixedAddresses(tf);
    expect(fixed.length).toBeGreaterThan(0);
    const exposed: string[] = [];
    for (const f of fixed) {
      const reservation = reservations.find((r) => r.subnet === f.subnet && r.type === "explicit" && cidrContains(cidrOf(r.cidr), cidrOf(`${f.ip}/32`)));
      for (const t of automaticAddressTakers(tf).filter((x) => x.subnet === f.subnet && x.address !== f.address)) {
        const after = deps.get(t.address) ?? new Set();
        const safe = after.has(f.address) || (reservation !== undefined && after.has(reservation.address));
        if (!safe) exposed.push(`${f.ip} (${f.address}) can be taken by ${t.address} in ${f.subnet}`);
      }
    }
    expect(exposed).toEqual([]);
  });
});

describe("A2. preflight: a key policy must pass KMS's lockout safety check", () => {
  // CreateKey / PutKeyPolicy refuse a policy that does not let the caller call PutKeyPolicy on the key again
  // (MalformedPolicyDocumentException) unless BypassPolicyLockoutSafetyCheck is set, which the provider does not set.
  // - CreateKey, Policy and BypassPolicyLockoutSafetyCheck (AWS KMS API Reference): https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
  // - Default key policy: allows access to the AWS account and enables IAM policies (AWS KMS Developer Guide): https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
  const lockedOut = (narrow: (statements: any[]) => any[]) => (tf: any) => {
    const [, k] = named(tf, "aws_kms_key", "Breakout_FirewallKey");
    const policy = JSON.parse(k.policy);
    policy.Statement = narrow(policy.Statement);
    k.policy = JSON.stringify(policy);
  };

  test("the untouched firewall key has no finding (the mutations below are what is caught)", async () => {
    const r = await checkMutant(() => {});
    expect(r.findings.filter((f) => f.address.startsWith("aws_kms_key.Breakout_FirewallKey"))).toEqual([]);
  });

  test("a key policy without the account's administration statement is refused by CreateKey, and check says so", async () => {
    const r = await checkMutant(lockedOut(() => [{ Sid: "NetworkFirewallOnly", Effect: "Allow", Principal: { Service: "network-firewall.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey*"], Resource: "*" }]));
    expect(r.code).toBe(1);
    expect(r.findings.map((f) => f.address)).toContain("aws_kms_key.Breakout_FirewallKey_7373DA97");
  });

  test("an account statement narrowed so that nobody may call PutKeyPolicy is refused as well, and check says so", async () => {
    const r = await checkMutant(lockedOut((s) => s.map((x) => (x.Sid === "AccountAdministers" ? { ...x, Action: ["kms:Describe*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"] } : x))));
    expect(r.code).toBe(1);
    expect(r.findings.map((f) => f.address)).toContain("aws_kms_key.Breakout_FirewallKey_7373DA97");
  });
});

describe("A3. preflight: fixed addresses are ones the subnet can give", () => {
  // The first four addresses and the last address of every subnet are AWS's; an address outside the subnet is no
  // address of it; an inbound Resolver endpoint needs at least two addresses.
  // - Subnet CIDR blocks: "The first four IP addresses and the last IP address in each subnet CIDR block are not available" (Amazon VPC User Guide): https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
  // - High availability for Resolver endpoints: "Route 53 requires that you create at least two IP addresses" (Amazon Route 53 Developer Guide): https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/best-practices-resolver-endpoint-high-availability.html
  // - CreateResolverEndpoint, IpAddresses (Amazon Route 53 API Reference): https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_CreateResolverEndpoint.html
  // - SubnetMapping, PrivateIPv4Address "from the IPv4 range of the subnet" (Elastic Load Balancing API Reference): https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SubnetMapping.html
  const resolver = (tf: any) => named(tf, "aws_route53_resolver_endpoint", "Breakout_InboundResolver")[1];
  const proxyLb = (tf: any) => named(tf, "aws_lb", "TenantProxy_LoadBalancer")[1];
  const cases: [string, string, (tf: any) => void][] = [
    ["an inbound resolver endpoint with one address", "aws_route53_resolver_endpoint.Breakout_InboundResolver_21DA8CC2", (tf) => (resolver(tf).ip_address = resolver(tf).ip_address.slice(0, 1))],
    ["a resolver address outside its subnet (10.64.0.100 in 10.64.0.0/26)", "aws_route53_resolver_endpoint.Breakout_InboundResolver_21DA8CC2", (tf) => (resolver(tf).ip_address[0].ip = "10.64.0.100")],
    ["a resolver address among the subnet's first four (10.64.0.1, the VPC router)", "aws_route53_resolver_endpoint.Breakout_InboundResolver_21DA8CC2", (tf) => (resolver(tf).ip_address[0].ip = "10.64.0.1")],
    ["a load balancer address that is the subnet's last (10.64.0.207 in 10.64.0.192/28)", "aws_lb.TenantProxy_LoadBalancer_68663701", (tf) => (proxyLb(tf).subnet_mapping[0].private_ipv4_address = "10.64.0.207")],
    ["a load balancer address outside its subnet", "aws_lb.TenantProxy_LoadBalancer_68663701", (tf) => (proxyLb(tf).subnet_mapping[0].private_ipv4_address = "10.64.0.20")],
  ];
  test.each(cases)("%s is refused by AWS, and check says so", async (_what, address, mutate) => {
    const r = await checkMutant(mutate);
    expect(r.code).toBe(1);
    expect(r.findings.map((f) => f.address)).toContain(address);
  });
});

describe("A4. preflight: one subnet per zone where the API takes one per zone", () => {
  // - CreateFirewall, SubnetMappings: "Each subnet must belong to a different Availability Zone in the VPC" (AWS Network Firewall API Reference): https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_CreateFirewall.html
  // - CreateLoadBalancer, Subnets / SubnetMappings: "You can specify only one subnet per Availability Zone" (Elastic Load Balancing API Reference): https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
  test("a firewall mapped to two subnets of one zone is refused by CreateFirewall, and check says so", async () => {
    const r = await checkMutant((tf) => (named(tf, "aws_subnet", "Breakout_FirewallSubnet1")[1].availability_zone = "ap-northeast-1a"));
    expect(r.code).toBe(1);
    expect(r.findings.map((f) => f.address)).toContain("aws_networkfirewall_firewall.Breakout_Firewall_E43483E1");
  });

  test("a load balancer given the same zone twice is refused by CreateLoadBalancer, and check says so", async () => {
    const r = await checkMutant((tf) => {
      const lb = named(tf, "aws_lb", "Relay_LoadBalancer")[1];
      lb.subnets = [lb.subnets[0], lb.subnets[0]];
    });
    expect(r.code).toBe(1);
    expect(r.findings.map((f) => f.address)).toContain("aws_lb.Relay_LoadBalancer_D7D9927F");
  });
});

describe("A5. preflight: a strict-order policy takes only strict-order rule groups", () => {
  // - "The settings for your rule groups must match the settings for the firewall policy that they belong to" (Managing evaluation order for Suricata compatible rules, AWS Network Firewall Developer Guide): https://docs.aws.amazon.com/network-firewall/latest/developerguide/suricata-rule-evaluation-order.html
  // - "You can only add a rule group appended with StrictOrder if the policy uses strict order" (Threat signature rule groups, AWS Network Firewall Developer Guide): https://docs.aws.amazon.com/network-firewall/latest/developerguide/aws-managed-rule-groups-threat-signature.html
  test("a rule group of action order in the strict-order policy is refused, and check says so", async () => {
    const r = await checkMutant((tf) => (named(tf, "aws_networkfirewall_rule_group", "Breakout_PortPassRules")[1].rule_group.stateful_rule_options.rule_order = "DEFAULT_ACTION_ORDER"));
    expect(r.code).toBe(1);
    expect(r.findings.map((f) => f.address)).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_networkfirewall_(firewall_policy|rule_group)\./)]));
  });

  test("an AWS managed ActionOrder group in the strict-order policy is refused, and check says so", async () => {
    const r = await checkMutant((tf) => {
      const [, p] = named(tf, "aws_networkfirewall_firewall_policy", "Breakout_FirewallPolicy");
      const refs = p.firewall_policy.stateful_rule_group_reference;
      refs[0].resource_arn = refs[0].resource_arn.replace(/StrictOrder$/, "ActionOrder");
    });
    expect(r.code).toBe(1);
    expect(r.findings.map((f) => f.address)).toContain("aws_networkfirewall_firewall_policy.Breakout_FirewallPolicy_19CA328E");
  });
});

describe("A6. an env file that validates gives a relay load balancer AWS refuses", () => {
  // One listener per relay route on one Network Load Balancer, and a Network Load Balancer takes 50 listeners, a quota
  // that cannot be raised: the 51st CreateListener fails half-way through the deploy.
  // - Quotas for your Network Load Balancers: "Listeners per Network Load Balancer 50, Adjustable: No" (Elastic Load Balancing): https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-limits.html
  test("51 relay routes are refused before deploy: by validate, synth or check", async () => {
    const sample = fs.readFileSync(path.join(__dirname, "..", "env", "mitoyo.yaml"), "utf8");
    const [head, rest] = sample.split(/^relay:.*$/m);
    const tail = rest.slice(rest.search(/^logging:/m));
    const routes = Array.from({ length: 51 }, (_, i) => `  - name: r${i}\n    from: lgwan\n    listenPort: ${2000 + i}\n    target: "172.16.5.${20 + i}:${2000 + i}"\n`).join("");
    const envDir = path.join(tempDir(), "env");
    fs.mkdirSync(envDir);
    fs.writeFileSync(path.join(envDir, "mitoyo.yaml"), `${head}relay:\n${routes}${tail}`);
    const validated = await runCli("--env-dir", envDir, "validate");
    if (validated.code !== 0) return; // refused where it should be: at the YAML
    const out = path.join(tempDir(), "cdktf.out");
    const synth = await runCli("--env-dir", envDir, "synth", "--out", out);
    // the pack also runs at synth: refused there, it must say why
    if (synth.code !== 0) return expect(synth.out + synth.err).toMatch(/51 listeners; a Network Load Balancer takes 50/);
    const tf = JSON.parse(fs.readFileSync(path.join(out, "stacks", "mitoyo", "cdk.tf.json"), "utf8"));
    expect(Object.values<any>(tf.resource.aws_lb_listener).filter((l) => /Relay_LoadBalancer/.test(l.load_balancer_arn))).toHaveLength(51);
    expect((await runCli("check", out)).code).toBe(1);
  });
});

describe("A7. an env file that validates gives IAM tags IAM refuses", () => {
  // The provider's default tags carry the municipality's name to every resource, IAM roles and instance profiles
  // included; IAM takes tag values of letters, digits, spaces and _.:/=+-@ only, so CreateRole fails on a name with
  // full-width parentheses or a comma.
  // - Tag, Value "Pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*" (IAM API Reference): https://docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html
  // - CreateRole, Tags (IAM API Reference): https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
  test.each(["三豊市（香川県）", "Mitoyo, Kagawa"])("name %p is refused before deploy: by validate, synth or check", async (name) => {
    const envDir = path.join(tempDir(), "env");
    fs.mkdirSync(envDir);
    fs.writeFileSync(path.join(envDir, "mitoyo.yaml"), fs.readFileSync(path.join(__dirname, "..", "env", "mitoyo.yaml"), "utf8").replace(/^name: .*$/m, `name: "${name}"`));
    const validated = await runCli("--env-dir", envDir, "validate");
    if (validated.code !== 0) return; // refused where it should be: at the YAML
    const out = path.join(tempDir(), "cdktf.out");
    const synth = await runCli("--env-dir", envDir, "synth", "--out", out);
    // the pack also runs at synth: refused there, it must say why
    if (synth.code !== 0) return expect(synth.out + synth.err).toMatch(/has a character IAM does not take in tags/);
    const tf = JSON.parse(fs.readFileSync(path.join(out, "stacks", "mitoyo", "cdk.tf.json"), "utf8"));
    expect(tf.provider.aws[0].default_tags[0].tags.MunicipalityName).toBe(name);
    expect(Object.keys(tf.resource.aws_iam_role ?? {}).length).toBeGreaterThan(0);
    expect((await runCli("check", out)).code).toBe(1);
  });
});
