/**
 * Synthesis for the CLI: into a temporary directory beside the output, then moved into place only when every
 * stack synthesized, so bad input or a failing construct never leaves a half-written or emptied cdktf.out.
 */
import * as fs from "fs";
import * as path from "path";
import { synthesize } from "../stacks/app";

export interface SynthOptions {
  readonly outdir: string;
  readonly envDir?: string;
  readonly only?: readonly string[];
  readonly stateBucket?: string;
}

interface Manifest {
  version: string;
  stacks: Record<string, unknown>;
}

export function synthToDir(options: SynthOptions): string[] {
  const outdir = path.resolve(options.outdir);
  fs.mkdirSync(path.dirname(outdir), { recursive: true });
  const staging = fs.mkdtempSync(`${outdir}.staging-`);
  try {
    const configs = synthesize({ ...options, outdir: staging });
    const ids = configs.map((c) => c.id);
    const partial = options.only !== undefined && options.only.length > 0 && fs.existsSync(path.join(outdir, "manifest.json"));
    if (partial) mergeInto(staging, outdir, ids);
    else replaceDir(staging, outdir);
    return ids;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Replaces `outdir` by `staging` (rename keeps the swap short; the old tree is removed afterwards). */
export function replaceDir(staging: string, outdir: string): void {
  const old = `${outdir}.old-${process.pid}`;
  if (fs.existsSync(outdir)) fs.renameSync(outdir, old);
  fs.renameSync(staging, outdir);
  fs.rmSync(old, { recursive: true, force: true });
}

/** Updates only the selected stacks of an existing output, keeping the others and merging the manifest. */
function mergeInto(staging: string, outdir: string, ids: string[]): void {
  const manifestPath = path.join(outdir, "manifest.json");
  const current = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as Manifest;
  const fresh = JSON.parse(fs.readFileSync(path.join(staging, "manifest.json"), "utf8")) as Manifest;
  for (const id of ids) {
    const target = path.join(outdir, "stacks", id);
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(path.join(staging, "stacks", id), target);
    current.stacks[id] = fresh.stacks[id];
  }
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(current.stacks).sort()) sorted[k] = current.stacks[k];
  current.stacks = sorted;
  fs.writeFileSync(manifestPath, JSON.stringify(current, null, 2));
}
