/**
 * Checks beyond the JSON Schema. Each reads its fields defensively (the file may also have schema errors)
 * and reports a field path, so every problem of a file can be shown at once.
 */
import { maxAvailabilityZones, SMALLEST_BREAKOUT_PREFIX, smallestPrefixFor } from "../constructs/breakout-plan";
import { HEALTH_PORT } from "../constructs/relay-ports";
import { CLAMAV_MAX_FILE_BYTES } from "../constructs/file-sanitization";
import * as fs from "fs";
import * as path from "path";
import * as ipaddr from "ipaddr.js";
import type { SaasCatalog } from "../catalog/saas-catalog";
import { DomainPattern, normalizeHostName, parseDomainPattern, parseHost, parseHostPort, publicHostingUnder } from "../catalog/domains";
import { closest, Msg } from "../core/errors";
import { phrase, tr } from "../core/messages";
import { SCHEMA_PATH } from "../core/paths";
import { Cidr, cidrContains, cidrsOverlap, parseCidr } from "../core/cidr";
import type { MunicipalityConfig, MunicipalityFile } from "./types";

export interface FieldProblem {
  readonly path: readonly (string | number)[];
  readonly message: Msg;
  readonly expected?: Msg;
  readonly suggestion?: string;
  /** point at the key rather than the value */
  readonly atKey?: boolean;
}

/** The prefecture enum of the schema is in JIS X 0401 order: index + 1 is the code's first two digits. */
let prefectures: string[] | undefined;
function prefectureList(): string[] {
  if (!prefectures) prefectures = JSON.parse(fs.readFileSync(SCHEMA_PATH, "utf8")).definitions.Prefecture.enum as string[];
  return prefectures!;
}
function prefectureNumber(name: string): number {
  return prefectureList().indexOf(name) + 1;
}

/** The prefecture a local government code belongs to (its first two digits), if they name one. */
export function prefectureOfCode(code: string): string | undefined {
  return /^\d{6}$/.test(code) ? prefectureList()[Number(code.slice(0, 2)) - 1] : undefined;
}

/** The availability zones the config accepts in a region, in order. */
export function availabilityZonesOf(region: string): string[] {
  return Object.hasOwn(KNOWN_AZS, region) ? [...KNOWN_AZS[region]] : [];
}

/**
 * 全国地方公共団体コード check digit (総務省 「全国地方公共団体コード」 仕様): weights 6,5,4,3,2 over the first five
 * digits; check digit = (11 − sum mod 11) mod 10.
 */
export function localGovernmentCheckDigit(firstFive: string): number {
  const weights = [6, 5, 4, 3, 2];
  const sum = [...firstFive].reduce((s, d, i) => s + Number(d) * weights[i], 0);
  return (11 - (sum % 11)) % 10;
}

/** AZ names known in the Japanese regions (ap-northeast-1 has no "b" for accounts created since 2012). */
const KNOWN_AZS: Record<string, string[]> = {
  "ap-northeast-1": ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"],
  "ap-northeast-3": ["ap-northeast-3a", "ap-northeast-3b", "ap-northeast-3c"],
};

/** ASNs AWS reserves for itself, so a customer gateway may not use them (AWS Site-to-Site VPN, customer gateway options). */
const AWS_RESERVED_ASNS = new Set([7224, 9059, 10124, 17943]);

// Documentation ranges (RFC 5737) are accepted as public addresses so samples and tests need no real ones.
const DOCUMENTATION_NETS = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map((c) => ipaddr.IPv4.parseCIDR(c));

// Host-name semantics live with the other domain semantics (catalog/domains.ts); these names stay importable here.
export { normalizeHostName, normalizeHostPort, parseHostPort, publicHostingUnder } from "../catalog/domains";
export type { HostPort } from "../catalog/domains";
import type { HostPort } from "../catalog/domains";

function isPrivate(c: Cidr): boolean {
  return c.address.range() === "private";
}

function isPrivateAsn(asn: number): boolean {
  return (asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294);
}

function asnProblem(asn: unknown): string | undefined {
  if (typeof asn !== "number" || !Number.isInteger(asn)) return phrase(tr`not an integer`);
  if (asn < 1 || asn > 4294967294) return phrase(tr`outside 1-4294967294`);
  if (asn === 23456) return phrase(tr`23456 is AS_TRANS (RFC 6793), not a real ASN`);
  if ((asn >= 64496 && asn <= 64511) || (asn >= 65536 && asn <= 65551)) return phrase(tr`reserved for documentation (RFC 5398)`);
  if (asn === 65535) return phrase(tr`65535 is reserved (RFC 7300)`);
  if (AWS_RESERVED_ASNS.has(asn)) return phrase(tr`${asn} is reserved by AWS`);
  return undefined;
}

const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Problems within one file. */
export function semanticProblems(f: Partial<MunicipalityFile>, file: string, catalog: SaasCatalog): FieldProblem[] {
  const out: FieldProblem[] = [];
  const push = (p: FieldProblem) => out.push(p);

  // id and file name agree: `cdktf deploy <id>` and `alpha-prime plan <id>` find the file by its id.
  const base = path.basename(file).replace(/\.ya?ml$/, "");
  if (typeof f.id === "string" && f.id !== base) {
    push({ path: ["id"], message: tr`id '${f.id}' differs from the file name '${path.basename(file)}'`, expected: tr`id: ${base} (or rename the file to ${f.id}.yaml)` });
  }

  if (typeof f.localGovernmentCode === "string" && /^\d{6}$/.test(f.localGovernmentCode)) {
    const code = f.localGovernmentCode;
    const want = localGovernmentCheckDigit(code.slice(0, 5));
    if (Number(code[5]) !== want) {
      push({ path: ["localGovernmentCode"], message: tr`check digit of ${code} is wrong`, expected: tr`${code.slice(0, 5)}${want}` });
    }
    if (typeof f.prefecture === "string") {
      const n = prefectureNumber(f.prefecture);
      if (n > 0 && Number(code.slice(0, 2)) !== n) {
        push({ path: ["localGovernmentCode"], message: tr`${code} does not belong to ${f.prefecture}`, expected: tr`a code starting with ${String(n).padStart(2, "0")}` });
      }
    }
  }

  const region = f.aws?.region;
  arr(f.aws?.availabilityZones).forEach((az, i) => {
    if (typeof az !== "string" || typeof region !== "string") return;
    const known = Object.hasOwn(KNOWN_AZS, region) ? KNOWN_AZS[region] : undefined;
    if (!az.startsWith(region) || (known && !known.includes(az))) {
      push({ path: ["aws", "availabilityZones", i], message: tr`${az} is not an availability zone of ${region}`, expected: tr`one of ${(known ?? [`${region}a`]).join(", ")}`, suggestion: known ? closest(az, known) : undefined });
    }
  });

  // Address ranges: valid, private, sized, and pairwise disjoint.
  const ranges: { label: string; path: (string | number)[]; cidr: Cidr }[] = [];
  const breakout = f.network?.breakoutCidr;
  if (breakout !== undefined) {
    const c = parseCidr(breakout);
    if (typeof c === "string") push({ path: ["network", "breakoutCidr"], message: tr`${JSON.stringify(breakout)} is ${c}`, expected: tr`an RFC 1918 IPv4 CIDR such as 10.64.0.0/22` });
    else if (!isPrivate(c)) push({ path: ["network", "breakoutCidr"], message: tr`${breakout} is not a private (RFC 1918) range`, expected: tr`10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 space` });
    else if (c.bits < 16 || c.bits > SMALLEST_BREAKOUT_PREFIX) push({ path: ["network", "breakoutCidr"], message: tr`/${c.bits} is outside /16 to /${SMALLEST_BREAKOUT_PREFIX}`, expected: tr`a prefix length from /16 to /${SMALLEST_BREAKOUT_PREFIX} (a /24 holds two zones, a /23 or larger up to four)` });
    else {
      ranges.push({ label: "breakoutCidr", path: ["network", "breakoutCidr"], cidr: c });
      const zones = arr(f.aws?.availabilityZones).length;
      const fits = maxAvailabilityZones(c.text);
      // more than four zones is the schema's error already; only a count the plan supports is sized here
      if (zones > fits && zones <= 4) {
        const need = smallestPrefixFor(zones);
        push({ path: ["network", "breakoutCidr"], message: tr`/${c.bits} holds ${fits} availability zones with room for every tier, and ${zones} are configured`, expected: tr`a /${need} or larger for ${zones} zones, or at most ${fits} zones` });
      }
    }
  }
  const lgwan: Cidr[] = [];
  arr(f.network?.lgwanSegments).forEach((s, i) => {
    const c = parseCidr(s);
    if (typeof c === "string") push({ path: ["network", "lgwanSegments", i], message: tr`${JSON.stringify(s)} is ${c}`, expected: tr`an RFC 1918 IPv4 CIDR` });
    else if (!isPrivate(c)) push({ path: ["network", "lgwanSegments", i], message: tr`${s} is not a private (RFC 1918) range`, expected: tr`an LGWAN-side private range` });
    else {
      lgwan.push(c);
      ranges.push({ label: `lgwanSegments[${i}]`, path: ["network", "lgwanSegments", i], cidr: c });
    }
  });
  const client = f.remoteAccess?.clientCidr;
  if (client !== undefined) {
    const c = parseCidr(client);
    if (typeof c === "string") push({ path: ["remoteAccess", "clientCidr"], message: tr`${JSON.stringify(client)} is ${c}`, expected: tr`an RFC 1918 IPv4 CIDR from /12 to /22` });
    else if (!isPrivate(c)) push({ path: ["remoteAccess", "clientCidr"], message: tr`${client} is not a private (RFC 1918) range`, expected: tr`an RFC 1918 IPv4 CIDR` });
    else if (c.bits < 12 || c.bits > 22) push({ path: ["remoteAccess", "clientCidr"], message: tr`/${c.bits} is outside /12 to /22`, expected: tr`a prefix length from /12 to /22 (AWS Client VPN limit)` });
    else ranges.push({ label: "remoteAccess.clientCidr", path: ["remoteAccess", "clientCidr"], cidr: c });
  }
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (cidrsOverlap(ranges[i].cidr, ranges[j].cidr)) {
        push({ path: ranges[j].path, message: tr`${ranges[j].cidr.text} overlaps ${ranges[i].label} (${ranges[i].cidr.text})`, expected: tr`ranges that do not overlap` });
      }
    }
  }
  arr(f.network?.dnsServers).forEach((s, i) => {
    const c = parseCidr(typeof s === "string" && !s.includes("/") ? `${s}/32` : s);
    if (typeof c === "string") push({ path: ["network", "dnsServers", i], message: tr`${JSON.stringify(s)} is ${c}`, expected: tr`an IPv4 address or CIDR` });
    else if (lgwan.length && !lgwan.some((l) => cidrContains(l, c))) push({ path: ["network", "dnsServers", i], message: tr`${s} is not inside any LGWAN segment`, expected: tr`on-prem DNS servers within network.lgwanSegments` });
  });
  const proxy = f.network?.lgwanProxy;
  if (proxy !== undefined) {
    const hp = parseHostPort(proxy);
    if (typeof hp === "string") push({ path: ["network", "lgwanProxy"], message: tr`${JSON.stringify(proxy)} is ${hp}`, expected: tr`host:port, e.g. 172.16.1.10:8080` });
    else if (hp.isIp) {
      // the LGWAN proxy is on-prem: a public address would send all other traffic to the internet, an address in
      // the breakout VPC would loop it back into the breakout
      const at = parseCidr(`${hp.host}/32`) as Cidr;
      const inBreakout = ranges.find((r) => r.label === "breakoutCidr" && cidrContains(r.cidr, at));
      if (!isPrivate(at)) push({ path: ["network", "lgwanProxy"], message: tr`${hp.host} is not a private (RFC 1918) address`, expected: tr`the on-prem LGWAN proxy's private address` });
      else if (inBreakout) push({ path: ["network", "lgwanProxy"], message: tr`${hp.host} is inside breakoutCidr ${inBreakout.cidr.text}`, expected: tr`the on-prem LGWAN proxy, outside the breakout VPC` });
    }
  }

  // Sites and BGP.
  const awsAsn = f.network?.awsSideAsn ?? 64512;
  if (f.network?.awsSideAsn !== undefined) {
    const why = asnProblem(awsAsn);
    if (why || !isPrivateAsn(awsAsn)) push({ path: ["network", "awsSideAsn"], message: tr`${awsAsn}: ${why ?? "not a private ASN"}`, expected: tr`a private ASN: 64512-65534 or 4200000000-4294967294` });
  }
  const siteNames = new Map<string, number>();
  const siteIps = new Map<string, number>();
  arr(f.sites).forEach((raw, i) => {
    const s = (raw ?? {}) as Record<string, unknown>;
    if (typeof s.name === "string") {
      if (siteNames.has(s.name)) push({ path: ["sites", i, "name"], message: tr`site name '${s.name}' is used twice (also sites[${siteNames.get(s.name)}])`, expected: tr`unique site names` });
      else siteNames.set(s.name, i);
    }
    if (typeof s.publicIp === "string") {
      if (!ipaddr.IPv4.isValidFourPartDecimal(s.publicIp)) push({ path: ["sites", i, "publicIp"], message: tr`${JSON.stringify(s.publicIp)} is not an IPv4 address`, expected: tr`the public IPv4 address of the site's VPN router` });
      else {
        const a = ipaddr.IPv4.parse(s.publicIp);
        const doc = DOCUMENTATION_NETS.some(([n, b]) => a.match(n, b));
        if (a.range() !== "unicast" && !doc) push({ path: ["sites", i, "publicIp"], message: tr`${s.publicIp} is not a public address (${a.range()})`, expected: tr`a public IPv4 address` });
        if (siteIps.has(s.publicIp)) push({ path: ["sites", i, "publicIp"], message: tr`${s.publicIp} is used by sites[${siteIps.get(s.publicIp)}] too`, expected: tr`one customer gateway address per site` });
        else siteIps.set(s.publicIp, i);
      }
    }
    if (s.bgpAsn !== undefined) {
      const why = asnProblem(s.bgpAsn);
      if (why) push({ path: ["sites", i, "bgpAsn"], message: tr`${s.bgpAsn}: ${why}`, expected: tr`a valid BGP ASN` });
      else if (s.bgpAsn === awsAsn) push({ path: ["sites", i, "bgpAsn"], message: tr`${s.bgpAsn} equals the AWS side's ASN`, expected: tr`an ASN other than ${awsAsn}` });
    }
  });

  // Remote access certificates are regional and belong to this account.
  if (f.remoteAccess && typeof region === "string") {
    for (const key of ["serverCertificateArn", "clientRootCertificateArn"] as const) {
      const arn = f.remoteAccess[key];
      if (typeof arn !== "string") continue;
      const parts = arn.split(":");
      if (parts[3] && parts[3] !== region) push({ path: ["remoteAccess", key], message: tr`certificate is in ${parts[3]}, the stack in ${region}`, expected: tr`an ACM certificate in ${region}` });
      if (parts[4] && f.aws?.accountId && parts[4] !== f.aws.accountId) push({ path: ["remoteAccess", key], message: tr`certificate belongs to account ${parts[4]}`, expected: tr`account ${f.aws.accountId}` });
    }
  }

  // SaaS selection and extra domains.
  arr(f.breakout?.saas).forEach((id, i) => {
    if (typeof id === "string" && !catalog.has(id)) {
      push({ path: ["breakout", "saas", i], message: tr`unknown SaaS id '${id}'`, expected: tr`one of ${catalog.ids.join(", ")}`, suggestion: closest(id, catalog.ids) });
    }
  });
  const hostingWaivers = new Map<string, number>();
  arr(f.breakout?.publicHostingWaivers).forEach((w, i) => {
    const domain = (w as { domain?: unknown } | undefined)?.domain;
    if (typeof domain === "string") hostingWaivers.set(normalizeHostName(domain), i);
  });
  const waiversUsed = new Set<number>();
  arr(f.breakout?.extraDomains).forEach((d, i) => {
    if (typeof d !== "string") return;
    const p = parseDomainPattern(d);
    if (typeof p === "string") return void push({ path: ["breakout", "extraDomains", i], message: tr`'${d}' is refused: ${p}`, expected: tr`'host.example.jp' or '*.example.jp' under a registrable domain` });
    const breach = tenantBreachProblem(f, catalog, p, `'${d}'`);
    if (breach) return void push({ path: ["breakout", "extraDomains", i], ...breach });
    const hosting = p.includeSubdomains ? publicHostingUnder(p.name) : undefined;
    if (!hosting) return;
    const waiver = hostingWaivers.get(`*.${p.name}`);
    if (waiver !== undefined) return void waiversUsed.add(waiver);
    push({
      path: ["breakout", "extraDomains", i],
      message: tr`'*.${p.name}' would let anyone's site through: ${hosting} is where anyone can publish (Public Suffix List, private section)`,
      expected: tr`the exact host names (e.g. 'yourname.${p.name}'), or a publicHostingWaivers entry for '*.${p.name}' with a reason`,
    });
  });
  hostingWaivers.forEach((i, domain) => {
    if (!waiversUsed.has(i)) push({ path: ["breakout", "publicHostingWaivers", i, "domain"], message: tr`the waiver for '${domain}' matches no extraDomains wildcard over public hosting`, expected: tr`remove it` });
  });

  out.push(...tenantProblems(f, catalog));
  out.push(...sanitizationProblems(f, catalog, lgwan));

  // Logging.
  const days = f.logging?.retentionDays;
  const after = f.logging?.transitionAfterDays;
  if (typeof days === "number" && typeof after === "number" && after >= days) {
    push({ path: ["logging", "transitionAfterDays"], message: tr`${after} is not before the end of retention (${days} days)`, expected: tr`fewer than ${days} days` });
  }

  // Suppressions of baseline findings: known rule, real reason, not expired (matching is checked against the stack).
  arr(f.suppressions).forEach((raw, i) => {
    const sup = (raw ?? {}) as { rule?: unknown; reason?: unknown; expires?: unknown; resource?: unknown };
    if (typeof sup.rule === "string" && typeof sup.reason === "string" && typeof sup.resource === "string") {
      const { suppressionDefect } = require("../policy/engine") as typeof import("../policy/engine");
      const { RULE_IDS } = require("../policy/pack") as typeof import("../policy/pack");
      const defect = suppressionDefect({ rule: sup.rule, resource: sup.resource, reason: sup.reason, expires: typeof sup.expires === "string" ? sup.expires : undefined }, RULE_IDS, new Date().toISOString().slice(0, 10));
      if (defect) push({ path: ["suppressions", i], message: defect, expected: tr`a rule id from docs/RULES.md, a reason of at least 20 characters and an expiry date in the future`, suggestion: RULE_IDS.includes(sup.rule) ? undefined : closest(sup.rule, RULE_IDS) });
    }
  });

  // Relay routes.
  const relayNames = new Map<string, number>();
  const relayPorts = new Map<number, number>();
  arr(f.relay).forEach((raw, i) => {
    const r = (raw ?? {}) as Record<string, unknown>;
    if (typeof r.name === "string") {
      if (relayNames.has(r.name)) push({ path: ["relay", i, "name"], message: tr`route name '${r.name}' is used twice (also relay[${relayNames.get(r.name)}])`, expected: tr`unique route names` });
      else relayNames.set(r.name, i);
    }
    if (typeof r.listenPort === "number") {
      if (relayPorts.has(r.listenPort)) push({ path: ["relay", i, "listenPort"], message: tr`port ${r.listenPort} is used by relay[${relayPorts.get(r.listenPort)}] too`, expected: tr`one listener per port` });
      else relayPorts.set(r.listenPort, i);
      if (r.listenPort === 22) push({ path: ["relay", i, "listenPort"], message: tr`port 22 is refused: the relay is managed through Session Manager only`, expected: tr`any port but 22` });
      if (r.listenPort === HEALTH_PORT) push({ path: ["relay", i, "listenPort"], message: tr`port ${HEALTH_PORT} is the relay's own health-check port`, expected: tr`any port but 22 and ${HEALTH_PORT}` });
    }
    if (r.from === "remote-access" && !f.remoteAccess) {
      push({ path: ["relay", i, "from"], message: tr`'remote-access' needs a remoteAccess section`, expected: tr`lgwan, or add remoteAccess` });
    }
    if (r.target !== undefined) {
      const hp = parseHostPort(r.target);
      if (typeof hp === "string") push({ path: ["relay", i, "target"], message: tr`${JSON.stringify(r.target)} is ${hp}`, expected: tr`host:port, e.g. 172.16.5.20:443 or smtp.example.jp:587` });
      else if (hp.isIp && lgwan.length && !lgwan.some((l) => l.address.kind() === "ipv4" && ipaddr.IPv4.parse(hp.host).match(l.address, l.bits))) {
        push({ path: ["relay", i, "target"], message: tr`${hp.host} is not inside an LGWAN segment; internet targets must be host names so the firewall can allowlist them by name`, expected: tr`an on-prem IP in network.lgwanSegments, or a DNS name` });
      } else if (!hp.isIp) {
        // an internet target joins the allowlist: the same tenant rule as extraDomains
        const breach = tenantBreachProblem(f, catalog, { name: hp.host, includeSubdomains: false }, tr`relay target ${hp.host}`);
        if (breach) push({ path: ["relay", i, "target"], ...breach });
      }
    }
  });
  return out;
}

/**
 * テナント制限's rule for names that enter the allowlist by hand (extraDomains, relay targets): nothing under a wildcard
 * a tenant mechanism replaced but the municipality's own tenant hosts and the vendor's shared hosts, unless a selected
 * service of that wildcard is waived (SaasCatalog.tenantBreach, which learn, refresh and AP-TEN-005 apply too).
 */
function tenantBreachProblem(f: Partial<MunicipalityFile>, catalog: SaasCatalog, p: DomainPattern, what: Msg): Omit<FieldProblem, "path"> | undefined {
  const selected = new Set(arr(f.breakout?.saas).filter((id): id is string => typeof id === "string" && catalog.has(id)));
  const rawTenants = f.breakout?.tenants as unknown;
  const tenants = Object.fromEntries(Object.entries(rawTenants && typeof rawTenants === "object" && !Array.isArray(rawTenants) ? rawTenants : {}).filter(([id]) => selected.has(id)));
  const waived = new Set(arr(f.breakout?.tenantWaivers).map((w) => (w as { saas?: unknown } | undefined)?.saas).filter((s): s is string => typeof s === "string" && selected.has(s)));
  const breach = catalog.tenantBreach(p, tenants, waived);
  if (!breach) return undefined;
  const services = breach.services.join(" / ");
  return {
    message: tr`${what} is under ${breach.wildcard}, which the tenant restriction of ${services} narrows to the municipality's own tenant: it would let staff reach other tenants (a tenant-restriction change)`,
    expected: breach.ownHosts.length
      ? tr`only the tenant's own hosts (${breach.ownHosts.join(", ")}), which breakout.tenants.${breach.services[0]} already allows; or waive ${services} in breakout.tenantWaivers with a reason`
      : tr`select ${services} with its tenant values (breakout.tenants), or waive it in breakout.tenantWaivers with a reason`,
  };
}

/**
 * テナント制限: every selected service with a tenant mechanism has its tenant values or a reasoned waiver; values
 * have the form the vendor documents; the interception CA is given exactly when a service needs the proxy.
 */
function tenantProblems(f: Partial<MunicipalityFile>, catalog: SaasCatalog): FieldProblem[] {
  const out: FieldProblem[] = [];
  const selected = arr(f.breakout?.saas).filter((id): id is string => typeof id === "string" && catalog.has(id));
  // a mapping, or nothing (the schema reports any other type); own keys only, so "constructor" is not a tenant
  const rawTenants = f.breakout?.tenants as unknown;
  const tenants = (rawTenants && typeof rawTenants === "object" && !Array.isArray(rawTenants) ? rawTenants : {}) as Record<string, unknown>;
  const hasTenant = (id: string) => Object.hasOwn(tenants, id);
  const waived = new Map<string, number>();
  arr(f.breakout?.tenantWaivers).forEach((raw, i) => {
    const w = (raw ?? {}) as { saas?: unknown };
    if (typeof w.saas !== "string") return;
    if (!selected.includes(w.saas)) push(["breakout", "tenantWaivers", i, "saas"], tr`'${w.saas}' is not a selected service`, tr`one of ${selected.join(", ")}`, closest(w.saas, selected));
    else if (!catalog.needsTenantValues(w.saas)) push(["breakout", "tenantWaivers", i, "saas"], tr`${w.saas} has no tenant mechanism to waive`, tr`only services that take tenant values (npx alpha-prime catalog)`);
    else if (waived.has(w.saas)) push(["breakout", "tenantWaivers", i, "saas"], tr`${w.saas} is waived twice`, tr`one waiver per service`);
    else waived.set(w.saas, i);
  });
  for (const [id, values] of Object.entries(tenants)) {
    if (!selected.includes(id)) {
      push(["breakout", "tenants", id], tr`tenant values for '${id}', which is not a selected service`, tr`one of ${selected.filter((s) => catalog.needsTenantValues(s)).join(", ") || "(no selected service takes tenant values)"}`, closest(id, selected), true);
      continue;
    }
    if (!catalog.needsTenantValues(id)) {
      push(["breakout", "tenants", id], tr`${id} takes no tenant values (${catalog.get(id).tenantRestriction?.notDocumented ?? "no mechanism in the catalog"})`, tr`remove this entry`, undefined, true);
      continue;
    }
    if (waived.has(id)) push(["breakout", "tenantWaivers", waived.get(id)!, "saas"], tr`${id} has tenant values and a waiver`, tr`either tenant values or a waiver, not both`);
    for (const p of catalog.tenantValueProblems(id, values)) {
      const at = ["breakout", "tenants", id, ...(p.key ? p.key.split("/").map((k) => (/^\d+$/.test(k) ? Number(k) : k)) : [])];
      out.push({ path: at, message: p.message, expected: p.expected, suggestion: p.suggestion, atKey: p.suggestion !== undefined });
    }
  }
  arr(f.breakout?.saas).forEach((id, i) => {
    if (typeof id !== "string" || !catalog.has(id) || !catalog.needsTenantValues(id) || hasTenant(id) || waived.has(id)) return;
    const params = catalog.get(id).tenantRestriction!.parameters!;
    push(
      ["breakout", "saas", i],
      tr`${id} can be restricted to the municipality's own tenant, but breakout.tenants.${id} is missing: staff could sign in to any ${catalog.get(id).name} tenant`,
      tr`breakout.tenants.${id} with ${params.map((p) => p.name).join(", ")} (npx alpha-prime catalog), or a breakout.tenantWaivers entry with a reason`,
    );
  });
  const needsProxy = selected.some((id) => catalog.needsProxy(id) && hasTenant(id)) || arr(f.breakout?.sanitization?.services).length > 0;
  const ca = f.breakout?.interceptionCa;
  if (needsProxy && !ca) {
    const which = [...selected.filter((id) => catalog.needsProxy(id) && hasTenant(id)), ...(f.breakout?.sanitization ? ["sanitization"] : [])];
    push(["breakout"], tr`${which.join(", ")} need the proxy tier's TLS inspection, which needs breakout.interceptionCa`, tr`interceptionCa: { secretArn: arn:aws:secretsmanager:<region>:<account>:secret:<name> }`);
  } else if (ca && !needsProxy) {
    push(["breakout", "interceptionCa"], tr`neither a tenant header nor sanitization needs the proxy, so this CA would not be used`, tr`remove interceptionCa, or add tenant values for a service with a header mechanism`, undefined, true);
  }
  for (const key of ["secretArn", "kmsKeyArn"] as const) {
    const arn = ca?.[key];
    if (typeof arn !== "string") continue;
    const parts = arn.split(":");
    if (f.aws?.region && parts[3] && parts[3] !== f.aws.region) push(["breakout", "interceptionCa", key], tr`${key} is in ${parts[3]}, the stack in ${f.aws.region}`, tr`an ARN in ${f.aws.region}`);
    if (f.aws?.accountId && parts[4] && parts[4] !== f.aws.accountId) push(["breakout", "interceptionCa", key], tr`${key} belongs to account ${parts[4]}`, tr`account ${f.aws.accountId}`);
  }
  return out;

  function push(path: (string | number)[], message: Msg, expected?: Msg, suggestion?: string, atKey?: boolean): void {
    out.push({ path, message, expected, suggestion, atKey });
  }
}

/** 無害化: services that can be sanitized, an engine that can be reached safely, and reasons where a rule is relaxed. */
function sanitizationProblems(f: Partial<MunicipalityFile>, catalog: SaasCatalog, lgwan: Cidr[]): FieldProblem[] {
  const out: FieldProblem[] = [];
  const s = f.breakout?.sanitization;
  if (!s) return out;
  const selected = arr(f.breakout?.saas).filter((id): id is string => typeof id === "string");
  arr(s.services).forEach((id, i) => {
    if (typeof id !== "string") return;
    if (!selected.includes(id)) out.push({ path: ["breakout", "sanitization", "services", i], message: tr`'${id}' is not a selected service`, expected: tr`one of ${selected.join(", ")}`, suggestion: closest(id, selected) });
    else if (catalog.has(id) && !catalog.canSanitize(id)) out.push({ path: ["breakout", "sanitization", "services", i], message: tr`${id} has no documented file-download hosts in the catalog, so its files cannot be sanitized`, expected: tr`one of ${selected.filter((x) => catalog.has(x) && catalog.canSanitize(x)).join(", ")}` });
  });
  if (s.engine === "external" && !s.externalIcapUrl) out.push({ path: ["breakout", "sanitization"], message: tr`engine: external needs externalIcapUrl`, expected: tr`externalIcapUrl: icaps://host:port/path` });
  if (s.engine === "clamav" && s.externalIcapUrl) out.push({ path: ["breakout", "sanitization", "externalIcapUrl"], message: tr`externalIcapUrl is only used with engine: external`, expected: tr`remove it, or set engine: external`, atKey: true });
  if (typeof s.externalIcapUrl === "string") {
    const m = /^(icaps?):\/\/([^:/]+):(\d+)\//.exec(s.externalIcapUrl);
    // the host is a name under a registrable domain or a plain dotted-decimal address: 'com', 'co.jp', '127.1' and
    // 'a..b' are each read differently by the firewall, Squid and the resolver, so none is an engine's address
    const host = m ? parseHost(m[2]) : undefined;
    if (m && typeof host === "string") out.push({ path: ["breakout", "sanitization", "externalIcapUrl"], message: tr`the engine's host is refused: ${host}`, expected: tr`icaps://<name under a registrable domain>:<port>/<path>, or icap://<address in the LGWAN segments>:<port>/<path>` });
    else if (m) {
      const port = Number(m[3]);
      const isIp = (host as HostPort).isIp;
      const onPrem = isIp && lgwan.some((l) => ipaddr.IPv4.parse(m[2]).match(l.address, l.bits));
      if (port < 1 || port > 65535) out.push({ path: ["breakout", "sanitization", "externalIcapUrl"], message: tr`port ${port} is outside 1-65535`, expected: tr`a valid port` });
      if (isIp && !onPrem) out.push({ path: ["breakout", "sanitization", "externalIcapUrl"], message: tr`${m[2]} is not inside an LGWAN segment; an internet engine must be named so the firewall can allowlist it`, expected: tr`an on-prem address in network.lgwanSegments, or icaps:// with a host name` });
      if (m[1] === "icap" && !onPrem) out.push({ path: ["breakout", "sanitization", "externalIcapUrl"], message: tr`plain icap:// would send residents' files unencrypted over the internet`, expected: tr`icaps://, or an engine inside the LGWAN segments` });
    }
  }
  if (s.largerFiles === "pass" && !s.largerFilesReason) out.push({ path: ["breakout", "sanitization"], message: tr`largerFiles: pass lets files above the limit reach PCs unscanned, and needs largerFilesReason`, expected: tr`largerFilesReason: why this is acceptable (at least 20 characters), or largerFiles: block` });
  // every limit of the engine is derived from this one; ClamAV cannot scan 2 GiB or more (clamd.conf(5), MaxFileSize)
  const clamavMaxMb = Math.floor(CLAMAV_MAX_FILE_BYTES / 1048576);
  if (s.engine === "clamav" && typeof s.maxFileSizeMb === "number" && s.maxFileSizeMb > clamavMaxMb)
    out.push({ path: ["breakout", "sanitization", "maxFileSizeMb"], message: tr`ClamAV cannot scan a file of ${s.maxFileSizeMb} MB (2 GB or more), so files at the limit would be blocked as unscannable`, expected: tr`at most ${clamavMaxMb} with engine: clamav` });
  return out;
}

/** Problems across files: ids unique over every env file. */
export function crossFileProblems(configs: readonly MunicipalityConfig[]): { index: number; problem: FieldProblem }[] {
  const out: { index: number; problem: FieldProblem }[] = [];
  const firstById = new Map<string, number>();
  const firstByCode = new Map<string, number>();
  configs.forEach((c, i) => {
    const prev = firstById.get(c.id);
    if (prev !== undefined) out.push({ index: i, problem: { path: ["id"], message: tr`id '${c.id}' is also used by ${path.basename(configs[prev].sourceFile)}`, expected: tr`an id unique across env files` } });
    else firstById.set(c.id, i);
    const prevCode = firstByCode.get(c.localGovernmentCode);
    if (prevCode !== undefined) out.push({ index: i, problem: { path: ["localGovernmentCode"], message: tr`${c.localGovernmentCode} is also used by ${path.basename(configs[prevCode].sourceFile)}`, expected: tr`one env file per municipality` } });
    else firstByCode.set(c.localGovernmentCode, i);
  });
  return out;
}
