import { cloudwatchRetentionFor, LogArchive, ObjectLockMode } from "../constructs/log-archive";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { terraformBinary, terraformEnv } from "../cli/offline-plan";
import { TerraformStack } from "cdktf";
import { fromTerraformLiteral } from "../constructs/terraform-text";
import { escapeLiteralText } from "../stacks/literal-text";
import { SAMPLE_IDS, loadSample, policyOf, resources, synthScope, synthStacks, tempDir, testWithTool } from "./helpers";

const base = { namePrefix: "alpha-prime-test", accountId: "123456789012", region: "ap-northeast-1" };

function archive(props: Partial<ConstructorParameters<typeof LogArchive>[2]> = {}, extra?: (a: LogArchive) => void) {
  return synthScope((scope) => {
    const a = new LogArchive(scope, "LogArchive", { ...base, ...props });
    extra?.(a);
  });
}

function bucketNamed(tf: ReturnType<typeof archive>, suffix: string): [string, any] {
  const hit = resources(tf, "aws_s3_bucket").find(([, b]) => b.bucket === `alpha-prime-test-${suffix}-123456789012`);
  if (!hit) throw new Error(`no bucket ${suffix}`);
  return hit;
}

function forBucket(tf: ReturnType<typeof archive>, type: string, logicalId: string): any {
  const hit = resources(tf, type).find(([, r]) => r.bucket === `\${aws_s3_bucket.${logicalId}.id}`);
  if (!hit) throw new Error(`no ${type} for ${logicalId}`);
  return hit[1];
}

describe("LogArchive with its defaults", () => {
  const tf = archive();
  const [logId, log] = bucketNamed(tf, "logs");
  const [accessId, access] = bucketNamed(tf, "access-logs");
  const [configId] = bucketNamed(tf, "config");

  test("the log bucket has Object Lock in governance mode for 365 days", () => {
    expect(log.object_lock_enabled).toBe(true);
    expect(forBucket(tf, "aws_s3_bucket_object_lock_configuration", logId).rule.default_retention).toEqual({ mode: "GOVERNANCE", days: 365 });
  });

  test("logs move to Glacier Instant Retrieval after 90 days and expire only after the retention", () => {
    const rules = forBucket(tf, "aws_s3_bucket_lifecycle_configuration", logId).rule;
    const main = rules.find((r: any) => r.id === "archive-then-expire");
    expect(main.transition).toEqual([{ days: 90, storage_class: "GLACIER_IR" }]);
    expect(main.expiration).toEqual([{ days: 365 }]);
    const housekeeping = rules.find((r: any) => r.id === "noncurrent-and-incomplete");
    expect(housekeeping.noncurrent_version_expiration).toEqual([{ noncurrent_days: 365 }]);
    expect(housekeeping.abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: 7 }]);
  });

  test.each(["logs", "access-logs", "config"])("the %s bucket is versioned, KMS-encrypted, private, ACL-free and cannot be destroyed", (suffix) => {
    const [id, bucket] = bucketNamed(tf, suffix);
    expect(bucket.lifecycle).toEqual({ prevent_destroy: true });
    expect(bucket.force_destroy).toBe(false);
    expect(forBucket(tf, "aws_s3_bucket_versioning", id).versioning_configuration.status).toBe("Enabled");
    const sse = forBucket(tf, "aws_s3_bucket_server_side_encryption_configuration", id).rule[0].apply_server_side_encryption_by_default;
    expect(sse.sse_algorithm).toBe("aws:kms");
    expect(sse.kms_master_key_id).toMatch(/^\$\{aws_kms_key\.LogArchive_Key_[0-9A-F]+\.arn\}$/);
    expect(forBucket(tf, "aws_s3_bucket_public_access_block", id)).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(forBucket(tf, "aws_s3_bucket_ownership_controls", id).rule.object_ownership).toBe("BucketOwnerEnforced");
    const deny = policyOf(forBucket(tf, "aws_s3_bucket_policy", id)).Statement.find((s) => s.Sid === "DenyInsecureTransport");
    expect(deny).toMatchObject({ Effect: "Deny", Principal: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });

  test("the key rotates, cannot be destroyed, and serves only this account's log delivery", () => {
    const [, key] = resources(tf, "aws_kms_key")[0];
    expect(key.enable_key_rotation).toBe(true);
    expect(key.lifecycle).toEqual({ prevent_destroy: true });
    const statements = policyOf(key).Statement;
    const logs = statements.find((s) => s.Sid === "CloudWatchLogsEncryptsThisAccountsLogGroups");
    expect(logs.Principal).toEqual({ Service: "logs.ap-northeast-1.amazonaws.com" });
    expect(logs.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]).toBe("arn:aws:logs:ap-northeast-1:123456789012:log-group:*");
    const delivery = statements.find((s) => s.Sid === "LogDeliveryWritesEncryptedObjects");
    expect(delivery.Condition).toEqual({ StringEquals: { "aws:SourceAccount": "123456789012" } });
    expect(statements.filter((s) => s.Effect === "Allow" && s.Principal === "*")).toEqual([]);
  });

  test("only log delivery of this account may write logs, under AWSLogs/<account>/", () => {
    const write = policyOf(forBucket(tf, "aws_s3_bucket_policy", logId)).Statement.find((s) => s.Sid === "AllowLogDeliveryWrite");
    expect(write.Principal).toEqual({ Service: "delivery.logs.amazonaws.com" });
    expect(write.Resource).toBe("arn:aws:s3:::alpha-prime-test-logs-123456789012/*/AWSLogs/123456789012/*");
    expect(write.Condition.StringEquals["aws:SourceAccount"]).toBe("123456789012");
    expect(write.Condition.ArnLike["aws:SourceArn"]).toBe("arn:aws:logs:ap-northeast-1:123456789012:*");
  });

  test("nobody may delete log objects or bypass the lock; only the lifecycle expires them", () => {
    const deny = policyOf(forBucket(tf, "aws_s3_bucket_policy", logId)).Statement.find((s) => s.Sid === "DenyObjectDeletionAndLockBypass");
    expect(deny).toMatchObject({ Effect: "Deny", Principal: "*", Action: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"] });
  });

  test("the log and config buckets log access into the access-log bucket, which does not log itself", () => {
    const logging = resources(tf, "aws_s3_bucket_logging").map(([, l]) => l);
    expect(logging.map((l) => l.bucket).sort()).toEqual([`\${aws_s3_bucket.${configId}.id}`, `\${aws_s3_bucket.${logId}.id}`].sort());
    for (const l of logging) expect(l.target_bucket).toBe(access.bucket);
    expect(logging.some((l) => l.bucket === `\${aws_s3_bucket.${accessId}.id}`)).toBe(false);
    const allow = policyOf(forBucket(tf, "aws_s3_bucket_policy", accessId)).Statement.find((s) => s.Sid === "AllowServerAccessLogDelivery");
    expect(allow.Principal).toEqual({ Service: "logging.s3.amazonaws.com" });
    expect(allow.Condition.StringEquals["aws:SourceAccount"]).toBe("123456789012");
  });

  test("configuration backups keep the current version and the four before it", () => {
    const rule = forBucket(tf, "aws_s3_bucket_lifecycle_configuration", configId).rule[0];
    expect(rule.noncurrent_version_expiration).toEqual([{ noncurrent_days: 1, newer_noncurrent_versions: 4 }]);
  });
});

describe("LogArchive snapshots (resource addresses and settings are pinned)", () => {
  test.each([
    ["defaults", {}],
    ["compliance mode", { objectLockMode: ObjectLockMode.COMPLIANCE }],
    ["two-year retention, later transition, seven generations", { retentionDays: 731, transitionAfterDays: 120, configGenerations: 7 }],
  ])("%s", (_name, props) => {
    expect(archive(props as Partial<ConstructorParameters<typeof LogArchive>[2]>, (a) => a.logGroup("Example", "/example"))).toMatchSnapshot();
  });
});

describe("LogArchive options", () => {
  test("compliance mode and a longer retention reach Object Lock, lifecycle and log groups", () => {
    const tf = archive({ objectLockMode: ObjectLockMode.COMPLIANCE, retentionDays: 731, transitionAfterDays: 120 }, (a) => a.logGroup("Test", "/test"));
    const [logId] = bucketNamed(tf, "logs");
    expect(forBucket(tf, "aws_s3_bucket_object_lock_configuration", logId).rule.default_retention).toEqual({ mode: "COMPLIANCE", days: 731 });
    const main = forBucket(tf, "aws_s3_bucket_lifecycle_configuration", logId).rule.find((r: any) => r.id === "archive-then-expire");
    expect(main.transition[0].days).toBe(120);
    expect(main.expiration[0].days).toBe(731);
    expect(resources(tf, "aws_cloudwatch_log_group")[0][1].retention_in_days).toBe(731);
  });

  test("log groups keep at least the retention, rounded up to a value CloudWatch accepts", () => {
    expect(cloudwatchRetentionFor(365)).toBe(365);
    expect(cloudwatchRetentionFor(366)).toBe(400);
    expect(cloudwatchRetentionFor(500)).toBe(545);
    expect(cloudwatchRetentionFor(3653)).toBe(3653);
    const [, group] = resources(archive({ retentionDays: 500 }, (a) => a.logGroup("Test", "/test")), "aws_cloudwatch_log_group")[0];
    expect(group).toMatchObject({ name: "/test", retention_in_days: 545, skip_destroy: true });
    expect(group.kms_key_id).toMatch(/aws_kms_key\.LogArchive_Key/);
  });

  test("more configuration generations can be kept", () => {
    const tf = archive({ configGenerations: 7 });
    const [configId] = bucketNamed(tf, "config");
    expect(forBucket(tf, "aws_s3_bucket_lifecycle_configuration", configId).rule[0].noncurrent_version_expiration[0].newer_noncurrent_versions).toBe(6);
  });

  test("fails on retention under a year or a transition after the retention", () => {
    expect(() => archive({ retentionDays: 364 })).toThrow(/at least 365/);
    expect(() => archive({ retentionDays: 365, transitionAfterDays: 365 })).toThrow(/less than retentionDays/);
  });
});

describe("every log source of every sample stack lands in the archive", () => {
  const { stacks } = synthStacks();

  test.each(SAMPLE_IDS)("%s: no log group keeps less than the configured days or lacks the archive key", (id) => {
    const days = loadSample(id).logging.retentionDays;
    const groups = resources(stacks[id], "aws_cloudwatch_log_group");
    expect(groups.length).toBeGreaterThan(0);
    for (const [, g] of groups) {
      expect(g.retention_in_days).toBeGreaterThanOrEqual(days);
      expect(g.kms_key_id).toMatch(/^\$\{aws_kms_key\.LogArchive_Key_[0-9A-F]+\.arn\}$/);
    }
  });

  test.each(SAMPLE_IDS)("%s: flow logs of every VPC, firewall ALERT+FLOW, DNS queries, VPN tunnels and Client VPN connections", (id) => {
    const tf = stacks[id];
    const logBucketArn = `arn:aws:s3:::alpha-prime-${id}-logs-${loadSample(id).aws.accountId}`;
    const vpcs = resources(tf, "aws_vpc").map(([n]) => `\${aws_vpc.${n}.id}`);
    const flowLogs = resources(tf, "aws_flow_log").map(([, f]) => f);
    for (const vpc of vpcs) {
      const f = flowLogs.find((x) => x.vpc_id === vpc);
      expect(f).toMatchObject({ traffic_type: "ALL", log_destination_type: "s3" });
      expect(f.log_destination.startsWith(`${logBucketArn}/`)).toBe(true);
    }
    const nfw = resources(tf, "aws_networkfirewall_logging_configuration")[0][1].logging_configuration.log_destination_config;
    expect(nfw.map((d: any) => d.log_type).sort()).toEqual(["ALERT", "FLOW"]);
    for (const d of nfw) expect(d.log_destination.bucketName).toBe(`alpha-prime-${id}-logs-${loadSample(id).aws.accountId}`);
    expect(resources(tf, "aws_route53_resolver_query_log_config")[0][1].destination_arn.startsWith(logBucketArn)).toBe(true);
    for (const [, vpn] of resources(tf, "aws_vpn_connection")) {
      for (const t of ["tunnel1_log_options", "tunnel2_log_options"]) {
        expect(vpn[t].cloudwatch_log_options.log_enabled).toBe(true);
        expect(vpn[t].cloudwatch_log_options.log_group_arn).toMatch(/aws_cloudwatch_log_group\.LogArchive_LogGroup-VpnTunnels/);
      }
    }
    for (const [, ep] of resources(tf, "aws_ec2_client_vpn_endpoint")) {
      expect(ep.connection_log_options.enabled).toBe(true);
      expect(ep.connection_log_options.cloudwatch_log_group).toMatch(/aws_cloudwatch_log_group\.LogArchive_LogGroup-ClientVpnConnections/);
    }
  });

  test.each(SAMPLE_IDS)("%s: the PAC file and the allowlist are published to the configuration backups", (id) => {
    const objects = resources(stacks[id], "aws_s3_object").map(([, o]) => o);
    expect(objects.map((o) => o.key).sort()).toEqual(expect.arrayContaining(["allowlist/domains.txt", "pac/proxy.pac"]));
    for (const o of objects) expect(o.bucket).toMatch(/aws_s3_bucket\.LogArchive_ConfigBucket/);
  });
});

describe("log writers wait for the archive (literal bucket names would not give Terraform that order)", () => {
  const { stacks } = synthStacks({ only: ["mitoyo"] });
  const tf = stacks.mitoyo;
  const dependsOn = (type: string) => resources(tf, type).map(([, r]) => r.depends_on ?? []);

  test.each(["aws_flow_log", "aws_networkfirewall_logging_configuration", "aws_route53_resolver_query_log_config"])("%s is created after the log bucket and its delivery policy", (type) => {
    for (const deps of dependsOn(type)) {
      expect(deps).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_s3_bucket\.LogArchive_LogBucket_/), expect.stringMatching(/^aws_s3_bucket_policy\.LogArchive_LogBucketPolicy_/)]));
    }
  });

  test("access logging is configured after the access-log bucket admits it", () => {
    for (const deps of dependsOn("aws_s3_bucket_logging")) expect(deps).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_s3_bucket_policy\.LogArchive_AccessLogBucketPolicy_/)]));
  });

  test("relay instances start after their protected log group exists", () => {
    expect(dependsOn("aws_autoscaling_group")[0]).toEqual([expect.stringMatching(/^aws_cloudwatch_log_group\.LogArchive_LogGroup-Relay_/)]);
  });
});

describe("published files land in S3 exactly as generated", () => {
  // Shell "${db:-none}", Squid "%{Header}" and look-alikes of the escapes themselves: Terraform reads every JSON
  // string as a template, so anything not escaped would be evaluated (or refused) on the way to S3.
  const content = 'age=${db:-none} file=%{Content-Disposition}<h $${already} %%{twice} $ % $$ {} "quoted" \\ back\n';
  // as in a municipality stack: the literal-text pass runs over the finished stack
  const tf = archive({}, (a) => {
    a.publishConfig("Sample", "sample/file.txt", content, "text/plain");
    escapeLiteralText(TerraformStack.of(a));
  });
  const [, object] = resources(tf, "aws_s3_object").find(([, o]) => o.key === "sample/file.txt")!;

  test("readers of the synthesized JSON get the file back", () => {
    expect(fromTerraformLiteral(object.content)).toBe(content);
  });

  testWithTool("terraform", "terraform", "Terraform's reading of escaped file content")("real Terraform reads the escaped content as the original text", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify({ locals: { content: object.content } }));
    const r = spawnSync(terraformBinary(), ["console"], { cwd: dir, input: "jsonencode(local.content)\n", encoding: "utf8", env: terraformEnv(), timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(JSON.parse(JSON.parse(r.stdout.trim()))).toBe(content);
  });
});
