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
import { ENGINE_LAYOUT, renderCicapConfig, renderClamdConfig, renderEngineCheckScript, renderEngineUnits } from "../constructs/file-sanitization";
import { renderSniCheckHelper } from "../constructs/tenant-proxy";
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

  test("a limit ClamAV cannot scan (2 GB or more) is a located error with the built-in engine, and allowed with an external one", () => {
    const limit = (mb: number, engine = "engine: clamav ") => issuesOf(kagaText.replace(/maxFileSizeMb: \d+/, `maxFileSizeMb: ${mb}`).replace("engine: clamav ", engine));
    expect(limit(2048).find((i) => i.path === "/breakout/sanitization/maxFileSizeMb")?.message).toMatch(/ClamAV cannot scan a file of 2048 MB/);
    expect(limit(2047)).toEqual([]);
    expect(limit(2048, "engine: external\n    externalIcapUrl: icaps://cdr.example.jp:11344/sanitize ")).toEqual([]);
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
    expect(conf).toMatch(/^icap_service sanitize respmod_precache icap:\/\/127\.0\.0\.1:1344\/sanitize bypass=0$/m);
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
    expect(filters.map((f) => f.log_group_name)).toEqual(["/alpha-prime/kaga/proxy", "/alpha-prime/kaga/proxy", "/alpha-prime/kaga/proxy", "/alpha-prime/kaga/proxy"]);
    // a failed engine check (the engine stopped blocking EICAR) counts as an engine error too
    expect(filters.filter((f) => f.metric_transformation.name === "SanitizationEngineErrors").map((f) => f.pattern).sort()).toEqual(['"engine check FAILED"', '"outcome=ICAP_ERR"']);
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

  test("every limit of the chain comes from maxFileSizeMb: Squid's, c-icap's and clamd's, and clamd alerts on what it could not scan", () => {
    const mb = config.breakout.sanitization!.maxFileSizeMb;
    const bytes = mb * 1048576;
    expect(files["proxy/squid.conf"]).toMatch(new RegExp(`^reply_body_max_size ${bytes} bytes sanitized_hosts$`, "m"));
    // c-icap gives up on a body once it holds MaxObjectSize bytes: one more, so a file of exactly the limit is scanned
    expect(files["proxy/files/etc/alpha-prime/c-icap.conf"]).toMatch(new RegExp(`^virus_scan.MaxObjectSize ${bytes + 1}$`, "m"));
    const clamd = files["proxy/files/etc/alpha-prime/clamd.conf"];
    for (const line of [`MaxFileSize ${bytes}`, `MaxScanSize ${4 * bytes}`, `StreamMaxLength ${bytes}`, "AlertExceedsMax yes", "AlertEncryptedArchive yes", "AlertEncryptedDoc yes"]) expect(clamd.split("\n")).toContain(line);
    expect(clamd).not.toMatch(/^TCPSocket/m);
  });

  test("c-icap answers only after the whole file, scans every type, and reaches clamd by its socket", () => {
    const cicap = files["proxy/files/etc/alpha-prime/c-icap.conf"];
    expect(cicap).toMatch(/^ServiceAlias sanitize virus_scan\?mode=simple&force=on$/m);
    expect(cicap).toMatch(/^virus_scan.ScanFileTypes TEXT DATA EXECUTABLE ARCHIVE DOCUMENT GRAPHICS STREAM$/m);
    expect(cicap).toMatch(/^clamd_mod.ClamdSocket \/run\/clamav\/clamd.ctl$/m);
    expect(files["proxy/squid.conf"]).toMatch(/^icap_service sanitize respmod_precache icap:\/\/127\.0\.0\.1:1344\/sanitize bypass=0$/m);
  });

  test("the user data installs the engine's gates after the packages, starts c-icap and Squid through them, and never carries the EICAR text itself", () => {
    const doc = require("yaml").parse(files["proxy/cloud-config.yaml"]);
    const written = new Map<string, any>(doc.write_files.map((f: any) => [f.path, f]));
    for (const unit of Object.keys(renderEngineUnits())) expect(written.get(`/etc/systemd/system/${unit}`)).toMatchObject({ defer: true, content: renderEngineUnits()[unit] });
    expect(written.get(ENGINE_LAYOUT.engineCheckProgram)).toMatchObject({ permissions: "0755", content: renderEngineCheckScript() });
    expect(written.get("/usr/local/lib/alpha-prime/sni-is-host")).toMatchObject({ permissions: "0755", content: renderSniCheckHelper() });
    expect(doc.packages).toContain("clamdscan");
    const cmds = doc.runcmd.map((c: string[]) => c.join(" "));
    const at = (c: string) => cmds.indexOf(c);
    expect(at("systemctl daemon-reload")).toBeGreaterThan(-1);
    expect(at("systemctl daemon-reload")).toBeLessThan(at("systemctl restart clamav-daemon c-icap"));
    expect(at("systemctl restart clamav-daemon c-icap")).toBeLessThan(at("systemctl restart squid"));
    expect(cmds).toContain("systemctl enable --now alpha-prime-engine-watch.timer");
    expect(files["proxy/cloud-config.yaml"]).toContain(ENGINE_LAYOUT.engineCheckLog);
    // scanners that read the published cloud-config (or the launch template) must not find the test file in it
    expect(files["proxy/cloud-config.yaml"]).not.toContain("EICAR-STANDARD-ANTIVIRUS-TEST-FILE");
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
    // apart from what the constructs accept by design (constructs/accepted-findings.ts)
    return checkStack(new StackModel("kaga", tf)).findings.filter((f) => !f.suppressedBy?.declaredBy).map((f) => [f.ruleId, f.message]);
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
    expect(checkStack(new StackModel("kaga", tf)).findings.filter((f) => !f.suppressedBy?.declaredBy)).toEqual([]);
  });
});

describe("the engine's scripts and units, checked by the programs that run them", () => {
  testWithTool("shellcheck", "shellcheck", "the rendered engine check and Squid helper")("shellcheck finds nothing in the engine check and the SNI helper (and does find a real problem)", () => {
    const dir = tempDir("alpha-prime-shellcheck-");
    const write = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const r = spawnSync("shellcheck", ["-s", "sh", write("alpha-prime-engine-check", renderEngineCheckScript()), write("sni-is-host", renderSniCheckHelper())], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(spawnSync("shellcheck", ["-s", "sh", write("bad", "#!/bin/sh\nrm -rf $dir/*\n")], { encoding: "utf8" }).stdout).toMatch(/SC2086/);
  });

  testWithTool("systemd-analyze", "systemd", "the rendered systemd units")("systemd-analyze verify accepts the drop-ins on Debian's c-icap, clamd and Squid units, and the watch timer (and reports a mistake)", () => {
    const dir = tempDir("alpha-prime-units-");
    // the program the units run, at a path of this directory (systemd-analyze checks that it is executable)
    const program = path.join(dir, "alpha-prime-engine-check");
    fs.writeFileSync(program, renderEngineCheckScript(), { mode: 0o755 });
    const verify = (engineCheckProgram: string, extra = "") => {
      for (const [rel, text] of Object.entries(renderEngineUnits({ layout: { ...ENGINE_LAYOUT, engineCheckProgram } }))) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), rel.startsWith("c-icap") ? text + extra : text);
      }
      for (const unit of ["c-icap.service", "squid.service", "clamav-daemon.service"]) fs.copyFileSync(path.join("/lib/systemd/system", unit), path.join(dir, unit));
      const units = ["c-icap.service", "squid.service", "clamav-daemon.service", "alpha-prime-engine-watch.service", "alpha-prime-engine-watch.timer"].map((u) => path.join(dir, u));
      const r = spawnSync("systemd-analyze", ["verify", ...units], { encoding: "utf8" });
      return r.stdout + r.stderr;
    };
    expect(verify(program)).toBe("");
    // and the check is real: a misspelt key and a program that is not there are reported
    expect(verify(program, "Restrat=always\n")).toMatch(/Unknown key 'Restrat'/);
    expect(verify("/nonexistent/alpha-prime-engine-check")).toMatch(/\/nonexistent\/alpha-prime-engine-check is not executable/);
  });
});

describe("the SNI helper, run as Squid runs it", () => {
  test("OK only when the request names the TLS handshake's host (case and a trailing dot aside); no SNI is ERR", () => {
    const dir = tempDir("alpha-prime-sni-");
    const helper = path.join(dir, "sni-is-host");
    fs.writeFileSync(helper, renderSniCheckHelper(), { mode: 0o755 });
    const lines = ["files.slack.com files.slack.com", "FILES.Slack.com. files.slack.com", "files.slack.com app.slack.com", "- files.slack.com", "files.slack.com files.slack.com.example.jp", "a.slack-files.com b.slack-files.com"];
    const r = spawnSync(helper, [], { input: lines.join("\n") + "\n", encoding: "utf8", timeout: 10000 });
    expect(r.stdout.split("\n").filter(Boolean)).toEqual(["OK", "OK", "ERR", "ERR", "ERR", "ERR"]);
  });
});
