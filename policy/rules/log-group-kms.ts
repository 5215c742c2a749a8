import type { Rule } from "../types";

export const logGroupKms: Rule = {
  id: "AP-LOG-002",
  severity: "error",
  title: "CloudWatch log groups are encrypted with a customer-managed KMS key",
  rationale: "Logs of the breakout hold residents' traffic metadata; they are encrypted with a key the municipality controls and can audit.",
  references: { alphaPrime: "ログの暗号化", checkov: ["CKV_AWS_158"], trivy: ["AVD-AWS-0017"] },
  check(model) {
    return model
      .ofType("aws_cloudwatch_log_group")
      .filter((g) => !g.values.kms_key_id)
      .map((g) => ({ address: g.address, message: "has no kms_key_id" }));
  },
};
