import * as path from "path";
import { App, DefaultTokenResolver, Fn, Lazy, StringConcat, TerraformOutput, TerraformStack, TerraformVariable, Token, Tokenization } from "cdktf";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { writeSyntheticEnv } from "../bench/generate";
import { loadFiles, envFiles } from "../config/load";
import { buildApp } from "../stacks/app";
import { resolveAroundPlainValues, stackToTerraform, toTerraformResolvedOnce } from "../stacks/cdktf-tuning";
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
