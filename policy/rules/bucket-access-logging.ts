import type { Rule } from "../types";

export const bucketAccessLogging: Rule = {
  id: "AP-S3-004",
  severity: "error",
  title: "S3 buckets log server access, or are the access-log destination themselves",
  rationale: "Who read or changed the archive is itself audit evidence; the access-log bucket is exempt because logging it into itself would loop.",
  references: { alphaPrime: "ログへのアクセス記録", fsbp: "S3.9", checkov: ["CKV_AWS_18"], trivy: ["AVD-AWS-0089"] },
  check(model) {
    const logging = model.ofType("aws_s3_bucket_logging");
    return model
      .ofType("aws_s3_bucket")
      .filter((b) => !logging.some((l) => model.pointsAt(l.values.bucket, b) || model.pointsAt(l.values.target_bucket, b)))
      .map((b) => ({ address: b.address, message: `${b.values.bucket ?? b.name} has no server access logging` }));
  },
};
