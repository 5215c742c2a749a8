/**
 * The diff tells the truth about loss: each class below is a fixture pair (a base and a head synthesized from
 * configs, or a synthesized stack edited the way a change of the toolkit would edit it) that the diff once misread.
 */
import * as fs from "fs";
import * as path from "path";
import { cli } from "./cli-run";
import type { MunicipalityConfig } from "../config/types";
import { diffSides, exitCodeFor, markdown, readSynthesized } from "../review/diff";
import { buildApp } from "../stacks/app";
import { loadSample, tempDir } from "./helpers";

function out(configs: MunicipalityConfig[]): string {
  const dir = path.join(tempDir(), "cdktf.out");
  buildApp(configs, { outdir: dir }).synth();
  return dir;
}

/** A copy of a synthesized output with one stack's JSON edited. */
function edited(from: string, id: string, edit: (json: any) => void): string {
  const dir = path.join(tempDir(), "cdktf.out");
  fs.cpSync(from, dir, { recursive: true });
  const file = path.join(dir, "stacks", id, "cdk.tf.json");
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
  return dir;
}

const kaga = loadSample("kaga");
const ashiya = loadSample("ashiya");
const base = out([kaga, ashiya]);
const diffOf = (head: string, id: string) => diffSides(readSynthesized(base), readSynthesized(head)).municipalities.find((m) => m.id === id)!;

describe("retention shortened anywhere is data-loss, and stops --fail-on destructive", () => {
  test("731 → 400 days: Object Lock, the log bucket's expiration (not masked by its 90-day transition), noncurrent versions, log groups, the configured value", async () => {
    const head = out([kaga, { ...ashiya, logging: { ...ashiya.logging, retentionDays: 400 } }]);
    const a = diffOf(head, "ashiya");
    const loss = a.callouts.filter((c) => c.risk === "data-loss").map((c) => `${c.address.replace(/_[0-9A-F]{8}$/, "")}: ${c.message}`);
    expect(loss).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^aws_s3_bucket_object_lock_configuration\.LogArchive_LogBucketObjectLock: RETENTION SHORTENED: Object Lock default retention 731 days → 400 days/),
        expect.stringMatching(/^aws_s3_bucket_lifecycle_configuration\.LogArchive_LogBucketLifecycle: RETENTION SHORTENED: lifecycle expiration\.days 731 days → 400 days/),
        expect.stringMatching(/^aws_s3_bucket_lifecycle_configuration\.LogArchive_LogBucketLifecycle: RETENTION SHORTENED: lifecycle noncurrent_version_expiration\.noncurrent_days 731 days → 400 days/),
        expect.stringMatching(/^aws_cloudwatch_log_group\.LogArchive_LogGroup-VpnTunnels: RETENTION SHORTENED: log retention_in_days 731 days → 400 days/),
        "logging.retentionDays: configured retention SHORTENED from 731 to 400 days",
      ]),
    );
    expect((await cli("diff", base, head, "--fail-on", "destructive")).code).toBe(1);
  });

  test("the main log bucket's expiration alone drops (its transition days stay): still data-loss", () => {
    const head = edited(base, "ashiya", (json) => {
      const [name, body] = Object.entries<any>(json.resource.aws_s3_bucket_lifecycle_configuration).find(([n]) => n.startsWith("LogArchive_LogBucketLifecycle"))!;
      const rule = body.rule.find((r: any) => r.transition);
      expect(rule.transition[0].days).toBeLessThan(400); // the transition's days are below both: a single minimum would hide the drop
      rule.expiration[0].days = 400;
      json.resource.aws_s3_bucket_lifecycle_configuration[name] = body;
    });
    const a = diffOf(head, "ashiya");
    expect(a.callouts.filter((c) => c.risk === "data-loss").map((c) => c.message)).toEqual(["RETENTION SHORTENED: lifecycle expiration.days 731 days → 400 days: records older than 400 days are deleted"]);
    expect(exitCodeFor({ base: "b", head: "h", municipalities: [a] }, "destructive")).toBe(1);
  });

  test("a longer retention is not a loss", () => {
    const head = out([kaga, { ...ashiya, logging: { ...ashiya.logging, retentionDays: 1096 } }]);
    expect(diffOf(head, "ashiya").callouts.filter((c) => c.risk === "data-loss")).toEqual([]);
  });
});

describe("a site's VPN torn down is an outage naming the site and its tunnels", () => {
  test("a connection replaced (static routes) is an outage at that site, and destructive", () => {
    const head = edited(base, "kaga", (json) => {
      const [name] = Object.keys(json.resource.aws_vpn_connection).filter((n) => n.includes("honcho"));
      json.resource.aws_vpn_connection[name].static_routes_only = true;
    });
    const k = diffOf(head, "kaga");
    const outage = k.callouts.filter((c) => c.risk === "outage");
    expect(outage.map((c) => c.message)).toEqual([
      "OUTAGE at site honcho (198.51.100.20): VPN connection REPLACED (static_routes_only): its 2 tunnel(s) go down; the new connection has new tunnel outside addresses and pre-shared keys, so the site's router must be reconfigured before traffic flows again",
    ]);
    expect(exitCodeFor({ base: "b", head: "h", municipalities: [k] }, "destructive")).toBe(1);
  });

  test("a site's public IP changes: its customer gateway is replaced and the connection moved to it", () => {
    const head = out([{ ...kaga, sites: kaga.sites.map((s) => (s.name === "yamanaka" ? { ...s, publicIp: "198.51.100.99" } : s)) }, ashiya]);
    const messages = diffOf(head, "kaga").callouts.filter((c) => c.risk === "outage").map((c) => c.message);
    expect(messages).toEqual([
      'OUTAGE at site yamanaka (198.51.100.21): its customer gateway is REPLACED (ip_address "198.51.100.21" → "198.51.100.99"): the tunnels end at the router of 198.51.100.99 from now on',
      "OUTAGE at site yamanaka (198.51.100.21): VPN connection moved to another customer_gateway_id: its 2 tunnel(s) are unavailable while AWS provisions the new endpoints",
    ]);
  });

  test("two sites renamed at once pair by public IP, each connection destroyed and created again is that site's outage", () => {
    const renamed = { ...kaga, sites: kaga.sites.map((s) => ({ ...s, name: s.name === "honcho" ? "zhonbu" : "abranch" })) };
    const k = diffOf(out([renamed, ashiya]), "kaga");
    const renames = k.resources.filter((r) => r.action === "rename").map((r) => [r.from!.replace(/_[0-9A-F]{8}$/, ""), r.address.replace(/_[0-9A-F]{8}$/, "")]);
    // honcho (…20) became zhonbu, yamanaka (…21) became abranch: never honcho → abranch because "abranch" sorts first
    expect(renames).toEqual(
      expect.arrayContaining([
        ["aws_customer_gateway.Vpn_Site-honcho-CustomerGateway", "aws_customer_gateway.Vpn_Site-zhonbu-CustomerGateway"],
        ["aws_customer_gateway.Vpn_Site-yamanaka-CustomerGateway", "aws_customer_gateway.Vpn_Site-abranch-CustomerGateway"],
        ["aws_vpn_connection.Vpn_Site-honcho-Vpn0", "aws_vpn_connection.Vpn_Site-zhonbu-Vpn0"],
        ["aws_vpn_connection.Vpn_Site-yamanaka-Vpn0", "aws_vpn_connection.Vpn_Site-abranch-Vpn0"],
      ]),
    );
    for (const [from, to] of renames) expect([from, to.includes("zhonbu") ? "honcho" : to.includes("abranch") ? "yamanaka" : "?"]).toEqual([from, from.includes("honcho") ? "honcho" : from.includes("yamanaka") ? "yamanaka" : "?"]);
    const outage = k.callouts.filter((c) => c.risk === "outage" && c.address.startsWith("aws_vpn_connection")).map((c) => c.message);
    expect(outage).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^OUTAGE at site honcho \(198\.51\.100\.20\): VPN connection DESTROYED and created again under a new address \(was aws_vpn_connection\.Vpn_Site-honcho-Vpn0_\w+\): its 2 tunnel\(s\) go down/),
        expect.stringMatching(/^OUTAGE at site yamanaka \(198\.51\.100\.21\): VPN connection DESTROYED and created again/),
      ]),
    );
  });
});

describe("the provider and terraform blocks are seen", () => {
  test("a region move is the whole stack: one data-loss call-out, every resource replaced", () => {
    const moved = { ...kaga, aws: { ...kaga.aws, region: "ap-northeast-3" as const, availabilityZones: ["ap-northeast-3a", "ap-northeast-3b"] } };
    const k = diffOf(out([moved, ashiya]), "kaga");
    expect(k.callouts.filter((c) => c.address === "provider.aws.region").map((c) => c.message)).toEqual([
      expect.stringMatching(/^the WHOLE STACK moves region ap-northeast-1 → ap-northeast-3: Terraform creates all \d+ resources anew in ap-northeast-3/),
    ]);
    const kept = k.resources.filter((r) => r.action !== "create" && r.action !== "delete");
    expect(kept.length).toBeGreaterThan(100);
    expect(kept.every((r) => r.action === "replace" || r.action === "rename")).toBe(true);
  });

  test("a provider version change is its own call-out (it was 'No municipality changes')", async () => {
    const head = edited(base, "kaga", (json) => (json.terraform.required_providers.aws.version = "5.101.0"));
    const k = diffOf(head, "kaga");
    expect(k.status).toBe("changed");
    expect(k.callouts).toEqual([{ risk: "platform", address: "terraform.required_providers", message: expect.stringMatching(/^provider requirement changes: aws aws 5\.100\.0 → aws aws 5\.101\.0/) }]);
    const r = await cli("diff", base, head, "--fail-on", "security");
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/No municipality changes/);
  });

  test("a default_tags change is its own call-out naming the tag", () => {
    const head = edited(base, "kaga", (json) => (json.provider.aws[0].default_tags[0].tags.CostCenter = "情報政策課"));
    expect(diffOf(head, "kaga").callouts).toEqual([{ risk: "platform", address: "provider.aws.default_tags", message: expect.stringMatching(/^default tags change \(CostCenter: added\): every tagged resource \(\d+\) is updated in place \(tags_all\)$/) }]);
  });

  test("any other provider or terraform setting is named by path", () => {
    const head = edited(base, "kaga", (json) => {
      json.terraform.required_version = ">= 1.10";
      json.provider.aws[0].max_retries = 5;
    });
    expect(diffOf(head, "kaga").callouts.map((c) => c.message)).toEqual([expect.stringMatching(/settings of the provider or terraform block change: provider\.aws\.0\.max_retries, terraform\.required_version/)]);
  });
});

test("every call-out class reaches the Markdown", () => {
  const head = edited(base, "kaga", (json) => {
    json.terraform.required_providers.aws.version = "5.101.0";
    const [name] = Object.keys(json.resource.aws_vpn_connection);
    json.resource.aws_vpn_connection[name].static_routes_only = true;
  });
  const md = markdown(diffSides(readSynthesized(base), readSynthesized(head)));
  expect(md).toMatch(/OUTAGE at site/);
  expect(md).toMatch(/provider requirement changes/);
});
