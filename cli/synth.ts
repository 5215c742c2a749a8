/**
 * Synthesis for the CLI: into a staging directory beside the output, swapped into place only when every stack
 * synthesized, so bad input or a failing construct never leaves a half-written or emptied cdktf.out; and only
 * into an output that is ours to replace (cli/output-dir.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { synthesize } from "../stacks/app";
import { beginOutput } from "./output-dir";

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

/** Marks a directory as a synthesized output alpha-prime may replace (cli/output-dir.ts). */
export const OUTPUT_MARKER = ".alpha-prime-output";
/** What cdktf.out held before the marker existed: such a directory is still recognised as ours. */
export const LEGACY_OUTPUT_LAYOUT = ["manifest.json", "stacks"] as const;

export function synthToDir(options: SynthOptions): string[] {
  if (options.only !== undefined && options.only.length === 0) throw new Error("--only names no municipality (give ids, or leave --only out for all)");
  const outdir = path.resolve(options.outdir);
  const tx = beginOutput(outdir, OUTPUT_MARKER, LEGACY_OUTPUT_LAYOUT);
  try {
    const configs = synthesize({ ...options, outdir: tx.staging });
    const ids = configs.map((c) => c.id);
    if (options.only !== undefined && fs.existsSync(path.join(outdir, "manifest.json"))) keepOthers(outdir, tx.staging, ids);
    tx.commit();
    return ids;
  } finally {
    tx.release();
  }
}

/**
 * A run for some municipalities keeps the others' stacks: they are linked (not copied) from the current output
 * into the staged one, and the manifests merged, so the swap stays a whole-directory swap.
 */
function keepOthers(outdir: string, staging: string, ids: string[]): void {
  const current = JSON.parse(fs.readFileSync(path.join(outdir, "manifest.json"), "utf8")) as Manifest;
  const fresh = JSON.parse(fs.readFileSync(path.join(staging, "manifest.json"), "utf8")) as Manifest;
  for (const id of Object.keys(current.stacks)) {
    if (ids.includes(id)) continue;
    const from = path.join(outdir, "stacks", id);
    if (!fs.existsSync(from)) continue;
    linkTree(from, path.join(staging, "stacks", id));
    fresh.stacks[id] = current.stacks[id];
  }
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(fresh.stacks).sort()) sorted[k] = fresh.stacks[k];
  fresh.stacks = sorted;
  fs.writeFileSync(path.join(staging, "manifest.json"), JSON.stringify(fresh, null, 2));
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
