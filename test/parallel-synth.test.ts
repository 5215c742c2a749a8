import * as fs from "fs";
import * as path from "path";
import { synthParallel, workerExecArgv } from "../cli/parallel-synth";
import { OUTPUT_MARKER } from "../cli/synth";
import { synthToDir } from "../cli/synth";
import { ConfigError } from "../core/errors";
import { writeSyntheticEnv } from "../bench/generate";
import { ENV_DIR, sampleText, envDirWith, tempDir, tree } from "./helpers";
import { buildApp, loadSelected, synthKeepingManifest } from "../stacks/app";


// The workers patch out cdktf's token stack traces; this jest process does not: comparing the two also proves
// the patch leaves the output unchanged.
describe("the fast path (worker processes, one App per stack) writes exactly what the plain path writes", () => {
  test("for the sample municipalities", async () => {
    const plain = path.join(tempDir(), "plain");
    const fast = path.join(tempDir(), "fast");
    synthToDir({ outdir: plain, envDir: ENV_DIR });
    await synthParallel({ outdir: fast, envDir: ENV_DIR, jobs: 2 });
    expect(tree(fast)).toEqual(tree(plain));
  });

  test("for synthetic municipalities across tiers and options, with workers recycled", async () => {
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 10, "uniform");
    const plain = path.join(tempDir(), "plain");
    const fast = path.join(tempDir(), "fast");
    synthToDir({ outdir: plain, envDir: env });
    const progress: number[] = [];
    const r = await synthParallel({ outdir: fast, envDir: env, jobs: 2, recycleAfter: 3, onProgress: (done) => progress.push(done) });
    expect(tree(fast)).toEqual(tree(plain));
    expect(r.workersStarted).toBeGreaterThanOrEqual(4);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(fast, "manifest.json"), "utf8")).stacks)).toHaveLength(10);
  });

  test("a worker's App hands over cdktf's manifest instead of writing it: the same entries, and no manifest.json", () => {
    const configs = loadSelected({ envDir: ENV_DIR, only: ["kaga"] });
    const written = tempDir();
    buildApp(configs, { outdir: written }).synth();
    const kept = tempDir();
    const manifest = synthKeepingManifest(buildApp(configs, { outdir: kept }));
    expect(fs.existsSync(path.join(kept, "manifest.json"))).toBe(false);
    expect(JSON.parse(JSON.stringify(manifest))).toEqual(JSON.parse(fs.readFileSync(path.join(written, "manifest.json"), "utf8")));
    expect(tree(path.join(kept, "stacks"))).toEqual(tree(path.join(written, "stacks")));
  });

  test("bad input anywhere stops the run, reports every file's errors, and leaves the output as it was", async () => {
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 40);
    fs.writeFileSync(path.join(env, "m0033.yaml"), fs.readFileSync(path.join(env, "m0033.yaml"), "utf8").replace("bandwidthTier: 1g", "bandwidthTier: 3g").replace("bandwidthTier: 2g", "bandwidthTier: 3g"));
    fs.writeFileSync(path.join(env, "zz-extra.yaml"), sampleText("kaga").replace("id: kaga", "id: zz-extra").replace("retentionDays: 365", "retentionDay: 365"));
    const out = path.join(tempDir(), "cdktf.out");
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, "keep.txt"), "previous output");
    fs.writeFileSync(path.join(out, OUTPUT_MARKER), "an output of an earlier run\n");
    const error = await synthParallel({ outdir: out, envDir: env, jobs: 2 }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const where = (error as ConfigError).issues.map((i) => `${path.basename(i.file)} ${i.path}`);
    expect(where).toEqual(expect.arrayContaining(["m0033.yaml /bandwidthTier", "zz-extra.yaml /logging/retentionDay"]));
    expect(tree(out)).toEqual({ "keep.txt": "previous output", [OUTPUT_MARKER]: "an output of an earlier run\n" });
    expect(fs.readdirSync(path.dirname(out))).toEqual(["cdktf.out"]);
  });

  test("an unknown municipality is refused before anything starts", async () => {
    await expect(synthParallel({ outdir: path.join(tempDir(), "o"), envDir: envDirWith({ "mitoyo.yaml": sampleText("mitoyo") }), only: ["nowhere"] })).rejects.toThrow(/no env file for municipality 'nowhere'/);
  });
});

describe("CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS defers the pack's errors to the caller, and this caller still refuses them", () => {
  // a suppression that matches nothing is an error finding (AP-SUP-001) of an otherwise valid config
  const unmatched = sampleText("kaga").replace("operations:", `suppressions:\n  - rule: AP-NET-006\n    resource: aws_security_group.Nothing\n    reason: "この許可は移行期間中のみ必要であり、移行完了後に削除する予定です"\noperations:`);
  const withContinue = async <T>(run: () => Promise<T> | T) => {
    process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS = "1";
    try {
      return await run();
    } finally {
      delete process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS;
    }
  };

  test.each([
    ["worker processes", (o: { outdir: string; envDir: string }) => synthParallel({ ...o, jobs: 2 })],
    ["one process", (o: { outdir: string; envDir: string }) => synthToDir(o)],
  ])("%s: the run fails with the finding, and the output is left as it was", async (_how, synth) => {
    const envDir = envDirWith({ "kaga.yaml": unmatched, "mitoyo.yaml": sampleText("mitoyo") });
    const out = path.join(tempDir(), "cdktf.out");
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, OUTPUT_MARKER), "an output of an earlier run\n");
    const error = await withContinue(async () => {
      try {
        await synth({ outdir: out, envDir });
        return undefined;
      } catch (e) {
        return e as Error;
      }
    });
    expect(error?.message).toMatch(/\[kaga\] AP-SUP-001 suppressions\[0\]: suppression of AP-NET-006 on aws_security_group\.Nothing matches no finding/);
    expect(tree(out)).toEqual({ [OUTPUT_MARKER]: "an output of an earlier run\n" });
  });
});

describe("how workers run V8", () => {
  test("each worker runs single-threaded, and still writes what the plain path writes", async () => {
    const plain = path.join(tempDir(), "plain");
    const fast = path.join(tempDir(), "fast");
    synthToDir({ outdir: plain, envDir: ENV_DIR });
    const argvs: string[][] = [];
    // /proc shows a process's own command line; fork returns after the worker's exec
    const read = (pid: number) => argvs.push(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"));
    await synthParallel({ outdir: fast, envDir: ENV_DIR, jobs: 2, onWorkerStart: read });
    expect(tree(fast)).toEqual(tree(plain));
    expect(argvs.length).toBeGreaterThan(0);
    for (const argv of argvs) expect(argv).toContain("--single-threaded");
  });

  test("a flag the run was given, or its opposite, is kept", () => {
    expect(workerExecArgv([])).toEqual(["--single-threaded"]);
    expect(workerExecArgv(["--inspect"])).toEqual(["--inspect", "--single-threaded"]);
    expect(workerExecArgv(["--no-single-threaded"])).toEqual(["--no-single-threaded"]);
    expect(workerExecArgv(["--single_threaded"])).toEqual(["--single_threaded"]);
    // V8's other spelling of the opposite: `node --nosingle-threaded` runs, and its workers must not be made single-threaded
    expect(workerExecArgv(["--nosingle-threaded"])).toEqual(["--nosingle-threaded"]);
    expect(workerExecArgv(["--nosingle_threaded"])).toEqual(["--nosingle_threaded"]);
  });
});

describe("synthesis tuning changes speed, never output", () => {
  const synthesizeWith = (envDir: string, env: Record<string, string>) => {
    const { spawnSync } = require("child_process") as typeof import("child_process");
    const { REPO_ROOT } = require("../core/paths") as typeof import("../core/paths");
    const out = path.join(tempDir(), "cdktf.out");
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "dist", "stacks", "main.js")], { env: { ...process.env, ALPHA_PRIME_ENV_DIR: envDir, CDKTF_OUTDIR: out, ...env }, encoding: "utf8" });
    expect(r.stderr).toBe("");
    return tree(out);
  };
  const PLAIN = { ALPHA_PRIME_PLAIN_CDKTF: "1" };

  test("plain cdktf (ALPHA_PRIME_PLAIN_CDKTF=1: token stack traces, preparing resolve, cdktf's own resolves) writes the same bytes for the samples", () => {
    expect(synthesizeWith(ENV_DIR, PLAIN)).toEqual(synthesizeWith(ENV_DIR, {}));
  });

  test("... and for synthetic municipalities of every tier and option", () => {
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 12, "uniform");
    const plain = synthesizeWith(env, PLAIN);
    expect(Object.keys(plain).filter((f) => f.endsWith("cdk.tf.json"))).toHaveLength(12);
    expect(synthesizeWith(env, {})).toEqual(plain);
  });
});

describe("deferred archiver", () => {
  test("loading the tuning module and then cdktf leaves the archiver unloaded", () => {
    const { spawnSync } = require("child_process") as typeof import("child_process");
    const { REPO_ROOT } = require("../core/paths") as typeof import("../core/paths");
    const script = `require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "cdktf-tuning.js"))}).applySynthTuning();
      require("cdktf");
      console.log(Object.keys(require.cache).filter((k) => k.includes("/archiver/lib/")).length);`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
    expect([r.stderr, r.stdout.trim()]).toEqual(["", "0"]);
  });

  test("the stand-in loads the real archiver on first use", () => {
    const { spawnSync } = require("child_process") as typeof import("child_process");
    const { REPO_ROOT } = require("../core/paths") as typeof import("../core/paths");
    const script = `require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "cdktf-tuning.js"))}).applySynthTuning();
      const id = require.resolve("archiver", { paths: [require("path").dirname(require.resolve("cdktf"))] });
      const before = typeof require.cache[id].exports;
      const zip = require(id)("zip");
      console.log(before, typeof zip.append, typeof zip.finalize);`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
    expect([r.stderr, r.stdout.trim()]).toEqual(["", "function function function"]);
  });
});
