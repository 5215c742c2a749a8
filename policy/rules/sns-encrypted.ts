import type { Rule } from "../types";

export const snsEncrypted: Rule = {
  id: "AP-OPS-001",
  severity: "error",
  title: "SNS topics are encrypted with a KMS key",
  rationale: "Alarm notifications name the municipality's tunnels, addresses and failures; they are encrypted at rest.",
  references: { alphaPrime: "運用通知の保護", fsbp: "SNS.1", checkov: ["CKV_AWS_26"], trivy: ["AVD-AWS-0095"] },
  check(model) {
    return model
      .ofType("aws_sns_topic")
      .filter((t) => !t.values.kms_master_key_id)
      .map((t) => ({ address: t.address, message: "has no kms_master_key_id" }));
  },
};
