/**
 * LogArchive: one year (or more) of tamper-proof, encrypted logs from everything the breakout touches, and
 * five generations of the configuration the stack generates (PAC file, allowlist, relay configuration).
 *
 * Every other construct asks it for a destination (`logGroup()` or `s3Destination()`), so no log ends up in an
 * unprotected place. The buckets and the key carry `prevent_destroy`: no deploy of a changed config can delete them.
 */
import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { customerKey } from "./customer-key";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration, S3BucketLifecycleConfigurationRule } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";

/** S3 Object Lock modes. */
export enum ObjectLockMode {
  /** users with s3:BypassGovernanceRetention can lift the lock (the bucket policy here denies that to everyone) */
  GOVERNANCE = "GOVERNANCE",
  /** nobody can shorten or lift the lock, not even the account root */
  COMPLIANCE = "COMPLIANCE",
}

export interface LogArchiveProps {
  /** Prefix of every name, e.g. `alpha-prime-mitoyo`. Part of bucket names: never change it after the first deploy. */
  readonly namePrefix: string;
  /** The AWS account the stack deploys to (bucket names, key policy and log-delivery conditions). */
  readonly accountId: string;
  readonly region: string;
  /**
   * Days every log is kept, and the Object Lock default retention of the log bucket.
   * @default 365
   */
  readonly retentionDays?: number;
  /** @default ObjectLockMode.GOVERNANCE */
  readonly objectLockMode?: ObjectLockMode;
  /**
   * Days after which logs move to S3 Glacier Instant Retrieval.
   * @default 90
   */
  readonly transitionAfterDays?: number;
  /**
   * Configuration generations kept in the configuration bucket (the current one and the ones before it).
   * @default 5
   */
  readonly configGenerations?: number;
}

/** Where a construct's logs go in S3. */
export interface S3LogDestination {
  readonly bucketName: string;
  readonly bucketArn: string;
  /** key prefix, ending in '/' */
  readonly prefix: string;
  /** `arn:aws:s3:::bucket/prefix/` — the form VPC flow logs and Resolver query logs take */
  readonly arnWithPrefix: string;
  /**
   * What a log writer must be created after: the bucket and the policy that admits log delivery. The names above
   * are literal (readable in reviews and checks), so Terraform would not infer this order by itself.
   */
  readonly dependsOn: ITerraformDependable[];
}

/** The one way for constructs to ask for a log destination (passed to them as a prop). */
export interface LogDestinations {
  /** A CloudWatch log group kept at least the retention period and encrypted with the archive key. */
  logGroup(id: string, name: string): CloudwatchLogGroup;
  /** A prefix in the log bucket (Object Lock, KMS, retention). */
  s3Destination(prefix: string): S3LogDestination;
  /** Publishes a generated configuration file to the configuration backups. */
  publishConfig(id: string, key: string, content: string, contentType: string): void;
}

/** Retention values CloudWatch Logs accepts (PutRetentionPolicy). */
export const CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** The smallest retention CloudWatch accepts that keeps logs at least `days`. */
export function cloudwatchRetentionFor(days: number): number {
  const r = CLOUDWATCH_RETENTION_DAYS.find((d) => d >= days);
  if (r === undefined) throw new Error(`retention of ${days} days exceeds CloudWatch's maximum of 3653`);
  return r;
}

const LIFECYCLE = { preventDestroy: true };

export class LogArchive extends Construct implements LogDestinations {
  readonly logBucketName: string;
  readonly logBucketArn: string;
  readonly accessLogBucketName: string;
  readonly configBucketName: string;
  readonly keyArn: string;
  readonly retentionDays: number;
  /** the retention log groups get: the smallest CloudWatch value ≥ retentionDays */
  readonly logGroupRetentionDays: number;
  readonly key: KmsKey;
  private logDeliveryReady: ITerraformDependable[] = [];

  private readonly configBucket: S3Bucket;

  constructor(scope: Construct, id: string, props: LogArchiveProps) {
    super(scope, id);
    const retentionDays = props.retentionDays ?? 365;
    const transitionAfterDays = props.transitionAfterDays ?? 90;
    const generations = props.configGenerations ?? 5;
    if (retentionDays < 365) throw new Error(`retentionDays must be at least 365, got ${retentionDays}`);
    if (transitionAfterDays >= retentionDays) throw new Error(`transitionAfterDays (${transitionAfterDays}) must be less than retentionDays (${retentionDays})`);
    if (generations < 1) throw new Error(`configGenerations must be at least 1, got ${generations}`);
    this.retentionDays = retentionDays;
    this.logGroupRetentionDays = cloudwatchRetentionFor(retentionDays);
    const { accountId, region } = props;

    this.key = customerKey(this, "Key", {
      description: `${props.namePrefix}: encrypts the log archive, its access logs and configuration backups`,
      accountId,
      statements: logDeliveryKeyStatements(accountId, region),
      preventDestroy: true,
    });
    new KmsAlias(this, "KeyAlias", { name: `alias/${props.namePrefix}-logs`, targetKeyId: this.key.keyId });
    this.keyArn = this.key.arn;

    // Access logs of the other two buckets land here; this bucket does not log itself (no loop).
    this.accessLogBucketName = `${props.namePrefix}-access-logs-${accountId}`;
    const accessLogs = secureBucket(this, "AccessLogBucket", {
      name: this.accessLogBucketName,
      keyArn: this.key.arn,
      objectLock: false, // S3 refuses server access logs into a bucket with a default Object Lock retention
      lifecycle: [expireAfter(retentionDays), ...housekeeping(retentionDays)],
      extraStatements: [
        {
          Sid: "AllowServerAccessLogDelivery",
          Effect: "Allow",
          Principal: { Service: "logging.s3.amazonaws.com" },
          Action: "s3:PutObject",
          Resource: `arn:aws:s3:::${this.accessLogBucketName}/*`,
          Condition: {
            StringEquals: { "aws:SourceAccount": accountId },
            ArnLike: { "aws:SourceArn": [`arn:aws:s3:::${props.namePrefix}-logs-${accountId}`, `arn:aws:s3:::${props.namePrefix}-config-${accountId}`] },
          },
        },
      ],
    });

    this.logBucketName = `${props.namePrefix}-logs-${accountId}`;
    this.logBucketArn = `arn:aws:s3:::${this.logBucketName}`;
    const logs = secureBucket(this, "LogBucket", {
      name: this.logBucketName,
      keyArn: this.key.arn,
      objectLock: { mode: props.objectLockMode ?? ObjectLockMode.GOVERNANCE, days: retentionDays },
      lifecycle: [
        {
          id: "archive-then-expire",
          status: "Enabled",
          filter: [{ prefix: "" }],
          transition: [{ days: transitionAfterDays, storageClass: "GLACIER_IR" }],
          expiration: [{ days: retentionDays }],
        },
        ...housekeeping(retentionDays),
      ],
      extraStatements: logDeliveryStatements(this.logBucketArn, accountId, region),
    });
    this.logDeliveryReady = [logs.bucket, logs.policy];
    new S3BucketLoggingA(this, "LogBucketAccessLogging", {
      bucket: logs.bucket.id,
      targetBucket: this.accessLogBucketName,
      targetPrefix: "logs/",
      dependsOn: [accessLogs.bucket, accessLogs.policy],
    });

    this.configBucketName = `${props.namePrefix}-config-${accountId}`;
    const config = secureBucket(this, "ConfigBucket", {
      name: this.configBucketName,
      keyArn: this.key.arn,
      objectLock: false, // generations must be able to expire one by one
      lifecycle: [
        {
          id: `keep-${generations}-generations`,
          status: "Enabled",
          filter: [{ prefix: "" }],
          // the current version plus (generations - 1) noncurrent ones; older ones expire a day after being superseded
          noncurrentVersionExpiration: [{ noncurrentDays: 1, newerNoncurrentVersions: generations - 1 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
        },
      ],
      denyDeletion: false,
    });
    this.configBucket = config.bucket;
    new S3BucketLoggingA(this, "ConfigBucketAccessLogging", {
      bucket: this.configBucket.id,
      targetBucket: this.accessLogBucketName,
      targetPrefix: "config/",
      dependsOn: [accessLogs.bucket, accessLogs.policy],
    });
  }

  logGroup(id: string, name: string): CloudwatchLogGroup {
    return new CloudwatchLogGroup(this, `LogGroup-${id}`, {
      name,
      retentionInDays: this.logGroupRetentionDays,
      kmsKeyId: this.key.arn,
      skipDestroy: true, // a destroy of the stack leaves the logs in place until retention ends
    });
  }

  s3Destination(prefix: string): S3LogDestination {
    const p = prefix.endsWith("/") ? prefix : `${prefix}/`;
    return { bucketName: this.logBucketName, bucketArn: this.logBucketArn, prefix: p, arnWithPrefix: `${this.logBucketArn}/${p}`, dependsOn: this.logDeliveryReady };
  }

  publishConfig(id: string, key: string, content: string, contentType: string): void {
    new S3Object(this, `Config-${id}`, {
      bucket: this.configBucket.id,
      key,
      // literal text: stacks/literal-text.ts escapes "${"/"%{" (log formats, shell) for Terraform
      content,
      contentType,
      serverSideEncryption: "aws:kms",
      kmsKeyId: this.key.arn,
    });
  }
}

type Statement = Record<string, unknown>;

/** The services that encrypt with the archive key: CloudWatch Logs for this account's log groups, and log delivery. */
function logDeliveryKeyStatements(accountId: string, region: string): Statement[] {
  return [
    {
      Sid: "CloudWatchLogsEncryptsThisAccountsLogGroups",
      Effect: "Allow",
      Principal: { Service: `logs.${region}.amazonaws.com` },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
      Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${region}:${accountId}:log-group:*` } },
    },
    {
      Sid: "LogDeliveryWritesEncryptedObjects",
      Effect: "Allow",
      Principal: { Service: ["delivery.logs.amazonaws.com", "logging.s3.amazonaws.com"] },
      Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
      Resource: "*",
      Condition: { StringEquals: { "aws:SourceAccount": accountId } },
    },
  ];
}

/** AWS vended-log delivery (VPC flow logs, Network Firewall, Resolver query logs) writing into this account's prefixes only. */
function logDeliveryStatements(bucketArn: string, accountId: string, region: string): Statement[] {
  const condition = {
    StringEquals: { "aws:SourceAccount": accountId },
    ArnLike: { "aws:SourceArn": `arn:aws:logs:${region}:${accountId}:*` },
  };
  return [
    {
      Sid: "AllowLogDeliveryAclCheck",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: ["s3:GetBucketAcl", "s3:ListBucket"],
      Resource: bucketArn,
      Condition: condition,
    },
    {
      Sid: "AllowLogDeliveryWrite",
      Effect: "Allow",
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `${bucketArn}/*/AWSLogs/${accountId}/*`,
      Condition: { ...condition, StringEquals: { ...condition.StringEquals, "s3:x-amz-acl": "bucket-owner-full-control" } },
    },
  ];
}

function expireAfter(days: number): S3BucketLifecycleConfigurationRule {
  return { id: "expire-after-retention", status: "Enabled", filter: [{ prefix: "" }], expiration: [{ days }] };
}

/** Noncurrent versions are kept as long as current ones; delete markers and stalled uploads are cleaned up. */
function housekeeping(retentionDays: number): S3BucketLifecycleConfigurationRule[] {
  return [
    {
      id: "noncurrent-and-incomplete",
      status: "Enabled",
      filter: [{ prefix: "" }],
      noncurrentVersionExpiration: [{ noncurrentDays: retentionDays }],
      abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
    },
    { id: "expired-delete-markers", status: "Enabled", filter: [{ prefix: "" }], expiration: [{ expiredObjectDeleteMarker: true }] },
  ];
}

interface SecureBucketOptions {
  readonly name: string;
  readonly keyArn: string;
  readonly objectLock: false | { mode: ObjectLockMode; days: number };
  readonly lifecycle: S3BucketLifecycleConfigurationRule[];
  readonly extraStatements?: Statement[];
  /** deny every principal object deletion, so only the lifecycle removes objects @default true */
  readonly denyDeletion?: boolean;
}

/** A bucket with every protection the archive relies on; each setting is its own Terraform resource. */
function secureBucket(scope: Construct, id: string, o: SecureBucketOptions): { bucket: S3Bucket; policy: S3BucketPolicy } {
  const arn = `arn:aws:s3:::${o.name}`;
  const bucket = new S3Bucket(scope, id, {
    bucket: o.name,
    objectLockEnabled: o.objectLock !== false,
    forceDestroy: false,
    lifecycle: LIFECYCLE,
  });
  const versioning = new S3BucketVersioningA(scope, `${id}Versioning`, {
    bucket: bucket.id,
    versioningConfiguration: { status: "Enabled" },
  });
  if (o.objectLock) {
    new S3BucketObjectLockConfigurationA(scope, `${id}ObjectLock`, {
      bucket: bucket.id,
      rule: { defaultRetention: { mode: o.objectLock.mode, days: o.objectLock.days } },
      dependsOn: [versioning],
    });
  }
  new S3BucketServerSideEncryptionConfigurationA(scope, `${id}Encryption`, {
    bucket: bucket.id,
    rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: o.keyArn }, bucketKeyEnabled: true }],
  });
  const pab = new S3BucketPublicAccessBlock(scope, `${id}PublicAccessBlock`, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new S3BucketOwnershipControls(scope, `${id}Ownership`, {
    bucket: bucket.id,
    rule: { objectOwnership: "BucketOwnerEnforced" },
  });
  new S3BucketLifecycleConfiguration(scope, `${id}Lifecycle`, {
    bucket: bucket.id,
    rule: o.lifecycle,
    dependsOn: [versioning],
  });
  const statements: Statement[] = [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [arn, `${arn}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
    ...(o.denyDeletion ?? true
      ? [
          {
            Sid: "DenyObjectDeletionAndLockBypass",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"],
            Resource: `${arn}/*`,
          },
        ]
      : []),
    ...(o.extraStatements ?? []),
  ];
  const policy = new S3BucketPolicy(scope, `${id}Policy`, {
    bucket: bucket.id,
    policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
    dependsOn: [pab],
  });
  return { bucket, policy };
}
