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
import { domainToASCII, domainToUnicode } from "url";
import * as ipaddr from "ipaddr.js";
import { phrase, Text, tr } from "../core/messages";
import { getDomain, getPublicSuffix, parse } from "tldts";

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
  if (endsInNumber(text)) return phrase(tr`it is an IP address, not a domain name`);
  if (labels.some((l) => l.startsWith("xn--")) && unicodeName(text) === undefined) return phrase(tr`it holds an xn-- label that is not valid Punycode`);
  // one reading of the Public Suffix List serves both checks below (tldts's getDomain is this parse's `domain`)
  const parsed = parse(text, { allowPrivateDomains: false });
  const special = specialUseName(text, parsed);
  if (special) return phrase(tr`'${text}' is not a name of the public DNS: ${special}`);
  // A public suffix (jp, co.jp, lg.jp, com) would open a whole top-level space to everyone.
  if (parsed.domain === null) {
    return phrase(tr`'${text}' is a public suffix (a top-level domain or similar), so it would allow every site under it`);
  }
  return { name: text, includeSubdomains };
}

/**
 * Special-use names: the IANA Special-Use Domain Names registry (RFC 6761: test, localhost, invalid, example; RFC 6762:
 * local; RFC 7686: onion; RFC 8375: home.arpa; RFC 9476: alt), with `.arpa` (the address-to-name and protocol
 * infrastructure of RFC 3172, never a service) and ICANN's private-use `.internal` (board resolution 2024.07.29.06),
 * under which AWS names its instances and its metadata service (ec2.internal, <region>.compute.internal).
 * https://www.iana.org/assignments/special-use-domain-names/special-use-domain-names.xhtml
 * example.com, example.net and example.org are in the registry too, but IANA serves them in the public DNS.
 */
const SPECIAL_USE_TLDS: Readonly<Record<string, Text>> = {
  localhost: tr`a loopback name (RFC 6761)`,
  local: tr`a multicast-DNS name of the local link (RFC 6762)`,
  test: tr`reserved for testing (RFC 6761)`,
  invalid: tr`reserved as never valid (RFC 6761)`,
  example: tr`reserved for documentation (RFC 6761)`,
  onion: tr`a Tor onion service, not reachable through DNS (RFC 7686)`,
  alt: tr`reserved for names outside the DNS (RFC 9476)`,
  arpa: tr`the DNS's own infrastructure (RFC 3172), where home.arpa is a home network's (RFC 8375)`,
  internal: tr`reserved by ICANN for private networks; AWS names its instances and metadata service there (ec2.internal)`,
};

/**
 * Why `name` (lower case, no trailing dot) is not a name of the public DNS, or undefined: a special-use name (above),
 * or a top-level domain the Public Suffix List's ICANN section does not know (`.lan`, `.corp`, `.intranet`) — tldts
 * treats any unknown last label as a suffix, so `printer.city.lan` would otherwise pass as under `city.lan`. Such a
 * name resolves only inside some network, so allowlisting it opens whatever that network's resolver says it is.
 */
export function specialUseName(name: string, parsed: { readonly isIcann: boolean | null } = parse(name, { allowPrivateDomains: false })): string | undefined {
  const tld = name.slice(name.lastIndexOf(".") + 1);
  if (Object.hasOwn(SPECIAL_USE_TLDS, tld)) return phrase(tr`.${tld} is ${SPECIAL_USE_TLDS[tld]}`);
  if (!parsed.isIcann) return phrase(tr`.${tld} is not a top-level domain of the public DNS (Public Suffix List, ICANN section)`);
  return undefined;
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
 *
 * A pattern is covered by another (of a different text) exactly when a wildcard's name is its own name (an exact
 * name under a wildcard of the same name) or one of its parent names; two different texts never cover each other.
 * So each pattern is looked up by its parent names in the set of wildcard names: linear in the names' labels,
 * where comparing every pair was quadratic (this runs for every municipality, in validation and in synthesis).
 */
export function normalizeDomainPatterns(patterns: readonly DomainPattern[]): DomainPattern[] {
  const unique = new Map<string, DomainPattern>();
  for (const p of patterns) unique.set(formatDomainPattern(p), p);
  const wildcards = new Set<string>();
  for (const p of unique.values()) if (p.includeSubdomains) wildcards.add(p.name);
  const covered = (p: DomainPattern): boolean => {
    if (!p.includeSubdomains && wildcards.has(p.name)) return true;
    for (let dot = p.name.indexOf("."); dot >= 0; dot = p.name.indexOf(".", dot + 1)) if (wildcards.has(p.name.slice(dot + 1))) return true;
    return false;
  };
  return sortDomainPatterns([...unique.values()].filter((p) => !covered(p)));
}

/** Orders by the name read from the top-level label down, so related names sit together in reviews. */
export function compareDomainPatterns(a: DomainPattern, b: DomainPattern): number {
  return compareKeyed(sortKey(a.name), a, sortKey(b.name), b);
}

function sortKey(name: string): string {
  return name.split(".").reverse().join(".");
}

function compareKeyed(ka: string, a: DomainPattern, kb: string, b: DomainPattern): number {
  if (ka !== kb) return ka < kb ? -1 : 1;
  return Number(a.includeSubdomains) - Number(b.includeSubdomains);
}

/** `patterns.sort(compareDomainPatterns)`, with each pattern's key worked out once rather than in every comparison. */
function sortDomainPatterns(patterns: DomainPattern[]): DomainPattern[] {
  const keyed = patterns.map((p) => ({ p, k: sortKey(p.name) }));
  keyed.sort((x, y) => compareKeyed(x.k, x.p, y.k, y.p));
  return keyed.map((x) => x.p);
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

// ---------------------------------------------------------------------------------------------- host names

export interface HostPort {
  readonly host: string;
  readonly port: number;
  readonly isIp: boolean;
}

/** A host name as every output writes it: lowercase, without the root's trailing dot (normalised once, at load). */
export function normalizeHostName(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

/** "host:port" with its host normalised as above. */
export function normalizeHostPort(text: string): string {
  const i = text.lastIndexOf(":");
  return i < 0 ? normalizeHostName(text) : `${normalizeHostName(text.slice(0, i))}${text.slice(i)}`;
}

/**
 * Whether a URL parser reads `name` as an IPv4 address: the WHATWG URL standard's "ends in a number" — its last
 * label is decimal digits or 0x-hex — so `127.1`, `0x7f.1` and `2130706433` are addresses to every browser and
 * to Squid, not names. https://url.spec.whatwg.org/#ends-in-a-number-checker
 */
export function endsInNumber(name: string): boolean {
  const labels = name.replace(/\.$/, "").split(".");
  return /^([0-9]+|0x[0-9a-f]*)$/i.test(labels[labels.length - 1]);
}

/** Whether `text` is an address literal in any form a client accepts (dotted, shortened, hex, IPv6, bracketed). */
export function isIpLiteral(text: string): boolean {
  const t = text.trim().replace(/^\[(.*)\]$/, "$1");
  return ipaddr.isValid(t) || t.includes(":") || (t !== "" && endsInNumber(t));
}

/** Parses "host:port" (IPv4 address or DNS name, port 1-65535), or returns why not. */
export function parseHostPort(text: unknown): HostPort | string {
  if (typeof text !== "string") return phrase(tr`not a string`);
  const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (!m) return phrase(tr`not of the form host:port (IPv6 literals are not supported)`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return phrase(tr`port ${port} is outside 1-65535`);
  return parseHost(m[1], port);
}

/**
 * A host that a connection is made to (a relay target, an ICAP engine): a plain dotted-decimal IPv4 address, or a
 * DNS name under a registrable domain. Shortened and hex addresses (`127.1`), empty labels (`a..b`) and public
 * suffixes (`com`, `co.jp`) are refused: each would be read differently by the firewall, Squid and the resolver.
 */
export function parseHost(raw: string, port = 0): HostPort | string {
  const host = normalizeHostName(raw);
  if (endsInNumber(host)) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(host) || /(^|\.)0\d/.test(host)) return phrase(tr`'${host}' is not a plain dotted-decimal IPv4 address`);
    return { host, port, isIp: true };
  }
  const d = parseDomainPattern(host);
  if (typeof d === "string") return phrase(tr`host '${host}' is refused: ${d}`);
  if (d.includeSubdomains) return phrase(tr`host '${host}' is refused: a connection goes to one host, not a wildcard`);
  return { host, port, isIp: false };
}

/**
 * Where anyone can publish under `name`: the Public Suffix List's private section holds suffixes such as
 * github.io, s3.amazonaws.com, cloudfront.net or workers.dev, under which any customer gets a host name. A
 * wildcard over one (or over a domain that holds one, like *.amazonaws.com) allows every such customer's site.
 * Read from the list tldts ships (its compiled trie: label → [0 none | 1 ICANN | 2 private, children]).
 * https://publicsuffix.org/list/ (=== BEGIN PRIVATE DOMAINS ===)
 */
export function publicHostingUnder(name: string): string | undefined {
  type TrieNode = [number, Record<string, TrieNode>];
  const { rules } = require("tldts/dist/cjs/src/data/trie") as { rules: TrieNode };
  let node: TrieNode | undefined = rules;
  const labels = name.split(".").reverse();
  for (const l of labels) {
    node = node?.[1][l] ?? node?.[1]["*"];
    if (!node) return undefined;
  }
  if (node[0] === 2) return name;
  const below = (n: TrieNode, suffix: string, depth: number): string | undefined => {
    if (depth > 4) return undefined;
    for (const [label, child] of Object.entries(n[1])) {
      const at = label === "*" ? `*.${suffix}` : `${label}.${suffix}`;
      if (child[0] === 2) return at;
      const deeper = below(child, at, depth + 1);
      if (deeper) return deeper;
    }
    return undefined;
  };
  return below(node, name, 0);
}

/** Whether `name` is itself a public suffix of either section (`com`, `co.jp`, `github.io`, `azurewebsites.net`). */
export function isPublicSuffix(name: string): boolean {
  return getDomain(name, { allowPrivateDomains: true }) === null;
}

/** The registrable domain (PSL, private section included): `a.b.github.io` → `b.github.io`; the name itself when none. */
export function registrableDomain(name: string): string {
  return getDomain(name, { allowPrivateDomains: true }) ?? name;
}

/**
 * The name with its IDN labels decoded (`xn--mcrosoft-thh.com` → `mіcrosoft.com`, with a Cyrillic і), or undefined
 * when an xn-- label is not valid Punycode (what a browser refuses). Look-alikes are judged on this form.
 */
export function unicodeName(name: string): string | undefined {
  if (!name.split(".").some((l) => l.startsWith("xn--"))) return name;
  const u = domainToUnicode(name);
  if (!u || domainToASCII(u) !== name) return undefined;
  return u;
}

// ---------------------------------------------------------------------------------------------- look-alikes

/**
 * Brands staff are phished with in Japanese local government, judged besides every allowlisted and catalog domain:
 * the big platforms, the SaaS of the catalog, and the national services an LGWAN PC deals with (e-Gov, デジタル庁,
 * 総務省, e-Tax, J-LIS which runs LGWAN).
 */
export const WELL_KNOWN_BRANDS: readonly string[] = [
  "microsoft.com", "office.com", "live.com", "outlook.com", "sharepoint.com", "microsoftonline.com", "windows.net", "onedrive.com",
  "google.com", "gmail.com", "youtube.com", "apple.com", "icloud.com", "amazon.com", "amazon.co.jp", "amazonaws.com",
  "slack.com", "zoom.us", "box.com", "dropbox.com", "cybozu.com", "kintone.com", "worksmobile.com", "line.me",
  "yahoo.co.jp", "rakuten.co.jp", "paypal.com", "facebook.com", "github.com", "docusign.net", "adobe.com", "webex.com",
  "e-gov.go.jp", "digital.go.jp", "soumu.go.jp", "nta.go.jp", "j-lis.go.jp", "mhlw.go.jp",
];

/**
 * The TR39 skeleton of a string, for comparing names case-insensitively: NFD, each character replaced by its
 * prototype from Unicode's confusables.txt (the mapping the unhomoglyph package ships, so nothing is fetched at run
 * time), NFD again, then lower case (host names ignore case, and the mapping maps 0 to O and 1 to l).
 * https://www.unicode.org/reports/tr39/#Confusable_Detection
 */
export function skeleton(s: string): string {
  const unhomoglyph = require("unhomoglyph") as (x: string) => string;
  return unhomoglyph(s.normalize("NFD")).normalize("NFD").toLowerCase();
}

const LATIN = /\p{Script=Latin}/u;
const CONFUSABLE_SCRIPTS = /[\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}\p{Script=Cherokee}]/u;

/** What a name imitates and how, or undefined: the judgement `learn` and `catalog refresh` mark and never propose. */
export interface Imitation {
  /** the registrable domain imitated (absent for a label that mixes scripts, which imitates by itself) */
  readonly of?: string;
  readonly how: string;
}

interface Brand {
  readonly domain: string;
  readonly stem: string;
  readonly skeleton: string;
}

const brandCache = new WeakMap<readonly string[], Brand[]>();

function brandsOf(domains: readonly string[]): Brand[] {
  let out = brandCache.get(domains);
  if (!out) {
    const seen = new Set<string>();
    out = [];
    for (const d of domains) {
      const domain = registrableDomain(d.replace(/^\*\./, ""));
      if (seen.has(domain)) continue;
      seen.add(domain);
      const stem = stemOf(domain);
      out.push({ domain, stem, skeleton: skeleton(stem) });
    }
    brandCache.set(domains, out);
  }
  return out;
}

/** The registrable domain without its public suffix: `micros0ft` of `login.micros0ft.com`. */
function stemOf(registrable: string): string {
  const suffix = getPublicSuffix(registrable, { allowPrivateDomains: true });
  return suffix && registrable.endsWith(`.${suffix}`) ? registrable.slice(0, -suffix.length - 1) : registrable;
}

/** Whether two skeletons are one brand's, or so near that a reader takes one for the other (the typo rule below). */
function nearSkeleton(a: string, brand: Brand): boolean {
  if (a === brand.skeleton) return true;
  const { distance } = require("fastest-levenshtein") as typeof import("fastest-levenshtein");
  return brand.stem.length >= 5 && distance(a, brand.skeleton) <= (brand.stem.length >= 8 ? 2 : 1);
}

/**
 * Whether the labels in front of the registrable domain spell a brand's whole domain (`microsoft.com.example.jp`), as
 * a reader sees them: the brand's stem by its TR39 skeleton (or one typo from it, since confusables.txt maps a few
 * letters to a near neighbour — Cyrillic ӏ to i, so аррӏе skeletons to appie), its suffix labels exactly. Returns the
 * labels as written, decoded.
 */
function brandInFront(front: readonly string[], brand: Brand): string | undefined {
  const suffix = brand.domain.slice(brand.stem.length + 1).split(".");
  const width = suffix.length + 1;
  for (let i = 0; i + width <= front.length; i++) {
    const run = front.slice(i, i + width);
    if (!run.slice(1).every((l, j) => skeleton(l) === skeleton(suffix[j]))) continue;
    if (nearSkeleton(skeleton(run[0]), brand)) return run.join(".");
  }
  return undefined;
}

/**
 * Whether the registrable label carries a well-known brand's name among its hyphen-separated words: the name itself
 * (`login-microsoftonline`), the name with a number (`office365-login`), or the brand's whole domain written with
 * hyphens (`zoom-us`). Only against WELL_KNOWN_BRANDS: a catalog domain such as cloud.microsoft has a common word
 * for a name, and `cloud-storage.jp` imitates nothing.
 */
function brandInLabel(stemSkeleton: string, brand: Brand): boolean {
  const words = stemSkeleton.split("-");
  const labels = brand.domain.split(".");
  for (let i = 0; i + labels.length <= words.length; i++) {
    if (labels.length > 1 && labels.every((l, j) => words[i + j] === skeleton(l))) return true;
  }
  if (brand.stem.length < 5 || brand.stem.includes("-")) return false;
  return words.some((w) => w === brand.skeleton || (w.startsWith(brand.skeleton) && /^[0-9]+$/.test(w.slice(brand.skeleton.length))));
}

/**
 * Whether `name` (ASCII, IDN labels as xn--) imitates one of `brands` (domains or wildcards): its registrable label
 * has the same TR39 skeleton as a brand's (a homograph such as mіcrosoft with a Cyrillic і, or micros0ft), is one
 * or two edits from it (a typo), is the brand's own label under another suffix, the name carries the brand's
 * whole domain in front of another one (`microsoft.com.example.jp`, or `аррӏе.com.evil.jp` in Cyrillic letters), or
 * the registrable label carries a well-known brand's name as a word (`login-microsoftonline.com`, `zoom-us.com`).
 * A label that mixes Latin with Cyrillic, Greek, Armenian or Cherokee letters is marked whatever it spells (TR39's
 * mixed-script detection). The explanation shows a decoded IDN as a person reads it.
 */
export function imitationOf(name: string, brands: readonly string[]): Imitation | undefined {
  const decoded = unicodeName(name) ?? name;
  const registrable = registrableDomain(decoded);
  const stem = stemOf(registrable);
  const skel = skeleton(stem);
  const { distance } = require("fastest-levenshtein") as typeof import("fastest-levenshtein");
  const all = brandsOf(brands);
  // a brand's own domain imitates nothing (live.com is one edit from line.me, and both are real)
  if (all.some((b) => b.domain === registrable || b.domain === registrableDomain(name))) return undefined;
  const shown = decoded !== name ? ` (${decoded})` : "";
  const front = decoded === registrable ? [] : decoded.slice(0, -registrable.length - 1).split(".");
  for (const b of all) {
    if (skel === b.skeleton && stem !== b.stem) return { of: b.domain, how: `'${stem}' is confusable with '${b.stem}' (Unicode TR39 skeleton)${shown}` };
    if (stem === b.stem && b.stem.length >= 4) return { of: b.domain, how: `'${stem}' is ${b.domain}'s name under another suffix` };
    // typos only for names long enough that one edit is not another real word (box/bix, line/live)
    if (b.stem.length >= 5 && distance(skel, b.skeleton) <= (b.stem.length >= 8 ? 2 : 1)) return { of: b.domain, how: `'${stem}' is a typo of '${b.stem}'${shown}` };
    if (b.stem.length >= 3) {
      const written = brandInFront(front, b);
      if (written) return { of: b.domain, how: `it carries ${b.domain}${written !== b.domain ? ` (written '${written}')` : ""} in front of ${registrable}${shown}` };
    }
  }
  for (const b of brandsOf(WELL_KNOWN_BRANDS)) {
    if (brandInLabel(skel, b)) return { of: b.domain, how: `'${stem}' carries the name of ${b.domain}${shown}` };
  }
  for (const label of decoded.split(".")) {
    if (LATIN.test(label) && CONFUSABLE_SCRIPTS.test(label)) return { how: `the label '${label}' mixes Latin with look-alike letters of another script${shown}` };
  }
  return undefined;
}

/**
 * Why an automated source (a log, a vendor feed) may not put `raw` into an allowlist, or undefined: only exact
 * host names under a registrable domain are ever proposed or written; a wildcard is a person's decision, after
 * reading the vendor's documentation. Public suffixes of either section of the PSL (`github.io`,
 * `azurewebsites.net`) and address literals are refused with the rest.
 */
export function automatedNameRefusal(raw: string): string | undefined {
  const text = raw.trim().toLowerCase().replace(/\.$/, "");
  if (text.includes("*")) return "a wildcard: only a person adds one, after reading the vendor's documentation";
  if (isIpLiteral(text)) return "an IP address, not a name";
  const p = parseDomainPattern(text);
  if (typeof p === "string") return p;
  if (isPublicSuffix(p.name)) return `'${p.name}' is a public suffix (Public Suffix List, private section): anyone can publish under it`;
  return undefined;
}
