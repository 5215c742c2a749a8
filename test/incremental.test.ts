/**
 * Incremental synthesis and review (issue 25) and stale-output detection (issue 24, item 4): what a stack's
 * fingerprint covers, the synth cache's byte-identity and invalidation, and diff/check/synth over git revisions.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { copyToolkit, ToolkitCopy } from "../bench/toolkit-copy";
import { syntheticMunicipality, writeSyntheticEnv } from "../bench/generate";
import { SaasCatalog } from "../catalog/saas-catalog";
import { loadOrThrow } from "../config/load";
import { REPO_ROOT } from "../core/paths";
import { bandwidthTier } from "../constructs/bandwidth-tier";
import { buildApp } from "../stacks/app";
import { catalogEntriesRead, directoryTree, InputsContext, moduleClosure, sourceIdentity, SYNTH_ENTRY_MODULES, TIER_TABLE_MODULE, toolkitIdentity } from "../stacks/inputs";
import { StackCache } from "../cli/stack-cache";
import { ENV_DIR, sampleText, tempDir, tree } from "./helpers";

const CLI = path.join(REPO_ROOT, "bin", "alpha-prime.js");

function run(args: string[], options: { env?: Record<string, string | undefined>; cli?: string; cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [options.cli ?? CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, env: { ...process.env, ...options.env }, encoding: "utf8", maxBuffer: 1 << 28 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** fingerprint → municipality id of every entry in a cache directory */
function cacheEntries(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const root = path.join(dir, "stacks-v1");
  if (!fs.existsSync(root)) return out;
  for (const shard of fs.readdirSync(root).filter((s) => /^[0-9a-f]{2}$/.test(s))) {
    for (const fp of fs.readdirSync(path.join(root, shard))) out.set(fp, JSON.parse(fs.readFileSync(path.join(root, shard, fp, "entry.json"), "utf8")).id);
  }
  return out;
}

/** Ids whose stacks a run built: the cache entries that are new since `before`. */
function builtSince(before: Map<string, string>, cacheDir: string): string[] {
  return [...cacheEntries(cacheDir)].filter(([fp]) => !before.has(fp)).map(([, id]) => id).sort();
}

function envTexts(n: number, spread: "national" | "uniform" = "uniform"): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const doc = syntheticMunicipality(i, n, spread);
    out[`${doc.id}.yaml`] = `# yaml-language-server: $schema=municipality.schema.json\n${stringify(doc)}`;
  }
  return out;
}

/** Ids of env files (text) whose stack reads a catalog entry, or has a tier. */
function idsWhere(files: Record<string, string>, test: (doc: any) => boolean): string[] {
  return Object.entries(files)
    .filter(([, text]) => test(parse(text)))
    .map(([name]) => name.replace(/\.yaml$/, ""))
    .sort();
}

// ---------------------------------------------------------------------------------------------------------------

describe("a stack's fingerprint covers everything its stack reads", () => {
  test("every catalog entry a stack reads while it is built and checked is one catalogEntriesRead names (samples and every option)", () => {
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 14, "uniform");
    for (const f of fs.readdirSync(ENV_DIR).filter((f) => f.endsWith(".yaml"))) fs.copyFileSync(path.join(ENV_DIR, f), path.join(env, f));
    const configs = loadOrThrow(fs.readdirSync(env).map((f) => path.join(env, f)));
    const catalog = SaasCatalog.default();
    const read = new Set<string>();
    let whole = 0;
    const get = catalog.get.bind(catalog);
    const has = catalog.has.bind(catalog);
    const entries = catalog.entries;
    const spied = catalog as unknown as Record<string, unknown>;
    spied.get = (id: string) => (read.add(id), get(id));
    spied.has = (id: string) => (read.add(id), has(id));
    Object.defineProperty(catalog, "entries", { configurable: true, get: () => (whole++, entries) });
    try {
      for (const config of configs) {
        read.clear();
        whole = 0;
        buildApp([config], { outdir: tempDir() }).synth();
        expect({ id: config.id, whole, outside: [...read].filter((id) => !catalogEntriesRead(config).includes(id)) }).toEqual({ id: config.id, whole: 0, outside: [] });
      }
    } finally {
      delete spied.get;
      delete spied.has;
      Object.defineProperty(catalog, "entries", { configurable: true, writable: false, value: entries });
    }
  });

  test("the tier table reaches stacks only as bandwidthTier(id)'s row, which each fingerprint holds (so its module can stay out of the code digest)", () => {
    const { modules } = moduleClosure(directoryTree(REPO_ROOT), SYNTH_ENTRY_MODULES, ".ts");
    const users = modules.filter((m) => new RegExp(`from "\\.{1,2}/(?:\\.\\./)*${TIER_TABLE_MODULE.replace("/", "\\/")}"`).test(fs.readFileSync(path.join(REPO_ROOT, m), "utf8")) || /from "\.\/bandwidth-tier"/.test(fs.readFileSync(path.join(REPO_ROOT, m), "utf8")));
    expect(users.length).toBeGreaterThan(0);
    for (const m of users) {
      const text = fs.readFileSync(path.join(REPO_ROOT, m), "utf8");
      // a type-only import is erased by the compiler: it carries no row; every other import may take the lookup only
      const imported = [...text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+"[./]*(?:constructs\/)?bandwidth-tier"/g)].flatMap((x) => (x[1] ? [] : x[2].split(",").map((s) => s.trim()).filter(Boolean)));
      expect({ module: m, imported: imported.filter((name) => name !== "bandwidthTier") }).toEqual({ module: m, imported: [] });
    }
    expect(users.some((m) => fs.readFileSync(path.join(REPO_ROOT, m), "utf8").match(/import\s+\{[^}]*\bbandwidthTier\b[^}]*\}\s+from/))).toBe(true);
  });

  test("... and in fact: a stack on any tier is the same byte for byte when every other row of the table changes", () => {
    const { BANDWIDTH_TIERS } = require("../constructs/bandwidth-tier") as { BANDWIDTH_TIERS: Record<string, unknown>[] };
    // each sample on another tier, so every row is some stack's own
    const tiers = BANDWIDTH_TIERS.map((t) => t.id as string);
    const configs = loadOrThrow(fs.readdirSync(ENV_DIR).filter((f) => f.endsWith(".yaml")).sort().map((f) => path.join(ENV_DIR, f))).map((c, i) => ({ ...c, bandwidthTier: tiers[i % tiers.length] as typeof c.bandwidthTier }));
    expect(new Set(configs.map((c) => c.bandwidthTier)).size).toBe(tiers.length);
    const stacksOf = (chosen: typeof configs) => {
      const out = tempDir();
      buildApp(chosen, { outdir: out }).synth();
      return Object.fromEntries(chosen.map((c) => [c.id, fs.readFileSync(path.join(out, "stacks", c.id, "cdk.tf.json"), "utf8")]));
    };
    const before = stacksOf(configs);
    const rows = [...BANDWIDTH_TIERS];
    try {
      for (const c of configs) {
        // every row but this stack's own replaced by one with other values in every field
        for (let i = 0; i < rows.length; i++) {
          if (rows[i].id === c.bandwidthTier) continue;
          BANDWIDTH_TIERS[i] = Object.fromEntries(Object.entries(rows[i]).map(([k, v]) => [k, k === "id" ? v : typeof v === "number" ? v * 7 + 3 : typeof v === "string" ? (v === "c7g.4xlarge" ? "m7g.xlarge" : "c7g.4xlarge") : v]));
        }
        const after = stacksOf([c]);
        expect({ id: c.id, tier: c.bandwidthTier, same: after[c.id] === before[c.id] }).toEqual({ id: c.id, tier: c.bandwidthTier, same: true });
        rows.forEach((r, i) => (BANDWIDTH_TIERS[i] = r));
      }
    } finally {
      rows.forEach((r, i) => (BANDWIDTH_TIERS[i] = r));
    }
  });

  test("the modules synthesis loads are all in the toolkit's closure", () => {
    const script = `require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "cdktf-tuning.js"))}).applySynthTuning();
      require(${JSON.stringify(path.join(REPO_ROOT, "dist", "cli", "stack-cache.js"))});
      const { buildApp } = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "app.js"))});
      const { loadOrThrow } = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "config", "load.js"))});
      const os = require("os"), fs = require("fs"), path = require("path");
      const files = fs.readdirSync(${JSON.stringify(ENV_DIR)}).filter((f) => f.endsWith(".yaml")).map((f) => path.join(${JSON.stringify(ENV_DIR)}, f));
      buildApp(loadOrThrow(files), { outdir: fs.mkdtempSync(path.join(os.tmpdir(), "closure-")) }).synth();
      process.stdout.write(JSON.stringify(Object.keys(require.cache)));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    const dist = path.join(REPO_ROOT, "dist");
    const loaded = (JSON.parse(r.stdout) as string[]).filter((f) => f.startsWith(dist + path.sep) && !f.includes(`${path.sep}prebuilt${path.sep}`)).map((f) => path.relative(dist, f).split(path.sep).join("/"));
    const { modules } = moduleClosure(directoryTree(dist), SYNTH_ENTRY_MODULES, ".js");
    expect(loaded.length).toBeGreaterThan(30);
    expect(loaded.filter((m) => !modules.includes(m))).toEqual([]);
  });

  describe("each kind of input change changes exactly the right fingerprints", () => {
    const env = path.join(tempDir(), "env");
    const files = writeSyntheticEnv(env, 40, "national");
    const configs = loadOrThrow(files);
    const toolkit = toolkitIdentity();
    const catalog = SaasCatalog.default();
    const fingerprints = (ctx: InputsContext, cs = configs) => new Map(cs.map((c) => [c.id, ctx.of(c).fingerprint]));
    const base = fingerprints(new InputsContext(toolkit, catalog, undefined));
    const changedIds = (other: Map<string, string>) => [...other].filter(([id, fp]) => base.get(id) !== fp).map(([id]) => id).sort();

    test("an env file: that municipality only; a comment or a reformatted file: none", () => {
      const file = files[7];
      const text = fs.readFileSync(file, "utf8");
      const edit = (t: string) => {
        fs.writeFileSync(file, t);
        return loadOrThrow(files);
      };
      try {
        expect(changedIds(fingerprints(new InputsContext(toolkit, catalog, undefined), edit(text.replace(/bandwidthTier: \S+/, "bandwidthTier: 10g"))))).toEqual(["m0007"]);
        const reformatted = `# a comment for the reader\n${stringify(parse(text), { indent: 4 })}`;
        expect(changedIds(fingerprints(new InputsContext(toolkit, catalog, undefined), edit(reformatted)))).toEqual([]);
      } finally {
        fs.writeFileSync(file, text);
      }
    });

    test("a catalog entry: exactly the municipalities that read it", () => {
      const entries = JSON.parse(JSON.stringify(catalog.entries)) as { id: string; domains: string[] }[];
      entries.find((e) => e.id === "garoon")!.domains.push("garoon-extra.example.com");
      const changed = changedIds(fingerprints(new InputsContext(toolkit, SaasCatalog.fromEntries(entries), undefined)));
      const readers = configs.filter((c) => catalogEntriesRead(c).includes("garoon")).map((c) => c.id).sort();
      expect(readers.length).toBeGreaterThan(0);
      expect(readers.length).toBeLessThan(configs.length);
      expect(changed).toEqual(readers);
    });

    test("a row of the tier table: exactly the municipalities on that tier", () => {
      const tierOf = (id: string) => (id === "5g" ? { ...bandwidthTier(id), relayInstanceType: "c7g.xlarge" } : bandwidthTier(id));
      const changed = changedIds(fingerprints(new InputsContext(toolkit, catalog, undefined, undefined, tierOf)));
      const on5g = configs.filter((c) => c.bandwidthTier === "5g").map((c) => c.id).sort();
      expect(on5g.length).toBeGreaterThan(0);
      expect(changed).toEqual(on5g);
    });

    test("catalog ids reach a config only as written (the schema gives them no default), so diff may skip files that do not spell a changed one", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "env", "municipality.schema.json"), "utf8"));
    const idDefaults: string[] = [];
    const walk = (node: any, at: string) => {
      if (!node || typeof node !== "object") return;
      const empty = JSON.stringify(node.default) === "[]" || JSON.stringify(node.default) === "{}";
      if ("default" in node && !empty && /^breakout\/properties\/(saas|tenants|tenantWaivers|sanitization\/properties\/services)\b/.test(at)) idDefaults.push(at);
      for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
    };
    walk(schema.properties.breakout, "breakout");
    expect(idDefaults).toEqual([]);
  });

  test("the toolkit (its digest): every municipality", () => {
      expect(changedIds(fingerprints(new InputsContext({ ...toolkit, digest: "another build" }, catalog, undefined)))).toEqual(configs.map((c) => c.id).sort());
    });

    test("the state bucket from the environment: the municipalities without their own", () => {
      expect(changedIds(fingerprints(new InputsContext(toolkit, catalog, "a-state-bucket"))).length).toBe(configs.filter((c) => !c.state?.bucket).length);
    });
  });

  test("the toolkit's identity follows its version, lock file, schema and every module synthesis loads — not other code, nor the tier table's rows", () => {
    const root = tempDir();
    const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" }).stdout.split("\0").filter((f) => f && fs.existsSync(path.join(REPO_ROOT, f)));
    for (const rel of listed) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.copyFileSync(path.join(REPO_ROOT, rel), path.join(root, rel));
    }
    const id = () => sourceIdentity(directoryTree(root));
    const before = id();
    const edit = (rel: string, change: (t: string) => string) => {
      const file = path.join(root, rel);
      const text = fs.readFileSync(file, "utf8");
      fs.writeFileSync(file, change(text));
      const after = id();
      fs.writeFileSync(file, text);
      return { code: after.code !== before.code, version: after.version !== before.version, lock: after.lock !== before.lock, tier: after.tierModule !== before.tierModule };
    };
    const none = { code: false, version: false, lock: false, tier: false };
    expect(edit("package.json", (t) => t.replace(/"version": "[^"]+"/, '"version": "9.9.9"'))).toEqual({ ...none, version: true });
    expect(edit("package-lock.json", (t) => `${t}\n`)).toEqual({ ...none, lock: true });
    expect(edit("env/municipality.schema.json", (t) => `${t}\n`)).toEqual({ ...none, code: true });
    expect(edit("constructs/log-archive.ts", (t) => `${t}\n// a change\n`)).toEqual({ ...none, code: true });
    expect(edit("policy/engine.ts", (t) => `${t}\n// a change\n`)).toEqual({ ...none, code: true });
    expect(edit("cli/graph.ts", (t) => `${t}\n// a change\n`)).toEqual(none);
    // the tier module's rows count per stack; the rest of it is code like any other: what bandwidthTier() returns,
    // what the module runs when loaded (a pull request could patch any construct from there), even a comment
    expect(edit("constructs/bandwidth-tier.ts", (t) => t.replace(/tier\("5g", 5, \["c7g\.large", 1\]/, 'tier("5g", 5, ["c7g.xlarge", 1]'))).toEqual({ ...none, tier: true });
    expect(edit("constructs/bandwidth-tier.ts", (t) => t.replace("  return t;\n}", '  return id === "1g" ? { ...t, proxyInstancesPerAz: 0 } : t;\n}'))).toEqual({ ...none, code: true, tier: true });
    expect(edit("constructs/bandwidth-tier.ts", (t) => `${t}\n(globalThis as Record<string, unknown>).patched = true;\n`)).toEqual({ ...none, code: true, tier: true });
    expect(edit("constructs/bandwidth-tier.ts", (t) => t.replace('tier("1g", 1, ["t4g.small", 1], ["m7g.large", 1, 2], 20)', 'tier("1g", 1, ["t4g.small", 1], ["m7g.large", 1, 2], ((globalThis as Record<string, unknown>).patched = 20))'))).toEqual({ ...none, code: true, tier: true });
    expect(edit("constructs/bandwidth-tier.ts", (t) => `${t}\n// a change\n`)).toEqual({ ...none, code: true, tier: true });
    // the build records the same identity the sources give, and this build is recognised as made from them
    expect(toolkitIdentity(path.join(REPO_ROOT, "dist")).source.code).toBe(sourceIdentity(directoryTree(REPO_ROOT)).code);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("the synth cache", () => {
  test("cached and fresh stacks are byte-identical on the bench set (200 municipalities, workers), and a warm run builds nothing", () => {
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 200, "national");
    const cache = tempDir("alpha-prime-cache-");
    const [cold, warm] = [path.join(tempDir(), "cold"), path.join(tempDir(), "warm")];
    const c = run(["--env-dir", env, "synth", "--jobs", "2", "--out", cold], { env: { ALPHA_PRIME_CACHE_DIR: cache } });
    expect(c.out).toMatch(/\(0 from the cache, 200 built/);
    const w = run(["--env-dir", env, "synth", "--jobs", "2", "--out", warm], { env: { ALPHA_PRIME_CACHE_DIR: cache } });
    expect(w.out).toMatch(/\(200 from the cache, 0 built/);
    expect(w.out).toMatch(/no worker process needed/);
    const fresh = tree(cold);
    expect(Object.keys(fresh).filter((f) => f.endsWith("cdk.tf.json"))).toHaveLength(200);
    expect(tree(warm)).toEqual(fresh);
  });

  test("... and in one process (a few municipalities), against a run that never touched the cache", () => {
    const cache = tempDir("alpha-prime-cache-");
    const fresh = path.join(tempDir(), "fresh");
    const warm = path.join(tempDir(), "warm");
    expect(run(["synth", "--no-cache", "--out", fresh], { env: { ALPHA_PRIME_CACHE_DIR: cache } }).code).toBe(0);
    run(["synth", "--out", warm], { env: { ALPHA_PRIME_CACHE_DIR: cache } });
    expect(run(["synth", "--out", warm], { env: { ALPHA_PRIME_CACHE_DIR: cache } }).out).toMatch(/\(4 from the cache, 0 built\)/);
    expect(tree(warm)).toEqual(tree(fresh));
  });

  test("each kind of input change rebuilds exactly the stacks it reaches: env file, comment, catalog entry, tier row, toolkit version, lock file, code", () => {
    const files = envTexts(12);
    const copy = copyToolkit(tempDir(), files);
    const cache = tempDir("alpha-prime-cache-");
    const out = path.join(copy.root, "cdktf.out");
    const synth = (env: Record<string, string> = {}) => {
      const before = cacheEntries(cache);
      const r = run(["synth", "--jobs", "2", "--out", out], { cli: copy.cli, cwd: copy.root, env: { ALPHA_PRIME_CACHE_DIR: cache, ...env } });
      expect(r.err).not.toMatch(/alpha-prime:/);
      expect(r.code).toBe(0);
      return builtSince(before, cache);
    };
    const edit = (rel: string, change: (t: string) => string) => fs.writeFileSync(path.join(copy.root, rel), change(fs.readFileSync(path.join(copy.root, rel), "utf8")));
    /** a source change with the same change to its compiled module, recorded as the build would record it */
    const rebuild = () => expect(spawnSync(process.execPath, [path.join(copy.root, "dist", "config", "prebuilt.js")], { cwd: copy.root }).status).toBe(0);
    const all = Object.keys(files).map((f) => f.replace(/\.yaml$/, "")).sort();

    expect(synth()).toEqual(all);
    expect(synth()).toEqual([]);
    edit("env/m0005.yaml", (t) => t.replace(/bandwidthTier: \S+/, "bandwidthTier: 10g"));
    expect(synth()).toEqual(["m0005"]);
    edit("env/m0007.yaml", (t) => `# reviewed 2026-12-01\n${t.replace(/\n/g, "\n\n")}`);
    expect(synth()).toEqual([]);

    const catalogFile = path.join(tempDir(), "catalog.yaml");
    fs.writeFileSync(catalogFile, fs.readFileSync(path.join(copy.root, "catalog", "saas-catalog.yaml"), "utf8").replace(/(- id: garoon[\s\S]*?\n  domains:\n)/, '$1    - "garoon-extra.example.com"\n'));
    const readers = idsWhere(files, (d) => catalogEntriesRead(d).includes("garoon"));
    expect(readers.length).toBeGreaterThan(0);
    expect(synth({ ALPHA_PRIME_CATALOG: catalogFile })).toEqual(readers);

    const tierLine = /tier\("5g", 5, \["c7g\.large", 1\]/;
    edit("constructs/bandwidth-tier.ts", (t) => t.replace(tierLine, 'tier("5g", 5, ["c7g.xlarge", 1]'));
    edit("dist/constructs/bandwidth-tier.js", (t) => t.replace(tierLine, 'tier("5g", 5, ["c7g.xlarge", 1]'));
    rebuild();
    const on5g = idsWhere({ ...files, "m0005.yaml": files["m0005.yaml"].replace(/bandwidthTier: \S+/, "bandwidthTier: 10g") }, (d) => d.bandwidthTier === "5g");
    expect(on5g.length).toBeGreaterThan(0);
    expect(synth()).toEqual(on5g);

    edit("cli/graph.ts", (t) => `${t}\n// not part of synthesis\n`);
    edit("dist/cli/graph.js", (t) => `${t}\n// not part of synthesis\n`);
    rebuild();
    expect(synth()).toEqual([]);

    edit("package.json", (t) => t.replace(/"version": "[^"]+"/, '"version": "0.1.1"'));
    rebuild();
    expect(synth()).toEqual(all);

    // the lock file (what `npm ci` installs from; npm's prepare step rebuilds, which records it)
    edit("package-lock.json", (t) => t.replace(/\n$/, "\n\n"));
    rebuild();
    expect(synth()).toEqual(all);

    edit("constructs/operations.ts", (t) => `${t}\n// a change to a construct\n`);
    edit("dist/constructs/operations.js", (t) => `${t}\n// a change to a construct\n`);
    rebuild();
    expect(synth()).toEqual(all);

    // a dist/ changed after its build (no record of its sources) is its own toolkit: nothing of the cache fits it
    edit("dist/constructs/operations.js", (t) => `${t}\n// edited by hand\n`);
    expect(synth()).toEqual(all);

    const fresh = path.join(tempDir(), "fresh");
    run(["synth", "--no-cache", "--out", fresh], { cli: copy.cli, cwd: copy.root });
    const strip = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([f]) => f !== "inputs.json"));
    expect(strip(tree(out))).toEqual(strip(tree(fresh)));
  });

  test("two runs at once share the cache: both outputs whole and equal, every entry complete, nothing temporary left", async () => {
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 16, "uniform");
    const cache = tempDir("alpha-prime-cache-");
    const synth = (out: string) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [CLI, "--env-dir", env, "synth", "--jobs", "2", "--out", out], { env: { ...process.env, ALPHA_PRIME_CACHE_DIR: cache }, stdio: "ignore" });
        child.on("exit", (code) => resolve(code ?? -1));
      });
    const [a, b] = [path.join(tempDir(), "a"), path.join(tempDir(), "b")];
    expect(await Promise.all([synth(a), synth(b)])).toEqual([0, 0]);
    expect(tree(a)).toEqual(tree(b));
    expect(new Set(cacheEntries(cache).values()).size).toBe(16);
    expect(fs.readdirSync(path.join(cache, "stacks-v1", "tmp"))).toEqual([]);
    const c = path.join(tempDir(), "c");
    expect(run(["--env-dir", env, "synth", "--out", c], { env: { ALPHA_PRIME_CACHE_DIR: cache } }).out).toMatch(/16 from the cache, 0 built/);
    expect(tree(c)).toEqual(tree(a));
  });

  test("a run killed part-way leaves only whole entries; the next run finishes and writes what a fresh run writes", async () => {
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 30, "uniform");
    const cache = tempDir("alpha-prime-cache-");
    const out = path.join(tempDir(), "out");
    const child = spawn(process.execPath, [CLI, "--env-dir", env, "synth", "--jobs", "2", "--out", out], { env: { ...process.env, ALPHA_PRIME_CACHE_DIR: cache }, stdio: "ignore", detached: true });
    const deadline = Date.now() + 60_000;
    while (cacheEntries(cache).size < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    process.kill(-child.pid!, "SIGKILL"); // the run and its workers, mid-write
    await new Promise((r) => child.on("exit", r));
    const left = cacheEntries(cache).size;
    expect(left).toBeGreaterThanOrEqual(3);
    expect(left).toBeLessThan(30);
    // every entry that exists is whole: its files match their digests (restore verifies them)
    const probe = StackCache.open(cache);
    for (const [fp, id] of cacheEntries(cache)) {
      const into = path.join(tempDir(), id);
      expect(probe.restore(fp, id, into)).toBeDefined();
    }
    expect(fs.readdirSync(path.join(cache, "stacks-v1", "tmp"))).toEqual([]); // what the killed run left, removed on open
    const r = run(["--env-dir", env, "synth", "--jobs", "2", "--out", out], { env: { ALPHA_PRIME_CACHE_DIR: cache } });
    expect(r.code).toBe(0);
    const fresh = path.join(tempDir(), "fresh");
    run(["--env-dir", env, "synth", "--no-cache", "--jobs", "2", "--out", fresh]);
    const strip = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).filter(([f]) => f !== "inputs.json"));
    expect(strip(tree(out))).toEqual(strip(tree(fresh)));
  });

  test("a cached file that no longer matches its digest is not used: the stack is built again and the output is right", () => {
    const cache = tempDir("alpha-prime-cache-");
    const a = path.join(tempDir(), "a");
    run(["synth", "--out", a], { env: { ALPHA_PRIME_CACHE_DIR: cache } });
    const [fp] = [...cacheEntries(cache)].find(([, id]) => id === "kaga")!;
    const file = path.join(cache, "stacks-v1", fp.slice(0, 2), fp, "files", "cdk.tf.json");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("alpha-prime-kaga", "alpha-prime-evil"));
    const b = path.join(tempDir(), "b");
    expect(run(["synth", "--out", b], { env: { ALPHA_PRIME_CACHE_DIR: cache } }).out).toMatch(/\(3 from the cache, 1 built\)/);
    expect(tree(b)).toEqual(tree(a));
  });

  test("a cache directory that others can write to is not used: a whole, self-consistent entry planted there never reaches the output", () => {
    // a shared cache (ALPHA_PRIME_CACHE_DIR under the temporary directory, a runner's common directory): another account can plant
    // an entry under a fingerprint anyone can compute, with digests that match what it planted
    const fresh = path.join(tempDir(), "fresh");
    expect(run(["synth", "--no-cache", "--out", fresh]).code).toBe(0);
    const own = tempDir("alpha-prime-cache-");
    run(["synth", "--out", path.join(tempDir(), "o")], { env: { ALPHA_PRIME_CACHE_DIR: own } });
    for (const [mode, shared] of [[0o777, tempDir("alpha-prime-shared-cache-")], [0o775, tempDir("alpha-prime-group-cache-")]] as const) {
      fs.cpSync(own, shared, { recursive: true });
      const [fp] = [...cacheEntries(shared)].find(([, id]) => id === "kaga")!;
      const entryDir = path.join(shared, "stacks-v1", fp.slice(0, 2), fp);
      const file = path.join(entryDir, "files", "cdk.tf.json");
      const planted = Buffer.from(fs.readFileSync(file, "utf8").replace("alpha-prime-kaga", "alpha-prime-evil"));
      fs.writeFileSync(file, planted);
      const entry = JSON.parse(fs.readFileSync(path.join(entryDir, "entry.json"), "utf8"));
      entry.files["cdk.tf.json"] = { sha256: require("crypto").createHash("sha256").update(planted).digest("hex"), bytes: planted.length };
      fs.writeFileSync(path.join(entryDir, "entry.json"), JSON.stringify(entry));
      fs.chmodSync(shared, mode);
      const out = path.join(tempDir(), "out");
      const r = run(["synth", "--out", out], { env: { ALPHA_PRIME_CACHE_DIR: shared } });
      expect({ mode: mode.toString(8), code: r.code, built: !/from the cache/.test(r.out), warned: /the synth cache cannot be used \(.*writable by others/.test(r.err) }).toEqual({ mode: mode.toString(8), code: 0, built: true, warned: true });
      expect(tree(out)).toEqual(tree(fresh));
    }
  });

  test("the least recently used entries go first once the cache is over its limit", () => {
    const dir = tempDir("alpha-prime-cache-");
    const cache = StackCache.open(dir, 3 * 100_000 + 5_000);
    const stack = tempDir();
    fs.writeFileSync(path.join(stack, "cdk.tf.json"), "x".repeat(100_000));
    const fps = ["a", "b", "c", "d"].map((c) => c.repeat(64));
    fps.forEach((fp, i) => {
      cache.store(fp, `m${i}`, stack, { name: `m${i}` });
      const when = new Date(Date.now() - (10 - i) * 60_000);
      fs.utimesSync(path.join(dir, "stacks-v1", fp.slice(0, 2), fp, "entry.json"), when, when);
    });
    expect(cache.restore(fps[0], "m0", path.join(tempDir(), "m0"))).toEqual({ name: "m0" }); // used now: newest
    cache.evict();
    expect([...cacheEntries(dir).values()].sort()).toEqual(["m0", "m3"]);
    expect(cache.info().bytes).toBeLessThanOrEqual(cache.limitBytes * 0.9);
  });

  test("--no-cache neither reads nor writes it; `cache info` says where it is; `cache clear` empties it", () => {
    const cache = tempDir("alpha-prime-cache-");
    const env = { ALPHA_PRIME_CACHE_DIR: cache };
    run(["synth", "--no-cache", "--out", path.join(tempDir(), "o")], { env });
    expect(cacheEntries(cache).size).toBe(0);
    run(["synth", "--out", path.join(tempDir(), "o")], { env });
    expect(run(["cache"], { env }).out).toMatch(new RegExp(`synth cache: ${cache.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} .*\\n  4 stack\\(s\\), [0-9.]+ MiB of 2048.0 MiB`));
    expect(run(["cache", "clear"], { env }).out).toMatch(/removed 4 cached stack\(s\)/);
    expect(cacheEntries(cache).size).toBe(0);
    expect(run(["cache", "info"], { env, cli: CLI }).out).toMatch(/0 stack\(s\)/);
    expect(run(["cache", "prune"], { env }).code).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("a stale output is refused by check and diff", () => {
  function envWithSamples(): string {
    const dir = path.join(tempDir(), "env");
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(ENV_DIR).filter((f) => f.endsWith(".yaml"))) fs.copyFileSync(path.join(ENV_DIR, f), path.join(dir, f));
    return dir;
  }

  test("synthesized on one branch, checked and diffed on another with more env files: refused, not '3 removed'", () => {
    const env = envWithSamples();
    const out = path.join(tempDir(), "cdktf.out");
    expect(run(["--env-dir", env, "synth", "--out", out]).code).toBe(0);
    expect(run(["check", out])).toMatchObject({ code: 0, err: "" });
    // the branch: three more municipalities; its own output is the base a reviewer compares with
    const more = envTexts(3);
    for (const [name, text] of Object.entries(more)) fs.writeFileSync(path.join(env, name), text);
    const branch = path.join(tempDir(), "branch.out");
    expect(run(["--env-dir", env, "synth", "--out", branch]).code).toBe(0);
    const d = run(["diff", branch, out, "--format", "json"]);
    expect(d.code).toBe(1);
    expect(d.out).toBe("");
    expect(d.err).toMatch(/does not match the files it was synthesized from:\n  3 env file\(s\) have no stack \(added since it was synthesized\): m0000, m0001, m0002\n/);
    const c = run(["check", out]);
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/3 env file\(s\) have no stack/);
    // with --allow-stale it is used, loudly
    const anyway = run(["diff", branch, out, "--format", "json", "--allow-stale"]);
    expect(anyway.code).toBe(0);
    expect(anyway.err).toMatch(/WARNING: STALE OUTPUT/);
    expect(JSON.parse(anyway.out).municipalities.filter((m: any) => m.status === "removed").map((m: any) => m.id)).toEqual(["m0000", "m0001", "m0002"]);
  });

  test("an output made by another build (a pull request that changes the toolkit or a tier row) is refused, unless --any-toolkit, which still holds it to its env files", () => {
    const env = envWithSamples();
    const out = path.join(tempDir(), "cdktf.out");
    expect(run(["--env-dir", env, "synth", "--out", out]).code).toBe(0);
    const base = path.join(tempDir(), "base.out");
    expect(run(["--env-dir", env, "synth", "--out", base]).code).toBe(0);
    // what the PR's build records: its own code digest, and its own row for one tier
    const recordFile = path.join(out, "inputs.json");
    const record = JSON.parse(fs.readFileSync(recordFile, "utf8"));
    for (const inputs of Object.values<any>(record.stacks)) inputs.toolkit = "f".repeat(64);
    record.stacks.kaga.tier.sha256 = "e".repeat(64);
    fs.writeFileSync(recordFile, JSON.stringify(record));
    const refused = run(["check", out]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/synthesized by another build of alpha-prime/);
    expect(run(["check", out, "--any-toolkit"])).toMatchObject({ code: 0, err: "" });
    const d = run(["diff", base, out, "--any-toolkit", "--format", "json"]);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out).municipalities.every((m: any) => m.status === "unchanged")).toBe(true);
    // ... but not to a file that changed after it was made
    fs.writeFileSync(path.join(env, "kaga.yaml"), sampleText("kaga").replace("retentionDays: 365", "retentionDays: 400"));
    const changed = run(["check", out, "--any-toolkit"]);
    expect(changed.code).toBe(1);
    expect(changed.err).toMatch(/1 stack\(s\): its env file changed since: kaga/);
    expect(run(["diff", base, out, "--any-toolkit", "--format", "json"]).err).toMatch(/its env file changed since: kaga/);
  });

  test("an env file changed since: that stack is named; a comment is no change; a removed file is 'gone'", () => {
    const env = envWithSamples();
    const out = path.join(tempDir(), "cdktf.out");
    run(["--env-dir", env, "synth", "--out", out]);
    const kaga = path.join(env, "kaga.yaml");
    fs.writeFileSync(kaga, `# a comment\n${sampleText("kaga")}`);
    expect(run(["check", out])).toMatchObject({ code: 0, err: "" });
    fs.writeFileSync(kaga, sampleText("kaga").replace("retentionDays: 365", "retentionDays: 400"));
    expect(run(["check", out]).err).toMatch(/1 stack\(s\): its env file changed since: kaga/);
    fs.rmSync(path.join(env, "ashiya.yaml"));
    const r = run(["check", out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/its env file is gone \(removed since, or the output comes from another branch\): ashiya/);
  });

  test("a catalog entry changed since: the stacks that read it", () => {
    const out = path.join(tempDir(), "cdktf.out");
    const catalog = path.join(tempDir(), "catalog.yaml");
    const original = fs.readFileSync(path.join(REPO_ROOT, "catalog", "saas-catalog.yaml"), "utf8");
    fs.writeFileSync(catalog, original);
    run(["synth", "--out", out], { env: { ALPHA_PRIME_CATALOG: catalog } });
    expect(run(["check", out]).code).toBe(0);
    fs.writeFileSync(catalog, original.replace(/(- id: kintone[\s\S]*?\n  domains:\n)/, '$1    - "kintone-extra.example.com"\n'));
    const readers = ["aogashima", "ashiya", "kaga", "mitoyo"].filter((id) => catalogEntriesRead(parse(sampleText(id))).includes("kintone"));
    expect(readers.length).toBeGreaterThan(0);
    expect(run(["check", out]).err).toContain(`stack(s): catalog entry kintone changed since: ${readers.join(", ")}`);
  });

  test("the cdktf app (what `cdktf synth` runs) records its inputs too, and its output stays one alpha-prime may replace", () => {
    const out = path.join(tempDir(), "cdktf.out");
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "dist", "stacks", "main.js")], { env: { ...process.env, CDKTF_OUTDIR: out, ALPHA_PRIME_STACKS: "kaga" }, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(fs.readdirSync(out).sort()).toEqual(["inputs.json", "manifest.json", "stacks"]);
    expect(JSON.parse(fs.readFileSync(path.join(out, "inputs.json"), "utf8")).selection).toEqual({ kind: "only", ids: ["kaga"] });
    expect(run(["check", out])).toMatchObject({ code: 0, err: expect.stringMatching(/3 env file\(s\) have no stack in .* \(synthesized with --only\): aogashima, ashiya, mitoyo/) });
    expect(run(["synth", "--out", out]).code).toBe(0);
  });

  test("an output without a record is used with a warning that it cannot be judged", () => {
    const out = path.join(tempDir(), "cdktf.out");
    run(["synth", "--out", out]);
    fs.rmSync(path.join(out, "inputs.json"));
    const r = run(["check", out]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/WARNING: .* records no inputs \(inputs\.json\)/);
  });

  test("synth --only keeps the other stacks only while still current: none from another branch, none of a changed file", () => {
    const env = envWithSamples();
    const out = path.join(tempDir(), "cdktf.out");
    fs.writeFileSync(path.join(env, "m0000.yaml"), envTexts(1)["m0000.yaml"]);
    run(["--env-dir", env, "synth", "--out", out]);
    // back on a branch without m0000, where kaga says something else
    fs.rmSync(path.join(env, "m0000.yaml"));
    fs.writeFileSync(path.join(env, "kaga.yaml"), sampleText("kaga").replace("retentionDays: 365", "retentionDays: 400"));
    const r = run(["--env-dir", env, "synth", "--only", "mitoyo", "--out", out]);
    expect(r.out).toMatch(/2 other stack\(s\) kept, unchanged/);
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8")).stacks)).toEqual(["aogashima", "ashiya", "mitoyo"]);
    // what is missing is said, not taken for a removal: check warns, and refuses nothing
    const c = run(["check", out]);
    expect(c.code).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("incremental review between git revisions", () => {
  let copy: ToolkitCopy;
  let files: Record<string, string>;
  const cache = tempDir("alpha-prime-cache-");
  const inCopy = (args: string[], env: Record<string, string> = {}) => run(args, { cli: copy.cli, cwd: copy.root, env: { ALPHA_PRIME_CACHE_DIR: cache, ...env } });
  const edit = (rel: string, change: (t: string) => string) => fs.writeFileSync(path.join(copy.root, rel), change(fs.readFileSync(path.join(copy.root, rel), "utf8")));
  const diffJson = (...args: string[]) => {
    const r = inCopy(["diff", ...args, "--format", "json"]);
    expect(r.err).toBe("");
    return JSON.parse(r.out) as { municipalities: { id: string; status: string }[]; skipped?: { count: number; note: string } };
  };
  const changedOf = (report: { municipalities: { id: string; status: string }[] }) => report.municipalities.filter((m) => m.status !== "unchanged").map((m) => m.id);

  beforeAll(() => {
    files = envTexts(12);
    copy = copyToolkit(tempDir(), files);
  });

  test("one env file changed: only it is synthesized (on both sides), the rest is skipped and said so; the result equals the full diff", () => {
    edit("env/m0004.yaml", (t) => t.replace(/bandwidthTier: \S+/, "bandwidthTier: 10g"));
    copy.commit("m0004 on 10g");
    const inc = diffJson("HEAD~1", "HEAD");
    expect(changedOf(inc)).toEqual(["m0004"]);
    expect(inc.skipped).toEqual({ count: 11, note: expect.stringMatching(/^11 municipalities not synthesized: inputs identical in HEAD~1 \([0-9a-f]{8}\) and HEAD \([0-9a-f]{8}\)/) });
    const full = diffJson("HEAD~1", "HEAD", "--full");
    expect(full.skipped).toBeUndefined();
    // the same report: the skipped municipalities are the ones the full diff finds unchanged
    expect(inc.municipalities.map((m) => [m.id, m.status])).toEqual(full.municipalities.map((m) => [m.id, m.status]));
    expect(inc.municipalities.find((m) => m.id === "m0004")).toEqual(full.municipalities.find((m) => m.id === "m0004"));
    const md = inCopy(["diff", "HEAD~1", "HEAD"]).out;
    expect(md).toContain("11 municipalities not synthesized: inputs identical in HEAD~1");
    // a ref against the working tree's output (what the PR workflow runs): the ref's side only for what differs
    const out = path.join(copy.root, "cdktf.out");
    expect(inCopy(["synth", "--out", out]).code).toBe(0);
    const againstOutput = diffJson("HEAD~1", out);
    expect(againstOutput.skipped!.count).toBe(11);
    expect(againstOutput.municipalities.find((m) => m.id === "m0004")).toEqual(full.municipalities.find((m) => m.id === "m0004"));
    fs.rmSync(out, { recursive: true });
  });

  test("a comment or layout change synthesizes nothing; an added and a removed file are compared as such", () => {
    edit("env/m0005.yaml", (t) => `# reviewed\n${t}`);
    fs.writeFileSync(path.join(copy.root, "env", "m0099.yaml"), stringify(syntheticMunicipality(99, 12, "uniform")));
    fs.rmSync(path.join(copy.root, "env", "m0011.yaml"));
    copy.commit("a comment, one added, one removed");
    const r = diffJson("HEAD~1", "HEAD");
    expect(r.municipalities.filter((m) => m.status !== "unchanged").map((m) => [m.id, m.status])).toEqual([
      ["m0011", "removed"],
      ["m0099", "added"],
    ]);
    expect(r.skipped!.count).toBe(11);
    expect(r.skipped!.note).toMatch(/\(1 of them changed only in comments or layout\)/);
  });

  test("a catalog entry changed: exactly the municipalities that read it (one of them also commented: still changed)", () => {
    edit("catalog/saas-catalog.yaml", (t) => t.replace(/(- id: garoon[\s\S]*?\n  domains:\n)/, '$1    - "garoon-extra.example.com"\n'));
    const current = Object.fromEntries(fs.readdirSync(path.join(copy.root, "env")).filter((f) => f.endsWith(".yaml")).map((f) => [f, fs.readFileSync(path.join(copy.root, "env", f), "utf8")]));
    const readers = idsWhere(current, (d) => catalogEntriesRead(d).includes("garoon"));
    expect(readers.length).toBeGreaterThan(1);
    edit(`env/${readers[0]}.yaml`, (t) => `# garoon reviewed\n${t}`);
    copy.commit("garoon: one more domain");
    const changed = inCopy(["changed", "HEAD~1", "HEAD", "--format", "json"]);
    expect(JSON.parse(changed.out).changed).toEqual(readers.map((id) => ({ id, reason: "catalog entry garoon changed", sides: "both" })));
    const r = diffJson("HEAD~1", "HEAD");
    expect(r.skipped!.count).toBe(r.municipalities.length - readers.length);
    expect(changedOf(r)).toEqual(readers);
  });

  test("synth --changed-since with --base-out synthesizes each revision once; check and diff follow the same set", () => {
    edit("env/m0003.yaml", (t) => t.replace("noc@example.jp", "soc@example.jp"));
    const base = path.join(copy.root, ".alpha-prime", "base");
    const s = inCopy(["synth", "--changed-since", "HEAD", "--base-out", base]);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/synthesized 1 stack\(s\) changed since HEAD \([0-9a-f]{8}\) into cdktf\.out\/stacks and 1 of HEAD into .*: m0003\n  m0003: its env file changed\n11 municipalities not synthesized/);
    const out = path.join(copy.root, "cdktf.out");
    const c = inCopy(["check", out]);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/1 stack\(s\)/);
    const d = diffJson(base, out);
    expect(d.municipalities.map((m) => [m.id, m.status])).toEqual([["m0003", "changed"]]);
    expect(d.skipped!.count).toBe(11);
    // the same through git: what the working tree changes against HEAD, checked over the full output
    expect(inCopy(["synth", "--out", path.join(copy.root, "full.out")]).code).toBe(0);
    const cc = inCopy(["check", path.join(copy.root, "full.out"), "--changed-since", "HEAD"]);
    expect(cc.code).toBe(0);
    expect(cc.out).toMatch(/1 stack\(s\)/);
    expect(cc.err).toMatch(/check: 1 municipality changed since HEAD/);
    // a change after the selected output was made leaves it stale: another municipality has changed too
    edit("env/m0002.yaml", (t) => t.replace("noc@example.jp", "soc@example.jp"));
    const stale = inCopy(["check", out]);
    expect(stale.code).toBe(1);
    expect(stale.err).toMatch(/the municipalities changed since HEAD are no longer the ones it holds \(now also m0002\)/);
    copy.git("checkout", "--", "env");
    // nothing changed: outputs with no stack, which check and diff take for what they are
    expect(inCopy(["synth", "--changed-since", "HEAD", "--base-out", base]).out).toMatch(/^synthesized 0 stack\(s\) changed since HEAD/);
    expect(inCopy(["check", out])).toMatchObject({ code: 0, out: expect.stringMatching(/^\n?0 stack\(s\): 0 error/) });
    const none = inCopy(["diff", base, out]);
    expect(none.code).toBe(0);
    expect(none.out).toMatch(/No municipality changes \(0 compared\)\.\n\n12 municipalities not compared: 12 whose inputs did not change since HEAD/);
  });

  test("the PR workflow's steps, run as written: the synth job synthesizes the changed municipality only, once; the review job's check, diff and plans follow it", () => {
    // a pull request's checkout: the base branch as origin/main, the pull request's commit checked out
    edit("env/m0005.yaml", (t) => t.replace("noc@example.jp", "soc@example.jp"));
    copy.commit("m0005: another contact");
    copy.git("update-ref", "refs/remotes/origin/main", "HEAD~1");
    const workflow = parse(fs.readFileSync(path.join(copy.root, ".github", "workflows", "alpha-prime-pr.yml"), "utf8"));
    type Step = { run?: string; env?: Record<string, string>; "working-directory"?: string };
    const commands = (job: string) => (workflow.jobs[job].steps as Step[]).filter((st) => st.run?.startsWith("npx alpha-prime "));
    const all = [...commands("synth"), ...commands("review")];
    expect(all.filter((st) => / synth /.test(st.run!))).toHaveLength(1);
    // the review job runs the base branch's toolkit from its own checkout; here the base's toolkit is the head's (only
    // an env file changed), so a directory inside this repository stands for that checkout
    fs.mkdirSync(path.join(copy.root, ".alpha-prime-base"), { recursive: true });
    const gh = tempDir();
    const env: Record<string, string> = { BASE_REF: "main", GITHUB_OUTPUT: path.join(gh, "output"), GITHUB_STEP_SUMMARY: path.join(gh, "summary"), REPORT_URL: "https://github.invalid/run/1" };
    const results = new Map<string, ReturnType<typeof inCopy>>();
    for (const step of all) {
      const line = step.run!;
      const command = line.split(" ")[2];
      if (command === "pr-comment" && !line.includes("--summary-only")) continue; // posts through the API
      const stepEnv = { ...env, ...Object.fromEntries(Object.entries(step.env ?? {}).filter(([, v]) => !v.includes("${{"))) };
      // the steps' shell words: "$VAR" and $VAR from the step's environment, no other shell syntax (a test checks)
      const args = line.slice("npx alpha-prime ".length).split(" ").map((w) => w.replace(/^"(.*)"$/, "$1").replace(/\$([A-Z_]+)/g, (_, v) => stepEnv[v] ?? ""));
      const cwd = path.join(copy.root, step["working-directory"] ?? ".");
      const r = run(args, { cli: copy.cli, cwd, env: { ALPHA_PRIME_CACHE_DIR: cache, ...stepEnv } });
      results.set(command, r);
      expect({ line, code: r.code, err: r.code ? r.err : "" }).toEqual({ line, code: 0, err: "" });
    }
    expect(results.get("synth")!.out).toMatch(/^synthesized 1 stack\(s\) changed since origin\/main \([0-9a-f]{8}\) into cdktf\.out\/stacks in [0-9.]+ s: m0005\n/);
    expect(fs.readdirSync(path.join(copy.root, "cdktf.out", "stacks"))).toEqual(["m0005"]);
    expect(JSON.parse(fs.readFileSync(path.join(copy.root, "alpha-prime.sarif"), "utf8")).runs).toHaveLength(1);
    const report = JSON.parse(fs.readFileSync(path.join(copy.root, "alpha-prime-diff.json"), "utf8"));
    expect(changedOf(report)).toEqual(["m0005"]);
    expect(report.skipped.count).toBe(11);
    expect(report.base).toMatch(/^origin\/main \([0-9a-f]{8}\)$/);
    expect(fs.readFileSync(path.join(gh, "summary"), "utf8")).toContain("11 municipalities not");
    // the plan jobs get exactly the changed municipality, with the sha256 of the stack the review checked
    const wave = JSON.parse(/^wave1=(.*)$/m.exec(fs.readFileSync(path.join(gh, "output"), "utf8"))![1]);
    expect(wave.map((t: { id: string }) => t.id)).toEqual(["m0005"]);
    for (const f of ["cdktf.out", ".alpha-prime", ".alpha-prime-base", "alpha-prime.sarif", "alpha-prime-diff.json", "alpha-prime-diff.md"]) fs.rmSync(path.join(copy.root, f), { recursive: true, force: true });
  });

  test("the review job sees only the synth job's artifact beside the base's checkout: it still verifies the head's output and compares the changed municipality only, not the rest as removed", () => {
    edit("env/m0006.yaml", (t) => t.replace("noc@example.jp", "soc@example.jp"));
    copy.commit("m0006: another contact");
    copy.git("update-ref", "refs/remotes/origin/main", "HEAD~1");
    type Step = { run?: string; uses?: string; with?: { path?: string }; env?: Record<string, string>; "working-directory"?: string };
    const workflow = parse(fs.readFileSync(path.join(copy.root, ".github", "workflows", "alpha-prime-pr.yml"), "utf8"));
    const synthSteps = workflow.jobs.synth.steps as Step[];
    const words = (line: string, env: Record<string, string>) => line.slice("npx alpha-prime ".length).split(" ").map((w) => w.replace(/^"(.*)"$/, "$1").replace(/\$([A-Z_]+)/g, (_, v) => env[v] ?? ""));
    const env = { BASE_REF: "main" };
    const synth = synthSteps.find((st) => st.run?.startsWith("npx alpha-prime synth "))!;
    expect(run(words(synth.run!, env), { cli: copy.cli, cwd: copy.root, env: { ALPHA_PRIME_CACHE_DIR: cache } }).code).toBe(0);
    // the review job's workspace: exactly the paths the synth job uploads, and the base branch's checkout beside them
    // (here the same toolkit, which a directory of its own stands for: the CLI's repository is the copy)
    const ws = tempDir("alpha-prime-review-job-");
    const upload = synthSteps.find((st) => st.uses?.startsWith("actions/upload-artifact"))!;
    for (const rel of upload.with!.path!.split("\n").map((s) => s.trim()).filter(Boolean)) fs.cpSync(path.join(copy.root, rel), path.join(ws, rel), { recursive: true });
    fs.mkdirSync(path.join(ws, ".alpha-prime-base"));
    const review = (workflow.jobs.review.steps as Step[]).filter((st) => /^npx alpha-prime (check|diff) /.test(st.run ?? ""));
    const results = new Map<string, ReturnType<typeof run>>();
    for (const step of review) {
      const stepEnv = { ...env, ...Object.fromEntries(Object.entries(step.env ?? {}).filter(([, v]) => !v.includes("${{"))) };
      const args = words(step.run!, stepEnv);
      results.set(args[0], run(args, { cli: copy.cli, cwd: path.join(ws, step["working-directory"] ?? "."), env: { ALPHA_PRIME_CACHE_DIR: cache, ...stepEnv } }));
    }
    // nothing the review job cannot verify: no warning, and the verdict is the full diff's
    expect({ check: results.get("check")!.err, diff: results.get("diff")!.err }).toEqual({ check: "", diff: "" });
    expect(results.get("diff")!.code).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(ws, "alpha-prime-diff.json"), "utf8"));
    expect(report.municipalities.filter((m: { status: string }) => m.status !== "unchanged").map((m: { id: string }) => m.id)).toEqual(["m0006"]);
    // an artifact without the catalog: the output cannot be matched with its files, so its selection is not taken on
    // trust — and it is not compared whole either (every municipality it leaves out would read as removed)
    fs.rmSync(path.join(ws, "catalog"), { recursive: true });
    const blind = run(["diff", "HEAD~1", "../cdktf.out", "--format", "json"], { cli: copy.cli, cwd: path.join(ws, ".alpha-prime-base"), env: { ALPHA_PRIME_CACHE_DIR: cache } });
    expect({ code: blind.code, out: blind.out }).toEqual({ code: 1, out: "" });
    expect(blind.err).toMatch(/holds only the municipalities changed since origin\/main \(1\).*every other municipality would read as removed/s);
    fs.rmSync(path.join(copy.root, "cdktf.out"), { recursive: true, force: true });
  });

  test("a commit's env files are read as a checkout's: a second file of one id, an upper-case extension or a link is an error, not a file review leaves out", () => {
    const start = copy.git("rev-parse", "HEAD").trim();
    const envDir = path.join(copy.root, "env");
    fs.renameSync(path.join(envDir, "m0002.yaml"), path.join(envDir, "m0002.yml"));
    copy.commit("m0002 as .yml");
    // the risky change goes into a second file of the same municipality; the one review would read stays as it was
    fs.writeFileSync(path.join(envDir, "m0002.yaml"), fs.readFileSync(path.join(envDir, "m0002.yml"), "utf8").replace(/bandwidthTier: \S+/, "bandwidthTier: 10g"));
    copy.commit("m0002: a second file");
    const dup = inCopy(["changed", "HEAD~1", "HEAD", "--format", "json"]);
    expect({ code: dup.code, err: dup.err }).toEqual({ code: 2, err: expect.stringMatching(/municipality 'm0002' has two env files \(m0002\.yaml and m0002\.yml\)/) });
    copy.git("reset", "--quiet", "--hard", start);
    for (const [name, make] of [
      ["m0100.YAML", (f: string) => fs.copyFileSync(path.join(envDir, "m0003.yaml"), f)],
      ["m0101.yaml", (f: string) => fs.symlinkSync("m0003.yaml", f)],
    ] as const) {
      make(path.join(envDir, name));
      copy.commit(`${name} added`);
      const r = inCopy(["changed", "HEAD~1", "HEAD", "--format", "json"]);
      expect({ name, code: r.code, err: r.err }).toEqual({ name, code: 2, err: expect.stringContaining(name) });
      copy.git("reset", "--quiet", "--hard", start);
    }
  });

  test("a toolkit change changes every municipality; a tier row change only that tier's (the other revision built in a worktree)", () => {
    edit("constructs/operations.ts", (t) => `${t}\n// a change to a construct\n`);
    copy.commit("a construct changed");
    const all = JSON.parse(inCopy(["changed", "HEAD~1", "HEAD", "--format", "json"]).out);
    expect(all.unchanged).toBe(0);
    expect(all.changed[0].reason).toBe("the toolkit differs (constructs/operations.ts), so every stack may");
    copy.git("revert", "--no-edit", "HEAD");
    edit("constructs/bandwidth-tier.ts", (t) => t.replace(/tier\("5g", 5, \["c7g\.large", 1\]/, 'tier("5g", 5, ["c7g.xlarge", 1]'));
    copy.commit("5g relay one size up");
    const current = Object.fromEntries(fs.readdirSync(path.join(copy.root, "env")).filter((f) => f.endsWith(".yaml")).map((f) => [f, fs.readFileSync(path.join(copy.root, "env", f), "utf8")]));
    const on5g = idsWhere(current, (d) => d.bandwidthTier === "5g");
    // the row's relay instance type reaches only stacks with a relay; the others are synthesized and found equal
    const withRelay = idsWhere(current, (d) => d.bandwidthTier === "5g" && d.relay);
    expect(withRelay.length).toBeGreaterThan(0);
    expect(withRelay.length).toBeLessThan(on5g.length);
    const r = diffJson("HEAD~1", "HEAD");
    expect(r.skipped!.count).toBe(r.municipalities.length - on5g.length);
    expect(changedOf(r)).toEqual(withRelay);
    expect(spawnSync("git", ["worktree", "list", "--porcelain"], { cwd: copy.root, encoding: "utf8" }).stdout.match(/^worktree /gm)).toHaveLength(1);
  });
});
