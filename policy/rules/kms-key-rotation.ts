import type { Rule } from "../types";

export const kmsKeyRotation: Rule = {
  id: "AP-KMS-001",
  severity: "error",
  title: "Customer-managed KMS keys rotate automatically",
  rationale: "Rotation limits how much data one key version protects; AWS rotates symmetric keys yearly at no cost to availability.",
  references: { alphaPrime: "鍵管理", fsbp: "KMS.4", checkov: ["CKV_AWS_7"] },
  check(model) {
    return model
      .ofType("aws_kms_key")
      .filter((k) => (k.values.customer_master_key_spec ?? "SYMMETRIC_DEFAULT") === "SYMMETRIC_DEFAULT" && k.values.enable_key_rotation !== true)
      .map((k) => ({ address: k.address, message: "enable_key_rotation is not true" }));
  },
};
