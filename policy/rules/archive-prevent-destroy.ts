import type { Rule } from "../types";

export const archivePreventDestroy: Rule = {
  id: "AP-LOG-005",
  severity: "error",
  title: "The log archive (log buckets, their access-log buckets and encryption keys) has prevent_destroy",
  rationale: "The log archive is the one thing we must never lose: Terraform must refuse any plan that would destroy or replace it.",
  references: { alphaPrime: "ログ保管庫を失わない" },
  check(model) {
    const logBuckets = model.logBuckets();
    const accessTargets = model
      .ofType("aws_s3_bucket_logging")
      .filter((l) => logBuckets.some((b) => model.pointsAt(l.values.bucket, b)))
      .flatMap((l) => model.ofType("aws_s3_bucket").filter((b) => model.pointsAt(l.values.target_bucket, b)));
    const keys = logBuckets.flatMap((b) =>
      model.attached("aws_s3_bucket_server_side_encryption_configuration", "bucket", b).flatMap((e) =>
        (e.values.rule ?? []).map((r: any) => model.referenced(r.apply_server_side_encryption_by_default?.kms_master_key_id)).filter(Boolean),
      ),
    );
    const must = new Map([...logBuckets, ...accessTargets, ...keys].map((r) => [r!.address, r!]));
    return [...must.values()]
      .filter((r) => r.values.lifecycle?.prevent_destroy !== true)
      .map((r) => ({ address: r.address, message: "is part of the log archive but lacks lifecycle.prevent_destroy" }));
  },
};
