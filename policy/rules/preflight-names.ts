import { NAME_RULES, nameProblem, sourceTitle } from "../../core/aws-names";
import { fromTerraformLiteral } from "../../constructs/terraform-text";
import type { Rule, Violation } from "../types";

/** EC2 tag restrictions, the strictest of the services we tag: keys up to 127 characters, values up to 255, 50 tags. */
const TAG_KEY_MAX = 127;
const TAG_VALUE_MAX = 255;
const TAGS_PER_RESOURCE = 50;
/** IAM's tag grammar (Tag: keys [\p{L}\p{Z}\p{N}_.:/=+\-@]+, values the same or empty), narrower than EC2's "any character". */
const IAM_TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** The value AWS receives for a literal attribute, or undefined when Terraform computes it (a reference). */
export function literalValue(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  // unescaped "${" is an interpolation: its value is known only at apply
  if (/(^|[^$])\$\{/.test(v)) return undefined;
  return fromTerraformLiteral(v);
}

/** IAM resources the provider tags (default tags included). */
const IAM_TAGGED = new Set(["aws_iam_role", "aws_iam_instance_profile", "aws_iam_service_linked_role", "aws_iam_policy", "aws_iam_user", "aws_iam_openid_connect_provider", "aws_iam_saml_provider"]);

const AWS_SOURCES = [...new Map(NAME_RULES.map((r) => [r.source, r])).values()];

export const preflightNames: Rule = {
  id: "AP-PRE-003",
  severity: "error",
  title: "Every name (and description) the stack gives a resource has the length and characters the service's API accepts, and tags fit EC2's limits",
  rationale:
    "Load balancer and target group names stop at 32 characters and may not end in a hyphen, security group descriptions take only ASCII letters, digits and a few punctuation marks, Resolver names stop at 64, bucket names at 63: each service checks its own names, the provider checks few, and a municipality id of the wrong length or a description with an apostrophe fails the deploy half-way. The limits come from each API reference and are kept in one table (core/aws-names.ts).",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): 名前の文法と長さ",
    aws: [
      ...AWS_SOURCES.map((r) => ({ title: sourceTitle(r.source), url: r.source })),
      { title: "Tag your Amazon EC2 resources: tag restrictions (Amazon EC2 User Guide)", url: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions" },
      { title: "Tag: key and value patterns (IAM API Reference)", url: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_Tag.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    for (const rule of NAME_RULES) {
      for (const r of model.ofType(rule.type)) {
        const value = literalValue(r.values[rule.attribute]);
        if (value === undefined) continue;
        const why = nameProblem(rule, value);
        if (why) out.push({ address: r.address, message: why });
      }
    }
    const defaults: Record<string, unknown> = Object.assign({}, ...(model.json.provider?.aws ?? []).flatMap((p: any) => (p.default_tags ?? []).map((d: any) => d.tags ?? {})));
    const tagProblems = (k: string, raw: unknown, iam: boolean): string[] => {
      const found: string[] = [];
      if ([...k].length > TAG_KEY_MAX) found.push(`tag key ${JSON.stringify(k)} is longer than ${TAG_KEY_MAX} characters`);
      if (/^aws:/i.test(k)) found.push(`tag key ${JSON.stringify(k)} uses the reserved aws: prefix`);
      const v = literalValue(raw);
      if (v !== undefined && [...v].length > TAG_VALUE_MAX) found.push(`tag ${k} has ${[...v].length} characters; a value takes at most ${TAG_VALUE_MAX}`);
      // the provider's default tags reach IAM roles, instance profiles and service-linked roles, and IAM refuses
      // the whole request for one tag outside its grammar (a name with a comma or full-width parentheses)
      if (iam && (!IAM_TAG_TEXT.test(k) || (v !== undefined && !IAM_TAG_TEXT.test(v)))) found.push(`tag ${k}=${JSON.stringify(v ?? raw)} has a character IAM does not take in tags (letters, digits, spaces and _.:/=+-@ only)`);
      return found;
    };
    // a tag is judged once per key and text (and IAM or not): the provider's default tags are on every resource
    const judged = [new Map<string, Map<string, string[]>>(), new Map<string, Map<string, string[]>>()];
    const problemsOf = (k: string, raw: unknown, iam: boolean): string[] => {
      if (typeof raw !== "string") return tagProblems(k, raw, iam);
      const byKey = judged[Number(iam)];
      const byText = byKey.get(k) ?? byKey.set(k, new Map()).get(k)!;
      let found = byText.get(raw);
      if (!found) byText.set(raw, (found = tagProblems(k, raw, iam)));
      return found;
    };
    const checkTags = (address: string, tags: Record<string, unknown>, iam = false) => {
      const keys = Object.keys(tags);
      if (keys.length > TAGS_PER_RESOURCE) out.push({ address, message: `${keys.length} tags (with the provider's default tags); a resource takes at most ${TAGS_PER_RESOURCE}` });
      for (const k of keys) for (const message of problemsOf(k, tags[k], iam)) out.push({ address, message });
    };
    checkTags("provider.aws", defaults);
    // a resource's tags are { ...defaults, ...tags }: the default keys (a tag of the resource's own replaces the value),
    // then its own other keys. Read so, without building that object for every tagged resource, where both are
    // plain objects without integer-like keys (an object lists those first, so a merge would reorder them).
    const defaultKeys = Object.keys(defaults);
    const plainKeys = (o: object) => Object.keys(o).every((k) => !/^\d+$/.test(k));
    const defaultsPlain = plainKeys(defaults);
    const checkResourceTags = (address: string, tags: unknown, iam: boolean) => {
      const own = (tags ?? {}) as Record<string, unknown>;
      if (!defaultsPlain || typeof own !== "object" || Object.getPrototypeOf(own) !== Object.prototype || !plainKeys(own)) return checkTags(address, { ...defaults, ...(tags ?? {}) }, iam);
      let count = defaultKeys.length;
      for (const k in own) if (Object.hasOwn(own, k) && !Object.hasOwn(defaults, k)) count++;
      if (count > TAGS_PER_RESOURCE) out.push({ address, message: `${count} tags (with the provider's default tags); a resource takes at most ${TAGS_PER_RESOURCE}` });
      for (const k of defaultKeys) for (const message of problemsOf(k, Object.hasOwn(own, k) ? own[k] : defaults[k], iam)) out.push({ address, message });
      for (const k in own) if (Object.hasOwn(own, k) && !Object.hasOwn(defaults, k)) for (const message of problemsOf(k, own[k], iam)) out.push({ address, message });
    };
    for (const r of model.resources) {
      const iam = IAM_TAGGED.has(r.type);
      if ((r.values.tags && typeof r.values.tags === "object") || iam) checkResourceTags(r.address, r.values.tags, iam);
    }
    return out;
  },
};
