/**
 * SARIF for GitHub code scanning: every result on the env file's line and column of the field that caused it, with
 * a fingerprint that survives edits above it, security-severity and help pointing at docs/RULES.md; valid against the
 * SARIF 2.1.0 schema and GitHub's documented requirements
 * (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning).
 * JUnit: a warning is not a failure.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv04 from "ajv-draft-04";
import addFormats from "ajv-formats";
import { XMLParser } from "fast-xml-parser";
import { stringify } from "yaml";
import { syntheticMunicipality } from "../bench/generate";
import { cli } from "./cli-run";
import { envDirWith, sampleText, synthStacks, tempDir } from "./helpers";

const ajv = new Ajv04({ strict: false, allErrors: true, unicodeRegExp: false });
addFormats(ajv);
const validateSarif = ajv.compile(JSON.parse(fs.readFileSync(require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"), "utf8")));

/** An env directory holding kaga's file (edited), synthesized; the stack then weakened the way a hand edit would. */
function checked(kagaText: string, weaken: (tf: any) => void = () => undefined, extraArgs: string[] = []) {
  const envDir = envDirWith({ "kaga.yaml": kagaText });
  const { dir } = synthStacks({ envDir });
  const file = path.join(dir, "stacks", "kaga", "cdk.tf.json");
  const tf = JSON.parse(fs.readFileSync(file, "utf8"));
  weaken(tf);
  fs.writeFileSync(file, JSON.stringify(tf, null, 2));
  return { envDir, dir, run: async () => {
    const out = path.join(tempDir(), "r.sarif");
    const r = await cli("--env-dir", envDir, "check", dir, "--format", "sarif", "--output", out, ...extraArgs);
    return { code: r.code, sarif: JSON.parse(fs.readFileSync(out, "utf8")) };
  } };
}

const lineOf = (text: string, re: RegExp) => text.split("\n").findIndex((l) => re.test(l)) + 1;
const shortLogRetention = (tf: any) => {
  for (const g of Object.values<any>(tf.resource.aws_cloudwatch_log_group)) g.retention_in_days = 30;
};

describe("SARIF results sit on the env file field that caused them", () => {
  test("a log retention finding points at logging.retentionDays of env/kaga.yaml, line and column", async () => {
    const text = sampleText("kaga");
    const { envDir, run } = checked(text, shortLogRetention);
    const cwd = process.cwd();
    process.chdir(path.dirname(envDir)); // the repository root in CI
    const { code, sarif } = await run().finally(() => process.chdir(cwd));
    expect(code).toBe(1);
    const result = sarif.runs[0].results.find((r: any) => r.ruleId === "AP-LOG-001");
    const loc = result.locations[0].physicalLocation;
    expect(loc.artifactLocation.uri).toBe(`${path.basename(envDir)}/kaga.yaml`);
    const line = lineOf(text, /^\s+retentionDays:/);
    expect(loc.region).toEqual({ startLine: line, startColumn: text.split("\n")[line - 1].indexOf("retentionDays") + 1 });
    expect(result.properties.configPath).toBe("/logging/retentionDays");
  });

  test("a VPN finding points at its site's entry in sites", async () => {
    const text = sampleText("kaga");
    const { run } = checked(text, (tf) => {
      const [name] = Object.keys(tf.resource.aws_vpn_connection).filter((n) => n.includes("yamanaka"));
      tf.resource.aws_vpn_connection[name].tunnel2_phase1_encryption_algorithms.push("AES128");
    });
    const { sarif } = await run();
    const result = sarif.runs[0].results.find((r: any) => r.ruleId === "AP-VPN-002");
    expect(result.properties.configPath).toBe("/sites/1");
    expect(result.locations[0].physicalLocation.region.startLine).toBe(lineOf(text, /- name: yamanaka/));
  });

  test("the fingerprint survives lines added above the field; the line follows the field", async () => {
    const text = sampleText("kaga");
    const before = (await checked(text, shortLogRetention).run()).sarif.runs[0].results.find((r: any) => r.ruleId === "AP-LOG-001");
    const moved = `# 加賀市: reviewed 2026-12-01\n# (two lines added above every field)\n${text}`;
    const after = (await checked(moved, shortLogRetention).run()).sarif.runs[0].results.find((r: any) => r.ruleId === "AP-LOG-001");
    expect(after.locations[0].physicalLocation.region.startLine).toBe(before.locations[0].physicalLocation.region.startLine + 2);
    expect(after.partialFingerprints).toEqual(before.partialFingerprints);
    expect(Object.keys(before.partialFingerprints)).toEqual(["alphaPrimeFinding/v1"]); // GitHub reserves primaryLocationLineHash
  });

  test("without the env file (a standalone cdktf.out), the synthesized stack's line is the location", async () => {
    const { dir } = checked(sampleText("kaga"), shortLogRetention);
    const out = path.join(tempDir(), "r.sarif");
    await cli("--env-dir", tempDir(), "check", dir, "--format", "sarif", "--output", out);
    const result = JSON.parse(fs.readFileSync(out, "utf8")).runs[0].results.find((r: any) => r.ruleId === "AP-LOG-001");
    expect(result.locations[0].physicalLocation.artifactLocation.uri).toMatch(/stacks\/kaga\/cdk\.tf\.json$/);
    expect(result.locations[0].physicalLocation.region.startLine).toBeGreaterThan(1);
  });
});

describe("SARIF meets the schema and GitHub's requirements", () => {
  test("schema-valid; rules carry help, helpUri (docs/RULES.md anchors), security-severity with the security tag; results a fingerprint and a relative path", async () => {
    const { run, envDir } = checked(sampleText("kaga"), shortLogRetention, ["--rules-url", "https://github.com/example/alpha-prime/blob/0123abc/docs/RULES.md"]);
    // run from the directory that holds the env directory and the output, as CI runs from the repository root
    const cwd = process.cwd();
    process.chdir(path.dirname(envDir));
    const { sarif } = await run().finally(() => process.chdir(cwd));
    expect([validateSarif(sarif), validateSarif.errors]).toEqual([true, null]);
    const rules: any[] = sarif.runs[0].tool.driver.rules;
    expect(sarif.runs[0].tool.driver.version).toBe(JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")).version);
    for (const r of rules) {
      expect([r.id, typeof r.shortDescription.text, typeof r.fullDescription.text, typeof r.help.text]).toEqual([r.id, "string", "string", "string"]);
      expect(r.helpUri).toBe(`https://github.com/example/alpha-prime/blob/0123abc/docs/RULES.md#${r.id.toLowerCase()}`);
      expect(r.properties.tags.length).toBeLessThanOrEqual(20);
      // information (a note) is not a security alert; every rule that can fail a run is one
      if (r.defaultConfiguration.level === "note") {
        expect([r.properties["security-severity"], r.properties.tags.includes("security")]).toEqual([undefined, false]);
        continue;
      }
      const score = Number(r.properties["security-severity"]);
      expect(typeof r.properties["security-severity"]).toBe("string");
      expect(score >= 0 && score <= 10).toBe(true);
      expect(r.properties.tags).toContain("security");
    }
    // every anchor exists in docs/RULES.md
    const doc = fs.readFileSync(path.join(__dirname, "..", "docs", "RULES.md"), "utf8");
    for (const r of rules.filter((x) => x.id !== "AP-SUP-001")) expect(doc).toContain(`## ${r.id}\n`);
    const results: any[] = sarif.runs[0].results;
    expect(results.length).toBeGreaterThan(0);
    expect(results.length).toBeLessThanOrEqual(25_000);
    for (const res of results) {
      expect(rules[res.ruleIndex].id).toBe(res.ruleId);
      expect(res.partialFingerprints["alphaPrimeFinding/v1"]).toMatch(/^[0-9a-f]{32}$/);
      const uri: string = res.locations[0].physicalLocation.artifactLocation.uri;
      expect(uri.startsWith("/") || uri.startsWith("..") || uri.includes("\\")).toBe(false);
      expect(res.locations[0].physicalLocation.region.startLine).toBeGreaterThanOrEqual(1);
    }
  });

  test("in GitHub Actions the rules URL is this commit's docs/RULES.md; a relative --rules-url is refused", async () => {
    const { dir } = checked(sampleText("kaga"), shortLogRetention);
    const saved = { ...process.env };
    Object.assign(process.env, { GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "city/infra", GITHUB_SHA: "deadbeef" });
    try {
      const out = path.join(tempDir(), "r.sarif");
      await cli("check", dir, "--format", "sarif", "--output", out);
      const rule = JSON.parse(fs.readFileSync(out, "utf8")).runs[0].tool.driver.rules.find((r: any) => r.id === "AP-LOG-001");
      expect(rule.helpUri).toBe("https://github.com/city/infra/blob/deadbeef/docs/RULES.md#ap-log-001");
    } finally {
      process.env = saved;
    }
    expect((await cli("check", dir, "--format", "sarif", "--rules-url", "docs/RULES.md")).code).toBe(2);
  });
});

describe("warnings", () => {
  // the bench generator's municipality 3 waives its services' tenant restriction: AP-TEN-003, a warning
  const doc = syntheticMunicipality(3);
  const text = `# yaml-language-server: $schema=municipality.schema.json\n${stringify(doc)}`;
  const envDir = envDirWith({ [`${doc.id}.yaml`]: text });
  const { dir } = synthStacks({ envDir });

  test("JUnit: a warning is not a failure (failures=0, as check exits 0), and its text is in the case's output", async () => {
    const r = await cli("--env-dir", envDir, "check", dir, "--format", "junit");
    expect(r.code).toBe(0);
    const xml = new XMLParser({ ignoreAttributes: false }).parse(r.stdout);
    const suite = [xml.testsuites.testsuite].flat()[0];
    expect(Number(xml.testsuites["@_failures"] ?? suite["@_failures"])).toBe(0);
    const waived = [suite.testcase].flat().find((c: any) => c["@_name"].startsWith("AP-TEN-003"));
    expect(waived.failure).toBeUndefined();
    expect(waived["system-out"]).toMatch(/^WARNING breakout\.tenantWaivers\./);
  });

  test("SARIF: the waiver warning points at the waiver's reason in the env file", async () => {
    const out = path.join(tempDir(), "r.sarif");
    await cli("--env-dir", envDir, "check", dir, "--format", "sarif", "--output", out);
    const results = JSON.parse(fs.readFileSync(out, "utf8")).runs[0].results.filter((r: any) => r.ruleId === "AP-TEN-003");
    const waivers = (doc.breakout as any).tenantWaivers as { saas: string }[];
    expect(results.length).toBe(waivers.length);
    const reasonLines = text.split("\n").flatMap((l, i) => (/^\s+reason:/.test(l) ? [i + 1] : []));
    for (const result of results) {
      const i = waivers.findIndex((w) => result.properties.resource === `breakout.tenantWaivers.${w.saas}`);
      expect(result.level).toBe("warning");
      expect(result.properties.configPath).toBe(`/breakout/tenantWaivers/${i}/reason`);
      expect(result.locations[0].physicalLocation.region.startLine).toBe(reasonLines[i]);
    }
  });
});
