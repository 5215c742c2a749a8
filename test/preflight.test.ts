/**
 * Preflight (issue 22): what AWS refuses or breaks at apply time, caught before `cdktf deploy`. First the six findings
 * of the review of the synthesized samples, each shown fixed on the synthesized stacks themselves (each of these
 * tests failed on the code before the fix); then every preflight rule with a failing and a passing fixture, and a
 * mutation of a real sample caught by `alpha-prime check`.
 */
import * as fs from "fs";
import * as path from "path";
import * as ipaddr from "ipaddr.js";
import { cidrContains, cidrOf, intToIp, networkInt } from "../core/cidr";
import { NAME_RULES, nameProblem, shortName } from "../core/aws-names";
import { CLIENT_VPN_MAX_DNS_SERVERS, RemoteAccessVpn } from "../constructs/remote-access-vpn";
import { LogArchive } from "../constructs/log-archive";
import { PATCH_MANAGER_BUCKETS } from "../constructs/relay-appliance";
import { userDataText } from "../constructs/terraform-text";
import { checkStack } from "../policy/engine";
import { StackModel } from "../policy/model";
import { statefulRulesNeeded } from "../policy/rules/preflight-limits";
import { ALPHA_PRIME_PACK, RULE_IDS } from "../policy/pack";
import { tierQuotaTable } from "../policy/quotas";
import { BANDWIDTH_TIERS } from "../constructs/bandwidth-tier";
import type { Rule } from "../policy/types";
import { REPO_ROOT } from "../core/paths";
import { envDirWith, outdirWith, policyOf, resources, runCli, SAMPLE_IDS, sampleText, synthScope, synthStacks, TfJson } from "./helpers";
import { PREFLIGHT_WEAKENINGS } from "./preflight-weakenings";

const { stacks } = synthStacks();
const TODAY = "2026-11-23";
const rule = (id: string): Rule => ALPHA_PRIME_PACK.find((r) => r.id === id)!;
const clone = (id = "mitoyo"): any => JSON.parse(JSON.stringify(stacks[id]));
const byName = (tf: TfJson, type: string, prefix: string): [string, any][] => resources(tf, type).filter(([n]) => n.startsWith(prefix));
const ref = (type: string, name: string) => `\${${type}.${name}.id}`;

/** The zone a firewall endpoint expression picks from the firewall's sync states. */
const endpointZone = (expr: string) => /availability_zone == "([^"]+)"/.exec(expr)?.[1];

describe("1. return routes: each subnet's own block, back through its own zone's firewall endpoint", () => {
  test.each(SAMPLE_IDS)("%s: every route inside the VPC matches a whole subnet, and every workload subnet is routed back in every public table", (id) => {
    const tf = stacks[id];
    const subnets = resources(tf, "aws_subnet");
    const vpc = cidrOf(resources(tf, "aws_vpc")[0][1].cidr_block);
    const publicTables = byName(tf, "aws_route_table", "Breakout_PublicRouteTable").map(([n]) => ref("aws_route_table", n));
    const workloads = subnets.filter(([n]) => /^Breakout_(Private|Proxy|Relay)Subnet\d/.test(n));
    expect(workloads.length).toBeGreaterThan(0);
    for (const table of publicTables) {
      const routes = resources(tf, "aws_route").filter(([, r]) => r.route_table_id === table);
      for (const [, r] of routes) {
        const d = cidrOf(r.destination_cidr_block);
        if (!cidrContains(vpc, d)) continue; // outside the VPC, or wider than it
        // AWS: a route more specific than the local route must match the entire CIDR block of a subnet
        expect(subnets.map(([, s]) => s.cidr_block)).toContain(r.destination_cidr_block);
      }
      for (const [, s] of workloads) {
        const back = routes.filter(([, r]) => r.destination_cidr_block === s.cidr_block);
        expect(back).toHaveLength(1);
        expect(back[0][1].vpc_endpoint_id).toContain("aws_networkfirewall_firewall.");
        expect(endpointZone(back[0][1].vpc_endpoint_id)).toBe(s.availability_zone);
      }
    }
  });

  test("the subnets themselves did not move: every sample's subnets are the ones the base commit planned", () => {
    // the addresses of the base commit (0386072), which the change must keep; the relay's subnets are added
    const before: Record<string, string[]> = {
      aogashima: ["10.112.0.0/26", "10.112.0.64/26", "10.112.0.128/28", "10.112.0.144/28", "10.112.0.160/28", "10.112.0.176/28", "10.112.0.192/28", "10.112.0.208/28", "10.112.0.224/28", "10.112.0.240/28"],
      mitoyo: ["10.64.0.0/26", "10.64.0.64/26", "10.64.0.192/28", "10.64.0.208/28", "10.64.1.0/26", "10.64.1.64/26", "10.64.2.0/26", "10.64.2.64/26", "10.64.3.0/26", "10.64.3.64/26"],
    };
    for (const [id, cidrs] of Object.entries(before)) {
      const now = resources(stacks[id], "aws_subnet").filter(([n]) => !n.startsWith("Breakout_RelaySubnet")).map(([, s]) => s.cidr_block).sort();
      expect(now).toEqual([...cidrs].sort());
    }
  });
});

describe("2. Client VPN takes at most two DNS servers", () => {
  test.each(SAMPLE_IDS)("%s pushes at most two", (id) => {
    for (const [, e] of resources(stacks[id], "aws_ec2_client_vpn_endpoint")) expect(e.dns_servers.length).toBeLessThanOrEqual(CLIENT_VPN_MAX_DNS_SERVERS);
  });

  test("ashiya (three zones) pushes the inbound resolver of its first two zones", () => {
    const [, e] = resources(stacks.ashiya, "aws_ec2_client_vpn_endpoint")[0];
    expect(e.dns_servers).toEqual(["10.96.0.10", "10.96.0.138"]);
  });

  test("the construct refuses a third server instead of leaving it to CreateClientVpnEndpoint", () => {
    expect(() =>
      synthScope((scope) => {
        const logs = new LogArchive(scope, "LogArchive", { namePrefix: "t", accountId: "123456789012", region: "ap-northeast-1" });
        new RemoteAccessVpn(scope, "RemoteAccess", {
          namePrefix: "t", vpcId: "vpc-1", vpcCidr: "10.0.0.0/22", subnetIds: ["subnet-a"], clientCidr: "10.100.0.0/22",
          serverCertificateArn: "arn:aws:acm:ap-northeast-1:123456789012:certificate/x", clientRootCertificateArn: "arn:aws:acm:ap-northeast-1:123456789012:certificate/y",
          lgwanCidrs: ["172.16.0.0/16"], dnsServers: ["10.0.0.10", "10.0.0.74", "10.0.0.138"], loginBanner: "b", logs, connectionLogGroupName: "/t/cvpn",
        });
      }),
    ).toThrow(/at most 2 DNS servers, got 3/);
  });
});

/** Whether a Suricata source spec ("[a/b,c/d]") matches an address. */
function sourceMatches(spec: string, address: string): boolean {
  return spec.replace(/^\[|\]$/g, "").split(",").some((c) => ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(c)));
}
/** Every address of a block (a /26 has 64: small enough to try them all). */
const everyAddress = (cidr: string) => Array.from({ length: 2 ** (32 - cidrOf(cidr).bits) }, (_, i) => intToIp(networkInt(cidr) + i));

describe("3. the relay's port pass (TCP 587 to any host) is the relay's alone", () => {
  const tf = stacks.mitoyo;
  const [, group] = byName(tf, "aws_networkfirewall_rule_group", "Breakout_PortPassRules")[0];
  const [pass] = group.rule_group.rules_source.rules_string.split("\n").filter((l: string) => / -> \$EXTERNAL_NET 587 /.test(l));
  const source = /^pass tcp (\S+) /.exec(pass)![1];
  const cidrOfSubnet = (r: string) => resources(tf, "aws_subnet").find(([n]) => r === ref("aws_subnet", n))![1].cidr_block as string;

  test("no address a Client VPN client can be translated to matches the pass's source", () => {
    const clientVpnSubnets = resources(tf, "aws_ec2_client_vpn_network_association").map(([, a]) => cidrOfSubnet(a.subnet_id));
    expect(clientVpnSubnets).toEqual(["10.64.0.0/26", "10.64.0.64/26"]);
    for (const subnet of clientVpnSubnets) for (const address of everyAddress(subnet)) expect([address, sourceMatches(source, address)]).toEqual([address, false]);
  });

  test("nor the proxy's, nor an LGWAN PC's; the relay instances' subnets are the whole source", () => {
    for (const [, s] of byName(tf, "aws_subnet", "Breakout_ProxySubnet")) for (const a of everyAddress(s.cidr_block)) expect(sourceMatches(source, a)).toBe(false);
    expect(sourceMatches(source, "172.16.1.10")).toBe(false);
    const [, asg] = byName(tf, "aws_autoscaling_group", "Relay_AutoScalingGroup")[0];
    const relaySubnets = asg.vpc_zone_identifier.map(cidrOfSubnet);
    expect(`[${relaySubnets.join(",")}]`).toBe(source);
    // and only the relay lives there: no other instances, endpoints, load balancers or Client VPN
    const inRelaySubnets = (v: unknown) => JSON.stringify(v).includes("Breakout_RelaySubnet");
    const occupants = Object.entries(tf.resource).flatMap(([type, byN]) => Object.entries<any>(byN).filter(([, r]) => inRelaySubnets(r) && !["aws_subnet", "aws_route_table_association", "aws_route"].includes(type)).map(([n]) => `${type}.${n}`));
    expect(occupants.sort()).toEqual([expect.stringMatching(/^aws_autoscaling_group\.Relay_AutoScalingGroup/)]);
  });

  test("a pass whose header is continued onto the next line (a trailing backslash) is the rule judged and counted, not two fragments", () => {
    const portPass = (m: StackModel) => m.ofType("aws_networkfirewall_rule_group").find((r) => r.address.includes("PortPassRules"))!;
    const rulesBefore = statefulRulesNeeded(portPass(new StackModel("mitoyo", clone())));
    const edited = clone();
    const [, g] = byName(edited, "aws_networkfirewall_rule_group", "Breakout_PortPassRules")[0];
    // the whole private block as the source, as before issue 22, with Suricata's line continuation after the protocol
    g.rule_group.rules_source.rules_string = g.rule_group.rules_source.rules_string.replace(pass, pass.replace(`pass tcp ${source} `, "pass tcp \\\n  10.64.0.0/24 "));
    const model = new StackModel("mitoyo", edited);
    expect(rule("AP-NET-010").check(model).map((v) => v.message)).toEqual([expect.stringMatching(/passes tcp port 587 to every internet address from 10\.64\.0\.0\/24, which holds the Client VPN subnet/)]);
    expect(statefulRulesNeeded(portPass(model))).toBe(rulesBefore);
  });

  test("the relay's load balancer stays where Client VPN and the LGWAN reach it (the private subnets)", () => {
    const [, lb] = byName(tf, "aws_lb", "Relay_LoadBalancer")[0];
    expect(lb.subnets.map(cidrOfSubnet)).toEqual(["10.64.0.0/26", "10.64.0.64/26"]);
  });

  test("a /24 (no room for the relay's subnets) refuses a relay target the firewall could only pass by port", async () => {
    const village = sampleText("aogashima").replace("logging:", 'relay:\n  - { name: smtp-submission, from: lgwan, listenPort: 587, target: "smtp.office365.com:587" }\nlogging:');
    const dir = envDirWith({ "aogashima.yaml": village });
    const r = await runCli("validate", path.join(dir, "aogashima.yaml"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\/relay\/0\/target: port 587 carries no name the firewall can read.*10\.112\.0\.0\/24 has no room for them/);
    const tls = village.replace("smtp.office365.com:587", "outlook.office365.com:443");
    expect((await runCli("validate", path.join(envDirWith({ "aogashima.yaml": tls }), "aogashima.yaml"))).code).toBe(0);
  });
});

describe("4. the relay's patching reaches Patch Manager's buckets, and nothing else of S3", () => {
  test("the S3 gateway endpoint allows GetObject on the AL2023 repository and the region's patching buckets only", () => {
    const [, endpoint] = byName(stacks.mitoyo, "aws_vpc_endpoint", "Relay_Endpoint-s3")[0];
    const statements = policyOf(endpoint).Statement;
    expect(statements.every((s: any) => s.Effect === "Allow" && s.Action === "s3:GetObject")).toBe(true);
    expect(statements.flatMap((s: any) => [s.Resource].flat()).sort()).toEqual(
      ["arn:aws:s3:::al2023-repos-ap-northeast-1-de612dc2/*", "arn:aws:s3:::aws-patch-manager-ap-northeast-1-4849fa78f/*", "arn:aws:s3:::patch-baseline-snapshot-ap-northeast-1/*"],
    );
  });

  test("the endpoint serves the relay's route tables, and the DNS firewall resolves the buckets' names", () => {
    const tf = stacks.mitoyo;
    const [, endpoint] = byName(tf, "aws_vpc_endpoint", "Relay_Endpoint-s3")[0];
    expect(endpoint.route_table_ids.every((t: string) => t.includes("Breakout_RelayRouteTable"))).toBe(true);
    const [, list] = byName(tf, "aws_route53_resolver_firewall_domain_list", "Breakout_DnsAllowlist")[0];
    for (const b of PATCH_MANAGER_BUCKETS["ap-northeast-1"]) expect(list.domains).toContain(`${b}.s3.ap-northeast-1.amazonaws.com.`);
  });

  test("both Japanese regions are known", () => {
    expect(Object.keys(PATCH_MANAGER_BUCKETS).sort()).toEqual(["ap-northeast-1", "ap-northeast-3"]);
  });
});

describe("5. fresh accounts: the volume keys name a role the stack creates first", () => {
  test.each(SAMPLE_IDS)("%s: no key names the account's default Auto Scaling role; each fleet's key and group use the fleet's own role", (id) => {
    const tf = stacks[id];
    expect(JSON.stringify(tf)).not.toMatch(/role\/aws-service-role\/autoscaling\.amazonaws\.com\/AWSServiceRoleForAutoScaling"/);
    for (const [name, key] of byName(tf, "aws_kms_key", "").filter(([n]) => /_VolumeKey_/.test(n))) {
      const fleet = name.split("_")[0];
      const [[roleName, role]] = byName(tf, "aws_iam_service_linked_role", `${fleet}_AutoScalingRole`);
      expect(role).toMatchObject({ aws_service_name: "autoscaling.amazonaws.com", custom_suffix: `alpha-prime-${id}-${fleet === "Relay" ? "relay" : "proxy"}` });
      const principals = policyOf(key).Statement.filter((s: any) => s.Sid?.startsWith("AutoScaling")).map((s: any) => s.Principal.AWS);
      expect(principals).toEqual([`\${aws_iam_service_linked_role.${roleName}.arn}`, `\${aws_iam_service_linked_role.${roleName}.arn}`]);
      const [, asg] = byName(tf, "aws_autoscaling_group", `${fleet}_AutoScalingGroup`)[0];
      expect(asg.service_linked_role_arn).toBe(`\${aws_iam_service_linked_role.${roleName}.arn}`);
      expect(`AWSServiceRoleForAutoScaling_${role.custom_suffix}`.length).toBeLessThanOrEqual(64);
    }
  });
});

describe("6. load balancer and target group names never end in a hyphen", () => {
  test("shortName keeps a name that fits and cuts a long one with a hash, never leaving a hyphen at the end", () => {
    expect(shortName("alpha-prime-mitoyo-proxy")).toBe("alpha-prime-mitoyo-proxy");
    for (let n = 1; n <= 24; n++) {
      const id = "k".repeat(n - 1) + "a";
      for (const suffix of ["proxy", "relay", "smtp-submission"]) {
        const name = shortName(`alpha-prime-${id}-${suffix}`);
        expect(nameProblem(NAME_RULES.find((r) => r.type === "aws_lb")!, name)).toBeUndefined();
      }
    }
  });

  test("an id of 19 characters: the proxy's load balancer and target group get valid names", () => {
    const id = "kaga-onsen-ishikawa";
    expect(id).toHaveLength(19);
    const text = sampleText("kaga").replace(/^id: kaga\b/m, `id: ${id}`);
    const tf = synthStacks({ envDir: envDirWith({ [`${id}.yaml`]: text }) }).stacks[id];
    for (const [type, prefix] of [["aws_lb", "TenantProxy_LoadBalancer"], ["aws_lb_target_group", "TenantProxy_TargetGroup"]]) {
      const [, r] = byName(tf, type, prefix)[0];
      expect(r.name.length).toBeLessThanOrEqual(32);
      expect(r.name).not.toMatch(/-$/);
    }
  });

  test("the samples keep their names (a load balancer's name cannot change without replacing it)", () => {
    const names = (id: string) => [...resources(stacks[id], "aws_lb"), ...resources(stacks[id], "aws_lb_target_group")].map(([, r]) => r.name).sort();
    expect(names("kaga")).toEqual(["alpha-prime-kaga-proxy", "alpha-prime-kaga-proxy"]);
    expect(names("aogashima")).toEqual(["alpha-prime-aogashima-proxy", "alpha-prime-aogashima-proxy"]);
    expect(names("ashiya")).toEqual(["alpha-prime-ashiya-proxy", "alpha-prime-ashiya-proxy"]);
    expect(names("mitoyo")).toEqual(["alpha-prime-mitoyo-proxy", "alpha-prime-mitoyo-proxy", "alpha-prime-mitoyo-relay", "alpha-prime-mitoyo-smtp-sub-d6dc", "alpha-prime-mitoyo-webmail"]);
  });
});

describe("found on the way: what else the samples sent that AWS refuses", () => {
  test("user data fits EC2's 16 KB (kaga's proxy cloud-config is 17.6 KB): compressed, and cloud-init reads it back whole", () => {
    for (const id of SAMPLE_IDS) {
      for (const [, t] of resources(stacks[id], "aws_launch_template")) {
        const raw = Buffer.from(t.user_data, "base64");
        expect(raw.length).toBeLessThanOrEqual(16_384);
        expect(userDataText(t.user_data)).toMatch(/^#cloud-config\n/);
      }
    }
    const [, kaga] = byName(stacks.kaga, "aws_launch_template", "TenantProxy")[0];
    expect(Buffer.byteLength(userDataText(kaga.user_data))).toBeGreaterThan(16_384);
  });

  test("security group descriptions use only the characters EC2 accepts (no apostrophe)", () => {
    for (const id of SAMPLE_IDS) for (const [, sg] of resources(stacks[id], "aws_security_group")) expect(sg.description).toMatch(/^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/);
  });
});

/** A minimal stack for the rule fixtures: provider with an account, resources by type and name. */
function stack(resource: Record<string, Record<string, any>>, locals: Record<string, unknown> = {}): StackModel {
  return new StackModel("fixture", { provider: { aws: [{ allowed_account_ids: ["123456789012"], default_tags: [{ tags: { Municipality: "x", LocalGovernmentCode: "000000" } }] }] }, resource, locals: { alpha_prime: locals } });
}
const findings = (ruleId: string, model: StackModel) => rule(ruleId).check(model).map((v) => v.message);
const fw = (az: string) => `\${[for s in aws_networkfirewall_firewall.Fw.firewall_status[0].sync_states : s.attachment[0].endpoint_id if s.availability_zone == "${az}"][0]}`;
const vpc = { V: { cidr_block: "10.0.0.0/16" } };
const subnets = {
  A: { vpc_id: ref("aws_vpc", "V"), cidr_block: "10.0.1.0/24", availability_zone: "ap-northeast-1a" },
  C: { vpc_id: ref("aws_vpc", "V"), cidr_block: "10.0.2.0/24", availability_zone: "ap-northeast-1c" },
  Small: { vpc_id: ref("aws_vpc", "V"), cidr_block: "10.0.3.0/28", availability_zone: "ap-northeast-1c" },
};
const table = { aws_route_table: { T: { vpc_id: ref("aws_vpc", "V") } } };
const route = (destination: string, target: Record<string, string>) => ({ route_table_id: ref("aws_route_table", "T"), destination_cidr_block: destination, ...target });

describe("the preflight rules: a failing and a passing fixture each", () => {
  test("AP-PRE-001 routes", () => {
    const ok = stack({ aws_vpc: vpc, aws_subnet: subnets, ...table, aws_route: {
      Subnet: route("10.0.1.0/24", { vpc_endpoint_id: fw("ap-northeast-1a") }),
      Nat: route("10.0.2.0/24", { nat_gateway_id: "${aws_nat_gateway.N.id}" }),
      Default: route("0.0.0.0/0", { gateway_id: "${aws_internet_gateway.I.id}" }),
      Wider: route("10.0.0.0/8", { transit_gateway_id: "tgw-1" }),
      OnPrem: route("172.16.0.0/16", { transit_gateway_id: "tgw-1" }),
    } });
    expect(findings("AP-PRE-001", ok)).toEqual([]);
    const bad = stack({ aws_vpc: vpc, aws_subnet: subnets, ...table, aws_route: {
      Block: route("10.0.0.0/23", { vpc_endpoint_id: fw("ap-northeast-1a") }),
      WrongTarget: route("10.0.1.0/24", { transit_gateway_id: "tgw-1" }),
      Own: route("10.0.0.0/16", { nat_gateway_id: "n" }),
      Again: route("0.0.0.0/0", { gateway_id: "igw-1" }),
      AgainToo: route("0.0.0.0/0", { nat_gateway_id: "n" }),
      Reserved: route("169.254.169.0/24", { nat_gateway_id: "n" }),
    } });
    expect(findings("AP-PRE-001", bad)).toEqual([
      expect.stringMatching(/10\.0\.0\.0\/23 is inside the VPC \(10\.0\.0\.0\/16\) but is not the whole block of any of its subnets/),
      expect.stringMatching(/10\.0\.1\.0\/24 is inside the VPC and goes to a transit gateway/),
      expect.stringMatching(/10\.0\.0\.0\/16 is the VPC's own block/),
      expect.stringMatching(/0\.0\.0\.0\/0 is already routed in aws_route_table\.T by aws_route\.Again: CreateRoute answers RouteAlreadyExists/),
      expect.stringMatching(/169\.254\.169\.0\/24 lies in 169\.254\.168\.0\/22/),
    ]);
  });

  const endpoint = (values: Record<string, unknown>) => ({
    aws_vpc: vpc,
    aws_subnet: subnets,
    aws_ec2_client_vpn_endpoint: { E: { vpc_id: ref("aws_vpc", "V"), client_cidr_block: "10.100.0.0/22", dns_servers: ["10.0.1.10", "10.0.2.10"], ...values } },
  });
  const associate = (...names: string[]) => Object.fromEntries(names.map((n) => [`Assoc${n}`, { client_vpn_endpoint_id: ref("aws_ec2_client_vpn_endpoint", "E"), subnet_id: ref("aws_subnet", n) }]));

  test("AP-PRE-002 Client VPN endpoints", () => {
    expect(findings("AP-PRE-002", stack({ ...endpoint({}), aws_ec2_client_vpn_network_association: associate("A", "C") }))).toEqual([]);
    const bad = stack({ ...endpoint({ client_cidr_block: "10.0.0.0/24", dns_servers: ["10.0.1.10", "10.0.2.10", "10.0.1.11"] }), aws_ec2_client_vpn_network_association: associate("A", "C", "Small") });
    expect(findings("AP-PRE-002", bad)).toEqual([
      expect.stringMatching(/^3 DNS servers .*at most 2$/),
      expect.stringMatching(/client CIDR 10\.0\.0\.0\/24 is a \/24; it must be from \/12 to \/22/),
      expect.stringMatching(/client CIDR 10\.0\.0\.0\/24 overlaps the VPC's 10\.0\.0\.0\/16/),
      expect.stringMatching(/aws_subnet\.Small \(10\.0\.3\.0\/28\) is smaller than the \/27/),
      expect.stringMatching(/a second subnet in ap-northeast-1c \(also aws_subnet\.C\)/),
    ]);
  });

  test("AP-PRE-003 names and descriptions", () => {
    const ok = stack({ aws_lb: { L: { name: "alpha-prime-kaga-proxy" } }, aws_security_group: { S: { name: "alpha-prime-kaga-proxy", description: "Proxy: from LGWAN (tcp/3128)" } }, aws_s3_bucket: { B: { bucket: "alpha-prime-kaga-logs-222233334444" } } });
    expect(findings("AP-PRE-003", ok)).toEqual([]);
    const bad = stack({
      aws_lb: { L: { name: "alpha-prime-kaga-onsen-ishikawa-" }, Internal: { name: "internal-x" } },
      aws_security_group: { S: { name: "sg-proxy", description: "each route's port" } },
      aws_s3_bucket: { B: { bucket: "Alpha_Prime" } },
      aws_route53_resolver_firewall_domain_list: { D: { name: "12345" } },
      aws_iam_service_linked_role: { R: { aws_service_name: "autoscaling.amazonaws.com", custom_suffix: "alpha-prime-kaga-onsen-ishikawa-proxy" } },
      aws_subnet: { T: { tags: { Name: "x".repeat(256) } } },
    });
    const found = findings("AP-PRE-003", bad);
    expect(found).toHaveLength(8);
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/"alpha-prime-kaga-onsen-ishikawa-" is not valid for aws_lb name/),
      expect.stringMatching(/"internal-x" is refused for aws_lb name: a name may not begin with internal-/),
      expect.stringMatching(/"sg-proxy" is refused for aws_security_group name/),
      expect.stringMatching(/"each route's port" is not valid for aws_security_group description/),
      expect.stringMatching(/"Alpha_Prime" is not valid for aws_s3_bucket bucket/),
      expect.stringMatching(/"12345" is not valid for aws_route53_resolver_firewall_domain_list name/),
      expect.stringMatching(/"alpha-prime-kaga-onsen-ishikawa-proxy" has 37 characters; aws_iam_service_linked_role custom_suffix takes 1-35/),
      expect.stringMatching(/tag Name has 256 characters; a value takes at most 255/),
    ]));
    // a name Terraform computes (a reference) is judged by nothing: it is not known before apply
    expect(findings("AP-PRE-003", stack({ aws_lb: { L: { name: "${var.name}-" } } }))).toEqual([]);
  });

  test("AP-PRE-004 principals that exist before the policy", () => {
    const keyWith = (principal: unknown, extra: Record<string, unknown> = {}) => ({ K: { policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: principal }, Action: "kms:*", Resource: "*" }] }), ...extra } });
    const role = { aws_iam_role: { R: { name: "made-here", assume_role_policy: JSON.stringify({ Statement: [{ Principal: { Service: "ec2.amazonaws.com" } }] }) } } };
    for (const p of ["arn:aws:iam::123456789012:root", "123456789012", "${aws_iam_role.R.arn}", "${aws_iam_service_linked_role.S.arn}"]) {
      expect(findings("AP-PRE-004", stack({ ...role, aws_iam_service_linked_role: { S: { aws_service_name: "autoscaling.amazonaws.com" } }, aws_kms_key: keyWith(p) }))).toEqual([]);
    }
    expect(findings("AP-PRE-004", stack({ ...role, aws_kms_key: keyWith("arn:aws:iam::123456789012:role/made-here", { depends_on: ["aws_iam_role.R"] }) }))).toEqual([]);
    expect(findings("AP-PRE-004", stack({ aws_kms_key: keyWith("arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling") }))).toEqual([
      expect.stringMatching(/AWS creates this service-linked role with the account's first Auto Scaling group/),
    ]);
    expect(findings("AP-PRE-004", stack({ ...role, aws_kms_key: keyWith("arn:aws:iam::123456789012:role/made-here") }))).toEqual([expect.stringMatching(/aws_iam_role\.R creates it, but nothing orders it first/)]);
    expect(findings("AP-PRE-004", stack({ aws_kms_key: keyWith("arn:aws:iam::123456789012:role/ops") }))).toEqual([expect.stringMatching(/nothing in this stack creates it/)]);
  });

  test("AP-PRE-005 fixed limits", () => {
    const group = (capacity: number, rules: string) => ({ aws_networkfirewall_rule_group: { G: { type: "STATEFUL", capacity, rule_group: { rules_source: { rules_string: rules } } } } });
    const rules = ["pass tcp [10.0.0.0/28] any -> $EXTERNAL_NET 587 (sid:1;)", "# a comment", "", "pass udp $HOME_NET any -> [3.0.0.0/8] 3478 (sid:2;)"].join("\n");
    expect(findings("AP-PRE-005", stack(group(2, rules)))).toEqual([]);
    expect(findings("AP-PRE-005", stack(group(1, rules)))).toEqual([expect.stringMatching(/its rules need a capacity of 2; the group was made with 1/)]);
    const big = Buffer.from("#cloud-config\n" + "x".repeat(16_384)).toString("base64");
    expect(findings("AP-PRE-005", stack({ aws_launch_template: { T: { user_data: big } } }))).toEqual([expect.stringMatching(/user data is 16398 bytes before base64; EC2 takes 16384/)]);
    const policy = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: Array.from({ length: 1000 }, (_, i) => `arn:aws:s3:::bucket-${i}/*`) }] });
    expect(findings("AP-PRE-005", stack({ aws_vpc_endpoint: { E: { policy } } }))).toEqual([expect.stringMatching(/the endpoint policy is \d+ long; the limit is 20480/)]);
  });

  test("AP-PRE-006 default quotas (a warning, with the quota's name to request)", () => {
    const eips = (n: number) => ({ aws_eip: Object.fromEntries(Array.from({ length: n }, (_, i) => [`E${i}`, { domain: "vpc" }])) });
    expect(findings("AP-PRE-006", stack(eips(5)))).toEqual([]);
    expect(findings("AP-PRE-006", stack(eips(6)))).toEqual([expect.stringMatching(/needs 6 of "EC2-VPC Elastic IPs" \(L-0263D0A3\), whose default is 5: request an increase/)]);
    expect(rule("AP-PRE-006").severity).toBe("warning");
    const rules = Object.fromEntries(Array.from({ length: 61 }, (_, i) => [`R${i}`, { security_group_id: ref("aws_security_group", "S"), cidr_ipv4: `172.16.${i}.0/24`, ip_protocol: "tcp", from_port: 443, to_port: 443 }]));
    expect(findings("AP-PRE-006", stack({ aws_security_group: { S: {} }, aws_vpc_security_group_ingress_rule: rules }))).toEqual([expect.stringMatching(/needs 61 of "Inbound or outbound rules per security group"/)]);
  });

  test("AP-NET-010 a pass by port to any host only from the relay's own subnets", () => {
    const cvpn = { aws_vpc: vpc, aws_subnet: subnets, aws_ec2_client_vpn_network_association: { A: { subnet_id: ref("aws_subnet", "A") } } };
    const passGroup = (rules: string) => ({ aws_networkfirewall_rule_group: { G: { rule_group: { rule_variables: { ip_sets: [{ key: "HOME_NET", ip_set: { definition: ["172.16.0.0/16", "10.0.0.0/16"] } }] }, rules_source: { rules_string: rules } } } } });
    const ctx = { lgwan_segments: ["172.16.0.0/16"] };
    const fine = [
      "pass tcp [10.0.3.0/28] any -> $EXTERNAL_NET 587 (sid:1;)",
      "pass udp $HOME_NET any -> [3.0.0.0/8] 3478:3481 (sid:2;)", // media: destinations named
      'pass tls $HOME_NET any -> $EXTERNAL_NET 443 (tls.sni; content:".example.jp"; sid:3;)', // a name
    ].join("\n");
    expect(findings("AP-NET-010", stack({ ...cvpn, ...passGroup(fine) }, ctx))).toEqual([]);
    expect(findings("AP-NET-010", stack({ ...cvpn, ...passGroup("pass tcp [10.0.0.0/22] any -> $EXTERNAL_NET 587 (sid:1;)") }, ctx))).toEqual([expect.stringMatching(/from 10\.0\.0\.0\/22, which holds the Client VPN subnet aws_subnet\.A/)]);
    expect(findings("AP-NET-010", stack({ ...cvpn, ...passGroup("pass tcp $HOME_NET any -> $EXTERNAL_NET 587 (sid:1;)") }, ctx))).toEqual([
      expect.stringMatching(/from 172\.16\.0\.0\/16, which overlaps the LGWAN segment/),
      expect.stringMatching(/from 10\.0\.0\.0\/16, which holds the Client VPN subnet/),
    ]);
    expect(findings("AP-NET-010", stack({ ...cvpn, ...passGroup("pass tcp any any -> any 587 (sid:1;)") }, ctx))).toEqual([expect.stringMatching(/from any, which is not a list of the relay's own subnets/)]);
  });
});


describe("alpha-prime check catches a mutation of a real sample for each preflight rule", () => {
  test("every rule of the family has one", () => {
    expect(Object.keys(PREFLIGHT_WEAKENINGS).sort()).toEqual(RULE_IDS.filter((id) => id.startsWith("AP-PRE-") || id === "AP-NET-010").sort());
  });

  test.each(Object.keys(PREFLIGHT_WEAKENINGS))("%s", async (ruleId) => {
    const tf = clone();
    PREFLIGHT_WEAKENINGS[ruleId](tf);
    const r = await runCli("check", outdirWith({ mitoyo: tf }), "--format", "json");
    const report = JSON.parse(r.out);
    // what a construct accepts by design (suppressed.declaredBy, with its reason) is reported but is not this mutation
    const open = report.findings.filter((f: any) => !f.suppressed?.declaredBy);
    expect([...new Set(open.map((f: any) => f.ruleId))]).toEqual([ruleId]);
    // errors fail the check; a quota above its default is a warning until the increase is on record
    expect(r.code).toBe(rule(ruleId).severity === "error" ? 1 : 0);
  });

  test("the untouched samples pass the whole pack, preflight included, with no warning", () => {
    // nothing open and nothing merely suppressed: only what a construct accepts by design, with its reason
    for (const id of SAMPLE_IDS) expect(checkStack(new StackModel(id, stacks[id]), ALPHA_PRIME_PACK, TODAY).findings.filter((f) => !f.suppressedBy?.declaredBy)).toEqual([]);
  });
});

describe("quotas per bandwidth tier", () => {
  test("the README's table is the one computed from the tier table and the quota defaults", () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    expect(readme).toContain(tierQuotaTable(BANDWIDTH_TIERS));
  });
});

describe("the name table covers every named resource the stacks create", () => {
  /** Arguments that name a resource (or describe one in a way its API limits), in any resource type. */
  const NAMING = ["name", "bucket", "alarm_name", "association_name", "device_name", "custom_suffix", "key"];
  test.each(SAMPLE_IDS)("%s", (id) => {
    const tf = stacks[id];
    const covered = new Set(NAME_RULES.map((r) => `${r.type}.${r.attribute}`));
    // names that are references, or that AWS does not limit beyond the provider's own check
    const exempt = new Set(["aws_s3_bucket_lifecycle_configuration.bucket", "aws_s3_bucket_logging.bucket", "aws_s3_bucket_object_lock_configuration.bucket", "aws_s3_bucket_ownership_controls.bucket", "aws_s3_bucket_policy.bucket", "aws_s3_bucket_public_access_block.bucket", "aws_s3_bucket_server_side_encryption_configuration.bucket", "aws_s3_bucket_versioning.bucket", "aws_s3_object.bucket"]);
    const named = Object.entries(tf.resource).flatMap(([type, byN]) =>
      Object.values<any>(byN).flatMap((r) => NAMING.filter((a) => typeof r[a] === "string" && !r[a].startsWith("${")).map((a) => `${type}.${a}`)),
    );
    const missing = [...new Set(named)].filter((n) => !covered.has(n) && !exempt.has(n));
    expect(missing).toEqual([]);
  });
});
