/**
 * テナント制限's one rule for names (issue 23, finding 4): a name under a wildcard a tenant mechanism replaced
 * (*.sharepoint.com, *.cybozu.com) or another tenant's host is refused wherever it enters — extraDomains and relay
 * targets at validate (file, line:column, field path), the synthesized stack's own allowlist by AP-TEN-005 (so a
 * bypassed validate is still caught), and the reviewer diff names it as a tenant-restriction change. learn and
 * catalog refresh apply the same rule (test/learn.test.ts, test/catalog-refresh.test.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { loadFiles } from "../config/load";
import { envDirWith, runCli, sampleText, synthStacks, tempDir } from "./helpers";

const mitoyo = sampleText("mitoyo"); // Microsoft 365 restricted to mitoyocity.sharepoint.com, kintone to mitoyo-city.cybozu.com

function issuesOf(text: string) {
  const dir = envDirWith({ "mitoyo.yaml": text });
  return loadFiles([path.join(dir, "mitoyo.yaml")]).issues;
}

const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

describe("validate refuses names that reopen other tenants, at their line and field", () => {
  test.each([
    ["*.sharepoint.com", /'\*\.sharepoint\.com' is under \*\.sharepoint\.com, which the tenant restriction of microsoft-365 narrows to the municipality's own tenant/],
    ["contoso.sharepoint.com", /'contoso\.sharepoint\.com' is under \*\.sharepoint\.com/],
    ["contoso-my.sharepoint.com", /'contoso-my\.sharepoint\.com' is under \*\.sharepoint\.com/],
    ["*.cybozu.com", /'\*\.cybozu\.com' is under \*\.cybozu\.com, which the tenant restriction of kintone \/ garoon narrows/],
    ["other-city.cybozu.com", /'other-city\.cybozu\.com' is under \*\.cybozu\.com/],
  ])("extraDomains: %s", (name, message) => {
    const text = mitoyo.replace("extraDomains: [lowcode.example.jp]", `extraDomains: [lowcode.example.jp, "${name}"]`);
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: "/breakout/extraDomains/1", line: lineOf(text, "extraDomains:"), message: expect.stringMatching(message) });
    expect(issues[0].message).toMatch(/a tenant-restriction change/);
    expect(issues[0].expected).toMatch(/only the tenant's own hosts \((mitoyocity\.sharepoint\.com, mitoyocity-my\.sharepoint\.com|mitoyo-city\.cybozu\.com, mitoyo-city\.s\.cybozu\.com)\)/);
  });

  test("a relay target on another tenant's host", () => {
    const text = mitoyo.replace('target: "smtp.office365.com:587"', 'target: "contoso.sharepoint.com:443"');
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: "/relay/1/target", line: lineOf(text, "contoso.sharepoint.com:443"), message: expect.stringMatching(/relay target contoso\.sharepoint\.com is under \*\.sharepoint\.com/) });
  });

  test("the tenant's own hosts and a vendor's shared host are accepted; a waiver with a reason accepts the rest", () => {
    expect(issuesOf(mitoyo.replace("extraDomains: [lowcode.example.jp]", "extraDomains: [lowcode.example.jp, mitoyocity.sharepoint.com, js.cybozu.com]"))).toEqual([]);
    const waived = mitoyo
      .replace("extraDomains: [lowcode.example.jp]", 'extraDomains: [lowcode.example.jp, "contoso.sharepoint.com"]')
      .replace(/\n {4}microsoft-365:\n( {6}\S.*\n)+/, "\n")
      .replace("  sanitization:", "  tenantWaivers:\n    - saas: microsoft-365\n      reason: 県の共同利用テナントへの移行期間中（2027年3月まで）は他テナントの SharePoint を許可する\n  sanitization:")
      .replace(/services: \[microsoft-365\]/, "services: [kintone]")
      .replace(/engine: external.*\n.*externalIcapUrl.*\n/, "engine: clamav\n");
    expect(issuesOf(waived)).toEqual([]);
  });
});

describe("the synthesized stack is judged on its own allowlist (AP-TEN-005) and the diff names the change", () => {
  const { dir: base, stacks } = synthStacks({ only: ["mitoyo"] });
  // a copy of the stack whose allowlist was edited past validate: another tenant's SharePoint added to the firewall
  const head = path.join(tempDir("alpha-prime-tenant-scope-"), "cdktf.out");
  fs.cpSync(base, head, { recursive: true });
  const file = path.join(head, "stacks", "mitoyo", "cdk.tf.json");
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  const [, group] = Object.entries<any>(json.resource.aws_networkfirewall_rule_group).find(([n]) => n.startsWith("Breakout_DomainAllowlist"))!;
  group.rule_group.rules_source.rules_source_list.targets.push("contoso.sharepoint.com", ".cybozu.com");
  fs.writeFileSync(file, JSON.stringify(json, null, 2));

  test("the samples pass AP-TEN-005; the edited stack fails it, one finding per name", async () => {
    expect(stacks.mitoyo).toBeDefined();
    const ok = await runCli("check", base, "--format", "json");
    expect(JSON.parse(ok.out).findings.filter((f: any) => f.ruleId === "AP-TEN-005")).toEqual([]);
    const r = await runCli("check", head, "--format", "json");
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.out).findings.filter((f: any) => f.ruleId === "AP-TEN-005").map((f: any) => f.message);
    expect(findings).toEqual([
      expect.stringMatching(/^contoso\.sharepoint\.com is allowlisted under \*\.sharepoint\.com, which the tenant restriction of microsoft-365 narrows/),
      expect.stringMatching(/^\*\.cybozu\.com is allowlisted under \*\.cybozu\.com, which the tenant restriction of kintone \/ garoon narrows/),
    ]);
  });

  test("the reviewer diff calls it a tenant-restriction change, not only 'domains added'", async () => {
    const d = await runCli("diff", base, head, "--format", "json");
    const callouts = JSON.parse(d.out).municipalities.find((m: any) => m.id === "mitoyo").callouts.map((c: any) => c.message);
    expect(callouts).toEqual(expect.arrayContaining([expect.stringMatching(/^TENANT RESTRICTION UNDONE: contoso\.sharepoint\.com is added under \*\.sharepoint\.com/), expect.stringMatching(/^TENANT RESTRICTION UNDONE: \*\.cybozu\.com is added under \*\.cybozu\.com/)]));
  });
});
