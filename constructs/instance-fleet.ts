/**
 * The hardening every alpha-prime instance fleet shares (relay appliance, tenant-restriction proxy), in one place:
 * an instance role that can do Session Manager and write its own log group and nothing else unless asked, a
 * customer-managed volume key the Auto Scaling service can use, and a launch template with IMDSv2 only (hop limit 1),
 * encrypted volumes, no public address and no SSH key. Helpers, not a construct: resources land in the caller's
 * scope under fixed ids, so the callers' resource addresses stay what they were.
 */
import type { Construct } from "constructs";
import { acceptFinding } from "./accepted-findings";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";
import { customerKey } from "./customer-key";

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

/** Key "VolumeKey" for the fleet's EBS volumes: the Auto Scaling service-linked role launches them, so it may use it. */
export function fleetVolumeKey(scope: Construct, accountId: string, description: string): string {
  return customerKey(scope, "VolumeKey", {
    description,
    accountId,
    statements: [
      {
        Sid: "AutoScalingUsesKeyForVolumes",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling` },
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"],
        Resource: "*",
      },
    ],
  }).arn;
}

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

/** Launch template "LaunchTemplate": IMDSv2 only, encrypted 16 GiB gp3 root volume, no public address, no key pair. */
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
    userData: Buffer.from(p.userData, "utf8").toString("base64"),
    tagSpecifications: [{ resourceType: "instance", tags: { Name: p.name } }, { resourceType: "volume", tags: { Name: p.name } }],
  });
}
