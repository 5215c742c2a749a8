import { isTrue } from "../model";
import type { Rule } from "../types";

const FLAGS = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"];

export const bucketPublicAccessBlock: Rule = {
  id: "AP-S3-002",
  severity: "error",
  title: "S3 buckets block all four kinds of public access",
  rationale: "Nothing in an α′ stack is meant for the public; a log or configuration bucket made public would expose the municipality's network.",
  references: { alphaPrime: "外部公開の禁止", fsbp: "S3.8", checkov: ["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"], trivy: ["AVD-AWS-0086", "AVD-AWS-0087", "AVD-AWS-0091", "AVD-AWS-0093", "AVD-AWS-0094"] },
  check(model) {
    return model.ofType("aws_s3_bucket").flatMap((b) => {
      const pab = model.attached("aws_s3_bucket_public_access_block", "bucket", b)[0];
      if (!pab) return [{ address: b.address, message: `${b.values.bucket ?? b.name} has no public access block` }];
      const off = FLAGS.filter((f) => !isTrue(pab.values[f]));
      return off.length ? [{ address: pab.address, message: `${b.values.bucket ?? b.name}: ${off.join(", ")} not true` }] : [];
    });
  },
};
