/**
 * The allowlist's names for one municipality: its selected catalog services (tenant wildcards narrowed to its own
 * tenant hosts), its extra domains and the internet targets of its relay routes, with the names only the proxy may
 * reach. Pure domain semantics, so `learn`, `catalog refresh` and the stack (stacks/allowlist.ts, which adds the
 * firewall's port rules and the PAC file) all compute it the same way.
 */
import { covers, DomainPattern, normalizeDomainPatterns, parseDomainPattern, parseHostPort } from "./domains";
import { SaasCatalog, TenantValues } from "./saas-catalog";
import type { MunicipalityConfig } from "../config/types";

/** A tenant header the proxy adds, for the hosts of one service. */
export interface TenantHeaderRule {
  readonly saas: string;
  readonly name: string;
  readonly value: string;
  /** allowlisted hosts that get the header (a header host the allowlist refuses is simply unreachable) */
  readonly hosts: DomainPattern[];
}

export interface DomainAllowlist {
  /** normalized domain patterns: what the firewall, DNS firewall and PAC file allow */
  readonly domains: DomainPattern[];
  /** headers the tenant-restriction proxy adds (empty: no proxy tier) */
  readonly headerRules: TenantHeaderRule[];
  /** names reachable only through the proxy: the header rules' hosts and the sanitized file-download hosts */
  readonly proxyOnlyDomains: DomainPattern[];
  /** 無害化: the services whose downloads are sanitized and their (allowlisted, tenant-narrowed) file hosts */
  readonly sanitization?: { readonly services: string[]; readonly hosts: DomainPattern[] };
}

export function domainAllowlist(config: MunicipalityConfig, catalog = SaasCatalog.default()): DomainAllowlist {
  const patterns: DomainPattern[] = [];
  const headers: { saas: string; name: string; value: string; hosts: DomainPattern[] }[] = [];
  for (const saas of config.breakout.saas) {
    // tenant values narrow the service's wildcards to the municipality's own tenant hosts; a waiver keeps them
    const resolved = catalog.resolveTenant(saas, config.breakout.tenants[saas] as TenantValues | undefined);
    patterns.push(...resolved.domains);
    headers.push(...resolved.headers.map((h) => ({ saas, ...h })));
  }
  const domains = normalizeDomainPatterns([...patterns, ...ownPatterns(config)]);
  const allowed = (p: DomainPattern) => domains.some((d) => covers(d, p));
  const headerRules = headers.map((h) => ({ ...h, hosts: h.hosts.filter(allowed) })).filter((h) => h.hosts.length > 0);
  const sanitization = config.breakout.sanitization ? { services: [...config.breakout.sanitization.services], hosts: narrowedHosts(config.breakout.sanitization.services.flatMap((s) => catalog.get(s).fileDownloads?.hosts ?? []), domains) } : undefined;
  return {
    domains,
    headerRules,
    proxyOnlyDomains: normalizeDomainPatterns([...headerRules.flatMap((h) => h.hosts), ...(sanitization?.hosts ?? [])]),
    sanitization,
  };
}

/** domainAllowlist's `domains` alone, without the header and 無害化 hosts (validation counts them for every file). */
export function allowlistDomains(config: MunicipalityConfig, catalog = SaasCatalog.default()): DomainPattern[] {
  // each service's patterns unnormalized: normalizing the whole removes whatever normalizing each would have
  const patterns = config.breakout.saas.flatMap((saas) => catalog.tenantPatterns(saas, config.breakout.tenants[saas] as TenantValues | undefined));
  return normalizeDomainPatterns([...patterns, ...ownPatterns(config)]);
}

/** The names a municipality adds itself: its extra domains and the internet targets of its relay routes. */
function ownPatterns(config: MunicipalityConfig): DomainPattern[] {
  const patterns: DomainPattern[] = [];
  for (const d of config.breakout.extraDomains) patterns.push(parseDomainPattern(d) as DomainPattern);
  for (const route of config.relay) {
    const target = parseHostPort(route.target);
    if (typeof target === "string" || target.isIp) continue; // on-prem targets go back over the VPN
    patterns.push({ name: target.host, includeSubdomains: false });
  }
  return patterns;
}

/**
 * Catalog host patterns as the allowlist has them: a pattern that covers the tenant's own hosts (*.cybozu.com,
 * *.sharepoint.com) becomes those hosts; a pattern the allowlist covers stays.
 */
export function narrowedHosts(hosts: readonly string[], domains: readonly DomainPattern[]): DomainPattern[] {
  const out: DomainPattern[] = [];
  for (const h of hosts) {
    const p = parseDomainPattern(h) as DomainPattern;
    out.push(...domains.filter((d) => covers(p, d)));
    if (domains.some((d) => covers(d, p))) out.push(p);
  }
  return normalizeDomainPatterns(out);
}
