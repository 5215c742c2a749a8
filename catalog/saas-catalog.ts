/**
 * The SaaS catalog: typed access to catalog/saas-catalog.yaml, the one list that drives the firewall
 * allowlist, the DNS firewall, the DNS forwarder zones and the PAC file.
 */
import type { Msg } from "../core/errors";
import { tr } from "../core/messages";
import * as fs from "fs";
import * as path from "path";
import { covers, DomainPattern, formatDomainPattern, normalizeDomainPatterns, parseDomainPattern } from "./domains";
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
    const e = this.get(id);
    const tr = e.tenantRestriction;
    const domains = e.domains.map((d) => parseDomainPattern(d) as DomainPattern);
    if (!values || !tr?.parameters) return { domains: normalizeDomainPatterns(domains), headers: [] };
    let kept = domains;
    if (tr.tenantHosts) {
      const replaced = new Set(tr.tenantHosts.replaces.map((d) => formatDomainPattern(parseDomainPattern(d) as DomainPattern)));
      kept = domains.filter((d) => !replaced.has(formatDomainPattern(d)));
      const hosts = [...tr.tenantHosts.hosts.flatMap((t) => expandTemplate(t, values)), ...(tr.tenantHosts.shared ?? [])];
      kept.push(...hosts.map((h) => parseDomainPattern(h) as DomainPattern));
    }
    const headers = (tr.headers ?? []).map((h) => ({
      name: h.name,
      value: expandTemplate(h.value, values, ",")[0],
      hosts: normalizeDomainPatterns(h.hosts.map((x) => parseDomainPattern(x) as DomainPattern)),
    }));
    return { domains: normalizeDomainPatterns(kept), headers };
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
      for (const r of th.replaces) {
        const wildcard = parseDomainPattern(r) as DomainPattern;
        const key = formatDomainPattern(wildcard);
        const scope = byWildcard.get(key) ?? { wildcard, services: [], shared: [] };
        scope.services.push(e.id);
        scope.shared.push(...(th.shared ?? []).map((h) => formatDomainPattern(parseDomainPattern(h) as DomainPattern)));
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
      const re = new RegExp(p.pattern);
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
