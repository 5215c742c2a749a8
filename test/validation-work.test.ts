/**
 * The work the parent process of `synth` does per env file, done once where it can be (issue 25, the full national
 * synth's CPU): one YAML parse per file, catalog data worked out once per catalog, the allowlist's size counted
 * without the rest of it, the file read into a buffer of its size, its bytes digested as they were validated, and
 * the previous output removed by many calls at once. Each shortcut is held here to the answer of the long way.
 */
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { LineCounter, parseDocument } from "yaml";
import { writeSyntheticEnv } from "../bench/generate";
import { allowlistDomains, domainAllowlist } from "../catalog/allowlist";
import { covers, DomainPattern, formatDomainPattern, normalizeDomainPatterns } from "../catalog/domains";
import { SaasCatalog, SaasEntry } from "../catalog/saas-catalog";
import { beginOutput } from "../cli/output-dir";
import { composeDocument, INPUT_LIMITS, parseText, readEnvText, textShapeProblems } from "../config/env-input";
import { loadFiles, loadOrThrow } from "../config/load";
import { InputsContext, sha256, toolkitIdentity } from "../stacks/inputs";
import { ENV_DIR, sampleText, SAMPLE_IDS, tempDir } from "./helpers";

describe("one YAML parse per file", () => {
  const texts: Record<string, string> = {
    ...Object.fromEntries(SAMPLE_IDS.map((id) => [id, sampleText(id)])),
    empty: "",
    comments: "# only a comment\n# and another\n",
    twoDocuments: "id: a\n---\nid: b\n",
    threeDocuments: "a: 1\n---\nb: 2\n---\nc: 3\n",
    missingColon: "id: a\nname\n  x: 1\n",
    tab: "id: a\nnetwork:\n\tbreakoutCidr: 10.0.0.0/22\n",
    unclosed: 'id: "a\nname: b\n',
    flow: "breakout: { saas: [zoom, box], extraDomains: ['*.example.jp'] }\n",
    anchors: "a: &x 1\nb: *x\n",
    tags: "a: !!binary aGVsbG8=\nb: !custom x\n",
    duplicateKeys: "a: 1\na: 2\n",
    complexKey: "? [a, b]\n: 1\n",
    directive: "%YAML 1.2\n---\na: 1\n",
    documentEnd: "a: 1\n...\n",
    crlf: "id: a\r\nname: b\r\n",
    deepFlow: `${"[".repeat(40)}${"]".repeat(40)}\n`,
    scalars: "a: 0x1F\nb: 0o17\nc: .inf\nd: ~\ne: 1e3\nf: '2026-01-01'\ng: 2026-01-01\nh: |\n  two\n  lines\n",
  };

  test.each(Object.keys(texts))("%s: the document built from the shape check's tokens is yaml's parseDocument's", (name) => {
    const text = texts[name];
    const options = { uniqueKeys: false, prettyErrors: false } as const;
    const expected = parseDocument(text, { ...options, lineCounter: new LineCounter() });
    const parsed = parseText(text);
    const got = composeDocument(parsed, options);
    const errorsOf = (d: typeof got) => d.errors.map((e) => ({ code: e.code, pos: e.pos, message: e.message }));
    expect(errorsOf(got)).toEqual(errorsOf(expected));
    expect(got.warnings.map((w) => w.message)).toEqual(expected.warnings.map((w) => w.message));
    expect(got.range).toEqual(expected.range);
    expect(got.toJS({ maxAliasCount: -1 })).toEqual(expected.toJS({ maxAliasCount: -1 }));
    if (!got.errors.length) expect(got.toString()).toBe(expected.toString());
    // the line counter the parser filled is the one errors are located with
    expect(parsed.lineCounter.lineStarts).toEqual(lineStarts(text));
  });

  test("the shape check reads the tokens it is given, and finds the same as when it parses by itself", () => {
    const deep = `a: ${"[".repeat(INPUT_LIMITS.maxNesting + 5)}1${"]".repeat(INPUT_LIMITS.maxNesting + 5)}\n`;
    for (const text of [deep, texts.kaga, "a:\r  b\n"]) expect(textShapeProblems(text, "x.yaml", parseText(text))).toEqual(textShapeProblems(text, "x.yaml"));
    expect(textShapeProblems(deep, "x.yaml")[0].message).toMatch(/nested more than 32 levels/);
  });

  function lineStarts(text: string): number[] {
    const out = [0];
    for (let i = 0; i < text.length; i++) if (text[i] === "\n") out.push(i + 1);
    return out;
  }
});

describe("domain patterns are normalized in linear time, to the same list", () => {
  /** The definition: drop every pattern another (different) one covers, keep one of each text, sort. */
  function byDefinition(patterns: readonly DomainPattern[]): DomainPattern[] {
    const unique = new Map<string, DomainPattern>();
    for (const p of patterns) unique.set(formatDomainPattern(p), p);
    const all = [...unique.values()];
    const key = (p: DomainPattern) => p.name.split(".").reverse().join(".");
    return all
      .filter((p) => !all.some((q) => q !== p && covers(q, p) && !(covers(p, q) && formatDomainPattern(p) < formatDomainPattern(q))))
      .sort((a, b) => (key(a) !== key(b) ? (key(a) < key(b) ? -1 : 1) : Number(a.includeSubdomains) - Number(b.includeSubdomains)));
  }
  // few labels, so names often lie under one another; "a-b" and "ab" make neighbours that are not parents
  const label = fc.constantFrom("a", "b", "ab", "a-b", "c", "jp", "co", "com", "x1");
  const pattern = fc.record({ name: fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join(".")), includeSubdomains: fc.boolean() });

  test("equal to the pairwise definition, order included", () => {
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 40 }), (ps) => {
        expect(normalizeDomainPatterns(ps).map(formatDomainPattern)).toEqual(byDefinition(ps).map(formatDomainPattern));
      }),
      { numRuns: 2000, seed: 20261207 },
    );
  });

  test("normalizing parts first and then the whole gives what normalizing the whole gives (what allowlistDomains relies on)", () => {
    fc.assert(
      fc.property(fc.array(fc.array(pattern, { maxLength: 12 }), { maxLength: 5 }), (parts) => {
        const whole = normalizeDomainPatterns(parts.flat()).map(formatDomainPattern);
        expect(normalizeDomainPatterns(parts.flatMap((p) => normalizeDomainPatterns(p))).map(formatDomainPattern)).toEqual(whole);
      }),
      { numRuns: 1000, seed: 20261208 },
    );
  });
});

describe("the catalog's fixed data is worked out once per catalog", () => {
  const entries = () => JSON.parse(JSON.stringify(SaasCatalog.default().entries)) as SaasEntry[];
  const m365 = { tenantId: "00000000-1111-2222-3333-444444444444", policyId: "55555555-6666-7777-8888-999999999999", sharepointTenant: "mitoyocity" };

  test("a changed entry in another catalog changes its answers, and never the first catalog's (each catalog keeps its own)", () => {
    const first = SaasCatalog.fromEntries(entries());
    const before = first.resolveTenant("microsoft-365", m365);
    const beforeKintone = first.tenantDomains("kintone", { subdomains: ["mitoyo-city"] }).map(formatDomainPattern);
    const changed = entries();
    const e = changed.find((x) => x.id === "microsoft-365")! as unknown as { domains: string[]; tenantRestriction: { headers: { hosts: string[] }[] } };
    e.domains.push("*.added.example.com");
    e.tenantRestriction.headers[0].hosts.push("login.added.example.com");
    const k = changed.find((x) => x.id === "kintone")! as unknown as { tenantRestriction: { tenantHosts: { shared: string[] } } };
    k.tenantRestriction.tenantHosts.shared = [];
    const second = SaasCatalog.fromEntries(changed);
    expect(second.resolveTenant("microsoft-365", m365).domains.map(formatDomainPattern)).toContain("*.added.example.com");
    expect(second.resolveTenant("microsoft-365", m365).headers[0].hosts.map(formatDomainPattern)).toContain("login.added.example.com");
    expect(second.tenantDomains("kintone", { subdomains: ["mitoyo-city"] }).map(formatDomainPattern)).not.toContain("js.cybozu.com");
    expect(first.resolveTenant("microsoft-365", m365)).toEqual(before);
    expect(first.tenantDomains("kintone", { subdomains: ["mitoyo-city"] }).map(formatDomainPattern)).toEqual(beforeKintone);
    expect(beforeKintone).toContain("js.cybozu.com");
  });

  test("tenant values still decide: the municipality's own hosts replace the wildcard, per call", () => {
    const c = SaasCatalog.fromEntries(entries());
    const a = c.resolveTenant("microsoft-365", m365).domains.map(formatDomainPattern);
    const b = c.resolveTenant("microsoft-365", { ...m365, sharepointTenant: "kagacity" }).domains.map(formatDomainPattern);
    expect(a).toEqual(expect.arrayContaining(["mitoyocity.sharepoint.com", "mitoyocity-my.sharepoint.com"]));
    expect(b).toEqual(expect.arrayContaining(["kagacity.sharepoint.com", "kagacity-my.sharepoint.com"]));
    expect([...a, ...b]).not.toContain("*.sharepoint.com");
    expect(b.some((d) => d.startsWith("mitoyocity"))).toBe(false);
    // a waived mechanism (no values) keeps the wildcard
    expect(c.resolveTenant("microsoft-365", undefined).domains.map(formatDomainPattern)).toContain("*.sharepoint.com");
  });

  test("what a caller gets cannot change what the next caller gets: fresh lists, frozen shared patterns", () => {
    const c = SaasCatalog.fromEntries(entries());
    const first = c.resolveTenant("microsoft-365", m365);
    const expected = JSON.parse(JSON.stringify(first));
    first.domains.push({ name: "evil.example.com", includeSubdomains: true });
    first.headers[0].hosts.length = 0;
    c.tenantDomains("zoom", undefined).pop();
    expect(c.resolveTenant("microsoft-365", m365)).toEqual(expected);
    expect(c.tenantDomains("zoom", undefined).length).toBe(c.get("zoom").domains.length);
    const shared = c.resolveTenant("zoom", undefined).domains[0];
    expect(Object.isFrozen(shared)).toBe(true);
    expect(() => {
      (shared as { name: string }).name = "evil.example.com";
    }).toThrow(TypeError);
  });

  test("tenant value patterns, compiled once, judge every call alike", () => {
    const c = SaasCatalog.fromEntries(entries());
    const bad = { requester: "not an id", allowedWorkspaces: ["T0123456789", "bad"] };
    const first = c.tenantValueProblems("slack", bad);
    expect(first.length).toBe(2);
    expect(c.tenantValueProblems("slack", bad)).toEqual(first);
    expect(c.tenantValueProblems("slack", { requester: "E0123456789", allowedWorkspaces: ["T0123456789"] })).toEqual([]);
  });

  test("the allowlist's names counted by themselves are the allowlist's names (samples and 120 bench municipalities)", () => {
    const dir = tempDir();
    writeSyntheticEnv(dir, 120, "uniform");
    const configs = [...loadOrThrow(fs.readdirSync(ENV_DIR).filter((f) => f.endsWith(".yaml")).map((f) => path.join(ENV_DIR, f))), ...loadOrThrow(fs.readdirSync(dir).map((f) => path.join(dir, f)))];
    for (const c of configs) expect(allowlistDomains(c).map(formatDomainPattern)).toEqual(domainAllowlist(c).domains.map(formatDomainPattern));
  });
});

describe("reading an env file", () => {
  afterEach(() => jest.restoreAllMocks());

  test.each([0, 1, 4095, 4096, 8193, INPUT_LIMITS.maxFileBytes])("%i bytes: read whole, byte for byte", (size) => {
    const file = path.join(tempDir(), "a.yaml");
    const bytes = Buffer.alloc(size, "a");
    fs.writeFileSync(file, bytes);
    const r = readEnvText(file);
    if ("issue" in r) throw new Error(r.issue.message);
    expect(r.bytes.equals(bytes)).toBe(true);
    expect(r.text.length).toBe(size);
  });

  test("one byte over the limit is refused", () => {
    const file = path.join(tempDir(), "a.yaml");
    fs.writeFileSync(file, Buffer.alloc(INPUT_LIMITS.maxFileBytes + 1, "a"));
    expect("issue" in readEnvText(file)).toBe(true);
  });

  test("a file that grew after it was measured is read whole, or refused as grown once over the limit", () => {
    const dir = tempDir();
    const grown = path.join(dir, "grown.yaml");
    fs.writeFileSync(grown, `id: grown\n# ${"x".repeat(100_000)}\n`);
    const huge = path.join(dir, "huge.yaml");
    fs.writeFileSync(huge, Buffer.alloc(INPUT_LIMITS.maxFileBytes + 10, "a"));
    const lstat = fs.lstatSync;
    // as if each file had been 10 bytes when it was measured (on the module itself: `import *` gives getters only)
    jest.spyOn(require("fs") as typeof fs, "lstatSync").mockImplementation(((p: fs.PathLike) => Object.assign(lstat(p), { size: 10 })) as typeof fs.lstatSync);
    const r = readEnvText(grown);
    if ("issue" in r) throw new Error(r.issue.message);
    expect(r.bytes.equals(fs.readFileSync(grown))).toBe(true);
    const h = readEnvText(huge);
    expect("issue" in h && h.issue.message).toMatch(/larger than 262144 bytes \(it grew while being read\)/);
  });
});

describe("a stack's inputs digest the bytes that were validated", () => {
  test("a file changed after loading does not change the recorded digest of the file the config came from", () => {
    const dir = tempDir();
    const file = path.join(dir, "kaga.yaml");
    const text = sampleText("kaga");
    fs.writeFileSync(file, text);
    const [config] = loadOrThrow([file]);
    fs.writeFileSync(file, `${text}# edited after validation\n`);
    const inputs = new InputsContext(toolkitIdentity(), SaasCatalog.default(), undefined).of(config);
    expect(inputs.env.sha256).toBe(sha256(Buffer.from(text)));
    // a config the loader did not make (a copy) is digested from its file, as before
    const copy = { ...config };
    expect(new InputsContext(toolkitIdentity(), SaasCatalog.default(), undefined).of(copy).env.sha256).toBe(sha256(fs.readFileSync(file)));
  });

  test("bad input yields no config to digest, as before", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "kaga.yaml"), sampleText("kaga").replace(/^population: .*$/m, "population: many"));
    expect(loadFiles([path.join(dir, "kaga.yaml")]).configs).toEqual([]);
  });
});

describe("the previous output is removed after the swap, never restored once it is garbage", () => {
  const listing = (dir: string) => fs.readdirSync(dir).sort();

  function outputWith(root: string, marker: string, files: number): string {
    const out = path.join(root, "cdktf.out");
    fs.mkdirSync(path.join(out, "stacks"), { recursive: true });
    fs.writeFileSync(path.join(out, marker), "x\n");
    for (let i = 0; i < files; i++) {
      fs.mkdirSync(path.join(out, "stacks", `m${i}`));
      fs.writeFileSync(path.join(out, "stacks", `m${i}`, "cdk.tf.json"), `{"old": ${i}}\n`);
    }
    return out;
  }

  test("commitInBackground: the new output is in place when it returns, the old one gone when it settles, nothing left beside it", async () => {
    const root = tempDir();
    const out = outputWith(root, ".m", 50);
    const tx = beginOutput(out, ".m");
    fs.writeFileSync(path.join(tx.staging, "new.txt"), "new\n");
    const removed = tx.commitInBackground();
    expect(fs.readFileSync(path.join(out, "new.txt"), "utf8")).toBe("new\n");
    expect(fs.existsSync(path.join(out, "stacks"))).toBe(false);
    await removed;
    tx.release();
    expect(listing(root)).toEqual(["cdktf.out"]);
    expect(listing(out)).toEqual([".m", "new.txt"]);
  });

  test("the previous output of a run that died while removing it is removed by the next run, and never put back in place", () => {
    const root = tempDir();
    const out = outputWith(root, ".m", 3);
    // as left by a run (a pid above any pid_max: gone) killed part-way through removing it, with the output then removed by hand
    fs.renameSync(out, `${out}.trash-99999999-abc`);
    fs.rmSync(path.join(`${out}.trash-99999999-abc`, "stacks", "m1"), { recursive: true });
    const tx = beginOutput(out, ".m");
    expect(fs.existsSync(out)).toBe(false); // not taken for the output
    expect(listing(root).filter((n) => n.includes(".trash-"))).toEqual([]);
    tx.release();
  });

  test("a name beside the output that no run makes (no process id in it) is someone else's: neither removed nor put in place", () => {
    const root = tempDir();
    const out = outputWith(root, ".m", 1);
    // every name a run leaves carries its pid (<out>.staging-<pid>-*, <out>.old-<pid>, <out>.trash-<pid>-*); these do not
    fs.mkdirSync(`${out}.trash-keep`);
    fs.writeFileSync(path.join(`${out}.trash-keep`, "notes.txt"), "a person's\n");
    fs.writeFileSync(`${out}.trash-notes.txt`, "a person's\n");
    fs.mkdirSync(`${out}.staging-area`);
    const tx = beginOutput(out, ".m");
    tx.release();
    expect(listing(root)).toEqual(["cdktf.out", "cdktf.out.staging-area", "cdktf.out.trash-keep", "cdktf.out.trash-notes.txt"]);
    expect(fs.readFileSync(path.join(`${out}.trash-keep`, "notes.txt"), "utf8")).toBe("a person's\n");
    // with no output in place, a backup named like a previous output is not taken for one
    const other = tempDir();
    fs.mkdirSync(path.join(other, "cdktf.out.old-backup"));
    fs.writeFileSync(path.join(other, "cdktf.out.old-backup", "mine.txt"), "x\n");
    const tx2 = beginOutput(path.join(other, "cdktf.out"), ".m");
    tx2.release();
    expect(listing(other)).toEqual(["cdktf.out.old-backup"]);
  });

  test("a run's own removal in progress is left to it by another run", () => {
    const root = tempDir();
    const out = outputWith(root, ".m", 1);
    const other = path.join(root, `cdktf.out.trash-${process.ppid}-x`); // a live process (jest's parent)
    fs.mkdirSync(other);
    const tx = beginOutput(out, ".m");
    tx.release();
    expect(fs.existsSync(other)).toBe(true);
  });
});
