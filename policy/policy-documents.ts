/**
 * Reading IAM policy documents the way AWS evaluates them, for the rules on identity policies, key policies and
 * bucket policies: who a statement lets in, and whether a condition narrows that to someone in particular.
 * IAM JSON policy elements: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
 */
import { asArray } from "./model";
import type { StackModel } from "./model";

export interface Statement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** A statement's name in a message: its Sid, or its position. */
export function statementLabel(s: Statement, index: number): string {
  return typeof s.Sid === "string" && s.Sid ? `statement '${s.Sid}'` : `statement ${index + 1}`;
}

export function isAllow(s: Statement): boolean {
  return s.Effect === "Allow";
}

/**
 * Why a statement's principal is everyone, or undefined. `"*"` and `{"AWS": "*"}` are anyone (signed or not); an
 * AWS principal with a wildcard in it (`arn:aws:iam::*:root`) is any account; NotPrincipal with Allow is everyone
 * but the few it names.
 */
export function wildcardPrincipal(s: Statement): string | undefined {
  if (s.NotPrincipal !== undefined) return "NotPrincipal (everyone but the principals it names)";
  const p = s.Principal;
  if (p === undefined) return undefined;
  if (typeof p === "string") return p.includes("*") ? `principal ${JSON.stringify(p)}` : undefined;
  if (p && typeof p === "object") {
    for (const [kind, ids] of Object.entries(p as Record<string, unknown>)) {
      const wild = asArray(ids as string | string[]).find((id) => typeof id === "string" && id.includes("*"));
      if (wild !== undefined) return `principal ${kind} ${JSON.stringify(wild)}`;
    }
  }
  return undefined;
}

/**
 * Condition keys that say *who* may act or on whose behalf a service acts: the caller's account, organization or
 * ARN, the source resource or account of a service request, the VPC or endpoint a request comes through. A condition
 * on anything else (TLS, time, tags of the request) leaves the principal as open as it was.
 * Global condition context keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html;
 * kms:CallerAccount: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account
 */
const WHO_KEYS = new Set(
  [
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceOwner",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "kms:CallerAccount",
  ].map((k) => k.toLowerCase()),
);

/**
 * Whether a condition value names someone: a literal (an account, an organization, an ARN, an endpoint id), or an
 * ARN pattern whose account is a literal twelve-digit account (`arn:aws:logs:ap-northeast-1:111122223333:*`). A
 * wildcard anywhere else (`1*`, `o-*`, `arn:aws:iam::*:root`, `arn:aws:s3:::name*`) matches accounts nobody chose.
 */
function namesSomeone(value: string): boolean {
  if (!/[*?]/.test(value)) return value !== "";
  const arn = /^arn:[^:]*:[^:]*:[^:]*:([^:]*):/.exec(value);
  return !!arn && /^\d{12}$/.test(arn[1]);
}

/**
 * The condition that narrows a wildcard principal to someone in particular, or undefined. It must be a positive
 * match (`StringEquals`, `ArnLike`, …: not a `…Not…` operator, which only excludes), not `…IfExists` (which holds
 * for every request that lacks the key) and not on `Null`, on one of WHO_KEYS, every value naming someone.
 * Operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 */
export function narrowingCondition(s: Statement): string | undefined {
  for (const [operator, block] of Object.entries(s.Condition ?? {})) {
    const op = operator.replace(/^For(AnyValue|AllValues):/, "");
    if (/Not|IfExists$|^Null$|^Bool$/.test(op) || !block || typeof block !== "object") continue;
    for (const [key, values] of Object.entries(block)) {
      if (!WHO_KEYS.has(key.toLowerCase())) continue;
      const list = asArray(values as string | string[]).map(String);
      if (list.length > 0 && list.every(namesSomeone)) return `${operator} ${key}`;
    }
  }
  return undefined;
}

/**
 * The statements of a policy document held as JSON text (as Terraform holds them); undefined when it is not JSON.
 * With the model, each text is parsed once for all the rules that read it.
 */
export function statementsOf(text: unknown, model?: StackModel): Statement[] | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const doc: any = model ? model.parsedJson(text) : JSON.parse(text);
    return asArray(doc?.Statement).filter((s): s is Statement => !!s && typeof s === "object");
  } catch {
    return undefined;
  }
}

/**
 * Every Allow statement of `statements` that lets everyone in: a wildcard principal (or NotPrincipal) with no
 * condition that narrows it. Returns one sentence per statement.
 */
export function openToEveryone(statements: readonly Statement[]): string[] {
  return statements.flatMap((s, i) => {
    if (!isAllow(s)) return [];
    const who = wildcardPrincipal(s);
    if (!who || narrowingCondition(s)) return [];
    const actions = asArray(s.Action ?? s.NotAction).join(", ");
    return [`${statementLabel(s, i)} allows ${who} to ${actions || "act"} with no condition naming an account, organization, source or VPC endpoint`];
  });
}
