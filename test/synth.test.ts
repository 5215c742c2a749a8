import * as fs from "fs";
import * as path from "path";
import { main } from "../cli/main";
import { SAMPLE_IDS, addresses, envDirWith, sampleText, synthStacks, tempDir, tree } from "./helpers";


async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(["node", "alpha-prime", ...args], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const first = synthStacks();

describe("synthesis", () => {
  test("every sample municipality synthesizes to its own stack", () => {
    expect(Object.keys(first.stacks).sort()).toEqual([...SAMPLE_IDS].sort());
  });

  test("two synths of the same inputs are byte-identical", () => {
    const second = synthStacks();
    expect(second.raw).toEqual(first.raw);
    expect(fs.readFileSync(path.join(second.dir, "manifest.json"), "utf8")).toBe(fs.readFileSync(path.join(first.dir, "manifest.json"), "utf8"));
  });

  test("the output holds no path of this machine", () => {
    for (const text of [...Object.values(first.raw), fs.readFileSync(path.join(first.dir, "manifest.json"), "utf8")]) {
      expect(text).not.toContain(process.cwd());
      expect(text).not.toContain(first.dir);
    }
  });

  test.each(SAMPLE_IDS)("%s: the synthesized stack is pinned (resource addresses are a public contract)", (id) => {
    expect(addresses(first.stacks[id])).toMatchSnapshot("addresses");
    expect(first.stacks[id]).toMatchSnapshot("cdk.tf.json");
  });

  test("the provider refuses other accounts and tags everything with the municipality", () => {
    const p = first.stacks.mitoyo.provider.aws[0];
    expect(p.allowed_account_ids).toEqual(["111122223333"]);
    expect(p.default_tags[0].tags).toEqual({ Municipality: "mitoyo", MunicipalityName: "三豊市", LocalGovernmentCode: "372081", ManagedBy: "alpha-prime" });
  });

  test("without a state bucket the stack keeps a relative local backend and refuses real plans", () => {
    const tf = first.stacks.mitoyo;
    expect(tf.terraform.backend).toEqual({ local: { path: "terraform.mitoyo.tfstate" } });
    expect(tf.variable.alpha_prime_allow_local_state.default).toBe(false);
    expect(tf.output!.state_backend.precondition).toEqual([{ condition: "${var.alpha_prime_allow_local_state}", error_message: expect.stringMatching(/No remote state bucket for 'mitoyo'/) }]);
  });

  test("with a state bucket the stack uses an encrypted, locked S3 backend per municipality", () => {
    const { stacks } = synthStacks({ only: ["kaga"], stateBucket: "kaga-tfstate" });
    expect(stacks.kaga.terraform.backend.s3).toEqual({
      bucket: "kaga-tfstate",
      key: "alpha-prime/kaga/terraform.tfstate",
      region: "ap-northeast-1",
      encrypt: true,
      use_lockfile: true,
      allowed_account_ids: ["222233334444"],
    });
    expect(stacks.kaga.variable).toBeUndefined();
  });
});

describe("the CLI", () => {
  test("synth --only constructs the selected municipality and keeps the others", async () => {
    const out = path.join(tempDir(), "cdktf.out");
    expect((await cli("synth", "--out", out)).code).toBe(0);
    const before = fs.readFileSync(path.join(out, "stacks", "ashiya", "cdk.tf.json"), "utf8");
    const r = await cli("synth", "--only", "mitoyo", "--out", out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/1 stack\(s\).*mitoyo/);
    expect(fs.readFileSync(path.join(out, "stacks", "ashiya", "cdk.tf.json"), "utf8")).toBe(before);
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8")).stacks).sort()).toEqual([...SAMPLE_IDS].sort());
  });

  test("bad input exits non-zero, names every error, and leaves an existing cdktf.out as it was", async () => {
    const out = path.join(tempDir(), "cdktf.out");
    const good = envDirWith({ "mitoyo.yaml": sampleText("mitoyo"), "kaga.yaml": sampleText("kaga") });
    expect((await cli("--env-dir", good, "synth", "--out", out)).code).toBe(0);
    const before = tree(out);
    fs.writeFileSync(path.join(good, "kaga.yaml"), sampleText("kaga").replace("retentionDays: 365", "retentionDay: 365").replace('"172065"', '"172066"'));
    const r = await cli("--env-dir", good, "synth", "--out", out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/kaga\.yaml:\d+:\d+: \/logging\/retentionDay: unknown key 'retentionDay'.*did you mean 'retentionDays'/);
    expect(r.err).toMatch(/kaga\.yaml:\d+:\d+: \/localGovernmentCode: check digit/);
    expect(r.err).toMatch(/nothing was written/);
    expect(tree(out)).toEqual(before);
    expect(fs.readdirSync(path.dirname(out))).toEqual(["cdktf.out"]);
  });

  test("validate reports bad files with locations and exits 1; good files exit 0", async () => {
    const dir = envDirWith({ "mitoyo.yaml": sampleText("mitoyo").replace("bandwidthTier: 1g", "bandwidthTier: 3g") });
    const bad = await cli("validate", path.join(dir, "mitoyo.yaml"));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/mitoyo\.yaml:11:16: \/bandwidthTier: "3g" is not allowed; expected one of 1g, 2g, 5g, 10g/);
    const good = await cli("validate");
    expect(good.code).toBe(0);
    expect(good.out).toMatch(`${SAMPLE_IDS.length} municipality file(s) valid`);
  });

  test("--help lists the commands", async () => {
    const r = await cli("--help");
    expect(r.code).toBe(0);
    for (const c of ["validate", "synth", "plan"]) expect(r.out).toContain(c);
  });
});
