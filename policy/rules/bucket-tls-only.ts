import { asArray, parsePolicy } from "../model";
import type { Rule } from "../types";

export const bucketTlsOnly: Rule = {
  id: "AP-S3-003",
  severity: "error",
  title: "S3 bucket policies deny every request not made over TLS",
  rationale: "Logs and generated configuration must never cross a network in clear text.",
  references: { alphaPrime: "通信の暗号化", fsbp: "S3.5" },
  check(model) {
    return model.ofType("aws_s3_bucket").flatMap((b) => {
      const statements = model.attached("aws_s3_bucket_policy", "bucket", b).flatMap((p) => parsePolicy(p.values.policy, model)?.Statement ?? []);
      const denies = statements.some(
        (s) =>
          s.Effect === "Deny" &&
          (s.Principal === "*" || s.Principal?.AWS === "*") &&
          asArray<string>(s.Action).some((a) => a === "s3:*") &&
          String(s.Condition?.Bool?.["aws:SecureTransport"]) === "false",
      );
      return denies ? [] : [{ address: b.address, message: `${b.values.bucket ?? b.name} has no policy denying non-TLS requests` }];
    });
  },
};
