import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { marked } from "marked";
import { main } from "../cli/main";
import { REPO_ROOT } from "../core/paths";
import type { MunicipalityConfig } from "../config/types";
import { diffSides, markdown, readGitRef, readSynthesized } from "../review/diff";
import { buildApp } from "../stacks/app";
import { loadSample, SAMPLE_IDS, tempDir } from "./helpers";

/** Synthesizes configs into a fresh cdktf.out (with manifest), like `alpha-prime synth`. */
function out(configs: MunicipalityConfig[]): string {
  const dir = path.join(tempDir(), "cdktf.out");
  buildApp(configs, { outdir: dir }).synth();
  return dir;
}

async function cli(...args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(["node", "alpha-prime", ...args], { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

const kaga = loadSample("kaga");
const ashiya = loadSample("ashiya");
const mitoyo = loadSample("mitoyo");
const base = out([kaga, ashiya, mitoyo]);

describe("alpha-prime diff on real synthesized outputs", () => {
  test("no change: an empty diff, exit 0 even with --fail-on security", async () => {
    const r = await cli("diff", base, out([kaga, ashiya, mitoyo]), "--fail-on", "security");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/No municipality changes \(3 compared\)\./);
  });

  test("a tier change only adds resources (and raises alarm thresholds and the proxy's instance type in place): no data-loss risk", async () => {
    const head = out([{ ...kaga, bandwidthTier: "2g" }, ashiya, mitoyo]);
    const report = diffSides(readSynthesized(base), readSynthesized(head));
    const k = report.municipalities.find((m) => m.id === "kaga")!;
    expect(k.status).toBe("changed");
    expect(k.resources.filter((r) => r.action === "delete" || r.action === "replace" || r.action === "rename")).toEqual([]);
    expect(k.resources.filter((r) => r.action === "create").map((r) => r.type)).toEqual(expect.arrayContaining(["aws_vpn_connection", "aws_cloudwatch_metric_alarm"]));
    // a larger proxy instance is a new launch template version, rolled out by the instance refresh; its Squid
    // workers follow the instance type, so the squid.conf and user data published in the config bucket change too
    expect(new Set(k.resources.filter((r) => r.action === "update").map((r) => r.type))).toEqual(new Set(["aws_cloudwatch_metric_alarm", "aws_launch_template", "aws_s3_object"]));
    expect(k.callouts.filter((c) => c.risk === "data-loss")).toEqual([]);
    expect(report.municipalities.filter((m) => m.status !== "unchanged").map((m) => m.id)).toEqual(["kaga"]);
    // the others are named as unchanged, so the reviewer sees they were compared
    expect(markdown(report)).toContain("Unchanged (no resource added, changed, replaced or removed): ashiya, mitoyo.");
    expect((await cli("diff", base, head, "--fail-on", "destructive")).code).toBe(0);
  });

  test("moving a deployed address plan (/22 to /23) shows the VPC, its subnets and everything that lives in them REPLACED, and stops a destructive gate", async () => {
    const head = out([kaga, ashiya, { ...mitoyo, network: { ...mitoyo.network, breakoutCidr: "10.64.0.0/23" } }]);
    const m = diffSides(readSynthesized(base), readSynthesized(head)).municipalities.find((x) => x.id === "mitoyo")!;
    const replaced = m.resources.filter((r) => r.action === "replace").map((r) => r.type);
    expect(replaced.filter((t) => t === "aws_vpc")).toHaveLength(1);
    // including the private subnets, whose CIDRs stay: their VPC is new (ten, and the relay's own two)
    expect(replaced.filter((t) => t === "aws_subnet")).toHaveLength(12);
    expect(replaced.filter((t) => t === "aws_nat_gateway")).toHaveLength(2);
    // and the route tables of the new VPC with every route in them
    expect(replaced.filter((t) => t === "aws_route_table")).toHaveLength(12);
    expect(replaced.filter((t) => t === "aws_route")).toHaveLength(34); // one return route per workload subnet and zone among them
    // what lives in the VPC follows it (each argument proven replacing by test/replacing-arguments.test.ts)
    expect(new Set(replaced)).toEqual(
      new Set([
        "aws_vpc", "aws_subnet", "aws_nat_gateway", "aws_route_table", "aws_route", "aws_route_table_association", "aws_default_security_group", "aws_flow_log",
        "aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule", "aws_vpc_endpoint",
        "aws_networkfirewall_firewall", "aws_networkfirewall_logging_configuration",
        "aws_ec2_transit_gateway_vpc_attachment", "aws_ec2_transit_gateway_route_table_association",
        "aws_ec2_client_vpn_network_association", "aws_ec2_client_vpn_route", "aws_ec2_client_vpn_authorization_rule",
        "aws_route53_resolver_endpoint", "aws_route53_resolver_firewall_config", "aws_route53_resolver_firewall_rule_group_association", "aws_route53_resolver_query_log_config_association",
        "aws_lb", "aws_lb_listener", "aws_lb_target_group",
      ]),
    );
    // never the log archive: its buckets, keys and log groups are outside the address plan
    expect(replaced.filter((t) => t.startsWith("aws_s3_") || t === "aws_kms_key" || t === "aws_cloudwatch_log_group" || t === "aws_eip")).toEqual([]);
    const plan = m.callouts.filter((c) => c.address === "address plan");
    expect(plan).toEqual([
      {
        risk: "data-loss",
        address: "address plan",
        message: expect.stringMatching(/^the address plan of a deployed network MOVES: aws_vpc\.Breakout_Vpc_\w+ 10\.64\.0\.0\/22 → 10\.64\.0\.0\/23; 12 subnet\(s\) will be REPLACED \(.*\), and with them \d+ resource\(s\) that hang on them \(.*1 aws_ec2_transit_gateway_vpc_attachment, .*2 aws_nat_gateway, 1 aws_networkfirewall_firewall, /),
      },
    ]);
    expect((await cli("diff", base, head, "--fail-on", "destructive")).code).toBe(1);
  });

  test("adding a zone adds subnets and moves none: no address-plan call-out", () => {
    const head = out([kaga, { ...ashiya, aws: { ...ashiya.aws, availabilityZones: ashiya.aws.availabilityZones.slice(0, 2) } }, mitoyo]);
    // read backwards: the head has two zones, the base three; swap to read "adding the third zone"
    const a = diffSides(readSynthesized(head), readSynthesized(base)).municipalities.find((x) => x.id === "ashiya")!;
    expect(a.resources.filter((r) => r.action === "replace" && (r.type === "aws_subnet" || r.type === "aws_vpc"))).toEqual([]);
    expect(a.resources.filter((r) => r.action === "create" && r.type === "aws_subnet").length).toBeGreaterThanOrEqual(4);
    expect(a.callouts.filter((c) => c.address === "address plan")).toEqual([]);
  });

  test("a SaaS added to the selection is flagged as an allowlist change", async () => {
    const head = out([{ ...kaga, breakout: { ...kaga.breakout, saas: [...kaga.breakout.saas, "box"] } }, ashiya, mitoyo]);
    const r = await cli("diff", base, head, "--format", "json", "--fail-on", "security");
    expect(r.code).toBe(1);
    const k = JSON.parse(r.stdout).municipalities.find((m: any) => m.id === "kaga");
    expect(k.callouts).toEqual(expect.arrayContaining([{ risk: "security", address: "allowlist", message: "domains ADDED to the breakout allowlist: .box.com .box.net .boxcdn.net .boxcloud.com" }]));
  });

  test("a shortened retention is data-loss (records are deleted sooner), and the changed resources are still listed for security", async () => {
    const head = out([kaga, { ...ashiya, logging: { ...ashiya.logging, retentionDays: 365 } }, mitoyo]);
    const report = diffSides(readSynthesized(base), readSynthesized(head));
    const a = report.municipalities.find((m) => m.id === "ashiya")!;
    const loss = a.callouts.filter((c) => c.risk === "data-loss").map((c) => c.message).join("\n");
    expect(loss).toMatch(/configured retention SHORTENED from 731 to 365 days/);
    expect(loss).toMatch(/RETENTION SHORTENED: log retention_in_days 731 days → 365 days/);
    expect(loss).toMatch(/RETENTION SHORTENED: Object Lock default retention 731 days → 365 days/);
    expect(a.callouts.filter((c) => c.risk === "security").map((c) => c.message)).toEqual(expect.arrayContaining(["log group changed: retention_in_days"]));
    expect((await cli("diff", base, head, "--fail-on", "destructive")).code).toBe(1);
  });

  test("a renamed log-archive construct is a loud data-loss risk, and --fail-on destructive fails", async () => {
    // What renaming the LogArchive construct does to the synthesized stack: every address under it changes
    // (cdktf derives names from construct paths), and every reference to them follows.
    const head = path.join(tempDir(), "cdktf.out");
    fs.cpSync(base, head, { recursive: true });
    const file = path.join(head, "stacks", "mitoyo", "cdk.tf.json");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/LogArchive_([A-Za-z0-9-]+?)_[0-9A-F]{8}/g, "Archive_$1_0BADC0DE"));
    const r = await cli("diff", base, head, "--fail-on", "destructive");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/### 🛑 Data loss — 1 municipality\n\n- 🛑 \*\*mitoyo\*\*: `aws_/); // itemized, first
    for (const type of ["aws_s3_bucket", "aws_kms_key", "aws_cloudwatch_log_group"]) {
      expect(r.stdout).toMatch(new RegExp(`🛑 \`${type}\\.Archive_[^\`]+\`: address changed from ${type}\\.LogArchive_[^:]+: Terraform will DESTROY the existing ${type}`));
    }
  });

  test("the Markdown renders: risks first, a table of changes by kind, one folded section per changed municipality", () => {
    const head = out([{ ...kaga, bandwidthTier: "2g" }, { ...ashiya, logging: { ...ashiya.logging, retentionDays: 365 } }, mitoyo]);
    const md = markdown(diffSides(readSynthesized(base), readSynthesized(head)));
    const html = marked.parse(md, { async: false }) as string;
    const tables = html.match(/<table>[\s\S]*?<\/table>/g) ?? [];
    expect([...tables[0]!.matchAll(/<th>(.*?)<\/th>/g)].map((m) => m[1])).toEqual(["change", "municipalities"]);
    expect([...md.matchAll(/<details><summary><b>(.*?)<\/b>/g)].map((m) => m[1])).toEqual(["ashiya", "kaga"]); // the data-loss risk first
    expect(md.indexOf("### 🛑 Data loss")).toBeLessThan(md.indexOf("### Changes by kind"));
    expect(md.indexOf("### Changes by kind")).toBeLessThan(md.indexOf("### Each municipality"));
  });
});

describe("git-ref mode", () => {
  const isRepo = spawnSync("git", ["rev-parse", "--verify", "HEAD"], { cwd: REPO_ROOT }).status === 0;
  (isRepo ? test : test.skip)("synthesizes a ref in a temporary worktree: HEAD against itself shows no change, and leaves no worktree (nor one of a killed run)", () => {
    // other worktrees (a developer's own, another run's) are not ours to judge: only this process's temporary ones
    // and the abandoned one must be gone afterwards
    const ours = (p: string) => p.startsWith(path.join(fs.realpathSync(os.tmpdir()), `alpha-prime-diff-${process.pid}-`)) || p.includes("alpha-prime-diff-99999999-");
    const worktrees = () =>
      spawnSync("git", ["worktree", "list", "--porcelain"], { cwd: REPO_ROOT, encoding: "utf8" })
        .stdout.split("\n")
        .filter((l) => l.startsWith("worktree "))
        .map((l) => l.slice("worktree ".length));
    // what a diff killed before its clean-up leaves: a worktree under a temp dir named for a process that is gone
    const abandoned = fs.mkdtempSync(path.join(os.tmpdir(), "alpha-prime-diff-99999999-"));
    spawnSync("git", ["worktree", "add", "--detach", path.join(abandoned, "worktree"), "HEAD"], { cwd: REPO_ROOT });
    const head = readGitRef("HEAD");
    expect(fs.existsSync(abandoned)).toBe(false);
    expect([...head.stacks.keys()].sort()).toEqual([...SAMPLE_IDS].sort());
    const report = diffSides(head, readGitRef("HEAD"));
    expect(report.municipalities.every((m) => m.status === "unchanged")).toBe(true);
    expect(worktrees().filter(ours)).toEqual([]);
  });

  test("fails clearly for something that is neither a directory nor a ref", async () => {
    const r = await cli("diff", "no-such-ref-or-dir", base);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'no-such-ref-or-dir' is neither a synthesized output directory nor a git commit/);
  });
});
