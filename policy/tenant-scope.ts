/**
 * テナント制限 judged on a synthesized stack's own firewall, not on the config: every name the firewall lets through —
 * the domain allowlist's targets and every stateful pass rule that restricts by TLS SNI or HTTP Host — that falls
 * under a wildcard a tenant mechanism replaced (*.sharepoint.com, *.cybozu.com) or under another base domain of the
 * same tenant namespace (*.kintone.com, *.sharepoint.us) must be one of the tenant's own hosts or a vendor's shared
 * host, unless the stack declares a service of that wildcard waived. The same rule as validate
 * (SaasCatalog.tenantBreach), so a config check that was bypassed — a hand edit of cdktf.out, a path that skipped
 * validation — is still caught, by AP-TEN-005 and by the reviewer diff.
 *
 * The stack's declaration of its own tenant hosts (locals.alpha_prime.tenant_restriction.tenant_hosts) is the stack's
 * own text, edited as easily as the allowlist; it is believed only as far as the catalog's host templates allow
 * (SaasCatalog.declaredTenantHosts): no tenant value expands to a wildcard, and a single-valued parameter
 * (SharePoint's tenant name) has one value.
 */
import { covers, DomainPattern, formatDomainPattern } from "../catalog/domains";
import { SaasCatalog, TenantScope } from "../catalog/saas-catalog";
import { describeNameMatch, NameMatch, nameRestriction, RuleGroupRules, ruleGroupRules, rulesOf } from "./suricata";
import { perStack } from "./model";
import { domainPattern } from "./domain-patterns";

export interface TenantScopeBreach {
  /** the allowed name, formatted (x.sharepoint.com, *.sharepoint.com), or a pass rule's name match in words */
  readonly name: string;
  readonly wildcard: string;
  readonly services: readonly string[];
  /** where the firewall lets it through: the domain allowlist, or a pass rule (its sid and rule group) */
  readonly via: string;
  /** the stack declares the name an own tenant host, and why that declaration is not believed */
  readonly declaredOwn?: string;
}

/** What a stack declares (locals.alpha_prime.tenant_restriction, unescaped): service statuses and own tenant hosts. */
export interface DeclaredTenants {
  readonly services?: readonly { readonly saas: string; readonly status: string }[];
  readonly tenant_hosts?: readonly { readonly saas: string; readonly hosts: readonly string[] }[];
}

/** A name (or set of names) the firewall lets through, and by which rule. */
export interface NameGrant {
  readonly match: NameMatch;
  readonly via: string;
  /** the resource address of the rule group */
  readonly address: string;
}

/** A model's resources as (address, values) pairs, the form these judgements share with the diff's snapshots. */
export const resourceEntries = perStack((model): readonly [string, Record<string, any>][] => model.resources.map((r) => [r.address, r.values]));

/*
 * What several rules judge of one stack's firewall (AP-NET-004, AP-TEN-001, AP-TEN-003, AP-TEN-005, AP-SAN-001),
 * computed once per model: the rule groups parsed, the names the firewall passes, the allowlist, the tenant breaches.
 */

/** The entries these judgements read: the rule groups (by address, as they select them). */
const ruleGroupEntries = perStack((model): readonly [string, Record<string, any>][] => resourceEntries(model).filter(([address]) => address.startsWith("aws_networkfirewall_rule_group.")));

/** The stack's rule groups, parsed (ruleGroupRules). */
export const stackRuleGroups = perStack((model): readonly RuleGroupRules[] => ruleGroupRules(ruleGroupEntries(model)));

/** nameGrants of the stack. */
export const stackNameGrants = perStack((model): readonly NameGrant[] => nameGrants(ruleGroupEntries(model), stackRuleGroups(model)));

/** allowlistTargets of the stack. */
export const stackAllowlistTargets = perStack((model): readonly DomainPattern[] => allowlistTargets(ruleGroupEntries(model)));

/** tenantScopeBreaches of the stack's firewall, against what the stack declares of its tenants. */
export const stackTenantScopeBreaches = perStack((model): readonly TenantScopeBreach[] => {
  const declared = model.context.tenantRestriction;
  return tenantScopeBreaches(stackNameGrants(model), declared && { services: declared.services, tenant_hosts: declared.tenantHosts });
});

/** The firewall's allowlist targets of a stack's resources (".x" is x and its subdomains), as patterns. */
export function allowlistTargets(resources: Iterable<[string, Record<string, any>]>): DomainPattern[] {
  const out: DomainPattern[] = [];
  for (const [address, body] of resources) {
    if (!address.startsWith("aws_networkfirewall_rule_group.")) continue;
    const list = body.rule_group?.rules_source?.rules_source_list;
    if (list?.generated_rules_type !== "ALLOWLIST") continue;
    for (const t of list.targets ?? []) {
      if (typeof t !== "string") continue;
      const p = domainPattern(t.startsWith(".") ? `*${t}` : t);
      // a target the domain semantics refuse (".com", a public suffix) opens every tenant and more: AP-NET-004's finding
      if (typeof p !== "string") out.push(p);
    }
  }
  return out;
}

/**
 * Every name the firewall passes: the allowlist's targets and the name restrictions of stateful pass rules.
 * `groups`: these resources' rule groups, when the caller has parsed them already (ruleGroupRules).
 */
export function nameGrants(resources: Iterable<[string, Record<string, any>]>, groups?: readonly RuleGroupRules[]): NameGrant[] {
  const all = [...resources];
  const out: NameGrant[] = [];
  for (const [address, body] of all) {
    if (!address.startsWith("aws_networkfirewall_rule_group.")) continue;
    for (const p of allowlistTargets([[address, body]])) out.push({ match: { kind: p.includeSubdomains ? "subtree" : "exact", text: p.name }, via: "the domain allowlist", address });
  }
  for (const { address, rule } of rulesOf(groups ?? ruleGroupRules(all))) {
    if (rule.action !== "pass") continue;
    const m = nameRestriction(rule);
    if (m && typeof m !== "string") out.push({ match: m, via: `pass rule sid ${rule.sid ?? "(none)"} of ${address}`, address });
  }
  return out;
}

/** The pattern a name match is, when it is one (an exact name or a dot-bounded subtree). */
function patternOf(m: NameMatch): DomainPattern | undefined {
  if (m.kind !== "exact" && m.kind !== "subtree") return undefined;
  const p = domainPattern(m.kind === "subtree" ? `*.${m.text}` : m.text);
  return typeof p === "string" ? undefined : p;
}

/**
 * Whether a match that is no domain pattern (a suffix without a label boundary, a prefix, a substring, or a name the
 * domain semantics refuse) lets through names under `scope` that are nobody's own: a suffix of the scope's name
 * matches all of it, a suffix ending in ".<scope>" matches endlessly many tenants, a prefix or a substring matches
 * names under every domain.
 */
function looseMatchReaches(m: NameMatch, scope: TenantScope): boolean {
  const w = scope.wildcard.name;
  switch (m.kind) {
    case "exact":
      return m.text === w || m.text.endsWith(`.${w}`);
    case "subtree":
      return m.text === w || w.endsWith(`.${m.text}`) || m.text.endsWith(`.${w}`);
    case "suffix":
      return w.endsWith(m.text) || m.text.endsWith(`.${w}`);
    default:
      return true;
  }
}

/** The own tenant hosts the stack may claim, per service, and the claims that are not believed. */
function ownHostsOf(declared: DeclaredTenants | undefined, catalog: SaasCatalog): { own: Map<string, string[]>; refused: Map<string, string> } {
  const own = new Map<string, string[]>();
  const refused = new Map<string, string>();
  const bySaas = new Map<string, unknown[]>();
  for (const t of declared?.tenant_hosts ?? []) bySaas.set(String(t.saas), [...(bySaas.get(String(t.saas)) ?? []), ...(Array.isArray(t.hosts) ? t.hosts : [])]);
  for (const [saas, hosts] of bySaas) {
    const judged = catalog.declaredTenantHosts(saas, hosts);
    own.set(saas, judged.own);
    for (const r of judged.refused) refused.set(r.host, `the stack declares it an own tenant host of ${saas}, but ${r.why}`);
  }
  return { own, refused };
}

export function tenantScopeBreaches(grants: readonly NameGrant[], declared: DeclaredTenants | undefined, catalog = SaasCatalog.default()): TenantScopeBreach[] {
  const waived = new Set((declared?.services ?? []).filter((s) => s.status === "waived").map((s) => s.saas));
  const { own, refused } = ownHostsOf(declared, catalog);
  const out: TenantScopeBreach[] = [];
  const seen = new Set<string>();
  for (const g of grants) {
    const p = patternOf(g.match);
    if (p) {
      const breach = catalog.tenantBreach(p, (saas) => own.get(saas) ?? [], waived);
      if (!breach) continue;
      const name = formatDomainPattern(p);
      if (seen.has(`${name} ${g.via}`)) continue;
      seen.add(`${name} ${g.via}`);
      out.push({ name, wildcard: breach.wildcard, services: breach.services, via: g.via, ...(refused.has(name) ? { declaredOwn: refused.get(name) } : {}) });
      continue;
    }
    for (const scope of catalog.tenantScopes()) {
      if (scope.services.some((s) => waived.has(s)) || !looseMatchReaches(g.match, scope)) continue;
      out.push({ name: describeNameMatch(g.match), wildcard: formatDomainPattern(scope.wildcard), services: scope.services, via: g.via });
    }
  }
  return out;
}

/** A configured tenant restriction that a waiver of another service on the same wildcard undoes. */
export interface UndoneRestriction {
  /** the configured service whose restriction no longer holds */
  readonly saas: string;
  readonly wildcard: string;
  /** the waived services that share the wildcard */
  readonly waivedBy: readonly string[];
  /** what the firewall lets through there that only the waiver excuses */
  readonly names: readonly string[];
}

/**
 * Services the stack calls "configured" whose wildcard the firewall reopens anyway, because another service on the
 * same wildcard is waived (kintone and Garoon share *.cybozu.com: a Garoon waiver lets *.cybozu.com through for kintone
 * too). Judged on the firewall: names that are a breach without the waivers and are none with them.
 */
export function restrictionsUndoneByWaivers(grants: readonly NameGrant[], declared: DeclaredTenants | undefined, catalog = SaasCatalog.default()): UndoneRestriction[] {
  const services = declared?.services ?? [];
  const waived = new Set(services.filter((s) => s.status === "waived").map((s) => s.saas));
  const configured = services.filter((s) => s.status === "configured").map((s) => s.saas);
  if (!waived.size || !configured.length) return [];
  const { own } = ownHostsOf(declared, catalog);
  const out: UndoneRestriction[] = [];
  for (const scope of catalog.tenantScopes()) {
    const by = scope.services.filter((s) => waived.has(s));
    const undone = scope.services.filter((s) => configured.includes(s));
    if (!by.length || !undone.length) continue;
    const names = grants.filter((g) => {
      const p = patternOf(g.match);
      if (!p) return looseMatchReaches(g.match, scope);
      if (!covers(scope.wildcard, p) && !covers(p, scope.wildcard)) return false;
      return catalog.tenantBreach(p, (saas) => own.get(saas) ?? [], new Set()) !== undefined;
    });
    if (!names.length) continue;
    const shown = [...new Set(names.map((g) => describeNameMatch(g.match)))];
    for (const saas of undone) out.push({ saas, wildcard: formatDomainPattern(scope.wildcard), waivedBy: by, names: shown });
  }
  return out;
}
