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
 * Logs are streamed line by line (a day of a large city's Resolver log is hundreds of thousands of records): memory
 * is bounded by the number of distinct names kept (MAX_NAMES), not by the size of the input. A record that cannot
 * be read is named by file and line. Only blocked names from the LGWAN segments count (a HAR has no such filter: it
 * is the trial itself); names the municipality already allows are dropped.
 *
 * What the log says is input from anyone with a PC (`nslookup *.sharepoint.com` writes a Resolver record), so a name
 * is proposed only when it is an exact host name under a registrable domain (no wildcard, no public suffix of either
 * PSL section, no address), does not reopen another tenant of a tenant-restricted service (SaasCatalog.tenantBreach),
 * was not flagged by a managed threat signature, and does not imitate an allowlisted or well-known domain (Unicode
 * TR39 skeletons, IDN labels decoded). Everything else is shown with the reason and never proposed. Nothing is written
 * unless asked, and then only that municipality's env file, after the edited text passed the caller's validation.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import * as ipaddr from "ipaddr.js";
import { isMap, isScalar, isSeq, parseDocument, Scalar } from "yaml";
import { automatedNameRefusal, domainMatches, DomainPattern, formatDomainPattern, imitationOf, normalizeHostName, parseDomainPattern, registrableDomain, unicodeName, WELL_KNOWN_BRANDS } from "./domains";
import { domainAllowlist } from "./allowlist";
import { SaasCatalog } from "./saas-catalog";
import { oneLine } from "../core/terminal-text";
import { checkInputFile, readInputFile } from "../core/input-file";
import type { MunicipalityConfig } from "../config/types";

/** A HAR is one JSON document, read whole: larger than any trial's export, small enough for memory. */
const MAX_HAR_BYTES = 256 * 1024 * 1024;
/** Logs are streamed; this only catches a wrong file (a disk image) before hours of reading. */
const MAX_LOG_BYTES = 64 * 1024 * 1024 * 1024;
/** A log record is well under 4 KB; a longer line is a bad record, and is skipped without being held. */
const MAX_LINE_BYTES = 64 * 1024;
/** Distinct names kept: far above any trial, and what bounds memory whatever the input's size. */
export const MAX_NAMES = 100_000;
/** Distinct clients counted per name; more is shown as this number. */
const MAX_CLIENTS = 10_000;
/** Bad records named per file. */
const BAD_RECORDS_SHOWN = 10;

export type Source = "firewall" | "dns" | "har";

export interface BadRecord {
  readonly line: number;
  readonly reason: string;
}

export interface FileSummary {
  readonly file: string;
  readonly kind: "firewall alert log" | "resolver query log" | "HAR" | "mixed log";
  readonly used: number;
  readonly outsideLgwan: number;
  readonly notBlocked: number;
  readonly unreadable: number;
  /** the first unreadable records, by line (a HAR: by entry number) */
  readonly badRecords: BadRecord[];
}

export interface LearnedGroup {
  /** registrable domain (Public Suffix List, private section included) */
  readonly domain: string;
  /** the names that may be proposed (exact host names) */
  readonly names: string[];
  /** names seen but never proposed, each with the reason */
  readonly refused: { readonly name: string; readonly why: string }[];
  readonly clients: number;
  readonly hits: number;
  readonly sources: Source[];
  /** a managed threat signature flagged one of its names */
  readonly threat?: string;
  /** the allowlisted or well-known domain it imitates */
  readonly lookalikeOf?: string;
  /** how it imitates (TR39 skeleton, a typo, mixed scripts, another suffix) */
  readonly lookalike?: string;
  /** the decoded form of an IDN name, as a person reads it */
  readonly unicode?: string;
}

export interface LearnReport {
  readonly id: string;
  readonly files: FileSummary[];
  readonly groups: LearnedGroup[];
  /** what to add to breakout.extraDomains: the names of groups that are neither threats nor look-alikes */
  readonly proposal: string[];
  /** distinct names beyond MAX_NAMES, counted but not kept */
  readonly namesNotKept: number;
}

export class LearnInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LearnInputError";
  }
}

interface NameStats {
  clients: Set<string>;
  hits: number;
  sources: Set<Source>;
  threat?: string;
}

/** The running tally of one learn run: bounded by MAX_NAMES whatever is read. */
export class Tally {
  readonly names = new Map<string, NameStats>();
  /** records of names beyond MAX_NAMES: counted, not kept */
  notKept = 0;

  add(name: string, client: string, source: Source, threat?: string): void {
    let s = this.names.get(name);
    if (!s) {
      if (this.names.size >= MAX_NAMES) {
        this.notKept++;
        return;
      }
      s = { clients: new Set(), hits: 0, sources: new Set() };
      this.names.set(name, s);
    }
    if (s.clients.size < MAX_CLIENTS) s.clients.add(client);
    s.hits++;
    s.sources.add(source);
    if (threat) s.threat ??= threat;
  }
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

/** A name as a log gives it, lower case without the root's dot; what is not a string of host-name length is no name. */
function nameOf(v: unknown): string | undefined {
  if (typeof v !== "string" || v.length === 0 || v.length > 300) return undefined;
  return normalizeHostName(v);
}

/** Lines of a file, gunzipped when it is gzip, as a stream: a line longer than MAX_LINE_BYTES arrives as `undefined`. */
async function* linesOf(file: string): AsyncGenerator<string | undefined> {
  const fd = fs.openSync(file, "r");
  const magic = Buffer.alloc(2);
  fs.readSync(fd, magic, 0, 2, 0);
  fs.closeSync(fd);
  const raw = fs.createReadStream(file);
  // a gzip cut short (a copy interrupted) still yields what it holds: the sync flush ends it without an error
  const input = magic[0] === 0x1f && magic[1] === 0x8b ? raw.pipe(zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH })) : raw;
  raw.on("error", (e) => input.destroy(e));
  let carry: Buffer[] = [];
  let carried = 0;
  let overlong = false;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, start); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, nl);
        if (overlong || carried + piece.length > MAX_LINE_BYTES) yield undefined;
        else yield Buffer.concat([...carry, piece]).toString("utf8");
        carry = [];
        carried = 0;
        overlong = false;
        start = nl + 1;
      }
      const rest = chunk.subarray(start);
      if (overlong) continue;
      if (carried + rest.length > MAX_LINE_BYTES) {
        overlong = true; // dropped as it streams: never held whole
        carry = [];
        carried = 0;
      } else if (rest.length) {
        carry.push(Buffer.from(rest));
        carried += rest.length;
      }
    }
  } catch (e) {
    throw new LearnInputError(`${file}: cannot be read to the end (${(e as Error).message})`);
  }
  if (overlong) yield undefined;
  else if (carried) yield Buffer.concat(carry).toString("utf8");
}

/** The first bytes of a file (decompressed when gzip), to tell a HAR from a log. */
function sniff(file: string): string {
  const fd = fs.openSync(file, "r");
  const head = Buffer.alloc(4096);
  const n = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  let bytes = head.subarray(0, n);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      return "";
    }
  }
  return bytes.toString("utf8");
}

function checkFile(file: string, max: number, what: string): void {
  try {
    checkInputFile(file, max, what);
  } catch (e) {
    throw new LearnInputError((e as Error).message);
  }
}

/** Reads one input file into the tally, or says why it is not one learn can read. */
export async function readObservations(file: string, lgwanSegments: readonly string[], tally: Tally): Promise<FileSummary> {
  checkFile(file, MAX_LOG_BYTES, "a log file learn reads");
  const segments = lgwanSegments.map((c) => ipaddr.IPv4.parseCIDR(c));
  let used = 0;
  let outsideLgwan = 0;
  let notBlocked = 0;
  let unreadable = 0;
  const badRecords: BadRecord[] = [];
  const bad = (line: number, reason: string) => {
    unreadable++;
    if (badRecords.length < BAD_RECORDS_SHOWN) badRecords.push({ line, reason });
  };
  const kinds = new Set<FileSummary["kind"]>();

  const head = sniff(file).trimStart();
  if (head.startsWith("{") && /"log"\s*:/.test(head.slice(0, 200))) {
    checkFile(file, MAX_HAR_BYTES, "a HAR export");
    let har: any;
    try {
      const bytes = readInputFile(file, MAX_HAR_BYTES, "a HAR export");
      har = JSON.parse((bytes[0] === 0x1f && bytes[1] === 0x8b ? zlib.gunzipSync(bytes, { maxOutputLength: MAX_HAR_BYTES }) : bytes).toString("utf8"));
    } catch (e) {
      throw new LearnInputError(`${file}: looks like a HAR file but is not valid JSON (${oneLine((e as Error).message).slice(0, 200)})`);
    }
    if (!Array.isArray(har?.log?.entries)) throw new LearnInputError(`${file}: a JSON file without log.entries: not a HAR export`);
    har.log.entries.forEach((entry: any, i: number) => {
      let host: string | undefined;
      try {
        host = typeof entry?.request?.url === "string" ? new URL(entry.request.url).hostname : undefined;
      } catch {
        host = undefined;
      }
      if (!host) return bad(i + 1, "an entry without a request URL");
      used++;
      tally.add(normalizeHostName(host.replace(/^\[|\]$/g, "")), `har:${path.basename(file)}`, "har");
    });
    return { file, kind: "HAR", used, outsideLgwan, notBlocked, unreadable, badRecords };
  }

  let line = 0;
  for await (const text of linesOf(file)) {
    line++;
    if (text === undefined) {
      bad(line, `a line longer than ${MAX_LINE_BYTES} bytes`);
      continue;
    }
    if (!text.trim()) continue;
    let rec: any;
    try {
      rec = JSON.parse(text);
    } catch {
      bad(line, "not a JSON record (cut short by a rotation or a copy?)");
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
      const name = nameOf(ev.tls?.sni ?? ev.http?.hostname);
      if (!name) {
        bad(line, "a blocked alert without a name (tls.sni or http.hostname)");
        continue;
      }
      used++;
      tally.add(name, ev.src_ip, "firewall", threatOf(ev.alert ?? {}));
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
      const name = nameOf(rec.query_name);
      if (!name) {
        bad(line, "a query without a usable name");
        continue;
      }
      if (name.endsWith(".arpa")) continue; // reverse lookups name no service
      used++;
      tally.add(name, rec.srcaddr, "dns");
    } else {
      bad(line, "neither a Network Firewall alert nor a Resolver query record");
    }
  }
  if (kinds.size === 0) {
    const first = badRecords[0];
    throw new LearnInputError(`${file}: not a Network Firewall alert log, a Route 53 Resolver query log or a HAR export (no record of either kind${first ? `; line ${first.line}: ${first.reason}` : ""})`);
  }
  const kind = kinds.size > 1 ? "mixed log" : [...kinds][0];
  return { file, kind, used, outsideLgwan, notBlocked, unreadable, badRecords };
}

/** Why a name seen in a log may not be proposed for this municipality, or undefined (tenant rule included). */
function refusalOf(name: string, config: MunicipalityConfig, catalog: SaasCatalog): string | undefined {
  const why = automatedNameRefusal(name);
  if (why) return why;
  const selected = new Set(config.breakout.saas);
  const waived = new Set(config.breakout.tenantWaivers.map((w) => w.saas).filter((s) => selected.has(s)));
  const breach = catalog.tenantBreach(parseDomainPattern(name) as DomainPattern, config.breakout.tenants, waived);
  if (breach) return `another tenant: under ${breach.wildcard}, which the tenant restriction of ${breach.services.join(" / ")} narrows to the municipality's own tenant`;
  return undefined;
}

export async function learn(config: MunicipalityConfig, files: readonly string[], catalog = SaasCatalog.default()): Promise<LearnReport> {
  if (!files.length) throw new LearnInputError("no input file given");
  const allowlist = domainAllowlist(config, catalog).domains;
  const tally = new Tally();
  const summaries: FileSummary[] = [];
  for (const f of files) summaries.push(await readObservations(f, config.network.lgwanSegments, tally));

  const brands = [...WELL_KNOWN_BRANDS, ...catalog.entries.flatMap((e) => e.domains), ...allowlist.map(formatDomainPattern)];
  const groups = new Map<string, { names: string[]; refused: { name: string; why: string }[]; clients: Set<string>; hits: number; sources: Set<Source>; threat?: string; imitation?: ReturnType<typeof imitationOf>; unicode?: string }>();
  for (const [name, s] of tally.names) {
    const why = refusalOf(name, config, catalog);
    if (!why && allowlist.some((d) => domainMatches(d, name))) continue; // already allowed
    const domain = registrableDomain(name.replace(/^\*\./, ""));
    const g = groups.get(domain) ?? { names: [], refused: [], clients: new Set<string>(), hits: 0, sources: new Set<Source>() };
    if (why) g.refused.push({ name, why });
    else {
      g.names.push(name);
      g.imitation ??= imitationOf(name, brands);
    }
    for (const c of s.clients) if (g.clients.size < MAX_CLIENTS) g.clients.add(c);
    g.hits += s.hits;
    for (const x of s.sources) g.sources.add(x);
    if (s.threat) g.threat ??= s.threat;
    const u = unicodeName(domain);
    if (u && u !== domain) g.unicode = u;
    groups.set(domain, g);
  }
  const learned: LearnedGroup[] = [...groups.entries()].map(([domain, g]) => ({
    domain,
    names: g.names.sort(),
    refused: g.refused.sort((a, b) => a.name.localeCompare(b.name)),
    clients: g.clients.size,
    hits: g.hits,
    sources: [...g.sources].sort(),
    ...(g.threat ? { threat: g.threat } : {}),
    ...(g.imitation ? { lookalikeOf: g.imitation.of ?? "(mixed scripts)", lookalike: g.imitation.how } : {}),
    ...(g.unicode ? { unicode: g.unicode } : {}),
  }));
  learned.sort((a, b) => b.clients - a.clients || b.hits - a.hits || a.domain.localeCompare(b.domain));
  const proposal = learned.filter((g) => !g.threat && !g.lookalikeOf).flatMap((g) => g.names);
  return { id: config.id, files: summaries, groups: learned, proposal, namesNotKept: tally.notKept };
}

/** A table cell from log text: one line, escaped as the terminal and the diff escape, no column break, bounded. */
function cell(text: string, max = 160): string {
  const t = oneLine(text).replace(/\|/g, "\\|");
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

export function learnTable(r: LearnReport): string {
  const lines = [`learn ${r.id}: ${r.files.map((f) => `${cell(path.basename(f.file))} (${f.kind}: ${f.used} used, ${f.outsideLgwan} outside the LGWAN segments, ${f.notBlocked} not blocked, ${f.unreadable} unreadable)`).join("; ")}`];
  for (const f of r.files) for (const b of f.badRecords) lines.push(`  ${cell(f.file)}:${b.line}: ${cell(b.reason)}`);
  if (r.namesNotKept) lines.push(`  ${r.namesNotKept} record(s) of names beyond the first ${MAX_NAMES} distinct names were counted but not kept`);
  lines.push("");
  if (!r.groups.length) return [...lines, "No blocked name from the LGWAN segments that the allowlist lacks.", ""].join("\n");
  lines.push("| registrable domain | names | clients | hits | from | note |", "|---|---|---|---|---|---|");
  for (const g of r.groups) {
    const notes = [
      ...(g.threat ? [`THREAT: ${g.threat} — do not add`] : []),
      ...(g.lookalikeOf ? [`LOOK-ALIKE of ${g.lookalikeOf} (${g.lookalike}) — do not add`] : []),
      ...g.refused.map((x) => `NOT PROPOSED ${x.name}: ${x.why}`),
    ];
    const domain = g.unicode ? `${g.domain} (${g.unicode})` : g.domain;
    lines.push(`| ${cell(domain)} | ${cell(g.names.join(" "), 400)} | ${g.clients} | ${g.hits} | ${g.sources.join(", ")} | ${cell(notes.join("; "), 400)} |`);
  }
  lines.push("", "Proposed for env/" + r.id + ".yaml (review each name before adding it):", "", learnYaml(r));
  return lines.join("\n");
}

/** A YAML scalar for a name: plain when it can only read as that text, quoted otherwise. */
function yamlName(n: string): string {
  return /^[a-z0-9][a-z0-9.-]*$/.test(n) ? n : JSON.stringify(n);
}

/** A ready YAML snippet: the proposed names under breakout.extraDomains, each with where it was seen. */
export function learnYaml(r: LearnReport): string {
  if (!r.proposal.length) return "# nothing to propose\n";
  const byName = new Map(r.groups.flatMap((g) => g.names.map((n) => [n, g] as const)));
  const lines = ["breakout:", "  extraDomains:"];
  for (const n of r.proposal) {
    const g = byName.get(n)!;
    lines.push(`    - ${yamlName(n)}    # ${oneLine(g.domain)}: ${g.clients} client(s), ${g.hits} hit(s), ${g.sources.join("+")}`);
  }
  return lines.join("\n") + "\n";
}

export interface WriteProposal {
  /** throws (with every problem located) when the env file would not validate holding `text` */
  readonly validate: (file: string, text: string) => void;
  /** writes the file (atomically) */
  readonly write: (file: string, text: string) => void;
}

/**
 * Adds the proposal to the municipality's env file as a minimal text edit (every other byte, comment and alignment
 * stays as the municipality wrote it, so the reviewer diff is the added names), after the edited text passed the
 * caller's validation (`validate`'s own checks, given by the caller so this folder needs nothing above it); nothing
 * is written otherwise. Each name is checked again here: a report edited by hand cannot slip in a wildcard.
 */
export function writeProposal(file: string, r: LearnReport, io: WriteProposal): string[] {
  for (const n of r.proposal) {
    const why = automatedNameRefusal(n);
    if (why) throw new LearnInputError(`'${oneLine(n).slice(0, 80)}' is never written by learn: ${why}`);
  }
  const text = fs.readFileSync(file, "utf8");
  const doc = parseDocument(text);
  const breakout = doc.get("breakout", true);
  if (!isMap(breakout)) throw new LearnInputError(`${file}: no breakout mapping to add extraDomains to`);
  const seq = breakout.get("extraDomains", true);
  if (seq !== undefined && !isSeq(seq)) throw new LearnInputError(`${file}: breakout.extraDomains is not a list`);
  const present = new Set((seq?.items ?? []).map((i) => String((i as Scalar).value)));
  const added = r.proposal.filter((n) => !present.has(n));
  if (!added.length) return [];
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
    edited = `${text.slice(0, at)}\n${" ".repeat(keyAt - lineStart(keyAt))}extraDomains: [${added.map(yamlName).join(", ")}]${text.slice(at)}`;
  } else if (seq.flow) {
    const [from, to] = seq.range!;
    const items = seq.items.map((i) => text.slice((i as Scalar).range![0], (i as Scalar).range![1]));
    edited = `${text.slice(0, from)}[${[...items, ...added.map(yamlName)].join(", ")}]${text.slice(to)}`;
  } else {
    const last = seq.items[seq.items.length - 1] as Scalar;
    const dash = text.lastIndexOf("-", last.range![0]);
    const at = lineEnd(last.range![1] - 1);
    edited = `${text.slice(0, at)}${added.map((n) => `\n${" ".repeat(dash - lineStart(dash))}- ${yamlName(n)}`).join("")}${text.slice(at)}`;
  }
  io.validate(file, edited);
  io.write(file, edited);
  return added;
}
