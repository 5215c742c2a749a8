/**
 * Synthesis for the CLI: into a staging directory beside the output, swapped into place only when every stack
 * synthesized, so bad input or a failing construct never leaves a half-written or emptied cdktf.out; and only
 * into an output that is ours to replace (cli/output-dir.ts). Stacks whose inputs are unchanged come from the synth
 * cache (cli/stack-cache.ts); the output records what it was made from (stacks/output-record.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { SaasCatalog } from "../catalog/saas-catalog";
import { loadOrThrow } from "../config/load";
import type { MunicipalityConfig } from "../config/types";
import { defaultEnvDir } from "../core/paths";
import { buildApp, selectFiles, writeManifest } from "../stacks/app";
import { InputsContext, StackInputs, toolkitIdentity } from "../stacks/inputs";
import { catalogFileInEffect, currentInputs, fileSource, OutputSource, readInputsRecord, Selection, staleReason, toolkitSummary, writeInputsRecord } from "../stacks/output-record";
import { beginOutput } from "./output-dir";
import { cacheable, errorAnnotations, StackCache } from "./stack-cache";

export interface SynthOptions {
  readonly outdir: string;
  readonly envDir?: string;
  readonly only?: readonly string[];
  readonly stateBucket?: string;
  /** reuse and keep stacks in this cache (none: synthesize every stack) */
  readonly cache?: StackCache;
  /** what the output is recorded as holding (default: every env file, or `only`) */
  readonly selection?: Selection;
  /** recorded instead of the env directory, for an output of a git revision (review/revisions.ts) */
  readonly revision?: { readonly ref: string; readonly commit: string };
}

export interface SynthResult {
  readonly ids: string[];
  /** stacks taken from the cache */
  readonly reused: string[];
  /** stacks built in this run */
  readonly synthesized: string[];
  /** stacks of a previous output kept because their inputs are unchanged (`--only`) */
  readonly kept: string[];
}

/** Marks a directory as a synthesized output alpha-prime may replace (cli/output-dir.ts). */
export const OUTPUT_MARKER = ".alpha-prime-output";
/**
 * What cdktf.out held before the marker existed, and what the cdktf app (`cdktf synth`, stacks/main.ts) writes:
 * such a directory is still recognised as ours.
 */
export const LEGACY_OUTPUT_LAYOUT = ["manifest.json", "stacks", "inputs.json?"] as const;

/** Synthesizes in this process, one cdktf App for every stack not in the cache; returns the ids. */
export function synthToDir(options: SynthOptions): string[] {
  return synthInProcess(options).ids;
}

export function synthInProcess(options: SynthOptions): SynthResult {
  const envDir = options.envDir ?? defaultEnvDir();
  const files = filesToSynthesize(envDir, options);
  const outdir = path.resolve(options.outdir);
  const tx = beginOutput(outdir, OUTPUT_MARKER, LEGACY_OUTPUT_LAYOUT);
  try {
    const configs = loadOrThrow(files);
    const run = new OutputAssembly(outdir, tx.staging, envDir, options);
    const misses: MunicipalityConfig[] = [];
    for (const c of configs) if (!run.fromCache(c)) misses.push(c);
    if (misses.length) {
      buildApp(misses, { outdir: tx.staging, stateBucket: options.stateBucket }).synth();
      const written = JSON.parse(fs.readFileSync(path.join(tx.staging, "manifest.json"), "utf8")) as { stacks: Record<string, Record<string, unknown>> };
      for (const c of misses) run.synthesized(c.id, written.stacks[c.id]);
    }
    const result = run.finish(configs.map((c) => c.id));
    tx.commit();
    run.evict();
    return result;
  } finally {
    tx.release();
  }
}

/**
 * The env files of a run. An empty selection is refused, except for `--changed-since` with nothing changed: that
 * output holds no stack and says so (stacks/output-record.ts).
 */
export function filesToSynthesize(envDir: string, options: Pick<SynthOptions, "only" | "selection">): string[] {
  if (options.only !== undefined && options.only.length === 0) {
    if (options.selection?.kind === "changed-since") return [];
    throw new Error("--only names no municipality (give ids, or leave --only out for all)");
  }
  return selectFiles(envDir, options.only);
}

/**
 * With CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS set, cdktf writes a stack whose error annotations (the policy pack's
 * unsuppressed error findings among them) would have stopped the synth, and leaves the caller to report them: cdktf's
 * own CLI does, and so does this one. The run fails with every error and nothing is written, as without the variable.
 */
function refuseErrorAnnotations(entries: readonly Record<string, unknown>[]): void {
  const errors = entries.flatMap((entry) => errorAnnotations(entry) ?? []);
  // cdktf's own wording, so the CLI reports it as it reports a synth stopped by the pack (exit 1, nothing written)
  if (errors.length) throw new Error(`Encountered Annotations with level "ERROR":\n${errors.join("\n")}\n(CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS defers these errors to the caller; alpha-prime still refuses them)`);
}

/**
 * What every synth path shares: inputs per stack, cache hits and stores, the stacks kept by `--only`, and the
 * manifest and inputs record written last (cli/parallel-synth.ts uses it too).
 */
export class OutputAssembly {
  readonly context: InputsContext;
  private readonly inputs = new Map<string, StackInputs>();
  private readonly entries = new Map<string, Record<string, unknown>>();
  private readonly reused: string[] = [];
  private readonly built: string[] = [];
  private stored = false;

  constructor(
    private readonly outdir: string,
    private readonly staging: string,
    private readonly envDir: string,
    private readonly options: SynthOptions,
    /** the code root that synthesizes (the workers' dist/ under ts-jest) */
    codeRoot?: string,
  ) {
    this.context = new InputsContext(toolkitIdentity(codeRoot), SaasCatalog.default(), options.stateBucket, codeRoot);
  }

  /** Records the config's inputs; true when its stack came from the cache into the staging directory. */
  fromCache(config: MunicipalityConfig): boolean {
    const inputs = this.context.of(config);
    this.inputs.set(config.id, inputs);
    const entry = this.options.cache?.restore(inputs.fingerprint, config.id, path.join(this.staging, "stacks", config.id));
    if (!entry) return false;
    this.entries.set(config.id, entry);
    this.reused.push(config.id);
    return true;
  }

  fingerprintOf(id: string): string {
    return this.inputs.get(id)!.fingerprint;
  }

  /** A stack synthesized in this run (in this process, or moved into staging by a worker that also cached it). */
  synthesized(id: string, manifest: Record<string, unknown>, alreadyCached = false): void {
    this.entries.set(id, manifest);
    this.built.push(id);
    const cache = this.options.cache;
    if (!cache || alreadyCached || !cacheable(manifest)) return;
    try {
      cache.store(this.fingerprintOf(id), id, path.join(this.staging, "stacks", id), manifest);
      this.stored = true;
    } catch {
      // a cache that cannot be written (disk full, permissions) costs the next run time, never this one's output
    }
  }

  /** A worker stored an entry: the cache may need trimming at the end. */
  noteStored(): void {
    this.stored = true;
  }

  /** Writes the manifest and the inputs record for `ids` (in this order), plus what `--only` keeps. */
  finish(ids: readonly string[]): SynthResult {
    // only a plain --only keeps others: a recorded selection (--changed-since, a revision's subset) holds what it names
    const kept = this.options.only !== undefined && !this.options.selection ? this.keepCurrent(new Set(ids)) : [];
    const all = [...ids, ...kept];
    const entries = all.map((id): [string, Record<string, unknown>] => [id, this.entries.get(id)!]);
    refuseErrorAnnotations(entries.map(([, entry]) => entry));
    writeManifest(this.staging, entries);
    const source: OutputSource = this.options.revision ? { revision: this.options.revision } : fileSource(this.outdir, this.envDir, catalogFileInEffect());
    writeInputsRecord(this.staging, {
      source,
      selection: this.options.selection ?? (this.options.only !== undefined ? { kind: "only", ids: [...ids] } : { kind: "all" }),
      toolkit: toolkitSummary(this.context.toolkit),
      stacks: Object.fromEntries(all.map((id) => [id, this.inputs.get(id)!])),
    });
    return { ids: [...ids], reused: this.reused, synthesized: this.built, kept };
  }

  /**
   * `synth --only` keeps the other stacks of the current output, but only those still current: synthesized by
   * this toolkit from an env file in this directory that still says the same, with the same catalog entries and
   * tier row. A stack of another branch, or of a file changed or removed since, is dropped rather than left to
   * read as "added" or as current in the next diff. Kept stacks are linked (not copied) into the staged output.
   */
  private keepCurrent(ids: ReadonlySet<string>): string[] {
    const record = readInputsRecord(this.outdir);
    if (!record || "revision" in record.source) return [];
    if (path.resolve(this.outdir, record.source.envDir) !== path.resolve(this.envDir)) return [];
    let current: { stacks: Record<string, Record<string, unknown>> };
    try {
      current = JSON.parse(fs.readFileSync(path.join(this.outdir, "manifest.json"), "utf8"));
    } catch {
      return [];
    }
    const now = currentInputs(this.envDir, SaasCatalog.default(), this.context.toolkit);
    const kept: string[] = [];
    for (const [id, inputs] of Object.entries(record.stacks)) {
      if (ids.has(id) || !current.stacks?.[id] || staleReason(inputs, now) !== undefined) continue;
      // the state bucket is not a file input: a stack that took it from the environment must have this run's
      if ("stateBucket" in inputs && inputs.stateBucket !== (this.options.stateBucket ?? null)) continue;
      const from = path.join(this.outdir, "stacks", id);
      if (!fs.existsSync(from)) continue;
      linkTree(from, path.join(this.staging, "stacks", id));
      this.entries.set(id, current.stacks[id]);
      this.inputs.set(id, inputs);
      kept.push(id);
    }
    return kept.sort();
  }

  /** Trims the cache when this run added to it. */
  evict(): void {
    if (!this.stored || !this.options.cache) return;
    try {
      this.options.cache.evict();
    } catch {
      /* trimming is best effort; the limit is enforced again by the next run */
    }
  }
}

function linkTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, e.name);
    const b = path.join(to, e.name);
    if (e.isDirectory()) linkTree(a, b);
    else if (e.isFile()) {
      try {
        fs.linkSync(a, b);
      } catch {
        fs.copyFileSync(a, b);
      }
    }
  }
}

/** Up to this many municipalities are synthesized in this process: starting workers would cost more. */
export const IN_PROCESS_LIMIT = 8;

export interface OutputOptions extends SynthOptions {
  /** worker processes (default: one per CPU beyond IN_PROCESS_LIMIT municipalities) */
  readonly jobs?: number;
  /** one process and one App (the reference path) */
  readonly plain?: boolean;
  readonly onProgress?: (done: number, total: number, id: string) => void;
}

export interface OutputResult extends SynthResult {
  readonly wallMs: number;
  /** worker processes started and the largest one's memory, when workers ran */
  readonly workers?: { readonly started: number; readonly maxRssBytes: number };
}

/** The CLI's synth: in this process for a few municipalities (or --plain), in worker processes otherwise. */
export async function synthesizeOutput(o: OutputOptions): Promise<OutputResult> {
  const started = Date.now();
  const count = filesToSynthesize(o.envDir ?? defaultEnvDir(), o).length;
  if (o.plain || (o.jobs === undefined && count <= IN_PROCESS_LIMIT)) return { ...synthInProcess(o), wallMs: Date.now() - started };
  const { synthParallel } = require("./parallel-synth") as typeof import("./parallel-synth");
  const r = await synthParallel(o);
  return { ...r, wallMs: r.wallMs, workers: { started: r.workersStarted, maxRssBytes: r.maxWorkerRssBytes } };
}

/** The synth cache at its standard place, or undefined (with a warning) when it cannot be opened. */
export function openCache(warn: (text: string) => void): StackCache | undefined {
  try {
    return StackCache.open();
  } catch (e) {
    warn(`alpha-prime: the synth cache cannot be used (${(e as Error).message}); synthesizing every stack\n`);
    return undefined;
  }
}
