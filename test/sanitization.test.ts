/**
 * 無害化 (file sanitization), judged on the synthesized stacks and the rendered files: configuration errors are
 * located, file-download hosts go only through the proxy and the engine, the engine's files load in the real
 * programs, alarms and evidence exist, and the reviewer diff and the baseline notice a weakened sanitization.
 * The live behaviour (clean file, EICAR, size limit, fail closed) is in sanitization-live.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderedFiles } from "../cli/render";
import { loadFiles } from "../config/load";
import { ENGINE_LAYOUT, renderCicapConfig, renderClamdConfig } from "../constructs/file-sanitization";
import { checkStack } from "../policy/engine";
import { StackModel } from "../policy/model";
import { effectiveAllowlist } from "../stacks/allowlist";
import { envDirWith, loadSample, resources, sampleText, synthStacks, tempDir, testWithTool } from "./helpers";

const { stacks } = synthStacks();
const kagaText = sampleText("kaga");

function issuesOf(text: string) {
  const dir = envDirWith({ "kaga.yaml": text });
  return loadFiles([path.join(dir, "kaga.yaml")]).issues;
}

describe("breakout.sanitization in the env file", () => {
  test("a service without documented file hosts, an unselected service, and larger files passing without a reason are located errors", () => {
    const text = kagaText.replace("services: [slack, kintone]", "services: [slack, zoom, box]").replace("maxFileSizeMb: 100 ", "maxFileSizeMb: 100\n    largerFiles: pass ");
    const issues = issuesOf(text);
    expect(issues.find((i) => i.path === "/breakout/sanitization/services/1")?.message).toMatch(/zoom has no documented file-download hosts/);
    expect(issues.find((i) => i.path === "/breakout/sanitization/services/2")?.message).toMatch(/'box' is not a selected service/);
    expect(issues.find((i) => i.path === "/breakout/sanitization")?.message).toMatch(/largerFiles: pass .* needs largerFilesReason/);
  });

  test("an external engine needs a URL, and plain ICAP over the internet is refused", () => {
    expect(issuesOf(kagaText.replace("engine: clamav ", "engine: external ")).find((i) => i.path === "/breakout/sanitization")?.message).toMatch(/engine: external needs externalIcapUrl/);
    const internet = issuesOf(kagaText.replace("engine: clamav ", "engine: external\n    externalIcapUrl: icap://cdr.example.jp:1344/sanitize "));
    expect(internet.find((i) => i.path === "/breakout/sanitization/externalIcapUrl")?.message).toMatch(/plain icap:\/\/ would send residents' files unencrypted/);
    expect(issuesOf(kagaText.replace("engine: clamav ", "engine: external\n    externalIcapUrl: icap://172.20.5.30:1344/sanitize "))).toEqual([]);
  });

  test("the block-page guidance cannot carry markup", () => {
    const issues = issuesOf(kagaText.replace(/guidance: .*/, "guidance: <script>alert(1)</script> ask IT"));
    expect(issues.find((i) => i.path === "/breakout/sanitization/guidance")).toBeDefined();
  });
});

describe("kaga: sanitized downloads", () => {
  const config = loadSample("kaga");
  const tf = stacks.kaga as any;
  const files = renderedFiles("kaga", tf);
  const allowlist = effectiveAllowlist(config);

  test("file hosts are narrowed to the tenant's own hosts, bumped, sent to the engine and reachable only through the proxy", () => {
    const hosts = allowlist.sanitization!.hosts.map((h) => (h.includeSubdomains ? `.${h.name}` : h.name));
    expect(hosts).toEqual(expect.arrayContaining(["kaga-city.cybozu.com", "kaga-hinanjo.cybozu.com", ".slack-files.com", "files.slack.com"]));
    expect(hosts).not.toContain(".cybozu.com");
    const conf = files["proxy/squid.conf"];
    expect(conf).toMatch(/^icap_service sanitize respmod_precache icap:\/\/127\.0\.0\.1:1344\/virus_scan bypass=0$/m);
    expect(conf).toMatch(/^reply_body_max_size 104857600 bytes sanitized_hosts$/m);
    expect(conf).toMatch(/^acl needs_header_sni ssl::server_name .*kaga-city\.cybozu\.com/m);
    expect(tf.locals.alpha_prime.tenant_restriction.proxy_only_domains).toEqual(expect.arrayContaining(["kaga-city.cybozu.com", "*.slack-files.com"]));
  });

  test("signature updates pass the firewall from the proxy subnets only", () => {
    const rules = files["firewall/proxy-enforcement.rules"].split("\n");
    expect(rules.filter((r) => r.includes('content:".database.clamav.net"')).map((r) => r.split(" ").slice(0, 3).join(" "))).toEqual(["pass tls $PROXY_NET", "pass http $PROXY_NET"]);
  });

  test("alarms: engine errors, blocked downloads above the configured rate, stale signatures; fed by metric filters on the proxy's log group", () => {
    // (the proxy's memory reporter feeds a filter of its own on the same group: test/proxy-capacity.test.ts)
    const filters = resources(tf, "aws_cloudwatch_log_metric_filter").filter(([n]) => !n.includes("MemoryUsed")).map(([, f]) => f);
    expect(filters.map((f) => f.log_group_name)).toEqual(["/alpha-prime/kaga/proxy", "/alpha-prime/kaga/proxy", "/alpha-prime/kaga/proxy"]);
    const alarms = Object.fromEntries(resources(tf, "aws_cloudwatch_metric_alarm").filter(([n]) => n.includes("Sanitization")).map(([, a]) => [a.metric_name, a]));
    expect(alarms.SanitizationEngineErrors.threshold).toBe(1);
    expect(alarms.SanitizationBlockedDownloads.threshold).toBe(config.breakout.sanitization!.blockedPerHourAlarm);
    expect(alarms.SanitizationSignatureAgeHours).toMatchObject({ threshold: 48, treat_missing_data: "breaching" });
  });

  test("the proxy's user data installs and configures the engine, and ships every verdict log to the archive's log group", () => {
    const ud = files["proxy/cloud-config.yaml"];
    for (const p of ["c-icap", "libc-icap-mod-virus-scan", "clamav-daemon", "clamav-freshclam"]) expect(ud).toContain(`  - ${p}\n`);
    for (const f of ["/var/log/c-icap/verdicts.log", "/var/log/squid/sanitization.log", "/var/log/alpha-prime/signature-age.log"]) expect(ud).toContain(f);
    expect(ud).toContain("必要なファイルは情報政策課（内線2101）に");
  });

  test("render unpacks what user data writes; the engine's files differ from the live test's only by the layout", () => {
    const onInstance = (p: string) => files[`proxy/files/etc/alpha-prime/${p}`];
    expect(onInstance("squid.conf")).toBe(files["proxy/squid.conf"]);
    const maxFileSizeBytes = config.breakout.sanitization!.maxFileSizeMb * 1048576;
    expect(onInstance("c-icap.conf")).toBe(renderCicapConfig({ maxFileSizeBytes, layout: ENGINE_LAYOUT }));
    expect(onInstance("clamd.conf")).toBe(renderClamdConfig({ maxFileSizeBytes, layout: ENGINE_LAYOUT }));
    expect(onInstance("squid-errors/ERR_ICAP_FAILURE")).toContain("必要なファイルは情報政策課（内線2101）に");
  });

  testWithTool("clamconf", "clamav", "rendered clamd.conf and freshclam.conf")("clamconf reads the rendered clamd.conf and freshclam.conf without an error", () => {
    const dir = tempDir("alpha-prime-clamconf-");
    fs.writeFileSync(path.join(dir, "clamd.conf"), files["proxy/files/etc/alpha-prime/clamd.conf"]);
    fs.writeFileSync(path.join(dir, "freshclam.conf"), files["proxy/files/etc/alpha-prime/freshclam.conf"]);
    const r = spawnSync("clamconf", ["-c", dir], { encoding: "utf8", timeout: 30000 });
    const all = r.stdout + r.stderr;
    expect(all).toMatch(/Config file: clamd\.conf/);
    expect(all).toMatch(/Config file: freshclam\.conf/);
    expect(all.split("\n").filter((l) => /ERROR/.test(l))).toEqual([]);
    // and the check is real: a misspelt directive is reported
    fs.appendFileSync(path.join(dir, "clamd.conf"), "StreamMaxLenght 10M\n");
    expect(spawnSync("clamconf", ["-c", dir], { encoding: "utf8" }).stderr).toMatch(/ERROR: Parse error .*StreamMaxLenght/);
  });
});

describe("the baseline and the reviewer notice a weakened sanitization", () => {
  function findings(tf: any) {
    return checkStack(new StackModel("kaga", tf)).findings.map((f) => [f.ruleId, f.message]);
  }
  const clone = () => JSON.parse(JSON.stringify(stacks.kaga));
  const squidConf = (tf: any) => Object.values<any>(tf.resource.aws_s3_object).find((o) => o.key === "proxy/squid.conf");

  test("AP-SAN-001: an engine that may be bypassed, or a file host left out of the adaptation, fails the stack", () => {
    const bypass = clone();
    squidConf(bypass).content = squidConf(bypass).content.replace(/^(icap_service sanitize .*) bypass=0$/m, "$1 bypass=1");
    expect(findings(bypass)).toEqual([["AP-SAN-001", "the sanitization service may be bypassed when the engine fails (needs bypass=0): files would pass unscanned"]]);
    const missing = clone();
    squidConf(missing).content = squidConf(missing).content.replace(/^(acl sanitized_hosts .*) files\.slack\.com/m, "$1");
    expect(findings(missing)).toEqual([["AP-SAN-001", "files.slack.com is not sent to the sanitization engine"]]);
  });

  test("AP-SAN-001: a file host reachable without the proxy fails the stack", () => {
    const tf = clone();
    const g = Object.entries<any>(tf.resource.aws_networkfirewall_rule_group).find(([n]) => n.startsWith("Breakout_ProxyEnforcement"))![1].rule_group.rules_source;
    g.rules_string = g.rules_string.split("\n").filter((r: string) => !(r.startsWith("drop") && r.includes('".kaga-city.cybozu.com"'))).join("\n");
    expect(findings(tf)).toEqual([
      ["AP-SAN-001", expect.stringMatching(/kaga-city\.cybozu\.com \(tls\) is not dropped for HOME_NET/)],
      ["AP-SAN-001", expect.stringMatching(/kaga-city\.cybozu\.com \(http\) is not dropped for HOME_NET/)],
    ]);
  });

  test("the diff calls out sanitization turned off and an engine change", () => {
    const { diffSides, readSynthesized } = require("../review/diff") as typeof import("../review/diff");
    const base = synthStacks({ only: ["kaga"] }).dir;
    const off = synthStacks({ envDir: envDirWith({ "kaga.yaml": kagaText.replace(/  sanitization:[\s\S]*?(?=  interceptionCa:)/, "") }) }).dir;
    const external = synthStacks({ envDir: envDirWith({ "kaga.yaml": kagaText.replace("engine: clamav ", "engine: external\n    externalIcapUrl: icaps://cdr.example.jp:11344/sanitize ") }) }).dir;
    const callouts = (head: string) => diffSides(readSynthesized(base), readSynthesized(head)).municipalities.find((m) => m.id === "kaga")!.callouts.map((c) => c.message);
    expect(callouts(off)).toContain("file sanitization TURNED OFF (was clamav for slack, kintone)");
    expect(callouts(external)).toContain("sanitization engine CHANGED: clamav → external icaps://cdr.example.jp:11344/sanitize");
  });

  test("an external ICAPS engine on the internet is reachable from the proxy subnets only, by name and port", () => {
    const dir = envDirWith({ "kaga.yaml": kagaText.replace("engine: clamav ", "engine: external\n    externalIcapUrl: icaps://cdr.example.jp:11344/sanitize ") });
    const tf = synthStacks({ envDir: dir }).stacks.kaga as any;
    const f = renderedFiles("kaga", tf);
    expect(f["firewall/proxy-enforcement.rules"]).toMatch(/^pass tls \$PROXY_NET any -> \$EXTERNAL_NET 11344 \(.*content:"\.cdr\.example\.jp"; nocase; startswith; endswith;/m);
    expect(f["proxy/squid.conf"]).toMatch(/^icap_service sanitize respmod_precache icaps:\/\/cdr\.example\.jp:11344\/sanitize bypass=0$/m);
    expect(f["proxy/cloud-config.yaml"]).not.toContain("clamav-daemon");
    expect(checkStack(new StackModel("kaga", tf)).findings).toEqual([]);
  });
});
