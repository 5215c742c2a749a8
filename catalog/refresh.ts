/**
 * Keeping the SaaS catalog current: `catalog --stale <days>` (entries whose sources were last checked too long
 * ago) and `catalog refresh <id> --from <feed>` (a vendor's machine-readable endpoint list compared with the
 * snapshot the catalog keeps, set by set, with what it would open or close for each municipality).
 *
 * Feeds plug in by kind: a parser turns the vendor's file into endpoint sets (id, category, required, names, UDP
 * ranges). Microsoft 365's is the endpoints web service, https://learn.microsoft.com/en-us/microsoft-365/enterprise/microsoft-365-ip-web-service
 * (JSON: [{ id, serviceArea, urls, ips, tcpPorts, udpPorts, category, required }]; the version from /version).
 */
import * as fs from "fs";
import { isMap, isSeq, parseDocument, Scalar, YAMLMap, YAMLSeq } from "yaml";
import { automatedNameRefusal, covers, domainMatches, DomainPattern, imitationOf, parseDomainPattern, publicHostingUnder, WELL_KNOWN_BRANDS } from "./domains";
import type { MunicipalityConfig } from "../config/types";
import { EndpointFeed, EndpointSet, SaasCatalog } from "./saas-catalog";
import { domainAllowlist } from "./allowlist";
import { readInputFile } from "../core/input-file";
import { oneLine } from "../core/terminal-text";

export class FeedInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FeedInputError";
  }
}

// ---------------------------------------------------------------------------------------------- freshness

export interface StaleSource {
  readonly saas: string;
  /** which part of the entry: its domains, its tenant restriction, its file-download hosts, its feed */
  readonly part: "domains" | "tenantRestriction" | "fileDownloads" | "feed";
  readonly source: string;
  readonly retrievedAt: string;
  readonly ageDays: number;
}

/** Every dated source of every entry older than `days` on `asOf` (YYYY-MM-DD, default today, UTC). */
export function staleSources(catalog: SaasCatalog, days: number, asOf = new Date().toISOString().slice(0, 10)): StaleSource[] {
  const today = Date.parse(`${asOf}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(today)) throw new Error(`the date to judge staleness on must be YYYY-MM-DD, got '${oneLine(asOf).slice(0, 40)}'`);
  const out: StaleSource[] = [];
  for (const e of catalog.entries) {
    const parts: [StaleSource["part"], string | undefined, string | undefined][] = [
      ["domains", e.source, e.retrievedAt],
      ["tenantRestriction", e.tenantRestriction?.source, e.tenantRestriction?.retrievedAt],
      ["fileDownloads", e.fileDownloads?.source, e.fileDownloads?.retrievedAt],
      ["feed", e.feed?.url, e.feed?.retrievedAt],
    ];
    for (const [part, source, retrievedAt] of parts) {
      if (!source || !retrievedAt) continue;
      const ageDays = Math.floor((today - Date.parse(`${retrievedAt}T00:00:00Z`)) / 86_400_000);
      if (ageDays > days) out.push({ saas: e.id, part, source, retrievedAt, ageDays });
    }
  }
  return out.sort((a, b) => b.ageDays - a.ageDays || a.saas.localeCompare(b.saas));
}

export function staleReport(stale: readonly StaleSource[], days: number): string {
  if (!stale.length) return `every catalog source was checked within ${days} day(s)\n`;
  const lines = [`${stale.length} catalog source(s) not checked for more than ${days} day(s): re-read them and update retrievedAt`, "", "| service | part | checked | age (days) | source |", "|---|---|---|---|---|"];
  for (const s of stale) lines.push(`| ${s.saas} | ${s.part} | ${s.retrievedAt} | ${s.ageDays} | ${s.source} |`);
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------- feeds

/** Reads a Microsoft 365 endpoints web-service response (JSON), or says why it is not one. */
export function parseMicrosoftEndpoints(text: string, file: string): EndpointSet[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new FeedInputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(data) || data.length === 0) throw new FeedInputError(`${file}: not a Microsoft 365 endpoints list (expected a non-empty JSON array of endpoint sets)`);
  return data.map((raw, i) => {
    const s = raw as Record<string, unknown>;
    if (!s || typeof s !== "object" || !Number.isInteger(s.id) || typeof s.serviceArea !== "string" || !["Optimize", "Allow", "Default"].includes(s.category as string)) {
      throw new FeedInputError(`${file}: item ${i} is not an endpoint set (needs id, serviceArea, category Optimize/Allow/Default)`);
    }
    // a feed is fetched over the internet: every string is checked before it is compared, printed or written, and a
    // bad one refuses the whole list (the snapshot is written back into the catalog)
    const strings = (v: unknown, what: string, form: RegExp) =>
      (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []).map((x) => {
        if (!form.test(x)) throw new FeedInputError(`${file}: item ${i} (set ${s.id}): ${what} ${JSON.stringify(oneLine(x).slice(0, 80))} is not one`);
        return x;
      });
    const urls = strings(s.urls, "the url", FEED_NAME);
    const ips = strings(s.ips, "the address range", /^[0-9a-fA-F.:]{2,39}\/\d{1,3}$/);
    if (s.udpPorts !== undefined && (typeof s.udpPorts !== "string" || !/^[0-9,-]{1,200}$/.test(s.udpPorts))) throw new FeedInputError(`${file}: item ${i} (set ${s.id}): udpPorts is not a list of ports`);
    return {
      id: s.id as number,
      category: s.category as EndpointSet["category"],
      required: s.required === true,
      urls,
      ...(typeof s.udpPorts === "string" ? { udpIps: ips, udpPorts: s.udpPorts } : {}),
    };
  });
}

/** A name as a vendor lists it: a host, a wildcard, or a tenant template (<tenant>.sharepoint.com). */
const FEED_NAME = /^[A-Za-z0-9*<>_.-]{1,253}$/;

const PARSERS: Record<EndpointFeed["kind"], (text: string, file: string) => EndpointSet[]> = {
  "microsoft-365-endpoints": parseMicrosoftEndpoints,
};

/** Reads the live list where the machine is online (Microsoft: a client request id per call). */
export async function fetchFeed(feed: EndpointFeed): Promise<{ text: string; version?: string }> {
  const id = require("crypto").randomUUID() as string;
  try {
    const text = await (await fetch(`${feed.url}?clientrequestid=${id}`)).text();
    const version = (await (await fetch(`${feed.url.replace("/endpoints/", "/version/")}?clientrequestid=${id}`)).json()) as { latest?: string };
    return { text, version: version.latest };
  } catch (e) {
    throw new FeedInputError(`cannot read ${feed.url} (${oneLine((e as Error).message).slice(0, 200)}); on a machine without internet access save the list and read it from the file`);
  }
}

// ---------------------------------------------------------------------------------------------- comparison

export interface SetChange {
  readonly id: number;
  readonly change: "added" | "removed" | "changed";
  readonly urlsAdded: string[];
  readonly urlsRemoved: string[];
  readonly udpIpsAdded: string[];
  readonly udpIpsRemoved: string[];
  readonly notes: string[];
}

export interface MunicipalityEffect {
  readonly id: string;
  readonly opens: string[];
  readonly closes: string[];
  /** UDP media ranges (IPv4) the firewall would pass or stop passing, and the LGWAN side must route */
  readonly mediaAdded: string[];
  readonly mediaRemoved: string[];
}

export interface RefreshReport {
  readonly saas: string;
  readonly fromVersion: string;
  readonly toVersion?: string;
  /** sets the entry follows that changed or disappeared, and required sets it does not follow yet */
  readonly sets: SetChange[];
  /** the catalog's domain list after the refresh: names added, names removed */
  readonly domainsAdded: string[];
  /** names the feed adds that are never written by a refresh, each with the reason (a person decides) */
  readonly heldBack: { readonly name: string; readonly why: string }[];
  readonly domainsRemoved: string[];
  readonly municipalities: MunicipalityEffect[];
}

/**
 * Why a refresh may not write a feed's name into a catalog entry (which opens it for every municipality that selects
 * the service), or undefined. Only exact host names are written: a wildcard — above all one over public hosting such
 * as *.azurewebsites.net, *.github.io, *.trycloudflare.com or *.blob.core.windows.net, where anyone can publish — is a
 * person's decision; so are public suffixes, addresses, look-alikes of allowlisted or well-known domains, and any
 * name under a wildcard a tenant mechanism replaced (another tenant's x.sharepoint.com).
 */
function writeRefusal(name: string, catalog: SaasCatalog, brands: readonly string[]): string | undefined {
  const hosting = name.startsWith("*.") ? publicHostingUnder(name.slice(2).toLowerCase()) : undefined;
  if (hosting) return `a wildcard over public hosting (${hosting}: anyone can publish there; Public Suffix List, private section)`;
  const why = automatedNameRefusal(name);
  if (why) return why;
  const p = parseDomainPattern(name) as DomainPattern;
  const breach = catalog.tenantBreach(p, {}, new Set());
  if (breach) return `under ${breach.wildcard}, which the tenant restriction of ${breach.services.join(" / ")} narrows to each municipality's own tenant`;
  const imitation = imitationOf(p.name, brands);
  if (imitation) return `a look-alike${imitation.of ? ` of ${imitation.of}` : ""}: ${imitation.how}`;
  return undefined;
}

export function compareFeed(catalog: SaasCatalog, saas: string, fresh: readonly EndpointSet[], configs: readonly MunicipalityConfig[], toVersion?: string): RefreshReport {
  const entry = catalog.get(saas);
  if (!entry.feed) throw new FeedInputError(`${saas} follows no vendor feed (no feed in its catalog entry)`);
  const old = new Map(entry.feed.sets.map((s) => [s.id, s]));
  const now = new Map(fresh.map((s) => [s.id, s]));
  const sets: SetChange[] = [];
  for (const [id, before] of old) {
    const after = now.get(id);
    if (!after) {
      sets.push({ id, change: "removed", urlsAdded: [], urlsRemoved: [...before.urls], udpIpsAdded: [], udpIpsRemoved: [...(before.udpIps ?? [])], notes: ["the set is no longer published"] });
      continue;
    }
    const diff = (a: readonly string[] = [], b: readonly string[] = []) => b.filter((x) => !a.includes(x));
    const notes: string[] = [];
    if (before.category !== after.category) notes.push(`category ${before.category} → ${after.category}`);
    if (before.required !== after.required) notes.push(after.required ? "now required" : "now optional");
    const change: SetChange = { id, change: "changed", urlsAdded: diff(before.urls, after.urls), urlsRemoved: diff(after.urls, before.urls), udpIpsAdded: diff(before.udpIps, after.udpIps), udpIpsRemoved: diff(after.udpIps, before.udpIps), notes };
    if (change.urlsAdded.length || change.urlsRemoved.length || change.udpIpsAdded.length || change.udpIpsRemoved.length || notes.length) sets.push(change);
  }
  for (const [id, s] of now) {
    if (old.has(id) || !s.required || s.category === "Default") continue;
    sets.push({ id, change: "added", urlsAdded: [...s.urls], urlsRemoved: [], udpIpsAdded: [...(s.udpIps ?? [])], udpIpsRemoved: [], notes: [`a new ${s.category} set, required: not followed until its id is added to the entry's feed.sets`] });
  }
  sets.sort((a, b) => a.id - b.id);

  // the entry's domain list follows the sets it tracks: new names of tracked sets are added, names no tracked set
  // lists any more are removed (only names the snapshot attributed to a set: curated names stay)
  const tracked = [...old.keys()].filter((id) => now.has(id));
  const stillListed = new Set(tracked.flatMap((id) => now.get(id)!.urls));
  const patterns = entry.domains.map((d) => parseDomainPattern(d)).filter((p): p is Exclude<typeof p, string> => typeof p !== "string");
  const candidates = [...new Set(sets.filter((c) => c.change === "changed").flatMap((c) => c.urlsAdded))].filter((u) => !u.includes("<"));
  const heldBack: { name: string; why: string }[] = [];
  const domainsAdded: string[] = [];
  const brands = [...WELL_KNOWN_BRANDS, ...catalog.entries.flatMap((e) => e.domains)];
  for (const u of candidates) {
    const p = parseDomainPattern(u);
    // another tenant's host is named even where the entry's wildcard covers it: that wildcard is the tenant
    // mechanism's to narrow, and a feed listing tenant hosts is news for the reviewer
    const breach = typeof p === "string" ? undefined : catalog.tenantBreach(p, {}, new Set());
    if (typeof p !== "string" && !breach && patterns.some((q) => covers(q, p))) continue; // the entry allows it already
    const why = writeRefusal(u, catalog, brands);
    if (why) heldBack.push({ name: u, why });
    else domainsAdded.push(u.toLowerCase());
  }
  const removedUrls = new Set(sets.filter((c) => c.change !== "added").flatMap((c) => c.urlsRemoved));
  const domainsRemoved = entry.domains.filter((d) => removedUrls.has(d) && !stillListed.has(d));

  const v4 = (xs: string[]) => [...new Set(xs.filter((x) => !x.includes(":")))];
  const mediaAdded = v4(sets.filter((c) => c.change === "changed").flatMap((c) => c.udpIpsAdded));
  const mediaRemoved = v4(sets.filter((c) => c.change !== "added").flatMap((c) => c.udpIpsRemoved));
  const municipalities = configs
    .filter((c) => c.breakout.saas.includes(saas))
    .map((c) => {
      const allow = domainAllowlist(c, catalog).domains;
      const opens = domainsAdded.filter((d) => {
        const p = parseDomainPattern(d) as Exclude<ReturnType<typeof parseDomainPattern>, string>;
        return !allow.some((a) => covers(a, p));
      });
      const closes = domainsRemoved.filter((d) => allow.some((a) => domainMatches(a, d.replace(/^\*\./, ""))));
      return { id: c.id, opens, closes, mediaAdded, mediaRemoved };
    });
  return { saas, fromVersion: entry.feed.version, toVersion, sets, domainsAdded, heldBack, domainsRemoved, municipalities };
}

/** Feed text in a report: one line, escaped as the terminal and the diff escape, no table break. */
function cell(text: string): string {
  return oneLine(text).replace(/\|/g, "\\|");
}

export function refreshReport(r: RefreshReport): string {
  const lines = [`catalog refresh ${r.saas}: feed version ${r.fromVersion} → ${r.toVersion ?? "(not given)"}`, ""];
  if (!r.sets.length) return [...lines, "No change in the endpoint sets this entry follows.", ""].join("\n");
  lines.push("| set | change | names added | names removed | UDP ranges | notes |", "|---|---|---|---|---|---|");
  for (const c of r.sets) {
    const udp = [...c.udpIpsAdded.map((x) => `+${x}`), ...c.udpIpsRemoved.map((x) => `-${x}`)].join(" ");
    lines.push(`| ${c.id} | ${c.change} | ${cell(c.urlsAdded.join(" "))} | ${cell(c.urlsRemoved.join(" "))} | ${cell(udp)} | ${cell(c.notes.join("; "))} |`);
  }
  lines.push("", `The ${r.saas} entry would add: ${cell(r.domainsAdded.join(" ")) || "(nothing)"}; remove: ${cell(r.domainsRemoved.join(" ")) || "(nothing)"}`, "");
  if (r.heldBack.length) {
    lines.push("Held back (never written by a refresh; add one by hand only after reading the vendor's documentation):");
    for (const h of r.heldBack) lines.push(`- ${cell(h.name)}: ${cell(h.why)}`);
    lines.push("");
  }
  if (!r.municipalities.length) lines.push(`No municipality selects ${r.saas}.`);
  for (const m of r.municipalities) {
    const media = [...m.mediaAdded.map((x) => `+${x}`), ...m.mediaRemoved.map((x) => `-${x}`)];
    lines.push(`- ${m.id}: opens ${cell(m.opens.join(" ")) || "nothing"}; closes ${cell(m.closes.join(" ")) || "nothing"}${media.length ? `; UDP media ranges ${cell(media.join(" "))} (route them to the breakout on the LGWAN side)` : ""}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The catalog text with the refresh applied to one entry, as minimal text edits (every other byte of the file stays
 * as written, so review sees the change and nothing else): domains added and removed, the feed snapshot (one line
 * per set), its version and date, and the UDP media ranges of the tracked sets (IPv4).
 */
export function applyRefresh(catalogText: string, r: RefreshReport, fresh: readonly EndpointSet[], version: string, today: string): string {
  const doc = parseDocument(catalogText);
  const list = doc.contents;
  if (!isSeq(list)) throw new Error("the catalog is not a list of entries");
  const entry = list.items.find((i) => isMap(i) && (i.get("id") as unknown) === r.saas) as YAMLMap | undefined;
  if (!entry) throw new Error(`no catalog entry ${r.saas}`);
  const text = catalogText;
  const edits: [number, number, string][] = [];
  const lineStart = (at: number) => text.lastIndexOf("\n", at - 1) + 1;
  const lineEnd = (at: number) => (text.indexOf("\n", at) < 0 ? text.length : text.indexOf("\n", at));
  const scalar = (v: unknown) => (typeof v === "string" && !/^[A-Za-z0-9./-]+$/.test(v) ? JSON.stringify(v) : String(v));
  const flowList = (items: readonly unknown[]) => `[${items.map(scalar).join(", ")}]`;

  // domains: removed items lose their line, added ones follow the last item in its indentation
  const domains = entry.get("domains", true) as unknown as YAMLSeq<Scalar>;
  for (const item of domains.items) {
    if (r.domainsRemoved.includes(String(item.value))) edits.push([lineStart(item.range![0]), lineEnd(item.range![1] - 1) + 1, ""]);
  }
  if (r.domainsAdded.length) {
    const last = domains.items[domains.items.length - 1];
    const dash = text.lastIndexOf("-", last.range![0]);
    const at = lineEnd(last.range![1] - 1);
    edits.push([at, at, r.domainsAdded.map((d) => `\n${" ".repeat(dash - lineStart(dash))}- ${scalar(d)}`).join("")]);
  }
  // the feed: version, date, and the sets it follows as they are now
  const feed = entry.get("feed", true) as unknown as YAMLMap;
  const replaceValue = (node: Scalar | YAMLSeq | undefined, replacement: string) => node?.range && edits.push([node.range[0], node.range[1], replacement]);
  replaceValue(feed.get("version", true) as Scalar, JSON.stringify(version));
  replaceValue(feed.get("retrievedAt", true) as Scalar, JSON.stringify(today));
  const setsNode = feed.get("sets", true) as unknown as YAMLSeq;
  const trackedIds = (setsNode.toJSON() as EndpointSet[]).map((s) => s.id);
  const nextSets = fresh.filter((s) => trackedIds.includes(s.id));
  const indent = " ".repeat(setsNode.range![0] - lineStart(setsNode.range![0]));
  const setLine = (s: EndpointSet) =>
    `- { id: ${s.id}, category: ${s.category}, required: ${s.required}, urls: ${flowList(s.urls)}${s.udpIps ? `, udpIps: ${flowList(s.udpIps)}, udpPorts: ${JSON.stringify(s.udpPorts ?? "")}` : ""} }`;
  edits.push([setsNode.range![0], lineEnd(setsNode.range![1] - 1), nextSets.map(setLine).join(`\n${indent}`)]);
  // media ranges named after a tracked set ("endpoint set id 11") follow its UDP ranges
  const media = entry.get("media", true);
  if (isSeq(media)) {
    for (const m of media.items) {
      if (!isMap(m)) continue;
      const setId = /endpoint set id (\d+)/.exec(String(m.get("purpose") ?? ""))?.[1];
      const set = setId ? nextSets.find((x) => x.id === Number(setId)) : undefined;
      if (set?.udpIps) replaceValue(m.get("cidrs", true) as unknown as YAMLSeq, flowList(set.udpIps.filter((c) => !c.includes(":"))));
    }
  }
  let out = text;
  for (const [from, to, replacement] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, from) + replacement + out.slice(to);
  return out;
}

export function readFeedFile(file: string, kind: EndpointFeed["kind"]): EndpointSet[] {
  let bytes: Buffer;
  try {
    bytes = readInputFile(file, 64 * 1024 * 1024, "an endpoint list");
  } catch (e) {
    throw new FeedInputError((e as Error).message);
  }
  return PARSERS[kind](bytes.toString("utf8"), file);
}

export { PARSERS as FEED_PARSERS };

export interface RefreshRequest {
  readonly saas: string;
  /** the catalog file to read (and, when writing, update) */
  readonly catalogFile: string;
  /** a saved list; without it the live list is fetched */
  readonly from?: string;
  /** the list's version (a fetched list brings its own) */
  readonly version?: string;
  /** every municipality, for the per-municipality effect */
  readonly configs: readonly MunicipalityConfig[];
  /** write the update: after the updated catalog loads and `validateEnv` accepts it (it throws otherwise) */
  readonly write?: { readonly today: string; readonly validateEnv: (updated: SaasCatalog) => void; readonly writeFile: (file: string, text: string) => void };
}

/** `catalog refresh`: reads the list, compares it with the entry's snapshot, and writes the update when asked. */
export async function refreshCatalog(q: RefreshRequest): Promise<{ report: RefreshReport; text: string; wroteVersion?: string }> {
  const current = SaasCatalog.fromFile(q.catalogFile);
  if (!current.has(q.saas)) throw new FeedInputError(`'${oneLine(q.saas).slice(0, 60)}' is not in the catalog (${current.ids.join(", ")})`);
  const feed = current.get(q.saas).feed;
  if (!feed) throw new FeedInputError(`${q.saas} follows no vendor feed (no feed in its catalog entry)`);
  if (q.version !== undefined && !/^[0-9]{10}$/.test(q.version)) throw new FeedInputError(`the list's version must be 10 digits (yyyymmddnn), got '${oneLine(q.version).slice(0, 40)}'`);
  let sets: EndpointSet[];
  let version = q.version;
  if (q.from) sets = readFeedFile(q.from, feed.kind);
  else {
    const live = await fetchFeed(feed);
    sets = PARSERS[feed.kind](live.text, feed.url);
    version ??= live.version !== undefined && /^[0-9]{10}$/.test(live.version) ? live.version : undefined;
  }
  const report = compareFeed(current, q.saas, sets, q.configs, version);
  const text = refreshReport(report);
  if (!q.write) return { report, text };
  if (!version) throw new FeedInputError("writing the update needs the list's version (yyyymmddnn)");
  const updatedText = applyRefresh(fs.readFileSync(q.catalogFile, "utf8"), report, sets, version, q.write.today);
  // the updated catalog must load, and every env file must still validate with it
  const { parse } = require("yaml") as typeof import("yaml");
  const updated = SaasCatalog.fromEntries(parse(updatedText), q.catalogFile);
  q.write.validateEnv(updated);
  q.write.writeFile(q.catalogFile, updatedText);
  return { report, text, wroteVersion: version };
}
