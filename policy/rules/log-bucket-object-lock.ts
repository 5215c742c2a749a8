import type { Rule } from "../types";

export const logBucketObjectLock: Rule = {
  id: "AP-LOG-003",
  severity: "error",
  title: "Buckets that receive logs have Object Lock with a default retention of at least the configured days",
  rationale: "A log an operator or an attacker can delete or shorten is not evidence; Object Lock makes each log version immutable for the retention.",
  references: { alphaPrime: "改ざん防止されたログ保存", checkov: ["CKV_AWS_143"] },
  check(model) {
    const days = model.context.retentionDays ?? 365;
    return model.logBuckets().flatMap((b) => {
      if (b.values.object_lock_enabled !== true) return [{ address: b.address, message: "receives logs but has no Object Lock" }];
      const lock = model.attached("aws_s3_bucket_object_lock_configuration", "bucket", b)[0];
      const retention = lock?.values.rule?.default_retention;
      const lockDays = retention ? (retention.days ?? 0) + (retention.years ?? 0) * 365 : 0;
      if (lockDays < days) return [{ address: b.address, message: `default Object Lock retention is ${lockDays} days, less than the configured ${days}` }];
      return [];
    });
  },
};
