/**
 * The effective allowlist of a municipality: its selected catalog services, its extra domains, and the
 * internet targets of its relay routes. One function, so the firewall, DNS, PAC file and reviews agree.
 */
import { covers, DomainPattern, normalizeDomainPatterns, parseDomainPattern } from "../catalog/domains";
import { tr } from "../core/messages";
import { FieldProblem, parseHostPort } from "../config/semantic";
import type { MunicipalityConfig } from "../config/types";
import type { PassRule } from "../constructs/breakout-gateway";
import { DOMAIN_RULE_GROUP_CAPACITY, proxyEndpoints, proxySubnetPlan, relaySubnetPlan } from "../constructs/breakout-plan";
import { renderPac } from "../constructs/pac";
import { SaasCatalog, TenantValues } from "../catalog/saas-catalog";

/** A tenant header the proxy adds, for the hosts of one service. */
export interface TenantHeaderRule {
  readonly saas: string;
  readonly name: string;
  readonly value: string;
  /** allowlisted hosts that get the header (a header host the allowlist refuses is simply unreachable) */
  readonly hosts: DomainPattern[];
}

export interface EffectiveAllowlist {
  /** normalized domain patterns: what the firewall, DNS firewall and PAC file allow */
  readonly domains: DomainPattern[];
  /** port-level rules for traffic without a readable name (UDP media, non-TLS relay targets) */
  readonly passRules: PassRule[];
  /** headers the tenant-restriction proxy adds (empty: no proxy tier) */
  readonly headerRules: TenantHeaderRule[];
  /** names reachable only through the proxy: the header rules' hosts and the sanitized file-download hosts */
  readonly proxyOnlyDomains: DomainPattern[];
  /** 無害化: the services whose downloads are sanitized and their (allowlisted, tenant-narrowed) file hosts */
  readonly sanitization?: { readonly services: string[]; readonly hosts: DomainPattern[] };
}

/** Ports on which the firewall reads a name (TLS SNI or HTTP Host) for a relay target. */
const NAMED_PORTS = new Set([80, 443]);

export function effectiveAllowlist(config: MunicipalityConfig, catalog = SaasCatalog.default()): EffectiveAllowlist {
  const patterns: DomainPattern[] = [];
  const headers: { saas: string; name: string; value: string; hosts: DomainPattern[] }[] = [];
  for (const saas of config.breakout.saas) {
    // tenant values narrow the service's wildcards to the municipality's own tenant hosts; a waiver keeps them
    const resolved = catalog.resolveTenant(saas, config.breakout.tenants[saas] as TenantValues | undefined);
    patterns.push(...resolved.domains);
    headers.push(...resolved.headers.map((h) => ({ saas, ...h })));
  }
  for (const d of config.breakout.extraDomains) patterns.push(parseDomainPattern(d) as DomainPattern);
  const passRules: PassRule[] = [];
  const relaySubnets = relaySubnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length);
  for (const route of config.relay) {
    const target = parseHostPort(route.target);
    if (typeof target === "string" || target.isIp) continue; // on-prem targets go back over the VPN
    patterns.push({ name: target.host, includeSubdomains: false });
    // e.g. SMTP submission with STARTTLS: the name is not visible to the firewall, so the pass is limited to the
    // relay's own subnets (nothing else lives there: not Client VPN's interfaces, not the proxy) and the target port;
    // the relay itself connects to nothing but the configured host. Without relay subnets (a /24) validation refuses
    // such a target (deployabilityProblems) and no pass is made: the relay then fails closed.
    if (!NAMED_PORTS.has(target.port) && relaySubnets) {
      passRules.push({ description: `relay ${route.name} to ${route.target}`, protocol: "tcp", ports: String(target.port), sourceCidrs: relaySubnets });
    }
  }
  for (const { saas, range } of catalog.mediaOf(config.breakout.saas)) {
    passRules.push({ description: `${saas}: ${range.purpose}`, protocol: range.protocol, ports: range.ports.replace("-", ":"), destinationCidrs: range.cidrs });
  }
  const domains = normalizeDomainPatterns(patterns);
  const allowed = (p: DomainPattern) => domains.some((d) => covers(d, p));
  const headerRules = headers.map((h) => ({ ...h, hosts: h.hosts.filter(allowed) })).filter((h) => h.hosts.length > 0);
  const sanitization = config.breakout.sanitization ? { services: [...config.breakout.sanitization.services], hosts: sanitizedHosts(config.breakout.sanitization.services, domains, catalog) } : undefined;
  return {
    domains,
    passRules,
    headerRules,
    proxyOnlyDomains: normalizeDomainPatterns([...headerRules.flatMap((h) => h.hosts), ...(sanitization?.hosts ?? [])]),
    sanitization,
  };
}

/**
 * The file-download hosts of the sanitized services, as the allowlist has them: a catalog pattern that covers the
 * tenant's own hosts (*.cybozu.com, *.sharepoint.com) becomes those hosts; a pattern the allowlist covers stays.
 */
function sanitizedHosts(services: readonly string[], domains: readonly DomainPattern[], catalog: SaasCatalog): DomainPattern[] {
  const out: DomainPattern[] = [];
  for (const saas of services) {
    for (const h of catalog.get(saas).fileDownloads?.hosts ?? []) {
      const p = parseDomainPattern(h) as DomainPattern;
      out.push(...domains.filter((d) => covers(p, d)));
      if (domains.some((d) => covers(d, p))) out.push(p);
    }
  }
  return normalizeDomainPatterns(out);
}

/** Where the tenant-restriction proxy's load balancer answers ("address:port" per AZ); empty without a proxy tier. */
export function tenantProxyAddresses(config: MunicipalityConfig, allowlist = effectiveAllowlist(config)): string[] {
  if (allowlist.proxyOnlyDomains.length === 0) return [];
  return proxyEndpoints(proxySubnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length));
}

/** The municipality's PAC file: the same text the stack publishes and `alpha-prime render` writes. */
export function municipalityPac(config: MunicipalityConfig, allowlist = effectiveAllowlist(config)): string {
  return renderPac({
    allowedDomains: allowlist.domains,
    proxy: config.network.lgwanProxy,
    municipality: `${config.name} (${config.id})`,
    tenantProxy: { addresses: tenantProxyAddresses(config, allowlist), domains: allowlist.proxyOnlyDomains },
  });
}

/**
 * What synth or AWS would refuse of a config that is valid field by field, found at validate time with a location:
 * the allowlist must fit the firewall's domain rule group (a name costs two rules: TLS SNI and HTTP Host); a relay
 * target the firewall can only pass by port needs the relay's own subnets, which a /24 has no room for.
 */
export function deployabilityProblems(config: MunicipalityConfig, catalog = SaasCatalog.default()): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!relaySubnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length)) {
    config.relay.forEach((route, i) => {
      const target = parseHostPort(route.target);
      if (typeof target === "string" || target.isIp || NAMED_PORTS.has(target.port)) return;
      problems.push({
        path: ["relay", i, "target"],
        message: tr`port ${target.port} carries no name the firewall can read, so it would be passed by port from the relay's own subnets, and ${config.network.breakoutCidr} has no room for them (Client VPN devices would share the pass)`,
        expected: tr`a /23 or larger breakoutCidr, or a target on port 443 (TLS) or 80`,
      });
    });
  }
  const domains = effectiveAllowlist(config, catalog).domains.length;
  if (domains * 2 > DOMAIN_RULE_GROUP_CAPACITY) {
    problems.push({
      path: config.breakout.extraDomains.length ? ["breakout", "extraDomains"] : ["breakout", "saas"],
      message: tr`the allowlist has ${domains} names, which need ${domains * 2} firewall rules; the domain rule group holds ${DOMAIN_RULE_GROUP_CAPACITY}`,
      expected: tr`at most ${DOMAIN_RULE_GROUP_CAPACITY / 2} names (use a wildcard for a vendor's many hosts)`,
    });
  }
  return problems;
}
