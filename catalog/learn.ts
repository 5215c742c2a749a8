/**
 * `alpha-prime learn <id> --from <files…>`: which names a trial of a new cloud service needed, read from what the
 * gateway blocked (Kaga: 複数のドメインと通信するクラウドサービスがあったら、その追加設定がスムーズにいかない).
 *
 * Inputs, as AWS delivers them to the log bucket (JSON lines, gzip or plain) or as a browser saves them:
 * - Network Firewall alert logs: Suricata EVE `alert` events wrapped in firewall_name / availability_zone /
 *   event_timestamp / event; the name is event.tls.sni or event.http.hostname.
 *   https://docs.aws.amazon.com/network-firewall/latest/developerguide/firewall-logging-contents.html
 * - Route 53 Resolver query logs with DNS Firewall decisions (query_name, srcaddr, firewall_rule_action).
 *   https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-query-logs-example-json.html
 * - A HAR export from a trial on an internet-connected PC (log.entries[].request.url), http://www.softwareishard.com/blog/har-12-spec/
 *
 * Only blocked names from the LGWAN segments count (a HAR has no such filter: it is the trial itself); names the
 * municipality already allows are dropped. Names are grouped by registrable domain with the Public Suffix List
 * (tldts), ranked by clients then hits; names a managed threat signature flagged and look-alikes of catalog domains
 * are marked and never proposed. Nothing is written unless --write, and then only that municipality's env file,
 * through the same validation as `validate`.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import * as ipaddr from "ipaddr.js";
import { getDomain } from "tldts";
import { isMap, isScalar, isSeq, parseDocument, Scalar } from "yaml";
import { domainMatches, parseDomainPattern } from "./domains";
import { ConfigError } from "../core/errors";
import { loadFiles } from "../config/load";
import { normalizeHostName } from "../config/semantic";
import type { MunicipalityConfig } from "../config/types";
import { SaasCatalog } from "./saas-catalog";
import { effectiveAllowlist } from "../stacks/allowlist";
import { readInputFile } from "../core/input-file";

/** Larger than a day of a large city's alert logs, small enough that a wrong file cannot exhaust memory. */
const MAX_INPUT_BYTES = 512 * 1024 * 1024;

export type Source = "firewall" | "dns" | "har";

interface Observation {
  readonly name: string;
  readonly client: string;
  readonly source: Source;
  readonly threat?: string;
}

export interface FileSummary {
  readonly file: string;
  readonly kind: "firewall alert log" | "resolver query log" | "HAR" | "mixed log";
  readonly used: number;
  readonly outsideLgwan: number;
  readonly notBlocked: number;
  readonly unreadable: number;
}

export interface LearnedGroup {
  /** registrable domain (Public Suffix List, private section included) */
  readonly domain: string;
  readonly names: string[];
  readonly clients: number;
  readonly hits: number;
  readonly sources: Source[];
  /** a managed threat signature flagged one of its names */
  readonly threat?: string;
  /** the catalog domain it imitates */
  readonly lookalikeOf?: string;
}

export interface LearnReport {
  readonly id: string;
  readonly files: FileSummary[];
  readonly groups: LearnedGroup[];
  /** what to add to breakout.extraDomains: the names of groups that are neither threats nor look-alikes */
  readonly proposal: string[];
}

export class LearnInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LearnInputError";
  }
}

function readText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readInputFile(file, MAX_INPUT_BYTES, "a log file learn reads");
  } catch (e) {
    throw new LearnInputError((e as Error).message);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes, { maxOutputLength: MAX_INPUT_BYTES });
    } catch (e) {
      // a gzip cut short still yields what it holds
      try {
        bytes = zlib.gunzipSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: MAX_INPUT_BYTES });
      } catch {
        throw new LearnInputError(`${file}: not a readable gzip file (${(e as Error).message})`);
      }
    }
  }
  return bytes.toString("utf8");
}

function inAny(ip: unknown, segments: [ipaddr.IPv4, number][]): boolean {
  if (typeof ip !== "string" || !ipaddr.IPv4.isValidFourPartDecimal(ip)) return false;
  const a = ipaddr.IPv4.parse(ip);
  return segments.some(([net, bits]) => a.match(net, bits));
}

/**
 * An alert of the AWS-managed threat groups: threat signatures carry a Suricata classtype (category), managed domain
 * lists name what they caught (malware, botnet, phishing). Our own drops (the domain allowlist, the default drop)
 * carry neither. When in doubt a name is marked: a marked name is shown, never proposed.
 */
function threatOf(alert: Record<string, any>): string | undefined {
  const category = typeof alert.category === "string" ? alert.category : "";
  const signature = typeof alert.signature === "string" ? alert.signature : "";
  if (/allowlist|alpha-prime|aws:(drop|alert)_/i.test(signature)) return undefined;
  if (category) return `${signature || "threat signature"} (${category})`;
  if (/malware|botnet|phish|command.and.control|\bc2\b|trojan|exploit|coinminer/i.test(signature)) return signature;
  return undefined;
}

function hostOf(url: unknown): string | undefined {
  if (typeof url !== "string") return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** Reads one input file into observations, or says why it is not one learn can read. */
export function readObservations(file: string, lgwanSegments: readonly string[]): { observations: Observation[]; summary: FileSummary } {
  const text = readText(file);
  const segments = lgwanSegments.map((c) => ipaddr.IPv4.parseCIDR(c));
  const observations: Observation[] = [];
  let outsideLgwan = 0;
  let notBlocked = 0;
  let unreadable = 0;
  const kinds = new Set<FileSummary["kind"]>();

  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") && /"log"\s*:/.test(trimmed.slice(0, 200))) {
    let har: any;
    try {
      har = JSON.parse(text);
    } catch (e) {
      throw new LearnInputError(`${file}: looks like a HAR file but is not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(har?.log?.entries)) throw new LearnInputError(`${file}: a JSON file without log.entries: not a HAR export`);
    for (const entry of har.log.entries) {
      const host = hostOf(entry?.request?.url);
      if (!host || /^[\d.]+$/.test(host) || host.includes(":")) {
        unreadable++;
        continue;
      }
      observations.push({ name: normalizeHostName(host), client: `har:${path.basename(file)}`, source: "har" });
    }
    return { observations, summary: { file, kind: "HAR", used: observations.length, outsideLgwan, notBlocked, unreadable } };
  }

  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let rec: any;
    try {
      rec = JSON.parse(line);
    } catch {
      unreadable++; // a line cut short by a rotation or a copy
      continue;
    }
    if (rec && typeof rec === "object" && rec.event && typeof rec.firewall_name === "string") {
      kinds.add("firewall alert log");
      const ev = rec.event;
      if (ev.event_type !== "alert") continue; // flow records carry no name
      if (ev.alert?.action !== "blocked") {
        notBlocked++;
        continue;
      }
      if (!inAny(ev.src_ip, segments)) {
        outsideLgwan++;
        continue;
      }
      const name = ev.tls?.sni ?? ev.http?.hostname;
      if (typeof name !== "string" || !name) {
        unreadable++;
        continue;
      }
      observations.push({ name: normalizeHostName(name), client: ev.src_ip, source: "firewall", threat: threatOf(ev.alert) });
    } else if (rec && typeof rec === "object" && typeof rec.query_name === "string" && "srcaddr" in rec) {
      kinds.add("resolver query log");
      if (rec.firewall_rule_action !== "BLOCK") {
        notBlocked++;
        continue;
      }
      if (!inAny(rec.srcaddr, segments)) {
        outsideLgwan++;
        continue;
      }
      const name = normalizeHostName(rec.query_name);
      if (name.endsWith(".arpa")) continue; // reverse lookups name no service
      observations.push({ name, client: rec.srcaddr, source: "dns" });
    } else {
      unreadable++;
    }
  }
  if (kinds.size === 0) throw new LearnInputError(`${file}: not a Network Firewall alert log, a Route 53 Resolver query log or a HAR export (no record of either kind)`);
  const kind = kinds.size > 1 ? "mixed log" : [...kinds][0];
  return { observations, summary: { file, kind, used: observations.length, outsideLgwan, notBlocked, unreadable } };
}

/** The registrable part of a name's first label, for look-alike comparison ("micr0soft" of "micr0soft.com"). */
function stem(domain: string): string {
  return domain.split(".")[0];
}

export function learn(config: MunicipalityConfig, files: readonly string[], catalog = SaasCatalog.default()): LearnReport {
  if (!files.length) throw new LearnInputError("--from names no file");
  const allowlist = effectiveAllowlist(config, catalog);
  const summaries: FileSummary[] = [];
  const all: Observation[] = [];
  for (const f of files) {
    const r = readObservations(f, config.network.lgwanSegments);
    summaries.push(r.summary);
    all.push(...r.observations);
  }
  const catalogDomains = [...new Set(catalog.entries.flatMap((e) => e.domains.map((d) => getDomain(d.replace(/^\*\./, ""), { allowPrivateDomains: true }) ?? d)))];
  const groups = new Map<string, { names: Set<string>; clients: Set<string>; hits: number; sources: Set<Source>; threat?: string }>();
  for (const o of all) {
    if (typeof parseDomainPattern(o.name) === "string") continue; // not a name the allowlist could hold
    if (allowlist.domains.some((d) => domainMatches(d, o.name))) continue; // already allowed
    const domain = getDomain(o.name, { allowPrivateDomains: true }) ?? o.name;
    const g = groups.get(domain) ?? { names: new Set<string>(), clients: new Set<string>(), hits: 0, sources: new Set<Source>() };
    g.names.add(o.name);
    g.clients.add(o.client);
    g.hits++;
    g.sources.add(o.source);
    if (o.threat) g.threat ??= o.threat;
    groups.set(domain, g);
  }
  const { distance } = require("fastest-levenshtein") as typeof import("fastest-levenshtein");
  const learned: LearnedGroup[] = [...groups.entries()].map(([domain, g]) => {
    const lookalikeOf = catalogDomains.find((c) => c !== domain && stem(c).length >= 4 && distance(stem(c), stem(domain)) <= (stem(c).length >= 8 ? 2 : 1));
    return { domain, names: [...g.names].sort(), clients: g.clients.size, hits: g.hits, sources: [...g.sources].sort(), ...(g.threat ? { threat: g.threat } : {}), ...(lookalikeOf ? { lookalikeOf } : {}) };
  });
  learned.sort((a, b) => b.clients - a.clients || b.hits - a.hits || a.domain.localeCompare(b.domain));
  const proposal = learned.filter((g) => !g.threat && !g.lookalikeOf).flatMap((g) => g.names);
  return { id: config.id, files: summaries, groups: learned, proposal };
}

export function learnTable(r: LearnReport): string {
  const lines = [`learn ${r.id}: ${r.files.map((f) => `${path.basename(f.file)} (${f.kind}: ${f.used} used, ${f.outsideLgwan} outside the LGWAN segments, ${f.notBlocked} not blocked, ${f.unreadable} unreadable)`).join("; ")}`, ""];
  if (!r.groups.length) return [...lines, "No blocked name from the LGWAN segments that the allowlist lacks.", ""].join("\n");
  lines.push("| registrable domain | names | clients | hits | from | note |", "|---|---|---|---|---|---|");
  for (const g of r.groups) {
    const note = g.threat ? `THREAT: ${g.threat} — do not add` : g.lookalikeOf ? `LOOK-ALIKE of ${g.lookalikeOf} — do not add` : "";
    lines.push(`| ${g.domain} | ${g.names.join(" ")} | ${g.clients} | ${g.hits} | ${g.sources.join(", ")} | ${note} |`);
  }
  lines.push("", "Proposed for env/" + r.id + ".yaml (review each name before adding it):", "", learnYaml(r));
  return lines.join("\n");
}

/** A ready YAML snippet: the proposed names under breakout.extraDomains, each with where it was seen. */
export function learnYaml(r: LearnReport): string {
  if (!r.proposal.length) return "# nothing to propose\n";
  const byName = new Map(r.groups.flatMap((g) => g.names.map((n) => [n, g] as const)));
  const lines = ["breakout:", "  extraDomains:"];
  for (const n of r.proposal) {
    const g = byName.get(n)!;
    lines.push(`    - ${n}    # ${g.domain}: ${g.clients} client(s), ${g.hits} hit(s), ${g.sources.join("+")}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Adds the proposal to the municipality's env file as a minimal text edit (every other byte, comment and alignment
 * stays as the municipality wrote it, so the reviewer diff is the added names), after the edited text passed the
 * same validation as `validate`; nothing is written otherwise.
 */
export function writeProposal(file: string, r: LearnReport, write: (file: string, text: string) => void): string[] {
  const text = fs.readFileSync(file, "utf8");
  const doc = parseDocument(text);
  const breakout = doc.get("breakout", true);
  if (!isMap(breakout)) throw new LearnInputError(`${file}: no breakout mapping to add extraDomains to`);
  const seq = breakout.get("extraDomains", true);
  if (seq !== undefined && !isSeq(seq)) throw new LearnInputError(`${file}: breakout.extraDomains is not a list`);
  const present = new Set((seq?.items ?? []).map((i) => String((i as Scalar).value)));
  const added = r.proposal.filter((n) => !present.has(n));
  if (!added.length) return [];
  const scalar = (n: string) => (/^[a-z0-9.-]+$/.test(n) ? n : JSON.stringify(n));
  const lineEnd = (at: number) => (text.indexOf("\n", at) < 0 ? text.length : text.indexOf("\n", at));
  const lineStart = (at: number) => text.lastIndexOf("\n", at - 1) + 1;
  let edited: string;
  if (!seq) {
    // a new key right after breakout.saas, indented like it
    const saas = breakout.items.find((p) => isScalar(p.key) && p.key.value === "saas");
    const keyAt = (saas?.key as Scalar | undefined)?.range?.[0];
    const valueEnd = (saas?.value as Scalar | undefined)?.range?.[1];
    if (keyAt === undefined || valueEnd === undefined) throw new LearnInputError(`${file}: breakout.saas not found`);
    const at = lineEnd(valueEnd - 1);
    edited = `${text.slice(0, at)}\n${" ".repeat(keyAt - lineStart(keyAt))}extraDomains: [${added.map(scalar).join(", ")}]${text.slice(at)}`;
  } else if (seq.flow) {
    const [from, to] = seq.range!;
    const items = seq.items.map((i) => text.slice((i as Scalar).range![0], (i as Scalar).range![1]));
    edited = `${text.slice(0, from)}[${[...items, ...added.map(scalar)].join(", ")}]${text.slice(to)}`;
  } else {
    const last = seq.items[seq.items.length - 1] as Scalar;
    const dash = text.lastIndexOf("-", last.range![0]);
    const at = lineEnd(last.range![1] - 1);
    edited = `${text.slice(0, at)}${added.map((n) => `\n${" ".repeat(dash - lineStart(dash))}- ${scalar(n)}`).join("")}${text.slice(at)}`;
  }
  const scratch = fs.mkdtempSync(path.join(path.dirname(file), ".alpha-prime-learn-"));
  try {
    const copy = path.join(scratch, path.basename(file));
    fs.writeFileSync(copy, edited);
    const issues = loadFiles([copy]).issues;
    if (issues.length) throw new ConfigError(issues.map((i) => ({ ...i, file: path.relative(process.cwd(), file) || file })));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  write(file, edited);
  return added;
}
