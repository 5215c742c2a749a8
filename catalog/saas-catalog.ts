/**
 * The SaaS catalog: typed access to catalog/saas-catalog.yaml, the one list that drives the firewall
 * allowlist, the DNS firewall, the DNS forwarder zones and the PAC file.
 */
import type { Msg } from "../core/errors";
import { tr } from "../core/messages";
import * as fs from "fs";
import * as path from "path";
import { covers, DomainPattern, formatDomainPattern, normalizeDomainPatterns, parseDomainPattern, publicHostingUnder } from "./domains";
import { REPO_ROOT } from "../core/paths";
import { shortText, shownValue } from "../core/terminal-text";

export const CATALOG_PATH = path.join(REPO_ROOT, "catalog", "saas-catalog.yaml");

export interface MediaRange {
  readonly purpose: string;
  readonly protocol: "udp" | "tcp";
  /** a port or an inclusive range "from-to" */
  readonly ports: string;
  readonly cidrs: readonly string[];
}

/** A value a municipality supplies for a service's tenant restriction (breakout.tenants.<saas>.<name>). */
export interface TenantParameter {
  readonly name: string;
  readonly description: string;
  /** every value must match: the values reach squid.conf and host names, so the grammar is narrow on purpose */
  readonly pattern: string;
  /** several values: joined with "," in a header, one host each in a host template */
  readonly list?: boolean;
  readonly example: string;
}

/** The tenant is in the host name: `hosts` replace the `replaces` wildcards; `shared` hosts stay reachable. */
export interface TenantHosts {
  readonly replaces: readonly string[];
  /** templates with {parameter} */
  readonly hosts: readonly string[];
  /** hosts the vendor documents as shared infrastructure (CDN, static content, sign-in) */
  readonly shared?: readonly string[];
  readonly source: string;
  /**
   * The tenant namespace's other base domains (kintone also on kintone.com and cybozu.cn, SharePoint on
   * sharepoint.us, sharepoint.cn …): the service's domains do not include them and no template expands under them, so
   * every name there is another tenant — refused like one under `replaces`.
   */
  readonly otherBaseDomains?: readonly OtherBaseDomain[];
}

/** A base domain where the vendor puts other tenants of the same namespace (another region, cloud or ring). */
export interface OtherBaseDomain {
  /** a wildcard (*.kintone.com) */
  readonly domain: string;
  /** whose tenants live there */
  readonly what: string;
  readonly source: string;
}

/**
 * A wildcard of a service's domains over public hosting (a Public Suffix List private-section suffix, where third
 * parties get names), kept after review because the vendor documents the wildcard as required: what it opens beyond
 * the vendor, and why it stays. Catalog loading refuses such a wildcard without one; `check` (AP-NET-004) accepts
 * exactly these on a stack that selects the service.
 */
export interface PublicHostingException {
  readonly domain: string;
  readonly reason: string;
  readonly source: string;
  readonly reviewedAt: string;
}

/** A header a TLS-inspecting proxy adds on `hosts` (domain patterns), after removing any copy the client sent. */
export interface TenantHeader {
  readonly name: string;
  /** template with {parameter} */
  readonly value: string;
  readonly hosts: readonly string[];
}

/** テナント制限: how the vendor lets a network keep staff on the municipality's own tenant. */
export interface TenantRestriction {
  readonly source: string;
  readonly retrievedAt: string;
  /** what the mechanism covers and what it does not, in plain words */
  readonly covers: string;
  readonly parameters?: readonly TenantParameter[];
  readonly tenantHosts?: TenantHosts;
  readonly headers?: readonly TenantHeader[];
  /** where the SaaS itself can refuse other networks (register the stack's egress_ips there) */
  readonly ipRestriction?: string;
  /** what was looked for and not found */
  readonly notDocumented?: string;
}

/** 無害化: the hosts a service's files are downloaded from. */
export interface FileDownloads {
  readonly hosts: readonly string[];
  readonly source: string;
  readonly retrievedAt: string;
  readonly notes?: string;
}

/** A wildcard a tenant mechanism replaced (SaasCatalog.tenantScopes). */
export interface TenantScope {
  readonly wildcard: DomainPattern;
  /** the services whose mechanism replaced it (kintone and Garoon share *.cybozu.com) */
  readonly services: readonly string[];
  /** hosts under it the vendors document as shared infrastructure, formatted */
  readonly shared: readonly string[];
}

/** A name that would reopen what a tenant mechanism closed (SaasCatalog.tenantBreach). */
export interface TenantBreach {
  /** the replaced wildcard, formatted (*.sharepoint.com) */
  readonly wildcard: string;
  readonly services: readonly string[];
  /** the municipality's own hosts under it, from its tenant values (empty without) */
  readonly ownHosts: readonly string[];
}

/**
 * One way a file of the service reaches a PC (the coverage map of 無害化): over which hosts, and whether the file is
 * an HTTP response body the engine reads (`http`) or travels inside another protocol (`protocol`: MAPI, a
 * WebSocket), where the engine sees no file. `documented: false` says the vendor does not document the path (it is
 * listed so nobody assumes it is covered); `source` is where it was checked either way.
 */
export interface FilePath {
  readonly what: string;
  readonly hosts: readonly string[];
  readonly carrier: "http" | "protocol";
  readonly source: string;
  readonly documented: boolean;
  /** what README recommends where the engine does not see the file */
  readonly compensating?: string;
}

/** Tenant values of one service, as given in breakout.tenants.<saas>. */
export type TenantValues = Readonly<Record<string, string | readonly string[]>>;

/** What one service's tenant restriction becomes for a municipality. */
export interface ResolvedTenant {
  /** the service's domains with tenant wildcards replaced by the tenant's own hosts */
  readonly domains: DomainPattern[];
  /** headers to add, with their final values and the (normalized) hosts they go to */
  readonly headers: { readonly name: string; readonly value: string; readonly hosts: DomainPattern[] }[];
}

export interface SaasEntry {
  readonly id: string;
  readonly name: string;
  readonly sourceKind: "official" | "unofficial";
  readonly source: string;
  readonly retrievedAt: string;
  readonly notes?: string;
  readonly domains: readonly string[];
  readonly media?: readonly MediaRange[];
  readonly tenantRestriction?: TenantRestriction;
  readonly fileDownloads?: FileDownloads;
  /** every way a file of the service reaches a PC, with the vendor's source (the coverage map of 無害化) */
  readonly filePaths?: readonly FilePath[];
  /** a vendor's machine-readable endpoint list this entry follows, as last read (`catalog refresh`) */
  readonly feed?: EndpointFeed;
  /** wildcards over public hosting kept after review, each with its reason */
  readonly publicHostingExceptions?: readonly PublicHostingException[];
}

export interface EndpointSet {
  readonly id: number;
  readonly category: "Optimize" | "Allow" | "Default";
  readonly required: boolean;
  /** names as the vendor lists them (tenant templates such as <tenant>.sharepoint.com included) */
  readonly urls: readonly string[];
  readonly udpIps?: readonly string[];
  readonly udpPorts?: string;
}

export interface EndpointFeed {
  readonly kind: "microsoft-365-endpoints";
  readonly url: string;
  /** the feed's version (Microsoft: yyyymmddnn) */
  readonly version: string;
  readonly retrievedAt: string;
  /** the endpoint sets this entry follows, by id */
  readonly sets: readonly EndpointSet[];
}

export const ENTRY_SCHEMA = {
  type: "array",
  items: {
    type: "object",
    additionalProperties: false,
    required: ["id", "name", "sourceKind", "source", "retrievedAt", "domains"],
    properties: {
      id: { type: "string", pattern: "^[a-z][a-z0-9-]*$" },
      name: { type: "string", minLength: 1 },
      sourceKind: { enum: ["official", "unofficial"] },
      source: { type: "string", pattern: "^https://" },
      retrievedAt: { type: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
      notes: { type: "string" },
      domains: { type: "array", minItems: 1, uniqueItems: true, items: { type: "string" } },
      media: {
        type: "array",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["purpose", "protocol", "ports", "cidrs"],
          properties: {
            purpose: { type: "string" },
            protocol: { enum: ["udp", "tcp"] },
            ports: { type: "string", pattern: "^[0-9]{1,5}(-[0-9]{1,5})?$" },
            cidrs: { type: "array", minItems: 1, items: { type: "string" } },
          },
        },
      },
      tenantRestriction: {
        type: "object",
        additionalProperties: false,
        required: ["source", "retrievedAt", "covers"],
        properties: {
          source: { type: "string", pattern: "^https://" },
          retrievedAt: { type: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
          covers: { type: "string", minLength: 10 },
          parameters: {
            type: "array",
            minItems: 1,
            items: {
              type: "object",
              additionalProperties: false,
              required: ["name", "description", "pattern", "example"],
              properties: {
                name: { type: "string", pattern: "^[a-z][A-Za-z0-9]*$" },
                description: { type: "string" },
                pattern: { type: "string", pattern: "^\\^.*\\$$" },
                list: { type: "boolean" },
                example: { type: "string" },
              },
            },
          },
          tenantHosts: {
            type: "object",
            additionalProperties: false,
            required: ["replaces", "hosts", "source"],
            properties: {
              replaces: { type: "array", minItems: 1, items: { type: "string" } },
              hosts: { type: "array", minItems: 1, items: { type: "string" } },
              shared: { type: "array", items: { type: "string" } },
              source: { type: "string", pattern: "^https://" },
              otherBaseDomains: {
                type: "array",
                minItems: 1,
                items: {
                  type: "object",
                  additionalProperties: false,
                  required: ["domain", "what", "source"],
                  properties: {
                    domain: { type: "string", pattern: "^\\*\\." },
                    what: { type: "string", minLength: 5 },
                    source: { type: "string", pattern: "^https://" },
                  },
                },
              },
            },
          },
          headers: {
            type: "array",
            minItems: 1,
            items: {
              type: "object",
              additionalProperties: false,
              required: ["name", "value", "hosts"],
              properties: {
                name: { type: "string", pattern: "^[A-Za-z0-9-]+$" },
                value: { type: "string" },
                hosts: { type: "array", minItems: 1, items: { type: "string" } },
              },
            },
          },
          ipRestriction: { type: "string" },
          notDocumented: { type: "string" },
        },
      },
      feed: {
        type: "object",
        additionalProperties: false,
        required: ["kind", "url", "version", "retrievedAt", "sets"],
        properties: {
          kind: { enum: ["microsoft-365-endpoints"] },
          url: { type: "string", pattern: "^https://" },
          version: { type: "string", pattern: "^[0-9]{10}$" },
          retrievedAt: { type: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
          sets: {
            type: "array",
            items: {
              type: "object",
              additionalProperties: false,
              required: ["id", "category", "required", "urls"],
              properties: {
                id: { type: "integer", minimum: 1 },
                category: { enum: ["Optimize", "Allow", "Default"] },
                required: { type: "boolean" },
                urls: { type: "array", items: { type: "string" } },
                udpIps: { type: "array", items: { type: "string" } },
                udpPorts: { type: "string" },
              },
            },
          },
        },
      },
      filePaths: {
        type: "array",
        items: {
          type: "object",
          additionalProperties: false,
          required: ["what", "hosts", "carrier", "source", "documented"],
          properties: {
            what: { type: "string", minLength: 10 },
            hosts: { type: "array", minItems: 1, items: { type: "string" } },
            carrier: { enum: ["http", "protocol"] },
            source: { type: "string", pattern: "^https://" },
            documented: { type: "boolean" },
            compensating: { type: "string", minLength: 10 },
          },
        },
      },
      publicHostingExceptions: {
        type: "array",
        minItems: 1,
        items: {
          type: "object",
          additionalProperties: false,
          required: ["domain", "reason", "source", "reviewedAt"],
          properties: {
            domain: { type: "string", pattern: "^\\*\\." },
            reason: { type: "string", minLength: 80 },
            source: { type: "string", pattern: "^https://" },
            reviewedAt: { type: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
          },
        },
      },
      fileDownloads: {
        type: "object",
        additionalProperties: false,
        required: ["hosts", "source", "retrievedAt"],
        properties: {
          hosts: { type: "array", minItems: 1, items: { type: "string" } },
          source: { type: "string", pattern: "^https://" },
          retrievedAt: { type: "string", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
          notes: { type: "string" },
        },
      },
    },
  },
} as const;

export class SaasCatalog {
  /** The catalog in this repository, read once per process. */
  static default(): SaasCatalog {
    // ALPHA_PRIME_CATALOG: another catalog file (a refreshed copy under review); the repository's by default
    if (!cached) cached = SaasCatalog.fromFile(process.env.ALPHA_PRIME_CATALOG ? path.resolve(process.env.ALPHA_PRIME_CATALOG) : CATALOG_PATH);
    return cached;
  }

  static fromFile(file: string): SaasCatalog {
    return SaasCatalog.fromText(fs.readFileSync(file, "utf8"), file);
  }

  /**
   * A catalog from its YAML text. The repository's catalog was parsed and validated at build time
   * (config/prebuilt.ts); that result is used when the text is byte-identical, and everything else is parsed and
   * validated here.
   */
  static fromText(text: string, origin = "catalog", options: { prebuilt?: boolean } = {}): SaasCatalog {
    if (options.prebuilt !== false) {
      const entries = (require("../config/prebuilt") as typeof import("../config/prebuilt")).prebuiltCatalog(text);
      if (entries) return new SaasCatalog(entries as SaasEntry[]);
    }
    // loaded here, not at the top: the prebuilt path needs neither the YAML parser nor ajv
    const { parse } = require("yaml") as typeof import("yaml");
    return SaasCatalog.fromEntries(parse(text), origin);
  }

  /** Validates entries: the schema, unique ids, and every domain a valid, non-public-suffix pattern. */
  static fromEntries(data: unknown, origin = "catalog"): SaasCatalog {
    const Ajv = (require("ajv") as typeof import("ajv")).default;
    const validate = new Ajv({ allErrors: true, validateSchema: false, code: { optimize: false } }).compile(ENTRY_SCHEMA);
    if (!validate(data)) {
      const why = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
      throw new Error(`${origin}: invalid SaaS catalog: ${why}`);
    }
    const entries = data as unknown as SaasEntry[];
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.id)) throw new Error(`${origin}: SaaS id '${e.id}' appears twice`);
      seen.add(e.id);
      for (const d of e.domains) {
        const p = parseDomainPattern(d);
        if (typeof p === "string") throw new Error(`${origin}: ${e.id}: domain '${d}' is refused: ${p}`);
        // a catalog entry opens its domains for every municipality that selects it: a wildcard where anyone can
        // publish is kept only with a reviewed exception (the same rule as extraDomains' publicHostingWaivers)
        const hosting = p.includeSubdomains ? publicHostingUnder(p.name) : undefined;
        if (hosting && !(e.publicHostingExceptions ?? []).some((x) => x.domain === d)) {
          throw new Error(`${origin}: ${e.id}: domain '${d}' is a wildcard over public hosting (${hosting}: anyone can publish there; Public Suffix List, private section): list the vendor's exact hosts, or record a publicHostingExceptions entry with the reason`);
        }
      }
      for (const x of e.publicHostingExceptions ?? []) {
        const p = parseDomainPattern(x.domain);
        if (!e.domains.includes(x.domain) || typeof p === "string" || !publicHostingUnder(p.name)) throw new Error(`${origin}: ${e.id}: the public-hosting exception for '${x.domain}' matches no wildcard of the entry's domains over public hosting`);
      }
      const why = tenantRestrictionDefect(e);
      if (why) throw new Error(`${origin}: ${e.id}: tenantRestriction: ${why}`);
      for (const h of e.fileDownloads?.hosts ?? []) {
        const p = parseDomainPattern(h);
        if (typeof p === "string") throw new Error(`${origin}: ${e.id}: fileDownloads host '${h}' is refused: ${p}`);
        if (!e.domains.some((d) => covers(parseDomainPattern(d) as DomainPattern, p))) throw new Error(`${origin}: ${e.id}: fileDownloads host '${h}' is not one of the service's domains`);
      }
      for (const fp of e.filePaths ?? []) {
        for (const h of fp.hosts) {
          const p = parseDomainPattern(h);
          if (typeof p === "string") throw new Error(`${origin}: ${e.id}: filePaths host '${h}' is refused: ${p}`);
          if (!e.domains.some((d) => covers(parseDomainPattern(d) as DomainPattern, p))) throw new Error(`${origin}: ${e.id}: filePaths host '${h}' is not one of the service's domains`);
        }
        if (fp.carrier === "protocol" && !fp.compensating) throw new Error(`${origin}: ${e.id}: the file path '${fp.what}' is one the engine cannot see, and names no compensating control`);
      }
    }
    return new SaasCatalog(entries);
  }

  private readonly byId: Map<string, SaasEntry>;
  private scopes?: TenantScope[];
  /**
   * What resolveTenant reads of an entry that no municipality changes (its domains parsed and normalized, the tenant
   * mechanism's fixed hosts), worked out once per catalog: validation and every stack ask for it per municipality.
   * Keyed by id in this catalog only, so another catalog (a refreshed copy, a test's) never sees these.
   */
  private readonly prepared = new Map<string, PreparedEntry>();
  /** tenant parameters' patterns, compiled once (each is tested against every municipality's values) */
  private readonly compiled = new Map<string, RegExp>();

  private constructor(readonly entries: readonly SaasEntry[]) {
    this.byId = new Map(entries.map((e) => [e.id, e]));
  }

  get ids(): string[] {
    return this.entries.map((e) => e.id);
  }

  get(id: string): SaasEntry {
    const e = this.byId.get(id);
    if (!e) throw new Error(`unknown SaaS id '${id}' (known: ${this.ids.join(", ")})`);
    return e;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The normalized domain patterns of the selected services. */
  domainsOf(ids: readonly string[]): DomainPattern[] {
    return normalizeDomainPatterns(ids.flatMap((id) => this.get(id).domains.map((d) => parseDomainPattern(d) as DomainPattern)));
  }

  /** Whether a municipality must give tenant values for this service (or waive its mechanism). */
  needsTenantValues(id: string): boolean {
    return (this.get(id).tenantRestriction?.parameters?.length ?? 0) > 0;
  }

  /** Whether the service's mechanism needs a TLS-inspecting proxy (header insertion). */
  needsProxy(id: string): boolean {
    return (this.get(id).tenantRestriction?.headers?.length ?? 0) > 0;
  }

  /**
   * The service's domains and headers for one tenant. Values must already have passed `tenantValueProblems`;
   * without values (a waived mechanism) the service keeps its wildcards and gets no headers.
   */
  resolveTenant(id: string, values: TenantValues | undefined): ResolvedTenant {
    const domains = this.tenantDomains(id, values);
    const tr = this.get(id).tenantRestriction;
    if (!values || !tr?.parameters) return { domains, headers: [] };
    const prep = this.preparedEntry(id);
    const headers = (tr.headers ?? []).map((h, i) => ({
      name: h.name,
      value: expandTemplate(h.value, values, ",")[0],
      hosts: [...prep.headerHosts[i]],
    }));
    return { domains, headers };
  }

  /** resolveTenant's domains alone. */
  tenantDomains(id: string, values: TenantValues | undefined): DomainPattern[] {
    const prep = this.preparedEntry(id);
    const patterns = this.tenantPatterns(id, values);
    return patterns === prep.domains ? [...prep.normalized] : normalizeDomainPatterns(patterns);
  }

  /**
   * tenantDomains before normalization: the same names once normalized, for a caller that normalizes them together
   * with others anyway (catalog/allowlist.ts allowlistDomains).
   */
  tenantPatterns(id: string, values: TenantValues | undefined): readonly DomainPattern[] {
    const tr = this.get(id).tenantRestriction;
    const prep = this.preparedEntry(id);
    if (!values || !tr?.parameters || !tr.tenantHosts) return prep.domains;
    const own = tr.tenantHosts.hosts.flatMap((t) => expandTemplate(t, values)).map((h) => parseDomainPattern(h) as DomainPattern);
    return [...prep.unreplaced, ...own, ...prep.shared];
  }

  private preparedEntry(id: string): PreparedEntry {
    let prep = this.prepared.get(id);
    if (prep) return prep;
    const e = this.get(id);
    const tr = e.tenantRestriction;
    const parse = (d: string) => Object.freeze(parseDomainPattern(d) as DomainPattern);
    const domains = e.domains.map(parse);
    const replaced = new Set((tr?.tenantHosts?.replaces ?? []).map((d) => formatDomainPattern(parse(d))));
    prep = {
      domains,
      normalized: normalizeDomainPatterns(domains),
      unreplaced: domains.filter((d) => !replaced.has(formatDomainPattern(d))),
      shared: (tr?.tenantHosts?.shared ?? []).map(parse),
      headerHosts: (tr?.headers ?? []).map((h) => normalizeDomainPatterns(h.hosts.map(parse))),
    };
    this.prepared.set(id, prep);
    return prep;
  }

  /**
   * The wildcards a tenant mechanism replaced (*.sharepoint.com, *.cybozu.com), each with the services whose mechanism
   * it is and the hosts the vendor documents as shared (not a tenant's).
   */
  tenantScopes(): TenantScope[] {
    if (this.scopes) return this.scopes;
    const byWildcard = new Map<string, { wildcard: DomainPattern; services: string[]; shared: string[] }>();
    for (const e of this.entries) {
      const th = e.tenantRestriction?.tenantHosts;
      if (!th) continue;
      // the replaced wildcards and the namespace's other base domains: under either, a name is the own tenant's,
      // a shared host the vendor documents there, or another tenant's
      for (const r of [...th.replaces, ...(th.otherBaseDomains ?? []).map((o) => o.domain)]) {
        const wildcard = parseDomainPattern(r) as DomainPattern;
        const key = formatDomainPattern(wildcard);
        const scope = byWildcard.get(key) ?? { wildcard, services: [], shared: [] };
        if (!scope.services.includes(e.id)) scope.services.push(e.id);
        const shared = (th.shared ?? []).map((h) => parseDomainPattern(h) as DomainPattern).filter((h) => covers(wildcard, h));
        scope.shared.push(...shared.map(formatDomainPattern));
        byWildcard.set(key, scope);
      }
    }
    this.scopes = [...byWildcard.values()].map((s) => ({ ...s, shared: [...new Set(s.shared)] }));
    return this.scopes;
  }

  /**
   * テナント制限's one rule for names, wherever they enter (extraDomains, relay targets, learn, catalog refresh, and the
   * synthesized allowlist): a pattern that falls under a replaced wildcard, or covers it, reopens other tenants —
   * unless it is a host the vendor documents as shared, one of the municipality's own tenant hosts (from its tenant
   * values), or a service of that wildcard is waived with a reason.
   * @param tenants the municipality's tenant values by service (breakout.tenants), or its own hosts by service as a
   *   synthesized stack declares them
   * @param waived the services breakout.tenantWaivers names
   */
  tenantBreach(p: DomainPattern, tenants: Readonly<Record<string, unknown>> | ((saas: string) => readonly string[]), waived: ReadonlySet<string>): TenantBreach | undefined {
    const ownOf = typeof tenants === "function" ? tenants : (saas: string) => this.ownTenantHosts(saas, tenants[saas]);
    for (const scope of this.tenantScopes()) {
      if (!covers(scope.wildcard, p) && !covers(p, scope.wildcard)) continue;
      if (scope.services.some((s) => waived.has(s))) continue;
      const name = formatDomainPattern(p);
      if (scope.shared.includes(name)) continue;
      const own = scope.services.flatMap((s) => ownOf(s));
      if (own.includes(name)) continue;
      return { wildcard: formatDomainPattern(scope.wildcard), services: scope.services, ownHosts: own };
    }
    return undefined;
  }

  /**
   * Which of the hosts a synthesized stack declares as a service's own tenant hosts a tenant value can actually expand
   * to: each must be one of the service's host templates with a value its parameter's pattern accepts, and a
   * single-valued parameter has one value — the first declared host's, so a second SharePoint tenant declared after
   * the first is refused. A declaration is the stack's own text (a hand edit changes it with the allowlist), so checks
   * believe only what the catalog's templates allow.
   */
  declaredTenantHosts(id: string, declared: readonly unknown[]): { own: string[]; refused: { host: string; why: string }[] } {
    const tr = this.has(id) ? this.get(id).tenantRestriction : undefined;
    const th = tr?.tenantHosts;
    const params = new Map((tr?.parameters ?? []).map((p) => [p.name, p]));
    const fixed = new Map<string, string>();
    const own: string[] = [];
    const refused: { host: string; why: string }[] = [];
    for (const raw of declared) {
      const host = String(raw).toLowerCase();
      if (!th) {
        refused.push({ host, why: `${id} has no tenant host templates` });
        continue;
      }
      const used = [...new Set(th.hosts.flatMap((t) => [...t.matchAll(/\{([A-Za-z0-9]+)\}/g)].map((m) => m[1])))];
      let why = `no value of ${used.join(", ")} expands ${th.hosts.join(" or ")} to it`;
      let accepted = false;
      for (const template of th.hosts) {
        const values = templateValues(template, host);
        if (!values) continue;
        const bad = [...values].find(([name, v]) => !params.has(name) || !new RegExp(params.get(name)!.pattern).test(v));
        if (bad) continue;
        const second = [...values].find(([name, v]) => !params.get(name)!.list && fixed.has(name) && fixed.get(name) !== v);
        if (second) {
          why = `a second ${second[0]} ('${second[1]}' after '${fixed.get(second[0])}'): ${id} takes one`;
          continue;
        }
        for (const [name, v] of values) if (!params.get(name)!.list) fixed.set(name, v);
        accepted = true;
        break;
      }
      if (accepted) own.push(host);
      else refused.push({ host, why });
    }
    return { own, refused };
  }

  /** The tenant's own hosts of a service with tenant values (its tenantHosts templates expanded); none without. */
  ownTenantHosts(id: string, values: unknown): string[] {
    const th = this.get(id).tenantRestriction?.tenantHosts;
    if (!th || !values || typeof values !== "object" || Array.isArray(values)) return [];
    try {
      return th.hosts.flatMap((t) => expandTemplate(t, values as TenantValues)).map((h) => h.toLowerCase());
    } catch {
      return []; // a value is missing: its own problem is reported where the values are checked
    }
  }

  /** Problems with one service's tenant values, as (key path below breakout.tenants.<id>, message, expected). */
  tenantValueProblems(id: string, values: unknown): { key?: string; message: Msg; expected?: Msg; suggestion?: string }[] {
    const params = this.get(id).tenantRestriction?.parameters ?? [];
    if (!values || typeof values !== "object" || Array.isArray(values)) return [{ message: tr`is not a mapping of tenant values`, expected: tr`keys ${params.map((p) => p.name).join(", ")}` }];
    const out: { key?: string; message: Msg; expected?: Msg; suggestion?: string }[] = [];
    const given = values as Record<string, unknown>;
    const names = params.map((p) => p.name);
    for (const key of Object.keys(given)) {
      if (!names.includes(key)) out.push({ key, message: tr`unknown tenant value '${shortText(key)}' for ${id}`, expected: tr`one of ${names.join(", ")}`, suggestion: key.length <= 64 ? closestName(key, names) : undefined });
    }
    for (const p of params) {
      const v = given[p.name];
      if (v === undefined) {
        out.push({ message: tr`missing tenant value '${p.name}' for ${id}: ${p.description}`, expected: tr`${p.name}: ${p.list ? `[${p.example}]` : p.example}` });
        continue;
      }
      const list = p.list ? (Array.isArray(v) ? v : undefined) : undefined;
      if (p.list && !list) {
        out.push({ key: p.name, message: tr`${p.name} must be a list`, expected: tr`${p.name}: [${p.example}]` });
        continue;
      }
      if (!p.list && typeof v !== "string") {
        out.push({ key: p.name, message: tr`${p.name} must be a single string`, expected: tr`${p.name}: ${p.example}` });
        continue;
      }
      const items = list ?? [v];
      if (items.length === 0) out.push({ key: p.name, message: tr`${p.name} is empty`, expected: tr`at least one value, e.g. [${p.example}]` });
      if (new Set(items).size !== items.length) out.push({ key: p.name, message: tr`${p.name} lists a value twice`, expected: tr`unique values` });
      let re = this.compiled.get(p.pattern);
      if (!re) this.compiled.set(p.pattern, (re = new RegExp(p.pattern)));
      items.forEach((item, i) => {
        if (typeof item !== "string" || !re.test(item)) {
          out.push({ key: list ? `${p.name}/${i}` : p.name, message: tr`${shownValue(item)} is not a valid ${p.name}: ${p.description}`, expected: tr`a value matching ${p.pattern}, such as ${JSON.stringify(p.example)}` });
        }
      });
    }
    return out;
  }

  /** Whether the service documents file-download hosts, so 無害化 can be turned on for it. */
  canSanitize(id: string): boolean {
    return (this.get(id).fileDownloads?.hosts.length ?? 0) > 0;
  }

  /** Media ranges of the selected services, in selection order. */
  mediaOf(ids: readonly string[]): { saas: string; range: MediaRange }[] {
    return ids.flatMap((id) => (this.get(id).media ?? []).map((range) => ({ saas: id, range })));
  }
}

let cached: SaasCatalog | undefined;

/** An entry's fixed parts as resolveTenant uses them (SaasCatalog.prepared); patterns are frozen, as they are shared. */
interface PreparedEntry {
  /** its domains, parsed, in catalog order */
  readonly domains: readonly DomainPattern[];
  /** its domains normalized: what a service without tenant values contributes */
  readonly normalized: readonly DomainPattern[];
  /** its domains but the wildcards its tenant hosts replace */
  readonly unreplaced: readonly DomainPattern[];
  /** the hosts the vendor documents as shared, parsed */
  readonly shared: readonly DomainPattern[];
  /** per tenant header, its hosts parsed and normalized */
  readonly headerHosts: readonly (readonly DomainPattern[])[];
}

/** Expands {parameter} placeholders; a list parameter gives one result per value, or one joined by `join`. */
export function expandTemplate(template: string, values: TenantValues, join?: string): string[] {
  let results = [template];
  for (const m of template.matchAll(/\{([A-Za-z0-9]+)\}/g)) {
    const v = values[m[1]];
    if (v === undefined) throw new Error(`no value for {${m[1]}} in '${template}'`);
    const items = typeof v === "string" ? [v] : join !== undefined ? [v.join(join)] : [...v];
    results = results.flatMap((r) => items.map((item) => r.split(m[0]).join(item)));
  }
  return [...new Set(results)];
}

/**
 * The parameter values that expand `template` to exactly `host`, or undefined when none do. Each {parameter} stands
 * for one or more characters; a parameter used twice must take one value.
 */
function templateValues(template: string, host: string): Map<string, string> | undefined {
  const names: string[] = [];
  const source = template
    .split(/(\{[A-Za-z0-9]+\})/)
    .map((part) => {
      const m = /^\{([A-Za-z0-9]+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      if (names.includes(m[1])) return `\\k<${m[1]}>`;
      names.push(m[1]);
      return `(?<${m[1]}>.+)`;
    })
    .join("");
  const match = new RegExp(`^${source}$`).exec(host);
  return match ? new Map(names.map((n) => [n, match.groups![n]])) : undefined;
}

/** Checks a catalog entry's tenantRestriction against its own domains and parameters. */
function tenantRestrictionDefect(e: SaasEntry): string | undefined {
  const tr = e.tenantRestriction;
  if (!tr) return undefined;
  const params = new Set((tr.parameters ?? []).map((p) => p.name));
  const templates = [...(tr.tenantHosts?.hosts ?? []), ...(tr.headers ?? []).map((h) => h.value)];
  for (const t of templates) {
    for (const m of t.matchAll(/\{([A-Za-z0-9]+)\}/g)) if (!params.has(m[1])) return `'${t}' uses {${m[1]}}, which is not a parameter`;
  }
  if ((tr.tenantHosts || tr.headers) && params.size === 0) return "a mechanism without parameters";
  for (const p of tr.parameters ?? []) {
    if (!new RegExp(p.pattern).test(p.example)) return `the example of ${p.name} does not match its pattern`;
  }
  for (const r of tr.tenantHosts?.replaces ?? []) if (!e.domains.includes(r)) return `replaces '${r}', which is not one of the service's domains`;
  for (const o of tr.tenantHosts?.otherBaseDomains ?? []) {
    const p = parseDomainPattern(o.domain);
    if (typeof p === "string") return `other base domain '${o.domain}' is refused: ${p}`;
    if (e.domains.some((d) => covers(p, parseDomainPattern(d) as DomainPattern) || covers(parseDomainPattern(d) as DomainPattern, p))) return `other base domain '${o.domain}' overlaps the service's own domains (it belongs in replaces)`;
    // the municipality's own hosts never lie there, whatever its values: a template expanded with the examples shows it
    const examples = Object.fromEntries((tr.parameters ?? []).map((x) => [x.name, x.list ? [x.example] : x.example]));
    for (const t of tr.tenantHosts?.hosts ?? []) {
      for (const h of expandTemplate(t, examples)) if (covers(p, { name: h, includeSubdomains: false })) return `other base domain '${o.domain}' holds the template '${t}'`;
    }
  }
  for (const h of [...(tr.headers ?? []).flatMap((x) => x.hosts), ...(tr.tenantHosts?.shared ?? [])]) {
    const p = parseDomainPattern(h);
    if (typeof p === "string") return `host '${h}' is refused: ${p}`;
  }
  return undefined;
}

function closestName(key: string, names: readonly string[]): string | undefined {
  const { closest } = require("../core/errors") as typeof import("../core/errors");
  return closest(key, names);
}
