import { asArray, parsePolicy } from "../model";
import type { Rule, Violation } from "../types";

/** Whether an IAM action pattern (with * and ?) covers kms:PutKeyPolicy. */
function coversPutKeyPolicy(action: unknown): boolean {
  if (typeof action !== "string") return false;
  const re = new RegExp(`^${action.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
  return re.test("kms:PutKeyPolicy");
}

/**
 * Whether a principal is one of the key's own account: the account (root), or a role or user of it. `accountArns`
 * gives the pattern of the account's ARNs (made once per check: every principal of every key is compared with it).
 */
function ofAccount(principal: string, account: string | undefined, accountArns: () => RegExp): boolean {
  if (principal.includes("${")) return true; // a role this stack creates or reads: judged by AP-PRE-004
  if (account === undefined) return /^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|role\/.+|user\/.+))$/.test(principal);
  return principal === account || accountArns().test(principal);
}

export const preflightKeyLockout: Rule = {
  id: "AP-PRE-007",
  severity: "error",
  title: "Every key policy passes KMS's lockout safety check: an unconditional Allow lets the account (or a role or user of it) call kms:PutKeyPolicy",
  rationale:
    "CreateKey and PutKeyPolicy refuse a key policy that would not let the caller change the policy again (the policy lockout safety check), unless the request bypasses the check, which the provider does not do and which would leave a key nobody can manage. A customer-managed key for the firewall, the log archive or the instance volumes whose policy lost its account statement, or had it narrowed to use only, fails the deploy half-way, after the resources that do not need the key exist. The rule asks for the AWS default: the account itself (so IAM policies decide), or a role or user of the account, allowed kms:PutKeyPolicy without a condition.",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): 鍵ポリシーの管理権限",
    aws: [
      { title: "CreateKey: Policy and BypassPolicyLockoutSafetyCheck (AWS KMS API Reference)", url: "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html" },
      { title: "PutKeyPolicy (AWS KMS API Reference)", url: "https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html" },
      { title: "Default key policy: allows access to the AWS account and enables IAM policies (AWS KMS Developer Guide)", url: "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    const account = asArray<string>(model.json.provider?.aws?.[0]?.allowed_account_ids)[0];
    let arns: RegExp | undefined;
    const accountArns = () => (arns ??= new RegExp(`^arn:aws[a-z-]*:iam::${account}:(root|role/.+|user/.+)$`));
    const covers = new Map<unknown, boolean>();
    const coversOnce = (action: unknown) => covers.get(action) ?? covers.set(action, coversPutKeyPolicy(action)).get(action)!;
    for (const k of model.ofType("aws_kms_key", "aws_kms_key_policy", "aws_kms_replica_key")) {
      if (k.values.policy === undefined || k.values.bypass_policy_lockout_safety_check === true) continue;
      const policy = parsePolicy(k.values.policy, model);
      if (!policy) continue; // an unreadable policy is AP-KMS-002's finding
      const manages = policy.Statement.some((s: any) => {
        if (s?.Effect !== "Allow" || s.Condition !== undefined || s.NotAction !== undefined || s.NotPrincipal !== undefined) return false;
        if (!asArray(s.Action).some(coversOnce)) return false;
        const p = s.Principal;
        const aws = typeof p === "object" && p !== null ? asArray<string>(p.AWS) : [];
        return aws.some((a) => typeof a === "string" && ofAccount(a, account, accountArns));
      });
      if (!manages) out.push({ address: k.address, message: `no statement lets ${account ? `account ${account}` : "the account"} (or a role or user of it) call kms:PutKeyPolicy without a condition: CreateKey refuses the policy (lockout safety check)` });
    }
    return out;
  },
};
