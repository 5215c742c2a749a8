import * as path from "path";
import { App, DefaultTokenResolver, Fn, Lazy, StringConcat, TerraformOutput, TerraformStack, TerraformVariable, Token, Tokenization } from "cdktf";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { writeSyntheticEnv } from "../bench/generate";
import { loadFiles, envFiles } from "../config/load";
import { buildApp } from "../stacks/app";
import { resolveAroundPlainValues, stackToTerraform, toTerraformResolvedOnce } from "../stacks/cdktf-tuning";
import { stableJson, stableJsonBytes } from "../stacks/stable-json";
import { REPO_ROOT } from "../core/paths";
import { ENV_DIR, tempDir } from "./helpers";

/** JSON that also shows keys holding undefined, and keeps key order: equal text means equal objects */
const exact = (value: unknown) => JSON.stringify(value, (_key, v) => (v === undefined ? "<undefined>" : v));
/** cdktf's own method, which the fast one must equal */
const cdktfToTerraform = (stack: TerraformStack) => exact(TerraformStack.prototype.toTerraform.call(stack));

function stacksOf(envDir: string): TerraformStack[] {
  const { configs, issues } = loadFiles(envFiles(envDir));
  expect(issues).toEqual([]);
  const app = buildApp(configs, { outdir: tempDir() });
  return app.node.children.filter((c): c is TerraformStack => TerraformStack.isStack(c));
}

describe("one resolve per stack instead of cdktf's two gives cdktf's result", () => {
  test("for the sample municipalities", () => {
    for (const stack of stacksOf(ENV_DIR)) expect(exact(toTerraformResolvedOnce(stack))).toBe(cdktfToTerraform(stack));
  });

  test("for synthetic municipalities of every tier, with and without sites, remote access and relay", () => {
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 12, "uniform");
    const stacks = stacksOf(env);
    expect(stacks).toHaveLength(12);
    for (const stack of stacks) expect(exact(toTerraformResolvedOnce(stack))).toBe(cdktfToTerraform(stack));
  });

  test("a stack with stack-level overrides is left to cdktf (their raw values need its second pass)", () => {
    const stack = new TerraformStack(new App({ outdir: tempDir() }), "s");
    new AwsProvider(stack, "aws", { region: "ap-northeast-1" });
    stack.addOverride("terraform.required_version", ">= 1.10");
    expect(toTerraformResolvedOnce(stack)).toBeUndefined();
    expect(exact(stackToTerraform(stack, () => TerraformStack.prototype.toTerraform.call(stack)))).toBe(cdktfToTerraform(stack));
  });

  test("another cdktf version is left to cdktf", () => {
    jest.isolateModules(() => {
      jest.doMock("cdktf/package.json", () => ({ version: "0.22.0" }));
      const tuning = require("../stacks/cdktf-tuning") as typeof import("../stacks/cdktf-tuning");
      const cdktf = require("cdktf") as typeof import("cdktf");
      const stack = new cdktf.TerraformStack(new cdktf.App({ outdir: tempDir() }), "s");
      expect(tuning.toTerraformResolvedOnce(stack)).toBeUndefined();
    });
  });

  test("a value cdktf cannot resolve fails with cdktf's own error, naming where it is", () => {
    const stack = new TerraformStack(new App({ outdir: tempDir() }), "s");
    new AwsProvider(stack, "aws", { region: "ap-northeast-1" });
    const bucket = new S3Bucket(stack, "b", { bucket: "x" });
    bucket.addOverride("tags", { Broken: () => "a function is not a value" });
    const plain = () => TerraformStack.prototype.toTerraform.call(stack);
    expect(plain).toThrow(/function/i);
    expect(() => stackToTerraform(stack, plain)).toThrow(/tags\/Broken/);
  });
});

describe("resolving around plain values", () => {
  const stack = new TerraformStack(new App({ outdir: tempDir() }), "tokens");
  new AwsProvider(stack, "aws", { region: "ap-northeast-1" });
  const bucket = new S3Bucket(stack, "bucket", { bucket: "logs" });
  const variable = new TerraformVariable(stack, "names", { type: "list(string)" });
  const count = new TerraformVariable(stack, "count", { type: "number" });
  new S3BucketPolicy(stack, "policy", { bucket: bucket.id, policy: "{}" });
  new TerraformOutput(stack, "out", { value: bucket.arn });
  const resolver = new DefaultTokenResolver(new StringConcat());
  const cdktf = (v: unknown) => Tokenization.resolve(v, { scope: stack, preparing: false, resolver });
  const fast = (v: unknown) => resolveAroundPlainValues(v, cdktf);

  const cases: Record<string, unknown> = {
    "plain nesting with undefined entries": { a: [1, undefined, "x", { b: undefined, c: null, d: false }], e: undefined },
    "a string reference": { arn: bucket.arn, text: `bucket ${bucket.bucket} in ${bucket.region}` },
    "a reference inside a plain array": ["literal", bucket.arn, "literal"],
    "a list token": { names: variable.listValue, first: Fn.element(variable.listValue, 0) },
    "a list token concatenated with plain elements": { all: Fn.concat([variable.listValue, ["extra"]]) },
    "a number token, alone and inside a string": { n: count.numberValue, s: `${count.numberValue} copies`, list: [count.numberValue, 2] },
    "a token as an object key": { [bucket.bucket]: "value", plain: "x" },
    "terraform functions and lazy values": { joined: Fn.join(",", ["a", bucket.arn]), lazy: Lazy.stringValue({ produce: () => "produced" }), anyLazy: Lazy.anyValue({ produce: () => ({ k: [bucket.id] }) }) },
    "a terraform expression written as a literal string": { expr: "${var.names}", escaped: "$${not_a_token}" },
    "strings that look like encoded numbers but are not": { a: "1e5", b: "ap-northeast-1e", c: "v1.2e+3" },
    "numbers beyond the safe range, NaN and dates": { big: 1e20, nan: NaN, when: new Date(0) },
  };
  test.each(Object.keys(cases))("%s", (name) => {
    expect(exact(fast(cases[name]))).toBe(exact(cdktf(cases[name])));
    expect(fast(cases[name])).toEqual(cdktf(cases[name]));
  });

  test("what cdktf refuses is refused with the same error", () => {
    const mixedList = [...Token.asList(variable.listValue), "extra"];
    expect(() => cdktf(mixedList)).toThrow(/Cannot add elements to list token/);
    expect(() => fast(mixedList)).toThrow(/Cannot add elements to list token/);
  });

  test("values holding no token are not handed to cdktf at all", () => {
    const seen: unknown[] = [];
    const arn = bucket.arn;
    const value = { name: "alpha-prime-mitoyo", cidrs: ["10.0.0.0/16"], port: 443, on: true, nested: { arn } };
    resolveAroundPlainValues(value, (v) => (seen.push(v), cdktf(v)));
    expect(seen).toEqual([arn]);
  });
});

describe("the faster JSON writer writes json-stable-stringify's bytes", () => {
  // the writer cdktf 0.21 loads (its own dependency), called as cdktf calls it
  const cdktfStringify = require(require.resolve("json-stable-stringify", { paths: [path.dirname(require.resolve("cdktf"))] })) as (value: unknown, options?: unknown) => string | undefined;
  const both = (value: unknown, space: number | string = 2) => [stableJson(value, typeof space === "number" ? " ".repeat(space) : space), cdktfStringify(value, { space })];

  test("for the synthesized samples and synthetic municipalities of every tier", () => {
    const env = path.join(tempDir(), "env");
    writeSyntheticEnv(env, 6, "uniform");
    const stacks = [...stacksOf(ENV_DIR), ...stacksOf(env)];
    for (const stack of stacks) {
      const [ours, theirs] = both(TerraformStack.prototype.toTerraform.call(stack));
      expect(ours).toBe(theirs);
    }
  });

  const corners: Record<string, unknown> = {
    "empty arrays and objects, nested, broken over two lines": { a: [], b: {}, c: [[], {}, [{}]], d: { e: { f: [] } } },
    "integer-like keys sort as text, not first as numbers": { "10": 1, "2": 2, b: 3, "1": 4, "01": 5, "-1": 6 },
    "undefined and functions: left out of objects, null in arrays": { a: undefined, b: () => 1, c: [undefined, () => 1, null], d: Symbol("s") },
    "toJSON, dates and boxed values": { when: new Date(0), own: { toJSON: () => ({ z: 1, a: [] }) }, boxed: [Object("text"), Object(3)] },
    "strings that need escaping": { "key\n\"quoted\"": "line\u2028sep\u0000\ud800", 日本語: "三豊市" },
    "numbers": { n: [0, -0, 1.5e300, NaN, Infinity, -1] },
    "primitives at the top": "text",
    "null at the top": null,
  };
  test.each(Object.keys(corners))("%s", (name) => {
    for (const space of [2, 0, "\t", ""]) {
      const [ours, theirs] = both(corners[name], space);
      expect(ours).toBe(theirs);
    }
  });

  test("as bytes made in pieces: the UTF-8 of the same text, for every corner, every space and real stacks", () => {
    const bytesAndText = (value: unknown, space: string) => {
      const bytes = stableJsonBytes(value, space);
      // copied before the next call, which reuses the buffer the view shows
      return [bytes === undefined ? undefined : Buffer.from(bytes).toString("hex"), (() => {
        const text = stableJson(value, space);
        return text === undefined ? undefined : Buffer.from(text, "utf8").toString("hex");
      })()];
    };
    for (const value of Object.values(corners)) {
      for (const space of ["  ", "", "\t"]) {
        const [bytes, text] = bytesAndText(value, space);
        expect(bytes).toBe(text);
      }
    }
    for (const nothing of [undefined, () => 1, Symbol("s"), { toJSON: () => undefined }]) expect(stableJsonBytes(nothing, "  ")).toBeUndefined();
    for (const stack of stacksOf(ENV_DIR)) {
      const [bytes, text] = bytesAndText(TerraformStack.prototype.toTerraform.call(stack), "  ");
      expect(bytes).toBe(text);
    }
  });

  test("as bytes: pieces end between whole values, so no character is split, and the buffer grows past its first megabyte", () => {
    // two-byte and four-byte characters, lone surrogates and escapes in values a few thousand characters long, enough
    // of them to cross many piece boundaries at every offset and to outgrow the first buffer
    const value: Record<string, unknown> = {};
    const texts = ["三豊市の名", "😀 emoji", "\ud800 lone", "\udfff lone", "quote \" and \\ and \n", "\u2028\u2029"];
    for (let i = 0; i < 700; i++) value[`k${i}`] = { text: texts[i % texts.length].repeat(100 + (i % 37)), list: [i, "日本語".repeat(i % 13), null] };
    const text = stableJson(value, "  ")!;
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
    const first = Buffer.from(stableJsonBytes(value, "  ")!);
    expect(first.equals(Buffer.from(text, "utf8"))).toBe(true);
    // the second call reuses the grown buffer and gives the same bytes again
    expect(Buffer.from(stableJsonBytes(value, "  ")!).equals(first)).toBe(true);
    expect(Buffer.from(stableJsonBytes({ small: "値" }, "  ")!).toString("utf8")).toBe(stableJson({ small: "値" }, "  "));
    // text of three bytes a character throughout, in values longer than a piece: each piece takes three times its
    // length in bytes, and the buffer fills up part-way through one, whatever size it has grown to
    const dense = Array.from({ length: 150 }, () => "三豊市".repeat(7000));
    expect(Buffer.from(stableJsonBytes(dense, "  ")!).equals(Buffer.from(stableJson(dense, "  ")!, "utf8"))).toBe(true);
  });

  test("a cycle is refused as json-stable-stringify refuses it", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => stableJson(cyclic, "  ")).toThrow(new TypeError("Converting circular structure to JSON"));
    expect(() => cdktfStringify(cyclic, { space: 2 })).toThrow(new TypeError("Converting circular structure to JSON"));
  });

  const inFreshProcess = (script: string) => {
    const { spawnSync } = require("child_process") as typeof import("child_process");
    const r = spawnSync(process.execPath, ["-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
    return [r.stderr, r.stdout.trim()];
  };
  const TUNING = JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "cdktf-tuning.js"));
  const LOAD_WRITER = `require(require.resolve("json-stable-stringify", { paths: [require("path").dirname(require.resolve("cdktf"))] }))`;

  test("once the tuning is applied, cdktf's writer is the faster one for its call and the real one for any other", () => {
    const script = `require(${TUNING}).applySynthTuning();
      const writer = ${LOAD_WRITER};
      const value = { b: [], a: { "10": 1, "2": 2 } };
      console.log(JSON.stringify([writer.toString().includes("groupOutput") ? "the real writer" : "the faster writer", writer(value, { space: 2 }), writer(value, { space: 2, cmp: (x, y) => (x.key < y.key ? 1 : -1) }), writer(value)]));`;
    const [stderr, stdout] = inFreshProcess(script);
    expect(stderr).toBe("");
    expect(JSON.parse(stdout)).toEqual([
      "the faster writer",
      '{\n  "a": {\n    "10": 1,\n    "2": 2\n  },\n  "b": [\n  ]\n}',
      '{\n  "b": [\n  ],\n  "a": {\n    "2": 2,\n    "10": 1\n  }\n}',
      '{"a":{"10":1,"2":2},"b":[]}',
    ]);
  });

  test("a stack's synthesizer gets its JSON as bytes, once; manifest.json, Testing.synth and any later call get text", () => {
    const script = `require(${TUNING}).applySynthTuning();
      const fs = require("fs"), path = require("path"), os = require("os");
      const { loadFiles, envFiles } = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "config", "load.js"))});
      const { buildApp } = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "app.js"))});
      const { Testing } = require("cdktf");
      const writer = ${LOAD_WRITER};
      const written = [];
      const real = fs.writeFileSync;
      fs.writeFileSync = function (file, data, ...rest) {
        written.push([path.basename(String(file)), typeof data === "string" ? "text" : data instanceof Uint8Array ? "bytes" : typeof data]);
        return real.call(this, file, data, ...rest);
      };
      const { configs } = loadFiles(envFiles(${JSON.stringify(ENV_DIR)}));
      const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "alpha-prime-bytes-"));
      const app = buildApp(configs.slice(0, 1), { outdir });
      app.synth();
      fs.writeFileSync = real;
      const stack = app.node.children.find((c) => c.node.id === configs[0].id);
      const file = fs.readFileSync(path.join(outdir, "stacks", configs[0].id, "cdk.tf.json"), "utf8");
      const again = writer(stack.toTerraform(), { space: 2 });
      const testing = Testing.synth(stack);
      // a synth stopped by an error annotation, after the pack's visit resolved the stack and before the write: a
      // later call outside any synthesis still gets text
      const second = buildApp(configs.slice(0, 1), { outdir });
      const other = second.node.children.find((c) => c.node.id === configs[0].id);
      require("cdktf").Annotations.of(other).addError("stopped on purpose");
      let stopped = false;
      try { second.synth(); } catch { stopped = true; }
      const afterStop = writer(other.toTerraform(), { space: 2 });
      fs.rmSync(outdir, { recursive: true, force: true });
      console.log(JSON.stringify({ written, again: typeof again, sameText: again === file, testing: typeof testing, stopped, afterStop: typeof afterStop }));`;
    const [stderr, stdout] = inFreshProcess(script);
    expect(stderr).toBe("");
    expect(JSON.parse(stdout)).toEqual({ written: [["cdk.tf.json", "bytes"], ["manifest.json", "text"]], again: "string", sameText: true, testing: "string", stopped: true, afterStop: "string" });
  });

  test("another version of json-stable-stringify keeps the real writer (the bytes are proven for 1.3.0 only)", () => {
    const script = `const id = require.resolve("json-stable-stringify", { paths: [require("path").dirname(require.resolve("cdktf"))] });
      const pkg = require("path").join(require("path").dirname(id), "package.json");
      require.cache[pkg] = { id: pkg, filename: pkg, loaded: true, exports: { version: "1.4.0" }, children: [], paths: [] };
      require(${TUNING}).applySynthTuning();
      console.log(${LOAD_WRITER}.toString().includes("groupOutput"));`;
    expect(inFreshProcess(script)).toEqual(["", "true"]);
  });

  test("with ALPHA_PRIME_PLAIN_CDKTF=1 cdktf keeps the real writer", () => {
    const script = `process.env.ALPHA_PRIME_PLAIN_CDKTF = "1"; require(${TUNING}).applySynthTuning();
      const { stableJson } = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "stable-json.js"))});
      const writer = ${LOAD_WRITER};
      console.log(writer.toString().includes("groupOutput"), writer === stableJson);`;
    expect(inFreshProcess(script)).toEqual(["", "true false"]);
  });
});

describe("cdktf's naming functions, remembered, answer as cdktf's own", () => {
  const script = `const util = require("cdktf/lib/util"), unique = require("cdktf/lib/private/unique");
    const own = { keys: util.keysToSnakeCase, id: unique.makeUniqueId };
    require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "cdktf-tuning.js"))}).applySynthTuning();
    const tuned = { keys: util.keysToSnakeCase, id: unique.makeUniqueId };
    const { Lazy, TerraformElement, TerraformResource, TerraformProvider } = require("cdktf");
    const { loadFiles, envFiles } = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "config", "load.js"))});
    const { buildApp } = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "app.js"))});
    const outcome = (f, arg) => { try { return JSON.stringify(f(arg)) ?? "undefined"; } catch (e) { return "throws " + e.constructor.name + ": " + e.message; } };
    const { configs } = loadFiles(envFiles(${JSON.stringify(ENV_DIR)}));
    const app = buildApp(configs, { outdir: require("fs").mkdtempSync(require("path").join(require("os").tmpdir(), "naming-")) });
    const idCases = [], keyCases = [];
    for (const c of app.node.findAll()) {
      if (!TerraformElement.isTerraformElement(c)) continue;
      const scopes = c.node.scopes;
      idCases.push(scopes.slice(scopes.indexOf(c.cdktfStack) + 1).map((s) => s.node.id));
      if (c instanceof TerraformResource) keyCases.push(c.terraformMetaArguments);
      if (c instanceof TerraformProvider) keyCases.push(c.synthesizeAttributes());
    }
    idCases.push([], ["Default"], ["Default", "Bucket"], ["Resource"], ["A", "Resource", "B"], ["Foo", "FooBar", "Bar", "Bar"], ["a/b", "c"], ["a", "b/c"], ["x".repeat(300)], ["日本語", "名前"], ["__proto__"], ["toString", "constructor"]);
    keyCases.push({ fooBar: 1, tags: { keepThis_Key: 1 }, environment: { KEEP: 2 }, nestedList: [{ innerKey: [{ deepKey: 1 }], "": 2 }, "text", 3] },
      { "__a__B--c": 1, "": 2, "123abc": 3, ABC: 4, aB1C: 5, "x.y": 6, "日本": 7 }, [[{ aB: 1 }]], { lazy: Lazy.stringValue({ produce: () => "v" }) }, { nullInList: [null] }, { nullValue: null }, null, "text", { __proto__: null, ownKey: 1 });
    const diffs = [];
    // each twice: the second answer comes from memory
    for (const round of [1, 2]) {
      for (const c of idCases) if (outcome(own.id, c) !== outcome(tuned.id, c)) diffs.push(["id", c, outcome(own.id, c), outcome(tuned.id, c)]);
      for (const c of keyCases) if (outcome(own.keys, c) !== outcome(tuned.keys, c)) diffs.push(["keys", String(c), outcome(own.keys, c), outcome(tuned.keys, c)]);
    }
    console.log(JSON.stringify({ replaced: own.id !== tuned.id && own.keys !== tuned.keys, ids: idCases.length, keys: keyCases.length, diffs }));`;

  test("on every element of the samples and on the corner cases (empty, hidden, duplicate, long, odd keys, tokens, null)", () => {
    const { spawnSync } = require("child_process") as typeof import("child_process");
    const r = spawnSync(process.execPath, ["-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const result = JSON.parse(r.stdout);
    expect(result.diffs).toEqual([]);
    expect(result.replaced).toBe(true);
    expect(result.ids).toBeGreaterThan(400);
    expect(result.keys).toBeGreaterThan(400);
  });
});

describe("a worker lets go of each stack once it is written", () => {
  // cdktf's token map holds every token, and each token its construct: without emptying it, no App is ever collected
  const retainedAfter = (release: boolean) => {
    const { spawnSync } = require("child_process") as typeof import("child_process");
    const script = `const tuning = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "cdktf-tuning.js"))});
      tuning.applySynthTuning();
      const { loadOrThrow, envFiles } = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "config", "load.js"))});
      const { buildApp } = require(${JSON.stringify(path.join(REPO_ROOT, "dist", "stacks", "app.js"))});
      const os = require("os"), fs = require("fs"), path = require("path");
      const [config] = loadOrThrow(envFiles(${JSON.stringify(ENV_DIR)}).filter((f) => f.endsWith("mitoyo.yaml")));
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "ap-release-"));
      let app = buildApp([config], { outdir: out });
      app.synth();
      const ref = new WeakRef(app);
      app = undefined;
      const map = globalThis.__cdktfTokenMap;
      const before = map.stringTokenMap.size + map.numberTokenMap.size;
      const counter = map.tokenCounter;
      if (${release}) tuning.releaseTokensOfWrittenStacks();
      setTimeout(() => {
        global.gc();
        fs.rmSync(out, { recursive: true, force: true });
        console.log(JSON.stringify({ before, after: map.stringTokenMap.size + map.numberTokenMap.size, counterKept: map.tokenCounter === counter, collected: ref.deref() === undefined }));
      }, 10);`;
    const r = spawnSync(process.execPath, ["--expose-gc", "-e", script], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout);
  };

  test("after release the App is collected, the map is empty and the token counter goes on (no key is given twice)", () => {
    const r = retainedAfter(true);
    expect(r.before).toBeGreaterThan(100);
    expect(r).toMatchObject({ after: 0, counterKept: true, collected: true });
  });

  test("without it, cdktf's map keeps the whole App alive", () => {
    expect(retainedAfter(false)).toMatchObject({ collected: false });
  });
});
