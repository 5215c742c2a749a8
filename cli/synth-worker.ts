/**
 * A synthesis worker: receives configs one at a time, synthesizes each in an App of its own (so nothing of one
 * municipality stays in memory for the next), moves the stack directory into the shared staging directory, and
 * reports its manifest entry. cdktf's process-wide token map is emptied after each stack, so memory stays flat; the
 * parent still recycles workers after a number of stacks, as a bound on anything else that might grow.
 */
import { applySynthTuning, releaseTokensOfWrittenStacks } from "../stacks/cdktf-tuning";
applySynthTuning();
import * as fs from "fs";
import * as path from "path";
import { buildApp, synthKeepingManifest } from "../stacks/app";
import type { MunicipalityConfig } from "../config/types";
import { cacheable, StackCache } from "./stack-cache";

export type WorkerRequest =
  | { type: "synth"; config: MunicipalityConfig; staging: string; workDir: string; stateBucket?: string; cache?: { dir: string; fingerprint: string } }
  | { type: "exit" };
export type WorkerReply =
  | { type: "ready" }
  | { type: "done"; id: string; version: string; manifest: Record<string, unknown>; rssBytes: number; cached: boolean }
  | { type: "failed"; id: string; message: string };

const caches = new Map<string, StackCache>();

/** Keeps the stack in the synth cache; a cache that cannot be written costs a later run time, never this output. */
function store(cache: { dir: string; fingerprint: string } | undefined, id: string, stackDir: string, manifest: Record<string, unknown>): boolean {
  if (!cache || !cacheable(manifest)) return false;
  try {
    let c = caches.get(cache.dir);
    if (!c) caches.set(cache.dir, (c = StackCache.open(cache.dir)));
    c.store(cache.fingerprint, id, stackDir, manifest);
    return true;
  } catch {
    return false;
  }
}

let made: string | undefined;

/**
 * Where this worker's App writes, a directory of its own in the staging directory that the parent names and removes
 * (cdktf makes its stacks/ directory there, so workers cannot share one). It is made once, not per stack: each
 * stack's directory is moved out, and no manifest.json is written there (synthKeepingManifest).
 */
function workingDirectory(req: Extract<WorkerRequest, { type: "synth" }>): string {
  if (made === req.workDir) return made;
  fs.rmSync(req.workDir, { recursive: true, force: true });
  fs.mkdirSync(req.workDir, { recursive: true });
  fs.mkdirSync(path.join(req.staging, "stacks"), { recursive: true });
  return (made = req.workDir);
}

function send(reply: WorkerReply): void {
  process.send!(reply);
}

process.on("message", (req: WorkerRequest) => {
  if (req.type === "exit") return void (process.connected && process.disconnect());
  const { config } = req;
  // the run was abandoned (its process gone, its staging removed): write nothing, recreate nothing
  if (!process.connected || !fs.existsSync(req.staging)) process.exit(0);
  try {
    const own = workingDirectory(req);
    // the entry from memory: the parent writes the run's manifest (stacks/app.ts, synthKeepingManifest)
    const manifest = synthKeepingManifest(buildApp([config], { outdir: own, stateBucket: req.stateBucket }));
    releaseTokensOfWrittenStacks();
    if (!process.connected) process.exit(0);
    const stackDir = path.join(req.staging, "stacks", config.id);
    fs.renameSync(path.join(own, "stacks", config.id), stackDir);
    const cached = store(req.cache, config.id, stackDir, manifest.stacks[config.id]);
    send({ type: "done", id: config.id, version: manifest.version, manifest: manifest.stacks[config.id], rssBytes: process.memoryUsage.rss(), cached });
  } catch (e) {
    send({ type: "failed", id: config.id, message: (e as Error).message });
  }
});

// the parent is gone (killed, or the run abandoned): stop rather than finish work nobody will collect
process.on("disconnect", () => process.exit(0));

send({ type: "ready" });
