/**
 * What determines a synthesized stack, and one digest of it (the stack's fingerprint): the key of the synth cache
 * (cli/stack-cache.ts), what `check` and `diff` compare to call an output stale (cli/output-record.ts), and the
 * basis of incremental review (review/revisions.ts). Two stacks with equal fingerprints are byte-identical, and so
 * are their manifest entries; tests prove it (test/incremental.test.ts).
 *
 * A stack is a function of, and only of:
 * - **its config**: the env file as the loader returns it, schema and loader defaults applied. Comments, layout,
 *   quoting and the file's location never reach a stack (`sourceFile` is for messages only), so they do not count;
 *   key order does (it reaches the order of some outputs), so it counts.
 * - **the catalog entries it reads** (catalogEntriesRead) — one municipality's stack does not change when a service
 *   it does not select does;
 * - **its row of the tier table** as evaluated, so editing the 10g row leaves 1g stacks valid;
 * - **the toolkit**: the source files synthesis loads (found by following imports from the synthesis entry points,
 *   the tier table's rows excepted since they count per stack), the env schema, tsconfig.json, the package
 *   version and lock file; and **the runtime**: Node's version, the installed versions of the packages that code
 *   imports, and the environment variables cdktf itself reads while synthesizing;
 * - the state bucket from ALPHA_PRIME_STATE_BUCKET, when the config names none.
 * The date reaches a stack only through suppression expiry, which validation checks on every run (never cached).
 *
 * The toolkit is identified by its sources as git sees them (path and blob id), so a git revision's toolkit can be
 * compared with the running one without building it. A build records the identity of the sources it compiled
 * (dist/prebuilt/toolkit.json, config/prebuilt.ts) with a digest of the compiled files; a dist/ changed since is
 * identified by its compiled files instead, never by sources it may not match.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { builtinModules } from "module";
import { REPO_ROOT } from "../core/paths";
import type { SaasCatalog } from "../catalog/saas-catalog";
import type { MunicipalityConfig } from "../config/types";
import { sourceBytesOf } from "../config/source-bytes";

/** Modules that synthesis starts from: the app (and, through it, config, stacks, constructs and policy) and the worker. */
export const SYNTH_ENTRY_MODULES = ["stacks/app", "cli/synth-worker"] as const;
/** The tier table's module: its rows are per-stack inputs, so it is left out of the toolkit's code. */
export const TIER_TABLE_MODULE = "constructs/bandwidth-tier";
/** Files besides the code that make the toolkit what it is (repository-relative). */
export const TOOLKIT_FILES = { schema: "env/municipality.schema.json", tsconfig: "tsconfig.json", lock: "package-lock.json", pkg: "package.json" } as const;
/** Environment variables cdktf reads while synthesizing that change what it writes (cdktf 0.21 lib/app.js, lib/terraform-stack.js). */
export const CDKTF_SYNTH_ENV = ["SYNTH_HCL_OUTPUT", "CDKTF_CONTEXT_JSON", "CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS"] as const;
/** Bumped when what a fingerprint covers changes, so records of the old kind never match. */
const FINGERPRINT_FORMAT = 1;

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** git's object id of a file's content (`git hash-object`), so working files and commits compare without git. */
export function gitBlobId(content: Buffer | string): string {
  const buf = typeof content === "string" ? Buffer.from(content) : content;
  return createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");
}

// ---------------------------------------------------------------------------------------------------------------
// The toolkit's sources: the modules synthesis loads, found by following imports.

/** Relative module specifiers (import … from, export … from, require(), import()) in TypeScript or compiled JavaScript. */
const RELATIVE_SPECIFIER = /(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\n]+)\1/g;
/** Package specifiers, for the runtime's installed versions. */
const PACKAGE_SPECIFIER = /(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*)(["'])([^."'\n/][^"'\n]*)\1/g;

/** A tree of files to follow imports in: a directory, or a git commit (review/revisions.ts). */
export interface SourceTree {
  has(rel: string): boolean;
  read(rel: string): Buffer;
  /** the file's git blob id (a commit knows it without reading the file) */
  blobId(rel: string): string;
}

export function directoryTree(root: string): SourceTree {
  return {
    has: (rel) => {
      try {
        return fs.statSync(path.join(root, rel)).isFile();
      } catch {
        return false;
      }
    },
    read: (rel) => fs.readFileSync(path.join(root, rel)),
    blobId: (rel) => gitBlobId(fs.readFileSync(path.join(root, rel))),
  };
}

/** The module specifiers a file imports (relative and package ones), as written. */
function specifiersIn(text: string): string[] {
  return [...new Set([...[...text.matchAll(RELATIVE_SPECIFIER)].map((m) => m[2]), ...[...text.matchAll(PACKAGE_SPECIFIER)].map((m) => m[2])])];
}

/** What a closure found per module: its blob id and the specifiers it imports (reused for an unchanged file). */
export type ModuleImports = Readonly<Record<string, { readonly blob: string; readonly imports: readonly string[] }>>;

/**
 * The modules reachable from the entry modules through relative imports (type-only imports included: over-counting
 * costs a cache miss, under-counting a wrong answer), repository-relative with their extension, sorted; and the
 * packages they import. A file whose blob is in `known` is not read again (a commit's unchanged files).
 */
export function moduleClosure(tree: SourceTree, entries: readonly string[], ext: ".ts" | ".js", known: ModuleImports = {}): { modules: string[]; packages: string[]; imports: ModuleImports } {
  const resolve = (spec: string): string | undefined => [`${spec}${ext}`, `${spec}/index${ext}`, spec].find((c) => tree.has(c));
  const imports: Record<string, { blob: string; imports: string[] }> = {};
  const packages = new Set<string>();
  const queue = entries.map((e) => resolve(e)).filter((e): e is string => e !== undefined);
  while (queue.length) {
    const file = queue.pop()!;
    if (file in imports) continue;
    const blob = tree.blobId(file);
    // data (a .json module) has no imports
    const specs = !file.endsWith(ext) ? [] : known[file]?.blob === blob ? [...known[file].imports] : specifiersIn(tree.read(file).toString("utf8"));
    imports[file] = { blob, imports: specs };
    for (const spec of specs) {
      if (spec.startsWith(".")) {
        // a specifier that resolves to nothing cannot be a module that runs (it would throw): text in a comment
        const found = resolve(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)));
        if (found && !(found in imports)) queue.push(found);
      } else if (!spec.startsWith("node:")) {
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
        if (!builtinModules.includes(name)) packages.add(name);
      }
    }
  }
  return { modules: Object.keys(imports).sort(), packages: [...packages].sort(), imports };
}

/** The toolkit as its sources define it. */
export interface SourceIdentity {
  /** digest of every module synthesis loads (path and blob id), the tier table's module excepted, the schema and tsconfig */
  readonly code: string;
  readonly version: string;
  /** git blob id of package-lock.json */
  readonly lock: string;
  /** git blob id of the tier table's module */
  readonly tierModule: string;
  /** the files the code digest covers, path → git blob id */
  readonly files: Readonly<Record<string, string>>;
  /** packages the modules import (their installed versions are part of the runtime) */
  readonly packages: readonly string[];
  /** per module, what it imports: lets a commit's identity be worked out reading only the files that differ */
  readonly imports: ModuleImports;
  /** git blob id of package.json (the version is read from it only when it differs) */
  readonly pkg: string;
}

/** The key, in SourceIdentity.files, of the tier table's module as code: everything in it but its table's rows. */
export const TIER_MODULE_CODE = `${TIER_TABLE_MODULE}.ts (outside its table's rows)`;
/** Where the table starts and ends in the tier module; and what a row may say (literals only, like the table's own). */
const TIER_TABLE_START = "export const BANDWIDTH_TIERS: readonly BandwidthTier[] = [";
const TIER_ROW = /^\s*(?:tier\("[a-z0-9]+", \d+(?:\.\d+)?, \["[a-z0-9]+\.[a-z0-9]+", \d+\], \["[a-z0-9]+\.[a-z0-9]+", \d+, \d+\], \d+\),)?\s*(?:\/\/.*)?$/;

/**
 * The tier module's code: its text with the table's rows left out, when every row is a call of `tier(…)` on
 * literals; else the whole text. Only rows may stay out of the code digest (their values count per stack, as
 * bandwidthTier(id) returns them): the rest of the module — bandwidthTier() itself, `tier()`, anything it runs when
 * loaded — is code like any other, and a change to it reaches every stack. Without this, a pull request could put
 * any code in this one file and neither the cache nor an incremental diff would see it.
 */
export function tierModuleCode(text: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l === TIER_TABLE_START);
  const end = lines.findIndex((l, i) => i > start && l === "];");
  if (start < 0 || end < 0 || lines.filter((l) => l === TIER_TABLE_START).length !== 1) return sha256(text);
  const rows = lines.slice(start + 1, end);
  if (!rows.every((l) => TIER_ROW.test(l))) return sha256(text);
  return sha256([...lines.slice(0, start + 1), "  /* rows */", ...lines.slice(end)].join("\n"));
}

/** The toolkit's identity from its sources; `known` (another identity) spares reading files with the same blob. */
export function sourceIdentity(tree: SourceTree, known?: SourceIdentity): SourceIdentity {
  const { modules, packages, imports } = moduleClosure(tree, SYNTH_ENTRY_MODULES, ".ts", known?.imports);
  const tier = `${TIER_TABLE_MODULE}.ts`;
  const blob = (rel: string) => (tree.has(rel) ? tree.blobId(rel) : "absent");
  const files: Record<string, string> = {};
  for (const rel of [...modules.filter((m) => m !== tier), TOOLKIT_FILES.schema, TOOLKIT_FILES.tsconfig].sort()) files[rel] = blob(rel);
  if (tree.has(tier)) files[TIER_MODULE_CODE] = known && known.tierModule === blob(tier) && known.files[TIER_MODULE_CODE] ? known.files[TIER_MODULE_CODE] : tierModuleCode(tree.read(tier).toString("utf8"));
  const pkg = blob(TOOLKIT_FILES.pkg);
  let version = "unknown";
  if (known && known.pkg === pkg) version = known.version;
  else {
    try {
      version = String(JSON.parse(tree.read(TOOLKIT_FILES.pkg).toString("utf8")).version);
    } catch {
      /* no package.json: "unknown" */
    }
  }
  return { code: digestOf(files), version, lock: blob(TOOLKIT_FILES.lock), tierModule: blob(tier), files, packages, imports, pkg };
}

function digestOf(files: Readonly<Record<string, string>>): string {
  return sha256(Object.keys(files).sort().map((k) => `${k} ${files[k]}\n`).join(""));
}

/** What `npm run build` records beside the compiled code (dist/prebuilt/toolkit.json). */
export interface BuildRecord {
  readonly source: SourceIdentity;
  /** digest of the compiled modules synthesis loads, as built */
  readonly dist: string;
}

export const BUILD_RECORD = path.join("prebuilt", "toolkit.json");

/** The digest of compiled modules under a dist/ directory that synthesis loads. */
export function distDigest(distRoot: string): string {
  const { imports } = moduleClosure(directoryTree(distRoot), SYNTH_ENTRY_MODULES, ".js");
  return digestOf(Object.fromEntries(Object.entries(imports).map(([m, x]) => [m, x.blob])));
}

/** Written by config/prebuilt.ts after the compiler ran: the sources this dist/ was compiled from. */
export function buildRecord(repoRoot = REPO_ROOT, distRoot = path.join(repoRoot, "dist")): BuildRecord {
  return { source: sourceIdentity(directoryTree(repoRoot)), dist: distDigest(distRoot) };
}

/** The running toolkit: the code of one code root (dist/, or the sources under ts-jest), as it synthesizes. */
export interface ToolkitIdentity {
  /** what stack records name: a digest of all below */
  readonly digest: string;
  readonly source: SourceIdentity;
  /** false when dist/ changed after its build record was written: then `source` names the compiled files instead */
  readonly verified: boolean;
  /** digest of Node's version, the installed versions of imported packages and cdktf's environment variables */
  readonly runtime: string;
}

const identities = new Map<string, ToolkitIdentity>();

/** Where the running code is (dist/ when compiled, the repository under ts-jest). */
export function runningCodeRoot(): string {
  return path.resolve(__dirname, "..");
}

/**
 * The identity of the toolkit whose code lives under `codeRoot`: the repository itself (sources run by ts-jest) or
 * a dist/ directory, identified by its build record when the compiled files still match it. Computed once per
 * process and code root (the environment variables cdktf reads are taken then).
 */
export function toolkitIdentity(codeRoot = runningCodeRoot(), repoRoot = REPO_ROOT): ToolkitIdentity {
  const key = `${codeRoot}\0${repoRoot}`;
  const known = identities.get(key);
  if (known) return known;
  let source: SourceIdentity;
  let verified = true;
  if (path.resolve(codeRoot) === path.resolve(repoRoot)) source = sourceIdentity(directoryTree(repoRoot));
  else {
    const now = distDigest(codeRoot);
    let record: BuildRecord | undefined;
    try {
      record = JSON.parse(fs.readFileSync(path.join(codeRoot, BUILD_RECORD), "utf8")) as BuildRecord;
    } catch {
      record = undefined;
    }
    if (record && record.dist === now) source = record.source;
    else {
      // compiled files nobody recorded the sources of (a `tsc` without the build's last step, an edited file):
      // identified by themselves, so they can never pass for a revision's sources
      verified = false;
      const tree = directoryTree(codeRoot);
      const { modules, packages, imports } = moduleClosure(tree, SYNTH_ENTRY_MODULES, ".js");
      const repo = directoryTree(repoRoot);
      const files: Record<string, string> = {};
      // compiled code is not split into rows and the rest: the tier module counts whole, like every module
      for (const m of modules) files[`dist:${m}`] = imports[m].blob;
      for (const rel of [TOOLKIT_FILES.schema, TOOLKIT_FILES.tsconfig]) files[rel] = repo.has(rel) ? repo.blobId(rel) : "absent";
      const own = sourceIdentity(repo);
      const tierJs = `${TIER_TABLE_MODULE}.js`;
      source = { code: digestOf(files), version: own.version, lock: own.lock, tierModule: tree.has(tierJs) ? `dist:${tree.blobId(tierJs)}` : "absent", files, packages, imports: {}, pkg: own.pkg };
    }
  }
  const runtime = sha256(JSON.stringify({ node: process.version, packages: installedVersions(source.packages, repoRoot), env: Object.fromEntries(CDKTF_SYNTH_ENV.map((v) => [v, process.env[v] ?? null])) }));
  const identity: ToolkitIdentity = { digest: sha256(JSON.stringify({ format: FINGERPRINT_FORMAT, code: source.code, version: source.version, lock: source.lock, runtime })), source, verified, runtime };
  identities.set(key, identity);
  return identity;
}

function installedVersions(packages: readonly string[], repoRoot: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of packages) {
    try {
      out[name] = String(JSON.parse(fs.readFileSync(path.join(repoRoot, "node_modules", name, "package.json"), "utf8")).version);
    } catch {
      out[name] = "absent";
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Per stack.

/** The part of a config that names catalog entries (the file's raw data has the same shape). */
export interface CatalogSelection {
  readonly breakout?: {
    readonly saas?: readonly unknown[];
    readonly tenants?: Readonly<Record<string, unknown>>;
    readonly tenantWaivers?: readonly { readonly saas?: unknown }[];
    readonly sanitization?: { readonly services?: readonly unknown[] };
  };
}

/**
 * The catalog entries a municipality's stack reads: its selected services, and any service its tenant values,
 * waivers or 無害化 name (validation keeps these within the selection; counting them too costs nothing).
 * test/incremental.test.ts records every catalog read while stacks are built and holds this function to it.
 */
export function catalogEntriesRead(config: CatalogSelection): string[] {
  const b = config.breakout ?? {};
  const ids = [...(b.saas ?? []), ...Object.keys(b.tenants ?? {}), ...(b.tenantWaivers ?? []).map((w) => w?.saas), ...(b.sanitization?.services ?? [])];
  return [...new Set(ids.filter((x): x is string => typeof x === "string"))].sort();
}

/** One catalog entry's digest ("absent" for an id the catalog does not have). */
export function catalogEntryDigest(catalog: SaasCatalog, id: string): string {
  return catalog.has(id) ? sha256(JSON.stringify(catalog.get(id))) : "absent";
}

/** The config as the stack receives it, without what never reaches the stack (its file's location). */
export function configDigest(config: MunicipalityConfig): string {
  return sha256(JSON.stringify({ ...config, sourceFile: undefined }));
}

/** Per stack: what it was synthesized from. Recorded in the output's inputs.json (cli/output-record.ts). */
export interface StackInputs {
  /** digest of everything below except the env file's bytes (comments and layout do not count) */
  readonly fingerprint: string;
  /** the toolkit's digest (ToolkitIdentity.digest) */
  readonly toolkit: string;
  readonly env: {
    /** the env file's name in its directory */
    readonly file: string;
    /** SHA-256 of the file's bytes: an unchanged file is recognised without parsing it */
    readonly sha256: string;
    /** digest of the config as loaded */
    readonly config: string;
  };
  /** catalog entry id → digest, for the entries the stack reads */
  readonly catalog: Readonly<Record<string, string>>;
  readonly tier: { readonly id: string; readonly sha256: string };
  /** the state bucket from the environment, when the config names none (null: none at all) */
  readonly stateBucket?: string | null;
}

/** Computes StackInputs for configs of one run: toolkit, catalog and tier digests are worked out once. */
export class InputsContext {
  private readonly entryDigests = new Map<string, string>();
  private readonly tierDigests = new Map<string, string>();
  private tierOf?: (id: string) => unknown;

  constructor(
    readonly toolkit: ToolkitIdentity,
    private readonly catalog: SaasCatalog,
    private readonly stateBucket: string | undefined,
    /** the code root whose tier table synthesizes (that of the toolkit) */
    private readonly codeRoot = runningCodeRoot(),
    /** the tier table's rows (default: that code root's) */
    tierOf?: (id: string) => unknown,
  ) {
    this.tierOf = tierOf;
  }

  entryDigest(id: string): string {
    let d = this.entryDigests.get(id);
    if (d === undefined) this.entryDigests.set(id, (d = catalogEntryDigest(this.catalog, id)));
    return d;
  }

  tierDigest(id: string): string {
    let d = this.tierDigests.get(id);
    if (d === undefined) {
      this.tierOf ??= (require(path.join(this.codeRoot, TIER_TABLE_MODULE)) as typeof import("../constructs/bandwidth-tier")).bandwidthTier;
      let row: unknown;
      try {
        row = this.tierOf(id);
      } catch {
        row = null; // an unknown tier: validation refuses it before any stack is built
      }
      this.tierDigests.set(id, (d = sha256(JSON.stringify(row))));
    }
    return d;
  }

  /** The inputs of one stack; `fileBytes` are the env file's bytes (default: those it was loaded from, else read again). */
  of(config: MunicipalityConfig, fileBytes?: Buffer): StackInputs {
    const bytes = fileBytes ?? sourceBytesOf(config) ?? fs.readFileSync(config.sourceFile);
    const catalog = Object.fromEntries(catalogEntriesRead(config).map((id) => [id, this.entryDigest(id)]));
    const tier = { id: config.bandwidthTier, sha256: this.tierDigest(config.bandwidthTier) };
    const envConfig = configDigest(config);
    // the config's own bucket is part of the config; the environment's reaches only stacks without one
    const stateBucket = config.state?.bucket ? undefined : this.stateBucket ?? null;
    const fingerprint = sha256(JSON.stringify({ format: FINGERPRINT_FORMAT, toolkit: this.toolkit.digest, config: envConfig, catalog, tier, stateBucket: stateBucket === undefined ? "(the config's)" : stateBucket }));
    return {
      fingerprint,
      toolkit: this.toolkit.digest,
      env: { file: path.basename(config.sourceFile), sha256: sha256(bytes), config: envConfig },
      catalog,
      tier,
      ...(stateBucket === undefined ? {} : { stateBucket }),
    };
  }
}
