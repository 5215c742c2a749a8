/**
 * A synthesized stack as the rules see it: every resource with its address and values, references between them
 * resolved (an S3 bucket's versioning, encryption and public-access block are separate resources that point at it),
 * and the α′ context the stack carries in its `alpha_prime` local.
 */
import * as zlib from "zlib";
import { fromTerraformLiteral, fromTerraformLiteralDeep } from "../constructs/terraform-text";
import type { Suppression } from "./types";

export interface Resource {
  readonly type: string;
  readonly name: string;
  /** type.name, the Terraform address */
  readonly address: string;
  readonly values: Record<string, any>;
}

/** What the stack declares about itself (locals.alpha_prime), so a standalone check needs nothing else. */
export interface AlphaPrimeContext {
  readonly municipality?: string;
  readonly retentionDays?: number;
  readonly lgwanSegments?: string[];
  readonly suppressions: Suppression[];
  /** breakout.publicHostingWaivers: extra wildcards over public hosting the municipality accepted, with the reason */
  readonly publicHostingWaivers?: { readonly domain: string; readonly reason: string }[];
  /** テナント制限 as synthesized: each selected service's status, and the names only the proxy may reach */
  readonly tenantRestriction?: TenantRestrictionContext;
}

export interface TenantRestrictionContext {
  /** `undone_by`: waived services that share this configured service's wildcard (kintone and Garoon on *.cybozu.com) */
  readonly services: { readonly saas: string; readonly status: "configured" | "waived" | "missing" | "none"; readonly reason?: string; readonly undone_by?: readonly string[] }[];
  readonly proxyOnlyDomains: string[];
  readonly headers: { readonly saas: string; readonly name: string; readonly value: string; readonly hosts: string[] }[];
  /** 無害化's coverage map (catalog/coverage.ts), as synthesized */
  readonly fileCoverage?: { readonly saas: string; readonly what: string; readonly hosts: string[]; readonly route: string; readonly covered: boolean; readonly why: string; readonly compensating?: string; readonly source: string; readonly documented: boolean }[];
  /** the municipality's own tenant hosts per configured service (what its tenant values expand to) */
  readonly tenantHosts?: { readonly saas: string; readonly hosts: string[] }[];
  /** 無害化, when on: the services, their file hosts, the engine and the size rule */
  readonly sanitization?: { readonly services: string[]; readonly hosts: string[]; readonly engine: string; readonly largerFiles: string; readonly largerFilesReason?: string };
}

const REF = /\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\.([a-z0-9_]+))?[^}]*\}/;

/** A resource address anywhere in text: a `${type.name.attr}` reference, a depends_on entry. */
const ADDRESS = /\b(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)/g;
/** What JSON.stringify escapes in a string (lone surrogates included; a pair is escaped too here, harmlessly). */
const JSON_ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Where `eachString` is: valid during the call it is passed to. */
export interface StringPlace {
  /** the object key the string is the value of; undefined for an array item */
  readonly key: string | undefined;
  /** whether the string lies under a "//" key (cdktf's metadata, which Terraform never evaluates) */
  readonly metadata: boolean;
  /** the string's JSON path, `a.b[0].c` */
  path(): string;
}

/** The walk's position: plain fields set before each string (accessors would cost more than the walk itself). */
class Place implements StringPlace {
  key: string | undefined = undefined;
  metadata = false;
  readonly steps: (string | number)[] = [];
  path(): string {
    return this.steps.reduce<string>((p, step) => (typeof step === "number" ? `${p}[${step}]` : p ? `${p}.${step}` : step), "");
  }
}

/**
 * Calls `visit` with every string in a value, depth first (object keys in Object.keys order, array items in order,
 * holes skipped) — the order JSON.stringify writes them. Nothing is allocated per string: the path is joined only
 * when asked for.
 */
export function eachString(value: unknown, visit: (text: string, at: StringPlace) => void): void {
  const at = new Place();
  let metadataDepth = 0; // steps under the outermost "//" key, 0 outside it
  const walk = (v: unknown, key: string | undefined): void => {
    if (typeof v === "string") {
      at.key = key;
      at.metadata = metadataDepth > 0;
      visit(v, at);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) continue;
        at.steps.push(i);
        walk(v[i], undefined);
        at.steps.pop();
      }
    } else if (v && typeof v === "object") {
      // own keys only: Object.keys's order, without allocating its array for every object of the stack
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        at.steps.push(k);
        if (metadataDepth > 0 || k === "//") metadataDepth++;
        walk((v as Record<string, unknown>)[k], k);
        if (metadataDepth > 0) metadataDepth--;
        at.steps.pop();
      }
    }
  };
  walk(value, undefined);
}

/**
 * The addresses (type.name) in a value's JSON text, in order, repeats included: what a search of JSON.stringify(value)
 * finds. For a plain JSON value that text is its keys and strings in walk order, each quoted and escaped, between
 * punctuation an address cannot contain, so the strings are searched without writing the text.
 */
function addressesInJson(value: unknown): string[] {
  const out: string[] = [];
  const find = (s: string) => {
    if (!s.includes("aws_")) return;
    for (const m of (JSON_ESCAPED.test(s) ? JSON.stringify(s) : s).matchAll(ADDRESS)) out.push(`${m[1]}.${m[2]}`);
  };
  let plainJson = true;
  const walk = (v: unknown): void => {
    if (typeof v === "string") find(v);
    else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (i in v) walk(v[i]);
        else plainJson = false; // a hole: JSON writes null
      }
    } else if (v && typeof v === "object") {
      // toJSON replaces an object, and JSON writes an object of another kind (a Map, a boxed string) otherwise
      const kind = Object.getPrototypeOf(v);
      if ((kind !== Object.prototype && kind !== null) || typeof (v as { toJSON?: unknown }).toJSON === "function") plainJson = false;
      // own keys with for-in: Object.keys's order, without allocating its array for every object
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        find(k);
        walk((v as Record<string, unknown>)[k]);
      }
    } else if (v === undefined || typeof v === "function" || typeof v === "symbol" || typeof v === "bigint") plainJson = false; // JSON leaves it out, or throws
  };
  walk(value);
  return plainJson ? out : [...JSON.stringify(value ?? null).matchAll(ADDRESS)].map((m) => `${m[1]}.${m[2]}`);
}

/** One root of StackStrings: a resource's values, or a top-level section of the stack other than the resources. */
export interface StringRoot {
  /** the resource's address, or the section's name */
  readonly address: string;
  /** the resource, for a resource's values */
  readonly resource?: Resource;
  /** where the root's strings lie in StackStrings: [start, end) */
  readonly start: number;
  readonly end: number;
}

/**
 * Every string of a stack, in one walk (StackModel.strings): each resource's values in the order of `resources`,
 * then each top-level section in the JSON's order but "resource" and cdktf's "//"; within a root, the order of
 * eachString. The rules that read every string (templates, PEM material) scan these arrays instead of each walking
 * the whole stack again.
 */
export interface StackStrings {
  readonly texts: readonly string[];
  /** the object key each string is the value of; undefined for an array item and for a root that is a string */
  readonly keys: readonly (string | undefined)[];
  /** 1 where a string lies under a "//" key (cdktf's metadata, which Terraform never evaluates), else 0 */
  readonly metadata: Uint8Array;
  readonly roots: readonly StringRoot[];
}

/**
 * The strings of the stack (StackStrings), in one walk. The walk pushes only each string and its key: the strings under
 * a "//" key are consecutive, so it notes where each such run starts and ends, and marks them once at the end (a
 * boolean pushed per string cost as much as the rest of the walk).
 */
function walkStrings(model: StackModel): StackStrings {
  const texts: string[] = [];
  const keys: (string | undefined)[] = [];
  const metadataRuns: number[] = []; // start, end, start, end… of the strings under the outermost "//" keys
  const roots: StringRoot[] = [];
  let metadataDepth = 0; // steps under the outermost "//" key, 0 outside it
  const walk = (v: unknown, key: string | undefined): void => {
    if (typeof v === "string") {
      texts.push(v);
      keys.push(key);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (i in v) walk(v[i], undefined);
    } else if (v && typeof v === "object") {
      // own keys only: Object.keys's order, without allocating its array for every object of the stack
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        if (metadataDepth > 0) {
          metadataDepth++;
          walk((v as Record<string, unknown>)[k], k);
          metadataDepth--;
        } else if (k === "//") {
          metadataDepth = 1;
          metadataRuns.push(texts.length);
          walk((v as Record<string, unknown>)[k], k);
          metadataRuns.push(texts.length);
          metadataDepth = 0;
        } else walk((v as Record<string, unknown>)[k], k);
      }
    }
  };
  for (const r of model.resources) {
    const start = texts.length;
    walk(r.values, undefined);
    roots.push({ address: r.address, resource: r, start, end: texts.length });
  }
  for (const [section, body] of Object.entries(model.json)) {
    if (section === "resource" || section === "//") continue;
    const start = texts.length;
    walk(body, undefined);
    roots.push({ address: section, start, end: texts.length });
  }
  const metadata = new Uint8Array(texts.length);
  for (let i = 0; i < metadataRuns.length; i += 2) metadata.fill(1, metadataRuns[i], metadataRuns[i + 1]);
  return { texts, keys, metadata, roots };
}

/** What base64 text holds (StackModel.decodedBase64). */
export interface DecodedBase64 {
  /** the bytes, as Buffer.from(text, "base64") reads them */
  readonly bytes: Buffer;
  /** for gzip bytes: whether they gunzip to at most GUNZIP_LIMIT bytes */
  readonly gunzipped: boolean;
  /** the text: the bytes gunzipped when they gunzip, else the bytes themselves, as UTF-8 */
  readonly text: string;
}

/** Up to 16 MiB of output from a gzip member: user data is at most 16 KiB, so more is not user data. */
export const GUNZIP_LIMIT = 16 * 1024 * 1024;

/** What a model keeps of decoded base64 (decodedBase64), in bytes and characters: far more than a stack's user data. */
export const DECODED_KEPT = 32 * 1024 * 1024;

/** Base64 text decoded, and gunzipped (to at most GUNZIP_LIMIT) when it is gzip; StackModel.decodedBase64 keeps it. */
export function decodeBase64(text: string): DecodedBase64 {
  const bytes = Buffer.from(text, "base64");
  let plain: Buffer | undefined;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      plain = zlib.gunzipSync(bytes, { maxOutputLength: GUNZIP_LIMIT });
    } catch {
      plain = undefined;
    }
  }
  return { bytes, gunzipped: plain !== undefined, text: (plain ?? bytes).toString("utf8") };
}

export class StackModel {
  readonly resources: Resource[];
  readonly context: AlphaPrimeContext;
  private readonly byAddress: Map<string, Resource>;
  /*
   * Indexes several rules read, each built on first use. The model does not change once built (rules only read it),
   * so each is computed once per stack instead of once per rule that asks.
   */
  private byType?: { types: Map<string, { first: number; resources: Resource[] }>; grouped: boolean };
  private readonly referencedByText = new Map<string, Resource | undefined>();
  private readonly referencesByResource = new Map<Resource, string[]>();
  private allStrings?: StackStrings;
  private readonly stringPaths = new Map<StringRoot, string[]>();
  private readonly decoded = new Map<string, DecodedBase64>();
  private decodedSize = 0;
  private readonly jsonByText = new Map<string, { value?: unknown; error?: unknown }>();
  private readonly views = new Map<(model: StackModel) => unknown, unknown>();
  private readonly memos = new Map<(key: any) => unknown, Map<unknown, unknown>>();

  /**
   * @param stack the stack id
   * @param json the synthesized cdk.tf.json
   * @param planned planned values by address, from `terraform show -json` (optional)
   */
  constructor(readonly stack: string, readonly json: Record<string, any>, readonly planned?: Map<string, Record<string, any>>) {
    this.resources = [];
    this.byAddress = new Map();
    // own keys with for-in, in Object.entries's order, without its [key, value] pair for every resource
    for (const [type, byName] of Object.entries<Record<string, any>>(json.resource ?? {})) {
      if (byName === null || byName === undefined) Object.entries(byName); // throws, as reading its entries did
      for (const name in byName) {
        if (!Object.hasOwn(byName, name)) continue;
        const r = { type, name, address: `${type}.${name}`, values: byName[name] };
        this.resources.push(r);
        this.byAddress.set(r.address, r);
      }
    }
    // the context as the municipality wrote it (the stack escaped it for Terraform)
    const ap = fromTerraformLiteralDeep(json.locals?.alpha_prime ?? {});
    this.context = {
      municipality: ap.municipality,
      retentionDays: ap.retention_days,
      lgwanSegments: ap.lgwan_segments,
      suppressions: (ap.suppressions ?? []).map((s: any) => ({
        rule: s.rule,
        resource: s.resource,
        reason: s.reason,
        ...(s.expires ? { expires: s.expires } : {}),
        ...(s.declared_by ? { declaredBy: s.declared_by } : {}),
      })),
      publicHostingWaivers: ap.public_hosting_waivers,
      tenantRestriction: ap.tenant_restriction
        ? {
            services: ap.tenant_restriction.services ?? [],
            proxyOnlyDomains: ap.tenant_restriction.proxy_only_domains ?? [],
            headers: ap.tenant_restriction.headers ?? [],
            tenantHosts: ap.tenant_restriction.tenant_hosts ?? [],
            fileCoverage: ap.tenant_restriction.file_coverage,
            sanitization: ap.tenant_restriction.sanitization
              ? {
                  services: ap.tenant_restriction.sanitization.services ?? [],
                  hosts: ap.tenant_restriction.sanitization.hosts ?? [],
                  engine: ap.tenant_restriction.sanitization.engine,
                  largerFiles: ap.tenant_restriction.sanitization.larger_files,
                  largerFilesReason: ap.tenant_restriction.sanitization.larger_files_reason,
                }
              : undefined,
          }
        : undefined,
    };
  }

  /** A generated file the stack publishes to its configuration bucket (by key), as it lands in S3. */
  publishedFile(key: string): { address: string; text: string } | undefined {
    const o = this.ofType("aws_s3_object").find((r) => r.values.key === key);
    return o && typeof o.values.content === "string" ? { address: o.address, text: fromTerraformLiteral(o.values.content) } : undefined;
  }

  /** The resources of these types, in the order of `resources`. */
  ofType(...types: string[]): readonly Resource[] {
    const index = (this.byType ??= this.indexByType());
    if (types.length === 1) return index.types.get(types[0])?.resources ?? [];
    // resources come grouped by type (json.resource is keyed by type), so several types are their groups in order
    if (!index.grouped) return this.resources.filter((r) => types.includes(r.type));
    const groups = [...new Set(types)].flatMap((t) => index.types.get(t) ?? []);
    return groups.length === 1 ? groups[0].resources : groups.sort((x, y) => x.first - y.first).flatMap((g) => g.resources);
  }

  private indexByType(): { types: Map<string, { first: number; resources: Resource[] }>; grouped: boolean } {
    const types = new Map<string, { first: number; resources: Resource[] }>();
    let grouped = true;
    this.resources.forEach((r, i) => {
      const group = types.get(r.type);
      if (!group) types.set(r.type, { first: i, resources: [r] });
      else {
        if (this.resources[i - 1].type !== r.type) grouped = false;
        group.resources.push(r);
      }
    });
    return { types, grouped };
  }

  get(address: string): Resource | undefined {
    return this.byAddress.get(address);
  }

  /** The resource a value refers to (`${aws_s3_bucket.B.id}` → aws_s3_bucket.B), if any. */
  referenced(value: unknown): Resource | undefined {
    if (typeof value !== "string") return undefined;
    if (this.referencedByText.has(value)) return this.referencedByText.get(value);
    const m = REF.exec(value);
    const r = m ? this.byAddress.get(`${m[1]}.${m[2]}`) : undefined;
    this.referencedByText.set(value, r);
    return r;
  }

  /**
   * Whether `value` points at `target`: by reference, or, for buckets, by the literal bucket name or ARN
   * (a stack may name a bucket it also creates).
   */
  pointsAt(value: unknown, target: Resource): boolean {
    if (this.referenced(value)?.address === target.address) return true;
    if (target.type === "aws_s3_bucket" && typeof value === "string" && typeof target.values.bucket === "string") {
      const name = target.values.bucket;
      return value === name || value === `arn:aws:s3:::${name}` || value.startsWith(`arn:aws:s3:::${name}/`);
    }
    return false;
  }

  /** Resources of `type` whose `attribute` points at `target` (e.g. the versioning of a bucket). */
  attached(type: string, attribute: string, target: Resource): Resource[] {
    return this.ofType(type).filter((r) => this.pointsAt(r.values[attribute], target));
  }

  /** Buckets that receive logs: destinations of flow logs, firewall logs and Resolver query logs. */
  logBuckets(): readonly Resource[] {
    return this.derived(logBucketsOf);
  }

  /**
   * A view of the stack that several rules read (parsed rule groups, name grants, routes), computed by `view` once
   * per model: the module that defines the view passes its function, and every rule that asks gets the same result.
   * Rules never change what they are given, and the model does not change once built.
   */
  derived<T>(view: (model: StackModel) => T): T {
    if (!this.views.has(view)) this.views.set(view, view(this));
    return this.views.get(view) as T;
  }

  /**
   * `f(key)`, computed once per model and key, for a pure function the rules call again and again on the stack's own
   * values (parseCidr on the same subnet blocks for every route). Rules never change what they are given.
   */
  memo<K, V>(f: (key: K) => V, key: K): V {
    let results = this.memos.get(f) as Map<K, V> | undefined;
    if (!results) this.memos.set(f, (results = new Map<K, V>()));
    if (!results.has(key)) results.set(key, f(key));
    return results.get(key)!;
  }

  /**
   * The addresses (type.name) that a resource's values mention anywhere — references, depends_on — in the order its
   * JSON text holds them, repeats included: what a reader of the JSON text would find.
   */
  mentions(r: Resource): readonly string[] {
    let found = this.referencesByResource.get(r);
    if (!found) this.referencesByResource.set(r, (found = addressesInJson(r.values)));
    return found;
  }

  /** Every string of the stack (StackStrings), from one walk shared by the rules that read them all. */
  strings(): StackStrings {
    return (this.allStrings ??= walkStrings(this));
  }

  /**
   * The JSON path (`a.b[0].c`) of strings().texts[index] within its root. The paths of a root are worked out in one
   * walk, the first time one of them is asked for: a walk per string asked for cost the square of the root's strings
   * (a list of 16,000 PEM texts took seconds, where the walk that reports them took milliseconds).
   */
  stringPath(index: number): string {
    const { roots } = this.strings();
    // roots lie in order and side by side: the last one starting at or before the index (empty ones hold none)
    let low = 0;
    let high = roots.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (roots[middle].start <= index) low = middle;
      else high = middle - 1;
    }
    while (roots[low].end <= index) low++;
    const root = roots[low];
    let paths = this.stringPaths.get(root);
    if (!paths) {
      const found: string[] = [];
      eachString(root.resource ? root.resource.values : this.json[root.address], (_, at) => void found.push(at.path()));
      this.stringPaths.set(root, (paths = found));
    }
    return paths[index - root.start];
  }

  /** JSON.parse of a document the stack holds as text (a policy), parsed once per model; throws as JSON.parse does. */
  parsedJson(text: string): unknown {
    let parsed = this.jsonByText.get(text);
    if (!parsed) {
      try {
        parsed = { value: JSON.parse(text) };
      } catch (error) {
        parsed = { error };
      }
      this.jsonByText.set(text, parsed);
    }
    if ("error" in parsed) throw parsed.error;
    return parsed.value;
  }

  /**
   * Base64 text decoded (and gunzipped, when it is gzip), once per model and text: a launch template's user data is
   * read by the rule for secrets and the rule for PEM material, and gunzip was the larger part of both.
   */
  decodedBase64(text: string): DecodedBase64 {
    const kept = this.decoded.get(text);
    if (kept) return kept;
    const decoded = decodeBase64(text);
    // kept up to DECODED_KEPT bytes a model: each text gunzips to as much as 16 MiB, and kept without a bound, a
    // stack of a few hundred small gzip bombs (22 KB of base64 each) held gigabytes until the model went, where the
    // rules decoding them one at a time never held more than one
    const size = decoded.bytes.length + decoded.text.length;
    if (this.decodedSize + size <= DECODED_KEPT) {
      this.decoded.set(text, decoded);
      this.decodedSize += size;
    }
    return decoded;
  }

  /** Values planned by Terraform for an address (from a plan), when a plan was given. */
  plannedValues(address: string): Record<string, any> | undefined {
    return this.planned?.get(address);
  }
}

/**
 * A view of a stack that several rules read, as a function of the model that computes it once per model
 * (StackModel.derived): `export const stackRoutes = perStack((model) => …)`.
 */
export function perStack<T>(compute: (model: StackModel) => T): (model: StackModel) => T {
  return (model) => model.derived(compute);
}

function logBucketsOf(model: StackModel): readonly Resource[] {
  const destinations: unknown[] = [
    ...model.ofType("aws_flow_log").map((f) => f.values.log_destination),
    ...model.ofType("aws_route53_resolver_query_log_config").map((q) => q.values.destination_arn),
    ...model.ofType("aws_networkfirewall_logging_configuration").flatMap((l) =>
      (l.values.logging_configuration?.log_destination_config ?? []).map((d: any) => d.log_destination?.bucketName),
    ),
  ];
  return model.ofType("aws_s3_bucket").filter((b) => destinations.some((d) => model.pointsAt(d, b)));
}

/** Reads planned values by address from `terraform show -json` output (root module and children). */
export function plannedValuesOf(plan: any): Map<string, Record<string, any>> {
  const out = new Map<string, Record<string, any>>();
  const walk = (module: any) => {
    for (const r of module?.resources ?? []) out.set(r.address, r.values ?? {});
    for (const child of module?.child_modules ?? []) walk(child);
  };
  walk(plan?.planned_values?.root_module);
  return out;
}

/**
 * JSON policy documents are strings in Terraform; a rule wants them parsed. With the model, each text is parsed once
 * for all the rules that read it (a key policy is read by three).
 */
export function parsePolicy(text: unknown, model?: StackModel): { Statement: any[] } | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const doc: any = model ? model.parsedJson(text) : JSON.parse(text);
    return { Statement: Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [] };
  } catch {
    return undefined;
  }
}

export function asArray<T>(v: T | T[] | undefined | null): T[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

export function isTrue(v: unknown): boolean {
  return v === true || v === "true";
}
