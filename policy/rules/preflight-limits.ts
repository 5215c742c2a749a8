import { ruleLines } from "../suricata";
import { asArray, Resource } from "../model";
import type { Rule, Violation } from "../types";

/** Network Firewall quotas that cannot be changed (AWS Network Firewall Developer Guide, "quotas"). */
export const NETWORK_FIREWALL_LIMITS = {
  ruleGroupCapacity: 30_000,
  suricataRuleChars: 8_192,
  rulesStringBytes: 2_000_000,
  ipSetReferencesPerGroup: 5,
  statefulGroupsPerPolicy: 20,
} as const;

/** Other fixed limits of what the stacks write, each from the page cited in the rule. */
export const DOCUMENT_LIMITS = {
  userDataBytes: 16_384,
  keyPolicyBytes: 32_768,
  vpcEndpointPolicyChars: 20_480,
  bucketPolicyBytes: 20_480,
  iamInlineRolePolicyChars: 10_240,
  iamTrustPolicyChars: 2_048,
  dnsFirewallDomainChars: 255,
  /** "Listeners per Network Load Balancer: 50, adjustable: no" (one per relay route on the relay's) */
  listenersPerNetworkLoadBalancer: 50,
} as const;

/**
 * How much capacity a stateful rule group's rules need: one per rule ("the minimum capacity required is the number of
 * individual rules"); a domain list generates one rule per domain and target type (TLS SNI, HTTP Host).
 */
export function statefulRulesNeeded(g: Resource): number {
  const src = g.values.rule_group?.rules_source ?? {};
  const list = src.rules_source_list;
  const fromList = list ? asArray<string>(list.targets).length * Math.max(1, asArray<string>(list.target_types).length) : 0;
  return fromList + ruleLines(src.rules_string).length + asArray(src.stateful_rule).length;
}

/** A rule with each variable ($HOME_NET …) spelled out, as Network Firewall counts its length. */
function expanded(rule: string, variables: Map<string, string>): string {
  return rule.replace(/\$([A-Z_][A-Z0-9_]*)/g, (m, name: string) => variables.get(name) ?? m);
}

const SIZE = (text: string) => Buffer.byteLength(text, "utf8");
const CHARS = (text: string) => text.replace(/\s+/g, "").length;

export const preflightLimits: Rule = {
  id: "AP-PRE-005",
  severity: "error",
  title: "What the stack writes fits AWS's fixed limits: firewall rule-group capacity and rule sizes, user data, key, endpoint, bucket and IAM policy sizes, DNS Firewall domains, listeners per Network Load Balancer",
  rationale:
    "These limits cannot be raised, and the provider checks none of them: a firewall rule group whose rules outgrow its capacity, a domain rule list that grows with the allowlist, a launch template whose user data (the proxy's squid.conf, block pages and engine settings) passes 16 KB, or a policy that grows with the LGWAN segments is refused by the API during apply. The capacities are set when a rule group is made and never change, so the check runs on every synth.",
  references: {
    alphaPrime: "デプロイ前検証 (preflight): 容量と固定上限",
    aws: [
      { title: "AWS Network Firewall quotas", url: "https://docs.aws.amazon.com/network-firewall/latest/developerguide/quotas.html" },
      { title: "Setting rule group capacity in AWS Network Firewall", url: "https://docs.aws.amazon.com/network-firewall/latest/developerguide/nwfw-rule-group-capacity.html" },
      { title: "Work with instance user data: 16 KB in raw form (Amazon EC2 User Guide)", url: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html" },
      { title: "Key policy format: up to 32 kilobytes (AWS KMS Developer Guide)", url: "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html" },
      { title: "Amazon VPC quotas: characters per VPC endpoint policy", url: "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html" },
      { title: "Bucket policies: up to 20 KB (Amazon S3 User Guide)", url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html" },
      { title: "IAM and AWS STS quotas: role policy and trust policy lengths", url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html" },
      { title: "UpdateFirewallDomains: domains of up to 255 characters (Amazon Route 53 API Reference)", url: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_UpdateFirewallDomains.html" },
      { title: "Quotas for your Network Load Balancers: 50 listeners per load balancer, not adjustable (Elastic Load Balancing)", url: "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-limits.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    const L = NETWORK_FIREWALL_LIMITS;
    for (const g of model.ofType("aws_networkfirewall_rule_group")) {
      const capacity = Number(g.values.capacity);
      if (capacity > L.ruleGroupCapacity) out.push({ address: g.address, message: `capacity ${capacity} is above the ${L.ruleGroupCapacity} a rule group may have` });
      if (g.values.type === "STATEFUL") {
        const need = statefulRulesNeeded(g);
        if (need > capacity) out.push({ address: g.address, message: `its rules need a capacity of ${need}; the group was made with ${capacity}, which never changes` });
      }
      const rg = g.values.rule_group ?? {};
      const variables = new Map<string, string>(asArray<any>(rg.rule_variables?.ip_sets).map((s) => [s.key, `[${asArray<string>(s.ip_set?.definition).join(",")}]`]));
      const text = String(rg.rules_source?.rules_string ?? "");
      if (SIZE(text) > L.rulesStringBytes) out.push({ address: g.address, message: `the rules string has ${SIZE(text)} bytes; a rule group holds ${L.rulesStringBytes}` });
      for (const rule of ruleLines(text)) {
        const n = expanded(rule, variables).length;
        if (n > L.suricataRuleChars) out.push({ address: g.address, message: `a rule of ${n} characters (variables spelled out) is longer than ${L.suricataRuleChars}: ${rule.slice(0, 80)}…` });
      }
      const refs = asArray(rg.reference_sets?.ip_set_references).length;
      if (refs > L.ipSetReferencesPerGroup) out.push({ address: g.address, message: `${refs} IP set references; a rule group takes ${L.ipSetReferencesPerGroup}` });
    }
    for (const p of model.ofType("aws_networkfirewall_firewall_policy")) {
      const refs = asArray(p.values.firewall_policy?.stateful_rule_group_reference).length;
      if (refs > L.statefulGroupsPerPolicy) out.push({ address: p.address, message: `${refs} stateful rule groups; a firewall policy takes ${L.statefulGroupsPerPolicy}` });
    }
    const D = DOCUMENT_LIMITS;
    const tooBig = (r: Resource, attribute: string, limit: number, measure: (t: string) => number, what: string) => {
      const v = r.values[attribute];
      if (typeof v === "string" && measure(v) > limit) out.push({ address: r.address, message: `${what} is ${measure(v)} long; the limit is ${limit}` });
    };
    for (const t of model.ofType("aws_launch_template", "aws_instance")) {
      const v = t.values.user_data ?? t.values.user_data_base64;
      // the limit is on the raw (decoded) bytes, which is what a launch template's base64 carries
      if (typeof v === "string" && /^[A-Za-z0-9+/=\s]+$/.test(v) && Buffer.from(v, "base64").length > D.userDataBytes) {
        out.push({ address: t.address, message: `user data is ${Buffer.from(v, "base64").length} bytes before base64; EC2 takes ${D.userDataBytes} (compress it: cloud-init reads gzip)` });
      }
    }
    for (const k of model.ofType("aws_kms_key", "aws_kms_key_policy")) tooBig(k, "policy", D.keyPolicyBytes, SIZE, "the key policy");
    for (const e of model.ofType("aws_vpc_endpoint", "aws_vpc_endpoint_policy")) tooBig(e, "policy", D.vpcEndpointPolicyChars, (t) => t.length, "the endpoint policy");
    for (const b of model.ofType("aws_s3_bucket_policy")) tooBig(b, "policy", D.bucketPolicyBytes, SIZE, "the bucket policy");
    for (const r of model.ofType("aws_iam_role")) tooBig(r, "assume_role_policy", D.iamTrustPolicyChars, CHARS, "the trust policy (white space aside)");
    const inline = new Map<string, number>();
    for (const p of model.ofType("aws_iam_role_policy")) {
      const role = String(p.values.role ?? "");
      if (typeof p.values.policy === "string") inline.set(role, (inline.get(role) ?? 0) + CHARS(p.values.policy));
    }
    for (const [role, n] of inline) if (n > D.iamInlineRolePolicyChars) out.push({ address: model.referenced(role)?.address ?? role, message: `inline policies of ${n} characters (white space aside); a role holds ${D.iamInlineRolePolicyChars}` });
    for (const l of model.ofType("aws_route53_resolver_firewall_domain_list")) {
      for (const d of asArray<string>(l.values.domains)) {
        if (d.length > D.dnsFirewallDomainChars) out.push({ address: l.address, message: `domain ${d.slice(0, 60)}… has ${d.length} characters; a domain takes ${D.dnsFirewallDomainChars}` });
        else if (!/^(\*\.)?([A-Za-z0-9_-]+\.)*[A-Za-z0-9_-]*\.?$/.test(d) && d !== "*") out.push({ address: l.address, message: `domain ${JSON.stringify(d)} is not a domain DNS Firewall accepts (letters, digits, '-', '_', a leading '*.')` });
      }
    }
    // a Network Load Balancer takes 50 listeners and the quota cannot be raised: the 51st CreateListener fails
    for (const lb of model.ofType("aws_lb").filter((l) => l.values.load_balancer_type === "network")) {
      const n = model.ofType("aws_lb_listener").filter((l) => model.pointsAt(l.values.load_balancer_arn, lb)).length;
      if (n > D.listenersPerNetworkLoadBalancer) out.push({ address: lb.address, message: `${n} listeners; a Network Load Balancer takes ${D.listenersPerNetworkLoadBalancer}, a quota AWS does not raise` });
    }
    return out;
  },
};
