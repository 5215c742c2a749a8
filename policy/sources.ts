/**
 * Where in a municipality's env file a finding comes from, so code scanning shows it on the YAML line that caused
 * it (not line 1 of a gitignored cdk.tf.json) and keeps tracking it across commits.
 *
 * The map from resource to config is the stack's construct tree: construct ids are a public contract (they are the
 * resource addresses, pinned by snapshots), and each top-level construct is wired from one part of the env file
 * (stacks/municipality-stack.ts): `Vpn_Site-<name>-…` from that entry of `sites`, `LogArchive_…` from `logging`,
 * `Breakout_…` from `network` and the allowlist, and so on. Findings whose address is a config path already
 * (`breakout.tenantWaivers.kintone`, `suppressions[2]`) name their field directly; a suppressed finding points at the
 * suppression that accepts it, which is the line a reviewer must judge.
 */
import * as fs from "fs";
import { isMap, isPair, isScalar, isSeq, LineCounter, Node, parseDocument } from "yaml";
import type { Finding } from "./types";

export interface SourceLocation {
  readonly file: string;
  /** JSON pointer of the field found (the nearest existing one) */
  readonly pointer: string;
  /** 1-based */
  readonly line: number;
  readonly column: number;
}

/** Rules about a configured value, pointed at that value rather than at the construct it built. */
const RULE_FIELDS: Record<string, string[]> = {
  "AP-LOG-001": ["logging", "retentionDays"],
  "AP-LOG-003": ["logging", "retentionDays"],
  "AP-LOG-004": ["logging", "retentionDays"],
  "AP-NET-005": ["network", "lgwanSegments"],
};

/** Top-level constructs of a municipality stack and the part of the env file each is wired from. */
const CONSTRUCT_FIELDS: [RegExp, string[]][] = [
  [/^Breakout_(DomainAllowlist|DnsAllowlist|Allowlist)/, ["breakout", "saas"]],
  [/^Breakout_/, ["network", "breakoutCidr"]],
  [/^LogArchive_Config-Pac|^LogArchive_Config-Allowlist/, ["breakout", "saas"]],
  [/^LogArchive_/, ["logging"]],
  [/^RemoteAccess_/, ["remoteAccess"]],
  [/^Relay_/, ["relay"]],
  [/^TenantProxy_/, ["breakout", "tenants"]],
  [/^Operations_/, ["operations"]],
  [/^Vpn_/, ["sites"]],
];

/** The env-file path (segments) a finding is about, given the parsed env file. */
export function configPathOf(f: Pick<Finding, "ruleId" | "address" | "suppressedBy">, doc: any, suppressionIndex?: number): (string | number)[] {
  if (f.suppressedBy && suppressionIndex !== undefined && suppressionIndex >= 0) return ["suppressions", suppressionIndex];
  const sup = /^suppressions\[(\d+)\]$/.exec(f.address);
  if (sup) return ["suppressions", Number(sup[1])];
  const waiver = /^breakout\.tenantWaivers\.(.+)$/.exec(f.address);
  if (waiver) {
    const i = (doc?.breakout?.tenantWaivers ?? []).findIndex((w: any) => w?.saas === waiver[1]);
    return i >= 0 ? ["breakout", "tenantWaivers", i, "reason"] : ["breakout", "saas"];
  }
  const tenant = /^breakout\.tenants\.(.+)$/.exec(f.address);
  if (tenant) {
    if (doc?.breakout?.tenants?.[tenant[1]] !== undefined) return ["breakout", "tenants", tenant[1]];
    const i = (doc?.breakout?.saas ?? []).indexOf(tenant[1]);
    return i >= 0 ? ["breakout", "saas", i] : ["breakout", "saas"];
  }
  if (f.address.startsWith("terraform.backend")) return doc?.state ? ["state"] : ["aws"];
  if (f.address.startsWith("provider.")) return ["aws"];
  if (RULE_FIELDS[f.ruleId]) return RULE_FIELDS[f.ruleId];
  const name = f.address.split(".")[1] ?? "";
  const site = /^Vpn_Site-(.+?)-(CustomerGateway|Vpn\d+)/.exec(name);
  if (site) {
    const i = (doc?.sites ?? []).findIndex((s: any) => s?.name === site[1]);
    if (i >= 0) return ["sites", i];
  }
  for (const [re, p] of CONSTRUCT_FIELDS) if (re.test(name)) return p;
  return [];
}

function posOf(lc: LineCounter, offset: number): { line: number; column: number } {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

/**
 * Line and column of the deepest existing field on `segments` in the YAML text: a mapping entry at its key, a list
 * item at its value. A path the file does not have (a default) stops at the nearest field it has.
 */
export function locateInYaml(text: string, segments: readonly (string | number)[]): { pointer: string; line: number; column: number } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  let node: unknown = doc.contents;
  let at = { line: 1, column: 1 };
  const found: (string | number)[] = [];
  for (const seg of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair || !isScalar(pair.key) || !pair.key.range) break;
      at = posOf(lc, pair.key.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number" && seg < node.items.length) {
      const item = node.items[seg] as Node;
      if (!item?.range) break;
      at = posOf(lc, item.range[0]);
      node = item;
    } else break;
    found.push(seg);
  }
  return { pointer: `/${found.map((s) => String(s).replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`, ...at };
}

/** Locates findings of one stack in its env file; undefined when the file is not there (a standalone cdktf.out). */
export function locator(envFile: string | undefined): ((f: Finding, suppressionIndex?: number) => SourceLocation) | undefined {
  if (!envFile || !fs.existsSync(envFile)) return undefined;
  const text = fs.readFileSync(envFile, "utf8");
  let doc: unknown;
  try {
    doc = parseDocument(text).toJS();
  } catch {
    return undefined;
  }
  return (f, suppressionIndex) => ({ file: envFile, ...locateInYaml(text, configPathOf(f, doc, suppressionIndex)) });
}
