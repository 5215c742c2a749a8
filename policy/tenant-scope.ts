/**
 * テナント制限 judged on a synthesized stack's own allowlist (the firewall's ALLOWLIST targets), not on the config:
 * any allowed name under a wildcard a tenant mechanism replaced (*.sharepoint.com, *.cybozu.com) must be one of the
 * tenant's own hosts or a vendor's shared host, unless the stack declares that service waived. The same rule as
 * validate (SaasCatalog.tenantBreach), so a config check that was bypassed — a hand edit of cdktf.out, a path that
 * skipped validation — is still caught, by AP-TEN-005 and by the reviewer diff.
 */
import { DomainPattern, parseDomainPattern } from "../catalog/domains";
import { SaasCatalog } from "../catalog/saas-catalog";

export interface TenantScopeBreach {
  /** the allowlisted pattern, formatted (x.sharepoint.com, *.sharepoint.com) */
  readonly name: string;
  readonly wildcard: string;
  readonly services: readonly string[];
}

/** What a stack declares (locals.alpha_prime.tenant_restriction, unescaped): service statuses and own tenant hosts. */
export interface DeclaredTenants {
  readonly services?: readonly { readonly saas: string; readonly status: string }[];
  readonly tenant_hosts?: readonly { readonly saas: string; readonly hosts: readonly string[] }[];
}

/** The firewall's allowlist targets of a stack's resources (".x" is x and its subdomains), as patterns. */
export function allowlistTargets(resources: Iterable<[string, Record<string, any>]>): DomainPattern[] {
  const out: DomainPattern[] = [];
  for (const [address, body] of resources) {
    if (!address.startsWith("aws_networkfirewall_rule_group.")) continue;
    const list = body.rule_group?.rules_source?.rules_source_list;
    if (list?.generated_rules_type !== "ALLOWLIST") continue;
    for (const t of list.targets ?? []) {
      if (typeof t !== "string") continue;
      const p = parseDomainPattern(t.startsWith(".") ? `*${t}` : t);
      // a target the domain semantics refuse (".com", a public suffix) opens every tenant and more: AP-NET-004's finding
      if (typeof p !== "string") out.push(p);
    }
  }
  return out;
}

export function tenantScopeBreaches(targets: readonly DomainPattern[], declared: DeclaredTenants | undefined, catalog = SaasCatalog.default()): TenantScopeBreach[] {
  const waived = new Set((declared?.services ?? []).filter((s) => s.status === "waived").map((s) => s.saas));
  const own = new Map<string, string[]>();
  for (const t of declared?.tenant_hosts ?? []) own.set(t.saas, [...(own.get(t.saas) ?? []), ...t.hosts.map((h) => String(h).toLowerCase())]);
  const out: TenantScopeBreach[] = [];
  for (const p of targets) {
    const breach = catalog.tenantBreach(p, (saas) => own.get(saas) ?? [], waived);
    if (breach) out.push({ name: p.includeSubdomains ? `*.${p.name}` : p.name, wildcard: breach.wildcard, services: breach.services });
  }
  return out;
}
