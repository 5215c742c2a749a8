import { asArray, parsePolicy, Resource } from "../model";
import type { Rule, Violation } from "../types";

/** Resources whose policy AWS validates principal by principal when it is created or put. */
const POLICIES: readonly [type: string, attribute: string][] = [
  ["aws_kms_key", "policy"],
  ["aws_kms_key_policy", "policy"],
  ["aws_s3_bucket_policy", "policy"],
  ["aws_sns_topic", "policy"],
  ["aws_sns_topic_policy", "policy"],
  ["aws_iam_role", "assume_role_policy"],
];

/** Resources that are principals: a policy referring to one is applied after it exists. */
const PRINCIPAL_TYPES = new Set(["aws_iam_role", "aws_iam_user", "aws_iam_service_linked_role"]);

/** The ARN a principal resource of this stack will have, where its literal arguments say (for literal references). */
function arnOf(r: Resource, account: string | undefined): string | undefined {
  if (!account) return undefined;
  if (r.type === "aws_iam_role" && typeof r.values.name === "string") return `arn:aws:iam::${account}:role${r.values.path ?? "/"}${r.values.name}`;
  if (r.type === "aws_iam_user" && typeof r.values.name === "string") return `arn:aws:iam::${account}:user${r.values.path ?? "/"}${r.values.name}`;
  if (r.type === "aws_iam_service_linked_role" && typeof r.values.aws_service_name === "string" && r.values.aws_service_name === "autoscaling.amazonaws.com") {
    const name = `AWSServiceRoleForAutoScaling${r.values.custom_suffix ? `_${r.values.custom_suffix}` : ""}`;
    return `arn:aws:iam::${account}:role/aws-service-role/autoscaling.amazonaws.com/${name}`;
  }
  return undefined;
}

function dependsOn(r: Resource, on: Resource): boolean {
  return asArray<string>(r.values.depends_on).includes(on.address);
}

export const preflightPrincipals: Rule = {
  id: "AP-PRE-004",
  severity: "error",
  title: "Key and resource policies name only principals that exist before them: the account, AWS services, or roles this stack creates first",
  rationale:
    "KMS, S3, SNS and IAM check every principal of a policy when it is set and refuse one that does not exist (MalformedPolicyDocumentException, \"Invalid principal in policy\"). A role that exists on the account where the stack was tried — such as AWSServiceRoleForAutoScaling, which AWS creates with an account's first Auto Scaling group — makes a deploy that works there and fails on a fresh municipal account. A principal this stack creates, referred to rather than spelled out, is created first, because the reference orders it.",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): 新規アカウントでのデプロイ",
    aws: [
      { title: "CreateKey: the principals in the key policy must exist and be visible to KMS (AWS KMS API Reference)", url: "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html" },
      { title: "Required AWS KMS key policy for use with encrypted volumes (Amazon EC2 Auto Scaling User Guide)", url: "https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html" },
      { title: "Service-linked roles for Amazon EC2 Auto Scaling", url: "https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    const account = asArray<string>(model.json.provider?.aws?.[0]?.allowed_account_ids)[0];
    const principals = model.resources.filter((r) => PRINCIPAL_TYPES.has(r.type));
    for (const [type, attribute] of POLICIES) {
      for (const r of model.ofType(type)) {
        for (const s of parsePolicy(r.values[attribute], model)?.Statement ?? []) {
          const p = s?.Principal;
          if (!p || p === "*" || typeof p !== "object") continue;
          for (const v of asArray<string>(p.AWS)) {
            if (typeof v !== "string" || v === "*" || /^\d{12}$/.test(v) || /^arn:aws[a-z-]*:iam::\d{12}:root$/.test(v)) continue;
            if (v.includes("${")) {
              const ref = model.referenced(v);
              if (ref && !PRINCIPAL_TYPES.has(ref.type)) out.push({ address: r.address, message: `principal ${v} refers to ${ref.address}, which is not a role or user` });
              continue; // a reference to a principal of this stack (or a data source, which exists) orders it first
            }
            const made = principals.find((x) => arnOf(x, account) === v);
            if (made && dependsOn(r, made)) continue;
            const why = /AWSServiceRoleForAutoScaling$/.test(v)
              ? "AWS creates this service-linked role with the account's first Auto Scaling group, so on a fresh account it does not exist when the policy is set"
              : made
                ? `${made.address} creates it, but nothing orders it first: refer to its arn, or add it to depends_on`
                : "nothing in this stack creates it, so it must already exist on every account the stack deploys to";
            out.push({ address: r.address, message: `principal ${v}: ${why}` });
          }
        }
      }
    }
    return out;
  },
};
