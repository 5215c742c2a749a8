/**
 * Output directories that alpha-prime replaces as a whole (cdktf.out, rendered/<id>): written only where that is
 * safe, swapped in so a valid output exists at every moment that can be observed, and never raced.
 *
 * - **Ours only.** An output directory is replaced only when it is absent, empty, or carries our marker file (for
 *   cdktf.out written before markers existed: exactly cdktf's layout, manifest.json and stacks/). Anything else —
 *   `.`, `..`, a file, a home directory — is refused before anything is touched.
 * - **One writer.** `<out>.lock` (created exclusively, holding the PID) makes a second run on the same output fail
 *   with the PID it waits for; a lock whose process is gone is taken over.
 * - **Recoverable swap.** The new tree is staged beside the output (`<out>.staging-<pid>-*`) and swapped in by two
 *   renames; if a run dies between them, the next run restores the previous output (`<out>.old-<pid>`) first.
 *   Once the new output is in place, the previous one is renamed once more, to `<out>.trash-<pid>-*`, and removed:
 *   a removal cut short leaves a partial tree under a name no run ever restores, only removes. Staging of dead runs
 *   is removed on the next run, and SIGINT/SIGTERM remove this run's staging and lock.
 */
import * as fs from "fs";
import * as path from "path";

export class OutputRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputRefused";
  }
}

/** Is the process alive (signal 0 checks without sending)? */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

type Leftover = "staging" | "old" | "trash";

function pidOf(name: string, kind: Leftover): number | undefined {
  const m = new RegExp(`\\.${kind}-(\\d+)(?:-|$)`).exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Refuses an output that is not ours to replace; `legacy` also accepts a tree of exactly those entries, where an
 * entry ending in `?` may be absent (`inputs.json?`: what the cdktf app writes beside cdktf's own files).
 */
export function assertReplaceable(dir: string, marker: string, legacy?: readonly string[]): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return; // absent
  }
  if (st.isSymbolicLink() || !st.isDirectory()) throw new OutputRefused(`${dir} exists and is not a directory: refusing to replace it`);
  const entries = fs.readdirSync(dir);
  if (entries.length === 0 || entries.includes(marker)) return;
  const required = (legacy ?? []).filter((e) => !e.endsWith("?"));
  const allowed = (legacy ?? []).map((e) => e.replace(/\?$/, ""));
  if (legacy && entries.every((e) => allowed.includes(e)) && required.every((e) => entries.includes(e))) return;
  throw new OutputRefused(`${dir} is not empty and was not written by alpha-prime (no ${marker}): refusing to replace it; choose an empty or new directory`);
}

export interface OutputTransaction {
  /** where to build the new output */
  readonly staging: string;
  /** moves the staged tree into place (the previous output is removed afterwards) */
  commit(): void;
  /**
   * As commit, but the previous output is removed by many file-system calls at once (fs.promises.rm, in libuv's
   * thread pool) rather than one after another: a national cdktf.out (~330 MB in ~1,700 directories) goes in about
   * half the wall time. The new output is in place when this returns; the promise settles when the old one is gone.
   * Keep the transaction (and so the lock) until it has settled.
   */
  commitInBackground(): Promise<void>;
  /** removes the staging tree and the lock; safe to call twice */
  release(): void;
}

/**
 * Starts writing `outdir`: checks it may be replaced, takes its lock, repairs what an interrupted run left, and
 * returns a staging directory that becomes the output on commit.
 */
export function beginOutput(outdir: string, marker: string, legacy?: readonly string[]): OutputTransaction {
  outdir = path.resolve(outdir);
  const parent = path.dirname(outdir);
  if (outdir === path.parse(outdir).root) throw new OutputRefused(`${outdir} is a file-system root: refusing to replace it`);
  fs.mkdirSync(parent, { recursive: true });
  const lock = takeLock(`${outdir}.lock`);
  let staging: string | undefined;
  const release = () => {
    if (staging) fs.rmSync(staging, { recursive: true, force: true });
    staging = undefined;
    try {
      if (fs.readFileSync(lock, "utf8").trim() === String(process.pid)) fs.rmSync(lock, { force: true });
    } catch {
      /* already gone */
    }
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    process.kill(process.pid, signal); // default action now that the handler is gone: exit by that signal
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    recoverInterrupted(outdir);
    assertReplaceable(outdir, marker, legacy);
    staging = fs.mkdtempSync(`${outdir}.staging-${process.pid}-`);
  } catch (e) {
    release();
    throw e;
  }
  const marked = staging;
  /** The swap; returns where the previous output now is, to be removed (undefined: there was none). */
  const swap = (): string | undefined => {
    fs.writeFileSync(path.join(marked, marker), "written by alpha-prime: this directory is replaced as a whole by the next run\n");
    const old = `${outdir}.old-${process.pid}`;
    const had = fs.existsSync(outdir);
    if (had) fs.renameSync(outdir, old);
    fs.renameSync(marked, outdir); // a run killed between the two renames is repaired by recoverInterrupted
    staging = undefined;
    if (!had) return undefined;
    const trash = `${outdir}.trash-${process.pid}-${Date.now().toString(36)}`;
    fs.renameSync(old, trash);
    return trash;
  };
  return {
    staging: marked,
    commit() {
      const trash = swap();
      if (trash) fs.rmSync(trash, { recursive: true, force: true });
    },
    async commitInBackground() {
      const trash = swap();
      if (trash) await fs.promises.rm(trash, { recursive: true, force: true });
    },
    release,
  };
}

function takeLock(lock: string): string {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: "wx" });
      return lock;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number(fs.readFileSync(lock, "utf8").trim());
      if (processAlive(holder) && holder !== process.pid) throw new OutputRefused(`${lock.replace(/\.lock$/, "")} is being written by another alpha-prime run (pid ${holder}); wait for it, or remove ${lock} if that process is not alpha-prime`);
      fs.rmSync(lock, { force: true }); // its run is gone
    }
  }
  throw new OutputRefused(`cannot take ${lock}`);
}

/**
 * What runs that died left beside `outdir`: the previous output back in place if missing, dead staging and
 * previous outputs whose removal was cut short removed.
 */
function recoverInterrupted(outdir: string): void {
  const parent = path.dirname(outdir);
  const base = path.basename(outdir);
  const leftovers = fs.readdirSync(parent).filter((n) => n.startsWith(`${base}.staging-`) || n.startsWith(`${base}.old-`) || n.startsWith(`${base}.trash-`));
  for (const name of leftovers) {
    const kind: Leftover = name.startsWith(`${base}.old-`) ? "old" : name.startsWith(`${base}.trash-`) ? "trash" : "staging";
    const pid = pidOf(name, kind);
    // every name a run leaves carries its pid (staging, swap, trash above): one without is someone else's, not ours
    if (pid === undefined) continue;
    if (processAlive(pid) && pid !== process.pid) continue; // another run's, in progress
    const full = path.join(parent, name);
    if (kind === "old" && !fs.existsSync(outdir)) fs.renameSync(full, outdir);
    else fs.rmSync(full, { recursive: true, force: true });
  }
}
