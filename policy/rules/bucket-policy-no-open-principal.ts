import { openToEveryone, statementsOf } from "../policy-documents";
import type { Rule, Violation } from "../types";

export const bucketPolicyNoOpenPrincipal: Rule = {
  id: "AP-S3-006",
  severity: "error",
  title: "No bucket policy allows a wildcard principal without a condition naming the account, organization, source or VPC endpoint",
  rationale:
    "The log archive holds a year of every resident-facing connection and the configuration bucket the gateway's rules; an Allow to \"*\" would publish them, and the account's Block Public Access is the only thing that would stand in the way. " +
    "Deny statements to \"*\" (TLS only, no deletion) are how these buckets are locked, so only Allow statements count; log delivery is allowed to its service principal with aws:SourceAccount.",
  references: { alphaPrime: "ログの機密性", fsbp: "S3.2, S3.3", checkov: ["CKV_AWS_70"] },
  check(model) {
    const out: Violation[] = [];
    const policies = [...model.ofType("aws_s3_bucket_policy"), ...model.ofType("aws_s3_bucket").filter((b) => b.values.policy !== undefined)];
    for (const r of policies) {
      const statements = statementsOf(r.values.policy, model);
      if (!statements) out.push({ address: r.address, message: "policy is not a JSON policy document the rule can read" });
      else for (const message of openToEveryone(statements)) out.push({ address: r.address, message });
    }
    return out;
  },
};
