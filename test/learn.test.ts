/**
 * `alpha-prime learn`: a fixture trial of a service the catalog lacks, in the formats AWS writes to the log bucket
 * (Network Firewall alert logs, Resolver query logs; gzip and plain, with truncated lines and records from outside
 * the LGWAN segments) and a browser's HAR export. learn must propose exactly the service's names, grouped under
 * their registrable domains, and the YAML it writes must validate and synthesize.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { envDirWith, sampleText, synthStacks, tempDir, runCli } from "./helpers";

// the trial: a forms service on two registrable domains
const SERVICE = ["form.trialsaas.jp", "api.trialsaas.jp", "ws.trialsaas.jp", "cdn.trialsaas-static.com"];
const PC = ["172.20.10.11", "172.20.10.12", "192.168.40.7"]; // Kaga's LGWAN segments
const DNS_SERVER = "172.20.0.53";

function alert(src: string, name: string, extra: Record<string, unknown> = {}, action = "blocked") {
  return JSON.stringify({
    firewall_name: "alpha-prime-kaga-firewall",
    availability_zone: "ap-northeast-1a",
    event_timestamp: "1764028800",
    event: { timestamp: "2026-11-25T00:00:00.000000+0000", flow_id: 1, event_type: "alert", src_ip: src, src_port: 50000, dest_ip: "203.0.113.10", dest_port: 443, proto: "TCP", app_proto: "tls", tls: { sni: name }, alert: { action, signature_id: 3, rev: 0, signature: "", category: "", severity: 3, ...extra } },
  });
}
const dns = (src: string, name: string, action = "BLOCK") =>
  JSON.stringify({ version: "1.100000", account_id: "222233334444", region: "ap-northeast-1", vpc_id: "vpc-0example", query_timestamp: "2026-11-25T00:00:01Z", query_name: `${name}.`, query_type: "A", query_class: "IN", rcode: "NOERROR", answers: [], srcaddr: src, srcport: "53000", transport: "UDP", srcids: { instance: "i-0example" }, firewall_rule_action: action, firewall_rule_group_id: "rslvr-frg-0example", firewall_domain_list_id: "rslvr-fdl-0example" });

function fixtures(): { dir: string; alerts: string; resolver: string; har: string } {
  const dir = tempDir("alpha-prime-learn-");
  const alertLines = [
    ...SERVICE.flatMap((n, i) => [alert(PC[i % 3], n), alert(PC[(i + 1) % 3], n)]),
    alert("10.68.0.5", "outside.example-vpn.jp"), // a Client VPN address: not from the LGWAN segments
    alert("198.51.100.7", "internet-scan.example.net"), // not from the LGWAN segments either
    alert(PC[0], "allowed-anyway.trialsaas.jp", {}, "allowed"), // not blocked
    alert(PC[1], "c2.badactor-example.com", { signature: "ET MALWARE Possible C2 beacon", category: "A Network Trojan was detected", signature_id: 2030000 }),
    alert(PC[2], "login.micros0ft.com"), // a look-alike of microsoft.com
    alert(PC[0], "dl.botnet-example.net", { signature: "BotNetCommandAndControlDomainsStrictOrder: botnet C2 domain" }), // a managed domain list's catch
    alert(PC[0], "kaga-city.cybozu.com"), // already allowed
    JSON.stringify({ firewall_name: "alpha-prime-kaga-firewall", availability_zone: "ap-northeast-1a", event_timestamp: "1764028800", event: { event_type: "netflow", src_ip: PC[0] } }),
    alert(PC[0], "form.trialsaas.jp").slice(0, 90), // cut short by a rotation
  ];
  const alerts = path.join(dir, "alerts.log.gz");
  fs.writeFileSync(alerts, zlib.gzipSync(alertLines.join("\n") + "\n"));
  const resolver = path.join(dir, "resolver.log");
  fs.writeFileSync(resolver, [dns(DNS_SERVER, "ws.trialsaas.jp"), dns(DNS_SERVER, "cdn.trialsaas-static.com"), dns(DNS_SERVER, "docs.example.com", "ALLOW"), dns("10.64.0.20", "relay-internal.example.jp"), dns(DNS_SERVER, "10.0.20.172.in-addr.arpa")].join("\n") + "\n");
  const har = path.join(dir, "trial.har");
  fs.writeFileSync(har, JSON.stringify({ log: { version: "1.2", creator: { name: "Firefox", version: "140" }, entries: SERVICE.map((n) => ({ request: { method: "GET", url: `https://${n}/v1/forms?x=1` }, response: { status: 200 } })) } }));
  return { dir, alerts, resolver, har };
}

const cli = runCli;

describe("learn on a fixture trial of a service the catalog lacks", () => {
  const f = fixtures();
  const kaga = sampleText("kaga");

  test("proposes exactly the service's names, grouped under their registrable domains, ranked by clients", async () => {
    const r = await cli("--env-dir", envDirWith({ "kaga.yaml": kaga }), "learn", "kaga", "--from", f.alerts, f.resolver, "--format", "json");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect([...report.proposal].sort()).toEqual([...SERVICE].sort());
    const byDomain = Object.fromEntries(report.groups.map((g: any) => [g.domain, g]));
    expect(byDomain["trialsaas.jp"]).toMatchObject({ names: ["api.trialsaas.jp", "form.trialsaas.jp", "ws.trialsaas.jp"], clients: 4, sources: ["dns", "firewall"] });
    expect(byDomain["trialsaas-static.com"]).toMatchObject({ names: ["cdn.trialsaas-static.com"], sources: ["dns", "firewall"] });
    expect(report.groups[0].domain).toBe("trialsaas.jp");
    // marked, never proposed
    expect(byDomain["badactor-example.com"].threat).toMatch(/ET MALWARE/);
    expect(byDomain["micros0ft.com"].lookalikeOf).toBe("microsoft.com");
    expect(byDomain["botnet-example.net"].threat).toMatch(/BotNetCommandAndControl/);
    // left out: outside the LGWAN segments, not blocked, already allowed, reverse lookups
    for (const gone of ["example-vpn.jp", "example.net", "example.com", "cybozu.com", "172.in-addr.arpa", "example.jp"]) expect(byDomain[gone]).toBeUndefined();
    expect(report.files.map((x: any) => [x.kind, x.outsideLgwan, x.notBlocked, x.unreadable])).toEqual([
      ["firewall alert log", 2, 1, 1],
      ["resolver query log", 1, 1, 0],
    ]);
  });

  test("a HAR export of the trial gives the same names", async () => {
    const r = await cli("--env-dir", envDirWith({ "kaga.yaml": kaga }), "learn", "kaga", "--from", f.har, "--format", "json");
    expect([...JSON.parse(r.out).proposal].sort()).toEqual([...SERVICE].sort());
  });

  test("the table and the YAML snippet say where each name was seen", async () => {
    const r = await cli("--env-dir", envDirWith({ "kaga.yaml": kaga }), "learn", "kaga", "--from", f.alerts, f.resolver);
    expect(r.out).toMatch(/\| trialsaas\.jp \| api\.trialsaas\.jp form\.trialsaas\.jp ws\.trialsaas\.jp \| 4 \| \d+ \| dns, firewall \| {2}\|/);
    expect(r.out).toMatch(/\| badactor-example\.com \| .* THREAT: ET MALWARE/);
    expect(r.out).toMatch(/ {4}- form\.trialsaas\.jp {4}# trialsaas\.jp: 4 client\(s\)/);
  });

  test("--write adds the names to that municipality's env file only, keeps its comments, and the result validates and synthesizes", async () => {
    const env = envDirWith({ "kaga.yaml": kaga, "mitoyo.yaml": sampleText("mitoyo") });
    const before = fs.readFileSync(path.join(env, "mitoyo.yaml"), "utf8");
    const r = await cli("--env-dir", env, "learn", "kaga", "--from", f.alerts, f.resolver, "--write");
    expect([r.code, r.out]).toEqual([0, expect.stringMatching(/added 4 name\(s\) to .*kaga\.yaml/)]);
    const after = fs.readFileSync(path.join(env, "kaga.yaml"), "utf8");
    // a minimal edit: the one added line, every other byte (comments, alignment) as the municipality wrote it
    expect(after).toBe(kaga.replace(/^(  saas: .*)$/m, "$1\n  extraDomains: [api.trialsaas.jp, form.trialsaas.jp, ws.trialsaas.jp, cdn.trialsaas-static.com]"));
    expect(fs.readFileSync(path.join(env, "mitoyo.yaml"), "utf8")).toBe(before);
    expect((await cli("--env-dir", env, "validate")).code).toBe(0);
    const { stacks } = synthStacks({ envDir: env, only: ["kaga"] });
    const domains = Object.values<any>(stacks.kaga.resource.aws_route53_resolver_firewall_domain_list).flatMap((l) => l.domains);
    for (const n of SERVICE) expect(domains).toContain(`${n}.`);
    // a second run adds nothing
    expect((await cli("--env-dir", env, "learn", "kaga", "--from", f.alerts, "--write")).out).toMatch(/nothing to add|No blocked name/);
  });
});

test("--write appends to a block list in its own indentation, and to a flow list in place", async () => {
  const f = fixtures();
  const block = sampleText("kaga").replace(/^(  saas: .*)$/m, "$1\n  extraDomains:            # forms trial\n    - forms.kaga-example.jp  # already there");
  const env = envDirWith({ "kaga.yaml": block });
  expect((await cli("--env-dir", env, "learn", "kaga", "--from", f.har, "--write")).code).toBe(0);
  expect(fs.readFileSync(path.join(env, "kaga.yaml"), "utf8")).toBe(
    block.replace("    - forms.kaga-example.jp  # already there", "    - forms.kaga-example.jp  # already there\n    - api.trialsaas.jp\n    - form.trialsaas.jp\n    - ws.trialsaas.jp\n    - cdn.trialsaas-static.com"),
  );
  const mitoyo = sampleText("mitoyo");
  const env2 = envDirWith({ "mitoyo.yaml": mitoyo });
  expect((await cli("--env-dir", env2, "learn", "mitoyo", "--from", f.har, "--write")).code).toBe(0);
  expect(fs.readFileSync(path.join(env2, "mitoyo.yaml"), "utf8")).toBe(mitoyo.replace("extraDomains: [lowcode.example.jp]", "extraDomains: [lowcode.example.jp, api.trialsaas.jp, form.trialsaas.jp, ws.trialsaas.jp, cdn.trialsaas-static.com]"));
});

describe("learn refuses bad input clearly and writes nothing", () => {
  const f = fixtures();
  const env = envDirWith({ "kaga.yaml": sampleText("kaga") });
  const original = fs.readFileSync(path.join(env, "kaga.yaml"), "utf8");

  test.each([
    ["a file that is not a log", () => {
      const p = path.join(f.dir, "notes.txt");
      fs.writeFileSync(p, "# meeting notes\nthe forms service needs more domains\n");
      return p;
    }, /notes\.txt: not a Network Firewall alert log, a Route 53 Resolver query log or a HAR export/],
    ["an empty file", () => {
      const p = path.join(f.dir, "empty.log");
      fs.writeFileSync(p, "");
      return p;
    }, /empty\.log: the file is empty/],
    ["a JSON file that is not a HAR", () => {
      const p = path.join(f.dir, "other.json");
      fs.writeFileSync(p, '{"log": "not entries"}');
      return p;
    }, /other\.json: a JSON file without log\.entries: not a HAR export/],
    ["a missing file", () => path.join(f.dir, "nope.log"), /nope\.log: no such file/],
  ])("%s", async (_what, make, message) => {
    const r = await cli("--env-dir", env, "learn", "kaga", "--from", make(), "--write");
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(message)]);
    expect(fs.readFileSync(path.join(env, "kaga.yaml"), "utf8")).toBe(original);
  });

  test("a municipality with no env file", async () => {
    const r = await cli("--env-dir", env, "learn", "kagaa", "--from", f.alerts, "--write");
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/no env file for municipality 'kagaa'/)]);
  });
});

describe("learn on hostile logs (issue 23, finding 5): never proposes what would widen the allowlist, streams any size, names bad records", () => {
  const mitoyo = sampleText("mitoyo"); // Microsoft 365 restricted to mitoyocity.sharepoint.com
  const MITOYO_PC = "172.16.20.31";
  const dir = tempDir("alpha-prime-learn-hostile-");

  test("a wildcard SNI, a public suffix, an IDN homograph, an address and other tenants' hosts are shown with the reason and never proposed", async () => {
    const alerts = path.join(dir, "alerts.log");
    fs.writeFileSync(
      alerts,
      [
        alert(MITOYO_PC, "*.example.jp"),
        alert(MITOYO_PC, "github.io"),
        alert(MITOYO_PC, "xn--mcrosoft-thh.com"), // mіcrosoft, with a Cyrillic і
        alert(MITOYO_PC, "127.1"),
        alert(MITOYO_PC, "contoso.sharepoint.com"),
        alert(MITOYO_PC, "contoso-my.sharepoint.com"),
        alert(MITOYO_PC, "app.trialsaas.jp"),
      ].join("\n") + "\n",
    );
    const resolver = path.join(dir, "resolver.log");
    fs.writeFileSync(resolver, dns(MITOYO_PC, "*.sharepoint.com") + "\n"); // what `nslookup *.sharepoint.com` leaves
    const env = envDirWith({ "mitoyo.yaml": mitoyo });
    const r = await cli("--env-dir", env, "learn", "mitoyo", "--from", alerts, resolver, "--format", "json");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.proposal).toEqual(["app.trialsaas.jp"]);
    const refused = Object.fromEntries(report.groups.flatMap((g: any) => g.refused.map((x: any) => [x.name, x.why])));
    expect(refused["*.example.jp"]).toMatch(/a wildcard/);
    expect(refused["github.io"]).toMatch(/public suffix \(Public Suffix List, private section\)/);
    expect(refused["127.1"]).toMatch(/an IP address/);
    expect(refused["contoso.sharepoint.com"]).toMatch(/another tenant: under \*\.sharepoint\.com/);
    expect(refused["contoso-my.sharepoint.com"]).toMatch(/another tenant/);
    expect(refused["*.sharepoint.com"]).toMatch(/a wildcard/);
    const homograph = report.groups.find((g: any) => g.domain === "xn--mcrosoft-thh.com");
    expect(homograph).toMatchObject({ lookalikeOf: "microsoft.com", unicode: "mіcrosoft.com" });
    expect(homograph.lookalike).toMatch(/Unicode TR39 skeleton/);

    // --write adds nothing of it to the env file, and the YAML it prints parses
    const w = await cli("--env-dir", env, "learn", "mitoyo", "--from", resolver, "--write");
    expect([w.code, w.out]).toEqual([0, expect.stringMatching(/nothing to add|No blocked name/)]);
    expect(fs.readFileSync(path.join(env, "mitoyo.yaml"), "utf8")).toBe(mitoyo);
    const y = await cli("--env-dir", env, "learn", "mitoyo", "--from", alerts, "--format", "yaml");
    expect(require("yaml").parse(y.out)).toEqual({ breakout: { extraDomains: ["app.trialsaas.jp"] } });
  });

  test("an ordinary day's Resolver log of 200,000 records is streamed (no 'Maximum call stack size exceeded'), and bad records are named by file and line", async () => {
    const file = path.join(dir, "day.log.gz");
    const lines: string[] = [];
    for (let i = 0; i < 200_000; i++) lines.push(dns(DNS_SERVER, `h${i % 5000}.busy-${i % 40}.example-cdn.jp`));
    lines.splice(1234, 0, '{"query_name": "cut.example.jp", "srcad'); // a line cut short, at line 1235
    lines.splice(4000, 0, "x".repeat(70 * 1024)); // a line far longer than any record, at line 4001
    fs.writeFileSync(file, zlib.gzipSync(lines.join("\n") + "\n"));
    const env = envDirWith({ "kaga.yaml": sampleText("kaga") });
    const r = await cli("--env-dir", env, "learn", "kaga", "--from", file);
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(r.out).toMatch(/day\.log\.gz \(resolver query log: 200000 used, 0 outside the LGWAN segments, 0 not blocked, 2 unreadable\)/);
    expect(r.out).toContain(`${file}:1235: not a JSON record`);
    expect(r.out).toContain(`${file}:4001: a line longer than 65536 bytes`);
  }, 120_000);

  test("what learn prints from a log is escaped: no control sequence, no forged table row", async () => {
    const file = path.join(dir, "forged.log");
    fs.writeFileSync(file, [alert(PC[0], "ok.trialsaas.jp", { signature: "ET MALWARE x\u001b[2J | forged | row", category: "A Network Trojan was detected" }), alert(PC[0], "bad\u0007name|x.example.jp")].join("\n") + "\n");
    const env = envDirWith({ "kaga.yaml": sampleText("kaga") });
    const { main } = require("../cli/main") as typeof import("../cli/main");
    let out = "";
    const code = await main(["node", "alpha-prime", "--env-dir", env, "learn", "kaga", "--from", file], { out: (s) => (out += s), err: (s) => (out += s) });
    expect(code).toBe(0);
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(out).toContain("x\\u001b[2J \\| forged \\| row");
    for (const row of out.split("\n").filter((l) => l.startsWith("| "))) expect(row.split(/(?<!\\)\|/).length).toBe(8);
  });
});

test("memory is bounded by the number of distinct names kept, not by the input: names beyond the bound are counted, not kept", () => {
  const { Tally, MAX_NAMES } = require("../catalog/learn") as typeof import("../catalog/learn");
  const t = new Tally();
  for (let i = 0; i < MAX_NAMES + 5; i++) t.add(`h${i}.example-cdn.jp`, "172.20.10.11", "dns");
  t.add("h0.example-cdn.jp", "172.20.10.12", "dns"); // a kept name still counts
  expect([t.names.size, t.notKept, t.names.get("h0.example-cdn.jp")!.hits]).toEqual([MAX_NAMES, 5, 2]);
});
