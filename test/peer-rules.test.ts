/**
 * Issue 22, item 3: the rules for the peer classes a Checkov comparison showed our pack did not guard. Each rule has
 * a failing and a passing fixture here, and the ways around it that a careless or hurried change would take; the
 * mutations of real synthesized samples are in policy.test.ts (WEAKENINGS). Then the findings the constructs accept
 * by design, and what adopting the firewall key does to a deployed stack.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { offlinePlan } from "../cli/offline-plan";
import { checkStack, SUPPRESSION_RULE_ID } from "../policy/engine";
import { StackModel } from "../policy/model";
import { ALPHA_PRIME_PACK } from "../policy/pack";
import { bucketPolicyNoOpenPrincipal } from "../policy/rules/bucket-policy-no-open-principal";
import { defaultSecurityGroupClosed } from "../policy/rules/default-security-group-closed";
import { firewallCustomerKey } from "../policy/rules/firewall-customer-key";
import { iamLeastPrivilege, wildcardResource } from "../policy/rules/iam-least-privilege";
import { kmsNoOpenPrincipal } from "../policy/rules/kms-no-open-principal";
import { lbDeletionProtection } from "../policy/rules/lb-deletion-protection";
import { noInternetEgress, reachesInternet } from "../policy/rules/no-internet-egress";
import { noSecretsInUserData } from "../policy/rules/no-secrets-in-user-data";
import { tgwNoAutoAccept } from "../policy/rules/tgw-no-auto-accept";
import type { Rule } from "../policy/types";
import { envDirWith, hasTerraform, loadSample, sampleText, synthConfigs, synthStacks, tempDir } from "./helpers";

const TODAY = "2026-11-23";

/** A stack of just these resources ({ "type.name": values }). */
function stack(resources: Record<string, Record<string, unknown>>, locals: Record<string, unknown> = {}): StackModel {
  const resource: Record<string, Record<string, unknown>> = {};
  for (const [address, values] of Object.entries(resources)) {
    const [type, name] = address.split(".");
    (resource[type] ??= {})[name] = values;
  }
  return new StackModel("fixture", { resource, locals: { alpha_prime: locals } });
}

function messages(rule: Rule, resources: Record<string, Record<string, unknown>>): string[] {
  return rule.check(stack(resources)).map((v) => `${v.address}: ${v.message}`);
}

const doc = (...Statement: Record<string, unknown>[]) => JSON.stringify({ Version: "2012-10-17", Statement });

describe("AP-IAM-001: least privilege", () => {
  const role = (statements: Record<string, unknown>[]) => ({ "aws_iam_role_policy.P": { role: "r", policy: doc(...statements) } });
  const LOGS = "arn:aws:logs:ap-northeast-1:111122223333:log-group:/alpha-prime/mitoyo/relay:*";

  test("passes: actions spelled out on named resources (a log group's streams, one secret), and PutMetricData on '*'", () => {
    expect(
      messages(
        iamLeastPrivilege,
        role([
          { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: LOGS },
          { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:ap-northeast-1:111122223333:secret:alpha-prime/mitoyo/ca-Q1w2E3" },
          { Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "AlphaPrime" } } },
          { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::alpha-prime-mitoyo-config-111122223333/*" },
          { Effect: "Deny", Action: "*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ]),
      ),
    ).toEqual([]);
  });

  test("fails: '*', 'service:*' and partial wildcards in actions", () => {
    expect(messages(iamLeastPrivilege, role([{ Effect: "Allow", Action: ["s3:*", "logs:Put*", "*"], Resource: LOGS }]))).toEqual([
      "aws_iam_role_policy.P: statement 1 allows wildcard actions s3:*, logs:Put*, *: spell each action out",
    ]);
  });

  test("fails: a restrictable action on '*', or on every resource of a kind", () => {
    const found = messages(
      iamLeastPrivilege,
      role([
        { Sid: "Star", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "*" },
        { Sid: "EverySecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:ap-northeast-1:111122223333:secret:*" },
        { Sid: "EveryBucket", Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::*" },
        // PutMetricData takes only '*', but riding along does not make the other action one that does
        { Sid: "Mixed", Effect: "Allow", Action: ["cloudwatch:PutMetricData", "kms:Decrypt"], Resource: "*" },
      ]),
    );
    expect(found).toEqual([
      expect.stringMatching(/statement 'Star' allows secretsmanager:GetSecretValue on \*/),
      expect.stringMatching(/statement 'EverySecret' allows secretsmanager:GetSecretValue on arn:aws:secretsmanager:.*:secret:\*/),
      expect.stringMatching(/statement 'EveryBucket' allows s3:GetObject on arn:aws:s3:::\*/),
      expect.stringMatching(/statement 'Mixed' allows kms:Decrypt on \*/),
    ]);
  });

  test("the ways around it: NotAction, NotResource, an inline policy on the role, a trust policy for anyone", () => {
    expect(messages(iamLeastPrivilege, role([{ Effect: "Allow", NotAction: "iam:*", Resource: LOGS }]))).toEqual([expect.stringMatching(/allows NotAction/)]);
    expect(messages(iamLeastPrivilege, role([{ Effect: "Allow", Action: "logs:PutLogEvents", NotResource: LOGS }]))).toEqual([expect.stringMatching(/allows NotResource/)]);
    const trust = (Principal: unknown, Condition?: unknown) =>
      messages(iamLeastPrivilege, { "aws_iam_role.R": { assume_role_policy: doc({ Effect: "Allow", Principal, Action: "sts:AssumeRole", ...(Condition ? { Condition } : {}) }), inline_policy: [{ name: "x", policy: doc({ Effect: "Allow", Action: "ec2:*", Resource: "*" }) }] } });
    expect(trust({ Service: "ec2.amazonaws.com" })).toEqual([expect.stringMatching(/^aws_iam_role\.R: statement 1 allows wildcard actions ec2:\*/), expect.stringMatching(/allows ec2:\* on \*/)]);
    expect(trust({ AWS: "*" })).toContainEqual(expect.stringMatching(/trust statement 1 lets principal AWS "\*" assume the role/));
    expect(trust({ AWS: "*" }, { StringEquals: { "aws:PrincipalOrgID": "o-abc123" } }).filter((m) => m.includes("trust"))).toEqual([]);
  });

  test("fails: a managed policy whose statements the stack does not hold; passes: one the stack defines (then its document is judged)", () => {
    expect(messages(iamLeastPrivilege, { "aws_iam_role_policy_attachment.A": { role: "r", policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess" } })).toEqual([
      expect.stringMatching(/attaches arn:aws:iam::aws:policy\/AdministratorAccess, whose statements are not in the stack/),
    ]);
    expect(messages(iamLeastPrivilege, { "aws_iam_role.R": { managed_policy_arns: ["arn:aws:iam::aws:policy/PowerUserAccess"] } })).toEqual([expect.stringMatching(/PowerUserAccess/)]);
    const own = { "aws_iam_policy.Own": { policy: doc({ Effect: "Allow", Action: "logs:PutLogEvents", Resource: LOGS }) }, "aws_iam_role_policy_attachment.A": { role: "r", policy_arn: "${aws_iam_policy.Own.arn}" } };
    expect(messages(iamLeastPrivilege, own)).toEqual([]);
  });

  test("a policy the rule cannot read is a finding, not a pass", () => {
    expect(messages(iamLeastPrivilege, { "aws_iam_role_policy.P": { policy: "${file(\"policy.json\")}" } })).toEqual([expect.stringMatching(/not a JSON policy document/)]);
  });

  test("what counts as every resource of a kind", () => {
    expect(["*", "arn:aws:s3:::*", "arn:aws:kms:ap-northeast-1:111122223333:key/*", "arn:aws:logs:ap-northeast-1:111122223333:log-group:*", "arn:*:*:*:*:*"].filter((r) => !wildcardResource(r))).toEqual([]);
    expect([LOGS, "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", "arn:aws:secretsmanager:ap-northeast-1:111122223333:secret:alpha-prime/*"].filter(wildcardResource)).toEqual([]);
  });
});

describe("AP-KMS-002 and AP-S3-006: no resource policy open to everyone", () => {
  const key = (...statements: Record<string, unknown>[]) => messages(kmsNoOpenPrincipal, { "aws_kms_key.K": { policy: doc({ Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:*", Resource: "*" }, ...statements) } });
  const bucketPolicy = (...statements: Record<string, unknown>[]) => messages(bucketPolicyNoOpenPrincipal, { "aws_s3_bucket_policy.B": { bucket: "b", policy: doc(...statements) } });
  const open = { Sid: "Open", Effect: "Allow", Principal: "*", Action: "kms:Decrypt", Resource: "*" };

  test("passes: the account administers; a service acts for this account; a wildcard narrowed to the account the AWS way", () => {
    expect(key()).toEqual([]);
    expect(key({ Effect: "Allow", Principal: { Service: "logs.ap-northeast-1.amazonaws.com" }, Action: "kms:Decrypt", Resource: "*" })).toEqual([]);
    expect(key({ ...open, Principal: { AWS: "*" }, Condition: { StringEquals: { "kms:CallerAccount": "111122223333", "kms:ViaService": "ec2.ap-northeast-1.amazonaws.com" } } })).toEqual([]);
    expect(key({ ...open, Condition: { "ForAnyValue:StringEquals": { "aws:PrincipalOrgID": ["o-abc123"] } } })).toEqual([]);
  });

  test("fails: '*', {AWS: '*'}, {AWS: ['*']}, any account's root, NotPrincipal", () => {
    expect(key(open)).toEqual([expect.stringMatching(/^aws_kms_key\.K: statement 'Open' allows principal "\*" to kms:Decrypt with no condition/)]);
    expect(key({ ...open, Principal: { AWS: "*" } })).toHaveLength(1);
    expect(key({ ...open, Principal: { AWS: ["arn:aws:iam::111122223333:root", "*"] } })).toHaveLength(1);
    expect(key({ ...open, Principal: { AWS: "arn:aws:iam::*:root" } })).toHaveLength(1);
    expect(key({ Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:Decrypt", Resource: "*" })).toEqual([expect.stringMatching(/NotPrincipal/)]);
  });

  test("the ways around it: conditions that do not say who, only exclude, hold when the key is absent, or match anyone", () => {
    expect(key({ ...open, Condition: { Bool: { "aws:SecureTransport": "true" } } })).toHaveLength(1);
    expect(key({ ...open, Condition: { StringNotEquals: { "aws:PrincipalAccount": "444455556666" } } })).toHaveLength(1);
    expect(key({ ...open, Condition: { StringEqualsIfExists: { "aws:SourceAccount": "111122223333" } } })).toHaveLength(1);
    expect(key({ ...open, Condition: { StringLike: { "aws:PrincipalAccount": "*" } } })).toHaveLength(1);
    expect(key({ ...open, Condition: { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:*" } } })).toHaveLength(1);
    // a pattern that merely starts like an account or organization matches ones nobody chose
    expect(key({ ...open, Condition: { StringLike: { "aws:PrincipalAccount": "1111*" } } })).toHaveLength(1);
    expect(key({ ...open, Condition: { StringLike: { "aws:PrincipalOrgID": "o-*" } } })).toHaveLength(1);
    expect(key({ ...open, Condition: { ArnLike: { "aws:SourceArn": "arn:aws:s3:::alpha-prime-*" } } })).toHaveLength(1);
    expect(key({ ...open, Condition: { ArnLike: { "aws:SourceArn": "arn:aws:logs:ap-northeast-1:111122223333:*" } } })).toEqual([]);
  });

  test("a key policy held in aws_kms_key_policy is judged too", () => {
    expect(messages(kmsNoOpenPrincipal, { "aws_kms_key_policy.P": { key_id: "k", policy: doc(open) } })).toHaveLength(1);
  });

  test("bucket policies: Deny to '*' locks the bucket and passes; log delivery with aws:SourceAccount passes; Allow to '*' fails", () => {
    expect(bucketPolicy({ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "arn:aws:s3:::b/*", Condition: { Bool: { "aws:SecureTransport": "false" } } })).toEqual([]);
    expect(bucketPolicy({ Effect: "Allow", Principal: { Service: "delivery.logs.amazonaws.com" }, Action: "s3:PutObject", Resource: "arn:aws:s3:::b/*", Condition: { StringEquals: { "aws:SourceAccount": "111122223333" } } })).toEqual([]);
    expect(bucketPolicy({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*", Condition: { StringEquals: { "aws:SourceVpce": "vpce-0abc" } } })).toEqual([]);
    expect(bucketPolicy({ Sid: "Share", Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" })).toEqual([
      expect.stringMatching(/^aws_s3_bucket_policy\.B: statement 'Share' allows principal AWS "\*" to s3:GetObject/),
    ]);
    // the legacy inline policy of aws_s3_bucket
    expect(messages(bucketPolicyNoOpenPrincipal, { "aws_s3_bucket.B": { bucket: "b", policy: doc({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }) } })).toHaveLength(1);
  });
});

describe("AP-SG-001: security group egress to the internet", () => {
  const egress = (cidr: Record<string, string>) => ({ "aws_vpc_security_group_egress_rule.E": { security_group_id: "sg", ip_protocol: "tcp", from_port: 443, to_port: 443, ...cidr } });

  test("passes: private and shared address space, prefix lists, security groups", () => {
    expect(messages(noInternetEgress, egress({ cidr_ipv4: "172.16.5.20/32" }))).toEqual([]);
    expect(messages(noInternetEgress, egress({ cidr_ipv4: "10.0.0.0/8" }))).toEqual([]);
    expect(messages(noInternetEgress, egress({ cidr_ipv4: "100.64.0.0/10" }))).toEqual([]);
    expect(messages(noInternetEgress, egress({ prefix_list_id: "${aws_vpc_endpoint.S3.prefix_list_id}" }))).toEqual([]);
    expect(messages(noInternetEgress, egress({ referenced_security_group_id: "${aws_security_group.X.id}" }))).toEqual([]);
    expect(messages(noInternetEgress, egress({ cidr_ipv6: "fd00:1::/64" }))).toEqual([]);
  });

  test("fails: 0.0.0.0/0, ::/0, a public host", () => {
    expect(messages(noInternetEgress, egress({ cidr_ipv4: "0.0.0.0/0" }))).toEqual(["aws_vpc_security_group_egress_rule.E: sends tcp 443-443 to 0.0.0.0/0"]);
    expect(messages(noInternetEgress, egress({ cidr_ipv6: "::/0" }))).toHaveLength(1);
    expect(messages(noInternetEgress, egress({ cidr_ipv4: "52.96.0.14/32" }))).toHaveLength(1);
  });

  test("the ways around it: the two halves of /0, a private-looking block wider than private space, the other two spellings", () => {
    expect(["0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/7", "172.0.0.0/8", "192.168.0.0/15", "2000::/3", "not-a-cidr"].filter((c) => !reachesInternet(c))).toEqual([]);
    expect(messages(noInternetEgress, { "aws_security_group.G": { egress: [{ protocol: "-1", from_port: 0, to_port: 0, cidr_blocks: ["0.0.0.0/1", "128.0.0.0/1"] }] } })).toEqual([
      "aws_security_group.G: sends all protocols to 0.0.0.0/1, 128.0.0.0/1",
    ]);
    expect(messages(noInternetEgress, { "aws_security_group_rule.R": { type: "egress", protocol: "tcp", from_port: 25, to_port: 25, cidr_blocks: ["0.0.0.0/0"] } })).toHaveLength(1);
    expect(messages(noInternetEgress, { "aws_security_group_rule.R": { type: "ingress", protocol: "tcp", from_port: 25, to_port: 25, cidr_blocks: ["0.0.0.0/0"] } })).toEqual([]);
    // a prefix list of the stack's own is its blocks, inline or as separate entries
    const list = { "aws_ec2_managed_prefix_list.Anywhere": { name: "x", address_family: "IPv4", max_entries: 2, entry: [{ cidr: "10.0.0.0/8" }] }, "aws_ec2_managed_prefix_list_entry.E": { prefix_list_id: "${aws_ec2_managed_prefix_list.Anywhere.id}", cidr: "0.0.0.0/0" } };
    expect(messages(noInternetEgress, { ...list, ...egress({ prefix_list_id: "${aws_ec2_managed_prefix_list.Anywhere.id}" }) })).toEqual(["aws_vpc_security_group_egress_rule.E: sends tcp 443-443 to 0.0.0.0/0"]);
  });
});

describe("AP-SG-002: the default security group", () => {
  const vpc = { "aws_vpc.V": { cidr_block: "10.64.0.0/22" } };
  const closed = { "aws_default_security_group.D": { vpc_id: "${aws_vpc.V.id}", ingress: [], egress: [] } };

  test("passes: managed with no rules, and every interface endpoint and launch template names its groups", () => {
    expect(
      messages(defaultSecurityGroupClosed, {
        ...vpc,
        ...closed,
        "aws_vpc_endpoint.I": { vpc_endpoint_type: "Interface", security_group_ids: ["sg-1"] },
        "aws_vpc_endpoint.G": { vpc_endpoint_type: "Gateway" },
        "aws_launch_template.L": { network_interfaces: [{ security_groups: ["sg-1"] }] },
      }),
    ).toEqual([]);
    // absent ingress/egress: Terraform adopts the group and removes every rule it does not declare
    expect(messages(defaultSecurityGroupClosed, { ...vpc, "aws_default_security_group.D": { vpc_id: "${aws_vpc.V.id}" } })).toEqual([]);
  });

  test("fails: not managed, managed with rules, a rule added to it separately", () => {
    expect(messages(defaultSecurityGroupClosed, vpc)).toEqual([expect.stringMatching(/^aws_vpc\.V: its default security group is not managed/)]);
    expect(messages(defaultSecurityGroupClosed, { ...vpc, "aws_default_security_group.D": { vpc_id: "${aws_vpc.V.id}", ingress: [{ protocol: "-1", self: true, from_port: 0, to_port: 0 }], egress: [] } })).toEqual([
      "aws_default_security_group.D: has ingress rules",
    ]);
    expect(messages(defaultSecurityGroupClosed, { ...vpc, ...closed, "aws_vpc_security_group_egress_rule.E": { security_group_id: "${aws_default_security_group.D.id}", ip_protocol: "-1", cidr_ipv4: "10.0.0.0/8" } })).toEqual([
      expect.stringMatching(/^aws_vpc_security_group_egress_rule\.E: adds a rule to the default security group/),
    ]);
  });

  test("fails: what would fall back on the closed group and silently reach nothing", () => {
    const found = messages(defaultSecurityGroupClosed, {
      ...vpc,
      ...closed,
      "aws_vpc_endpoint.I": { vpc_endpoint_type: "Interface" },
      "aws_ec2_client_vpn_endpoint.C": {},
      "aws_launch_template.L": { network_interfaces: [{ associate_public_ip_address: "false" }] },
    });
    expect(found).toEqual([expect.stringMatching(/^aws_vpc_endpoint\.I: names no security group/), expect.stringMatching(/^aws_ec2_client_vpn_endpoint\.C:/), expect.stringMatching(/^aws_launch_template\.L:/)]);
  });
});

describe("AP-TGW-001: Transit Gateway attachments are reviewed and routed explicitly", () => {
  const tgw = { auto_accept_shared_attachments: "disable", default_route_table_association: "disable", default_route_table_propagation: "disable" };
  const attachment = { transit_gateway_default_route_table_association: false, transit_gateway_default_route_table_propagation: false };

  test("passes: nothing automatic", () => {
    expect(messages(tgwNoAutoAccept, { "aws_ec2_transit_gateway.T": tgw, "aws_ec2_transit_gateway_vpc_attachment.A": attachment })).toEqual([]);
  });

  test("fails: auto-accept, a default route table, and the provider's defaults where a value is left out", () => {
    expect(messages(tgwNoAutoAccept, { "aws_ec2_transit_gateway.T": { ...tgw, auto_accept_shared_attachments: "enable" } })).toEqual(["aws_ec2_transit_gateway.T: auto_accept_shared_attachments is enable"]);
    expect(messages(tgwNoAutoAccept, { "aws_ec2_transit_gateway.T": {} })).toEqual([
      "aws_ec2_transit_gateway.T: default_route_table_association is enable (the provider's default)",
      "aws_ec2_transit_gateway.T: default_route_table_propagation is enable (the provider's default)",
    ]);
    expect(messages(tgwNoAutoAccept, { "aws_ec2_transit_gateway_vpc_attachment.A": { transit_gateway_default_route_table_association: false } })).toEqual([
      "aws_ec2_transit_gateway_vpc_attachment.A: transit_gateway_default_route_table_propagation is true (the provider's default)",
    ]);
  });
});

describe("AP-ELB-001 and AP-KMS-003", () => {
  test("load balancers: deletion protection on passes, off or left out fails", () => {
    expect(messages(lbDeletionProtection, { "aws_lb.L": { enable_deletion_protection: true } })).toEqual([]);
    expect(messages(lbDeletionProtection, { "aws_lb.L": { enable_deletion_protection: false }, "aws_alb.A": {} })).toEqual([
      "aws_lb.L: enable_deletion_protection is not true",
      "aws_alb.A: enable_deletion_protection is not true",
    ]);
  });

  test("Network Firewall: a customer key passes; AWS's own key, no key id, or no configuration fails", () => {
    const cmk = { encryption_configuration: { type: "CUSTOMER_KMS", key_id: "${aws_kms_key.F.arn}" } };
    expect(messages(firewallCustomerKey, { "aws_networkfirewall_firewall.F": cmk, "aws_networkfirewall_firewall_policy.P": cmk, "aws_networkfirewall_rule_group.R": cmk })).toEqual([]);
    expect(
      messages(firewallCustomerKey, {
        "aws_networkfirewall_firewall.F": {},
        "aws_networkfirewall_firewall_policy.P": { encryption_configuration: { type: "AWS_OWNED_KMS_KEY" } },
        "aws_networkfirewall_rule_group.R": { encryption_configuration: [{ type: "CUSTOMER_KMS" }] },
      }),
    ).toEqual([
      "aws_networkfirewall_firewall.F: has no encryption_configuration (AWS-owned key)",
      "aws_networkfirewall_firewall_policy.P: encryption_configuration type is AWS_OWNED_KMS_KEY, not CUSTOMER_KMS",
      "aws_networkfirewall_rule_group.R: encryption_configuration names no key_id",
    ]);
  });
});

describe("AP-EC2-004: secrets in user data, however they are wrapped", () => {
  const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
  const lt = (userData: string) => messages(noSecretsInUserData, { "aws_launch_template.L": { user_data: userData } });
  const CLEAN = "#cloud-config\nwrite_files:\n  - path: /etc/squid/squid.conf\n    content: |\n      http_port 3128 ssl-bump tls-cert=/etc/squid/alpha-prime/interception-ca.pem\nruncmd:\n  - [aws, secretsmanager, get-secret-value, --secret-id, 'arn:aws:secretsmanager:ap-northeast-1:111122223333:secret:alpha-prime/x/ca-Q1w2E3']\n  - echo \"password=$DB_PASSWORD token={{ token }}\"\n";

  test("passes: configuration that names where secrets are, and variables that hold them", () => {
    expect(lt(b64(CLEAN))).toEqual([]);
    expect(messages(noSecretsInUserData, { "aws_instance.I": { user_data: CLEAN } })).toEqual([]);
  });

  test.each([
    ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n", /a private key on line 2/],
    ["an access key id", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n", /an AWS access key id on line 2/],
    ["a secret access key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", /an AWS secret access key on line 2/],
    ["a password", "users:\n  - name: ops\n    plain_text_passwd: Hunter2-2026\n", /a literal value for 'plain_text_passwd' on line 4/],
    ["a token in JSON", '{"api_token": "9f8e7d6c5b4a"}\n', /a literal value for 'api_token'/],
    ["credentials in a URL", "curl https://relay:S3cret-pw@mail.example.jp/hook\n", /a password in a URL on line 2/],
    ["a Slack token", "SLACK=xoxb-123456789012-abcdefghij\n", /a Slack token/],
    ["an Authorization header", "curl -H 'Authorization: Bearer abcdef0123456789'\n", /an HTTP Authorization header/],
  ])("fails: %s", (_, secret, expected) => {
    const found = lt(b64(`#!/bin/sh\n${secret}`));
    expect(found).toEqual([expect.stringMatching(expected)]);
    // never the value itself: reports go to CI logs and code-scanning dashboards
    for (const f of found) expect(f).not.toMatch(/Hunter2|AKIAIOSFODNN7EXAMPLE|wJalrXUtnFEMI|9f8e7d6c5b4a|S3cret-pw|abcdef0123456789/);
  });

  test("the ways around it: gzip, a base64 MIME part, a write_files entry in base64 or gzip+base64", () => {
    const secret = "db_password: Kw9-relay-2026\n";
    expect(lt(b64(zlib.gzipSync(`#!/bin/sh\n${secret}`)))).toEqual([expect.stringMatching(/^aws_launch_template\.L: user_data holds a literal value for 'db_password'/)]);
    const mime = ['Content-Type: multipart/mixed; boundary="XYZ"', "MIME-Version: 1.0", "", "--XYZ", "Content-Type: text/x-shellscript", "Content-Transfer-Encoding: base64", "", b64(`#!/bin/sh\n${secret}`), "--XYZ--", ""].join("\n");
    expect(lt(b64(mime))).toEqual([expect.stringMatching(/user_data, MIME part 1 holds a literal value for 'db_password'/)]);
    const cloudConfig = (encoding: string, content: string) => `#cloud-config\nwrite_files:\n  - path: /etc/app.env\n    encoding: ${encoding}\n    content: ${content}\n`;
    expect(lt(b64(cloudConfig("b64", b64(secret))))).toEqual([expect.stringMatching(/write_files\[0\] \/etc\/app\.env holds a literal value for 'db_password'/)]);
    expect(lt(b64(cloudConfig("gzip+base64", b64(zlib.gzipSync(secret)))))).toEqual([expect.stringMatching(/write_files\[0\] \/etc\/app\.env holds/)]);
    // and the other places user data lives
    expect(messages(noSecretsInUserData, { "aws_instance.I": { user_data_base64: b64(secret) }, "aws_launch_configuration.C": { user_data: secret } })).toHaveLength(2);
  });
});

describe("findings the constructs accept by design", () => {
  const { stacks } = synthStacks();

  test("each names its rule, its resource, a reason and the construct that declared it; each matches a finding", () => {
    for (const [id, tf] of Object.entries<any>(stacks)) {
      const accepted = tf.locals.alpha_prime.suppressions.filter((s: any) => s.declared_by);
      expect(accepted.length).toBeGreaterThan(0);
      for (const s of accepted) {
        expect(s.declared_by.startsWith(`${id}/`)).toBe(true);
        expect(tf.resource[s.resource.split(".")[0]][s.resource.split(".")[1]]).toBeDefined();
        expect(s.reason.length).toBeGreaterThan(60);
      }
      const report = checkStack(new StackModel(id, tf), ALPHA_PRIME_PACK, TODAY);
      expect(report.findings.filter((f) => f.ruleId === SUPPRESSION_RULE_ID)).toEqual([]);
      expect(report.findings.filter((f) => f.suppressedBy).map((f) => f.address).sort()).toEqual(accepted.map((s: any) => s.resource).sort());
    }
  });

  test("only the internet egress that needs it is accepted: LGWAN and VPC destinations, on-prem relay targets and engines are not", () => {
    const accepted = (id: string) => (stacks[id] as any).locals.alpha_prime.suppressions.filter((s: any) => s.rule === "AP-SG-001").map((s: any) => s.declared_by).sort();
    expect(accepted("mitoyo")).toEqual(["mitoyo/Relay/Instance-smtp-submission-ToTarget", "mitoyo/RemoteAccess/Egress2", "mitoyo/TenantProxy/Instance-ToInternet443", "mitoyo/TenantProxy/Instance-ToInternet80"]);
    // ashiya's remote users reach only the LGWAN (no internet breakout): nothing to accept for them
    expect(accepted("ashiya")).toEqual(["ashiya/TenantProxy/Instance-ToInternet443", "ashiya/TenantProxy/Instance-ToInternet80"]);
  });

  test("a named internet sanitization engine is accepted where it is opened, so such a config still synthesizes", () => {
    const config = loadSample("mitoyo");
    const san = { ...config.breakout.sanitization!, engine: "external" as const, externalIcapUrl: "icaps://icap.sanitizer.example.jp:11344/avscan" };
    const [tf]: any[] = Object.values(synthConfigs([{ ...config, breakout: { ...config.breakout, sanitization: san } }]));
    expect(tf.locals.alpha_prime.suppressions.filter((s: any) => s.declared_by === "mitoyo/TenantProxy/Instance-ToSanitizationEngine")).toEqual([
      expect.objectContaining({ rule: "AP-SG-001", reason: expect.stringContaining("icap.sanitizer.example.jp") }),
    ]);
  });

  test("an acceptance cannot outlive its reason: once the finding is gone, the acceptance is itself an error", () => {
    const tf = JSON.parse(JSON.stringify(stacks.mitoyo));
    const rule = Object.entries<any>(tf.resource.aws_vpc_security_group_egress_rule).find(([n]) => n.startsWith("TenantProxy_Instance-ToInternet80"))![1];
    rule.cidr_ipv4 = "10.64.0.0/22";
    const findings = checkStack(new StackModel("mitoyo", tf), ALPHA_PRIME_PACK, TODAY).findings.filter((f) => !f.suppressedBy);
    expect(findings).toEqual([expect.objectContaining({ ruleId: SUPPRESSION_RULE_ID, message: expect.stringMatching(/suppression of AP-SG-001 on aws_vpc_security_group_egress_rule\.TenantProxy_Instance-ToInternet80_\w+ matches no finding/) })]);
  });

  test("an env file's own suppressions keep their indices: the constructs' come after them", () => {
    const text = sampleText("kaga").replace("operations:", `suppressions:\n  - rule: AP-NET-006\n    resource: aws_security_group.Nothing\n    reason: "この許可は移行期間中のみ必要であり、移行完了後に削除する予定です"\noperations:`);
    const dir = envDirWith({ "kaga.yaml": text });
    expect(() => synthStacks({ envDir: dir })).toThrow(/AP-SUP-001 suppressions\[0\]: suppression of AP-NET-006 on aws_security_group\.Nothing matches no finding/);
  });
});

const terraform = hasTerraform();
if (!terraform) process.stderr.write("\n*** SKIPPED: no terraform binary on PATH: what the firewall key does to deployed stacks was NOT checked ***\n\n");
(terraform || process.env.CI ? describe : describe.skip)("adopting the firewall key on a deployed stack (hashicorp/aws 5.100.0, offline plan)", () => {
  test("the firewall, its policy and its rule groups are updated in place, not replaced", () => {
    // as BreakoutGateway writes them (the arguments the provider requires), deployed before the key: the state has
    // no encryption_configuration; the configuration now names the key, exactly as the construct does
    const tf: any = synthStacks({ only: ["mitoyo"] }).stacks.mitoyo;
    const configured = Object.values<any>(tf.resource.aws_networkfirewall_firewall)[0].encryption_configuration;
    expect(configured).toEqual({ type: "CUSTOMER_KMS", key_id: expect.stringMatching(/^\$\{aws_kms_key\.Breakout_FirewallKey_\w+\.arn\}$/) });
    const key = "arn:aws:kms:ap-northeast-1:111122223333:key/1111aaaa-2222-3333-4444-555566667777";
    const ARN = (r: string) => `arn:aws:network-firewall:ap-northeast-1:111122223333:${r}`;
    const before: Record<string, Record<string, unknown>> = {
      aws_networkfirewall_firewall: { name: "f", vpc_id: "vpc-0aaaaaaaaaaaaaaaa", firewall_policy_arn: ARN("firewall-policy/p"), subnet_mapping: [{ subnet_id: "subnet-0aaaaaaaaaaaaaaaa" }], delete_protection: true },
      aws_networkfirewall_firewall_policy: { name: "p", firewall_policy: [{ stateless_default_actions: ["aws:forward_to_sfe"], stateless_fragment_default_actions: ["aws:forward_to_sfe"] }] },
      aws_networkfirewall_rule_group: { name: "r", type: "STATEFUL", capacity: 100, rule_group: [{ rules_source: [{ rules_string: "pass tcp $HOME_NET any -> $EXTERNAL_NET 587 (sid:1000001; rev:1;)" }] }] },
    };
    const resource: Record<string, Record<string, unknown>> = {};
    const state: Record<string, unknown>[] = [];
    for (const [type, values] of Object.entries(before)) {
      resource[type] = { deployed: { ...values, encryption_configuration: [{ type: "CUSTOMER_KMS", key_id: key }] } };
      const attributes = { id: ARN(`${type}/deployed`), arn: ARN(`${type}/deployed`), ...values };
      state.push({ mode: "managed", type, name: "deployed", provider: 'provider["registry.terraform.io/hashicorp/aws"]', instances: [{ schema_version: 0, attributes, sensitive_attributes: [] }] });
    }
    const dir = path.join(tempDir(), "firewall-key");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify({ terraform: { required_providers: { aws: { source: "aws", version: "5.100.0" } } }, provider: { aws: [{ region: "ap-northeast-1" }] }, resource }));
    const seedState = { version: 4, terraform_version: "1.11.4", serial: 1, lineage: "00000000-0000-4000-8000-000000000022", outputs: {}, resources: state };
    const plan = JSON.parse(fs.readFileSync(offlinePlan(dir, "firewall-key", tempDir(), { seedState }).planJsonPath, "utf8"));
    expect(plan.resource_changes.map((rc: any) => [rc.type, rc.change.actions, rc.change.replace_paths ?? [], rc.change.after.encryption_configuration])).toEqual(
      Object.keys(before).map((type) => [type, ["update"], [], [{ type: "CUSTOMER_KMS", key_id: key }]]),
    );
  }, 120_000);
});
