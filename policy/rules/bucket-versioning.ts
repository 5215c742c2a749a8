import type { Rule } from "../types";

export const bucketVersioning: Rule = {
  id: "AP-S3-001",
  severity: "error",
  title: "S3 buckets are versioned",
  rationale: "Versioning keeps overwritten or deleted objects recoverable; Object Lock and the five configuration generations depend on it.",
  references: { alphaPrime: "5世代のバックアップ", fsbp: "S3.14", checkov: ["CKV_AWS_21"], trivy: ["AVD-AWS-0090"] },
  check(model) {
    return model
      .ofType("aws_s3_bucket")
      .filter((b) => !model.attached("aws_s3_bucket_versioning", "bucket", b).some((v) => v.values.versioning_configuration?.status === "Enabled"))
      .map((b) => ({ address: b.address, message: `${b.values.bucket ?? b.name} has no enabled versioning` }));
  },
};
