/** The read-only reports of the CLI: the SaaS catalog, the bandwidth tiers with costs, a municipality's PAC file. */
import * as path from "path";
import { REPO_ROOT } from "../core/paths";
import type { MunicipalityConfig } from "../config/types";
import { BANDWIDTH_TIERS, CostShape, estimateTierCost, loadPriceList, TierCost } from "../constructs/bandwidth-tier";
import { CLAMAV_MEMORY_GIB, FULL_DATABASE_SCAN_MB_PER_CORE, GRAVITON_CORE_SHARE, MEASURED, proxyTierCapacity, TARGET_CPU } from "../constructs/proxy-capacity";
import { SaasCatalog, SaasEntry } from "../catalog/saas-catalog";
import { effectiveAllowlist, municipalityPac, needsTenantProxy } from "../stacks/allowlist";

export const PRICE_LIST_PATH = path.join(REPO_ROOT, "constructs", "bandwidth-tier-prices.yaml");

/** Plain text table with aligned columns. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => [...r[i]].length)));
  const line = (r: string[]) => r.map((c, i) => c + " ".repeat(widths[i] - [...c].length)).join("  ").trimEnd();
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n") + "\n";
}

export function catalogReport(catalog = SaasCatalog.default()): string {
  const rows = catalog.entries.map((e) => [
    e.id,
    e.name,
    e.sourceKind === "official" ? "official list" : "NO official list",
    e.domains.length,
    e.media?.length ? e.media.map((m) => `${m.protocol} ${m.ports}`).join(", ") : "-",
    tenantMechanisms(e.tenantRestriction),
    e.retrievedAt,
  ]);
  const tenants = catalog.entries
    .filter((e) => e.tenantRestriction)
    .map((e) => {
      const tr = e.tenantRestriction!;
      const lines = [`  ${e.id}: ${tr.covers}`];
      for (const p of tr.parameters ?? []) lines.push(`    breakout.tenants.${e.id}.${p.name}${p.list ? " (list)" : ""}: ${p.description}; e.g. ${p.example}`);
      for (const h of tr.headers ?? []) lines.push(`    header ${h.name}: ${h.value} on ${h.hosts.join(" ")}`);
      if (tr.tenantHosts) lines.push(`    hosts ${tr.tenantHosts.hosts.join(" ")} replace ${tr.tenantHosts.replaces.join(" ")}${tr.tenantHosts.shared?.length ? `; shared: ${tr.tenantHosts.shared.join(" ")}` : ""}`);
      if (tr.ipRestriction) lines.push(`    IP restriction (register egress_ips): ${tr.ipRestriction}`);
      if (tr.notDocumented) lines.push(`    not documented: ${tr.notDocumented}`);
      lines.push(`    source: ${tr.source} (read ${tr.retrievedAt})`);
      return lines.join("\n");
    });
  return (
    table(["id", "service", "vendor source", "domains", "media", "tenant restriction", "read on"], rows) +
    "\nSources:\n" +
    catalog.entries.map((e) => `  ${e.id}: ${e.source}`).join("\n") +
    "\n\nTenant restriction (テナント制限):\n" +
    tenants.join("\n") +
    "\n"
  );
}

/** The kinds of tenant restriction a service has, in a few words. */
export function tenantMechanisms(tr: SaasEntry["tenantRestriction"]): string {
  if (!tr) return "-";
  const kinds = [tr.headers?.length ? "header (proxy)" : "", tr.tenantHosts ? "tenant host names" : "", tr.ipRestriction ? "SaaS-side IP restriction" : ""].filter(Boolean);
  return kinds.length ? kinds.join(", ") : "none documented";
}

export function shapeOf(config?: MunicipalityConfig): CostShape {
  if (!config) return { sites: 2, availabilityZones: 2, remoteAccess: true, relay: true, proxy: true };
  return {
    sites: config.sites.length,
    availabilityZones: config.aws.availabilityZones.length,
    remoteAccess: !!config.remoteAccess,
    relay: config.relay.length > 0,
    proxy: needsTenantProxy(effectiveAllowlist(config)),
  };
}

export function tierCosts(shape: CostShape): TierCost[] {
  const list = loadPriceList(PRICE_LIST_PATH);
  return BANDWIDTH_TIERS.map((t) => estimateTierCost(t, shape, list));
}

export function tiersReport(shape: CostShape, jpyPerUsd: number, label: string): string {
  const list = loadPriceList(PRICE_LIST_PATH);
  const costs = tierCosts(shape);
  const yen = (usd: number) => `¥${Math.round(usd * jpyPerUsd).toLocaleString("en-US")}`;
  const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const rows = costs.map((c) => [
    c.tier.id,
    `${c.tier.gbps} Gbps`,
    c.tier.vpnConnectionsPerSite,
    `${c.tier.relayInstanceType} ×${c.tier.relayInstancesPerAz}/AZ`,
    `${c.tier.proxyInstanceType} ×${c.tier.proxyInstancesPerAz}–${c.tier.proxyMaxInstancesPerAz}/AZ`,
    percent(proxyTierCapacity(c.tier).sanitizedShareFullDatabase),
    `${c.tier.throughputAlarmBps / 1e9} Gbps`,
    usd(c.fixedUsdPerMonth),
    yen(c.fixedUsdPerMonth),
    `${usd(c.usdPerTbThroughBreakout)} / ${yen(c.usdPerTbThroughBreakout)}`,
  ]);
  const unverified = list.prices.filter((p) => p.status !== "verified").length;
  return [
    `Bandwidth tiers for ${label}: ${shape.sites} site(s), ${shape.availabilityZones} AZ(s), remote access ${shape.remoteAccess ? "on" : "off"}, relay ${shape.relay ? "on" : "off"}, tenant-restriction proxy ${shape.proxy ? "on" : "off"}; ap-northeast-1 list prices, ${jpyPerUsd} JPY/USD.`,
    "",
    table(["tier", "bandwidth", "VPN conns/site", "relay", "proxy (scales within)", "sanitized share", "alarm above", "fixed USD/month", "fixed JPY/month", "+ per TB through breakout"], rows),
    `Per TB uploaded to the internet add ${usd(costs[0].usdPerTbUploaded)} / ${yen(costs[0].usdPerTbUploaded)} (data transfer out). Not included: CloudWatch Logs ingestion, S3 storage, Client VPN connection hours.`,
    "One flow (one TCP connection) never exceeds one tunnel's 1.25 Gbps, whatever the tier; see constructs/bandwidth-tier.ts.",
    "",
    proxyCapacityReport(),
    "Price figures (USD):",
    ...list.prices.map((p) => `  ${p.item}: ${p.usd} per ${p.unit} — ${p.source} (recorded ${p.recordedAt}, ${p.status})`),
    ...(unverified ? ["", `WARNING: ${unverified} of ${list.prices.length} figures are unverified: check them in the AWS Pricing Calculator before quoting.`] : []),
    "",
  ].join("\n");
}

function percent(share: number): string {
  return share === 0 ? "0 %" : share < 0.1 ? `${(share * 100).toFixed(1)} %` : `${Math.round(share * 100)} %`;
}

/**
 * The proxy tier against its measurements: what the floor fleet (2 AZs) carries per tier, and what was measured and
 * what is estimated, with sources. Costs above are for the floor; scaling adds instances up to the maximum.
 */
export function proxyCapacityReport(): string {
  const rows = BANDWIDTH_TIERS.map((t) => {
    const c = proxyTierCapacity(t);
    return [
      t.id,
      `${c.floorInstances}–${c.maxInstances} × ${c.instanceType} (${c.spec.vcpus} vCPU, ${c.spec.memoryGiB} GiB)`,
      String(c.workers),
      `${c.bumpGbpsAtTarget.toFixed(1)} Gbps`,
      `${Math.round(c.newConnectionsPerSecond)}/s`,
      `${c.baselineGbps.toFixed(1)} Gbps`,
      `${c.memoryNeededGiB} GiB`,
      `${percent(c.sanitizedShareFullDatabase)} (≤ ${percent(c.sanitizedShareOneSignature)})`,
      c.problems.length ? `NO: ${c.problems.join("; ")}` : "yes",
    ];
  });
  const f = MEASURED.figures;
  return [
    `Tenant-restriction proxy, floor fleet in 2 AZs (more AZs add capacity). Bump = the whole tier decrypted for a header (the worst case) at ${TARGET_CPU * 100} % CPU;`,
    "sanitized share = how much of the tier can also be scanned with ClamAV's full database while the rest is bumped (in brackets: with the one-signature database measured here).",
    "",
    table(["tier", "instances (floor–max)", "Squid workers", "bumps at 50 % CPU", "new TLS conns", "baseline network", "memory needed", "sanitized share", "carries the tier"], rows),
    `Measured (${MEASURED.measuredAt}, ${MEASURED.run}; ${MEASURED.machine}; ${MEASURED.database}), per core: splice ${f.spliceGbps} Gbit/s, bump ${f.bumpGbps} Gbit/s, ${f.bumpRequestsPerSecond} req/s kept-alive, ${f.bumpNewConnectionsPerSecond} new TLS connections/s, bump + scan ${f.scanGbps} Gbit/s (${f.scanCpuSecondsPerMb} CPU-s/MB).`,
    `Estimated: a Graviton vCPU = ${GRAVITON_CORE_SHARE.value} of a measured core (${GRAVITON_CORE_SHARE.source});`,
    `  full-database scanning ${FULL_DATABASE_SCAN_MB_PER_CORE.value} MB/s per core (${FULL_DATABASE_SCAN_MB_PER_CORE.source});`,
    `  ClamAV memory ${CLAMAV_MEMORY_GIB.value} GiB (${CLAMAV_MEMORY_GIB.source}). Instance bandwidth and memory: constructs/proxy-capacity.ts. See README "Bandwidth tiers".`,
    "",
  ].join("\n");
}

export function pacFor(config: MunicipalityConfig): string {
  return municipalityPac(config);
}
