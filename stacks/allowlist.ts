/**
 * The effective allowlist of a municipality: its selected catalog services, its extra domains, and the
 * internet targets of its relay routes. One function, so the firewall, DNS, PAC file and reviews agree.
 */
import { DomainPattern, normalizeDomainPatterns, parseDomainPattern } from "../config/domains";
import { parseHostPort } from "../config/semantic";
import type { MunicipalityConfig } from "../config/types";
import type { PassRule } from "../constructs/breakout-gateway";
import { subnetPlan } from "../constructs/breakout-gateway";
import { SaasCatalog } from "../constructs/saas-catalog";

export interface EffectiveAllowlist {
  /** normalized domain patterns: what the firewall, DNS firewall and PAC file allow */
  readonly domains: DomainPattern[];
  /** port-level rules for traffic without a readable name (UDP media, non-TLS relay targets) */
  readonly passRules: PassRule[];
}

/** Ports on which the firewall reads a name (TLS SNI or HTTP Host) for a relay target. */
const NAMED_PORTS = new Set([80, 443]);

export function effectiveAllowlist(config: MunicipalityConfig, catalog = SaasCatalog.default()): EffectiveAllowlist {
  const patterns: DomainPattern[] = catalog.domainsOf(config.breakout.saas);
  for (const d of config.breakout.extraDomains) patterns.push(parseDomainPattern(d) as DomainPattern);
  const passRules: PassRule[] = [];
  const relaySubnets = subnetPlan(config.network.breakoutCidr, config.aws.availabilityZones.length).private.block;
  for (const route of config.relay) {
    const target = parseHostPort(route.target);
    if (typeof target === "string" || target.isIp) continue; // on-prem targets go back over the VPN
    patterns.push({ name: target.host, includeSubdomains: false });
    if (!NAMED_PORTS.has(target.port)) {
      // e.g. SMTP submission with STARTTLS: the name is not visible to the firewall, so the pass is limited to
      // the relay's subnets and the target port; the relay itself connects to nothing but the configured host.
      passRules.push({ description: `relay ${route.name} to ${route.target}`, protocol: "tcp", ports: String(target.port), sourceCidrs: [relaySubnets] });
    }
  }
  for (const { saas, range } of catalog.mediaOf(config.breakout.saas)) {
    passRules.push({ description: `${saas}: ${range.purpose}`, protocol: range.protocol, ports: range.ports.replace("-", ":"), destinationCidrs: range.cidrs });
  }
  return { domains: normalizeDomainPatterns(patterns), passRules };
}
