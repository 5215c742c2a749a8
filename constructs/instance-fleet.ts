/**
 * The hardening every alpha-prime instance fleet shares (relay appliance, tenant-restriction proxy), in one place:
 * an instance role that can do Session Manager and write its own log group and nothing else unless asked, a
 * customer-managed volume key the fleet's own Auto Scaling service-linked role can use, and a launch template with IMDSv2 only (hop limit 1),
 * encrypted volumes, no public address and no SSH key. Helpers, not a construct: resources land in the caller's
 * scope under fixed ids, so the callers' resource addresses stay what they were.
 */
import type { Construct } from "constructs";
import { acceptFinding } from "./accepted-findings";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { IamServiceLinkedRole } from "@cdktf/provider-aws/lib/iam-service-linked-role";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { shortName } from "../core/aws-names";
import { customerKey } from "./customer-key";
import { launchTemplateUserData } from "./terraform-text";

export interface FleetRoleProps {
  /** role and instance profile name */
  readonly name: string;
  readonly description: string;
  readonly accountId: string;
  readonly region: string;
  /** the fleet's own log group: the role may write to it and no other */
  readonly logGroupName: string;
  /** construct id and name of the inline policy */
  readonly policyId: string;
  readonly policyName: string;
  /** further least-privilege statements (e.g. reading one secret) */
  readonly statements?: readonly Record<string, unknown>[];
}

/** Role "Role", its Session Manager attachment and inline policy, and "InstanceProfile"; returns the profile ARN. */
export function fleetInstanceProfile(scope: Construct, p: FleetRoleProps): string {
  const role = new IamRole(scope, "Role", {
    name: p.name,
    description: p.description,
    assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
  });
  const sessionManager = new IamRolePolicyAttachment(scope, "SessionManager", { role: role.name, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" });
  acceptFinding(
    sessionManager,
    "AP-IAM-001",
    "AmazonSSMManagedInstanceCore is AWS's policy for an instance that Session Manager and patch associations manage (ssm, ssmmessages, ec2messages); its widest grant, ssm:GetParameter(s) on every parameter, reaches nothing here, since the stack keeps no secret in Parameter Store.",
  );
  new IamRolePolicy(scope, p.policyId, {
    role: role.name,
    name: p.policyName,
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          Resource: `arn:aws:logs:${p.region}:${p.accountId}:log-group:${p.logGroupName}:*`,
        },
        ...(p.statements ?? []),
      ],
    }),
  });
  return new IamInstanceProfile(scope, "InstanceProfile", { name: p.name, role: role.name }).arn;
}

export interface FleetVolumeKeyProps {
  readonly accountId: string;
  /** the fleet's name (its role and launch template are named so): the suffix of its Auto Scaling service-linked role */
  readonly fleetName: string;
  readonly description: string;
}

/** What a fleet's Auto Scaling group needs to launch instances whose volumes the fleet's own key encrypts. */
export interface FleetVolumeKey {
  readonly keyArn: string;
  /** the group's service-linked role (set it as the group's service_linked_role_arn) */
  readonly serviceLinkedRoleArn: string;
}

/**
 * Key "VolumeKey" for the fleet's EBS volumes, and the service-linked role "AutoScalingRole" through which the fleet's
 * Auto Scaling group launches instances with them.
 *
 * EC2 Auto Scaling launches instances as a service-linked role, and that role may use a customer managed key only if
 * the key policy names it ("Required AWS KMS key policy for use with encrypted volumes", EC2 Auto Scaling User
 * Guide). KMS refuses a key policy whose principals do not exist (CreateKey, KMS API Reference), and the account's
 * default role, AWSServiceRoleForAutoScaling, exists only once the account's first Auto Scaling group has been made,
 * here after the key. Creating that default role explicitly is no way out either: on an account that already has
 * it, CreateServiceLinkedRole fails and so would the deploy. So each fleet gets a role of its own, with a custom
 * suffix (AWSServiceRoleForAutoScaling_<fleet>; "Service-linked roles for Amazon EC2 Auto Scaling" documents
 * custom-suffix roles with the same permissions). Its name is this stack's alone, so it does not exist before the
 * deploy on any account; the key policy refers to it, so Terraform creates it before the key (and the provider
 * retries CreateKey until IAM's new role is visible to KMS). It also narrows the key to this fleet's group.
 */
export function fleetVolumeKey(scope: Construct, p: FleetVolumeKeyProps): FleetVolumeKey {
  const role = new IamServiceLinkedRole(scope, "AutoScalingRole", {
    awsServiceName: "autoscaling.amazonaws.com",
    customSuffix: shortName(p.fleetName, AUTOSCALING_ROLE_SUFFIX_MAX),
    description: `EC2 Auto Scaling for ${p.fleetName}: launches its instances with the fleet's volume key`,
  });
  const key = customerKey(scope, "VolumeKey", {
    description: p.description,
    accountId: p.accountId,
    // the two statements of the guide's Example 1: use of the key, and grants only for AWS resources (the volumes)
    statements: [
      {
        Sid: "AutoScalingUsesKeyForVolumes",
        Effect: "Allow",
        Principal: { AWS: role.arn },
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        Resource: "*",
      },
      {
        Sid: "AutoScalingAttachesVolumes",
        Effect: "Allow",
        Principal: { AWS: role.arn },
        Action: "kms:CreateGrant",
        Resource: "*",
        Condition: { Bool: { "kms:GrantIsForAWSResource": true } },
      },
    ],
  });
  return { keyArn: key.arn, serviceLinkedRoleArn: role.arn };
}

/** A role name holds 64 characters; "AWSServiceRoleForAutoScaling_" takes 29 (CreateServiceLinkedRole, IAM API Reference). */
const AUTOSCALING_ROLE_SUFFIX_MAX = 64 - "AWSServiceRoleForAutoScaling_".length;

export interface HardenedLaunchTemplateProps {
  readonly name: string;
  readonly description: string;
  /** an AMI id or a resolve:ssm: parameter (resolved at launch, so offline plans need no data source) */
  readonly imageId: string;
  readonly instanceType: string;
  readonly instanceProfileArn: string;
  readonly securityGroupId: string;
  readonly volumeKeyArn: string;
  /** cloud-init user data, plain text */
  readonly userData: string;
}

/** Launch template "LaunchTemplate": IMDSv2 only, encrypted 16 GiB gp3 root volume, no public address, no key pair, compressed user data. */
export function hardenedLaunchTemplate(scope: Construct, p: HardenedLaunchTemplateProps): LaunchTemplate {
  return new LaunchTemplate(scope, "LaunchTemplate", {
    name: p.name,
    description: p.description,
    imageId: p.imageId,
    instanceType: p.instanceType,
    iamInstanceProfile: { arn: p.instanceProfileArn },
    updateDefaultVersion: true,
    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
    blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true", kmsKeyId: p.volumeKeyArn, volumeSize: 16, volumeType: "gp3", deleteOnTermination: "true" } }],
    networkInterfaces: [{ associatePublicIpAddress: "false", deleteOnTermination: "true", securityGroups: [p.securityGroupId] }],
    monitoring: { enabled: true },
    userData: launchTemplateUserData(p.userData),
    tagSpecifications: [{ resourceType: "instance", tags: { Name: p.name } }, { resourceType: "volume", tags: { Name: p.name } }],
  });
}
