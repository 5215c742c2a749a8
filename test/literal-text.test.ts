/**
 * The literal-text pass (stacks/literal-text.ts): every attribute string of every resource and provider reaches
 * Terraform as the text it was, wherever it sits, and cdktf's references still resolve. The strings are escaped as
 * cdktf asks each element for its attributes, for JSON (synthesizeAttributes) and for HCL (synthesizeHclAttributes).
 */
import { App, TerraformResource, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { writeSyntheticEnv } from "../bench/generate";
import { envFiles, loadFiles } from "../config/load";
import { fromTerraformLiteral, terraformLiteral } from "../constructs/terraform-text";
import { MunicipalityStack } from "../stacks/municipality-stack";
import { escapeLiteralText } from "../stacks/literal-text";
import { ENV_DIR, tempDir } from "./helpers";

type Json = Record<string, any>;

/** A resource whose class hands cdktf the same attribute objects every time (as a class may, for values it keeps whole). */
class HeldAttributes extends TerraformResource {
  constructor(scope: Construct, id: string, private readonly held: Json) {
    super(scope, id, { terraformResourceType: "terraform_data" });
  }
  protected synthesizeAttributes(): Json {
    return this.held;
  }
}

const HOSTILE = {
  shell: "age=${db:-none}",
  squid: "file=%{Content-Disposition}",
  escapedAlready: "$${already} %%{twice}",
  plain: "no opener here {}",
};

/**
 * A stack with text to escape at every depth: top level, a map, a list of blocks, beside a reference, and (unless the
 * override form is to run over it, which cannot reach them) under a key with a dot.
 */
function hostileStack(app: App, dottedKeys = true): { stack: TerraformStack; bucket: S3Bucket; group: SecurityGroup } {
  const stack = new TerraformStack(app, "hostile");
  new AwsProvider(stack, "aws", { region: "ap-northeast-1", defaultTags: [{ tags: { Note: HOSTILE.shell } }] });
  const roleTag = dottedKeys ? "kubernetes.io/role" : "Role";
  const bucket = new S3Bucket(stack, "bucket", { bucket: "logs", tags: { Plain: HOSTILE.plain, [roleTag]: HOSTILE.squid, Mixed: HOSTILE.escapedAlready } });
  const group = new SecurityGroup(stack, "group", {
    name: "g",
    description: `for ${bucket.bucket}: ${HOSTILE.shell}`,
    ingress: [
      { description: HOSTILE.squid, fromPort: 443, toPort: 443, protocol: "tcp", cidrBlocks: ["10.0.0.0/8"] },
      { description: HOSTILE.plain, fromPort: 80, toPort: 80, protocol: "tcp", cidrBlocks: ["10.0.0.0/8"] },
    ],
  });
  new HeldAttributes(stack, "held", { input: { note: HOSTILE.shell, list: [HOSTILE.squid, HOSTILE.escapedAlready] } });
  return { stack, bucket, group };
}

function resources(tf: Json, type: string): Json[] {
  return Object.values(tf.resource?.[type] ?? {});
}

describe("literal text reaches Terraform as written, wherever it sits", () => {
  const { stack } = hostileStack(new App({ outdir: tempDir() }));
  escapeLiteralText(stack);
  const tf = TerraformStack.prototype.toTerraform.call(stack) as Json;
  const [bucket] = resources(tf, "aws_s3_bucket");
  const [group] = resources(tf, "aws_security_group");

  test("in a map, under keys with dots (which an override could not reach)", () => {
    expect(bucket.tags).toEqual({ Plain: HOSTILE.plain, "kubernetes.io/role": terraformLiteral(HOSTILE.squid), Mixed: terraformLiteral(HOSTILE.escapedAlready) });
    expect(fromTerraformLiteral(bucket.tags["kubernetes.io/role"])).toBe(HOSTILE.squid);
    expect(fromTerraformLiteral(bucket.tags.Mixed)).toBe(HOSTILE.escapedAlready);
  });

  test("in each block of a list, by its place", () => {
    expect(group.ingress.map((i: Json) => i.description)).toEqual([terraformLiteral(HOSTILE.squid), HOSTILE.plain]);
  });

  test("beside a reference, which stays a reference", () => {
    expect(group.description).toMatch(/^for \$\{aws_s3_bucket\.bucket\.bucket\}: age=\$\$\{db:-none\}$/);
  });

  test("in a provider's attributes", () => {
    expect(tf.provider.aws[0].default_tags[0].tags).toEqual({ Note: terraformLiteral(HOSTILE.shell) });
  });

  test("asked again, the attributes are the same: the provider class's own values are never escaped in place", () => {
    const again = TerraformStack.prototype.toTerraform.call(stack) as Json;
    expect(again).toEqual(tf);
    expect(resources(again, "aws_s3_bucket")[0].tags.Mixed).toBe("$$${already} %%%{twice}");
    expect(resources(again, "terraform_data")[0].input).toEqual({ note: "age=$${db:-none}", list: ["file=%%{Content-Disposition}", "$$${already} %%%{twice}"] });
  });
});

describe("an App that writes HCL gives the same JSON", () => {
  const both = (make: (app: App) => TerraformStack) => {
    const json = make(new App({ outdir: tempDir() }));
    const hcl = make(new App({ outdir: tempDir(), hclOutput: true }));
    escapeLiteralText(json);
    escapeLiteralText(hcl);
    return [TerraformStack.prototype.toTerraform.call(json) as Json, TerraformStack.prototype.toTerraform.call(hcl) as Json];
  };

  test("on the hostile stack, text under a key with a dot included; neither notes overrides", () => {
    const [json, hcl] = both((app) => hostileStack(app).stack);
    expect(json).toEqual(hcl);
    expect(json["//"].metadata.overrides).toBeUndefined();
  });

  test("on the sample municipalities and synthetic ones of every tier (the stack runs the pass itself)", () => {
    const env = tempDir();
    writeSyntheticEnv(env, 4, "uniform");
    const { configs, issues } = loadFiles([...envFiles(ENV_DIR), ...envFiles(env)]);
    expect(issues).toEqual([]);
    let escapes = 0;
    for (const config of configs) {
      const json = new MunicipalityStack(new App({ outdir: tempDir() }), config, {});
      const hcl = new MunicipalityStack(new App({ outdir: tempDir(), hclOutput: true }), config, {});
      const [a, b] = [json, hcl].map((s) => TerraformStack.prototype.toTerraform.call(s) as Json);
      expect(a).toEqual(b);
      escapes += JSON.stringify(a).split(/\$\$\{|%%\{/).length - 1;
    }
    // the stacks hold text to escape (Squid's log format, shell in configuration files): the comparison is not vacuous
    expect(escapes).toBeGreaterThan(configs.length);
  });
});

/**
 * cdktf writes HCL when SYNTH_HCL_OUTPUT is "true" or "1" (its StackSynthesizer), but App.hclOutput is true only for
 * "true" (or App({ hclOutput })); Testing.synthHcl and toHclTerraform ask for HCL of any stack. Whatever the App says,
 * the HCL cdktf renders (from synthesizeHclAttributes, in its own shape) must carry the same escapes as the JSON.
 */
describe("literal text in cdktf's HCL output", () => {
  const hclLines = (hclOutput: boolean): string[] => {
    const { stack } = hostileStack(new App({ outdir: tempDir(), hclOutput }), false);
    escapeLiteralText(stack);
    return (stack.toHclTerraform() as { hcl: string }).hcl.split("\n").map((l) => l.trim());
  };
  const expected = [
    `description = "${terraformLiteral(`for \${aws_s3_bucket.bucket.bucket}: ${HOSTILE.shell}`).replace("$${aws_s3_bucket", "${aws_s3_bucket")}"`,
    `description = "${terraformLiteral(HOSTILE.squid)}"`,
    `Role = "${terraformLiteral(HOSTILE.squid)}"`,
    `Note = "${terraformLiteral(HOSTILE.shell)}"`,
  ];

  test.each([false, true])("App hclOutput %s: at top level, in blocks and in maps", (hclOutput) => {
    const lines = hclLines(hclOutput);
    for (const line of expected) expect(lines).toContain(line);
    expect(lines.filter((l) => l.includes(HOSTILE.squid) && !l.includes(terraformLiteral(HOSTILE.squid)))).toEqual([]);
  });
});

test("the pass run twice over a stack escapes once (as the override form did: it set the same overrides again)", () => {
  const once = hostileStack(new App({ outdir: tempDir() })).stack;
  const twice = hostileStack(new App({ outdir: tempDir() })).stack;
  escapeLiteralText(once);
  escapeLiteralText(twice);
  escapeLiteralText(twice);
  expect(TerraformStack.prototype.toTerraform.call(twice)).toEqual(TerraformStack.prototype.toTerraform.call(once));
});
