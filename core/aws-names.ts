/**
 * What AWS accepts as a name (and a few descriptions) for each resource type the stacks create, from each service's
 * API reference, and the one helper that shortens a name to a limit without breaking its grammar. Constructs use
 * `shortName` to make names; the preflight rule AP-PRE-003 judges every synthesized name against `NAME_RULES`. The
 * provider checks few of these before it calls the API, so an invalid name otherwise fails `terraform apply` half-way.
 * Ground floor: no imports of ours.
 */
import { createHash } from "crypto";

export interface NameRule {
  /** Terraform resource type */
  readonly type: string;
  /** the argument that carries the name */
  readonly attribute: string;
  readonly min: number;
  readonly max: number;
  /** the whole value must match (anchored) */
  readonly pattern?: RegExp;
  /** what the pattern allows, for the finding */
  readonly grammar: string;
  /** further refusals the pattern cannot say: [test, why] */
  readonly refuse?: readonly [RegExp, string][];
  /** the API reference page that states the limit */
  readonly source: string;
}

// EC2 security group names and descriptions, and security group rule descriptions (CreateSecurityGroup,
// IpRange/UserIdGroupPair Description): "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*".
const EC2_TEXT = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
const EC2_TEXT_GRAMMAR = "letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*";
// IAM names: [\w+=,.@-]+ (CreateRole, PutRolePolicy, CreateInstanceProfile, CreateServiceLinkedRole CustomSuffix)
const IAM_NAME = /^[\w+=,.@-]+$/;
// Route 53 Resolver names: (?!^[0-9]+$)([a-zA-Z0-9\-_' ']+), at most 64
const RESOLVER_NAME = /^(?![0-9]+$)[a-zA-Z0-9\-_ ']+$/;
// CloudWatch Logs log stream and metric filter names: [^:*]*
const LOGS_NAME = /^[^:*]*$/;
const ELB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

const API = {
  asg: "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html",
  scalingPolicy: "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutScalingPolicy.html",
  logGroup: "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
  logStream: "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogStream.html",
  metricFilter: "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutMetricFilter.html",
  alarm: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
  customerGateway: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateCustomerGateway.html",
  role: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
  rolePolicy: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html",
  instanceProfile: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateInstanceProfile.html",
  serviceLinkedRole: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateServiceLinkedRole.html",
  alias: "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html",
  key: "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html",
  launchTemplate: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html",
  lb: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
  targetGroup: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
  firewall: "https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_CreateFirewall.html",
  firewallPolicy: "https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_CreateFirewallPolicy.html",
  ruleGroup: "https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_CreateRuleGroup.html",
  resolverEndpoint: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_CreateResolverEndpoint.html",
  domainList: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_CreateFirewallDomainList.html",
  dnsRuleGroup: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_CreateFirewallRuleGroup.html",
  dnsRule: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_CreateFirewallRule.html",
  dnsAssociation: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_AssociateFirewallRuleGroup.html",
  queryLog: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_route53resolver_CreateResolverQueryLogConfig.html",
  bucket: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
  objectKey: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html",
  securityGroup: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
  sgRule: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html",
  topic: "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html",
  association: "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateAssociation.html",
} as const;

const resolver = (type: string, source: string, min = 0): NameRule => ({
  type,
  attribute: "name",
  min,
  max: 64,
  pattern: RESOLVER_NAME,
  grammar: "letters, digits, '-', '_', spaces and apostrophes, not digits only",
  source,
});
const nfw = (type: string, source: string): NameRule => ({ type, attribute: "name", min: 1, max: 128, pattern: /^[a-zA-Z0-9-]+$/, grammar: "letters, digits and '-'", source });
const ec2Text = (type: string, attribute: string, source: string): NameRule => ({ type, attribute, min: 0, max: 255, pattern: EC2_TEXT, grammar: EC2_TEXT_GRAMMAR, source });

/** The name rules, one per (resource type, argument) the stacks write. A test keeps it complete against the samples. */
export const NAME_RULES: readonly NameRule[] = [
  { type: "aws_autoscaling_group", attribute: "name", min: 1, max: 255, pattern: /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f]+$/, grammar: "XML characters", source: API.asg },
  // PutScalingPolicy PolicyName: 1 to 255 XML characters, like the group's own name
  { type: "aws_autoscaling_policy", attribute: "name", min: 1, max: 255, pattern: /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f]+$/, grammar: "XML characters", source: API.scalingPolicy },
  { type: "aws_cloudwatch_log_group", attribute: "name", min: 1, max: 512, pattern: /^[.\-_/#A-Za-z0-9]+$/, grammar: "letters, digits and ._-/#", source: API.logGroup },
  { type: "aws_cloudwatch_log_stream", attribute: "name", min: 1, max: 512, pattern: LOGS_NAME, grammar: "no ':' or '*'", source: API.logStream },
  { type: "aws_cloudwatch_log_metric_filter", attribute: "name", min: 1, max: 512, pattern: LOGS_NAME, grammar: "no ':' or '*'", source: API.metricFilter },
  { type: "aws_cloudwatch_metric_alarm", attribute: "alarm_name", min: 1, max: 255, grammar: "any text", source: API.alarm },
  { type: "aws_cloudwatch_metric_alarm", attribute: "alarm_description", min: 0, max: 1024, grammar: "any text", source: API.alarm },
  { type: "aws_customer_gateway", attribute: "device_name", min: 0, max: 255, grammar: "any text", source: API.customerGateway },
  { type: "aws_iam_role", attribute: "name", min: 1, max: 64, pattern: IAM_NAME, grammar: "letters, digits and _+=,.@-", source: API.role },
  // CreateRole Description: [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*, at most 1000
  { type: "aws_iam_role", attribute: "description", min: 0, max: 1000, pattern: /^[\u0009\u000a\u000d\u0020-\u007e\u00a1-\u00ff]*$/, grammar: "printable Latin-1", source: API.role },
  { type: "aws_iam_role_policy", attribute: "name", min: 1, max: 128, pattern: IAM_NAME, grammar: "letters, digits and _+=,.@-", source: API.rolePolicy },
  { type: "aws_iam_instance_profile", attribute: "name", min: 1, max: 128, pattern: IAM_NAME, grammar: "letters, digits and _+=,.@-", source: API.instanceProfile },
  // the role is named AWSServiceRoleFor<Service>_<suffix> and a role name holds 64 characters; for EC2 Auto Scaling
  // (AWSServiceRoleForAutoScaling_, 29 characters) that leaves 35 for the suffix
  { type: "aws_iam_service_linked_role", attribute: "custom_suffix", min: 1, max: 35, pattern: IAM_NAME, grammar: "letters, digits and _+=,.@- (the role name, AWSServiceRoleForAutoScaling_<suffix>, holds 64)", source: API.serviceLinkedRole },
  {
    type: "aws_kms_alias",
    attribute: "name",
    min: 7,
    max: 256,
    pattern: /^alias\/[a-zA-Z0-9/_-]+$/,
    grammar: "alias/ and letters, digits and /_-",
    refuse: [[/^alias\/aws\//, "alias/aws/ is reserved for AWS managed keys"]],
    source: API.alias,
  },
  { type: "aws_kms_key", attribute: "description", min: 0, max: 8192, grammar: "any text", source: API.key },
  { type: "aws_launch_template", attribute: "name", min: 3, max: 128, pattern: /^[a-zA-Z0-9().\-/_]+$/, grammar: "letters, digits and ().-/_", source: API.launchTemplate },
  { type: "aws_launch_template", attribute: "description", min: 0, max: 255, grammar: "any text (the version description)", source: API.launchTemplate },
  {
    type: "aws_lb",
    attribute: "name",
    min: 1,
    max: 32,
    pattern: ELB_NAME,
    grammar: "letters, digits and '-', not starting or ending with '-'",
    refuse: [[/^internal-/, "a name may not begin with internal-"]],
    source: API.lb,
  },
  { type: "aws_lb_target_group", attribute: "name", min: 1, max: 32, pattern: ELB_NAME, grammar: "letters, digits and '-', not starting or ending with '-'", source: API.targetGroup },
  nfw("aws_networkfirewall_firewall", API.firewall),
  nfw("aws_networkfirewall_firewall_policy", API.firewallPolicy),
  nfw("aws_networkfirewall_rule_group", API.ruleGroup),
  { type: "aws_networkfirewall_rule_group", attribute: "description", min: 0, max: 512, grammar: "any text", source: API.ruleGroup },
  resolver("aws_route53_resolver_endpoint", API.resolverEndpoint),
  resolver("aws_route53_resolver_firewall_domain_list", API.domainList),
  resolver("aws_route53_resolver_firewall_rule_group", API.dnsRuleGroup),
  resolver("aws_route53_resolver_firewall_rule", API.dnsRule),
  resolver("aws_route53_resolver_firewall_rule_group_association", API.dnsAssociation),
  resolver("aws_route53_resolver_query_log_config", API.queryLog, 1),
  {
    type: "aws_s3_bucket",
    attribute: "bucket",
    min: 3,
    max: 63,
    pattern: /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/,
    grammar: "lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
    refuse: [
      [/\.\./, "two adjacent periods"],
      [/^\d+\.\d+\.\d+\.\d+$/, "formatted as an IP address"],
      [/^(xn--|sthree-|amzn-s3-demo-)/, "a reserved prefix (xn--, sthree-, amzn-s3-demo-)"],
      [/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/, "a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)"],
    ],
    source: API.bucket,
  },
  { type: "aws_s3_object", attribute: "key", min: 1, max: 1024, grammar: "UTF-8, at most 1,024 bytes", source: API.objectKey },
  { ...ec2Text("aws_security_group", "name", API.securityGroup), min: 1, refuse: [[/^sg-/, "a name may not begin with sg-"]] },
  ec2Text("aws_security_group", "description", API.securityGroup),
  ec2Text("aws_vpc_security_group_ingress_rule", "description", API.sgRule),
  ec2Text("aws_vpc_security_group_egress_rule", "description", API.sgRule),
  { type: "aws_sns_topic", attribute: "name", min: 1, max: 256, pattern: /^[A-Za-z0-9_-]+(\.fifo)?$/, grammar: "letters, digits, '-' and '_' (FIFO topics end in .fifo)", source: API.topic },
  { type: "aws_ssm_association", attribute: "association_name", min: 3, max: 128, pattern: /^[a-zA-Z0-9_\-.]+$/, grammar: "letters, digits and _-.", source: API.association },
  { type: "aws_ssm_association", attribute: "name", min: 3, max: 128, pattern: /^[a-zA-Z0-9_\-.:/]+$/, grammar: "letters, digits and _-.:/ (a document name or ARN)", source: API.association },
];

/** A readable title for a rule's source page: "CreateLoadBalancer (Elastic Load Balancing API Reference)". */
export function sourceTitle(url: string): string {
  const service: Record<string, string> = {
    autoscaling: "Amazon EC2 Auto Scaling API Reference",
    AmazonCloudWatchLogs: "Amazon CloudWatch Logs API Reference",
    AmazonCloudWatch: "Amazon CloudWatch API Reference",
    AWSEC2: "Amazon EC2 API Reference",
    IAM: "IAM API Reference",
    kms: "AWS KMS API Reference",
    elasticloadbalancing: "Elastic Load Balancing API Reference",
    "network-firewall": "AWS Network Firewall API Reference",
    Route53: "Amazon Route 53 API Reference",
    AmazonS3: "Amazon S3 User Guide",
    sns: "Amazon SNS API Reference",
    "systems-manager": "AWS Systems Manager API Reference",
  };
  const [, first] = /^https:\/\/docs\.aws\.amazon\.com\/([^/]+)\//.exec(url) ?? [];
  const page = (url.split("/").pop() ?? url).replace(/\.html$/, "").replace(/^API_(route53resolver_)?/, "");
  const names: Record<string, string> = { bucketnamingrules: "Bucket naming rules", "object-keys": "Naming Amazon S3 objects", IpRange: "IpRange (security group rule description)" };
  return `${names[page] ?? page} (${service[first] ?? first})`;
}

/** Why a name breaks its rule (length in UTF-8 bytes for object keys, characters otherwise), or undefined. */
export function nameProblem(rule: NameRule, value: string): string | undefined {
  const length = rule.type === "aws_s3_object" ? Buffer.byteLength(value, "utf8") : [...value].length;
  if (length < rule.min || length > rule.max) return `${JSON.stringify(value)} has ${length} ${rule.type === "aws_s3_object" ? "bytes" : "characters"}; ${rule.type} ${rule.attribute} takes ${rule.min === rule.max ? rule.min : `${rule.min}-${rule.max}`}`;
  if (rule.pattern && !rule.pattern.test(value)) return `${JSON.stringify(value)} is not valid for ${rule.type} ${rule.attribute} (${rule.grammar})`;
  for (const [test, why] of rule.refuse ?? []) if (test.test(value)) return `${JSON.stringify(value)} is refused for ${rule.type} ${rule.attribute}: ${why}`;
  return undefined;
}

/**
 * A name of at most `max` characters (32: load balancers and target groups), stable and distinct: kept when it fits,
 * otherwise cut and given a 4-digit hash of the whole, so it never ends in a hyphen (which the load balancer APIs
 * refuse) and two long names that share a beginning stay apart.
 */
export function shortName(text: string, max = 32): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 5)}-${createHash("sha256").update(text).digest("hex").slice(0, 4)}`;
}
