/**
 * RelayAppliance (中継アプライアンス): the one place where a connection crosses sides. Phones on the remote-access
 * VPN reach the LGWAN mail server, and the LGWAN mail server reaches a cloud mail service, through a small
 * HAProxy fleet behind an internal Network Load Balancer; nothing on the LGWAN side accepts inbound traffic
 * from the internet and nothing here has a public address.
 *
 * Hardening: IMDSv2 only (hop limit 1), KMS-encrypted EBS, no SSH key and no port 22 (Session Manager only,
 * through VPC endpoints), least-privilege role, self-healing Auto Scaling group, weekly security patches through
 * SSM Patch Manager, and rolling instance refresh that keeps every route served.
 */
import { Construct } from "constructs";
import { HEALTH_PORT } from "./relay-ports";
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { SsmAssociation } from "@cdktf/provider-aws/lib/ssm-association";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { acceptFinding } from "./accepted-findings";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { stringify } from "yaml";
import { shortName } from "../core/aws-names";
import { fleetInstanceProfile, fleetVolumeKey, hardenedLaunchTemplate } from "./instance-fleet";
import type { LogDestinations } from "./log-archive";

export interface RelayRoute {
  /** ASCII name, part of resource addresses */
  readonly name: string;
  /** who may connect */
  readonly from: "remote-access" | "lgwan";
  readonly listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
  /** true for an on-prem address (reached back over the VPN), false for an internet name (through the firewall) */
  readonly targetIsOnPrem: boolean;
}

export interface RelayApplianceProps {
  readonly namePrefix: string;
  readonly accountId: string;
  readonly region: string;
  readonly vpcId: string;
  /** subnets of the instances, one per AZ: the relay's own where the address plan has room, else the private ones */
  readonly subnetIds: readonly string[];
  /** their route tables (for the S3 gateway endpoint of the OS repositories and Patch Manager) */
  readonly routeTableIds: readonly string[];
  /** subnets of the internal load balancer, where Client VPN and the LGWAN reach it (the private subnets). @default subnetIds */
  readonly loadBalancerSubnetIds?: readonly string[];
  /** subnets of the interface endpoints it creates. @default loadBalancerSubnetIds */
  readonly endpointSubnetIds?: readonly string[];
  readonly routes: readonly RelayRoute[];
  /** on-prem LGWAN ranges, the sources of `lgwan` routes */
  readonly lgwanCidrs: readonly string[];
  /** the Client VPN endpoint's security group, the source of `remote-access` routes */
  readonly remoteAccessSecurityGroupId?: string;
  /** from the bandwidth tier. @default t4g.small */
  readonly instanceType?: string;
  /** @default 1 */
  readonly instancesPerAz?: number;
  readonly logs: LogDestinations;
  readonly logGroupName: string;
  /** when patches are applied (SSM cron, UTC). @default Saturday 18:00 UTC = Sunday 03:00 JST */
  readonly patchSchedule?: string;
}

/** HAProxy's health endpoint for the load balancer (never a route port). */
export { HEALTH_PORT } from "./relay-ports";
/** Amazon Linux 2023, resolved by EC2 at launch from the public SSM parameter (no data source, offline plans work). */
export const AL2023_ARM64_AMI = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64";
/** The interface endpoints Session Manager and the CloudWatch agent need. */
const INTERFACE_ENDPOINTS = ["ssm", "ssmmessages", "ec2messages", "logs"];

/**
 * Where Amazon Linux's amazon-cloudwatch-agent package installs on the relay instance (AWS's documented layout,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/install-CloudWatch-Agent-commandline-fileconfig.html);
 * a path on the instance image, not on any machine that runs this toolkit.
 */
const CLOUDWATCH_AGENT_HOME = "/opt/aws/amazon-cloudwatch-agent";

/**
 * The S3 buckets Patch Manager's AWS-RunPatchBaseline reads on Linux, per region: the bucket of the SSM Command
 * documents (aws-patch-manager-<region>-<suffix>) and the AWS managed patch baseline snapshots. Behind a VPC endpoint
 * they must be allowed explicitly ("Reference: Amazon S3 buckets for patching operations", AWS Systems Manager User
 * Guide); the suffixes are AWS's, copied from that page. Only the Japanese regions, the ones the config accepts.
 */
export const PATCH_MANAGER_BUCKETS: Readonly<Record<string, readonly string[]>> = {
  "ap-northeast-1": ["aws-patch-manager-ap-northeast-1-4849fa78f", "patch-baseline-snapshot-ap-northeast-1"],
  "ap-northeast-3": ["aws-patch-manager-ap-northeast-3-67373598a", "patch-baseline-snapshot-ap-northeast-3"],
};

/** The Amazon Linux 2023 package repository bucket of a region (what dnf on the instance reads). */
function al2023RepoBucket(region: string): string {
  return `al2023-repos-${region}-de612dc2`;
}

function patchManagerBuckets(region: string): readonly string[] {
  const buckets = Object.hasOwn(PATCH_MANAGER_BUCKETS, region) ? PATCH_MANAGER_BUCKETS[region] : undefined;
  if (!buckets) throw new Error(`no Patch Manager buckets known for ${region} (known: ${Object.keys(PATCH_MANAGER_BUCKETS).join(", ")})`);
  return buckets;
}

/** Names the relay resolves inside the VPC (AWS service endpoints, OS repositories): the DNS firewall must allow them. */
export function relayDnsNames(region: string): string[] {
  return [
    ...INTERFACE_ENDPOINTS.map((s) => `${s}.${region}.amazonaws.com`),
    `${al2023RepoBucket(region)}.s3.dualstack.${region}.amazonaws.com`,
    `s3.${region}.amazonaws.com`,
    // SSM Agent reads the patching buckets by their virtual-hosted names
    ...patchManagerBuckets(region).map((b) => `${b}.s3.${region}.amazonaws.com`),
  ];
}

/** The HAProxy configuration for the routes: one TCP frontend and backend each, plus the health endpoint. */
export function renderHaproxyConfig(routes: readonly RelayRoute[]): string {
  const lines = [
    "# Generated by alpha-prime from env/<id>.yaml relay routes. Do not edit on the instance.",
    "global",
    "    log /dev/log local0 info",
    "    user haproxy",
    "    group haproxy",
    "    maxconn 20000",
    "",
    "resolvers vpc",
    "    # the Amazon-provided DNS server: re-resolves internet targets while running",
    "    nameserver amazon 169.254.169.253:53",
    "    hold valid 60s",
    "",
    "defaults",
    "    mode tcp",
    "    log global",
    "    option tcplog",
    "    timeout connect 5s",
    "    timeout client 1h",
    "    timeout server 1h",
    "    retries 2",
    "",
    "frontend health",
    "    mode http",
    "    option httplog",
    "    option dontlognull",
    `    bind :${HEALTH_PORT}`,
    "    monitor-uri /healthz",
    "",
  ];
  for (const r of routes) {
    const id = r.name.replace(/[^a-z0-9]/g, "_");
    const resolve = r.targetIsOnPrem ? "" : " resolvers vpc resolve-prefer ipv4 init-addr last,libc,none";
    lines.push(
      `frontend fe_${id}`,
      `    # ${r.from} -> ${r.targetHost}:${r.targetPort}; the load balancer sends PROXY v2, so logs show the real client`,
      `    bind :${r.listenPort} accept-proxy`,
      `    default_backend be_${id}`,
      "",
      `backend be_${id}`,
      `    server target ${r.targetHost}:${r.targetPort} check${resolve}`,
      "",
    );
  }
  return lines.join("\n");
}

/** The cloud-init user data: install and configure HAProxy, its logging, and the CloudWatch agent. */
export function renderCloudConfig(haproxyConfig: string, logGroupName: string): string {
  const agent = {
    agent: { run_as_user: "root" },
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            { file_path: "/var/log/haproxy.log", log_group_name: logGroupName, log_stream_name: "{instance_id}/haproxy" },
            { file_path: "/var/log/cloud-init-output.log", log_group_name: logGroupName, log_stream_name: "{instance_id}/cloud-init" },
          ],
        },
      },
    },
  };
  const config = {
    packages: ["haproxy", "rsyslog", "amazon-cloudwatch-agent"],
    write_files: [
      { path: "/etc/haproxy/haproxy.cfg", owner: "root:root", permissions: "0644", content: haproxyConfig },
      { path: "/etc/rsyslog.d/49-haproxy.conf", owner: "root:root", permissions: "0644", content: "if $programname == 'haproxy' then /var/log/haproxy.log\n& stop\n" },
      { path: `${CLOUDWATCH_AGENT_HOME}/etc/alpha-prime.json`, owner: "root:root", permissions: "0644", content: `${JSON.stringify(agent, null, 2)}\n` },
    ],
    runcmd: [
      ["systemctl", "enable", "--now", "rsyslog"],
      ["haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg"],
      ["systemctl", "enable", "--now", "haproxy"],
      [`${CLOUDWATCH_AGENT_HOME}/bin/amazon-cloudwatch-agent-ctl`, "-a", "fetch-config", "-m", "ec2", "-s", "-c", `file:${CLOUDWATCH_AGENT_HOME}/etc/alpha-prime.json`],
    ],
  };
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}

export class RelayAppliance extends Construct {
  readonly loadBalancerDnsName: string;
  readonly securityGroupId: string;
  readonly autoScalingGroupName: string;
  readonly desiredInstances: number;
  readonly haproxyConfig: string;
  readonly userData: string;
  readonly loadBalancerArnSuffix: string;
  readonly targetGroups: { name: string; arnSuffix: string }[];
  /** security group of the Session Manager and Logs interface endpoints it creates (other tiers may share them) */
  readonly endpointSecurityGroupId: string;

  constructor(scope: Construct, id: string, props: RelayApplianceProps) {
    super(scope, id);
    if (props.routes.length === 0) throw new Error("a relay needs at least one route");
    if (props.routes.some((r) => r.from === "remote-access") && !props.remoteAccessSecurityGroupId) {
      throw new Error("remote-access routes need remoteAccessSecurityGroupId (the Client VPN endpoint's security group)");
    }
    if (props.routes.some((r) => r.listenPort === 22 || r.listenPort === HEALTH_PORT)) throw new Error(`listen ports 22 and ${HEALTH_PORT} are reserved`);
    const name = (s: string) => `${props.namePrefix}-${s}`;
    const perAz = props.instancesPerAz ?? 1;
    this.desiredInstances = perAz * props.subnetIds.length;

    // Security groups: the load balancer admits each route only from its side; instances admit only the load balancer.
    const lbSg = new SecurityGroup(this, "LoadBalancerSecurityGroup", { name: name("relay-nlb"), description: "Relay load balancer: each route port from its side only", vpcId: props.vpcId, ingress: [], egress: [] });
    const sg = new SecurityGroup(this, "InstanceSecurityGroup", { name: name("relay"), description: "Relay instances: route and health ports from the load balancer only; out to route targets and AWS endpoints", vpcId: props.vpcId, ingress: [], egress: [] });
    const endpointSg = new SecurityGroup(this, "EndpointSecurityGroup", { name: name("relay-endpoints"), description: "Interface endpoints for Session Manager and CloudWatch Logs: HTTPS from relay instances", vpcId: props.vpcId, ingress: [], egress: [] });
    this.securityGroupId = sg.id;
    this.endpointSecurityGroupId = endpointSg.id;
    for (const r of props.routes) {
      if (r.from === "lgwan") {
        props.lgwanCidrs.forEach((cidr, i) => {
          new VpcSecurityGroupIngressRule(this, `Lb-${r.name}-Lgwan${i}`, { securityGroupId: lbSg.id, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: r.listenPort, toPort: r.listenPort, description: `${r.name} from LGWAN ${cidr}` });
        });
      } else {
        // Client VPN source-NATs clients to its interfaces, which carry its security group: reference that, not the client range.
        new VpcSecurityGroupIngressRule(this, `Lb-${r.name}-RemoteAccess`, { securityGroupId: lbSg.id, referencedSecurityGroupId: props.remoteAccessSecurityGroupId, ipProtocol: "tcp", fromPort: r.listenPort, toPort: r.listenPort, description: `${r.name} from remote-access clients` });
      }
      new VpcSecurityGroupEgressRule(this, `Lb-${r.name}-ToInstances`, { securityGroupId: lbSg.id, referencedSecurityGroupId: sg.id, ipProtocol: "tcp", fromPort: r.listenPort, toPort: r.listenPort, description: `${r.name} to relay instances` });
      new VpcSecurityGroupIngressRule(this, `Instance-${r.name}`, { securityGroupId: sg.id, referencedSecurityGroupId: lbSg.id, ipProtocol: "tcp", fromPort: r.listenPort, toPort: r.listenPort, description: `${r.name} from the load balancer` });
      const toTarget = new VpcSecurityGroupEgressRule(this, `Instance-${r.name}-ToTarget`, {
        securityGroupId: sg.id,
        // an internet name has no fixed address: the firewall restricts it by name (TLS) or by port from these subnets
        cidrIpv4: r.targetIsOnPrem ? `${r.targetHost}/32` : "0.0.0.0/0",
        ipProtocol: "tcp",
        fromPort: r.targetPort,
        toPort: r.targetPort,
        description: `${r.name} to ${r.targetHost}:${r.targetPort}`,
      });
      if (!r.targetIsOnPrem) {
        acceptFinding(toTarget, "AP-SG-001", `Relay target ${r.targetHost} is an internet name whose addresses its operator changes, so no security group can list them; the firewall's pass rule for this route's port (${r.targetPort}) is what holds it.`);
      }
    }
    new VpcSecurityGroupEgressRule(this, "Lb-HealthChecks", { securityGroupId: lbSg.id, referencedSecurityGroupId: sg.id, ipProtocol: "tcp", fromPort: HEALTH_PORT, toPort: HEALTH_PORT, description: "health checks" });
    new VpcSecurityGroupIngressRule(this, "Instance-HealthChecks", { securityGroupId: sg.id, referencedSecurityGroupId: lbSg.id, ipProtocol: "tcp", fromPort: HEALTH_PORT, toPort: HEALTH_PORT, description: "health checks from the load balancer" });
    new VpcSecurityGroupEgressRule(this, "Instance-ToEndpoints", { securityGroupId: sg.id, referencedSecurityGroupId: endpointSg.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "Session Manager and CloudWatch Logs endpoints" });
    new VpcSecurityGroupIngressRule(this, "Endpoints-FromInstances", { securityGroupId: endpointSg.id, referencedSecurityGroupId: sg.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "HTTPS from relay instances" });

    // AWS services without the internet: interface endpoints, and an S3 gateway endpoint limited to the OS repositories
    // and the buckets Patch Manager reads. Everything in the route tables it is attached to is held to this policy
    // for every bucket of the region, so it lists only what the relay needs, read-only.
    const lbSubnetIds = props.loadBalancerSubnetIds ?? props.subnetIds;
    for (const service of INTERFACE_ENDPOINTS) {
      new VpcEndpoint(this, `Endpoint-${service}`, {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: "Interface",
        privateDnsEnabled: true,
        subnetIds: [...(props.endpointSubnetIds ?? lbSubnetIds)],
        securityGroupIds: [endpointSg.id],
        tags: { Name: name(`relay-${service}`) },
      });
    }
    const s3 = new VpcEndpoint(this, "Endpoint-s3", {
      vpcId: props.vpcId,
      serviceName: `com.amazonaws.${props.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: [...props.routeTableIds],
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "AmazonLinuxRepositoriesOnly", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${al2023RepoBucket(props.region)}/*` },
          { Sid: "PatchManagerBucketsOnly", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: patchManagerBuckets(props.region).map((b) => `arn:aws:s3:::${b}/*`) },
        ],
      }),
      tags: { Name: name("relay-s3") },
    });
    new VpcSecurityGroupEgressRule(this, "Instance-ToS3Repositories", { securityGroupId: sg.id, prefixListId: s3.prefixListId, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "Amazon Linux repositories and Patch Manager through the S3 gateway endpoint" });

    // Instances start only once their log group exists (KMS, retention): the agent may not create one of its own.
    const logGroup = props.logs.logGroup("Relay", props.logGroupName);
    const instanceProfileArn = fleetInstanceProfile(this, {
      name: name("relay"),
      description: "Relay instances: Session Manager and their own logs, nothing else",
      accountId: props.accountId,
      region: props.region,
      logGroupName: props.logGroupName,
      policyId: "WriteOwnLogs",
      policyName: "write-own-logs",
    });
    const volumeKey = fleetVolumeKey(this, { accountId: props.accountId, fleetName: name("relay"), description: `${props.namePrefix}: encrypts relay instance volumes` });

    this.haproxyConfig = renderHaproxyConfig(props.routes);
    this.userData = renderCloudConfig(this.haproxyConfig, props.logGroupName);
    props.logs.publishConfig("RelayHaproxy", "relay/haproxy.cfg", this.haproxyConfig, "text/plain; charset=utf-8");
    props.logs.publishConfig("RelayCloudConfig", "relay/cloud-config.yaml", this.userData, "text/yaml; charset=utf-8");

    const template = hardenedLaunchTemplate(this, {
      name: name("relay"),
      description: "alpha-prime relay appliance",
      imageId: AL2023_ARM64_AMI,
      instanceType: props.instanceType ?? "t4g.small",
      instanceProfileArn,
      securityGroupId: sg.id,
      volumeKeyArn: volumeKey.keyArn,
      userData: this.userData,
    });

    const lb = new Lb(this, "LoadBalancer", {
      name: shortName(name("relay")),
      internal: true,
      loadBalancerType: "network",
      subnets: [...lbSubnetIds],
      securityGroups: [lbSg.id],
      enableCrossZoneLoadBalancing: true,
      enableDeletionProtection: true,
    });
    this.loadBalancerDnsName = lb.dnsName;
    this.loadBalancerArnSuffix = lb.arnSuffix;
    this.targetGroups = [];
    const targetGroupArns: string[] = [];
    for (const r of props.routes) {
      const tg = new LbTargetGroup(this, `TargetGroup-${r.name}`, {
        name: shortName(name(r.name)),
        port: r.listenPort,
        protocol: "TCP",
        targetType: "instance",
        vpcId: props.vpcId,
        proxyProtocolV2: true,
        preserveClientIp: "false",
        deregistrationDelay: "30",
        healthCheck: { protocol: "HTTP", port: String(HEALTH_PORT), path: "/healthz", interval: 10, healthyThreshold: 2, unhealthyThreshold: 2 },
      });
      new LbListener(this, `Listener-${r.name}`, { loadBalancerArn: lb.arn, port: r.listenPort, protocol: "TCP", defaultAction: [{ type: "forward", targetGroupArn: tg.arn }] });
      targetGroupArns.push(tg.arn);
      this.targetGroups.push({ name: r.name, arnSuffix: tg.arnSuffix });
    }

    this.autoScalingGroupName = name("relay");
    new AutoscalingGroup(this, "AutoScalingGroup", {
      name: this.autoScalingGroupName,
      vpcZoneIdentifier: [...props.subnetIds],
      minSize: this.desiredInstances,
      desiredCapacity: this.desiredInstances,
      maxSize: this.desiredInstances * 2,
      healthCheckType: "ELB",
      healthCheckGracePeriod: 300,
      targetGroupArns,
      serviceLinkedRoleArn: volumeKey.serviceLinkedRoleArn,
      launchTemplate: { id: template.id, version: template.latestVersion as unknown as string },
      // a new launch template version replaces instances one by one, starting new ones before stopping old ones
      instanceRefresh: { strategy: "Rolling", preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, instanceWarmup: "300" } },
      tag: [{ key: "Name", value: name("relay"), propagateAtLaunch: true }],
      dependsOn: [logGroup],
    });

    // Security patches without site visits: SSM Patch Manager (the default Amazon Linux 2023 baseline approves
    // security updates), one instance at a time so the other keeps serving.
    new SsmAssociation(this, "WeeklyPatching", {
      name: "AWS-RunPatchBaseline",
      associationName: name("relay-patching"),
      scheduleExpression: props.patchSchedule ?? "cron(0 18 ? * SAT *)",
      applyOnlyAtCronInterval: true,
      maxConcurrency: "1",
      maxErrors: "0",
      complianceSeverity: "HIGH",
      parameters: { Operation: "Install", RebootOption: "RebootIfNeeded" },
      targets: [{ key: "tag:aws:autoscaling:groupName", values: [this.autoScalingGroupName] }],
    });
  }
}
