/**
 * Synthesis at national scale. Worker processes synthesize one municipality at a time each, in an App of its own,
 * into a staging directory that replaces the output only when every config was valid and every stack succeeded —
 * bad input still writes nothing. Validation runs in this process while the workers already synthesize the
 * configs validated so far, so neither core waits. Output is byte-identical to the one-process path (tested).
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
import { selectFiles } from "../stacks/app";
import { SaasCatalog } from "../catalog/saas-catalog";
import { beginOutput } from "./output-dir";
import { LEGACY_OUTPUT_LAYOUT, OUTPUT_MARKER } from "./synth";
import type { WorkerReply, WorkerRequest } from "./synth-worker";

export interface ParallelSynthOptions {
  readonly outdir: string;
  readonly envDir?: string;
  readonly only?: readonly string[];
  readonly stateBucket?: string;
  /** worker processes @default the number of CPUs */
  readonly jobs?: number;
  /** a worker exits after this many stacks and a fresh one takes over, bounding memory @default 300 */
  readonly recycleAfter?: number;
  readonly onProgress?: (done: number, total: number, id: string) => void;
  /** each worker process as it starts (diagnostics, and the fault tests that kill one) */
  readonly onWorkerStart?: (pid: number) => void;
}

export interface ParallelSynthResult {
  readonly ids: string[];
  readonly wallMs: number;
  /** the largest resident memory any worker reported */
  readonly maxWorkerRssBytes: number;
  readonly workersStarted: number;
}

/** The compiled worker (from source, as under ts-jest, the build in dist/ is used; `npm test` builds first). */
const WORKER = fs.existsSync(path.join(__dirname, "synth-worker.js")) ? path.join(__dirname, "synth-worker.js") : path.join(REPO_ROOT, "dist", "cli", "synth-worker.js");
/** configs validated per turn of the event loop, so worker messages are answered promptly */
const VALIDATION_BATCH = 16;
/** configs queued per worker, so a worker never waits for the next one */
const QUEUE_DEPTH = 2;

/** Errors of a send to a worker whose IPC channel is already closed: the worker's exit says what happened. */
const CHANNEL_GONE = new Set(["EPIPE", "ECONNRESET", "ERR_IPC_CHANNEL_CLOSED"]);

export async function synthParallel(o: ParallelSynthOptions): Promise<ParallelSynthResult> {
  const started = Date.now();
  if (o.only !== undefined && o.only.length === 0) throw new Error("--only names no municipality (give ids, or leave --only out for all)");
  const files = selectFiles(o.envDir ?? defaultEnvDir(), o.only);
  const outdir = path.resolve(o.outdir);
  const tx = beginOutput(outdir, OUTPUT_MARKER, LEGACY_OUTPUT_LAYOUT);
  const staging = tx.staging;
  let pool: WorkerPool;
  try {
    pool = new WorkerPool(staging, files.length, o);
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
      else pool.enqueue(r.configs);
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
    // cdktf's own manifest writer, so the file is formatted exactly as the one-process path writes it
    const { Manifest } = require("cdktf/lib/manifest") as { Manifest: new (v: string, d: string, h: boolean) => { stacks: Record<string, unknown>; writeToFile(): void } };
    const manifest = new Manifest(result.version, staging, false);
    for (const c of configs) manifest.stacks[c.id] = result.entries.get(c.id)!;
    manifest.writeToFile();
    tx.commit();
    return { ids: configs.map((c) => c.id), wallMs: Date.now() - started, maxWorkerRssBytes: result.maxRss, workersStarted: result.workersStarted };
  } finally {
    pool.stop();
    tx.release();
  }
}

/** Worker processes fed from a queue that validation fills while they run. */
class WorkerPool {
  private readonly queue: MunicipalityConfig[] = [];
  private readonly live = new Set<ChildProcess>();
  /** workers already told to exit: told once only, and their closing pipe is not an error */
  private readonly exiting = new WeakSet<ChildProcess>();
  private readonly entries = new Map<string, Record<string, unknown>>();
  private readonly idle: (() => void)[] = [];
  private version = "";
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

  constructor(private readonly staging: string, total: number, private readonly o: ParallelSynthOptions) {
    this.expected = total;
    this.finished = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.abort = reject;
    });
    this.finished.catch(() => undefined);
    const jobs = Math.max(1, Math.min(o.jobs ?? os.cpus().length, total));
    for (let i = 0; i < jobs; i++) this.start();
  }

  enqueue(configs: MunicipalityConfig[]): void {
    this.queue.push(...configs);
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

  async settled(): Promise<{ entries: Map<string, Record<string, unknown>>; version: string; maxRss: number; workersStarted: number }> {
    await this.finished;
    if (this.failure) throw this.failure;
    return { entries: this.entries, version: this.version, maxRss: this.maxRss, workersStarted: this.workersStarted };
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

  private start(): void {
    this.workersStarted++;
    const worker = fork(WORKER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.live.add(worker);
    if (worker.pid) this.o.onWorkerStart?.(worker.pid);
    /** configs handed to this worker and not yet reported: what is lost if it dies */
    const held = new Set<string>();
    const recycleAfter = this.o.recycleAfter ?? 300;
    let assigned = 0;
    let outstanding = 0;
    let retiring = false;
    const feed = () => {
      if (this.stopped || retiring) return;
      while (outstanding < QUEUE_DEPTH && assigned < recycleAfter && this.queue.length) {
        const config = this.queue.shift()!;
        assigned++;
        outstanding++;
        held.add(config.id);
        this.sentTotal++;
        worker.send({ type: "synth", config, staging: this.staging, stateBucket: this.o.stateBucket } satisfies WorkerRequest, (err) => {
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
      this.entries.set(m.id, m.manifest);
      this.version = m.version;
      this.maxRss = Math.max(this.maxRss, m.rssBytes);
      this.done++;
      this.o.onProgress?.(this.done, this.expected, m.id);
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
