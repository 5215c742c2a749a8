/**
 * The coverage map of 無害化 for one municipality: for every selected service, every way its files reach a PC (the
 * catalog's `filePaths`, each checked against the vendor's documentation), the hosts as this municipality's allowlist
 * has them, and where those hosts go — through the engine (bumped and sent to ICAP), through the proxy without a scan
 * (bumped only for a tenant header), or DIRECT through the firewall, never decrypted. A path is covered only when its
 * service is sanitized, every host passes the engine and the file is an HTTP body the engine reads; everything else is
 * reported with why and the compensating control README recommends (check: AP-COV-001; the reviewer diff).
 */
import { covers, DomainPattern, formatDomainPattern } from "./domains";
import { domainAllowlist, narrowedHosts } from "./allowlist";
import { SaasCatalog } from "./saas-catalog";
import type { MunicipalityConfig } from "../config/types";

export type Route = "engine" | "proxy" | "direct" | "not allowlisted";

export interface PathCoverage {
  readonly saas: string;
  readonly what: string;
  /** the hosts as the allowlist has them (tenant wildcards narrowed to the tenant's own hosts) */
  readonly hosts: string[];
  /** where the worst of its hosts goes */
  readonly route: Route;
  readonly covered: boolean;
  /** why it is not covered (empty when it is) */
  readonly why: string;
  readonly compensating?: string;
  readonly source: string;
  readonly documented: boolean;
}

const ORDER: Route[] = ["direct", "proxy", "engine", "not allowlisted"];

export function fileCoverage(config: MunicipalityConfig, catalog = SaasCatalog.default()): PathCoverage[] {
  const allow = domainAllowlist(config, catalog);
  const sanitizedServices = new Set(allow.sanitization?.services ?? []);
  const scanned = allow.sanitization?.hosts ?? [];
  const routeOf = (h: DomainPattern): Route => (scanned.some((s) => covers(s, h)) ? "engine" : allow.proxyOnlyDomains.some((p) => covers(p, h)) ? "proxy" : "direct");
  const out: PathCoverage[] = [];
  for (const saas of config.breakout.saas) {
    for (const fp of catalog.get(saas).filePaths ?? []) {
      const hosts = narrowedHosts(fp.hosts, allow.domains);
      const routes = hosts.map(routeOf);
      const route = routes.length ? ORDER.find((r) => routes.includes(r))! : "not allowlisted";
      const sanitized = sanitizedServices.has(saas);
      // judged by host: a file on a host another sanitized service shares (kintone and Garoon) passes the engine too
      const covered = route === "not allowlisted" || (route === "engine" && fp.carrier === "http");
      const why = covered
        ? ""
        : [
            ...(fp.carrier === "protocol" ? ["the file travels inside another protocol, where the engine sees no file"] : []),
            ...(!sanitized && route !== "engine" ? [`sanitization is not on for ${saas}`] : []),
            ...(route === "direct" ? ["its hosts go DIRECT through the firewall and are never decrypted"] : route === "proxy" ? ["its hosts are bumped for a tenant header only, not scanned"] : []),
          ].join("; ");
      out.push({ saas, what: fp.what, hosts: hosts.map(formatDomainPattern), route, covered, why, ...(fp.compensating ? { compensating: fp.compensating } : {}), source: fp.source, documented: fp.documented });
    }
  }
  return out;
}
