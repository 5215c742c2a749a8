import * as fs from "fs";
import * as path from "path";
import { offlinePlan, TerraformError } from "../cli/offline-plan";
import { SAMPLE_IDS, hasTerraform, synthStacks, tempDir } from "./helpers";

const terraform = hasTerraform();
if (!terraform) {
  // Loud on purpose: without terraform the strongest proof of a deployable stack is missing.
  process.stderr.write("\n*** SKIPPED: no terraform binary on PATH: the offline init/validate/plan tests did not run ***\n\n");
}
// in CI a missing terraform fails these tests rather than skipping them
const maybe = terraform || process.env.CI ? describe : describe.skip;

/** A state (format 4) holding resources as if deployed, so a plan shows what a change would do to them. */
function stateWith(resources: { type: string; name: string; attributes: Record<string, unknown> }[]): Record<string, unknown> {
  return {
    version: 4,
    terraform_version: "1.11.4",
    serial: 1,
    lineage: "00000000-0000-4000-8000-000000000001",
    outputs: {},
    resources: resources.map((r) => ({
      mode: "managed",
      type: r.type,
      name: r.name,
      provider: 'provider["registry.terraform.io/hashicorp/aws"]',
      instances: [{ schema_version: 0, attributes: r.attributes, sensitive_attributes: [] }],
    })),
  };
}

maybe("offline Terraform (real terraform init, validate and plan with mock credentials)", () => {
  const { dir, stacks } = synthStacks();

  test.each(SAMPLE_IDS)("%s: init, validate and plan pass and create every resource", (id) => {
    const s = offlinePlan(path.join(dir, "stacks", id), id, tempDir());
    const plan = JSON.parse(fs.readFileSync(s.planJsonPath, "utf8"));
    const synthesized = Object.values(stacks[id].resource).reduce((n, byName) => n + Object.keys(byName).length, 0);
    expect(s.create).toBe(synthesized);
    expect(s.update + s.replace + s.delete).toBe(0);
    expect(plan.format_version).toBeDefined();
  });

  test("a real plan of a stack without a remote state bucket is refused with a clear message", () => {
    expect(() => offlinePlan(path.join(dir, "stacks", "kaga"), "kaga", tempDir(), { allowLocalState: false })).toThrow(/No remote state bucket for 'kaga'/);
  });

  test("no deploy can destroy the log archive: a change that would replace its buckets or key fails to plan", () => {
    const stack = JSON.parse(fs.readFileSync(path.join(dir, "stacks", "mitoyo", "cdk.tf.json"), "utf8"));
    const archive: { type: string; name: string; attributes: Record<string, unknown> }[] = [];
    for (const [name, b] of Object.entries<any>(stack.resource.aws_s3_bucket)) {
      archive.push({ type: "aws_s3_bucket", name, attributes: { id: b.bucket, bucket: b.bucket, arn: `arn:aws:s3:::${b.bucket}`, object_lock_enabled: b.object_lock_enabled, force_destroy: false, tags: {}, tags_all: {} } });
      b.object_lock_enabled = !b.object_lock_enabled; // forces replacement of every bucket
    }
    const keyName = Object.keys(stack.resource.aws_kms_key).find((n) => n.startsWith("LogArchive"))!;
    archive.push({ type: "aws_kms_key", name: keyName, attributes: { id: "1111aaaa-2222-3333-4444-555566667777", key_id: "1111aaaa-2222-3333-4444-555566667777", arn: "arn:aws:kms:ap-northeast-1:111122223333:key/1111aaaa-2222-3333-4444-555566667777", customer_master_key_spec: "SYMMETRIC_DEFAULT", key_usage: "ENCRYPT_DECRYPT", tags: {}, tags_all: {} } });
    stack.resource.aws_kms_key[keyName].customer_master_key_spec = "RSA_2048"; // forces replacement of the key
    const changed = path.join(tempDir(), "mitoyo");
    fs.mkdirSync(changed);
    fs.writeFileSync(path.join(changed, "cdk.tf.json"), JSON.stringify(stack));
    let error: TerraformError | undefined;
    try {
      offlinePlan(changed, "mitoyo", tempDir(), { seedState: stateWith(archive) });
    } catch (e) {
      error = e as TerraformError;
    }
    expect(error).toBeInstanceOf(TerraformError);
    expect(error!.step).toBe("plan");
    for (const r of archive) expect(error!.output).toMatch(new RegExp(`Resource ${r.type}\\.${r.name}\\s+has\\s+lifecycle\\.prevent_destroy\\s+set`));
  });
});
