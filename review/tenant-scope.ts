/**
 * The reviewer diff's call-out for テナント制限's rule on names (policy/tenant-scope.ts): a change that puts a name
 * under a wildcard a tenant mechanism replaced on a municipality's allowlist — another tenant's x.sharepoint.com,
 * *.cybozu.com itself — is named as a tenant-restriction change, not only as "domains added". Kept apart from
 * diff.ts so the report's layout and this judgement change independently; diff.ts only adds what this returns.
 */
import { fromTerraformLiteralDeep } from "../constructs/terraform-text";
import { allowlistTargets, tenantScopeBreaches } from "../policy/tenant-scope";

/** What this module needs of one side of a diff (review/diff.ts StackSnapshot satisfies it). */
export interface SnapshotView {
  readonly resources: Map<string, Record<string, any>>;
  readonly locals: Record<string, any>;
}

export interface TenantScopeCallout {
  readonly risk: "security";
  readonly address: string;
  readonly message: string;
}

function breachesOf(s: SnapshotView): Map<string, string> {
  const declared = fromTerraformLiteralDeep(s.locals?.alpha_prime?.tenant_restriction ?? {});
  const out = new Map<string, string>();
  for (const b of tenantScopeBreaches(allowlistTargets(s.resources.entries()), declared)) out.set(b.name, `${b.wildcard}, which the tenant restriction of ${b.services.join(" / ")} narrows to the municipality's own tenant`);
  return out;
}

/** Names the head reopens to other tenants that the base did not. */
export function tenantScopeCallouts(base: SnapshotView | undefined, head: SnapshotView | undefined): TenantScopeCallout[] {
  if (!head) return [];
  const before = base ? breachesOf(base) : new Map<string, string>();
  const out: TenantScopeCallout[] = [];
  for (const [name, why] of breachesOf(head)) {
    if (before.has(name)) continue;
    out.push({ risk: "security", address: "tenant restriction", message: `TENANT RESTRICTION UNDONE: ${name} is added under ${why}; it reopens other tenants, and AP-TEN-005 fails the stack unless the service is waived with a reason` });
  }
  return out;
}
