import type { Rule } from "../types";

export const bucketKms: Rule = {
  id: "AP-S3-005",
  severity: "error",
  title: "S3 buckets are encrypted by default with a customer-managed KMS key",
  rationale: "The municipality controls, rotates and audits the key of its logs and configuration backups.",
  references: { alphaPrime: "ログの暗号化", checkov: ["CKV_AWS_145", "CKV_AWS_19"], trivy: ["AVD-AWS-0088", "AVD-AWS-0132"] },
  check(model) {
    return model.ofType("aws_s3_bucket").flatMap((b) => {
      const sse = model.attached("aws_s3_bucket_server_side_encryption_configuration", "bucket", b).flatMap((e) => e.values.rule ?? []);
      const kms = sse.some((r: any) => r.apply_server_side_encryption_by_default?.sse_algorithm === "aws:kms" && r.apply_server_side_encryption_by_default?.kms_master_key_id);
      return kms ? [] : [{ address: b.address, message: `${b.values.bucket ?? b.name} is not encrypted with a customer-managed KMS key` }];
    });
  },
};
