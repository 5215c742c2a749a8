/**
 * MunicipalityStack: one municipality's α′ breakout, wired from its config. Thin on purpose: every decision
 * a municipality can make lives in its YAML, every secure default in a construct.
 */
import { Construct } from "constructs";
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { MunicipalityConfig } from "../config/types";
import { LogArchive, ObjectLockMode } from "../constructs/log-archive";

export interface MunicipalityStackOptions {
  /**
   * S3 bucket for remote state when the config has no `state` section (from ALPHA_PRIME_STATE_BUCKET).
   * Without either, the stack gets a local backend and a guard that fails every real plan.
   */
  readonly stateBucket?: string;
}

/** The variable an offline plan sets to accept the local backend of a stack without a state bucket. */
export const ALLOW_LOCAL_STATE_VARIABLE = "alpha_prime_allow_local_state";

export function namePrefix(config: MunicipalityConfig): string {
  return `alpha-prime-${config.id}`;
}

export class MunicipalityStack extends TerraformStack {
  readonly config: MunicipalityConfig;
  readonly logArchive: LogArchive;

  constructor(scope: Construct, config: MunicipalityConfig, options: MunicipalityStackOptions = {}) {
    super(scope, config.id);
    this.config = config;

    new AwsProvider(this, "aws", {
      region: config.aws.region,
      // the provider refuses to plan or apply against any other account
      allowedAccountIds: [config.aws.accountId],
      defaultTags: [
        {
          tags: {
            Municipality: config.id,
            MunicipalityName: config.name,
            LocalGovernmentCode: config.localGovernmentCode,
            ManagedBy: "alpha-prime",
          },
        },
      ],
    });
    this.declareBackend(options.stateBucket);

    const prefix = namePrefix(config);
    this.logArchive = new LogArchive(this, "LogArchive", {
      namePrefix: prefix,
      accountId: config.aws.accountId,
      region: config.aws.region,
      retentionDays: config.logging.retentionDays,
      objectLockMode: config.logging.objectLockMode === "compliance" ? ObjectLockMode.COMPLIANCE : ObjectLockMode.GOVERNANCE,
      transitionAfterDays: config.logging.transitionAfterDays,
    });

    this.output("log_bucket_name", this.logArchive.logBucketName, "Log archive bucket (Object Lock, KMS)");
    this.output("log_bucket_arn", this.logArchive.logBucketArn, "Log archive bucket ARN");
    this.output("config_bucket_name", this.logArchive.configBucketName, "Configuration backups (5 generations)");
    this.output("log_kms_key_arn", this.logArchive.keyArn, "KMS key of the log archive");
  }

  private output(id: string, value: unknown, description: string): void {
    new TerraformOutput(this, id, { value, description });
  }

  private declareBackend(envBucket: string | undefined): void {
    const config = this.config;
    const bucket = config.state?.bucket ?? envBucket;
    if (bucket) {
      const backend = new S3Backend(this, {
        bucket,
        key: `alpha-prime/${config.id}/terraform.tfstate`,
        region: config.aws.region,
        encrypt: true,
        kmsKeyId: config.state?.kmsKeyId,
        allowedAccountIds: [config.aws.accountId],
      });
      // S3-native state locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no typed option for it.
      backend.addOverride("use_lockfile", true);
      return;
    }
    // No bucket: a relative local path keeps the output free of machine paths, and the output's precondition
    // makes every real plan fail with a clear message instead of silently keeping state on one laptop.
    new LocalBackend(this, { path: `terraform.${config.id}.tfstate` });
    const allow = new TerraformVariable(this, ALLOW_LOCAL_STATE_VARIABLE, {
      type: "bool",
      default: false,
      description: "Accept local state (offline plans and sandboxes only).",
    });
    new TerraformOutput(this, "state_backend", {
      value: "local",
      description: "Where this stack's state is kept",
      precondition: {
        condition: allow.booleanValue,
        errorMessage: `No remote state bucket for '${config.id}': set state.bucket in env/${config.id}.yaml or ALPHA_PRIME_STATE_BUCKET when synthesizing, then synthesize again (or set TF_VAR_${ALLOW_LOCAL_STATE_VARIABLE}=true for a sandbox).`,
      },
    });
  }
}
