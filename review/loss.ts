/**
 * What the diff says about loss: retention shortened anywhere (data-loss), a site's VPN torn down (outage), the
 * stack moved to another region or account (the whole stack), and the provider and `terraform` blocks (a version, the
 * default tags). And the identities renames are paired by: the config's own (a site's name and public IP), never
 * the order resources happen to be listed in.
 *
 * Each function reads two snapshots of one municipality and returns call-outs; review/diff.ts decides nothing here.
 */
import { attributeChanges } from "./diff";
import type { Callout, ResourceChange, StackSnapshot } from "./diff";

type Body = Record<string, any>;
type Resources = ReadonlyMap<string, Body>;

function typeOf(address: string): string {
  return address.split(".")[0];
}

/** A nested block as cdktf writes it (an object) or as a plan shows it (a list of one object). */
function block(v: unknown): Body | undefined {
  if (Array.isArray(v)) return v[0];
  return v && typeof v === "object" ? (v as Body) : undefined;
}

function blocks(v: unknown): Body[] {
  if (Array.isArray(v)) return v.filter((x) => x && typeof x === "object");
  return v && typeof v === "object" ? [v as Body] : [];
}

// ---------------------------------------------------------------------------------------------------------------
// Retention: how long each kind of record is kept, per resource. A shorter value loses records that would have been
// kept (lifecycle, log groups) or lets them be deleted earlier (Object Lock): data-loss, whatever else changed.

/** Infinity: kept until someone deletes it (no expiration; a log group's 0 / absent retention means "never expire"). */
const FOREVER = Number.POSITIVE_INFINITY;

/**
 * The retention periods a resource sets, by what they govern. Lifecycle rules are read per kind — current objects
 * expire, noncurrent versions expire — as the shortest over enabled rules: a transition (to Glacier) is not an
 * expiry, and mixing its days into one minimum is what once hid a drop of `expiration.days` behind a 90-day transition.
 */
export function retentionPeriods(type: string, body: Body | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!body) return out;
  if (type === "aws_cloudwatch_log_group") {
    const d = Number(body.retention_in_days ?? 0);
    out.set("log retention_in_days", d > 0 ? d : FOREVER);
  } else if (type === "aws_s3_bucket_object_lock_configuration") {
    const r = block(block(body.rule)?.default_retention);
    // Object Lock is a floor, not a ceiling: no default retention means objects can be deleted at once
    out.set("Object Lock default retention", r ? (r.days !== undefined && r.days !== null ? Number(r.days) : Number(r.years ?? 0) * 365) : 0);
  } else if (type === "aws_s3_bucket_lifecycle_configuration") {
    let current = FOREVER;
    let noncurrent = FOREVER;
    for (const rule of blocks(body.rule)) {
      if (rule.status !== "Enabled") continue;
      for (const e of blocks(rule.expiration)) if (typeof e.days === "number" && e.days > 0) current = Math.min(current, e.days);
      for (const e of blocks(rule.noncurrent_version_expiration)) if (typeof e.noncurrent_days === "number" && e.noncurrent_days > 0) noncurrent = Math.min(noncurrent, e.noncurrent_days);
    }
    out.set("lifecycle expiration.days", current);
    out.set("lifecycle noncurrent_version_expiration.noncurrent_days", noncurrent);
  }
  return out;
}

const days = (n: number) => (n === FOREVER ? "never expires" : `${n} days`);

/** Every retention period that gets shorter between base and head, for resources in both (and the configured value). */
export function retentionCallouts(base: StackSnapshot | undefined, head: StackSnapshot | undefined): Callout[] {
  if (!base || !head) return [];
  const out: Callout[] = [];
  for (const [address, now] of head.resources) {
    const was = base.resources.get(address);
    if (!was) continue;
    const before = retentionPeriods(typeOf(address), was);
    for (const [what, after] of retentionPeriods(typeOf(address), now)) {
      const b = before.get(what);
      if (b !== undefined && after < b) out.push({ risk: "data-loss", address, message: `RETENTION SHORTENED: ${what} ${days(b)} → ${days(after)}: records older than ${days(after)} are ${what.startsWith("Object Lock") ? "no longer protected from deletion" : "deleted"}` });
    }
  }
  const ret = (s: StackSnapshot) => s.locals?.alpha_prime?.retention_days;
  if (typeof ret(base) === "number" && typeof ret(head) === "number" && ret(head) < ret(base)) {
    out.push({ risk: "data-loss", address: "logging.retentionDays", message: `configured retention SHORTENED from ${ret(base)} to ${ret(head)} days` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Sites: the config's identity of a VPN resource (the site's name and public IP), found through references.

export interface Site {
  readonly name: string;
  readonly ip: string;
}

const REF = /\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[^}]*\}/g;

function referencesOf(body: unknown): string[] {
  return [...JSON.stringify(body ?? null).matchAll(REF)].map((m) => `${m[1]}.${m[2]}`);
}

/**
 * The site each resource belongs to: a customer gateway is its site (device_name is the site's name, ip_address its
 * public IP); anything that refers to exactly one site's resources (a VPN connection, its route propagation, its
 * alarm) belongs to that site.
 */
export function sitesOf(resources: Resources): Map<string, Site> {
  const own = new Map<string, Site>();
  for (const [address, body] of resources) {
    if (typeOf(address) === "aws_customer_gateway") own.set(address, { name: String(body.device_name ?? ""), ip: String(body.ip_address ?? "") });
  }
  const memo = new Map<string, Site | null>();
  const visit = (address: string, depth: number): Site | null => {
    if (own.has(address)) return own.get(address)!;
    if (memo.has(address)) return memo.get(address)!;
    if (depth > 4) return null;
    memo.set(address, null); // cycles end here
    const found = new Map<string, Site>();
    for (const r of referencesOf(resources.get(address))) {
      const s = resources.has(r) ? visit(r, depth + 1) : null;
      if (s) found.set(`${s.name} ${s.ip}`, s);
    }
    const site = found.size === 1 ? [...found.values()][0] : null;
    memo.set(address, site);
    return site;
  };
  const out = new Map<string, Site>();
  for (const address of resources.keys()) {
    const s = visit(address, 0);
    if (s) out.set(address, s);
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * What a resource is, apart from its address: the body with references blanked (they name other renamed
 * resources), and for a site's resource the site's name written as <site> and its public IP kept. Two sites renamed
 * at once then pair by public IP, whichever order their resources are listed in; a site whose IP changed is not
 * the same site.
 */
export function identityKey(address: string, body: Body | undefined, site: Site | undefined): string {
  let text = JSON.stringify(body ?? null).replace(/\$\{([a-z0-9_]+)\.[A-Za-z0-9_-]+/g, "${$1.#");
  if (site?.name) text = text.replace(new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(site.name)}(?![A-Za-z0-9])`, "g"), "<site>");
  return `${typeOf(address)} ${site ? `site ${site.ip} ` : ""}${text}`;
}

/** Pairs removed and added addresses that are one resource under a new address (Terraform: destroy and create). */
export function pairRenames(removed: readonly string[], added: readonly string[], base: Resources, head: Resources): Map<string, string> {
  const bs = sitesOf(base);
  const hs = sitesOf(head);
  const byKey = new Map<string, string[]>();
  for (const a of [...added].sort()) {
    const k = identityKey(a, head.get(a), hs.get(a));
    byKey.set(k, [...(byKey.get(k) ?? []), a]);
  }
  const out = new Map<string, string>();
  for (const r of [...removed].sort()) {
    const candidates = byKey.get(identityKey(r, base.get(r), bs.get(r)));
    // equal keys are indistinguishable resources: which one pairs with which does not change what is destroyed
    const twin = candidates?.shift();
    if (twin) out.set(r, twin);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Outages: a site's VPN connection torn down, or moved to another customer gateway.

/**
 * A VPN connection destroyed (replaced, removed, or under a new address) takes both its tunnels down; the new one has
 * new outside addresses and pre-shared keys, so traffic flows again only after the site's router is reconfigured.
 * A connection moved to another customer gateway (ModifyVpnConnection, in place) is unavailable while AWS provisions
 * the new endpoints (https://docs.aws.amazon.com/vpn/latest/s2svpn/modify-vpn-target.html).
 */
export function outageCallouts(resources: readonly ResourceChange[], base: StackSnapshot | undefined, head: StackSnapshot | undefined): Callout[] {
  const b = base?.resources ?? new Map<string, Body>();
  const h = head?.resources ?? new Map<string, Body>();
  const bs = sitesOf(b);
  const hs = sitesOf(h);
  const tunnels = (body: Body | undefined) => (body ? 2 : 0); // a Site-to-Site VPN connection always has two tunnels
  const where = (s: Site | undefined) => (s ? `site ${s.name} (${s.ip})` : "a site");
  const out: Callout[] = [];
  for (const rc of resources) {
    if (rc.type === "aws_vpn_connection") {
      const old = rc.from ?? rc.address;
      const site = bs.get(old) ?? hs.get(rc.address);
      const n = tunnels(b.get(old));
      if (rc.action === "replace" || rc.action === "delete" || rc.action === "rename") {
        const how = rc.action === "replace" ? `REPLACED (${rc.changes.map((c) => c.path.split(".")[0]).filter((p, i, a) => a.indexOf(p) === i).join(", ") || "forced by the plan"})` : rc.action === "delete" ? "DESTROYED" : `DESTROYED and created again under a new address (was ${old})`;
        out.push({
          risk: "outage",
          address: rc.address,
          message: `OUTAGE at ${where(site)}: VPN connection ${how}: its ${n} tunnel(s) go down${rc.action === "delete" ? "" : "; the new connection has new tunnel outside addresses and pre-shared keys, so the site's router must be reconfigured before traffic flows again"}`,
        });
      } else if (rc.action === "update") {
        const moved = rc.changes.filter((c) => c.path === "customer_gateway_id" || c.path === "transit_gateway_id").map((c) => c.path);
        if (moved.length) out.push({ risk: "outage", address: rc.address, message: `OUTAGE at ${where(site)}: VPN connection moved to another ${moved.join(" and ")}: its ${n} tunnel(s) are unavailable while AWS provisions the new endpoints` });
      }
    }
    if (rc.type === "aws_customer_gateway" && (rc.action === "replace" || rc.action === "delete")) {
      const was = bs.get(rc.address);
      const now = hs.get(rc.address);
      const what = rc.action === "delete" ? "REMOVED" : `REPLACED (${rc.changes.map((c) => `${c.path} ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`).join(", ")})`;
      out.push({ risk: "outage", address: rc.address, message: `OUTAGE at ${where(was)}: its customer gateway is ${what}${now && was && now.ip !== was.ip ? `: the tunnels end at the router of ${now.ip} from now on` : ""}` });
    }
  }
  // a connection whose customer gateway is replaced is moved to the new one in place (its body names the same address)
  const torn = new Set(resources.filter((r) => r.type === "aws_vpn_connection").map((r) => r.address));
  const newGateways = new Set(resources.filter((r) => r.type === "aws_customer_gateway" && r.action === "replace").map((r) => r.address));
  for (const [address, body] of h) {
    if (typeOf(address) !== "aws_vpn_connection" || torn.has(address) || !b.has(address)) continue;
    if (referencesOf(body.customer_gateway_id).some((r) => newGateways.has(r))) {
      out.push({ risk: "outage", address, message: `OUTAGE at ${where(bs.get(address))}: VPN connection moved to another customer_gateway_id: its ${tunnels(body)} tunnel(s) are unavailable while AWS provisions the new endpoints` });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The provider and `terraform` blocks: invisible to a resource-by-resource diff, and each changes every resource.

export interface StackSettings {
  /** the `provider` block (every provider, aliases included) */
  readonly provider: Record<string, any>;
  /** the `terraform` block without its backend (the diff calls a backend change out on its own) */
  readonly terraform: Record<string, any>;
}

function awsProviders(s: StackSettings): Body[] {
  return blocks(s.provider?.aws);
}

/**
 * A region or account move is the whole stack: Terraform looks for every resource in the new region or account,
 * finds none, and creates the whole stack there, while the old resources keep running outside its state (still
 * billed, their logs and addresses left behind). A provider version, the default tags (every resource's tags_all)
 * or any other setting of these blocks is its own call-out, so a reviewer sees it among "no resource changes".
 */
export function settingsCallouts(base: StackSettings | undefined, head: StackSettings | undefined, headResources: number): Callout[] {
  if (!base || !head) return [];
  const out: Callout[] = [];
  const [bp, hp] = [awsProviders(base)[0] ?? {}, awsProviders(head)[0] ?? {}];
  const region = (p: Body) => p.region;
  const account = (p: Body) => JSON.stringify(p.allowed_account_ids ?? null);
  if (region(bp) !== region(hp)) {
    out.push({ risk: "data-loss", address: "provider.aws.region", message: `the WHOLE STACK moves region ${region(bp)} → ${region(hp)}: Terraform creates all ${headResources} resources anew in ${region(hp)} and loses track of the ones in ${region(bp)}, which keep running (logs, egress addresses and tunnels stay there); a region move is a migration, not a config edit` });
  }
  if (account(bp) !== account(hp)) {
    out.push({ risk: "data-loss", address: "provider.aws.allowed_account_ids", message: `the WHOLE STACK moves account ${account(bp)} → ${account(hp)}: Terraform creates all ${headResources} resources in the new account; the old account's resources keep running outside its state` });
  }
  const source = (s: StackSettings) => JSON.stringify(s.terraform?.required_providers ?? {});
  const version = (s: StackSettings) => Object.entries<any>(s.terraform?.required_providers ?? {}).map(([k, v]) => `${k} ${v?.source ?? ""} ${v?.version ?? ""}`.trim()).join(", ");
  if (source(base) !== source(head)) out.push({ risk: "platform", address: "terraform.required_providers", message: `provider requirement changes: ${version(base)} → ${version(head)}: every resource is planned by the new provider (read its changelog; plan against real state before approving)` });
  const tags = (p: Body) => JSON.stringify(block(p.default_tags)?.tags ?? {});
  if (tags(bp) !== tags(hp)) {
    const [bt, ht] = [JSON.parse(tags(bp)), JSON.parse(tags(hp))];
    const keys = [...new Set([...Object.keys(bt), ...Object.keys(ht)])].filter((k) => bt[k] !== ht[k]).sort();
    out.push({ risk: "platform", address: "provider.aws.default_tags", message: `default tags change (${keys.map((k) => `${k}: ${bt[k] === undefined ? "added" : ht[k] === undefined ? "removed" : `${JSON.stringify(bt[k])} → ${JSON.stringify(ht[k])}`}`).join("; ")}): every tagged resource (${headResources}) is updated in place (tags_all)` });
  }
  // anything else in the two blocks, by path
  const named = new Set(["region", "allowed_account_ids", "default_tags"]);
  const rest = [
    ...attributeChanges(stripKeys(base.provider, named), stripKeys(head.provider, named)).map((c) => `provider.${c.path}`),
    ...attributeChanges({ ...base.terraform, required_providers: undefined }, { ...head.terraform, required_providers: undefined }).map((c) => `terraform.${c.path}`),
  ];
  if (rest.length) out.push({ risk: "platform", address: "provider/terraform", message: `settings of the provider or terraform block change: ${rest.join(", ")}` });
  return out;
}

function stripKeys(provider: Record<string, any>, keys: ReadonlySet<string>): Record<string, any> {
  return Object.fromEntries(Object.entries(provider ?? {}).map(([name, list]) => [name, blocks(list).map((p) => Object.fromEntries(Object.entries(p).filter(([k]) => !keys.has(k))))]));
}
