/**
 * The reviewer's diff: what a change does to each municipality, with what weakens security and what could lose
 * data called out, from synthesized outputs (cdktf.out), offline plan JSON, or git refs.
 *
 * Reviewers approve networks that carry residents' data: the one line that matters — a domain added to the
 * allowlist, a retention shortened, a log bucket about to be replaced — must not drown in a JSON diff.
 */
import * as path from "path";
import { REPO_ROOT } from "../core/paths";
import { fromTerraformLiteralDeep } from "../constructs/terraform-text";
import { readPlanJson, readSynthesizedStacks } from "../policy/synthesized";
import { outageCallouts, pairRenames, retentionCallouts, settingsCallouts, StackSettings } from "./loss";
import { ADDRESS_PLAN_TYPES, FORCES_REPLACEMENT } from "./replacing-arguments";
import { tenantScopeCallouts } from "./tenant-scope";
import { fileCoverageCallouts } from "./file-coverage";
import { firewallWidthCallouts } from "./firewall-width";

/**
 * What a reviewer must weigh, most severe first: records lost (data-loss), a site cut off (outage), the baseline
 * weakened (security), the provider or terraform settings under every resource changed (platform).
 */
export type Risk = "data-loss" | "outage" | "security" | "platform";

export interface AttributeChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly action: "create" | "delete" | "update" | "replace" | "rename";
  /** for renames: the old address */
  readonly from?: string;
  readonly changes: AttributeChange[];
}

export interface Callout {
  readonly risk: Risk;
  readonly address: string;
  readonly message: string;
}

export interface MunicipalityDiff {
  readonly id: string;
  /** AWS account (for deploy matrices), when known */
  readonly accountId?: string;
  readonly status: "added" | "removed" | "changed" | "unchanged";
  readonly resources: ResourceChange[];
  readonly callouts: Callout[];
  /** the network diagram after the change (Mermaid), when the change alters the topology */
  readonly diagram?: string;
  /** allowlist names added and removed (for "+1 domain `zoomgov.com` in 1,397 municipalities") */
  readonly domainsAdded?: string[];
  readonly domainsRemoved?: string[];
}

export interface DiffReport {
  readonly base: string;
  readonly head: string;
  readonly municipalities: MunicipalityDiff[];
  /** municipalities not synthesized because their inputs are the same on both sides (review/revisions.ts) */
  readonly skipped?: { readonly count: number; readonly note: string };
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs: a synthesized directory, a plan JSON, or a git ref.

/** One side of a diff: per municipality, resources by address with their values, and what the stack declares. */
export interface Side {
  readonly label: string;
  readonly stacks: Map<string, StackSnapshot>;
}

export interface StackSnapshot {
  readonly resources: Map<string, Record<string, any>>;
  readonly locals: Record<string, any>;
  readonly backend: Record<string, any>;
  readonly accountId?: string;
  /** from a plan: addresses Terraform will replace or delete (actions), keyed by address */
  readonly plannedActions?: Map<string, string[]>;
  /** text Terraform or a PC would run that alpha-prime did not write (AP-TF-001, AP-PAC-001), from synthesized JSON; computed on first use */
  readonly hazards?: () => { address: string; message: string }[];
  /** the network's topology as `graph` draws it, from synthesized JSON */
  readonly topology?: import("../cli/graph").Topology;
  /** the provider and terraform blocks (region, account, provider version, default tags), from synthesized JSON */
  readonly settings?: StackSettings;
}

function stripMetadata(value: any): any {
  if (Array.isArray(value)) return value.map(stripMetadata);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).filter(([k]) => k !== "//").map(([k, v]) => [k, stripMetadata(v)]));
  return value;
}

export function snapshotOfStack(json: any): StackSnapshot {
  const resources = new Map<string, Record<string, any>>();
  for (const [type, byName] of Object.entries<any>(json.resource ?? {})) {
    for (const [name, body] of Object.entries<any>(byName)) resources.set(`${type}.${name}`, stripMetadata(body));
  }
  const settings: StackSettings = { provider: json.provider ?? {}, terraform: Object.fromEntries(Object.entries<any>(json.terraform ?? {}).filter(([k]) => k !== "backend")) };
  return { resources, locals: json.locals ?? {}, backend: json.terraform?.backend ?? {}, accountId: json.provider?.aws?.[0]?.allowed_account_ids?.[0], hazards: once(() => executableTextIn(json)), topology: topologyOf(json), settings };
}

/** Computed when first asked for: only the head of a diff is checked for executable text. */
function once<T>(compute: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: compute() }).v;
}

function topologyOf(json: any): import("../cli/graph").Topology {
  const { topologyOf: of } = require("../cli/graph") as typeof import("../cli/graph");
  return of(String(json.locals?.alpha_prime?.municipality ?? ""), json);
}

/** The findings of the two rules about text that would run: an unescaped interpolation, foreign code in the PAC file. */
function executableTextIn(json: any): { address: string; message: string }[] {
  const { StackModel } = require("../policy/model") as typeof import("../policy/model");
  const { noTemplateInjection } = require("../policy/rules/no-template-injection") as typeof import("../policy/rules/no-template-injection");
  const { pacGeneratedCodeOnly } = require("../policy/rules/pac-generated-code-only") as typeof import("../policy/rules/pac-generated-code-only");
  const model = new StackModel("diff", json);
  return [noTemplateInjection, pacGeneratedCodeOnly].flatMap((r) => r.check(model).map((v) => ({ address: v.address, message: `${r.id}: ${v.message}` })));
}

export function readSynthesized(dir: string, label = dir, only?: ReadonlySet<string>): Side {
  const stacks = new Map<string, StackSnapshot>();
  for (const s of readSynthesizedStacks(dir, only)) stacks.set(s.id, snapshotOfStack(s.json));
  return { label, stacks };
}

/** A `terraform show -json` plan of one stack: its prior state is the base, its planned values the head. */
export function readPlan(file: string, id = path.basename(path.dirname(path.resolve(file)))): { base: Side; head: Side } {
  const plan = readPlanJson(file);
  const before = new Map<string, Record<string, any>>();
  const after = new Map<string, Record<string, any>>();
  const actions = new Map<string, string[]>();
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode !== "managed") continue;
    if (rc.change?.before) before.set(rc.address, rc.change.before);
    if (rc.change?.after) after.set(rc.address, rc.change.after);
    actions.set(rc.address, rc.change?.actions ?? []);
  }
  const snap = (resources: Map<string, Record<string, any>>): StackSnapshot => ({ resources, locals: {}, backend: {}, plannedActions: actions });
  return { base: { label: `${file} (prior state)`, stacks: new Map([[id, snap(before)]]) }, head: { label: `${file} (planned)`, stacks: new Map([[id, snap(after)]]) } };
}

/**
 * Synthesizes every municipality of a git ref and reads its output: with this build when the ref's toolkit sources
 * are the ones it was compiled from, else in a temporary worktree compiled there (review/revisions.ts, which also
 * selects, for `diff <base> <head>`, only the municipalities whose inputs differ).
 */
export function readGitRef(ref: string, repo = REPO_ROOT): Side {
  const r = require("./revisions") as typeof import("./revisions");
  const scratch = new r.Scratch(repo);
  try {
    const view = r.commitView(ref, { repo });
    const out = scratch.dir("out");
    r.synthesizeRevision(view, [...view.env.keys()], out, scratch, new r.Builds(scratch, repo));
    return readSynthesized(out, view.label);
  } finally {
    scratch.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Comparing.

/** Resources whose loss loses data or locks the municipality out. */
const PROTECTED_TYPES = new Set(["aws_s3_bucket", "aws_kms_key", "aws_cloudwatch_log_group", "aws_s3_bucket_object_lock_configuration", "aws_eip"]);

/**
 * Resources Terraform replaces because a replaced resource they point at in a replacing argument gets a new id
 * (a subnet of a replaced VPC, the NAT gateway of a replaced subnet), to a fixed point.
 */
function cascadeReplacements(replaced: Set<string>, head: Map<string, Record<string, any>>, inBoth: (a: string) => boolean): Set<string> {
  const out = new Set(replaced);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [address, body] of head) {
      if (out.has(address) || !inBoth(address)) continue;
      // a reference may sit inside a block (a subnet mapping), so each argument is searched as JSON text
      const refs = (FORCES_REPLACEMENT[typeOf(address)] ?? []).filter((k) => body[k] !== undefined).map((k) => JSON.stringify(body[k]));
      if (refs.some((v) => [...out].some((r) => v.includes(`\${${r}.`)))) {
        out.add(address);
        grew = true;
      }
    }
  }
  return out;
}

/** "2 aws_nat_gateway, 8 aws_security_group, …": what a moved address plan replaces besides the VPC and subnets. */
function dragged(replaced: ReadonlySet<string>): string {
  const counts = new Map<string, number>();
  for (const a of replaced) if (!ADDRESS_PLAN_TYPES.has(typeOf(a))) counts.set(typeOf(a), (counts.get(typeOf(a)) ?? 0) + 1);
  const total = [...counts.values()].reduce((n, c) => n + c, 0);
  if (!total) return "nothing that hangs on them";
  return `${total} resource(s) that hang on them (${[...counts].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `${n} ${t}`).join(", ")})`;
}

/** Which resource types' changes a reviewer must look at for security. */
const SECURITY_TYPES: Record<string, string> = {
  aws_security_group: "security group",
  aws_security_group_rule: "security group rule",
  aws_vpc_security_group_ingress_rule: "security group ingress",
  aws_vpc_security_group_egress_rule: "security group egress",
  aws_vpn_connection: "VPN connection",
  aws_networkfirewall_firewall_policy: "firewall policy",
  aws_networkfirewall_rule_group: "firewall rule group",
  aws_networkfirewall_firewall: "firewall",
  aws_route53_resolver_firewall_domain_list: "DNS firewall list",
  aws_route53_resolver_firewall_rule: "DNS firewall rule",
  aws_s3_bucket_public_access_block: "public access block",
  aws_s3_bucket_policy: "bucket policy",
  aws_s3_bucket_server_side_encryption_configuration: "bucket encryption",
  aws_s3_bucket_lifecycle_configuration: "log retention (lifecycle)",
  aws_s3_bucket_object_lock_configuration: "Object Lock",
  aws_kms_key: "KMS key",
  aws_cloudwatch_log_group: "log group",
  aws_ec2_client_vpn_endpoint: "Client VPN endpoint",
  aws_ec2_client_vpn_authorization_rule: "Client VPN authorization",
  aws_launch_template: "launch template",
  aws_subnet: "subnet",
  aws_sns_topic: "notification topic",
  aws_iam_role_policy: "IAM policy",
  aws_iam_role_policy_attachment: "IAM policy attachment",
};

/** Values that are JSON documents (policies) are compared parsed, so one changed statement shows as one change. */
function comparable(value: unknown): unknown {
  if (typeof value === "string" && /^\s*[{[]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

function isLeaf(v: unknown): boolean {
  return v === null || typeof v !== "object" || (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object"));
}

export function attributeChanges(before: unknown, after: unknown, prefix = ""): AttributeChange[] {
  const a = comparable(before);
  const b = comparable(after);
  if (isLeaf(a) || isLeaf(b) || Array.isArray(a) !== Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path: prefix || "(value)", before: a, after: b }];
  }
  const keys = Array.isArray(a) ? [...Array(Math.max(a.length, (b as unknown[]).length)).keys()].map(String) : [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
  return keys.flatMap((k) => attributeChanges((a as any)[k], (b as any)[k], prefix ? `${prefix}.${k}` : k));
}

function typeOf(address: string): string {
  return address.split(".")[0];
}

/** Allowlist targets of a snapshot (firewall domain lists), for the domain call-outs. */
function allowlist(s: StackSnapshot | undefined): Set<string> {
  const out = new Set<string>();
  for (const [address, body] of s?.resources ?? []) {
    if (typeOf(address) !== "aws_networkfirewall_rule_group") continue;
    for (const t of body.rule_group?.rules_source?.rules_source_list?.targets ?? body.rule_group?.[0]?.rules_source?.[0]?.rules_source_list?.[0]?.targets ?? []) out.add(t);
  }
  return out;
}

/**
 * テナント制限 changes, from what each stack declares (locals.alpha_prime.tenant_restriction): a mechanism waived
 * or dropped, a tenant value or header changed, a name no longer forced through the proxy.
 */
function tenantCallouts(base: StackSnapshot | undefined, head: StackSnapshot | undefined): Callout[] {
  if (!base || !head) return [];
  // the context as the municipality wrote it: the stack escaped it for Terraform ("$${" for "${")
  const tr = (s: StackSnapshot) => fromTerraformLiteralDeep(s.locals?.alpha_prime?.tenant_restriction ?? { services: [], proxy_only_domains: [], headers: [] });
  const b = tr(base);
  const h = tr(head);
  const out: Callout[] = [];
  const status = (x: any) => new Map<string, any>((x.services ?? []).map((s: any) => [s.saas, s]));
  const sb = status(b);
  for (const [saas, now] of status(h)) {
    const was = sb.get(saas);
    if (was?.status === now.status && was?.reason === now.reason) continue;
    if (now.status === "waived") out.push({ risk: "security", address: `tenants.${saas}`, message: `tenant restriction of ${saas} WAIVED (${was ? `was ${was.status}` : "new service"}): ${now.reason}` });
    else if (now.status === "missing") out.push({ risk: "security", address: `tenants.${saas}`, message: `tenant restriction of ${saas} is MISSING` });
    else if (was && was.status !== now.status) out.push({ risk: "security", address: `tenants.${saas}`, message: `tenant restriction of ${saas}: ${was.status} → ${now.status}` });
  }
  const headerKey = (x: any) => `${x.saas} ${x.name} on ${[...x.hosts].sort().join(" ")}`;
  const hb = new Map<string, string>((b.headers ?? []).map((x: any) => [headerKey(x), x.value]));
  const hh = new Map<string, string>((h.headers ?? []).map((x: any) => [headerKey(x), x.value]));
  for (const [k, v] of hh) {
    if (!hb.has(k)) out.push({ risk: "security", address: "tenants.headers", message: `tenant header added: ${k} = ${v}` });
    else if (hb.get(k) !== v) out.push({ risk: "security", address: "tenants.headers", message: `tenant header value CHANGED: ${k}: ${hb.get(k)} → ${v}` });
  }
  for (const k of hb.keys()) if (!hh.has(k)) out.push({ risk: "security", address: "tenants.headers", message: `tenant header REMOVED: ${k}` });
  const freed = (b.proxy_only_domains ?? []).filter((d: string) => !(h.proxy_only_domains ?? []).includes(d));
  if (freed.length) out.push({ risk: "security", address: "tenants.proxy", message: `no longer forced through the tenant-restriction proxy: ${freed.join(" ")}` });
  // 無害化
  const sb2 = b.sanitization;
  const sh = h.sanitization;
  if (sb2 && !sh) out.push({ risk: "security", address: "sanitization", message: `file sanitization TURNED OFF (was ${sb2.engine} for ${sb2.services.join(", ")})` });
  if (sb2 && sh) {
    const dropped = sb2.services.filter((x: string) => !sh.services.includes(x));
    if (dropped.length) out.push({ risk: "security", address: "sanitization", message: `file sanitization turned off for ${dropped.join(", ")}` });
    if (sb2.engine !== sh.engine) out.push({ risk: "security", address: "sanitization", message: `sanitization engine CHANGED: ${sb2.engine} → ${sh.engine}` });
    if (sb2.larger_files !== sh.larger_files || sb2.max_file_size_mb !== sh.max_file_size_mb) {
      out.push({ risk: "security", address: "sanitization", message: `files above the limit: ${sb2.larger_files} over ${sb2.max_file_size_mb} MB → ${sh.larger_files} over ${sh.max_file_size_mb} MB${sh.larger_files_reason ? ` (${sh.larger_files_reason})` : ""}` });
    }
  }
  if (!sb2 && sh) out.push({ risk: "security", address: "sanitization", message: `file sanitization turned on: ${sh.engine} for ${sh.services.join(", ")}` });
  return out;
}

export function compareStacks(id: string, base: StackSnapshot | undefined, head: StackSnapshot | undefined): MunicipalityDiff {
  const resources: ResourceChange[] = [];
  const callouts: Callout[] = [];
  const b = base?.resources ?? new Map();
  const h = head?.resources ?? new Map();
  const removed = [...b.keys()].filter((a) => !h.has(a));
  const added = [...h.keys()].filter((a) => !b.has(a));

  // Renames: a removed and an added resource that are one thing under a new address (review/loss.ts pairs them by
  // the config's own identities: a site's name and public IP). Terraform reads this as destroy-and-create (no
  // `moved` block), so the old object, and for buckets and keys its data, is gone.
  const renamedTo = pairRenames(removed, added, b, h);
  for (const [from, to] of renamedTo) {
    resources.push({ address: to, type: typeOf(to), action: "rename", from, changes: [] });
    if (PROTECTED_TYPES.has(typeOf(to))) callouts.push({ risk: "data-loss", address: to, message: `address changed from ${from}: Terraform will DESTROY the existing ${typeOf(to)} and create a new one (add a moved block, or keep the construct id)` });
  }
  const renamedAddresses = new Set(renamedTo.values());
  for (const a of added.filter((x) => !renamedAddresses.has(x))) resources.push({ address: a, type: typeOf(a), action: "create", changes: [] });
  for (const r of removed.filter((x) => !renamedTo.has(x))) {
    resources.push({ address: r, type: typeOf(r), action: "delete", changes: [] });
    if (PROTECTED_TYPES.has(typeOf(r))) callouts.push({ risk: "data-loss", address: r, message: `${typeOf(r)} is REMOVED: its data (logs, keys, fixed addresses) would be destroyed` });
  }
  const kept = [...h.keys()].filter((x) => b.has(x));
  const changesOf = new Map(kept.map((a) => [a, attributeChanges(b.get(a), h.get(a))]));
  const replacing = (a: string) => {
    const planned = head?.plannedActions?.get(a);
    return planned ? planned.includes("delete") && planned.includes("create") : changesOf.get(a)!.some((c) => (FORCES_REPLACEMENT[typeOf(a)] ?? []).includes(c.path.split(".")[0]));
  };
  const direct = new Set(kept.filter(replacing));
  // with a plan, Terraform already said what it replaces; without one, what hangs on a replaced resource follows it
  const replaced = head?.plannedActions ? direct : cascadeReplacements(direct, h, (a) => b.has(a));
  // a region or account move takes every resource with it, whatever its arguments say
  const settings = settingsCallouts(base?.settings, head?.settings, h.size);
  const wholeStack = settings.some((c) => c.address === "provider.aws.region" || c.address === "provider.aws.allowed_account_ids");
  if (wholeStack) for (const a of kept) replaced.add(a);
  for (const a of kept) {
    const changes = changesOf.get(a)!;
    const replaces = replaced.has(a);
    if (!changes.length && !replaces) continue;
    resources.push({ address: a, type: typeOf(a), action: replaces ? "replace" : "update", changes });
    const why = changes.map((c) => c.path).join(", ") || (direct.has(a) ? "forced by the plan" : "what it is attached to is replaced");
    if (replaces && PROTECTED_TYPES.has(typeOf(a))) callouts.push({ risk: "data-loss", address: a, message: `${typeOf(a)} will be REPLACED (${why}): the existing one and its data are destroyed` });
  }
  const moved = [...replaced].filter((a) => ADDRESS_PLAN_TYPES.has(typeOf(a))).sort();
  if (moved.length) {
    const cidr = (side: Map<string, Record<string, any>>, a: string) => side.get(a)?.cidr_block;
    const vpcs = moved.filter((a) => typeOf(a) === "aws_vpc").map((a) => `${a} ${cidr(b, a)} → ${cidr(h, a)}`);
    callouts.push({
      risk: "data-loss",
      address: "address plan",
      message:
        `the address plan of a deployed network MOVES: ${[...vpcs, `${moved.filter((a) => typeOf(a) === "aws_subnet").length} subnet(s)`].join("; ")} will be REPLACED (${moved.join(", ")}), ` +
        `and with them ${dragged(replaced)}. ` +
        "Everything in them is rebuilt (firewall endpoints, NAT gateways, instances, endpoints), fixed addresses change (the inbound resolver's and the proxy's: on-prem DNS forwarders and the PAC file must follow), and the firewall's subnet change protection stops the apply until it is lifted. A deployed municipality keeps its breakoutCidr; a move is a planned migration, not a config edit",
    });
  }

  // State: a different backend moves (or loses) the municipality's state.
  if (base && head && JSON.stringify(base.backend) !== JSON.stringify(head.backend) && (Object.keys(base.backend).length || Object.keys(head.backend).length)) {
    callouts.push({ risk: "data-loss", address: "terraform.backend", message: `state backend changes from ${JSON.stringify(base.backend)} to ${JSON.stringify(head.backend)}: migrate the state (terraform init -migrate-state) before deploying` });
  }

  // Security-relevant: allowlist, retention, encryption, security groups, VPN, exposure, suppressions.
  const before = allowlist(base);
  const after = allowlist(head);
  const domainsAdded = [...after].filter((d) => !before.has(d)).sort();
  const domainsRemoved = [...before].filter((d) => !after.has(d)).sort();
  if (domainsAdded.length) callouts.push({ risk: "security", address: "allowlist", message: `domains ADDED to the breakout allowlist: ${domainsAdded.join(" ")}` });
  if (domainsRemoved.length) callouts.push({ risk: "security", address: "allowlist", message: `domains removed from the breakout allowlist: ${domainsRemoved.join(" ")}` });
  for (const rc of resources) {
    if (rc.action === "rename") continue;
    const label = SECURITY_TYPES[rc.type];
    if (!label) continue;
    if (rc.type === "aws_networkfirewall_rule_group" && rc.changes.every((c) => c.path.includes("targets"))) continue; // said above, by domain
    const paths = `${rc.changes.map((c) => c.path).slice(0, 6).join(", ")}${rc.changes.length > 6 ? " …" : ""}`;
    const detail = rc.action === "create" ? "added" : rc.action === "delete" ? "removed" : rc.action === "replace" ? `REPLACED (${paths || "what it is attached to is replaced"})` : `changed: ${paths}`;
    callouts.push({ risk: "security", address: rc.address, message: `${label} ${detail}` });
  }
  // retention shortened anywhere, a site's VPN torn down, the provider and terraform blocks (review/loss.ts)
  callouts.push(...retentionCallouts(base, head), ...outageCallouts(resources, base, head), ...settings);
  const sup = (s?: StackSnapshot) => (s?.locals?.alpha_prime?.suppressions ?? []).map((x: any) => `${x.rule} ${x.resource}`);
  const supAdded = sup(head).filter((x: string) => !sup(base).includes(x));
  if (supAdded.length) callouts.push({ risk: "security", address: "suppressions", message: `baseline suppressions ADDED: ${supAdded.join("; ")}` });
  callouts.push(...tenantCallouts(base, head));
  callouts.push(...tenantScopeCallouts(base, head));
  callouts.push(...fileCoverageCallouts(base, head));
  callouts.push(...firewallWidthCallouts(base, head));
  // the PAC file runs on every staff PC: any change to it is for a reviewer to read (render shows it whole)
  const pac = (s?: StackSnapshot) => [...(s?.resources ?? new Map()).entries()].find(([, body]) => body.key === "pac/proxy.pac");
  const [pacAddress, pacNow] = pac(head) ?? [];
  if (pacAddress && pac(base) && pac(base)![1].content !== pacNow!.content) callouts.push({ risk: "security", address: pacAddress, message: "PAC file changed: it runs on every staff PC (read it with `alpha-prime render`)" });
  for (const hz of head?.hazards?.() ?? []) callouts.push({ risk: "security", address: hz.address, message: `EXECUTABLE TEXT: ${hz.message}` });

  const status = !base ? "added" : !head ? "removed" : resources.length || callouts.length ? "changed" : "unchanged";
  if (!head && base) callouts.push({ risk: "data-loss", address: id, message: `municipality ${id} is REMOVED: destroying its stack destroys its log archive` });
  // a reviewer of a topology change sees the network as it will be (the picture `graph` draws)
  // (the number of allowlisted names is in the picture but is not topology: the allowlist callouts say it)
  const topologyShape = (t?: import("../cli/graph").Topology) => t && JSON.stringify({ ...t, firewall: t.firewall && { ...t.firewall, allowlistNames: 0 } });
  const topologyChanged = head?.topology && topologyShape(head.topology) !== topologyShape(base?.topology);
  const diagram = topologyChanged ? (require("../cli/graph") as typeof import("../cli/graph")).mermaid(head.topology!) : undefined;
  return {
    id,
    accountId: head?.accountId ?? base?.accountId,
    status,
    resources: resources.sort((x, y) => x.address.localeCompare(y.address)),
    callouts,
    ...(diagram ? { diagram } : {}),
    ...(domainsAdded.length ? { domainsAdded } : {}),
    ...(domainsRemoved.length ? { domainsRemoved } : {}),
  };
}

export function diffSides(base: Side, head: Side): DiffReport {
  const ids = [...new Set([...base.stacks.keys(), ...head.stacks.keys()])].sort();
  return { base: base.label, head: head.label, municipalities: ids.map((id) => compareStacks(id, base.stacks.get(id), head.stacks.get(id))) };
}

// ---------------------------------------------------------------------------------------------------------------
// Output.

export type FailOn = "destructive" | "security";

export function exitCodeFor(report: DiffReport, failOn?: FailOn): number {
  if (!failOn) return 0;
  const callouts = report.municipalities.flatMap((m) => m.callouts);
  // destructive: what cannot be undone by the next apply — records lost, a site's tunnels torn down
  if (failOn === "destructive") return callouts.some((c) => c.risk === "data-loss" || c.risk === "outage") ? 1 : 0;
  return callouts.length ? 1 : 0;
}

// The Markdown (risks first, grouped, within a comment's limit) lives in review/markdown.ts.
export { COMMENT_MARKER, GITHUB_COMMENT_LIMIT, markdown } from "./markdown";
export type { MarkdownOptions } from "./markdown";

export function json(report: DiffReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
