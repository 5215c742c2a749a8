/**
 * Domain patterns: the one definition of what an allowlist entry means, shared by the SaaS catalog,
 * `breakout.extraDomains`, the Network Firewall, the DNS firewall, the DNS forwarder zone list and the PAC file.
 *
 * Semantics (case-insensitive; a trailing dot is ignored):
 * - `host.example.jp`    matches exactly that name.
 * - `*.example.jp`       matches `example.jp` itself and every name below it, at any depth, on a label
 *                        boundary: `a.b.example.jp` matches, `badexample.jp` does not.
 * This is AWS Network Firewall's own meaning of a leading-dot target (`.example.jp` "matches example.com and
 * matches all subdomains", https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_RulesSourceList.html),
 * so the firewall, the PAC file and the DNS firewall all agree on every name.
 */
import { phrase, tr } from "../core/messages";
import { getDomain } from "tldts";

export interface DomainPattern {
  /** the name without any wildcard, lower case, no trailing dot */
  readonly name: string;
  /** true: the name and all its subdomains; false: exactly the name */
  readonly includeSubdomains: boolean;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Parses a pattern, or returns why it is not one (a sentence for error messages). */
export function parseDomainPattern(raw: string): DomainPattern | string {
  let text = raw.trim().toLowerCase();
  if (text.endsWith(".")) text = text.slice(0, -1);
  let includeSubdomains = false;
  if (text.startsWith("*.")) {
    includeSubdomains = true;
    text = text.slice(2);
  }
  if (text === "" || text === "*") return phrase(tr`it allows every domain`);
  if (text.includes("*")) return phrase(tr`a wildcard may only stand alone as the first label ('*.example.jp')`);
  if (text.length > 253) return phrase(tr`it is longer than 253 characters`);
  const labels = text.split(".");
  if (!labels.every((l) => LABEL.test(l))) return phrase(tr`it is not a valid host name (letters, digits and '-' between dots)`);
  if (/^[0-9.]+$/.test(text)) return phrase(tr`it is an IP address, not a domain name`);
  // A public suffix (jp, co.jp, lg.jp, com) would open a whole top-level space to everyone.
  if (getDomain(text, { allowPrivateDomains: false }) === null) {
    return phrase(tr`'${text}' is a public suffix (a top-level domain or similar), so it would allow every site under it`);
  }
  return { name: text, includeSubdomains };
}

export function formatDomainPattern(p: DomainPattern): string {
  return p.includeSubdomains ? `*.${p.name}` : p.name;
}

/** Whether `host` is allowed by pattern `p`, with the semantics above. */
export function domainMatches(p: DomainPattern, host: string): boolean {
  let h = host.toLowerCase();
  if (h.endsWith(".")) h = h.slice(0, -1);
  if (h === p.name) return true;
  return p.includeSubdomains && h.endsWith(`.${p.name}`);
}

/** Whether pattern `a` already allows everything pattern `b` allows. */
export function covers(a: DomainPattern, b: DomainPattern): boolean {
  if (a.includeSubdomains) return domainMatches(a, b.name);
  return !b.includeSubdomains && a.name === b.name;
}

/**
 * Sorted, de-duplicated patterns with every entry that another entry covers removed:
 * the smallest list that allows exactly the same names.
 */
export function normalizeDomainPatterns(patterns: readonly DomainPattern[]): DomainPattern[] {
  const unique = new Map<string, DomainPattern>();
  for (const p of patterns) unique.set(formatDomainPattern(p), p);
  const all = [...unique.values()];
  const kept = all.filter((p) => !all.some((q) => q !== p && covers(q, p) && !(covers(p, q) && formatDomainPattern(p) < formatDomainPattern(q))));
  return kept.sort(compareDomainPatterns);
}

/** Orders by the name read from the top-level label down, so related names sit together in reviews. */
export function compareDomainPatterns(a: DomainPattern, b: DomainPattern): number {
  const ka = a.name.split(".").reverse().join(".");
  const kb = b.name.split(".").reverse().join(".");
  if (ka !== kb) return ka < kb ? -1 : 1;
  return Number(a.includeSubdomains) - Number(b.includeSubdomains);
}

/** AWS Network Firewall domain-list target: `.name` for the domain and its subdomains. */
export function toNetworkFirewallTarget(p: DomainPattern): string {
  return p.includeSubdomains ? `.${p.name}` : p.name;
}

/**
 * Route 53 Resolver DNS Firewall domain-list entries. There `*.name` matches subdomains only, so a
 * pattern with subdomains becomes two entries: the name and `*.name`.
 */
export function toDnsFirewallDomains(p: DomainPattern): string[] {
  return p.includeSubdomains ? [`${p.name}.`, `*.${p.name}.`] : [`${p.name}.`];
}

/**
 * The DNS zones an on-prem DNS server must forward to the breakout's inbound resolver: each pattern's
 * name, minus names that lie inside another listed zone.
 */
export function forwarderZones(patterns: readonly DomainPattern[]): string[] {
  const names = [...new Set(patterns.map((p) => p.name))];
  return names
    .filter((n) => !names.some((m) => m !== n && n.endsWith(`.${m}`)))
    .sort((a, b) => compareDomainPatterns({ name: a, includeSubdomains: true }, { name: b, includeSubdomains: true }));
}
