import { openToEveryone, statementsOf } from "../policy-documents";
import type { Rule, Violation } from "../types";

export const kmsNoOpenPrincipal: Rule = {
  id: "AP-KMS-002",
  severity: "error",
  title: "No key policy lets a wildcard principal use a key without a condition naming the account, organization or source",
  rationale:
    "A key policy is the only resource policy that can grant a key to another account: an Allow to \"*\" with no condition lets anyone who can reach KMS decrypt the log archive, the proxy volumes (which hold the interception CA) or the alarm topic. " +
    "AWS's own pattern for a service that uses a key on a caller's behalf is a wildcard principal narrowed by kms:CallerAccount and kms:ViaService; the rule accepts such a statement, and refuses conditions that do not say who (TLS, tags), exclusions (…Not…) and …IfExists.",
  references: { alphaPrime: "鍵管理", checkov: ["CKV_AWS_33"] },
  check(model) {
    const out: Violation[] = [];
    for (const r of model.ofType("aws_kms_key", "aws_kms_key_policy", "aws_kms_replica_key")) {
      if (r.values.policy === undefined) continue;
      const statements = statementsOf(r.values.policy, model);
      if (!statements) out.push({ address: r.address, message: "policy is not a JSON policy document the rule can read" });
      else for (const message of openToEveryone(statements)) out.push({ address: r.address, message });
    }
    return out;
  },
};
