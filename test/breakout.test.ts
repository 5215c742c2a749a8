import { parseDomainPattern, DomainPattern } from "../catalog/domains";
import { hostAddress, MANAGED_THREAT_RULE_GROUPS, subnetPlan } from "../constructs/breakout-gateway";
import { SaasCatalog, TenantValues } from "../catalog/saas-catalog";
import { effectiveAllowlist } from "../stacks/allowlist";
import { SAMPLE_IDS, loadSample, resources, synthStacks } from "./helpers";

const catalog = SaasCatalog.default();
const { stacks } = synthStacks();

function firewallTargets(id: string): string[] {
  const [, group] = resources(stacks[id], "aws_networkfirewall_rule_group").find(([n]) => n.startsWith("Breakout_DomainAllowlist"))!;
  return group.rule_group.rules_source.rules_source_list.targets;
}

/** Whether the firewall's targets allow a host, read with Network Firewall's own semantics. */
function firewallAllows(targets: string[], host: string): boolean {
  return targets.some((t) => (t.startsWith(".") ? host === t.slice(1) || host.endsWith(t) : host === t));
}

/** Domains that belong only to services a municipality did not select. */
function onlyUnselected(id: string): DomainPattern[] {
  const selected = loadSample(id).breakout.saas;
  const mine = new Set(catalog.domainsOf(selected).map((d) => d.name));
  return catalog.ids
    .filter((s) => !selected.includes(s))
    .flatMap((s) => catalog.get(s).domains.map((d) => parseDomainPattern(d) as DomainPattern))
    .filter((d) => ![...mine].some((m) => d.name === m || d.name.endsWith(`.${m}`)));
}

describe.each(SAMPLE_IDS)("%s: the breakout gateway", (id) => {
  const config = loadSample(id);
  const tf = stacks[id];
  const targets = firewallTargets(id);

  test("the firewall allows every domain of the selected services (tenant wildcards narrowed to the tenant's hosts) and the extra domains", () => {
    for (const saas of config.breakout.saas) {
      for (const p of catalog.resolveTenant(saas, config.breakout.tenants[saas] as TenantValues | undefined).domains) {
        expect({ saas, domain: p.name, allowed: firewallAllows(targets, p.name) }).toEqual({ saas, domain: p.name, allowed: true });
      }
    }
    for (const d of config.breakout.extraDomains) expect(firewallAllows(targets, (parseDomainPattern(d) as DomainPattern).name)).toBe(true);
  });

  test("the firewall allows exactly the effective allowlist: nothing of unselected services", () => {
    expect(targets).toEqual(effectiveAllowlist(config).domains.map((d) => (d.includeSubdomains ? `.${d.name}` : d.name)));
    const absent = onlyUnselected(id);
    expect(absent.length).toBeGreaterThan(0);
    for (const d of absent) expect({ domain: d.name, allowed: firewallAllows(targets, d.name) }).toEqual({ domain: d.name, allowed: false });
  });

  test("the policy drops everything no rule passes, in strict order, with AWS-managed threat signatures first", () => {
    const [, policy] = resources(tf, "aws_networkfirewall_firewall_policy")[0];
    const p = policy.firewall_policy;
    expect(p.stateful_default_actions).toEqual(["aws:drop_established", "aws:alert_established"]);
    expect(p.stateful_engine_options.rule_order).toBe("STRICT_ORDER");
    expect(p.stateless_default_actions).toEqual(["aws:forward_to_sfe"]);
    const refs = p.stateful_rule_group_reference.map((r: any) => r.resource_arn);
    for (const g of MANAGED_THREAT_RULE_GROUPS) expect(refs).toContain(`arn:aws:network-firewall:${config.aws.region}:aws-managed:stateful-rulegroup/${g}`);
    const allowlist = p.stateful_rule_group_reference.find((r: any) => /DomainAllowlist/.test(r.resource_arn));
    const managed = p.stateful_rule_group_reference.filter((r: any) => /aws-managed/.test(r.resource_arn));
    expect(Math.max(...managed.map((r: any) => r.priority))).toBeLessThan(allowlist.priority);
  });

  test("HOME_NET covers the LGWAN segments and the VPC where Client VPN source-NATs remote clients", () => {
    const [, policy] = resources(tf, "aws_networkfirewall_firewall_policy")[0];
    const homeNet = policy.firewall_policy.policy_variables.rule_variables.find((v: any) => v.key === "HOME_NET").ip_set.definition;
    expect(homeNet).toEqual([...config.network.lgwanSegments, config.network.breakoutCidr]);
  });

  test("the firewall cannot be deleted by accident and sits in every configured AZ", () => {
    const [, fw] = resources(tf, "aws_networkfirewall_firewall")[0];
    expect(fw.delete_protection).toBe(true);
    expect(fw.subnet_mapping).toHaveLength(config.aws.availabilityZones.length);
  });

  test("fixed egress IPs per AZ are stack outputs and survive every deploy", () => {
    const eips = resources(tf, "aws_eip");
    expect(eips).toHaveLength(config.aws.availabilityZones.length);
    for (const [, e] of eips) expect(e.lifecycle).toEqual({ prevent_destroy: true });
    expect(tf.output!.egress_ips.value).toEqual(eips.map(([n]) => `\${aws_eip.${n}.public_ip}`));
  });

  test("traffic from the Transit Gateway enters the firewall endpoint of its own AZ, symmetrically", () => {
    const [, attachment] = resources(tf, "aws_ec2_transit_gateway_vpc_attachment")[0];
    expect(attachment.appliance_mode_support).toBe("enable");
    const routes = resources(tf, "aws_route").map(([n, r]) => ({ n, ...r }));
    config.aws.availabilityZones.forEach((az, i) => {
      const fromTgw = routes.find((r) => r.n.startsWith(`Breakout_TgwRoute${i}-`) && r.destination_cidr_block === "0.0.0.0/0");
      expect(fromTgw.vpc_endpoint_id).toContain(`s.availability_zone == "${az}"`);
      for (const seg of config.network.lgwanSegments) {
        const back = routes.find((r) => r.n.startsWith(`Breakout_PublicRoute${i}-`) && r.destination_cidr_block === seg);
        expect(back.vpc_endpoint_id).toContain(`s.availability_zone == "${az}"`);
      }
      const out = routes.find((r) => r.n.startsWith(`Breakout_FirewallRoute${i}-`) && r.destination_cidr_block === "0.0.0.0/0");
      expect(out.nat_gateway_id).toMatch(new RegExp(`aws_nat_gateway\\.Breakout_NatGateway${i}_`));
    });
  });

  test("DNS answers only allowlisted names, and on-prem DNS gets forwarder targets and zones", () => {
    const lists = resources(tf, "aws_route53_resolver_firewall_domain_list").map(([, l]) => l);
    const allow = lists.find((l) => /dns-allowlist/.test(l.name));
    for (const d of effectiveAllowlist(config).domains) expect(allow.domains).toContain(`${d.name}.`);
    const rules = resources(tf, "aws_route53_resolver_firewall_rule").map(([, r]) => r);
    expect(rules.find((r) => r.action === "BLOCK")).toMatchObject({ block_response: "NXDOMAIN", priority: 200 });
    expect(rules.find((r) => r.action === "ALLOW").priority).toBe(100);
    expect(lists.find((l) => /dns-everything/.test(l.name)).domains).toEqual(["*"]);
    expect(tf.output!.dns_forwarder_targets.value).toEqual(subnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length).private.subnets.map((s) => hostAddress(s, 10)));
    expect(tf.output!.dns_forwarder_zones.value.length).toBeGreaterThan(0);
  });

  test("the inbound resolver answers only the on-prem DNS servers and clients inside the VPC", () => {
    const sources = resources(tf, "aws_vpc_security_group_ingress_rule").filter(([n]) => n.startsWith("Breakout_ResolverIngress")).map(([, r]) => r.cidr_ipv4);
    const expected = [...config.network.dnsServers.map((s) => (s.includes("/") ? s : `${s}/32`)), subnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length).private.block];
    expect([...new Set(sources)].sort()).toEqual(expected.sort());
  });
});

describe("the breakout gateway's details", () => {
  test("a relay target on the internet is allowlisted by name and its non-TLS port only from the relay subnets", () => {
    const targets = firewallTargets("mitoyo");
    expect(targets).toContain("smtp.office365.com");
    const [, ports] = resources(stacks.mitoyo, "aws_networkfirewall_rule_group").find(([n]) => n.startsWith("Breakout_PortPassRules"))!;
    const rules: string = ports.rule_group.rules_source.rules_string;
    // the relay's own subnets (relaySubnetPlan), never the private block where Client VPN's interfaces are
    expect(rules).toContain('pass tcp [10.64.1.192/28,10.64.1.208/28] any -> $EXTERNAL_NET 587 (msg:"relay smtp-submission to smtp.office365.com:587"');
    expect(rules).toContain("pass udp $HOME_NET any -> [13.107.64.0/18,52.112.0.0/14,52.120.0.0/14] 3478:3481");
  });

  test("the address plan splits the VPC into four tiers of four AZ slots", () => {
    expect(subnetPlan("10.64.0.0/22", 2)).toEqual({
      private: { block: "10.64.0.0/24", subnets: ["10.64.0.0/26", "10.64.0.64/26"] },
      tgw: { block: "10.64.1.0/24", subnets: ["10.64.1.0/26", "10.64.1.64/26"] },
      firewall: { block: "10.64.2.0/24", subnets: ["10.64.2.0/26", "10.64.2.64/26"] },
      public: { block: "10.64.3.0/24", subnets: ["10.64.3.0/26", "10.64.3.64/26"] },
    });
    expect(hostAddress("10.64.0.64/26", 10)).toBe("10.64.0.74");
  });
});
