/**
 * Every config a user could write with `init` deploys: over the prefix (/16–/24), the zone count, the tier and the
 * catalog selection init asks for, plus what users add by hand afterwards (Client VPN, relay routes, tenant values that
 * bring the proxy tier), the file init writes (through its own validation) synthesizes and passes the whole pack,
 * preflight included, with no error. fast-check, seeded; the run count is kept small for CI time (a synth is ~1 s).
 */
import * as fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";
import { collectAnswers, EnvDirectory, InitAnswers, writeEnvFile } from "../cli/init";
import { loadFiles } from "../config/load";
import { maxAvailabilityZones, relaySubnetPlan } from "../constructs/breakout-plan";
import { checkStack } from "../policy/engine";
import { StackModel } from "../policy/model";
import { ALPHA_PRIME_PACK } from "../policy/pack";
import { SaasCatalog } from "../catalog/saas-catalog";
import { synthConfigs, tempDir } from "./helpers";

const ZONES = ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"];
const ACCOUNT = "444455556666";

/** A breakout CIDR of the given prefix, aligned, somewhere in 10.0.0.0/9 (the LGWAN and client ranges are elsewhere). */
const breakoutCidr = (bits: number, slot: number) => {
  const size = 2 ** (32 - bits);
  const base = 10 * 2 ** 24 + ((slot * size) % 2 ** 23);
  return `${[24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".")}/${bits}`;
};

const configs = fc
  .record({
    bits: fc.integer({ min: 16, max: 24 }),
    slot: fc.nat({ max: 4096 }),
    zones: fc.integer({ min: 2, max: 3 }),
    tier: fc.constantFrom("1g", "2g", "5g", "10g"),
    saas: fc.subarray(SaasCatalog.default().ids, { minLength: 1 }),
    clientVpn: fc.option(fc.boolean(), { nil: undefined }), // undefined: off; else internetBreakout
    relay: fc.boolean(),
    proxy: fc.boolean(),
  })
  .map((c) => ({ ...c, cidr: breakoutCidr(c.bits, c.slot), zones: Math.min(c.zones, maxAvailabilityZones(breakoutCidr(c.bits, c.slot))) }));

type Case = typeof configs extends fc.Arbitrary<infer T> ? T : never;

let n = 0;
/** The file init writes from these answers, with the sections users add afterwards. */
async function envFileFor(c: Case): Promise<string> {
  const dir = tempDir("alpha-prime-init-prop-");
  const id = `town${n++}`;
  const saas = c.proxy && !c.saas.includes("microsoft-365") ? ["microsoft-365", ...c.saas] : c.saas;
  const given: Partial<InitAnswers> = {
    id,
    name: "試験町",
    localGovernmentCode: "223026",
    population: "7800",
    accountId: ACCOUNT,
    region: "ap-northeast-1",
    availabilityZones: ZONES.slice(0, c.zones).join(","),
    bandwidthTier: c.tier,
    breakoutCidr: c.cidr,
    saas: saas.join(","),
    notificationEmail: "noc@example.jp",
  };
  const { answers, examples } = await collectAnswers(given, new EnvDirectory(dir));
  const { file } = writeEnvFile(new EnvDirectory(dir), answers, examples);
  const doc = parseDocument(fs.readFileSync(file, "utf8"));
  if (c.clientVpn !== undefined) {
    doc.set("remoteAccess", {
      clientCidr: "192.168.252.0/22",
      serverCertificateArn: `arn:aws:acm:ap-northeast-1:${ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555`,
      clientRootCertificateArn: `arn:aws:acm:ap-northeast-1:${ACCOUNT}:certificate/66666666-7777-8888-9999-000000000000`,
      internetBreakout: c.clientVpn,
    });
  }
  if (c.relay) {
    // a /24 has no room for the relay's own subnets, so there its internet target is one the firewall reads (TLS)
    const internet = relaySubnetPlan(c.cidr, c.zones) ? "smtp.office365.com:587" : "outlook.office365.com:443";
    doc.set("relay", [
      { name: "webmail", from: c.clientVpn !== undefined ? "remote-access" : "lgwan", listenPort: 443, target: "172.16.5.20:443" },
      { name: "cloud-mail", from: "lgwan", listenPort: 587, target: internet },
    ]);
  }
  if (c.proxy) {
    // tenant values for a service with a header mechanism bring the proxy tier (and need the interception CA)
    doc.setIn(["breakout", "tenants"], { "microsoft-365": { tenantId: "3c7a9f12-5b1e-4d2a-9e6f-0a1b2c3d4e5f", policyId: "8d2e4f60-7a1b-4c3d-8e9f-1a2b3c4d5e6f", sharepointTenant: "testtown" } });
    const waivers = (doc.getIn(["breakout", "tenantWaivers"]) as any)?.toJSON?.() ?? [];
    const rest = waivers.filter((w: any) => w.saas !== "microsoft-365");
    if (rest.length) doc.setIn(["breakout", "tenantWaivers"], rest);
    else doc.deleteIn(["breakout", "tenantWaivers"]);
    doc.setIn(["breakout", "interceptionCa"], { secretArn: `arn:aws:secretsmanager:ap-northeast-1:${ACCOUNT}:secret:alpha-prime/${id}/interception-ca-Ab1Cd2` });
  }
  fs.writeFileSync(file, doc.toString());
  return file;
}

test("every config init could write, with Client VPN, relay and proxy on or off, synthesizes and passes preflight", async () => {
  const seen: Case[] = [];
  await fc.assert(
    fc.asyncProperty(configs, async (c) => {
      seen.push(c);
      const file = await envFileFor(c);
      const loaded = loadFiles([file]);
      expect(loaded.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([]);
      const [config] = loaded.configs;
      // the synth runs the pack through its aspect: an unsuppressed error would throw here
      const tf = synthConfigs([config])[config.id];
      const findings = checkStack(new StackModel(config.id, tf), ALPHA_PRIME_PACK).findings;
      expect(findings.filter((f) => f.severity === "error" && !f.suppressedBy?.declaredBy)).toEqual([]);
      // warnings: only init's own tenant waivers (reported with their reason), never a quota or anything else
      expect(findings.filter((f) => f.severity === "warning" && f.ruleId !== "AP-TEN-003")).toEqual([]);
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }),
    { seed: 22, numRuns: 10 },
  );
  // the runs reached what the title claims: both cuts, three zones, each optional part on and off
  expect(new Set(seen.map((c) => (c.bits <= 22 ? "quartered" : "compact"))).size).toBe(2);
  for (const key of ["relay", "proxy"] as const) expect(new Set(seen.map((c) => c[key])).size).toBe(2);
  expect(new Set(seen.map((c) => c.clientVpn === undefined)).size).toBe(2);
  expect(seen.some((c) => c.zones === 3)).toBe(true);
});
