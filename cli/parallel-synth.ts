/**
 * Synthesis at national scale. Worker processes synthesize one municipality at a time each, in an App of its own,
 * into a staging directory that replaces the output only when every config was valid and every stack succeeded —
 * bad input still writes nothing. Validation runs in this process while the workers already synthesize the
 * configs validated so far, so neither core waits; a stack whose inputs are in the synth cache is copied from it
 * instead, and workers start only for stacks that need building. Output is byte-identical to the one-process path
 * and to a run without the cache (tested).
 */
import { ChildProcess, fork } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, ConfigIssue } from "../core/errors";
import { loadFiles } from "../config/load";
import { defaultEnvDir, REPO_ROOT } from "../core/paths";
import { crossFileProblems } from "../config/semantic";
import type { MunicipalityConfig } from "../config/types";
import { SaasCatalog } from "../catalog/saas-catalog";
import { beginOutput } from "./output-dir";
import { filesToSynthesize, LEGACY_OUTPUT_LAYOUT, OUTPUT_MARKER, OutputAssembly, SynthOptions, SynthResult } from "./synth";
import type { WorkerReply, WorkerRequest } from "./synth-worker";

export interface ParallelSynthOptions extends SynthOptions {
  /** worker processes @default the number of CPUs */
  readonly jobs?: number;
  /**
   * a worker exits after this many stacks and a fresh one takes over, a bound on memory: the token map, cdktf's one
   * known growth, is emptied after each stack (stacks/cdktf-tuning.ts), so a worker stays flat and this is set high
   * enough that a national run (two workers) starts no more @default 1000
   */
  readonly recycleAfter?: number;
  readonly onProgress?: (done: number, total: number, id: string) => void;
  /** each worker process as it starts (diagnostics, and the fault tests that kill one) */
  readonly onWorkerStart?: (pid: number) => void;
}

export interface ParallelSynthResult extends SynthResult {
  readonly wallMs: number;
  /** the largest resident memory any worker reported */
  readonly maxWorkerRssBytes: number;
  readonly workersStarted: number;
}

/** The compiled worker (from source, as under ts-jest, the build in dist/ is used; `npm test` builds first). */
const WORKER = fs.existsSync(path.join(__dirname, "synth-worker.js")) ? path.join(__dirname, "synth-worker.js") : path.join(REPO_ROOT, "dist", "cli", "synth-worker.js");
/** The code root the workers run (their toolkit is what the stacks' fingerprints must name). */
const WORKER_CODE_ROOT = path.dirname(path.dirname(WORKER));
/** configs validated per turn of the event loop, so worker messages are answered promptly */
const VALIDATION_BATCH = 16;
/** configs queued per worker, so a worker never waits for the next one */
const QUEUE_DEPTH = 2;

/**
 * Workers run V8 single-threaded. Each worker keeps one core busy and there are as many workers as cores, so V8's
 * helper threads (parallel scavenge, concurrent marking and compilation) only contend with the other worker for the
 * same cores and hand work over through locks. Two workers side by side on the national bench used about a tenth
 * less CPU per stack with it (README, "Incremental cases", has the whole run); output is unchanged (the
 * workers' output is compared with the one-process path's in test/parallel-synth.test.ts). Larger or fixed young
 * generations and glibc's malloc thresholds were measured too and gave nothing beyond it.
 * A flag the run was given on node's command line is kept instead (node refuses this one in NODE_OPTIONS).
 */
const WORKER_V8_FLAGS: readonly string[] = ["--single-threaded"];

/** The worker's node flags: the parent's own (as fork passes them), then each flag above that they do not set. */
export function workerExecArgv(parent: readonly string[]): string[] {
  const name = (arg: string) => arg.split("=")[0].replace(/_/g, "-");
  const given = new Set(parent.filter((a) => a.startsWith("--")).map(name));
  // V8 takes a flag's opposite as --no-flag and as --noflag (v8 src/flags/flags.cc, SplitArgument: "no", then an
  // optional dash, is stripped and the flag negated): either spelling keeps the run's choice
  const opposites = (f: string) => [name(f).replace(/^--/, "--no-"), name(f).replace(/^--/, "--no")];
  return [...parent, ...WORKER_V8_FLAGS.filter((f) => !given.has(name(f)) && !opposites(f).some((o) => given.has(o)))];
}

/** Errors of a send to a worker whose IPC channel is already closed: the worker's exit says what happened. */
const CHANNEL_GONE = new Set(["EPIPE", "ECONNRESET", "ERR_IPC_CHANNEL_CLOSED"]);

export async function synthParallel(o: ParallelSynthOptions): Promise<ParallelSynthResult> {
  const started = Date.now();
  const envDir = o.envDir ?? defaultEnvDir();
  const files = filesToSynthesize(envDir, o);
  const outdir = path.resolve(o.outdir);
  const tx = beginOutput(outdir, OUTPUT_MARKER, LEGACY_OUTPUT_LAYOUT);
  const staging = tx.staging;
  let done = 0;
  const progress = (id: string) => o.onProgress?.(++done, files.length, id);
  let run: OutputAssembly;
  let pool: WorkerPool;
  try {
    run = new OutputAssembly(outdir, staging, envDir, o, WORKER_CODE_ROOT);
    pool = new WorkerPool(staging, files.length, o, (m) => {
      run.synthesized(m.id, m.manifest, m.cached);
      if (m.cached) run.noteStored();
      progress(m.id);
    });
  } catch (e) {
    tx.release();
    throw e;
  }
  try {
    const catalog = SaasCatalog.default();
    const issues: ConfigIssue[] = [];
    const configs: MunicipalityConfig[] = [];
    for (let i = 0; i < files.length; i += VALIDATION_BATCH) {
      const r = loadFiles(files.slice(i, i + VALIDATION_BATCH), catalog);
      issues.push(...r.issues);
      configs.push(...r.configs);
      if (issues.length) pool.stop(); // keep validating to report every error, but synthesize no more
      else {
        const misses: { config: MunicipalityConfig; fingerprint: string }[] = [];
        for (const c of r.configs) {
          if (run.fromCache(c)) progress(c.id);
          else misses.push({ config: c, fingerprint: run.fingerprintOf(c.id) });
        }
        pool.enqueue(misses);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    // errors are reported exactly as the one-process path reports them, problems across files (a duplicate id or
    // code) included, located in their files: on this error path every file is loaded again, whole
    if (issues.length || crossFileProblems(configs).length) issues.splice(0, issues.length, ...loadFiles(files, catalog).issues);
    if (issues.length) {
      pool.stop();
      await pool.settled().catch(() => undefined);
      throw new ConfigError(issues);
    }
    pool.close();
    const result = await pool.settled();
    pool.removeWorkDirs();
    const r = run.finish(configs.map((c) => c.id));
    // the previous output goes while the cache is trimmed; the lock is held until it is gone
    const removed = tx.commitInBackground();
    run.evict();
    await removed;
    return { ...r, wallMs: Date.now() - started, maxWorkerRssBytes: result.maxRss, workersStarted: result.workersStarted };
  } finally {
    pool.stop();
    tx.release();
  }
}

type DoneReply = Extract<WorkerReply, { type: "done" }>;

/** Worker processes fed from a queue that validation fills while they run; started when there is work for them. */
class WorkerPool {
  private readonly queue: { config: MunicipalityConfig; fingerprint: string }[] = [];
  private readonly live = new Set<ChildProcess>();
  /** workers already told to exit: told once only, and their closing pipe is not an error */
  private readonly exiting = new WeakSet<ChildProcess>();
  private readonly idle: (() => void)[] = [];
  private readonly jobs: number;
  private maxRss = 0;
  private done = 0;
  private expected: number;
  private closed = false;
  private stopped = false;
  private failure?: Error;
  private workersStarted = 0;
  private finish!: () => void;
  private abort!: (e: Error) => void;
  private readonly finished: Promise<void>;

  constructor(
    private readonly staging: string,
    total: number,
    private readonly o: ParallelSynthOptions,
    private readonly onDone: (reply: DoneReply) => void,
  ) {
    this.expected = total;
    this.finished = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.abort = reject;
    });
    this.finished.catch(() => undefined);
    this.jobs = Math.max(1, Math.min(o.jobs ?? os.cpus().length, total));
  }

  enqueue(work: { config: MunicipalityConfig; fingerprint: string }[]): void {
    if (this.stopped) return;
    this.queue.push(...work);
    // no more workers than stacks waiting: a run that finds all but one stack in the cache starts one
    while (this.live.size < this.jobs && this.live.size < this.queue.length + this.inFlight()) this.start();
    for (const wake of this.idle.splice(0)) wake();
  }

  /** No more configs will come. */
  close(): void {
    this.closed = true;
    this.expected = this.done + this.queue.length + this.inFlight();
    for (const wake of this.idle.splice(0)) wake();
    this.checkFinished();
  }

  /** Abandon the run (invalid input or a failure): workers are killed, nothing more is synthesized. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.length = 0;
    for (const w of this.live) w.kill();
    if (!this.failure) this.finish();
  }

  async settled(): Promise<{ maxRss: number; workersStarted: number }> {
    await this.finished;
    if (this.failure) throw this.failure;
    return { maxRss: this.maxRss, workersStarted: this.workersStarted };
  }

  private sentTotal = 0;
  private inFlight(): number {
    return this.sentTotal - this.done;
  }

  private checkFinished(): void {
    if (this.closed && this.done >= this.expected && this.queue.length === 0) {
      for (const w of this.live) this.tellExit(w);
      this.finish();
    }
  }

  private tellExit(worker: ChildProcess): void {
    if (this.exiting.has(worker) || !worker.connected) return;
    this.exiting.add(worker);
    worker.send({ type: "exit" } satisfies WorkerRequest, () => undefined); // a worker already gone needs no telling
  }

  private fail(message: string): void {
    if (this.failure) return;
    this.failure = new Error(message);
    this.stopped = true;
    for (const w of this.live) w.kill();
    this.abort(this.failure);
  }

  /** The workers' own directories in the staging directory (synth-worker.ts): not part of the output. */
  removeWorkDirs(): void {
    for (let n = 1; n <= this.workersStarted; n++) fs.rmSync(this.workDir(n), { recursive: true, force: true });
  }

  private workDir(n: number): string {
    return path.join(this.staging, `.worker-${n}`);
  }

  private start(): void {
    this.workersStarted++;
    const workDir = this.workDir(this.workersStarted);
    const worker = fork(WORKER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: workerExecArgv(process.execArgv) });
    this.live.add(worker);
    if (worker.pid) this.o.onWorkerStart?.(worker.pid);
    /** configs handed to this worker and not yet reported: what is lost if it dies */
    const held = new Set<string>();
    const recycleAfter = this.o.recycleAfter ?? 1000;
    let assigned = 0;
    let outstanding = 0;
    let retiring = false;
    const feed = () => {
      if (this.stopped || retiring) return;
      while (outstanding < QUEUE_DEPTH && assigned < recycleAfter && this.queue.length) {
        const { config, fingerprint } = this.queue.shift()!;
        assigned++;
        outstanding++;
        held.add(config.id);
        this.sentTotal++;
        const cache = this.o.cache ? { dir: this.o.cache.dir, fingerprint } : undefined;
        worker.send({ type: "synth", config, staging: this.staging, workDir, stateBucket: this.o.stateBucket, cache } satisfies WorkerRequest, (err) => {
          // a worker that is gone is reported by its exit, with every id it held (this one included): a closed
          // channel (EPIPE, ECONNRESET) can be seen here before the exit status is, so it is not a failure of its own
          if (!err) return;
          if (CHANNEL_GONE.has((err as NodeJS.ErrnoException).code ?? "")) worker.kill(); // so an exit surely follows
          else if (worker.connected && worker.exitCode === null && worker.signalCode === null) this.fail(`could not hand ${config.id} to a synthesis worker: ${err.message}`);
        });
      }
      if (outstanding === 0 && (assigned >= recycleAfter || (this.closed && this.queue.length === 0))) {
        retiring = true;
        this.tellExit(worker);
      } else if (outstanding < QUEUE_DEPTH && !this.closed && assigned < recycleAfter) {
        this.idle.push(feed); // wait for validation to produce more
      }
    };
    worker.on("message", (m: WorkerReply) => {
      if (m.type === "ready") return feed();
      if (m.type === "failed") return this.fail(`${m.id}: ${m.message}`);
      outstanding--;
      held.delete(m.id);
      this.maxRss = Math.max(this.maxRss, m.rssBytes);
      this.done++;
      this.onDone(m);
      feed();
      this.checkFinished();
    });
    worker.on("error", (err) => {
      if (!this.exiting.has(worker)) this.fail(`a synthesis worker failed: ${err.message}`);
    });
    worker.on("exit", (code, signal) => {
      this.live.delete(worker);
      if (this.stopped || this.failure) return;
      // a worker ends only when told to; any other end (a crash, the OOM killer, a kill) fails the whole run
      if (!this.exiting.has(worker) || code !== 0) {
        const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
        return this.fail(`a synthesis worker ${how}${held.size ? ` while synthesizing ${[...held].join(", ")}` : ""}: nothing was written`);
      }
      if (this.queue.length || !this.closed) this.start(); // recycled: a fresh worker takes over
    });
  }
}
