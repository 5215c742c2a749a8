/**
 * A synthesized stack as the rules see it: every resource with its address and values, references between them
 * resolved (an S3 bucket's versioning, encryption and public-access block are separate resources that point at it),
 * and the α′ context the stack carries in its `alpha_prime` local.
 */
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
  /** テナント制限 as synthesized: each selected service's status, and the names only the proxy may reach */
  readonly tenantRestriction?: TenantRestrictionContext;
}

export interface TenantRestrictionContext {
  readonly services: { readonly saas: string; readonly status: "configured" | "waived" | "missing" | "none"; readonly reason?: string }[];
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

export class StackModel {
  readonly resources: Resource[];
  readonly context: AlphaPrimeContext;
  private readonly byAddress: Map<string, Resource>;

  /**
   * @param stack the stack id
   * @param json the synthesized cdk.tf.json
   * @param planned planned values by address, from `terraform show -json` (optional)
   */
  constructor(readonly stack: string, readonly json: Record<string, any>, readonly planned?: Map<string, Record<string, any>>) {
    this.resources = Object.entries<Record<string, any>>(json.resource ?? {}).flatMap(([type, byName]) =>
      Object.entries<Record<string, any>>(byName).map(([name, values]) => ({ type, name, address: `${type}.${name}`, values })),
    );
    this.byAddress = new Map(this.resources.map((r) => [r.address, r]));
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

  ofType(...types: string[]): Resource[] {
    return this.resources.filter((r) => types.includes(r.type));
  }

  get(address: string): Resource | undefined {
    return this.byAddress.get(address);
  }

  /** The resource a value refers to (`${aws_s3_bucket.B.id}` → aws_s3_bucket.B), if any. */
  referenced(value: unknown): Resource | undefined {
    if (typeof value !== "string") return undefined;
    const m = REF.exec(value);
    return m ? this.byAddress.get(`${m[1]}.${m[2]}`) : undefined;
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
  logBuckets(): Resource[] {
    const destinations: unknown[] = [
      ...this.ofType("aws_flow_log").map((f) => f.values.log_destination),
      ...this.ofType("aws_route53_resolver_query_log_config").map((q) => q.values.destination_arn),
      ...this.ofType("aws_networkfirewall_logging_configuration").flatMap((l) =>
        (l.values.logging_configuration?.log_destination_config ?? []).map((d: any) => d.log_destination?.bucketName),
      ),
    ];
    return this.ofType("aws_s3_bucket").filter((b) => destinations.some((d) => this.pointsAt(d, b)));
  }

  /** Values planned by Terraform for an address (from a plan), when a plan was given. */
  plannedValues(address: string): Record<string, any> | undefined {
    return this.planned?.get(address);
  }
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

/** JSON policy documents are strings in Terraform; a rule wants them parsed. */
export function parsePolicy(text: unknown): { Statement: any[] } | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const doc = JSON.parse(text);
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
