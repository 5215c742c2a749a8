/**
 * A property-based fuzz of the env-file loader (fast-check), bounded in time: whatever bytes or values a pull
 * request puts into an env file, loading never throws, never hangs, and answers either a config or located issues
 * whose text is safe to print; and a file that validates also synthesizes ("validate means deployable").
 * Seeded, so a failure is reproducible; FUZZ_SECONDS raises the budget for a longer local run.
 */
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { parse as parseYaml } from "yaml";
import { formatIssue } from "../core/errors";
import { loadFiles } from "../config/load";
import { buildApp } from "../stacks/app";
import { sampleText, tempDir } from "./helpers";

const BUDGET_MS = Number(process.env.FUZZ_SECONDS ?? 12) * 1000;
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const samples = ["ashiya", "kaga", "mitoyo"].map((id) => ({ id, text: sampleText(id) }));
const dir = tempDir("alpha-prime-fuzz-");
let synthesized = 0;

function loadText(name: string, content: string | Buffer) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  const started = Date.now();
  const r = loadFiles([file]);
  return { ...r, ms: Date.now() - started };
}

/** What every answer of the loader must be, for any input. */
function wellFormed(r: ReturnType<typeof loadText>): void {
  expect(r.ms).toBeLessThan(2000);
  expect(r.configs.length + r.issues.length).toBeGreaterThan(0);
  if (r.issues.length) expect(r.configs).toEqual([]);
  for (const i of r.issues) {
    expect(i.line).toBeGreaterThanOrEqual(1);
    expect(i.column).toBeGreaterThanOrEqual(1);
    expect(i.path.startsWith("/")).toBe(true);
    expect(typeof i.message === "string" && i.message.length > 0).toBe(true);
    const text = formatIssue(i);
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    expect(text.length).toBeLessThan(4000);
  }
  // a file that validates must also synthesize: nothing validate accepts is refused later without a location
  if (r.configs.length && synthesized < 25) {
    synthesized++;
    buildApp(r.configs, { outdir: fs.mkdtempSync(path.join(dir, "out-")) }).synth();
  }
}

/** Byte-level damage to a real env file: inserts, deletions, swaps of lines, odd characters. */
const mutatedText = fc
  .record({
    sample: fc.constantFrom(...samples),
    edits: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("&a ", "*a", "!!binary ", "${file(\"x\")}", "%{ if 1 }", "\u2028", "\u202e", "\u0000", "\x1b[2J", ": ", "- ", "\n  ", "'", '"', "{", "[", "#", "__proto__: 1\n", "<<: *a\n")) }),
        fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
        fc.record({ kind: fc.constant("swapLines" as const), a: fc.nat(), b: fc.nat() }),
        fc.record({ kind: fc.constant("bytes" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
      ),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .map(({ sample, edits }) => {
    let buf = Buffer.from(sample.text);
    for (const e of edits) {
      const at = buf.length ? ("at" in e ? e.at % buf.length : 0) : 0;
      if (e.kind === "insert") buf = Buffer.concat([buf.subarray(0, at), Buffer.from(e.text), buf.subarray(at)]);
      else if (e.kind === "delete") buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + e.length)]);
      else if (e.kind === "bytes") buf = Buffer.concat([buf.subarray(0, at), Buffer.from(e.bytes), buf.subarray(at)]);
      else {
        const lines = buf.toString("latin1").split("\n");
        const [a, b] = [e.a % lines.length, e.b % lines.length];
        [lines[a], lines[b]] = [lines[b], lines[a]];
        buf = Buffer.from(lines.join("\n"), "latin1");
      }
    }
    return { name: `${sample.id}.yaml`, content: buf };
  });

/** Value-level damage: any JSON value at any existing path of a real env file, written back as YAML. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => paths(v, [...at, i]))];
  if (value && typeof value === "object") return [at, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k]))];
  return [at];
}
const mutatedValue = fc
  .record({
    sample: fc.constantFrom(...samples),
    pick: fc.nat(),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom("", " ", "0", "-1", "1e309", "__proto__", "constructor", "012.064.0.0/22", "10.64.0.0/33", "*.", "*.github.io", "a".repeat(5000), "${path.cwd}", "x\ny", null, -0, 2 ** 53, 1.5),
    ),
  })
  .map(({ sample, pick, value }) => {
    const data = parseYaml(sample.text);
    const all = paths(data).filter((p) => p.length > 0);
    const target = all[pick % all.length];
    let node = data;
    for (const k of target.slice(0, -1)) node = node[k];
    node[target[target.length - 1]] = value;
    return { name: `${sample.id}.yaml`, content: stringify(data) };
  });

describe("loader fuzz (fast-check)", () => {
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("damaged bytes: never a crash or hang; located, printable issues or a config that synthesizes", () => {
    fc.assert(
      fc.property(mutatedText, ({ name, content }) => wellFormed(loadText(name, content))),
      { seed: SEED, numRuns: 100_000, interruptAfterTimeLimit: BUDGET_MS / 2, markInterruptAsFailure: false },
    );
  }, BUDGET_MS + 30_000);

  test("any value at any field: never a crash; located, printable issues or a config that synthesizes", () => {
    fc.assert(
      fc.property(mutatedValue, ({ name, content }) => wellFormed(loadText(name, content))),
      { seed: SEED, numRuns: 100_000, interruptAfterTimeLimit: BUDGET_MS / 2, markInterruptAsFailure: false },
    );
  }, BUDGET_MS + 30_000);
});
