/**
 * Synthetic municipalities for benchmarks: N valid env files spread over tiers and options (sites, remote access,
 * relay, extra domains, zones), each with a valid local government code, its own account and address plan.
 *
 * Two spreads:
 * - "national" (default): tiers follow Japan's municipality sizes — of 1,741, about 11 cities over one million
 *   people (10g), 110 of 200k–1M (5g), 420 of 50k–200k (2g) and the rest under 50k (1g) — and larger ones have
 *   more sites. The same shares apply to any N.
 * - "uniform": every tier equally often with 1–3 sites, a heavier stress case (a quarter are 10g cities).
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { SCHEMA_PATH } from "../core/paths";
import { localGovernmentCheckDigit } from "../config/semantic";
import { SaasCatalog } from "../catalog/saas-catalog";

const PREFECTURES = JSON.parse(fs.readFileSync(SCHEMA_PATH, "utf8")).definitions.Prefecture.enum as string[];
const TIERS = ["1g", "2g", "5g", "10g"];
const SAAS = [["microsoft-365", "zoom"], ["slack", "kintone", "zoom"], ["microsoft-365", "box", "line-works"], ["google-workspace", "garoon"], ["microsoft-365", "slack", "kintone", "zoom", "box"]];

export type Spread = "national" | "uniform";

/** Tier and site count of municipality i of n. */
function sizeOf(i: number, n: number, spread: Spread): { tier: string; sites: number; population: number } {
  if (spread === "uniform") return { tier: TIERS[i % TIERS.length], sites: 1 + (i % 3), population: 10000 + i * 37 };
  // Interleave the size bands over the index so every prefix of the list has the national mix.
  const share = ((i * 7919) % n) / n; // a fixed permutation of 0..1
  if (share < 11 / 1741) return { tier: "10g", sites: 4, population: 1200000 + i };
  if (share < 121 / 1741) return { tier: "5g", sites: 3, population: 300000 + i };
  if (share < 541 / 1741) return { tier: "2g", sites: 2 + (i % 2), population: 90000 + i };
  // towns and villages too: about one in seven of this band is under 10,000 people (and gets a /24 below)
  return { tier: "1g", sites: 1 + (i % 2), population: 3000 + ((i * 7919) % 46000) };
}

export function syntheticMunicipality(i: number, n = 1741, spread: Spread = "national"): Record<string, unknown> {
  const pref = (i % 47) + 1;
  const city = 100 + Math.floor(i / 47);
  const five = `${String(pref).padStart(2, "0")}${String(city).padStart(3, "0")}`;
  const id = `m${String(i).padStart(4, "0")}`;
  const account = String(100000000000 + i * 7919);
  const azs = i % 5 === 0 ? ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"] : ["ap-northeast-1a", "ap-northeast-1c"];
  const size = sizeOf(i, n, spread);
  const sites = Array.from({ length: size.sites }, (_, s) => ({ name: s === 0 ? "honcho" : `shisho${s}`, publicIp: `203.0.113.${(i * 3 + s) % 250 + 1}`, bgpAsn: 65001 + s }));
  const doc: Record<string, unknown> = {
    id,
    name: `合成市${i}`,
    prefecture: PREFECTURES[pref - 1],
    localGovernmentCode: `${five}${localGovernmentCheckDigit(five)}`,
    population: size.population,
    aws: { accountId: account, region: "ap-northeast-1", availabilityZones: azs },
    bandwidthTier: size.tier,
    network: { breakoutCidr: size.population < 10000 && azs.length <= 2 ? "10.64.0.0/24" : "10.64.0.0/22", lgwanSegments: ["172.16.0.0/16"], lgwanProxy: "172.16.1.10:8080" },
    sites,
    breakout: { saas: SAAS[i % SAAS.length], ...(i % 4 === 0 ? { extraDomains: [`portal.city${i}.example.jp`] } : {}) },
    operations: { notificationEmails: ["noc@example.jp"] },
  };
  Object.assign(doc.breakout as Record<string, unknown>, syntheticTenants(i, account, SAAS[i % SAAS.length]));
  if (i % 2 === 0) {
    doc.remoteAccess = {
      clientCidr: "10.68.0.0/22",
      serverCertificateArn: `arn:aws:acm:ap-northeast-1:${account}:certificate/11111111-2222-3333-4444-555555555555`,
      clientRootCertificateArn: `arn:aws:acm:ap-northeast-1:${account}:certificate/66666666-7777-8888-9999-000000000000`,
    };
  }
  if (i % 3 === 0) {
    // a /24 has no room for the relay's own subnets, so there it relays to on-prem only (a port-level pass to an
    // internet host is refused without them: constructs/breakout-plan.ts, relaySubnetPlan)
    const village = (doc.network as { breakoutCidr: string }).breakoutCidr.endsWith("/24");
    doc.relay = [
      ...(doc.remoteAccess ? [{ name: "webmail", from: "remote-access", listenPort: 443, target: "172.16.5.20:443" }] : []),
      village ? { name: "lgwan-smtp", from: "lgwan", listenPort: 587, target: "172.16.5.25:587" } : { name: "smtp-submission", from: "lgwan", listenPort: 587, target: "smtp.office365.com:587" },
    ];
  }
  return doc;
}

/**
 * Tenant restriction for the selected services: the catalog's example values, except every seventh municipality
 * waives its services' mechanisms (so both paths are synthesized at scale); the interception CA when a header is set.
 */
function syntheticTenants(i: number, account: string, saas: readonly string[]): Record<string, unknown> {
  const catalog = SaasCatalog.default();
  const withMechanism = saas.filter((s) => catalog.needsTenantValues(s));
  if (i % 7 === 3) return withMechanism.length ? { tenantWaivers: withMechanism.map((s) => ({ saas: s, reason: "synthetic municipality: the SaaS tenant restricts sign-in to the egress IPs" })) } : {};
  const tenants = Object.fromEntries(
    withMechanism.map((s) => [s, Object.fromEntries(catalog.get(s).tenantRestriction!.parameters!.map((p) => [p.name, p.list ? [p.example] : p.example]))]),
  );
  const headers = withMechanism.some((s) => catalog.needsProxy(s));
  return {
    ...(withMechanism.length ? { tenants } : {}),
    ...(headers ? { interceptionCa: { secretArn: `arn:aws:secretsmanager:ap-northeast-1:${account}:secret:alpha-prime/interception-ca-Ab12Cd` } } : {}),
  };
}

/** Writes N env files into `dir` and returns their paths. */
export function writeSyntheticEnv(dir: string, n: number, spread: Spread = "national"): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Array.from({ length: n }, (_, i) => {
    const doc = syntheticMunicipality(i, n, spread);
    const file = path.join(dir, `${doc.id}.yaml`);
    fs.writeFileSync(file, `# yaml-language-server: $schema=municipality.schema.json\n${stringify(doc)}`);
    return file;
  });
}
