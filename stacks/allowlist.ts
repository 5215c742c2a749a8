/**
 * The effective allowlist of a municipality: its selected catalog services, its extra domains, and the
 * internet targets of its relay routes. One function, so the firewall, DNS, PAC file and reviews agree.
 */
import { parseHostPort } from "../catalog/domains";
import { allowlistDomains, domainAllowlist, DomainAllowlist } from "../catalog/allowlist";
import { tr } from "../core/messages";
import type { FieldProblem } from "../config/semantic";
import type { MunicipalityConfig } from "../config/types";
import type { PassRule } from "../constructs/breakout-gateway";
import { DOMAIN_RULE_GROUP_CAPACITY, proxyEndpoints, proxySubnetPlan, relaySubnetPlan } from "../constructs/breakout-plan";
import { renderPac } from "../constructs/pac";
import { SaasCatalog } from "../catalog/saas-catalog";

export type { TenantHeaderRule } from "../catalog/allowlist";

export interface EffectiveAllowlist extends DomainAllowlist {
  /** port-level rules for traffic without a readable name (UDP media, non-TLS relay targets) */
  readonly passRules: PassRule[];
}

/**
 * Whether the municipality gets the tenant-restriction proxy tier: a tenant header to add, or a host to decrypt for
 * 無害化 (both make the host proxy-only). The stack deploys it on this, and the cost report prices it on this.
 */
export function needsTenantProxy(allowlist: Pick<DomainAllowlist, "headerRules" | "proxyOnlyDomains">): boolean {
  return allowlist.headerRules.length > 0 || allowlist.proxyOnlyDomains.length > 0;
}

/** Ports on which the firewall reads a name (TLS SNI or HTTP Host) for a relay target. */
const NAMED_PORTS = new Set([80, 443]);

/** The names (catalog/allowlist.ts) plus the firewall's port rules, which need the address plan. */
export function effectiveAllowlist(config: MunicipalityConfig, catalog = SaasCatalog.default()): EffectiveAllowlist {
  const passRules: PassRule[] = [];
  const relaySubnets = relaySubnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length);
  for (const route of config.relay) {
    const target = parseHostPort(route.target);
    if (typeof target === "string" || target.isIp) continue; // on-prem targets go back over the VPN
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
  return { ...domainAllowlist(config, catalog), passRules };
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

/** relaySubnetPlan's answer (or its error) by network and zone count: a national repository has few of each. */
const relaySubnetsKnown = new Map<string, boolean | Error>();

function hasRelaySubnets(breakoutCidr: string, zones: number): boolean {
  const key = `${breakoutCidr} ${zones}`;
  let known = relaySubnetsKnown.get(key);
  if (known === undefined) {
    try {
      known = relaySubnetPlan(breakoutCidr, zones) !== undefined;
    } catch (e) {
      known = e as Error;
    }
    if (relaySubnetsKnown.size >= 4096) relaySubnetsKnown.clear(); // bounded, whatever the input
    relaySubnetsKnown.set(key, known);
  }
  if (known instanceof Error) throw known;
  return known;
}

/**
 * What synth or AWS would refuse of a config that is valid field by field, found at validate time with a location:
 * the allowlist must fit the firewall's domain rule group (a name costs two rules: TLS SNI and HTTP Host); a relay
 * target the firewall can only pass by port needs the relay's own subnets, which a /24 has no room for.
 */
export function deployabilityProblems(config: MunicipalityConfig, catalog = SaasCatalog.default()): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!hasRelaySubnets(config.network.breakoutCidr, config.aws.availabilityZones.length)) {
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
  // the names alone: the firewall's port rules do not count against the domain rule group
  const domains = allowlistDomains(config, catalog).length;
  if (domains * 2 > DOMAIN_RULE_GROUP_CAPACITY) {
    problems.push({
      path: config.breakout.extraDomains.length ? ["breakout", "extraDomains"] : ["breakout", "saas"],
      message: tr`the allowlist has ${domains} names, which need ${domains * 2} firewall rules; the domain rule group holds ${DOMAIN_RULE_GROUP_CAPACITY}`,
      expected: tr`at most ${DOMAIN_RULE_GROUP_CAPACITY / 2} names (use a wildcard for a vendor's many hosts)`,
    });
  }
  return problems;
}
