import * as fs from "fs";
import * as path from "path";
import { formatIssue } from "../core/errors";
import { spawnSync } from "child_process";
import { GENERATED_TYPES_PATH, REPO_ROOT } from "../core/paths";
import { envFiles, loadFiles } from "../config/load";
import { localGovernmentCheckDigit } from "../config/semantic";
import { ENV_DIR, SAMPLE_IDS, envDirWith, sampleText } from "./helpers";

/** Loads a variant of mitoyo.yaml (the issue's reference file) and returns its issues. */
function issuesOf(text: string, name = "mitoyo.yaml") {
  const dir = envDirWith({ [name]: text });
  return loadFiles([path.join(dir, name)]).issues;
}

function lineOf(text: string, needle: string): number {
  return text.split("\n").findIndex((l) => l.includes(needle)) + 1;
}

const mitoyo = sampleText("mitoyo");

describe("the config contract", () => {
  test("the committed TypeScript type is exactly what the JSON Schema generates", () => {
    // The generator runs compiled, in its own process: prettier (used by json-schema-to-typescript) needs
    // dynamic import, which jest's module sandbox does not provide. `npm test` builds first.
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "dist", "config", "generate-types.js"), "--stdout"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(fs.readFileSync(GENERATED_TYPES_PATH, "utf8")).toBe(r.stdout);
  });

  test("the committed schemas are valid JSON Schemas (the loader does not re-check them at run time)", () => {
    const Ajv = require("ajv").default;
    const ajv = new Ajv({ strict: true });
    require("ajv-formats")(ajv);
    expect(ajv.validateSchema(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "env", "municipality.schema.json"), "utf8")))).toBe(true);
    expect(ajv.validateSchema(require("../catalog/saas-catalog").ENTRY_SCHEMA)).toBe(true);
    expect(ajv.validateSchema({ type: "object", properties: { x: { type: "strnig" } } })).toBe(false);
  });

  test("every sample municipality validates", () => {
    const r = loadFiles(envFiles(ENV_DIR));
    expect(r.issues.map(formatIssue)).toEqual([]);
    expect(r.configs.map((c) => c.id).sort()).toEqual(["aogashima", "ashiya", "kaga", "mitoyo"]);
  });

  test("every env file names the schema for editor completion", () => {
    for (const id of SAMPLE_IDS) expect(sampleText(id).split("\n")[0]).toBe("# yaml-language-server: $schema=./municipality.schema.json");
  });

  test("optional sections get secure defaults", () => {
    const minimal = mitoyo
      .replace(/remoteAccess:[\s\S]*?(?=breakout:)/, "")
      .replace(/relay:[\s\S]*?(?=logging:)/, "")
      .replace(/  extraDomains: \[lowcode.example.jp\]\n/, "")
      .replace(/logging:\n  retentionDays: 365\n/, "");
    const dir = envDirWith({ "mitoyo.yaml": minimal });
    const r = loadFiles([path.join(dir, "mitoyo.yaml")]);
    expect(r.issues.map(formatIssue)).toEqual([]);
    const c = r.configs[0];
    expect(c.remoteAccess).toBeUndefined();
    expect(c.relay).toEqual([]);
    expect(c.breakout.extraDomains).toEqual([]);
    expect(c.logging).toEqual({ retentionDays: 365, objectLockMode: "governance", transitionAfterDays: 90 });
    expect(c.network.dnsServers).toEqual(["172.16.0.0/16"]);
    expect(c.network.awsSideAsn).toBe(64512);
  });

  test("the local government code check digit follows weights 6,5,4,3,2", () => {
    expect(localGovernmentCheckDigit("37208")).toBe(1); // 三豊市 372081
    expect(localGovernmentCheckDigit("17206")).toBe(5); // 加賀市 172065
    expect(localGovernmentCheckDigit("28206")).toBe(5); // 芦屋市 282065
    expect(localGovernmentCheckDigit("13101")).toBe(6); // 千代田区 131016
  });
});

describe("bad input is reported with file, line:column, field path and what was expected", () => {
  const cases: { name: string; edit: (t: string) => string; path: string; message: RegExp; expected?: RegExp; suggestion?: string; line?: string }[] = [
    { name: "an unknown key, with the intended key", edit: (t) => t.replace("retentionDays: 365", "retentionDay: 365"), path: "/logging/retentionDay", message: /unknown key/, suggestion: "retentionDays", line: "retentionDay:" },
    { name: "a wrong check digit", edit: (t) => t.replace('"372081"', '"372082"'), path: "/localGovernmentCode", message: /check digit/, expected: /372081/, line: "localGovernmentCode" },
    { name: "a code of another prefecture", edit: (t) => t.replace('"372081"', '"131016"'), path: "/localGovernmentCode", message: /does not belong to 香川県/ },
    { name: "an account id of 11 digits", edit: (t) => t.replace('"111122223333"', '"11112222333"'), path: "/aws/accountId", message: /wrong form/, expected: /12\}/ },
    { name: "an AZ of another region", edit: (t) => t.replace("ap-northeast-1c]", "ap-northeast-3a]"), path: "/aws/availabilityZones/1", message: /not an availability zone of ap-northeast-1/ },
    { name: "an invalid CIDR", edit: (t) => t.replace("10.64.0.0/22", "10.64.0.300/22"), path: "/network/breakoutCidr", message: /not a valid IPv4 CIDR/ },
    { name: "a CIDR with host bits", edit: (t) => t.replace("10.64.0.0/22", "10.64.1.0/22"), path: "/network/breakoutCidr", message: /host bits/ },
    { name: "a breakout network smaller than a /24", edit: (t) => t.replace("10.64.0.0/22 ", "10.64.0.0/25 "), path: "/network/breakoutCidr", message: /outside \/16 to \/24/, expected: /a \/24 holds two zones/ },
    { name: "three zones in a /24", edit: (t) => t.replace("10.64.0.0/22 ", "10.64.0.0/24 ").replace("ap-northeast-1c]", "ap-northeast-1c, ap-northeast-1d]"), path: "/network/breakoutCidr", message: /\/24 holds 2 availability zones with room for every tier, and 3 are configured/, expected: /a \/23 or larger for 3 zones/ },
    { name: "overlapping ranges", edit: (t) => t.replace("clientCidr: 10.68.0.0/22", "clientCidr: 10.64.0.0/22"), path: "/remoteAccess/clientCidr", message: /overlaps breakoutCidr/ },
    { name: "an LGWAN segment inside the breakout range", edit: (t) => t.replace("[172.16.0.0/16]", "[10.64.2.0/24]"), path: "/network/lgwanSegments/0", message: /overlaps/ },
    { name: "a duplicate site name", edit: (t) => t.replace("name: takase", "name: honcho"), path: "/sites/1/name", message: /used twice/ },
    { name: "a BGP ASN equal to the AWS side", edit: (t) => t.replace("bgpAsn: 65011", "bgpAsn: 64512"), path: "/sites/1/bgpAsn", message: /equals the AWS side/ },
    { name: "a reserved BGP ASN", edit: (t) => t.replace("bgpAsn: 65011", "bgpAsn: 23456"), path: "/sites/1/bgpAsn", message: /AS_TRANS/ },
    { name: "an unknown SaaS id, with the intended id", edit: (t) => t.replace("slack, kintone", "slak, kintone"), path: "/breakout/saas/1", message: /unknown SaaS id 'slak'/, suggestion: "slack" },
    { name: "a domain that allows everything", edit: (t) => t.replace("[lowcode.example.jp]", '["*"]'), path: "/breakout/extraDomains/0", message: /allows every domain/ },
    { name: "a bare top-level domain", edit: (t) => t.replace("[lowcode.example.jp]", '["*.jp"]'), path: "/breakout/extraDomains/0", message: /public suffix/ },
    { name: "a public suffix", edit: (t) => t.replace("[lowcode.example.jp]", '["*.co.jp"]'), path: "/breakout/extraDomains/0", message: /public suffix/ },
    { name: "retention under a year", edit: (t) => t.replace("retentionDays: 365", "retentionDays: 90"), path: "/logging/retentionDays", message: /must be >= 365/ },
    { name: "a relay port used twice", edit: (t) => t.replace("listenPort: 587", "listenPort: 443"), path: "/relay/1/listenPort", message: /used by relay\[0\]/ },
    { name: "a malformed host:port", edit: (t) => t.replace('"172.16.1.10:8080"', '"172.16.1.10"'), path: "/network/lgwanProxy", message: /host:port/ },
    { name: "a relay target that is an internet IP", edit: (t) => t.replace('"smtp.office365.com:587"', '"52.96.0.1:587"'), path: "/relay/1/target", message: /must be host names/ },
    { name: "an enum typo, with the intended value", edit: (t) => t.replace("from: lgwan", "from: lgwa"), path: "/relay/1/from", message: /not allowed/, suggestion: "lgwan" },
    { name: "an id that is not the file name", edit: (t) => t.replace("id: mitoyo ", "id: mitoyo2 "), path: "/id", message: /differs from the file name/ },
  ];

  test.each(cases)("$name", (c) => {
    const text = c.edit(mitoyo);
    expect(text).not.toBe(mitoyo);
    const issues = issuesOf(text);
    const issue = issues.find((i) => i.path === c.path && c.message.test(i.message));
    if (!issue) throw new Error(`no issue at ${c.path} matching ${c.message}; got:\n${issues.map(formatIssue).join("\n")}`);
    expect(issue.file).toMatch(/mitoyo\.yaml$/);
    expect(issue.line).toBeGreaterThan(0);
    expect(issue.column).toBeGreaterThan(0);
    if (c.line) expect(issue.line).toBe(lineOf(text, c.line));
    if (c.expected) expect(issue.expected).toMatch(c.expected);
    if (c.suggestion) expect(issue.suggestion).toBe(c.suggestion);
  });

  test("all errors of a file are reported at once", () => {
    const text = mitoyo.replace("retentionDays: 365", "retentionDay: 365").replace('"372081"', '"372082"').replace("slack, kintone", "slak, kintone");
    const paths = issuesOf(text).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["/logging/retentionDay", "/localGovernmentCode", "/breakout/saas/1"]));
  });

  test("a YAML syntax error is located", () => {
    const issues = issuesOf(mitoyo.replace("bandwidthTier: 1g", "bandwidthTier: [1g"));
    expect(issues[0].message).toMatch(/YAML syntax/);
    expect(issues[0].line).toBeGreaterThan(0);
  });

  test("ids must be unique across env files", () => {
    const dir = envDirWith({ "mitoyo.yaml": mitoyo });
    const other = envDirWith({ "mitoyo.yaml": mitoyo.replace('"372081"', '"372081"') });
    const issues = loadFiles([path.join(dir, "mitoyo.yaml"), path.join(other, "mitoyo.yaml")]).issues;
    expect(issues.some((i) => i.path === "/id" && /also used/.test(i.message))).toBe(true);
  });
});
