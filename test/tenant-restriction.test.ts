/**
 * テナント制限: staff reach only the municipality's own tenants. Config errors are located; the firewall, the DNS
 * firewall and the PAC file (in a real PAC engine) refuse other tenants' hosts; hosts that need a header are
 * reachable only from the proxy subnets; the rendered Squid and cloud-init files load in the real programs.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { getQuickJS } from "@tootallnate/quickjs-emscripten";
import { createPacResolver } from "pac-resolver";
import { main } from "../cli/main";
import { renderedFiles, RENDER_MARKER } from "../cli/render";
import { domainMatches } from "../catalog/domains";
import { loadFiles } from "../config/load";
import { proxySubnetPlan, subnetPlan } from "../constructs/breakout-gateway";
import { SaasCatalog } from "../catalog/saas-catalog";
import { renderSquidConfig, SQUID_LAYOUT } from "../constructs/tenant-proxy";
import { userDataText } from "../constructs/terraform-text";
import { effectiveAllowlist, municipalityPac, tenantProxyAddresses } from "../stacks/allowlist";
import { envDirWith, loadSample, resources, SAMPLE_IDS, sampleText, synthStacks, tempDir, testWithTool } from "./helpers";

const { stacks } = synthStacks();
const mitoyoText = sampleText("mitoyo");

function issuesOf(text: string) {
  const dir = envDirWith({ "mitoyo.yaml": text });
  return loadFiles([path.join(dir, "mitoyo.yaml")]).issues;
}

function lineOf(text: string, needle: string): number {
  return text.split("\n").findIndex((l) => l.includes(needle)) + 1;
}

function firewallTargets(id: string): string[] {
  const [, allowlist] = resources(stacks[id], "aws_networkfirewall_rule_group").find(([n]) => n.startsWith("Breakout_DomainAllowlist"))!;
  return allowlist.rule_group.rules_source.rules_source_list.targets;
}

function enforcementRules(id: string): string[] {
  const [, g] = resources(stacks[id], "aws_networkfirewall_rule_group").find(([n]) => n.startsWith("Breakout_ProxyEnforcement"))!;
  return g.rule_group.rules_source.rules_string.split("\n");
}

/** Whether a name passes a Network Firewall domain-list target (".x" is x and its subdomains). */
function targetAllows(targets: string[], host: string): boolean {
  return targets.some((t) => (t.startsWith(".") ? host === t.slice(1) || host.endsWith(t) : host === t));
}

describe("tenant values in the env file", () => {
  test("a selected service with a tenant mechanism and no tenant values is an error at its line", () => {
    const text = mitoyoText.replace(/\n {4}slack:\n {6}requester: \S+.*\n {6}allowedWorkspaces: \[\S+\]\n/, "\n");
    const issues = issuesOf(text);
    const i = issues.find((x) => x.path === "/breakout/saas/1");
    expect(i).toBeDefined();
    expect(i!.message).toMatch(/slack can be restricted to the municipality's own tenant, but breakout\.tenants\.slack is missing/);
    expect(i!.expected).toMatch(/requester, allowedWorkspaces .* or a breakout\.tenantWaivers entry with a reason/);
    expect(i!.line).toBe(lineOf(text, "saas: [microsoft-365"));
  });

  test("a waiver with a reason accepts the missing values, keeps the vendor's wildcard and shows in the artifact", () => {
    const text = mitoyoText
      .replace(/\n {4}kintone:\n {6}subdomains: \[\S+\].*\n/, "\n")
      .replace("  interceptionCa:", "  tenantWaivers:\n    - saas: kintone\n      reason: cybozu.com IP制限 restricts the tenant to our egress IPs instead\n  interceptionCa:");
    const dir = envDirWith({ "mitoyo.yaml": text });
    expect(loadFiles([path.join(dir, "mitoyo.yaml")]).issues).toEqual([]);
    const tf = synthStacks({ envDir: dir }).stacks.mitoyo as any;
    const [, allowlist] = Object.entries<any>(tf.resource.aws_networkfirewall_rule_group).find(([n]) => n.startsWith("Breakout_DomainAllowlist"))!;
    expect(allowlist.rule_group.rules_source.rules_source_list.targets).toContain(".cybozu.com");
    expect(tf.locals.alpha_prime.tenant_restriction.services).toContainEqual({ saas: "kintone", status: "waived", reason: "cybozu.com IP制限 restricts the tenant to our egress IPs instead" });
  });

  test("a short waiver reason, an unknown tenant value and a malformed tenant ID are each located, with a suggestion for the typo", () => {
    const text = mitoyoText
      .replace("sharepointTenant: mitoyocity", "sharepointTenent: mitoyocity")
      .replace("tenantId: 3c7a9f12-5b1e-4d2a-9e6f-0a1b2c3d4e5f", "tenantId: not-a-guid")
      .replace("  interceptionCa:", "  tenantWaivers:\n    - saas: zoom\n      reason: too short\n  interceptionCa:");
    const issues = issuesOf(text);
    const typo = issues.find((i) => i.path === "/breakout/tenants/microsoft-365/sharepointTenent");
    expect(typo).toMatchObject({ suggestion: "sharepointTenant", line: lineOf(text, "sharepointTenent") });
    expect(issues.find((i) => i.path === "/breakout/tenants/microsoft-365/tenantId")).toMatchObject({ line: lineOf(text, "tenantId: not-a-guid") });
    expect(issues.find((i) => i.path === "/breakout/tenants/microsoft-365" && /missing tenant value 'sharepointTenant'/.test(i.message))).toBeDefined();
    expect(issues.find((i) => i.path === "/breakout/tenantWaivers/0/reason")).toBeDefined();
    expect(issues.find((i) => i.path === "/breakout/tenantWaivers/0/saas" && /zoom has no tenant mechanism/.test(i.message))).toBeDefined();
  });

  test("header mechanisms need the interception CA, in this account and region", () => {
    expect(issuesOf(mitoyoText.replace(/  interceptionCa:.*\n.*secretArn.*\n/, "")).find((i) => i.path === "/breakout")?.message).toMatch(/microsoft-365, slack, sanitization need the proxy tier's TLS inspection, which needs breakout\.interceptionCa/);
    const other = issuesOf(mitoyoText.replace("secretsmanager:ap-northeast-1:111122223333", "secretsmanager:ap-northeast-3:999999999999"));
    expect(other.filter((i) => i.path === "/breakout/interceptionCa/secretArn").map((i) => i.message)).toEqual(["secretArn is in ap-northeast-3, the stack in ap-northeast-1", "secretArn belongs to account 999999999999"]);
  });

  test("the CLI exits non-zero on bad tenant values and writes nothing", async () => {
    const dir = envDirWith({ "mitoyo.yaml": mitoyoText.replace("subdomains: [mitoyo-city]", "subdomains: mitoyo-city") });
    const out = path.join(tempDir(), "cdktf.out");
    let err = "";
    const code = await main(["node", "alpha-prime", "--env-dir", dir, "synth", "--out", out], { out: () => undefined, err: (s) => (err += s) });
    expect(code).toBe(1);
    expect(err).toMatch(/mitoyo\.yaml:\d+:\d+: \/breakout\/tenants\/kintone\/subdomains: subdomains must be a list; expected subdomains: \[mitoyo-city\]/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe("the catalog's tenant mechanisms", () => {
  const catalog = SaasCatalog.default();
  test("every mechanism has a vendor source and a date; services without one say what was not found", () => {
    for (const e of catalog.entries) {
      const tr = e.tenantRestriction;
      expect([e.id, !!tr]).toEqual([e.id, true]);
      expect(tr!.source).toMatch(/^https:\/\//);
      expect(tr!.retrievedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      if (!tr!.headers && !tr!.tenantHosts) expect(tr!.notDocumented ?? tr!.ipRestriction).toBeTruthy();
    }
  });

  test("tenant values narrow wildcards to the tenant's own hosts and fill the header values", () => {
    const m365 = catalog.resolveTenant("microsoft-365", { tenantId: "t", policyId: "p", sharepointTenant: "city" });
    expect(m365.domains.map((d) => d.name)).toEqual(expect.arrayContaining(["city.sharepoint.com", "city-my.sharepoint.com"]));
    expect(m365.domains.some((d) => d.name === "sharepoint.com")).toBe(false);
    expect(m365.headers[0]).toMatchObject({ name: "sec-Restrict-Tenant-Access-Policy", value: "t:p" });
    const slack = catalog.resolveTenant("slack", { requester: "E1", allowedWorkspaces: ["T1", "T2"] });
    expect(slack.headers.map((h) => [h.name, h.value])).toEqual([["X-Slack-Allowed-Workspaces-Requester", "E1"], ["X-Slack-Allowed-Workspaces", "T1,T2"]]);
  });
});

describe.each(SAMPLE_IDS)("%s: other tenants are refused", (id) => {
  const config = loadSample(id);
  const allowlist = effectiveAllowlist(config);

  test("the firewall allowlist and the DNS firewall name only the municipality's own SharePoint and cybozu.com tenants", () => {
    const targets = firewallTargets(id);
    const [, dns] = resources(stacks[id], "aws_route53_resolver_firewall_domain_list").find(([n]) => n.startsWith("Breakout_DnsAllowlist"))!;
    for (const other of ["contoso.sharepoint.com", "contoso-my.sharepoint.com", "other-town.cybozu.com", "other-town.s.cybozu.com"]) {
      expect([other, targetAllows(targets, other)]).toEqual([other, false]);
      expect(dns.domains).not.toContain(`${other}.`);
      expect(dns.domains).not.toContain(`*.${other.split(".").slice(1).join(".")}.`);
    }
    const tenants = config.breakout.tenants as Record<string, any>;
    if (tenants["microsoft-365"]) expect(targetAllows(targets, `${tenants["microsoft-365"].sharepointTenant}.sharepoint.com`)).toBe(true);
    for (const sub of tenants.kintone?.subdomains ?? []) expect(targetAllows(targets, `${sub}.cybozu.com`)).toBe(true);
  });

  test("the PAC file (in a real PAC engine) sends other tenants to the LGWAN proxy and header hosts to the tenant proxy", async () => {
    const find = createPacResolver(await getQuickJS(), municipalityPac(config, allowlist));
    const route = (h: string) => find(`https://${h}/`);
    const lgwan = `PROXY ${config.network.lgwanProxy}`;
    for (const other of ["contoso.sharepoint.com", "contoso-my.sharepoint.com", "other-town.cybozu.com"]) expect([other, await route(other)]).toEqual([other, lgwan]);
    const tenantProxy = tenantProxyAddresses(config, allowlist).map((a) => `PROXY ${a}`).join("; ");
    for (const h of allowlist.headerRules.flatMap((r) => r.hosts).map((d) => (d.includeSubdomains ? `app.${d.name}` : d.name))) expect([h, await route(h)]).toEqual([h, tenantProxy]);
  });

  test("hosts that need a header pass the firewall only from the proxy subnets, before the allowlist; QUIC is dropped", () => {
    const rules = enforcementRules(id);
    expect(rules[0]).toMatch(/^drop udp \$HOME_NET any -> \$EXTERNAL_NET 443 /);
    for (const d of allowlist.proxyOnlyDomains) {
      const mine = rules.filter((r) => r.includes(`content:".${d.name}"`));
      expect(mine.map((r) => r.split(" ").slice(0, 3).join(" "))).toEqual(["pass tls $PROXY_NET", "pass http $PROXY_NET", "drop tls $HOME_NET", "drop http $HOME_NET"]);
    }
    const [, policy] = resources(stacks[id], "aws_networkfirewall_firewall_policy")[0];
    const refs = policy.firewall_policy.stateful_rule_group_reference as { priority: number; resource_arn: string }[];
    const prio = (name: string) => refs.find((r) => r.resource_arn.includes(name))!.priority;
    expect(prio("ProxyEnforcement")).toBeLessThan(prio("DomainAllowlist"));
    const [, group] = resources(stacks[id], "aws_networkfirewall_rule_group").find(([n]) => n.startsWith("Breakout_ProxyEnforcement"))!;
    const proxyNet = group.rule_group.rule_variables.ip_sets.find((s: any) => s.key === "PROXY_NET").ip_set.definition;
    expect(proxyNet).toEqual(proxySubnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length));
  });

  test("the proxy subnets are new: every existing subnet keeps its address", () => {
    // (the relay's own subnets, where a municipality has a relay, are new as well: test/preflight.test.ts)
    const cidrs = resources(stacks[id], "aws_subnet").filter(([n]) => !n.startsWith("Breakout_RelaySubnet")).map(([, s]) => s.cidr_block);
    const plan = subnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length);
    const existing = Object.values(plan).flatMap((t) => t.subnets);
    expect(cidrs.sort()).toEqual([...existing, ...proxySubnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length)].sort());
  });

  test("the interception CA is referenced by ARN only: no key or certificate anywhere in the synthesized stack or user data", () => {
    const raw = JSON.stringify(stacks[id]);
    expect(raw).not.toMatch(/BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)/);
    const [, lt] = resources(stacks[id], "aws_launch_template").find(([n]) => n.startsWith("TenantProxy"))!;
    const userData = userDataText(lt.user_data);
    expect(userData).toContain(config.breakout.interceptionCa!.secretArn);
    expect(userData).not.toMatch(/BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)/);
  });
});

describe("rendered proxy files load in the real programs", () => {
  const files = Object.fromEntries(SAMPLE_IDS.map((id) => [id, renderedFiles(id, stacks[id])]));

  testWithTool("squid", "squid-openssl", "rendered squid.conf files").each(SAMPLE_IDS)("squid -k parse accepts %s's squid.conf", (id) => {
    const dir = tempDir("alpha-prime-squid-parse-");
    // the CA file must exist for the parse to reach the end: a throwaway one, at the path the config names moved here
    const ca = path.join(dir, "ca.pem");
    expect(spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=parse-test", "-keyout", ca, "-out", ca + ".crt"]).status).toBe(0);
    fs.writeFileSync(ca, fs.readFileSync(ca + ".crt", "utf8") + fs.readFileSync(ca, "utf8"));
    // Squid's error templates are copied into errorDir at boot; here Debian's own directory stands in
    const conf = files[id]["proxy/squid.conf"].split(SQUID_LAYOUT.caFile).join(ca).split(SQUID_LAYOUT.errorDir).join("/usr/share/squid/errors/templates");
    fs.writeFileSync(path.join(dir, "squid.conf"), conf);
    const r = spawnSync("squid", ["-k", "parse", "-f", path.join(dir, "squid.conf")], { encoding: "utf8", timeout: 30000 });
    expect([r.status, r.stderr.split("\n").filter((l) => /ERROR|FATAL|WARNING: (?!HTTP requires the use of Via)/.test(l))]).toEqual([0, []]);
  });

  testWithTool("cloud-init", "cloud-init", "rendered proxy cloud-config files").each(SAMPLE_IDS)("cloud-init schema accepts %s's proxy user data", (id) => {
    const file = path.join(tempDir(), "user-data.yaml");
    fs.writeFileSync(file, files[id]["proxy/cloud-config.yaml"]);
    const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    expect([r.status, r.stdout + r.stderr]).toEqual([0, expect.stringMatching(/Valid (schema|cloud-config)/)]);
  });

  test("squid.conf never lets a client copy of a tenant header through, and bumps only header hosts", () => {
    const conf = files.mitoyo["proxy/squid.conf"];
    for (const h of ["sec-Restrict-Tenant-Access-Policy", "X-Slack-Allowed-Workspaces-Requester", "X-Slack-Allowed-Workspaces"]) {
      expect(conf.indexOf(`request_header_access ${h} deny all`)).toBeGreaterThan(-1);
      expect(conf.indexOf(`request_header_access ${h} deny all`)).toBeLessThan(conf.indexOf(`request_header_add ${h} `));
    }
    // header hosts, plus the SharePoint / Outlook download hosts that mitoyo sends through its sanitization engine
    const bumped = (conf.match(/^acl needs_header_sni ssl::server_name (.*)$/gm) ?? []).flatMap((l) => l.split(" ").slice(3));
    expect(bumped.sort()).toEqual([".slack.com", ".svc.ms", "attachments.office.net", "login.microsoft.com", "login.microsoftonline.com", "login.windows.net", "mitoyocity-my.sharepoint.com", "mitoyocity.sharepoint.com"]);
    expect(conf.match(/^ssl_bump .*$/gm)).toEqual(["ssl_bump peek step1", "ssl_bump bump needs_header_sni", "ssl_bump splice allowlisted_sni", "ssl_bump terminate all"]);
  });

  test("renderSquidConfig refuses to render a proxy with nothing to do", () => {
    expect(() => renderSquidConfig({ municipality: "x", clientCidrs: ["10.0.0.0/8"], allowedDomains: effectiveAllowlist(loadSample("mitoyo")).domains, headerRules: [] })).toThrow(/no header rules|none were given/);
  });
});

describe("alpha-prime render", () => {
  async function cli(...args: string[]) {
    let out = "";
    let err = "";
    const code = await main(["node", "alpha-prime", ...args], { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  }

  test("writes the PAC file, squid.conf, HAProxy and cloud-init files and firewall rules of a municipality, exactly as synthesized", async () => {
    const out = path.join(tempDir(), "r");
    const r = await cli("render", "mitoyo", "--out", out);
    expect(r.code).toBe(0);
    for (const f of ["pac/proxy.pac", "proxy/squid.conf", "proxy/cloud-config.yaml", "relay/haproxy.cfg", "relay/cloud-config.yaml", "allowlist/domains.txt", "firewall/proxy-enforcement.rules", RENDER_MARKER]) {
      expect([f, fs.existsSync(path.join(out, f))]).toEqual([f, true]);
    }
    expect(fs.readFileSync(path.join(out, "pac/proxy.pac"), "utf8")).toBe(municipalityPac(loadSample("mitoyo")));
    expect(fs.readFileSync(path.join(out, "proxy/squid.conf"), "utf8")).toBe(renderedFiles("mitoyo", stacks.mitoyo)["proxy/squid.conf"]);
    // a second render replaces its own output
    expect((await cli("render", "mitoyo", "--out", out)).code).toBe(0);
  });

  test("never replaces a directory it did not write, and writes nothing for bad input", async () => {
    const foreign = tempDir();
    fs.writeFileSync(path.join(foreign, "keep.txt"), "mine");
    const r = await cli("render", "mitoyo", "--out", foreign);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/not empty and was not written by alpha-prime \(no \.alpha-prime-render\)/);
    expect(fs.readdirSync(foreign)).toEqual(["keep.txt"]);
    const dir = envDirWith({ "mitoyo.yaml": mitoyoText.replace("policyId: 8d2e4f60", "policyId: zz2e4f60") });
    const out = path.join(tempDir(), "r");
    expect((await cli("--env-dir", dir, "render", "mitoyo", "--out", out)).code).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
  });
});

test("domainMatches agrees with the firewall's target semantics used above", () => {
  expect(targetAllows([".cybozu.com"], "a.cybozu.com")).toBe(domainMatches({ name: "cybozu.com", includeSubdomains: true }, "a.cybozu.com"));
  expect(targetAllows(["x.cybozu.com"], "y.cybozu.com")).toBe(false);
});

describe("the reviewer diff calls out tenant changes as security-relevant", () => {
  const { diffSides, readSynthesized } = require("../review/diff") as typeof import("../review/diff");
  const base = synthStacks({ only: ["mitoyo"] }).dir;

  test("a waived mechanism, a changed tenant value and a name freed from the proxy are each called out", () => {
    const text = mitoyoText
      .replace(/\n {4}slack:\n {6}requester: \S+.*\n {6}allowedWorkspaces: \[\S+\]\n/, "\n")
      .replace("  interceptionCa:", "  tenantWaivers:\n    - saas: slack\n      reason: Slack Business+ is not contracted yet; review again in April\n  interceptionCa:")
      .replace("policyId: 8d2e4f60-7a1b-4c3d-8e9f-1a2b3c4d5e6f", "policyId: 9d2e4f60-7a1b-4c3d-8e9f-1a2b3c4d5e6f");
    const head = synthStacks({ envDir: envDirWith({ "mitoyo.yaml": text }) }).dir;
    const m = diffSides(readSynthesized(base), readSynthesized(head)).municipalities.find((x) => x.id === "mitoyo")!;
    const messages = m.callouts.filter((c) => c.risk === "security").map((c) => c.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        "tenant restriction of slack WAIVED (was configured): Slack Business+ is not contracted yet; review again in April",
        expect.stringMatching(/^tenant header value CHANGED: microsoft-365 sec-Restrict-Tenant-Access-Policy on .*: 3c7a9f12-.*:8d2e4f60-.* → 3c7a9f12-.*:9d2e4f60-/),
        "tenant header REMOVED: slack X-Slack-Allowed-Workspaces on *.slack.com",
        "no longer forced through the tenant-restriction proxy: *.slack.com",
      ]),
    );
  });
});

test("AP-TEN-001 also catches a PAC file that sends a sign-in host DIRECT", () => {
  const { checkStack } = require("../policy/engine") as typeof import("../policy/engine");
  const { StackModel } = require("../policy/model") as typeof import("../policy/model");
  const tf = JSON.parse(JSON.stringify(stacks.mitoyo));
  const [, pac] = Object.entries<any>(tf.resource.aws_s3_object).find(([, o]) => o.key === "pac/proxy.pac")!;
  pac.content = pac.content.replace('"login.microsoftonline.com": true, ', "");
  const findings = checkStack(new StackModel("mitoyo", tf)).findings.filter((f) => !f.suppressedBy?.declaredBy);
  expect(findings.map((f) => [f.ruleId, f.message])).toEqual([["AP-TEN-001", "the PAC file does not send login.microsoftonline.com to the tenant-restriction proxy"]]);
});
