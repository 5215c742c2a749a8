/**
 * Incremental review: which municipalities' inputs differ between two revisions, and synthesizing only those.
 *
 * A revision is a git commit, or files on disk (the working tree: an env directory and a catalog, synthesized by
 * the running toolkit). Its inputs are compared as stacks/inputs.ts defines them, but read from git where they can
 * be: env files by blob id (an identical blob needs no parsing), the catalog by entry, the toolkit by the blob ids
 * of the sources synthesis loads. A municipality is synthesized on both sides only when something that reaches its
 * stack differs: its env file (beyond comments and layout), a catalog entry it reads, its tier row, or the toolkit
 * (then every municipality). Everything else is skipped, and the report says how many and why.
 *
 * A side is synthesized by the running toolkit when its sources are the ones this build was compiled from (so no
 * worktree and no compile, and the synth cache applies); otherwise in a temporary git worktree, compiled there,
 * for the selected municipalities only. Worktrees and temporary files are removed at the end, on SIGINT/SIGTERM,
 * and (for runs that were killed) by the next run.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processAlive } from "../cli/output-dir";
import { CATALOG_PATH, SaasCatalog } from "../catalog/saas-catalog";
import { listEnvDirectory } from "../config/env-input";
import { ConfigError } from "../core/errors";
import { defaultEnvDir, REPO_ROOT } from "../core/paths";
import { catalogEntriesRead, catalogEntryDigest, CatalogSelection, gitBlobId, runningCodeRoot, SourceIdentity, sourceIdentity, SourceTree, TIER_TABLE_MODULE, toolkitIdentity } from "../stacks/inputs";
import { catalogFileInEffect, readInputsRecord, Selection } from "../stacks/output-record";

// ---------------------------------------------------------------------------------------------------------------
// Git.

function git(repo: string, args: string[], input?: string): Buffer {
  return execFileSync("git", args, { cwd: repo, input, maxBuffer: 1 << 30, stdio: ["pipe", "pipe", "pipe"] });
}

/** The commit a ref names, or undefined. */
export function resolveCommit(ref: string, repo = REPO_ROOT): string | undefined {
  const r = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd: repo, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** A commit's files, read through one `git ls-tree` and batched `git cat-file`. */
class CommitTree implements SourceTree {
  private readonly blobs = new Map<string, string>();
  private readonly contents = new Map<string, Buffer>();
  /** paths that are not regular files (links, submodules): no source, but an env directory must not hold them */
  readonly irregular = new Set<string>();

  constructor(
    private readonly repo: string,
    readonly commit: string,
  ) {
    const out = git(repo, ["ls-tree", "-r", "-z", "--full-tree", commit]).toString("utf8");
    for (const line of out.split("\0")) {
      const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(line);
      // regular files only: env-input refuses anything else, and a link is no source
      if (m && m[2] === "blob" && (m[1] === "100644" || m[1] === "100755")) this.blobs.set(m[4], m[3]);
      else if (m) this.irregular.add(m[4]);
    }
  }

  has(rel: string): boolean {
    return this.blobs.has(rel);
  }

  blobId(rel: string): string {
    const b = this.blobs.get(rel);
    if (!b) throw new Error(`${rel} is not in ${this.commit}`);
    return b;
  }

  blob(rel: string): string | undefined {
    return this.blobs.get(rel);
  }

  paths(): string[] {
    return [...this.blobs.keys()];
  }

  read(rel: string): Buffer {
    const cached = this.contents.get(rel);
    if (cached) return cached;
    // a source file read is seldom the last: read every source of its kind in the same batch
    const ext = path.posix.extname(rel);
    this.prefetch(ext === ".ts" ? this.paths().filter((p) => p.endsWith(".ts") && !p.startsWith("node_modules/")) : [rel]);
    const data = this.contents.get(rel);
    if (!data) throw new Error(`${rel} is not in ${this.commit}`);
    return data;
  }

  /** Reads many files in one `git cat-file --batch`. */
  prefetch(rels: readonly string[]): void {
    const wanted = [...new Set(rels)].filter((r) => this.blobs.has(r) && !this.contents.has(r));
    if (!wanted.length) return;
    const out = git(this.repo, ["cat-file", "--batch"], wanted.map((r) => this.blobs.get(r)).join("\n") + "\n");
    let at = 0;
    for (const rel of wanted) {
      const nl = out.indexOf(0x0a, at);
      const header = out.subarray(at, nl).toString("utf8").split(" ");
      const size = Number(header[2]);
      if (header[1] !== "blob" || !Number.isInteger(size)) throw new Error(`git cat-file: unexpected answer for ${rel}: ${header.join(" ")}`);
      this.contents.set(rel, out.subarray(nl + 1, nl + 1 + size));
      at = nl + 1 + size + 1;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Revisions.

/** One side of a comparison: what reaches each municipality's stack in it. */
export interface RevisionView {
  readonly label: string;
  /** a commit (with the ref the user gave), or files on disk */
  readonly commit?: { readonly ref: string; readonly sha: string };
  readonly identity: SourceIdentity;
  /** municipality id → env file name and blob id */
  readonly env: ReadonlyMap<string, { readonly name: string; readonly blob: string }>;
  readonly catalogBlob: string;
  envText(id: string): Buffer;
  /** reads the env files of `ids` at once (a commit's: one `git cat-file`) */
  prefetchEnv(ids: readonly string[]): void;
  catalogText(): string;
  /** files on disk: the env directory and catalog file */
  readonly files?: { readonly envDir: string; readonly catalogFile: string };
  /** a commit: its tree (for the toolkit's sources) and where its env files are */
  readonly tree?: CommitTree;
  readonly envRel?: string;
}

const ENV_FILE = /^[^/]+\.ya?ml$/;

/** Where env files live inside the repository, for reading them from commits. */
function envDirInRepo(envDir: string, repo: string): string {
  const rel = path.relative(repo, path.resolve(envDir));
  if (rel.startsWith("..") || path.isAbsolute(rel)) throw new Error(`the env directory ${envDir} is outside the repository ${repo}: git revisions cannot be read from it`);
  return rel.split(path.sep).join("/");
}

function insideRepo(dir: string, repo = REPO_ROOT): boolean {
  const rel = path.relative(repo, path.resolve(dir));
  return !rel.startsWith("..") && !path.isAbsolute(rel);
}

export function commitView(ref: string, options: { repo?: string; envDir?: string } = {}): RevisionView {
  const repo = options.repo ?? REPO_ROOT;
  const sha = resolveCommit(ref, repo);
  if (!sha) throw new Error(`'${ref}' is neither a synthesized output directory nor a git commit of ${repo}`);
  const tree = new CommitTree(repo, sha);
  const envRel = envDirInRepo(options.envDir ?? defaultEnvDir(), repo);
  const env = new Map<string, { name: string; blob: string }>();
  const prefix = envRel ? `${envRel}/` : "";
  // The commit's env files as listEnvDirectory lists a checkout's (config/env-input.ts): a name it refuses is refused
  // here too. Left out silently, it would be a file the checkout (and so the deploy) reads but review never saw —
  // `x.yml` kept beside a changed `x.yaml` compared as "unchanged" — or one the deploy refuses after review passed.
  const problems: string[] = [];
  for (const p of [...tree.paths(), ...tree.irregular].sort()) {
    if (!p.startsWith(prefix)) continue;
    const name = p.slice(prefix.length);
    if (name.includes("/") || !/\.ya?ml$/i.test(name)) continue;
    const id = name.replace(/\.ya?ml$/i, "");
    if (!ENV_FILE.test(name)) problems.push(`${name}: env files end in .yaml or .yml (lowercase)`);
    else if (tree.irregular.has(p)) problems.push(`${name}: not a regular file (a link or a submodule)`);
    else if (env.has(id)) problems.push(`municipality '${id}' has two env files (${env.get(id)!.name} and ${name})`);
    else env.set(id, { name, blob: tree.blob(p)! });
  }
  if (problems.length) throw new Error(`${ref} (${sha.slice(0, 8)}): its env directory ${envRel || "."} cannot be read as the checkout would be: ${problems.join("; ")}`);
  const catalogRel = path.relative(repo, CATALOG_PATH).split(path.sep).join("/");
  return {
    label: `${ref} (${sha.slice(0, 8)})`,
    commit: { ref, sha },
    // files with the blob the running toolkit's have are not read: the common case reads none
    identity: sourceIdentity(tree, toolkitIdentity().source),
    env,
    catalogBlob: tree.blob(catalogRel) ?? "absent",
    envText: (id) => tree.read(`${prefix}${env.get(id)!.name}`),
    prefetchEnv: (ids) => tree.prefetch(ids.filter((id) => env.has(id)).map((id) => `${prefix}${env.get(id)!.name}`)),
    catalogText: () => (tree.has(catalogRel) ? tree.read(catalogRel).toString("utf8") : ""),
    tree,
    envRel,
  };
}

/** The env directory and catalog on disk, as the running toolkit synthesizes them. */
export function filesView(envDir = defaultEnvDir(), catalogFile = catalogFileInEffect(), label = "working tree"): RevisionView {
  const listing = listEnvDirectory(envDir);
  if (listing.issues.length) throw new ConfigError(listing.issues);
  const env = new Map<string, { name: string; blob: string }>();
  const texts = new Map<string, Buffer>();
  for (const f of listing.files) {
    const bytes = fs.readFileSync(f);
    const id = path.basename(f).replace(/\.ya?ml$/, "");
    env.set(id, { name: path.basename(f), blob: gitBlobId(bytes) });
    texts.set(id, bytes);
  }
  const catalog = fs.existsSync(catalogFile) ? fs.readFileSync(catalogFile, "utf8") : "";
  return {
    label,
    identity: toolkitIdentity().source,
    env,
    catalogBlob: catalog ? gitBlobId(catalog) : "absent",
    envText: (id) => texts.get(id)!,
    prefetchEnv: () => undefined,
    catalogText: () => catalog,
    files: { envDir: path.resolve(envDir), catalogFile: path.resolve(catalogFile) },
  };
}

/** Whether the toolkit whose code is under `codeRoot` synthesizes exactly what this revision's own toolkit would. */
export function runsHere(view: RevisionView, codeRoot = runningCodeRoot()): boolean {
  if (view.files) return true;
  const running = toolkitIdentity(codeRoot);
  const a = view.identity;
  const b = running.source;
  return running.verified && a.code === b.code && a.version === b.version && a.lock === b.lock && a.tierModule === b.tierModule;
}

/** The compiled toolkit the CLI runs (what a child `alpha-prime synth` runs, also under ts-jest). */
const CLI_CODE_ROOT = path.join(REPO_ROOT, "dist");

// ---------------------------------------------------------------------------------------------------------------
// What changed.

export interface Change {
  readonly id: string;
  readonly reason: string;
  /** where the municipality exists: on both sides, or only in base (removed) or head (added) */
  readonly sides: "both" | "base" | "head";
}

export interface ChangeSet {
  readonly base: string;
  readonly head: string;
  /** municipalities to synthesize on both sides, with why */
  readonly changed: Change[];
  /** municipalities whose inputs are the same on both sides */
  readonly unchanged: string[];
  /** how many of the unchanged differ in their env file's text only (comments, layout) */
  readonly textOnly: number;
}

function toolkitDifference(a: SourceIdentity, b: SourceIdentity): string | undefined {
  const parts: string[] = [];
  if (a.version !== b.version) parts.push(`version ${a.version} → ${b.version}`);
  if (a.lock !== b.lock) parts.push("package-lock.json");
  if (a.code !== b.code) {
    const files = [...new Set([...Object.keys(a.files), ...Object.keys(b.files)])].filter((f) => a.files[f] !== b.files[f]).sort();
    parts.push(files.length ? (files.length > 5 ? `${files.slice(0, 5).join(", ")} and ${files.length - 5} more` : files.join(", ")) : "its code");
  }
  return parts.length ? `the toolkit differs (${parts.join("; ")}), so every stack may` : undefined;
}

/** The catalog's entries, id → digest (validated as every catalog is; a side whose catalog fails to load says so). */
function catalogDigests(view: RevisionView): Map<string, string> {
  const text = view.catalogText();
  if (!text) return new Map();
  const catalog = SaasCatalog.fromText(text, `${view.label}: catalog`);
  return new Map(catalog.entries.map((e) => [e.id, catalogEntryDigest(catalog, e.id)]));
}

/** The tier table's rows as the revision's toolkit evaluates them (built where it does not run here). */
function tierRows(view: RevisionView, builds: Builds): Map<string, string> {
  const root = runsHere(view) ? runningCodeRoot() : path.join(builds.of(view), "dist");
  const mod = require(path.join(root, TIER_TABLE_MODULE)) as typeof import("../constructs/bandwidth-tier");
  // each row as bandwidthTier(id) returns it, as a stack's fingerprint takes it (InputsContext.tierDigest)
  return new Map(mod.BANDWIDTH_TIERS.map((t) => [t.id, JSON.stringify(mod.bandwidthTier(t.id))]));
}

/** The parts of an env file that name catalog entries and its tier, read without the loader (raw YAML). */
function rawSelection(text: string): CatalogSelection & { bandwidthTier?: unknown } {
  const { parse } = require("yaml") as typeof import("yaml");
  try {
    const data = parse(text, { maxAliasCount: 0 }) as unknown;
    return data && typeof data === "object" ? (data as CatalogSelection & { bandwidthTier?: unknown }) : {};
  } catch {
    return {};
  }
}

/**
 * An env file's data as the loader reads it (YAML to JSON, key order kept), or undefined when the loader would
 * refuse the file before its schema runs (size, encoding, syntax, tags, anchors, duplicate keys, characters). With
 * the same toolkit on both sides, equal data load to equal configs, so a change of comments or layout is no change;
 * the schema and the rest of validation need not run (nor be loaded) to know that.
 */
function envData(view: RevisionView, id: string, scratch: Scratch): string | undefined {
  const { documentProblems, readEnvText, textProblems } = require("../config/env-input") as typeof import("../config/env-input");
  const { LineCounter, parseDocument } = require("yaml") as typeof import("yaml");
  const file = path.join(scratch.dir(`text-${scratch.next()}`), view.env.get(id)!.name);
  fs.writeFileSync(file, view.envText(id));
  const read = readEnvText(file);
  if ("issue" in read) return undefined;
  const lineCounter = new LineCounter();
  const doc = parseDocument(read.text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length || documentProblems(doc, lineCounter, file).length) return undefined;
  const data = doc.toJS({ maxAliasCount: 0 }) as unknown;
  return textProblems(data).length ? undefined : JSON.stringify(data);
}

/**
 * The municipalities whose inputs differ between two revisions. Env files are compared by blob id, then as the
 * loader reads them, so a comment or layout change is no change; the catalog by entry, looked up only in files
 * that can name a changed entry; the tier table by row; the toolkit by its sources (a difference there changes
 * every municipality).
 */
export function changedMunicipalities(base: RevisionView, head: RevisionView, scratch: Scratch, builds: Builds): ChangeSet {
  const ids = [...new Set([...base.env.keys(), ...head.env.keys()])].sort();
  const sidesOf = (id: string): Change["sides"] => (!base.env.has(id) ? "head" : !head.env.has(id) ? "base" : "both");
  const toolkit = toolkitDifference(base.identity, head.identity);
  if (toolkit) return { base: base.label, head: head.label, changed: ids.map((id) => ({ id, reason: toolkit, sides: sidesOf(id) })), unchanged: [], textOnly: 0 };
  const catalogChanged = new Set<string>();
  if (base.catalogBlob !== head.catalogBlob) {
    const a = catalogDigests(base);
    const b = catalogDigests(head);
    for (const id of new Set([...a.keys(), ...b.keys()])) if (a.get(id) !== b.get(id)) catalogChanged.add(id);
  }
  const tierChanged = new Set<string>();
  if (base.identity.tierModule !== head.identity.tierModule) {
    const a = tierRows(base, builds);
    const b = tierRows(head, builds);
    for (const id of new Set([...a.keys(), ...b.keys()])) if (a.get(id) !== b.get(id)) tierChanged.add(id);
  }
  const changed: Change[] = [];
  const unchanged: string[] = [];
  let textOnly = 0;
  const differing = ids.filter((id) => base.env.has(id) && head.env.has(id) && base.env.get(id)!.blob !== head.env.get(id)!.blob);
  base.prefetchEnv(differing);
  head.prefetchEnv(catalogChanged.size || tierChanged.size ? ids : differing);
  for (const id of ids) {
    const a = base.env.get(id);
    const b = head.env.get(id);
    if (!a) {
      changed.push({ id, reason: "added", sides: "head" });
      continue;
    }
    if (!b) {
      changed.push({ id, reason: "removed", sides: "base" });
      continue;
    }
    const textChanged = a.blob !== b.blob;
    if (textChanged) {
      const before = envData(base, id, scratch);
      if (before === undefined || before !== envData(head, id, scratch)) {
        changed.push({ id, reason: "its env file changed", sides: "both" });
        continue;
      }
    }
    // the same data on both sides: what it reads of the catalog and the tier table may still differ
    const why = catalogChanged.size || tierChanged.size ? sharedInputChange(head.envText(id).toString("utf8"), catalogChanged, tierChanged) : undefined;
    if (why) changed.push({ id, reason: why, sides: "both" });
    else {
      unchanged.push(id);
      if (textChanged) textOnly++;
    }
  }
  return { base: base.label, head: head.label, changed, unchanged, textOnly };
}

/**
 * Why a municipality whose env data is the same on both sides changes anyway: a changed catalog entry it reads, or
 * a changed row of its tier. A catalog id reaches a config only as written (the schema gives none a default), so a
 * file whose text spells no changed id — and has no escape, the one way to spell it otherwise — is not parsed;
 * its tier is read from every file when a row changed (a tier the file does not state counts as changed).
 */
function sharedInputChange(text: string, catalogChanged: ReadonlySet<string>, tierChanged: ReadonlySet<string>): string | undefined {
  const spells = text.includes("\\") || [...catalogChanged].some((w) => text.includes(w));
  if (!spells && !tierChanged.size) return undefined;
  const raw = rawSelection(text);
  const entries = catalogEntriesRead(raw).filter((e) => catalogChanged.has(e));
  if (entries.length) return `catalog ${entries.length === 1 ? "entry" : "entries"} ${entries.join(", ")} changed`;
  if (!tierChanged.size) return undefined;
  if (typeof raw.bandwidthTier !== "string") return "the tier table changed, and its tier could not be read";
  return tierChanged.has(raw.bandwidthTier) ? `the tier table's ${raw.bandwidthTier} row changed` : undefined;
}

/** One line for a person: how many were skipped, and why. */
export function skippedNote(c: ChangeSet): string {
  if (!c.unchanged.length) return "";
  const text = c.textOnly ? ` (${c.textOnly} of them changed only in comments or layout)` : "";
  return `${c.unchanged.length} municipalit${c.unchanged.length === 1 ? "y" : "ies"} not synthesized: inputs identical in ${c.base} and ${c.head} — env file, the catalog entries it reads, its tier row and the toolkit${text}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Temporary files and worktrees.

const TMP_PREFIX = "alpha-prime-diff-";

/** A temporary directory for one run, removed at the end, on SIGINT/SIGTERM, and by the next run if this one is killed. */
export class Scratch {
  readonly root: string;
  private n = 0;
  private received?: NodeJS.Signals;
  private readonly onSignal = (signal: NodeJS.Signals) => (this.received = signal);

  constructor(private readonly repo = REPO_ROOT) {
    removeAbandoned(repo);
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `${TMP_PREFIX}${process.pid}-`));
    // A signal waits while git, tsc or synth run (they are synchronous), then close() cleans up and the signal is
    // delivered again; the children themselves get a terminal's SIGINT directly.
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
  }

  next(): number {
    return ++this.n;
  }

  dir(name: string): string {
    const d = path.join(this.root, name);
    fs.mkdirSync(d, { recursive: true });
    return d;
  }

  close(): void {
    removeScratch(this.repo, this.root);
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    if (this.received) process.kill(process.pid, this.received);
  }
}

function removeScratch(repo: string, root: string): void {
  if (!fs.existsSync(root)) return;
  for (const name of fs.readdirSync(root)) {
    if (!name.startsWith("worktree")) continue;
    try {
      execFileSync("git", ["worktree", "remove", "--force", path.join(root, name)], { cwd: repo, stdio: "ignore" });
    } catch {
      /* not registered (yet) */
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
}

/** Temporary directories of runs that were killed before their clean-up (their process is gone), and git's records of them. */
function removeAbandoned(repo: string): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const m = new RegExp(`^${TMP_PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    if (!processAlive(Number(m[1]))) removeScratch(repo, path.join(os.tmpdir(), name)); // else its run is alive
  }
  try {
    execFileSync("git", ["worktree", "prune"], { cwd: repo, stdio: "ignore" });
  } catch {
    /* not a git checkout: nothing of git's to prune */
  }
}

/** Builds of commits whose toolkit does not run here: one worktree each, compiled once per run. */
export class Builds {
  private readonly built = new Map<string, string>();

  constructor(
    private readonly scratch: Scratch,
    private readonly repo = REPO_ROOT,
  ) {}

  /** The compiled worktree of a commit. */
  of(view: RevisionView): string {
    const sha = view.commit!.sha;
    const known = this.built.get(sha);
    if (known) return known;
    const worktree = path.join(this.scratch.root, `worktree-${sha.slice(0, 12)}`);
    execFileSync("git", ["worktree", "add", "--detach", worktree, sha], { cwd: this.repo, stdio: "ignore" });
    // this checkout's packages (a node_modules the revision itself tracks, e.g. a committed link, is replaced)
    fs.rmSync(path.join(worktree, "node_modules"), { recursive: true, force: true });
    fs.symlinkSync(path.join(this.repo, "node_modules"), path.join(worktree, "node_modules"), "dir");
    execFileSync(process.execPath, [path.join(this.repo, "node_modules", "typescript", "bin", "tsc"), "-p", worktree], { cwd: worktree, stdio: "pipe", env: cleanEnv() });
    // the build's last step where the revision has one (the prebuilt validator, catalog and build record)
    if (fs.existsSync(path.join(worktree, "dist", "config", "prebuilt.js"))) spawnSync(process.execPath, [path.join(worktree, "dist", "config", "prebuilt.js")], { cwd: worktree, stdio: "ignore", env: cleanEnv() });
    this.built.set(sha, worktree);
    return worktree;
  }
}

/** The environment for a synthesis of a revision: nothing of the caller's selection or overrides. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const v of ["ALPHA_PRIME_ENV_DIR", "ALPHA_PRIME_STACKS", "ALPHA_PRIME_CATALOG", "CDKTF_OUTDIR"]) delete env[v];
  return env;
}

// ---------------------------------------------------------------------------------------------------------------
// Synthesizing a revision.

export interface RevisionSynthOptions {
  /** use the synth cache (default true) */
  readonly cache?: boolean;
  readonly jobs?: number;
  /** what the output records as its selection */
  readonly selection?: Selection;
}

/**
 * Synthesizes `ids` of a revision (those it has) into `outdir`: with the running toolkit when the revision's
 * sources are this build's — in this process for a few stacks whose catalog is this process's, else in a child
 * process — or in the revision's own compiled worktree. Returns the ids synthesized.
 */
export function synthesizeRevision(view: RevisionView, ids: readonly string[], outdir: string, scratch: Scratch, builds: Builds, options: RevisionSynthOptions = {}): string[] {
  const { IN_PROCESS_LIMIT, openCache, synthInProcess } = require("../cli/synth") as typeof import("../cli/synth");
  const present = ids.filter((id) => view.env.has(id));
  if (!present.length) return [];
  const revision = view.commit ? { ref: view.commit.ref, commit: view.commit.sha } : undefined;
  const selection: Selection = options.selection ?? (present.length === view.env.size ? { kind: "all" } : { kind: "only", ids: present });
  const cacheFlag = options.cache === false ? ["--no-cache"] : [];
  const jobs = options.jobs ? ["--jobs", String(options.jobs)] : [];
  const inWorktree = () => {
    const worktree = builds.of(view);
    const envDir = present.length === view.env.size ? path.join(worktree, view.envRel!) : materialize(view, present, scratch);
    // the revision's own CLI: an older one may not know the newer flags, so only what every version has
    execFileSync(process.execPath, [path.join(worktree, "bin", "alpha-prime.js"), "--env-dir", envDir, "synth", "--out", outdir, ...jobs], { cwd: worktree, stdio: "pipe", env: cleanEnv() });
    return present;
  };
  const here = runsHere(view);
  const cli = runsHere(view, CLI_CODE_ROOT);
  if (!here && !cli) return inWorktree();
  const envDir = view.files && present.length === view.env.size ? view.files.envDir : view.files ? materializeFiles(view, present, scratch) : materialize(view, present, scratch);
  const catalogFile = view.files ? view.files.catalogFile : writeCatalog(view, scratch);
  const sameCatalog = fs.readFileSync(catalogFileInEffect(), "utf8") === fs.readFileSync(catalogFile, "utf8");
  if (here && sameCatalog && present.length <= IN_PROCESS_LIMIT) {
    const cache = options.cache === false ? undefined : openCache((t) => process.stderr.write(t));
    synthInProcess({ outdir, envDir, cache, selection, revision });
    return present;
  }
  if (!cli) return inWorktree();
  // another catalog, or many stacks (workers): the CLI in a child process, given the revision's catalog
  const env = { ...cleanEnv(), ALPHA_PRIME_CATALOG: catalogFile };
  execFileSync(process.execPath, [path.join(REPO_ROOT, "bin", "alpha-prime.js"), "--env-dir", envDir, "synth", "--out", outdir, ...cacheFlag, ...jobs], { cwd: REPO_ROOT, stdio: "pipe", env });
  return present;
}

/** Writes a commit's env files for `ids` into a fresh directory (as the commit names them). */
function materialize(view: RevisionView, ids: readonly string[], scratch: Scratch): string {
  const dir = scratch.dir(`env-${scratch.next()}`);
  view.prefetchEnv(ids);
  for (const id of ids) fs.writeFileSync(path.join(dir, view.env.get(id)!.name), view.envText(id));
  return dir;
}

function materializeFiles(view: RevisionView, ids: readonly string[], scratch: Scratch): string {
  const dir = scratch.dir(`env-${scratch.next()}`);
  for (const id of ids) fs.copyFileSync(path.join(view.files!.envDir, view.env.get(id)!.name), path.join(dir, view.env.get(id)!.name));
  return dir;
}

function writeCatalog(view: RevisionView, scratch: Scratch): string {
  const file = path.join(scratch.dir(`catalog-${scratch.next()}`), "saas-catalog.yaml");
  fs.writeFileSync(file, view.catalogText());
  return file;
}

/** A directory's record of the revision it is a synthesis of: a commit, or files on disk; undefined when unknown. */
export function viewOfOutput(dir: string, repo = REPO_ROOT): RevisionView | undefined {
  const record = readInputsRecord(dir);
  if (!record) return undefined;
  if ("revision" in record.source) {
    const v = commitView(record.source.revision.commit, { repo });
    return { ...v, label: `${record.source.revision.ref} (${record.source.revision.commit.slice(0, 8)})`, commit: { ref: record.source.revision.ref, sha: record.source.revision.commit } };
  }
  const envDir = path.resolve(dir, record.source.envDir);
  const catalogFile = path.resolve(dir, record.source.catalog);
  if (!fs.existsSync(envDir) || !fs.existsSync(catalogFile)) return undefined;
  return filesView(envDir, catalogFile, dir);
}

/** Rewrites what an output records as its source and selection (an output of a child or a worktree's CLI). */
function relabel(outdir: string, revision: { ref: string; commit: string } | undefined, selection: Selection): void {
  const { toolkitSummary, writeInputsRecord } = require("../stacks/output-record") as typeof import("../stacks/output-record");
  const record = readInputsRecord(outdir);
  if (!revision && record) return;
  writeInputsRecord(outdir, {
    source: revision ? { revision } : record!.source,
    selection,
    // a revision's own (older) CLI may write no record: its toolkit is then known only as its sources
    toolkit: record?.toolkit ?? { ...toolkitSummary(toolkitIdentity()), digest: "unknown", verified: false },
    stacks: record?.stacks ?? {},
  });
}

// ---------------------------------------------------------------------------------------------------------------
// What the commands do with it.

type Side = import("./diff").Side;

export interface ReadSidesOptions {
  /** synthesize every municipality of both sides (no selection) */
  readonly full?: boolean;
  /** use the synth cache (default true) */
  readonly cache?: boolean;
  readonly jobs?: number;
  /** read an output that no longer matches its files, with a warning, instead of refusing it */
  readonly allowStale?: boolean;
  /** an output may come from another build of alpha-prime (a pull request's): see StalenessOptions.anyToolkit */
  readonly anyToolkit?: boolean;
  readonly envDir?: string;
  readonly warn: (text: string) => void;
}

export interface SidesResult {
  readonly base: Side;
  readonly head: Side;
  /** what was not synthesized, and why (incremental runs) */
  readonly skipped?: { readonly count: number; readonly note: string };
  readonly changes?: ChangeSet;
}

function isDirectory(spec: string): boolean {
  try {
    return fs.statSync(spec).isDirectory();
  } catch {
    return false;
  }
}

/** How far an output directory can be trusted to say what its revision synthesizes to. */
export type OutputTrust = "current" | "revision" | "stale" | "unrecorded";

/**
 * Refuses (or, with allowStale, warns about) an output that no longer matches the files it was synthesized from;
 * says when an output cannot be judged, or holds some municipalities only.
 */
export function guardOutput(dir: string, allowStale: boolean, warn: (text: string) => void, anyToolkit = false): OutputTrust {
  const { describeStaleness, isStale, outputStaleness, StaleOutputError } = require("../stacks/output-record") as typeof import("../stacks/output-record");
  const s = outputStaleness(dir, undefined, { anyToolkit });
  if (!s.recorded) {
    warn(`alpha-prime: WARNING: ${s.unverifiable}; cannot tell whether it matches the env files — synthesize it again to be sure\n`);
    return "unrecorded";
  }
  if (s.unverifiable) {
    if ("revision" in readInputsRecord(dir)!.source) return "revision"; // a commit does not change
    warn(`alpha-prime: WARNING: ${s.unverifiable}; cannot tell whether it still matches them\n`);
    return "unrecorded";
  }
  if (s.selection?.kind === "changed-since" && !isStale(s)) {
    const why = changedSinceDrift(dir);
    if (why) s.problems.push(why);
  }
  if (!isStale(s)) {
    if (s.missing.length && s.selection?.kind === "only") warn(`alpha-prime: ${s.missing.length} env file(s) have no stack in ${dir} (synthesized with --only): ${s.missing.slice(0, 8).join(", ")}${s.missing.length > 8 ? " …" : ""} — not included\n`);
    return "current";
  }
  const text = describeStaleness(dir, s);
  if (!allowStale) throw new StaleOutputError(`${text}synthesize it again (npx alpha-prime synth), or pass --allow-stale to use it anyway`);
  warn(`alpha-prime: WARNING: STALE OUTPUT, used because of --allow-stale:\n${text}`);
  return "stale";
}

/** For an output of `synth --changed-since`: whether the set of changed municipalities is still the one it holds. */
function changedSinceDrift(dir: string): string | undefined {
  const record = readInputsRecord(dir);
  if (!record || record.selection.kind !== "changed-since") return undefined;
  const sel = record.selection;
  const scratch = new Scratch();
  try {
    const head = viewOfOutput(dir);
    if (!head) return undefined;
    // The commit keeps its env files where the repository does; the output's own env directory may lie outside it
    // (the PR workflow's review job reads the head's env files from an artifact beside the base branch's checkout).
    const envDir = head.files && insideRepo(head.files.envDir) ? head.files.envDir : path.join(REPO_ROOT, "env");
    const now = changedMunicipalities(commitView(sel.commit, { envDir }), head, scratch, new Builds(scratch));
    const want = now.changed.map((c) => c.id).sort();
    const had = [...sel.ids].sort();
    if (JSON.stringify(want) === JSON.stringify(had)) return undefined;
    const added = want.filter((x) => !had.includes(x));
    const gone = had.filter((x) => !want.includes(x));
    return `the municipalities changed since ${sel.ref} are no longer the ones it holds (${[...(added.length ? [`now also ${added.join(", ")}`] : []), ...(gone.length ? [`no longer ${gone.join(", ")}`] : [])].join("; ")})`;
  } finally {
    scratch.close();
  }
}

/**
 * Both sides of a diff: output directories as they are, git refs synthesized — by default only the municipalities
 * whose inputs differ between the two sides, each revision once. Two outputs are compared stack by stack where
 * their records' fingerprints differ; a ref against a ref or an output, by what differs between the revisions.
 * An output that cannot be trusted to match its revision (no record, or stale and allowed) is compared whole.
 */
export function readSides(baseSpec: string, headSpec: string, o: ReadSidesOptions): SidesResult {
  const { readSynthesized } = require("./diff") as typeof import("./diff");
  const scratch = new Scratch();
  try {
    const builds = new Builds(scratch);
    const resolve = (spec: string): { dir?: string; view?: RevisionView } => {
      if (isDirectory(spec)) {
        if (!fs.existsSync(path.join(spec, "manifest.json"))) throw new Error(`${spec} has no manifest.json: synthesize it first`);
        const trust = guardOutput(spec, o.allowStale ?? false, o.warn, o.anyToolkit ?? false);
        // An output that holds some municipalities only (--changed-since, --only) and cannot be matched with its files
        // would be compared whole: every municipality it leaves out would read as REMOVED, a false data-loss verdict
        // for the whole country (the PR workflow's review job did this when the artifact lacked the catalog).
        const selection = readInputsRecord(spec)?.selection;
        if ((trust === "unrecorded" || trust === "stale") && selection && selection.kind !== "all") {
          const { StaleOutputError } = require("../stacks/output-record") as typeof import("../stacks/output-record");
          throw new StaleOutputError(`${spec} holds only the municipalities ${selection.kind === "changed-since" ? `changed since ${selection.ref}` : "named by --only"} (${selection.ids.length}), and cannot be matched with the files it was synthesized from: compared whole, every other municipality would read as removed. Give the diff the env directory and catalog the output names, or a full output`);
        }
        const bucketAsNow = Object.values(readInputsRecord(spec)?.stacks ?? {}).every((s) => !("stateBucket" in s) || s.stateBucket === (process.env.ALPHA_PRIME_STATE_BUCKET || null));
        return { dir: spec, view: trust === "current" || trust === "revision" ? (bucketAsNow ? viewOfOutput(spec) : undefined) : undefined };
      }
      return { view: commitView(spec, { envDir: o.envDir }) };
    };
    const a = resolve(baseSpec);
    const b = resolve(headSpec);
    let out = 0;
    const synth = (view: RevisionView, ids: readonly string[]): Side => {
      const dir = scratch.dir(`out-${++out}`);
      const done = synthesizeRevision(view, ids, dir, scratch, builds, { cache: o.cache, jobs: o.jobs });
      return done.length ? readSynthesized(dir, view.label) : { label: view.label, stacks: new Map() };
    };
    if (!o.full && a.dir && b.dir && a.view && b.view) return byFingerprint(a.dir, b.dir);
    if (!o.full && a.view && b.view) {
      const changes = changedMunicipalities(a.view, b.view, scratch, builds);
      const ids = changes.changed.map((c) => c.id);
      const fromDir = (dir: string, view: RevisionView): Side => (ids.some((id) => view.env.has(id)) ? subset(readSynthesized(dir, dir, new Set(ids)), ids, view) : { label: dir, stacks: new Map() });
      const side = (s: { dir?: string; view?: RevisionView }): Side => withUnchanged(s.dir ? fromDir(s.dir, s.view!) : synth(s.view!, ids), changes.unchanged);
      const note = skippedNote(changes);
      return { base: side(a), head: side(b), changes, ...(changes.unchanged.length ? { skipped: { count: changes.unchanged.length, note } } : {}) };
    }
    const whole = (s: { dir?: string; view?: RevisionView }): Side => (s.dir ? readSynthesized(s.dir) : synth(s.view!, [...s.view!.env.keys()]));
    return { base: whole(a), head: whole(b) };
  } finally {
    scratch.close();
  }
}

/**
 * A municipality known to be unchanged without synthesizing it is in the report as unchanged, as the full diff
 * would have it (so a reader of the JSON sees every municipality): the same empty stand-in on both sides.
 */
const UNCHANGED: import("./diff").StackSnapshot = { resources: new Map(), locals: {}, backend: {} };
function withUnchanged(side: Side, ids: readonly string[]): Side {
  const stacks = new Map(side.stacks);
  for (const id of ids) stacks.set(id, UNCHANGED);
  return { label: side.label, stacks };
}

/**
 * Two recorded outputs: a municipality whose stack has the same fingerprint and the same bytes on both sides is the
 * same stack, so it is neither parsed nor compared; outputs of one `--changed-since` selection also leave out, on
 * both sides, what that selection left out.
 */
function byFingerprint(baseDir: string, headDir: string): SidesResult {
  const { readSynthesized } = require("./diff") as typeof import("./diff");
  const ra = readInputsRecord(baseDir)!;
  const rb = readInputsRecord(headDir)!;
  const stacksOf = (dir: string) => (JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { stacks?: Record<string, { synthesizedStackPath?: unknown }> }).stacks ?? {};
  const sa0 = stacksOf(baseDir);
  const sb0 = stacksOf(headDir);
  const ma = new Set(Object.keys(sa0));
  const mb = new Set(Object.keys(sb0));
  const ids = [...new Set([...ma, ...mb])];
  // The record says what a stack was made from, not that the file is still what was made: an output edited by hand
  // (or a tampered artifact) keeps its record. So equal fingerprints skip a stack only when its bytes are equal too
  // (a read, no parse); otherwise it is compared like any other, and the edit shows.
  const bytes = (dir: string, entry: { synthesizedStackPath?: unknown } | undefined): Buffer | undefined => {
    if (typeof entry?.synthesizedStackPath !== "string") return undefined;
    const file = path.resolve(dir, entry.synthesizedStackPath);
    const rel = path.relative(path.resolve(dir), file);
    if (rel.startsWith("..") || path.isAbsolute(rel)) return undefined; // refused, with its reason, when read
    try {
      return fs.readFileSync(file);
    } catch {
      return undefined;
    }
  };
  const sameBytes = (id: string) => {
    const x = bytes(baseDir, sa0[id]);
    const y = bytes(headDir, sb0[id]);
    return x !== undefined && y !== undefined && x.equals(y);
  };
  const same = ids.filter((id) => ma.has(id) && mb.has(id) && ra.stacks[id] && rb.stacks[id] && ra.stacks[id].fingerprint === rb.stacks[id].fingerprint && sameBytes(id));
  const read = new Set(ids.filter((id) => !same.includes(id)));
  const sa = ra.selection;
  const sb = rb.selection;
  const left = sa.kind === "changed-since" && sb.kind === "changed-since" && sa.commit === sb.commit ? sa.unchanged : 0;
  const count = same.length + left;
  const why = [...(same.length ? [`${same.length} with the same inputs on both sides (the same fingerprint and the same file), reported unchanged`] : []), ...(left ? [`${left} whose inputs did not change since ${sa.kind === "changed-since" ? sa.ref : ""} (left out of both outputs)`] : [])];
  // an output of a git revision (`synth --changed-since --base-out`) is named by it, as a diff of the ref would be
  const labelOf = (dir: string, r: typeof ra) => ("revision" in r.source ? `${r.source.revision.ref} (${r.source.revision.commit.slice(0, 8)})` : dir);
  const side = (dir: string, mine: Set<string>, label: string): Side => (read.size && [...read].some((id) => mine.has(id)) ? readSynthesized(dir, label, read) : { label, stacks: new Map() });
  return {
    base: withUnchanged(side(baseDir, ma, labelOf(baseDir, ra)), same),
    head: withUnchanged(side(headDir, mb, labelOf(headDir, rb)), same),
    ...(count ? { skipped: { count, note: `${count} municipalit${count === 1 ? "y" : "ies"} not compared: ${why.join("; ")}` } } : {}),
  };
}

/** The stacks of `ids` from an output, which must hold every one its revision has. */
function subset(side: Side, ids: readonly string[], view: RevisionView): Side {
  const lacking = ids.filter((id) => view.env.has(id) && !side.stacks.has(id));
  if (lacking.length) throw new Error(`${side.label} does not hold ${lacking.join(", ")} (synthesized with --only or --changed-since another ref?): synthesize them, or compare a full output`);
  return { label: side.label, stacks: new Map([...side.stacks].filter(([id]) => ids.includes(id))) };
}

/** `changed` and `check --changed-since`: the municipalities whose inputs differ between a ref and a head. */
export function changesSince(baseRef: string, head: RevisionView | string | undefined, envDir?: string): ChangeSet {
  const scratch = new Scratch();
  try {
    const headView = typeof head === "string" ? (isDirectory(head) ? viewOfOutput(head) ?? filesView(envDir) : commitView(head, { envDir })) : head ?? filesView(envDir);
    return changedMunicipalities(commitView(baseRef, { envDir }), headView, scratch, new Builds(scratch));
  } finally {
    scratch.close();
  }
}

/**
 * `synth --changed-since <ref>`: the working tree's municipalities whose inputs differ from the ref's, into
 * `outdir` (recorded as that selection, so `check` and `diff` know the rest were skipped on purpose), and with
 * `baseOut` the ref's side of the same municipalities: each revision synthesized once, for check, diff and plan.
 */
export async function synthChangedSince(o: { ref: string; outdir: string; baseOut?: string; envDir?: string; cache?: boolean; jobs?: number; stateBucket?: string }): Promise<{ changes: ChangeSet; head: string[]; base: string[] }> {
  const scratch = new Scratch();
  try {
    const builds = new Builds(scratch);
    const envDir = o.envDir ?? defaultEnvDir();
    const base = commitView(o.ref, { envDir });
    const head = filesView(envDir);
    const changes = changedMunicipalities(base, head, scratch, builds);
    const ids = changes.changed.map((c) => c.id);
    const selection: Selection = { kind: "changed-since", ref: o.ref, commit: base.commit!.sha, ids, unchanged: changes.unchanged.length };
    const headIds = ids.filter((id) => head.env.has(id));
    const { openCache, synthesizeOutput } = require("../cli/synth") as typeof import("../cli/synth");
    const cache = o.cache === false ? undefined : openCache((t) => process.stderr.write(t));
    await synthesizeOutput({ outdir: o.outdir, envDir, only: headIds, selection, cache, jobs: o.jobs, stateBucket: o.stateBucket });
    let baseIds: string[] = [];
    if (o.baseOut) {
      baseIds = ids.filter((id) => base.env.has(id));
      if (baseIds.length) synthesizeRevision(base, baseIds, path.resolve(o.baseOut), scratch, builds, { cache: o.cache, jobs: o.jobs, selection });
      else await synthesizeOutput({ outdir: o.baseOut, envDir, only: [], selection, revision: { ref: o.ref, commit: base.commit!.sha } });
      relabel(path.resolve(o.baseOut), { ref: o.ref, commit: base.commit!.sha }, selection);
    }
    return { changes, head: headIds, base: baseIds };
  } finally {
    scratch.close();
  }
}
