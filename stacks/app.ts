/**
 * Building the cdktf App from env files: all municipalities, or only the selected ones (unselected stacks are
 * never constructed, so `cdktf deploy <id>` pays for one municipality, not all of them).
 */
import * as fs from "fs";
import * as path from "path";
import type { App } from "cdktf";
import { closest } from "../core/errors";
import { envFiles, loadOrThrow } from "../config/load";
import { defaultEnvDir } from "../core/paths";
import type { MunicipalityConfig } from "../config/types";

/** Environment variable that selects municipalities (comma-separated ids) for the cdktf CLI. */
export const SELECT_ENV = "ALPHA_PRIME_STACKS";
/** Environment variable naming the S3 state bucket for municipalities without `state.bucket`. */
export const STATE_BUCKET_ENV = "ALPHA_PRIME_STATE_BUCKET";

export interface BuildOptions {
  readonly outdir: string;
  readonly envDir?: string;
  /** ids to construct; all env files when empty or undefined */
  readonly only?: readonly string[];
  readonly stateBucket?: string;
}

/** The env files to load: one per selected id (found by name), else every file in the directory. */
export function selectFiles(envDir: string, only?: readonly string[]): string[] {
  if (!only || only.length === 0) return envFiles(envDir);
  const all = envFiles(envDir);
  return only.map((id) => {
    const f = all.find((file) => path.basename(file).replace(/\.ya?ml$/, "") === id);
    if (!f) {
      const known = all.map((file) => path.basename(file).replace(/\.ya?ml$/, ""));
      const likely = closest(id, known);
      // a national env directory holds 1,741 ids: name the likely one, and list them only when they are few
      const listed = known.length <= 20 ? `known: ${known.join(", ")}` : `${known.length} known`;
      throw new Error(`no env file for municipality '${id}' in ${envDir} (${likely ? `did you mean '${likely}'? ` : ""}${listed})`);
    }
    return f;
  });
}

export function loadSelected(options: Pick<BuildOptions, "envDir" | "only">): MunicipalityConfig[] {
  return loadOrThrow(selectFiles(options.envDir ?? defaultEnvDir(), options.only));
}

/** Constructs the app (without synthesizing it). */
export function buildApp(configs: readonly MunicipalityConfig[], options: Pick<BuildOptions, "outdir" | "stateBucket">): App {
  // loaded here, not at the top: a synth whose stacks all come from the cache never needs cdktf or the constructs
  const { App } = require("cdktf") as typeof import("cdktf");
  const { MunicipalityStack } = require("./municipality-stack") as typeof import("./municipality-stack");
  // stackTraces off: no per-construct traces in metadata (smaller, faster, nothing machine-specific).
  const app = new App({ outdir: options.outdir, stackTraces: false });
  for (const config of configs) new MunicipalityStack(app, config, { stateBucket: options.stateBucket });
  return app;
}

/**
 * Loads, constructs and synthesizes; nothing is written unless every selected config is valid. The output records
 * what it was made from (stacks/output-record.ts), so `check` and `diff` can tell when it no longer matches.
 */
export function synthesize(options: BuildOptions): MunicipalityConfig[] {
  const configs = loadSelected(options);
  fs.mkdirSync(options.outdir, { recursive: true });
  buildApp(configs, options).synth();
  const { catalogFileInEffect, fileSource, toolkitSummary, writeInputsRecord } = require("./output-record") as typeof import("./output-record");
  const { InputsContext, toolkitIdentity } = require("./inputs") as typeof import("./inputs");
  const { SaasCatalog } = require("../catalog/saas-catalog") as typeof import("../catalog/saas-catalog");
  const toolkit = toolkitIdentity();
  const context = new InputsContext(toolkit, SaasCatalog.default(), options.stateBucket);
  writeInputsRecord(options.outdir, {
    source: fileSource(options.outdir, options.envDir ?? defaultEnvDir(), catalogFileInEffect()),
    selection: options.only?.length ? { kind: "only", ids: [...options.only] } : { kind: "all" },
    toolkit: toolkitSummary(toolkit),
    stacks: Object.fromEntries(configs.map((c) => [c.id, context.of(c)])),
  });
  return configs;
}

/** cdktf's manifest as it would be written: its version and one entry per stack. */
export interface SynthManifest {
  readonly version: string;
  readonly stacks: Record<string, Record<string, unknown>>;
}

/**
 * Synthesizes the app and returns cdktf's manifest instead of writing manifest.json. A synthesis worker (cli/synth-worker.ts)
 * builds one App per stack and hands the entry to the parent, which writes the run's one manifest (writeManifest):
 * the file each App.synth ends by writing would only be read back, parsed and removed, about 1.5 % of a worker's
 * CPU. Everything else App.synth does (stacks, validation) is unchanged.
 */
export function synthKeepingManifest(app: App): SynthManifest {
  const manifest = (app as unknown as { manifest: { writeToFile(): void; buildManifest(): SynthManifest } }).manifest;
  manifest.writeToFile = () => undefined;
  app.synth();
  return manifest.buildManifest();
}

/** Writes cdktf.out/manifest.json for stacks synthesized apart (workers, the synth cache), as cdktf's App writes it. */
export function writeManifest(outdir: string, stacks: Iterable<[string, Record<string, unknown>]>): void {
  const { Manifest } = require("cdktf/lib/manifest") as { Manifest: new (v: string, d: string, h: boolean) => { stacks: Record<string, unknown>; writeToFile(): void } };
  const { version } = require("cdktf/package.json") as { version: string };
  const manifest = new Manifest(version, outdir, false);
  for (const [id, entry] of stacks) manifest.stacks[id] = entry;
  manifest.writeToFile();
}
