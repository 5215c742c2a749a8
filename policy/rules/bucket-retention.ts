import { asArray } from "../model";
import type { Rule } from "../types";

export const bucketRetention: Rule = {
  id: "AP-LOG-004",
  severity: "error",
  title: "No lifecycle rule expires objects before the configured retention (log buckets: noncurrent versions too)",
  rationale: "Lifecycle expiration is the one path by which logs leave the archive; it must not come before the retention period ends.",
  references: { alphaPrime: "1年間のログ保存", checkov: ["CKV2_AWS_61"] },
  check(model) {
    const days = model.context.retentionDays ?? 365;
    const logBuckets = new Set(model.logBuckets().map((b) => b.address));
    return model.ofType("aws_s3_bucket").flatMap((b) =>
      model.attached("aws_s3_bucket_lifecycle_configuration", "bucket", b).flatMap((lc) =>
        asArray<any>(lc.values.rule)
          .filter((r) => r.status === "Enabled")
          .flatMap((r) => {
            const out = [];
            for (const e of asArray<any>(r.expiration)) {
              if (typeof e.days === "number" && e.days < days) out.push({ address: lc.address, message: `rule '${r.id}' expires objects of ${b.values.bucket} after ${e.days} days, before the configured ${days}` });
              // an expiration date deletes every object on that date, whatever its age, so also those younger than the
              // retention (https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html#intro-lifecycle-rules-actions)
              else if (typeof e.date === "string" && e.date) out.push({ address: lc.address, message: `rule '${r.id}' expires every object of ${b.values.bucket} on ${e.date}, whatever its age: objects younger than the configured ${days} days too` });
            }
            if (logBuckets.has(b.address)) {
              for (const n of asArray<any>(r.noncurrent_version_expiration)) {
                if (typeof n.noncurrent_days === "number" && n.noncurrent_days < days) out.push({ address: lc.address, message: `rule '${r.id}' expires noncurrent log versions of ${b.values.bucket} after ${n.noncurrent_days} days` });
              }
            }
            return out;
          }),
      ),
    );
  },
};
