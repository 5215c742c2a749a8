import * as fs from "fs";
import * as path from "path";
import { main } from "../cli/main";
import { shapeOf, tierCosts } from "../cli/reports";
import { SaasCatalog } from "../catalog/saas-catalog";
import { selectFiles } from "../stacks/app";
import { loadSample, resources, synthStacks, tempDir } from "./helpers";
import { App } from "cdktf";
import { effectiveAllowlist } from "../stacks/allowlist";
import { MunicipalityStack } from "../stacks/municipality-stack";

async function cli(...args: string[]) {
  let out = "";
  let err = "";
  const code = await main(["node", "alpha-prime", ...args], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe("alpha-prime catalog", () => {
  test("lists every service with its vendor source, and says where a vendor publishes no list", async () => {
    const r = await cli("catalog");
    expect(r.code).toBe(0);
    for (const id of ["microsoft-365", "slack", "kintone", "garoon", "zoom", "box", "google-workspace", "line-works"]) expect(r.out).toContain(id);
    expect(r.out).toMatch(/line-works.*NO official list/);
    for (const e of SaasCatalog.default().entries) expect(r.out).toContain(e.source);
  });

  test("fails on a catalog entry with a domain that allows a whole public suffix", () => {
    const entry = { id: "bad", name: "Bad", sourceKind: "official", source: "https://example.com", retrievedAt: "2026-11-23", domains: ["*.co.jp"] };
    expect(() => SaasCatalog.fromEntries([entry])).toThrow(/bad: domain '\*\.co\.jp' is refused: 'co\.jp' is a public suffix/);
    expect(() => SaasCatalog.fromEntries([{ ...entry, domains: ["ok.example.jp"] }, { ...entry, domains: ["ok.example.jp"] }])).toThrow(/appears twice/);
  });
});

describe("alpha-prime pac", () => {
  test("writes exactly the PAC file the stack publishes to the configuration backups", async () => {
    const file = path.join(tempDir(), "out", "mitoyo.pac");
    const r = await cli("pac", "mitoyo", "--out", file);
    expect(r.code).toBe(0);
    const { stacks } = synthStacks({ only: ["mitoyo"] });
    const published = resources(stacks.mitoyo, "aws_s3_object").find(([, o]) => o.key === "pac/proxy.pac")![1].content;
    expect(fs.readFileSync(file, "utf8")).toBe(published);
  });

  test("fails for an unknown municipality and writes nothing", async () => {
    const file = path.join(tempDir(), "x.pac");
    const r = await cli("pac", "mitoyoo", "--out", file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no env file for municipality 'mitoyoo' in .* \(did you mean 'mitoyo'\? known: aogashima, ashiya, kaga, mitoyo\)/);
    expect(fs.existsSync(file)).toBe(false);
  });

  test("in a national env directory the likely id is named, not a list of every municipality", () => {
    const dir = tempDir();
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(dir, `town${String(i).padStart(2, "0")}.yaml`), "");
    expect(() => selectFiles(dir, ["town7"])).toThrow(/^no env file for municipality 'town7' in .* \(did you mean 'town07'\? 30 known\)$/);
    expect(() => selectFiles(dir, ["zzzzzzzz"])).toThrow(/\(30 known\)$/);
  });
});

describe("alpha-prime tiers", () => {
  test("prints every tier with a monthly cost in USD and JPY, and the source and date of each price", async () => {
    const r = await cli("tiers", "--jpy-rate", "140", "--for", "ashiya");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/3 site\(s\), 3 AZ\(s\)/);
    for (const t of ["1g", "2g", "5g", "10g"]) expect(r.out).toMatch(new RegExp(`^${t}\\s+\\d+ Gbps`, "m"));
    expect(r.out).toMatch(/¥[\d,]+/);
    expect(r.out).toMatch(/Site-to-Site VPN connection: 0\.048 per hour — https:\/\/aws\.amazon\.com\/vpn\/pricing\/ \(recorded 2026-11-23, unverified\)/);
    expect(r.out).toMatch(/WARNING: \d+ of \d+ figures are unverified/);
  });

  test("a municipality with 無害化 and no tenant header is priced with the proxy tier the stack deploys for it", () => {
    const kaga = loadSample("kaga");
    const sanitizationOnly = { ...kaga, breakout: { ...kaga.breakout, tenants: {} } } as typeof kaga;
    expect(effectiveAllowlist(sanitizationOnly).headerRules).toEqual([]);
    const deployed = new MunicipalityStack(new App({ outdir: tempDir() }), sanitizationOnly, {}).tenantProxy !== undefined;
    expect({ deployed, priced: shapeOf(sanitizationOnly).proxy }).toEqual({ deployed: true, priced: true });
    const line = (shape: ReturnType<typeof shapeOf>) => tierCosts(shape)[0].fixed.filter((l) => /proxy/i.test(l.item)).length;
    expect(line(shapeOf(sanitizationOnly))).toBeGreaterThan(0);
  });

  test("costs rise with the tier and add up line by line", () => {
    const costs = tierCosts(shapeOf(loadSample("mitoyo")));
    for (let i = 1; i < costs.length; i++) expect(costs[i].fixedUsdPerMonth).toBeGreaterThan(costs[i - 1].fixedUsdPerMonth);
    for (const c of costs) expect(c.fixedUsdPerMonth).toBeCloseTo(c.fixed.reduce((s, l) => s + l.usdPerMonth, 0), 1);
    const vpn = costs[0].fixed.find((l) => l.item === "Site-to-Site VPN connection")!;
    expect(vpn.quantity).toBe(2);
    expect(vpn.usdPerMonth).toBeCloseTo(2 * 0.048 * 730, 2);
  });

  test("fails on a nonsensical exchange rate", async () => {
    const r = await cli("tiers", "--jpy-rate", "-1");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--jpy-rate must be a positive number/);
  });
});

describe("alpha-prime synth --all", () => {
  test("in CI (no terminal) prints a plain progress line every tenth of the way and a summary", async () => {
    const { writeSyntheticEnv } = require("../bench/generate") as typeof import("../bench/generate");
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 20);
    const out = path.join(tempDir(), "cdktf.out");
    const r = await cli("--env-dir", env, "synth", "--all", "--jobs", "2", "--out", out);
    expect(r.code).toBe(0);
    const lines = r.err.trim().split("\n");
    expect(lines).toHaveLength(10);
    lines.forEach((line, i) => expect(line).toMatch(new RegExp(`^synth: ${(i + 1) * 2}/20 municipalities \\(${(i + 1) * 10}%\\), last m\\d{4}$`)));
    expect(r.out).toMatch(/^synthesized 20 stack\(s\) into .+ in \d+\.\d s \(0 from the cache, 20 built, \d+\.\d stacks\/s, 2 worker process\(es\), largest worker \d+ MB\): m0000, m0001, .* … and 10 more\n$/);
    expect(fs.readdirSync(path.join(out, "stacks"))).toHaveLength(20);
  });

  test("refuses --all together with --only, and a --jobs that is not a whole number", async () => {
    expect((await cli("synth", "--all", "--only", "kaga")).err).toMatch(/--all and --only exclude each other/);
    const r = await cli("synth", "--jobs", "two");
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--jobs must be a whole number of at least 1, got 'two'/)]);
  });
});
