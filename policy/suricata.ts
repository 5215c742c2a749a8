/**
 * What a stateful rule group's Suricata rules let through, read the way the firewall's engine reads them — so a
 * check judges the rules the stack carries, not the rules our constructs meant to write. Shared by AP-NET-004 (is a
 * pass rule narrow?), AP-TEN-005 (does a pass rule reopen other tenants?) and the reviewer diff.
 *
 * Engine facts this follows:
 * - Suricata parses a rule's action and protocol case-insensitively (`PASS tcp …` is a pass rule: strcasecmp in
 *   SigParseAction / SigParseProto, OISF/suricata src/detect-parse.c).
 * - Addresses: `any`, `$VAR`, CIDRs, `!` negation, `[a,b]` lists (nested); ports: `any`, `n`, `a:b`, `a:`, `!`,
 *   `[…]`, `$VAR` (https://docs.suricata.io/en/latest/rules/intro.html#source-and-destination).
 * - AWS Network Firewall: a rule group's `rule_variables` define `$HOME_NET` and others; an undefined `EXTERNAL_NET`
 *   is the negation of HOME_NET, i.e. the internet
 *   (https://docs.aws.amazon.com/network-firewall/latest/developerguide/troubleshooting-rules.html).
 * - `tls.sni` and `http.host` are sticky buffers; `content` matches a substring unless `startswith` / `endswith`
 *   anchor it; `dotprefix` prepends a dot to the buffer, so `dotprefix; content:".x"; endswith` is x and every name
 *   below it (https://docs.suricata.io/en/latest/rules/transforms.html#dotprefix). `http_host` / `http_raw_host` are
 *   the older content modifiers for the same buffer, `tls_sni` the older keyword.
 */
import { ipToInt } from "../core/cidr";
import * as ipaddr from "ipaddr.js";
import { remembered } from "../core/remembered";

export interface SuricataRule {
  /** the rule as written (for messages) */
  readonly text: string;
  readonly action: string;
  readonly protocol: string;
  readonly source: string;
  readonly sourcePort: string;
  readonly direction: string;
  readonly destination: string;
  readonly destinationPort: string;
  readonly options: readonly { readonly keyword: string; readonly value?: string }[];
  readonly sid?: string;
}

/** Variables of one rule group: ip sets and port sets by name (without `$`). */
export interface RuleVariables {
  readonly ipSets: ReadonlyMap<string, readonly string[]>;
  readonly portSets: ReadonlyMap<string, readonly string[]>;
}

/** Splits on `sep` outside quotes, brackets and backslash escapes. */
function splitOutside(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === "[") depth++;
    else if (!quoted && c === "]") depth--;
    else if (!quoted && depth === 0 && c === sep) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

// Rule lines and address blocks (remembered, core/remembered.ts) are mostly the catalog's and the gateway's own, the
// same in every stack a synth worker checks, and several rules read each one.

/** The rules parseSuricataRule made: frozen, options and all, so what is worked out of one holds for its life. */
const frozenRules = new WeakSet<SuricataRule>();

/** One rule line, or why it is not one. */
export const parseSuricataRule: (line: string) => SuricataRule | string = remembered((line) => {
  const rule = parseRule(line);
  if (typeof rule === "string") return rule;
  for (const o of rule.options) Object.freeze(o);
  Object.freeze(rule.options);
  frozenRules.add(rule);
  return Object.freeze(rule);
});

function parseRule(line: string): SuricataRule | string {
  const text = line.trim();
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return "no option list in parentheses";
  // header fields, with [ … ] lists kept whole even if they hold spaces
  const header = splitOutside(text.slice(0, open).trim().replace(/\s+/g, " "), " ").filter((t) => t !== "");
  if (header.length !== 7) return `a header of ${header.length} fields (action protocol source port direction destination port)`;
  const options = splitOutside(text.slice(open + 1, close), ";")
    .map((o) => o.trim())
    .filter((o) => o !== "")
    .map((o) => {
      const colon = o.indexOf(":");
      return colon < 0 ? { keyword: o.toLowerCase() } : { keyword: o.slice(0, colon).trim().toLowerCase(), value: o.slice(colon + 1).trim() };
    });
  const [action, protocol, source, sourcePort, direction, destination, destinationPort] = header;
  return { text, action: action.toLowerCase(), protocol: protocol.toLowerCase(), source, sourcePort, direction, destination, destinationPort, options, sid: options.find((o) => o.keyword === "sid")?.value };
}

/**
 * The text of each rule in a rules string: one per line (a trailing backslash continues a line), comments and blanks
 * skipped. Every reader of rules strings splits them here, so that a rule counted for capacity is the rule judged.
 */
export function ruleLines(rulesString: unknown): string[] {
  return String(rulesString ?? "")
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** The rules of a rules string (see ruleLines), parsed; what cannot be read is kept with the reason. */
export function suricataRules(rulesString: string): { rules: SuricataRule[]; unreadable: { text: string; why: string }[] } {
  const rules: SuricataRule[] = [];
  const unreadable: { text: string; why: string }[] = [];
  for (const t of ruleLines(rulesString)) {
    const r = parseSuricataRule(t);
    if (typeof r === "string") unreadable.push({ text: t, why: r });
    else rules.push(r);
  }
  return { rules, unreadable };
}

/**
 * The Suricata form of a structured `stateful_rule` block (AWS converts these to Suricata itself:
 * https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_StatefulRule.html), so both forms get one judgement.
 */
export function statefulRuleText(r: Record<string, any>): string {
  const h = r.header ?? {};
  const opts = (r.rule_option ?? []).map((o: any) => `${o.keyword}${(o.settings ?? []).length ? `:${o.settings.join(",")}` : ""};`).join(" ");
  return `${r.action} ${h.protocol} ${h.source} ${h.source_port} ${String(h.direction).toUpperCase() === "ANY" ? "<>" : "->"} ${h.destination} ${h.destination_port} (${opts})`;
}

/** A rule group's variables (the `rule_variables` block of aws_networkfirewall_rule_group). */
export function ruleVariables(ruleGroup: Record<string, any> | undefined): RuleVariables {
  const vars = ruleGroup?.rule_variables ?? {};
  const ipSets = new Map<string, string[]>((vars.ip_sets ?? []).map((s: any) => [String(s.key), (s.ip_set?.definition ?? []).map(String)]));
  const portSets = new Map<string, string[]>((vars.port_sets ?? []).map((s: any) => [String(s.key), (s.port_set?.definition ?? []).map(String)]));
  return { ipSets, portSets };
}

// ---------------------------------------------------------------------------------------------- addresses and ports

/** An address or port field as a set: everything, or a union of ranges; `negated`/`unknown` make it unprovable. */
export interface FieldSet {
  readonly all: boolean;
  /** IPv4 ranges [first, last] as integers, or port ranges */
  readonly ranges: readonly (readonly [number, number])[];
  /** a negation (everything but something) or a name this file cannot resolve */
  readonly unbounded: string | undefined;
}

const EVERYTHING: FieldSet = { all: true, ranges: [], unbounded: undefined };

/** Ranges past which a union keeps each range once (every reader of a set treats it as a set: order and repeats mean nothing). */
const DISTINCT_FROM = 64;

function union(sets: FieldSet[]): FieldSet {
  if (sets.some((s) => s.all)) return EVERYTHING;
  let ranges = sets.flatMap((s) => s.ranges);
  // variables that list one another many times repeat the same ranges at every level: without this, a set held a
  // range for every path to it (see Expanded)
  if (ranges.length > DISTINCT_FROM) ranges = [...new Map(ranges.map((r) => [`${r[0]}:${r[1]}`, r])).values()];
  return { all: false, ranges, unbounded: sets.find((s) => s.unbounded)?.unbounded };
}

/**
 * Variables already expanded within one field, by depth and name. A set depends only on the field's text, its depth
 * and the variables, so each (depth, name) is worked out once: a hand-edited cdktf.out whose variables list themselves
 * or one another many times (A = [$A,$A,…]) made a walk of every path to the depth limit, width^9 fields.
 */
type Expanded = Map<string, FieldSet>;

function expandedOnce(expanded: Expanded, key: string, compute: () => FieldSet): FieldSet {
  const known = expanded.get(key);
  if (known) return known;
  const set = compute();
  expanded.set(key, set);
  return set;
}

/** Whether ranges cover [from, to] entirely. */
function coversRange(ranges: readonly (readonly [number, number])[], from: number, to: number): boolean {
  let next = from;
  for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
    if (a > next) return false;
    next = Math.max(next, b + 1);
    if (next > to) return true;
  }
  return next > to;
}

/** An address field (source or destination) as a set. */
export function addressSet(field: string, vars: RuleVariables, depth = 0, expanded?: Expanded): FieldSet {
  const f = field.trim();
  if (depth > 8) return { all: false, ranges: [], unbounded: `'${f}' is nested too deeply` };
  if (f.toLowerCase() === "any") return EVERYTHING;
  if (f.startsWith("!")) return { all: false, ranges: [], unbounded: `'${f}' is everything but something` };
  if (f.startsWith("[") && f.endsWith("]")) {
    const parts = splitOutside(f.slice(1, -1), ",").map((p) => p.trim()).filter((p) => p !== "");
    // a list with a negated member is the list minus that member: still bounded by the list's positive members
    const positive = parts.filter((p) => !p.startsWith("!"));
    const within = (expanded ??= new Map());
    return union(positive.map((p) => addressSet(p, vars, depth + 1, within)));
  }
  if (f.startsWith("$")) {
    const name = f.slice(1);
    const def = vars.ipSets.get(name);
    const within = (expanded ??= new Map());
    if (def) return expandedOnce(within, `${depth} ${name}`, () => union(def.map((d) => addressSet(d, vars, depth + 1, within))));
    if (name === "EXTERNAL_NET") return EVERYTHING;
    return { all: false, ranges: [], unbounded: `$${name} is not defined in the rule group` };
  }
  return cidrRange(f);
}

/** An address block (a CIDR or an address) as a set; frozen, since every caller shares it (remembered). */
const cidrRange: (text: string) => FieldSet = remembered((text) => {
  const set = blockRange(text);
  if (set === EVERYTHING) return set;
  for (const r of set.ranges) Object.freeze(r);
  Object.freeze(set.ranges);
  return Object.freeze(set);
});

function blockRange(text: string): FieldSet {
  const [address, bitsText] = text.split("/");
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) return { all: false, ranges: [], unbounded: `'${text}' is not an address` };
    const size = 2 ** (32 - bits);
    const first = Math.floor(ipToInt(address) / size) * size;
    if (bits === 0) return EVERYTHING;
    return { all: false, ranges: [[first, first + size - 1]], unbounded: undefined };
  }
  if (ipaddr.IPv6.isValid(address)) {
    const bits = bitsText === undefined ? 128 : Number(bitsText);
    if (bits === 0) return EVERYTHING;
    // IPv6 is judged by prefix only: a prefix shorter than /32 is larger than any provider's allocation to one network
    return bits < 32 ? { all: false, ranges: [], unbounded: `'${text}' is a large part of the IPv6 internet` } : { all: false, ranges: [], unbounded: undefined };
  }
  return { all: false, ranges: [], unbounded: `'${text}' is not an address` };
}

/** A port field as a set. */
export function portSet(field: string, vars: RuleVariables, depth = 0, expanded?: Expanded): FieldSet {
  const f = field.trim();
  if (depth > 8) return { all: false, ranges: [], unbounded: `'${f}' is nested too deeply` };
  if (f.toLowerCase() === "any") return EVERYTHING;
  if (f.startsWith("!")) return { all: false, ranges: [], unbounded: `'${f}' is every port but some` };
  if (f.startsWith("[") && f.endsWith("]")) {
    const within = (expanded ??= new Map());
    return union(splitOutside(f.slice(1, -1), ",").map((p) => p.trim()).filter((p) => p !== "" && !p.startsWith("!")).map((p) => portSet(p, vars, depth + 1, within)));
  }
  if (f.startsWith("$")) {
    const def = vars.portSets.get(f.slice(1));
    const within = (expanded ??= new Map());
    return def ? expandedOnce(within, `${depth} ${f}`, () => union(def.map((d) => portSet(d, vars, depth + 1, within)))) : { all: false, ranges: [], unbounded: `${f} is not defined in the rule group` };
  }
  const m = /^(\d*)(:?)(\d*)$/.exec(f);
  if (!m || (m[1] === "" && m[3] === "")) return { all: false, ranges: [], unbounded: `'${f}' is not a port` };
  const from = m[1] === "" ? 0 : Number(m[1]);
  const to = m[2] ? (m[3] === "" ? 65535 : Number(m[3])) : from;
  return { all: false, ranges: [[from, to]], unbounded: undefined };
}

/** Whether a set is every address (IPv4) or every port. */
export function isEverything(s: FieldSet, kind: "address" | "port"): boolean {
  return s.all || coversRange(s.ranges, kind === "address" ? 0 : 1, kind === "address" ? 2 ** 32 - 1 : 65535);
}

/** IPv4 addresses in a set (for "how wide"): a /8 is 16,777,216. */
export function addressCount(s: FieldSet): number {
  if (s.all) return 2 ** 32;
  const sorted = [...s.ranges].sort((x, y) => x[0] - y[0]);
  let count = 0;
  let next = 0;
  for (const [a, b] of sorted) {
    const from = Math.max(a, next);
    if (b >= from) count += b - from + 1;
    next = Math.max(next, b + 1);
  }
  return count;
}

/** Whether some address of the set lies inside one of `blocks` (CIDRs); an unbounded set might, so it counts. */
export function overlapsBlocks(s: FieldSet, blocks: readonly string[]): boolean {
  if (blocks.length === 0) return false;
  if (s.all || s.unbounded) return true;
  const inner = blocks.map(cidrRange).flatMap((b) => b.ranges);
  return s.ranges.some(([a, b]) => inner.some(([x, y]) => a <= y && x <= b));
}

/** Whether every address of the set lies inside one of `blocks` (CIDRs). */
export function withinBlocks(s: FieldSet, blocks: readonly string[]): boolean {
  if (s.all || s.unbounded || s.ranges.length === 0) return false;
  const inner = blocks.map(cidrRange).flatMap((b) => b.ranges);
  return s.ranges.every(([a, b]) => inner.some(([x, y]) => a >= x && b <= y));
}

// ---------------------------------------------------------------------------------------------- names

/**
 * What a pass rule lets through by name, on the TLS SNI or the HTTP Host: `exact` one name, `subtree` a name and
 * everything below it on a label boundary (AWS's ".x" targets), `suffix` names ending in the text without a label
 * boundary (content:"sharepoint.com"; endswith also matches evilsharepoint.com), `prefix` / `contains` names
 * starting with or containing the text — the last three match names of every domain.
 */
export interface NameMatch {
  readonly kind: "exact" | "subtree" | "suffix" | "prefix" | "contains";
  readonly text: string;
}

const NAME_BUFFERS = new Set(["tls.sni", "tls_sni", "http.host", "http_host", "http.host.raw", "http_raw_host"]);
const OTHER_STICKY = /^(tls\.|http\.|dns\.|file\.|ja3|ja4|ssh\.|smb\.|krb5|quic\.|sip\.|app-layer)/;

/** A content string with its |hex| bytes and escapes decoded, lower case (names compare case-insensitively). */
function contentText(value: string): { negated: boolean; text: string } {
  let v = value.trim();
  const negated = v.startsWith("!");
  if (negated) v = v.slice(1).trim();
  if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  v = v.replace(/\|([0-9a-fA-F ]+)\|/g, (_, hex: string) => String.fromCharCode(...hex.trim().split(/\s+/).map((h) => parseInt(h, 16))));
  return { negated, text: v.replace(/\\(.)/g, "$1").toLowerCase() };
}

/**
 * The most specific name restriction of a rule, `undefined` when the rule restricts no name, or a string saying why
 * the restriction cannot be read (a regular expression on the name, a certificate field instead of a name).
 */
export function nameRestriction(rule: SuricataRule): NameMatch | string | undefined {
  // a rule parseSuricataRule made is the same object in every stack that holds its line, and cannot change: its answer
  // is kept with it (a WeakMap: it goes when the rule does), frozen since every caller shares it
  if (!frozenRules.has(rule)) return nameRestrictionOf(rule);
  if (namesOfRule.has(rule)) return namesOfRule.get(rule);
  const found = nameRestrictionOf(rule);
  namesOfRule.set(rule, typeof found === "object" ? Object.freeze(found) : found);
  return found;
}

const namesOfRule = new WeakMap<SuricataRule, NameMatch | string | undefined>();

function nameRestrictionOf(rule: SuricataRule): NameMatch | string | undefined {
  let buffer: string | undefined;
  let dotprefix = false;
  const found: { text: string; dot: boolean; start: boolean; end: boolean }[] = [];
  let last: { text: string; dot: boolean; start: boolean; end: boolean; buffer?: string; negated: boolean } | undefined;
  let unreadable: string | undefined;
  const close = () => {
    if (last && !last.negated && last.buffer && NAME_BUFFERS.has(last.buffer)) found.push(last);
    last = undefined;
  };
  for (const o of rule.options) {
    const k = o.keyword;
    if (NAME_BUFFERS.has(k) && k !== "http_host" && k !== "http_raw_host") {
      close();
      buffer = k;
      dotprefix = false;
    } else if (k === "dotprefix") dotprefix = true;
    else if (k === "content") {
      close();
      const c = contentText(o.value ?? "");
      last = { text: c.text, dot: dotprefix, start: false, end: false, buffer, negated: c.negated };
    } else if (k === "startswith" && last) last.start = true;
    else if (k === "endswith" && last) last.end = true;
    else if ((k === "http_host" || k === "http_raw_host") && last) last.buffer = k;
    else if (k === "pcre" && buffer && NAME_BUFFERS.has(buffer)) unreadable = `a regular expression on ${buffer}`;
    else if (/^tls\.cert|^tls_cert|^tls\.subject|^tls\.issuer/.test(k)) unreadable = `${k}: a certificate field, not the name the client asked for`;
    else if (OTHER_STICKY.test(k) && !NAME_BUFFERS.has(k)) {
      close();
      buffer = k;
      dotprefix = false;
    }
  }
  close();
  const matches = found.map((c): NameMatch => {
    if (c.dot && c.text.startsWith(".")) {
      if (c.start && c.end) return { kind: "exact", text: c.text.slice(1) };
      if (c.end) return { kind: "subtree", text: c.text.slice(1) };
    }
    if (c.start && c.end) return { kind: "exact", text: c.text };
    if (c.end) return c.text.startsWith(".") ? { kind: "subtree", text: c.text.slice(1) } : { kind: "suffix", text: c.text };
    return { kind: c.start ? "prefix" : "contains", text: c.text };
  });
  const order: NameMatch["kind"][] = ["exact", "subtree", "suffix", "prefix", "contains"];
  matches.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  if (matches.length) return matches[0];
  return unreadable;
}

/** A name restriction in words, for messages. */
export function describeNameMatch(m: NameMatch): string {
  switch (m.kind) {
    case "exact":
      return m.text;
    case "subtree":
      return `*.${m.text}`;
    case "suffix":
      return `every name ending in '${m.text}'`;
    case "prefix":
      return `every name starting with '${m.text}'`;
    case "contains":
      return `every name containing '${m.text}'`;
  }
}

/** A stateful rule group's rules, parsed once for every reader: its variables, its rules, what cannot be read. */
export interface RuleGroupRules {
  /** the rule group's resource address */
  readonly address: string;
  readonly vars: RuleVariables;
  /** the rules string's rules (see ruleLines), then the structured `stateful_rule` blocks */
  readonly rules: readonly SuricataRule[];
  /** the lines of the rules string that do not parse, with the reason */
  readonly unreadable: readonly { readonly text: string; readonly why: string }[];
}

/** The rules of every rule group of a stack's resources (stateful or not: a rules string is read wherever it is). */
export function ruleGroupRules(resources: Iterable<[string, Record<string, any>]>): RuleGroupRules[] {
  const out: RuleGroupRules[] = [];
  for (const [address, body] of resources) {
    if (!address.startsWith("aws_networkfirewall_rule_group.")) continue;
    const src = body.rule_group?.rules_source ?? {};
    const vars = ruleVariables(body.rule_group);
    const parsed = suricataRules(String(src.rules_string ?? ""));
    const rules = [...parsed.rules];
    for (const r of src.stateful_rule ?? []) {
      const p = parseSuricataRule(statefulRuleText(r));
      if (typeof p !== "string") rules.push(p);
    }
    out.push({ address, vars, rules, unreadable: parsed.unreadable });
  }
  return out;
}

/** Every Suricata rule of every stateful rule group of a stack's resources, with the group's variables. */
export function statefulRules(resources: Iterable<[string, Record<string, any>]>): { address: string; rule: SuricataRule; vars: RuleVariables }[] {
  return rulesOf(ruleGroupRules(resources));
}

/** The rules of parsed rule groups (ruleGroupRules), each with its group's address and variables. */
export function rulesOf(groups: readonly RuleGroupRules[]): { address: string; rule: SuricataRule; vars: RuleVariables }[] {
  return groups.flatMap((g) => g.rules.map((rule) => ({ address: g.address, rule, vars: g.vars })));
}
