/**
 * The synth cache: synthesized stacks kept by the fingerprint of their inputs (stacks/inputs.ts), so `synth`
 * reuses a stack whose inputs have not changed instead of building it again. Output is byte-identical to a synth
 * without it (tested); a cache that is wrong costs a miss, never a different result:
 *
 * - **Where**: `$ALPHA_PRIME_CACHE_DIR`, else `$XDG_CACHE_HOME/alpha-prime`, else `~/.cache/alpha-prime` (the XDG
 *   Base Directory specification's default, https://specifications.freedesktop.org/basedir-spec/latest/).
 *   Entries live under `stacks-v1/<first two hex digits>/<fingerprint>/`: `entry.json` (the stack's manifest entry
 *   and each file's SHA-256 and size) and `files/` (the stack directory as synthesized).
 * - **Whole entries only**: an entry is written under `stacks-v1/tmp/<pid>-…` and renamed into place, so a reader
 *   sees a complete entry or none; when two runs store the same entry the second rename fails and its copy is
 *   dropped. Temporary directories of runs that died are removed by the next run that opens the cache.
 * - **Verified on use**: every file is read, hashed and compared with entry.json before it is written into the
 *   output (copied, never linked: an output file edited in place must not change the cache). A mismatch drops the
 *   entry and the stack is synthesized again.
 * - **Bounded**: after a run that stored entries, the least recently used entries (entry.json's mtime, touched on
 *   every use) are removed until the cache is under 90 % of its limit: `$ALPHA_PRIME_CACHE_MAX_MB`, default 2048 MiB
 *   (a national set of 1,741 stacks is about 320 MB). Removal renames an entry away first, so a reader never sees
 *   half of one.
 * - **Private**: used only when this user owns it and no one else can write to it (see assertPrivate).
 * - `synth --no-cache` bypasses it; `alpha-prime cache clear` empties it; `alpha-prime cache info` says where it
 *   is and how full.
 */
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processAlive } from "./output-dir";

export const CACHE_DIR_ENV = "ALPHA_PRIME_CACHE_DIR";
export const CACHE_MAX_ENV = "ALPHA_PRIME_CACHE_MAX_MB";
export const DEFAULT_CACHE_MAX_MB = 2048;
/** Eviction stops below this share of the limit, so a full cache is not trimmed on every run. */
const EVICT_TO = 0.9;
const LAYOUT = "stacks-v1";

/** The cache directory this process uses (nothing is created). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env[CACHE_DIR_ENV]) return path.resolve(env[CACHE_DIR_ENV]!);
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), ".cache");
  return path.join(xdg, "alpha-prime");
}

export function cacheLimitBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[CACHE_MAX_ENV];
  if (raw === undefined || raw === "") return DEFAULT_CACHE_MAX_MB * 1048576;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`${CACHE_MAX_ENV} must be a number of MiB (0 or more), got '${raw}'`);
  return Math.floor(mb * 1048576);
}

/**
 * The error annotations of a manifest entry ("[construct path] message"), which cdktf writes there instead of stopping
 * when told to go on (CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS); undefined for annotations that are not a list.
 */
export function errorAnnotations(manifest: Record<string, unknown>): string[] | undefined {
  const annotations = manifest?.annotations ?? [];
  if (!Array.isArray(annotations)) return undefined;
  return annotations.filter((a) => String(a?.level ?? "").includes("error")).map((a) => `[${String(a.constructPath)}] ${String(a.message)}`);
}

/** A stack with error annotations (or unreadable ones) is never kept. */
export function cacheable(manifest: Record<string, unknown>): boolean {
  return errorAnnotations(manifest)?.length === 0;
}

/** What an entry holds besides its files. */
export interface CacheEntry {
  readonly id: string;
  /** cdktf's manifest entry for the stack */
  readonly manifest: Record<string, unknown>;
  /** relative path (POSIX) → SHA-256 and size of each file of the stack directory */
  readonly files: Record<string, { sha256: string; bytes: number }>;
}

export interface CacheInfo {
  readonly dir: string;
  readonly entries: number;
  readonly bytes: number;
  readonly limitBytes: number;
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function filesUnder(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(path.join(dir, e.name), rel));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/**
 * The cache is trusted as much as the output it becomes, so only its owner may write to it. Entries are checked
 * against their own digests, which protects from a torn or corrupted file, not from someone who writes both: in a
 * directory another account can write to (a cache shared through the temporary directory, a group-writable home), anyone can plant a whole,
 * self-consistent entry under a fingerprint they can compute from the repository, and it would be copied into the
 * output as the stack of that municipality. So the cache directory, its layout directory and its temporary
 * directory must be owned by this user and writable by no one else (the layout directories, which this process
 * creates, must not be links either); otherwise it is not used at all (`openCache` warns and synthesizes every stack).
 */
function assertPrivate(dir: string, created: boolean): void {
  if (typeof process.getuid !== "function") return; // no POSIX owners and modes (Windows)
  const st = created ? fs.lstatSync(dir) : fs.statSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== process.getuid()) throw new Error(`${dir} belongs to another user (uid ${st.uid}): a cache others can write to could hand this run stacks it did not synthesize`);
  if (st.mode & 0o022) throw new Error(`${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}): a cache others can write to could hand this run stacks it did not synthesize; use a private directory, or \`chmod go-w\` it and \`alpha-prime cache clear\``);
}

export class StackCache {
  /** Opens (creating) the cache directory and removes what dead runs left in it. */
  static open(dir = defaultCacheDir(), limitBytes = cacheLimitBytes()): StackCache {
    const cache = new StackCache(path.resolve(dir), limitBytes);
    // created private (0700 whatever the umask leaves), and refused when anyone else could write to it
    fs.mkdirSync(cache.tmp, { recursive: true, mode: 0o700 });
    for (const d of [cache.dir, cache.root, cache.tmp]) assertPrivate(d, d !== cache.dir);
    for (const name of fs.readdirSync(cache.tmp)) {
      const pid = Number(/^(\d+)-/.exec(name)?.[1]);
      if (!processAlive(pid) || pid === process.pid) fs.rmSync(path.join(cache.tmp, name), { recursive: true, force: true });
    }
    return cache;
  }

  private readonly root: string;
  private readonly tmp: string;

  private constructor(
    readonly dir: string,
    readonly limitBytes: number,
  ) {
    this.root = path.join(dir, LAYOUT);
    this.tmp = path.join(this.root, "tmp");
  }

  private entryDir(fingerprint: string): string {
    if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new Error(`not a fingerprint: '${fingerprint}'`);
    return path.join(this.root, fingerprint.slice(0, 2), fingerprint);
  }

  /**
   * Writes the cached stack into `stackDir` (which must not exist) and returns its manifest entry, or undefined on a
   * miss — including an entry that fails its check, which is dropped (and `stackDir` left absent).
   */
  restore(fingerprint: string, id: string, stackDir: string): Record<string, unknown> | undefined {
    const dir = this.entryDir(fingerprint);
    let entry: CacheEntry;
    try {
      entry = JSON.parse(fs.readFileSync(path.join(dir, "entry.json"), "utf8")) as CacheEntry;
    } catch {
      return undefined; // absent, being removed, or unreadable: a miss
    }
    try {
      if (entry.id !== id || !entry.files || typeof entry.manifest !== "object") throw new Error("entry names another stack");
      for (const [rel, f] of Object.entries(entry.files)) {
        if (rel.split("/").some((part) => part === ".." || part === "" || part === ".")) throw new Error(`entry names a path outside its stack: ${rel}`);
        const data = fs.readFileSync(path.join(dir, "files", ...rel.split("/")));
        if (data.length !== f.bytes || sha256(data) !== f.sha256) throw new Error(`${rel} does not match its digest`);
        const target = path.join(stackDir, ...rel.split("/"));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, data);
      }
    } catch {
      fs.rmSync(stackDir, { recursive: true, force: true });
      this.remove(dir);
      return undefined;
    }
    const now = new Date();
    try {
      fs.utimesSync(path.join(dir, "entry.json"), now, now); // recently used: evicted last
    } catch {
      /* evicted meanwhile by another run: the copy is already verified */
    }
    return entry.manifest;
  }

  /** Stores a synthesized stack directory under its fingerprint (complete or not at all). */
  store(fingerprint: string, id: string, stackDir: string, manifest: Record<string, unknown>): void {
    const final = this.entryDir(fingerprint);
    if (fs.existsSync(path.join(final, "entry.json"))) return;
    const work = path.join(this.tmp, `${process.pid}-${randomBytes(6).toString("hex")}`);
    try {
      fs.mkdirSync(path.join(work, "files"), { recursive: true });
      const files: CacheEntry["files"] = {};
      for (const rel of filesUnder(stackDir)) {
        const data = fs.readFileSync(path.join(stackDir, ...rel.split("/")));
        const target = path.join(work, "files", ...rel.split("/"));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, data);
        files[rel] = { sha256: sha256(data), bytes: data.length };
      }
      fs.writeFileSync(path.join(work, "entry.json"), JSON.stringify({ id, manifest, files } satisfies CacheEntry));
      fs.mkdirSync(path.dirname(final), { recursive: true });
      try {
        fs.renameSync(work, final);
      } catch (e) {
        // another run stored the same inputs first (ENOTEMPTY/EEXIST): theirs is as good as ours
        if (!["ENOTEMPTY", "EEXIST", "EPERM"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  /** Every entry with its size and last use, oldest first. */
  private entries(): { dir: string; bytes: number; used: number }[] {
    const out: { dir: string; bytes: number; used: number }[] = [];
    let shards: string[];
    try {
      shards = fs.readdirSync(this.root).filter((s) => /^[0-9a-f]{2}$/.test(s));
    } catch {
      return out;
    }
    for (const shard of shards) {
      let names: string[];
      try {
        names = fs.readdirSync(path.join(this.root, shard));
      } catch {
        continue;
      }
      for (const name of names) {
        const dir = path.join(this.root, shard, name);
        try {
          const meta = path.join(dir, "entry.json");
          const used = fs.statSync(meta).mtimeMs;
          const entry = JSON.parse(fs.readFileSync(meta, "utf8")) as CacheEntry;
          const bytes = Object.values(entry.files).reduce((n, f) => n + f.bytes, 0) + fs.statSync(meta).size;
          out.push({ dir, bytes, used });
        } catch {
          continue; // being written or removed by another run
        }
      }
    }
    return out.sort((a, b) => a.used - b.used);
  }

  info(): CacheInfo {
    const all = this.entries();
    return { dir: this.dir, entries: all.length, bytes: all.reduce((n, e) => n + e.bytes, 0), limitBytes: this.limitBytes };
  }

  /** Removes least recently used entries until the cache is within its limit (below 90 % of it once over). */
  evict(): { removed: number; bytes: number } {
    const all = this.entries();
    let total = all.reduce((n, e) => n + e.bytes, 0);
    if (total <= this.limitBytes) return { removed: 0, bytes: total };
    let removed = 0;
    for (const e of all) {
      if (total <= this.limitBytes * EVICT_TO) break;
      this.remove(e.dir);
      total -= e.bytes;
      removed++;
    }
    return { removed, bytes: total };
  }

  /** Empties the cache. */
  clear(): number {
    const n = this.entries().length;
    for (const shard of fs.existsSync(this.root) ? fs.readdirSync(this.root) : []) if (/^[0-9a-f]{2}$/.test(shard)) this.remove(path.join(this.root, shard));
    return n;
  }

  /** Renames away first: a concurrent reader finds the entry whole or absent. */
  private remove(dir: string): void {
    const away = path.join(this.tmp, `${process.pid}-${randomBytes(6).toString("hex")}`);
    try {
      fs.renameSync(dir, away);
    } catch {
      return; // already gone
    }
    fs.rmSync(away, { recursive: true, force: true });
  }
}
