/**
 * The reviewer diff's call-outs for テナント制限 (policy/tenant-scope.ts): a change that lets the firewall pass a name
 * under a wildcard a tenant mechanism replaced — another tenant's x.sharepoint.com, *.cybozu.com itself, a pass rule on
 * the TLS SNI ending in sharepoint.com — is named as a tenant-restriction change, not only as "domains added"; so is a
 * change of the municipality's own tenant (another kintone subdomain, another SharePoint tenant), which moves what
 * the restriction keeps staff on. Kept apart from diff.ts so the report's layout and this judgement change
 * independently; diff.ts only adds what this returns.
 */
import { fromTerraformLiteralDeep } from "../constructs/terraform-text";
import { SaasCatalog } from "../catalog/saas-catalog";
import { nameGrants, restrictionsUndoneByWaivers, tenantScopeBreaches } from "../policy/tenant-scope";

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

function declaredOf(s: SnapshotView) {
  return fromTerraformLiteralDeep(s.locals?.alpha_prime?.tenant_restriction ?? {});
}

function breachesOf(s: SnapshotView): Map<string, string> {
  const declared = declaredOf(s);
  const out = new Map<string, string>();
  const grants = nameGrants(s.resources.entries());
  for (const b of tenantScopeBreaches(grants, declared)) {
    const via = b.via === "the domain allowlist" ? "" : ` (${b.via})`;
    out.set(`${b.name}${via}`, `${b.wildcard}, which the tenant restriction of ${b.services.join(" / ")} narrows to the municipality's own tenant`);
  }
  for (const u of restrictionsUndoneByWaivers(grants, declared)) {
    out.set(`${u.wildcard} for ${u.saas}`, `the waiver of ${u.waivedBy.join(" / ")}, which shares ${u.wildcard} with ${u.saas}: ${u.saas}'s configured tenant hosts no longer hold`);
  }
  return out;
}

/** The municipality's own tenant hosts per service, as far as the catalog's templates believe the stack. */
function ownTenantHostsOf(s: SnapshotView): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const catalog = SaasCatalog.default();
  for (const t of declaredOf(s).tenant_hosts ?? []) {
    const saas = String(t.saas);
    out.set(saas, [...(out.get(saas) ?? []), ...catalog.declaredTenantHosts(saas, Array.isArray(t.hosts) ? t.hosts : []).own]);
  }
  return out;
}

/** Names the head reopens to other tenants that the base did not, and changes of the municipality's own tenant. */
export function tenantScopeCallouts(base: SnapshotView | undefined, head: SnapshotView | undefined): TenantScopeCallout[] {
  if (!head) return [];
  const before = base ? breachesOf(base) : new Map<string, string>();
  const out: TenantScopeCallout[] = [];
  for (const [name, why] of breachesOf(head)) {
    if (before.has(name)) continue;
    out.push({ risk: "security", address: "tenant restriction", message: `TENANT RESTRICTION UNDONE: ${name} is added under ${why}; it reopens other tenants, and AP-TEN-005 fails the stack unless the service is waived with a reason` });
  }
  if (!base) return out;
  // the tenant itself: what "own" means moved, so the restriction now keeps staff on another tenant as well or instead
  const was = ownTenantHostsOf(base);
  for (const [saas, now] of ownTenantHostsOf(head)) {
    const before = was.get(saas) ?? [];
    const added = now.filter((h) => !before.includes(h));
    const removed = before.filter((h) => !now.includes(h));
    if (!added.length && !removed.length) continue;
    out.push({
      risk: "security",
      address: `tenants.${saas}`,
      message: `TENANT CHANGED: the municipality's own ${saas} tenant hosts${added.length ? ` now include ${added.join(" ")}` : ""}${added.length && removed.length ? " and" : ""}${removed.length ? ` no longer include ${removed.join(" ")}` : ""}: a tenant-restriction change — confirm each is the municipality's own tenant before approving`,
    });
  }
  return out;
}
