/**
 * The SaaS catalog: typed access to constructs/saas-catalog.yaml, the one list that drives the firewall
 * allowlist, the DNS firewall, the DNS forwarder zones and the PAC file.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import { parse } from "yaml";
import { DomainPattern, normalizeDomainPatterns, parseDomainPattern } from "../config/domains";
import { REPO_ROOT } from "../config/paths";

export const CATALOG_PATH = path.join(REPO_ROOT, "constructs", "saas-catalog.yaml");

export interface MediaRange {
  readonly purpose: string;
  readonly protocol: "udp" | "tcp";
  /** a port or an inclusive range "from-to" */
  readonly ports: string;
  readonly cidrs: readonly string[];
}

export interface TenantRestriction {
  readonly mechanism: string;
  readonly headers: readonly string[];
  readonly hosts: readonly string[];
  readonly source: string;
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
        required: ["mechanism", "headers", "hosts", "source"],
        properties: {
          mechanism: { type: "string" },
          headers: { type: "array", items: { type: "string" } },
          hosts: { type: "array", items: { type: "string" } },
          source: { type: "string", pattern: "^https://" },
        },
      },
    },
  },
} as const;

export class SaasCatalog {
  /** The catalog in this repository, read once per process. */
  static default(): SaasCatalog {
    if (!cached) cached = SaasCatalog.fromFile(CATALOG_PATH);
    return cached;
  }

  static fromFile(file: string): SaasCatalog {
    return SaasCatalog.fromEntries(parse(fs.readFileSync(file, "utf8")), file);
  }

  /** Validates entries: the schema, unique ids, and every domain a valid, non-public-suffix pattern. */
  static fromEntries(data: unknown, origin = "catalog"): SaasCatalog {
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
    }
    return new SaasCatalog(entries);
  }

  private readonly byId: Map<string, SaasEntry>;

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

  /** Media ranges of the selected services, in selection order. */
  mediaOf(ids: readonly string[]): { saas: string; range: MediaRange }[] {
    return ids.flatMap((id) => (this.get(id).media ?? []).map((range) => ({ saas: id, range })));
  }
}

let cached: SaasCatalog | undefined;
