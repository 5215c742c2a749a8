/**
 * What the tenant-restriction proxy tier can carry, from measurements: the per-core figures bench/proxy.ts measured
 * on the rendered configuration (real Squid, c-icap and clamd on the loopback), the instance types' published
 * resources, and — where nothing could be measured here — estimates, each with its source. The tier table
 * (bandwidth-tier.ts) is checked against this arithmetic by test/proxy-capacity.test.ts, `alpha-prime tiers` prints
 * it, and `npm run bench` prints it again from the figures it has just measured.
 *
 * The model, plainly:
 * - The fleet's floor is the tier's instances per AZ × 2 AZs (the fewest a municipality may configure); more zones
 *   only add capacity. Scaling (target tracking on CPU) may double it, up to the tier's maximum.
 * - CPU: the tier's whole bandwidth is assumed to be *bumped* (decrypted for a header), the worst case — Slack's
 *   workspace header applies to every Slack host, so a municipality that lives in Slack bumps almost everything.
 *   That must fit in TARGET_CPU of the floor's cores; splicing is an order of magnitude cheaper and only helps.
 * - Network: the floor's baseline bandwidth (per direction; the proxy receives and sends every byte) must carry
 *   the tier without burst credits.
 * - Memory: the OS and agents, Squid per worker, c-icap, and ClamAV's documented requirement for the full database.
 * - Sanitized share: the share of the tier's bandwidth that can also be scanned when the rest is bumped, with the
 *   cores left at TARGET_CPU, at the *full-database* scan rate (an estimate, below) and, as an upper bound, at the
 *   one-signature rate measured here.
 * - Per-core figures were measured on x86 cores of the build machine; the instances are Graviton (arm64). Until
 *   the bench is run on an instance, every measured figure is multiplied by GRAVITON_CORE_SHARE (an assumption).
 */
import type { BandwidthTier } from "./bandwidth-tier";

/** Per-core capacity of the proxy's software (bench/proxy.ts measures it). */
export interface ProxyCoreFigures {
  /** splicing (TLS relayed untouched): Gbit/s per proxy core */
  readonly spliceGbps: number;
  /** bumping a header host (decrypt, add the header, re-encrypt): Gbit/s per proxy core, bulk downloads */
  readonly bumpGbps: number;
  /** bumped requests per second per core on kept-alive connections */
  readonly bumpRequestsPerSecond: number;
  /** new bumped TLS connections per second per core (two handshakes each: the PC's and the origin's) */
  readonly bumpNewConnectionsPerSecond: number;
  readonly spliceNewConnectionsPerSecond: number;
  /** bump + ICAP + clamd: Gbit/s per core (Squid, c-icap and clamd together) */
  readonly scanGbps: number;
  readonly scanCpuSecondsPerMb: number;
}

/** A figure that is not measured here: its value, what it rests on, and where that comes from. */
export interface Estimate {
  readonly value: number;
  readonly basis: string;
  readonly source: string;
}

/**
 * The measurement the tier table is sized from: `npm run bench -- --proxy-only` (bench/proxy.ts, quick mode) on the
 * build machine when it was quiet. Replace it with a run on a proxy instance (Graviton, full database) when one
 * exists, and set GRAVITON_CORE_SHARE to 1.
 */
export const MEASURED: { readonly figures: ProxyCoreFigures; readonly measuredAt: string; readonly machine: string; readonly database: string; readonly run: string } = {
  figures: {
    spliceGbps: 10.2,
    bumpGbps: 1.58,
    bumpRequestsPerSecond: 2870,
    bumpNewConnectionsPerSecond: 201,
    spliceNewConnectionsPerSecond: 977,
    scanGbps: 0.34,
    scanCpuSecondsPerMb: 0.0239,
  },
  measuredAt: "2026-12-07",
  machine: "2 × AMD EPYC (x86-64, family 26 = Zen 5, 2.1 GHz TSC), proxy pinned to core 0, load on core 1",
  database: "one EICAR signature (hash + body)",
  run:
    "median of six runs of bench/proxy.ts on kaga (four quick, two --proxy-long) between 06:19 and 06:42, while the shared build machine's load average " +
    "stood at 13–23 on its two cores: contention makes every CPU-second buy less, so these figures are low (issue 26's own measurement on a quieter machine " +
    "of this kind found bump ≈ 3 Gbit/s, ≈ 330 new TLS connections/s and scan ≈ 0.8–0.9 Gbit/s per core); sizing from them errs on the safe side",
};

/** How much of one build-machine core a Graviton3 vCPU is assumed to do for this work (unmeasured: see the basis). */
export const GRAVITON_CORE_SHARE: Estimate = {
  value: 0.5,
  basis:
    "an assumption, not a measurement: the figures come from a Zen 5 x86 core and the instances run Graviton3 vCPUs (Neoverse V1, 2.6 GHz). " +
    "Arm reports Graviton3's AES-GCM (the bulk of bumping) on a par with or ahead of Intel's c6i, so bulk figures are likely better than this; " +
    "handshakes (RSA signatures, key exchange) and ClamAV's pattern matching have no published Graviton figure we could read, so half is used for all",
  source: "https://community.arm.com/arm-community-blogs/b/infrastructure-solutions-blog/posts/aes-gcm-optimizations-for-armv8-4-on-neoverse-v1-graviton3; replace with `npm run bench -- --proxy-only` on a c7g instance",
};

/** clamd's scan rate with the full official database (main, daily, bytecode), MB/s per build-machine core. */
export const FULL_DATABASE_SCAN_MB_PER_CORE: Estimate = {
  value: 3,
  basis:
    "not measurable here (no network to fetch the database). ClamAV's own maintainers say scan time depends heavily on file type and on individual signatures " +
    "(one PDF: 32 s, 2.6 s after reshaping a group of phishing signatures). The one report detailed enough for a per-core rate: 62 GB in 55 minutes with " +
    "clamdscan --multiscan on a six-core i5-10600K, the full database, ≈ 3 MB/s per core; a 17 MB ZIP of 4,200 XML files took 70–80 s (≈ 0.2 MB/s) with a " +
    "current database. 3 MB/s per core is used; documents and archives can be slower",
  source:
    "https://lists.clamav.net/pipermail/clamav-users/2019-April/007919.html; https://github.com/Cisco-Talos/clamav/issues/1003; https://github.com/UKHomeOffice/docker-clamav/issues/39; " +
    "measure on an instance with `npm run bench -- --proxy-only --clamav-db /var/lib/clamav`",
};

/** Memory ClamAV needs with the full database, GiB. */
export const CLAMAV_MEMORY_GIB: Estimate = {
  value: 4,
  basis:
    "ClamAV's documentation: about 1.2 GiB to load the signatures into the engine, about 2.4 GiB for a while each day when clamd loads the new database beside the old one " +
    "(concurrent reload), so at least 3 GiB and preferably 4 GiB of RAM for ClamAV",
  source: "https://docs.clamav.net/manual/Installing/Docker.html (Memory (RAM) Requirements)",
};

/** Memory for the rest of the instance, GiB: Debian, the SSM and CloudWatch agents, c-icap, and per Squid worker. */
export const BASE_MEMORY_GIB = 1;
export const SQUID_WORKER_MEMORY_GIB: Estimate = {
  value: 0.5,
  basis: "Squid measured at 60 MB resident per worker on the loopback with a few connections; each open connection adds its I/O buffers, so 0.5 GiB per worker leaves room for thousands",
  source: "bench/proxy.ts (memory line)",
};

/** Share of the floor's cores the tier's bandwidth may use: the rest is headroom for bursts, scans and a lost instance. */
export const TARGET_CPU = 0.5;
/** Alarms: sustained CPU above this means scaling has reached the tier's maximum or cannot keep up. */
export const CPU_ALARM_PERCENT = 80;
export const MEMORY_ALARM_PERCENT = 85;
/** Connection alarms fire at this share of what the floor fleet can take. */
export const CONNECTION_ALARM_SHARE = 0.8;
/** Debian's squid is built --with-filedescriptors=65536; squid.conf says max_filedescriptors 65536 (per worker). */
export const SQUID_FILE_DESCRIPTORS = 65536;
/** The fewest availability zones a municipality may configure (env schema: 2 to 4). */
export const PLANNING_ZONES = 2;

export interface InstanceSpec {
  readonly vcpus: number;
  readonly memoryGiB: number;
  /** baseline network bandwidth, Gbit/s in each direction */
  readonly baselineGbps: number;
  /** burstable types: the share of each vCPU they sustain without spending credits */
  readonly burstableBaselineShare?: number;
  readonly source: string;
  readonly status: "verified" | "unverified";
}

const GP = "https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html";
const CO = "https://docs.aws.amazon.com/ec2/latest/instancetypes/co.html";
const BURST = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/burstable-credits-baseline-concepts.html (baseline utilization per vCPU)";
/**
 * Graviton types this toolkit uses. vCPUs and memory are the types' definitions; baseline bandwidth is from AWS's
 * network specifications tables, which the build machines cannot read (status unverified, like the price list);
 * the t4g baseline CPU share was read from AWS's burstable-credits page (awsdocs/amazon-ec2-user-guide).
 * Each Graviton vCPU is a physical core (no SMT), so Squid's one-worker-per-core rule maps to vCPUs.
 */
export const INSTANCE_SPECS: Readonly<Record<string, InstanceSpec>> = {
  "t4g.small": { vcpus: 2, memoryGiB: 2, baselineGbps: 0.128, burstableBaselineShare: 0.2, source: `${GP}; ${BURST}`, status: "unverified" },
  "t4g.medium": { vcpus: 2, memoryGiB: 4, baselineGbps: 0.256, burstableBaselineShare: 0.2, source: `${GP}; ${BURST}`, status: "unverified" },
  "m7g.large": { vcpus: 2, memoryGiB: 8, baselineGbps: 0.937, source: GP, status: "unverified" },
  "m7g.xlarge": { vcpus: 4, memoryGiB: 16, baselineGbps: 1.876, source: GP, status: "unverified" },
  "c7g.large": { vcpus: 2, memoryGiB: 4, baselineGbps: 0.937, source: CO, status: "unverified" },
  "c7g.xlarge": { vcpus: 4, memoryGiB: 8, baselineGbps: 1.876, source: CO, status: "unverified" },
  "c7g.2xlarge": { vcpus: 8, memoryGiB: 16, baselineGbps: 3.75, source: CO, status: "unverified" },
  "c7g.4xlarge": { vcpus: 16, memoryGiB: 32, baselineGbps: 7.5, source: CO, status: "unverified" },
};

export function instanceSpec(type: string): InstanceSpec {
  const s = INSTANCE_SPECS[type];
  if (!s) throw new Error(`no specification recorded for instance type '${type}' (constructs/proxy-capacity.ts)`);
  return s;
}

/**
 * Squid workers for an instance: one per core, leaving one core to the kernel's network work, c-icap and clamd once
 * there are more than two (Squid's SMP guidance: one worker per non-virtual core, one or two cores kept for the OS,
 * https://wiki.squid-cache.org/Features/SmpScale). Two-vCPU types keep both workers: one would halve the proxy.
 */
export function squidWorkersFor(spec: InstanceSpec): number {
  return spec.vcpus > 2 ? spec.vcpus - 1 : spec.vcpus;
}

export interface TierCapacity {
  readonly instanceType: string;
  readonly spec: InstanceSpec;
  readonly floorInstances: number;
  readonly maxInstances: number;
  readonly workers: number;
  /** cores of the floor fleet usable for this work, counted in build-machine cores (burstable baseline, Graviton share) */
  readonly effectiveCores: number;
  /** Gbit/s the floor fleet bumps at TARGET_CPU (the worst case: every byte bumped) */
  readonly bumpGbpsAtTarget: number;
  readonly spliceGbpsAtTarget: number;
  /** new bumped TLS connections per second the floor fleet takes with every core busy */
  readonly newConnectionsPerSecond: number;
  /** concurrent connections the floor fleet holds (Squid's descriptors: two per proxied connection) */
  readonly concurrentConnections: number;
  /** the floor fleet's baseline network bandwidth, Gbit/s per direction */
  readonly baselineGbps: number;
  readonly memoryNeededGiB: number;
  /** share of the tier's bandwidth that can be scanned while the rest is bumped, full database (estimate) */
  readonly sanitizedShareFullDatabase: number;
  /** the same with the one-signature database measured here: an upper bound */
  readonly sanitizedShareOneSignature: number;
  /** what does not hold (empty when the tier is sized right) */
  readonly problems: string[];
}

/** Share of `gbps` that `cores` can scan at `scanGbpsPerCore` while bumping the rest at `bumpGbpsPerCore`. */
function scannableShare(cores: number, gbps: number, bumpGbpsPerCore: number, scanGbpsPerCore: number): number {
  const left = cores - gbps / bumpGbpsPerCore;
  if (left <= 0) return 0;
  return Math.min(1, left / (gbps / scanGbpsPerCore - gbps / bumpGbpsPerCore));
}

export function proxyTierCapacity(tier: BandwidthTier, figures: ProxyCoreFigures = MEASURED.figures, coreShare = GRAVITON_CORE_SHARE.value): TierCapacity {
  const spec = instanceSpec(tier.proxyInstanceType);
  const floorInstances = tier.proxyInstancesPerAz * PLANNING_ZONES;
  const maxInstances = tier.proxyMaxInstancesPerAz * PLANNING_ZONES;
  const workers = squidWorkersFor(spec);
  const effectiveCores = floorInstances * spec.vcpus * (spec.burstableBaselineShare ?? 1) * coreShare;
  const fullDbScanGbps = (FULL_DATABASE_SCAN_MB_PER_CORE.value * 8) / 1000;
  const memoryNeededGiB = BASE_MEMORY_GIB + workers * SQUID_WORKER_MEMORY_GIB.value + CLAMAV_MEMORY_GIB.value;
  const c: Omit<TierCapacity, "problems"> = {
    instanceType: tier.proxyInstanceType,
    spec,
    floorInstances,
    maxInstances,
    workers,
    effectiveCores,
    bumpGbpsAtTarget: effectiveCores * TARGET_CPU * figures.bumpGbps,
    spliceGbpsAtTarget: effectiveCores * TARGET_CPU * figures.spliceGbps,
    newConnectionsPerSecond: effectiveCores * figures.bumpNewConnectionsPerSecond,
    concurrentConnections: floorInstances * workers * (SQUID_FILE_DESCRIPTORS / 2),
    baselineGbps: floorInstances * spec.baselineGbps,
    memoryNeededGiB,
    sanitizedShareFullDatabase: scannableShare(effectiveCores * TARGET_CPU, tier.gbps, figures.bumpGbps, fullDbScanGbps),
    sanitizedShareOneSignature: scannableShare(effectiveCores * TARGET_CPU, tier.gbps, figures.bumpGbps, figures.scanGbps),
  };
  const problems: string[] = [];
  if (spec.burstableBaselineShare !== undefined && c.bumpGbpsAtTarget < tier.gbps)
    problems.push(`${tier.proxyInstanceType} is burstable: its baseline (${spec.burstableBaselineShare * 100} % of each vCPU) cannot carry ${tier.gbps} Gbps without burst credits`);
  else if (c.bumpGbpsAtTarget < tier.gbps) problems.push(`bumping ${tier.gbps} Gbps needs more than ${TARGET_CPU * 100} % of the floor's cores (${c.bumpGbpsAtTarget.toFixed(2)} Gbps at that level)`);
  if (c.baselineGbps < tier.gbps) problems.push(`the floor's baseline network bandwidth is ${c.baselineGbps.toFixed(2)} Gbps per direction, under ${tier.gbps} Gbps`);
  if (memoryNeededGiB > spec.memoryGiB * 0.9) problems.push(`${tier.proxyInstanceType} has ${spec.memoryGiB} GiB; Squid, the agents and ClamAV's full database need ${memoryNeededGiB} GiB (plus 10 % slack)`);
  if (tier.proxyMaxInstancesPerAz < 2 * tier.proxyInstancesPerAz) problems.push("scaling cannot double the floor (the maximum is under twice the minimum)");
  return { ...c, problems };
}

/** Alarm levels for the proxy fleet of a tier (Operations.alarmProxyCapacity). */
export interface ProxyAlarmLevels {
  readonly cpuPercent: number;
  readonly memoryPercent: number;
  /** NLB NewFlowCount, summed per minute */
  readonly newFlowsPerMinute: number;
  /** NLB ActiveFlowCount, maximum */
  readonly activeFlows: number;
}

export function proxyAlarmLevels(tier: BandwidthTier): ProxyAlarmLevels {
  const c = proxyTierCapacity(tier);
  return {
    cpuPercent: CPU_ALARM_PERCENT,
    memoryPercent: MEMORY_ALARM_PERCENT,
    newFlowsPerMinute: Math.round(c.newConnectionsPerSecond * 60 * CONNECTION_ALARM_SHARE),
    activeFlows: Math.round(c.concurrentConnections * CONNECTION_ALARM_SHARE),
  };
}
