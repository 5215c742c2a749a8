import { asArray } from "../model";
import type { Resource, StackModel } from "../model";
import { isAllow, narrowingCondition, Statement, statementLabel, statementsOf, wildcardPrincipal } from "../policy-documents";
import type { Rule, Violation } from "../types";

/**
 * Actions that have no resource type, so the only Resource they take is "*" (the Service Authorization Reference
 * leaves their "Resource types" column empty). A statement whose actions are all here may say Resource "*"; each
 * entry says where AWS documents it. Add one only with its page.
 */
export const STAR_ONLY_ACTIONS: Readonly<Record<string, string>> = {
  // "Resource": "*" with a cloudwatch:namespace condition is AWS's own example for publishing metrics
  "cloudwatch:PutMetricData": "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html",
};

const IDENTITY_POLICY_TYPES = ["aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"];
const ATTACHMENT_TYPES = ["aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment", "aws_iam_policy_attachment"];

/**
 * Whether a Resource entry covers every resource of its kind: "*", or an ARN whose resource part is only a
 * wildcard (`arn:aws:s3:::*`, `…:secret:*`, `…:key/*`). A wildcard inside a named resource (a log group's streams,
 * `…:log-group:/alpha-prime/x/relay:*`; a bucket's objects, `arn:aws:s3:::bucket/*`) names that resource.
 */
export function wildcardResource(resource: string): boolean {
  if (resource.replace(/[*?]/g, "") === "") return true;
  const m = /^arn:[^:]*:([^:]*):[^:]*:[^:]*:(.*)$/.exec(resource);
  if (!m) return false;
  const [, service, rest] = m;
  if (rest.replace(/[*?]/g, "") === "") return true;
  // a resource-type prefix followed by nothing but a wildcard (S3 ARNs have no type prefix: bucket/* is named)
  return service !== "s3" && /^[A-Za-z0-9-]+[:/][*?]+$/.test(rest);
}

function identityStatements(r: Resource, statements: Statement[]): Violation[] {
  const out: Violation[] = [];
  statements.forEach((s, i) => {
    if (!isAllow(s)) return;
    const at = statementLabel(s, i);
    if (s.NotAction !== undefined) out.push({ address: r.address, message: `${at} allows NotAction (every action but those listed)` });
    if (s.NotResource !== undefined) out.push({ address: r.address, message: `${at} allows NotResource (every resource but those listed)` });
    const actions = asArray(s.Action).map(String);
    const wildActions = actions.filter((a) => /[*?]/.test(a));
    if (wildActions.length) out.push({ address: r.address, message: `${at} allows wildcard actions ${wildActions.join(", ")}: spell each action out` });
    const wildResources = asArray(s.Resource).map(String).filter(wildcardResource);
    const restrictable = actions.filter((a) => !(a in STAR_ONLY_ACTIONS));
    if (wildResources.length && restrictable.length) {
      out.push({ address: r.address, message: `${at} allows ${restrictable.join(", ")} on ${wildResources.join(", ")}: these actions take a resource ARN, so name it` });
    }
  });
  return out;
}

function identityPolicies(model: StackModel): { resource: Resource; text: unknown; where: string }[] {
  return [
    ...model.ofType(...IDENTITY_POLICY_TYPES).map((r) => ({ resource: r, text: r.values.policy, where: "policy" })),
    ...model.ofType("aws_iam_role").flatMap((r) => asArray<any>(r.values.inline_policy).map((p) => ({ resource: r, text: p?.policy, where: `inline policy ${p?.name ?? ""}`.trim() }))),
  ];
}

/** Managed policies attached whose statements are not in the stack (AWS-managed, or another stack's). */
function unseenAttachments(model: StackModel): Violation[] {
  const out: Violation[] = [];
  const judge = (address: string, arn: unknown) => {
    if (model.referenced(arn)?.type === "aws_iam_policy") return; // its document is checked above
    out.push({
      address,
      message: `attaches ${String(arn)}, whose statements are not in the stack, so least privilege cannot be checked here: accept it where it is attached, with the reason it is needed`,
    });
  };
  for (const a of model.ofType(...ATTACHMENT_TYPES)) judge(a.address, a.values.policy_arn);
  for (const r of model.ofType("aws_iam_role")) for (const arn of asArray<string>(r.values.managed_policy_arns)) judge(r.address, arn);
  return out;
}

/** Trust policies: a role anyone may assume is a role for everyone. */
function openTrust(model: StackModel): Violation[] {
  return model.ofType("aws_iam_role").flatMap((r) =>
    (statementsOf(r.values.assume_role_policy, model) ?? []).flatMap((s, i) => {
      const who = isAllow(s) ? wildcardPrincipal(s) : undefined;
      return who && !narrowingCondition(s) ? [{ address: r.address, message: `trust ${statementLabel(s, i)} lets ${who} assume the role with no condition naming an account or organization` }] : [];
    }),
  );
}

export const iamLeastPrivilege: Rule = {
  id: "AP-IAM-001",
  severity: "error",
  title: "IAM grants least privilege: every action spelled out, every resource named (\"*\" only for actions that take no resource), no AWS-managed policy unaccepted, no role anyone may assume",
  rationale:
    "The relay and proxy instances sit between the LGWAN and the internet; a role that can do more than write its own logs and read its own secret turns one compromised instance into the account. " +
    "Wildcard actions grow silently as AWS adds actions, and a wildcard resource reaches every secret, bucket and key in the account. " +
    "An AWS-managed policy's statements are not in the stack and change without our review, so each attachment carries a reason in the construct that makes it (the Session Manager policy, AmazonSSMManagedInstanceCore, is one). " +
    "Actions that take no resource (Service Authorization Reference: empty resource-types column) may use \"*\"; the rule lists them with their pages (STAR_ONLY_ACTIONS).",
  references: {
    alphaPrime: "最小権限（中継アプライアンス・プロキシ）",
    fsbp: "IAM.1, IAM.21",
    checkov: ["CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_355", "CKV_AWS_290"],
    trivy: ["AVD-AWS-0057"],
  },
  check(model) {
    const out: Violation[] = [];
    for (const { resource, text, where } of identityPolicies(model)) {
      const statements = statementsOf(text, model);
      if (!statements) {
        if (text !== undefined) out.push({ address: resource.address, message: `${where} is not a JSON policy document the rule can read` });
        continue;
      }
      out.push(...identityStatements(resource, statements));
    }
    out.push(...unseenAttachments(model), ...openTrust(model));
    return out;
  },
};
