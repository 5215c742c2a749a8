/**
 * Operations: the encrypted notification topic of the operations contractor, and every alarm definition of
 * the stack in one place. Other constructs expose what to watch (VPN ids, NAT gateways, endpoints, target
 * groups); the thresholds and the wiring live here.
 */
import { Construct } from "constructs";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { customerKey } from "./customer-key";

export interface OperationsProps {
  readonly namePrefix: string;
  readonly accountId: string;
  readonly notificationEmails: readonly string[];
}

/** Alarm timing: 5-minute periods; "sustained" means three in a row. */
const PERIOD_SEC = 300;
const SUSTAINED_PERIODS = 3;

export interface WatchedVpnConnection {
  readonly site: string;
  readonly index: number;
  readonly id: string;
  readonly tunnel1Address: string;
  readonly tunnel2Address: string;
}

export interface WatchedTargetGroup {
  readonly name: string;
  /** `targetgroup/...` suffix of the target group ARN (CloudWatch dimension) */
  readonly arnSuffix: string;
}

export class Operations extends Construct {
  readonly topicArn: string;
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.prefix = props.namePrefix;
    const key = customerKey(this, "TopicKey", {
      description: `${props.namePrefix}: encrypts the operations notification topic`,
      accountId: props.accountId,
      statements: [
        {
          Sid: "CloudWatchPublishesEncrypted",
          Effect: "Allow",
          Principal: { Service: "cloudwatch.amazonaws.com" },
          Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          Resource: "*",
          Condition: { StringEquals: { "aws:SourceAccount": props.accountId } },
        },
      ],
    });
    new KmsAlias(this, "TopicKeyAlias", { name: `alias/${props.namePrefix}-operations`, targetKeyId: key.keyId });
    const topic = new SnsTopic(this, "Topic", { name: `${props.namePrefix}-operations`, kmsMasterKeyId: key.arn });
    this.topicArn = topic.arn;
    new SnsTopicPolicy(this, "TopicPolicy", {
      arn: topic.arn,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: `arn:aws:sns:*:${props.accountId}:${props.namePrefix}-operations`,
            Condition: { StringEquals: { "aws:SourceAccount": props.accountId } },
          },
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "sns:Publish",
            Resource: `arn:aws:sns:*:${props.accountId}:${props.namePrefix}-operations`,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      }),
    });
    props.notificationEmails.forEach((email, i) => {
      new SnsTopicSubscription(this, `Email${i}`, { topicArn: topic.arn, protocol: "email", endpoint: email });
    });
  }

  private alarm(id: string, config: Omit<ConstructorParameters<typeof CloudwatchMetricAlarm>[2], "alarmActions" | "okActions">): void {
    new CloudwatchMetricAlarm(this, id, { ...config, alarmActions: [this.topicArn], okActions: [this.topicArn] });
  }

  /**
   * One alarm per tunnel: down for three periods, or no data at all (a deleted or never-up tunnel). One tunnel's
   * TunnelState is the metric with both dimensions, VpnId and the tunnel's outside TunnelIpAddress; with VpnId alone
   * it is the connection's aggregate ("Monitor AWS Site-to-Site VPN tunnels using Amazon CloudWatch",
   * https://docs.aws.amazon.com/vpn/latest/s2svpn/monitoring-cloudwatch-vpn.html, as AWS's own agent toolkit applies
   * it: aws/agent-toolkit-for-aws, sitetositevpn/references/monitoring-and-troubleshooting-tunnels.md, "single-tunnel").
   */
  alarmTunnelsDown(connections: readonly WatchedVpnConnection[]): void {
    for (const c of connections) {
      [c.tunnel1Address, c.tunnel2Address].forEach((address, t) => {
        this.alarm(`TunnelDown-${c.site}-${c.index}-${t + 1}`, {
          alarmName: `${this.prefix}-vpn-${c.site}-${c.index}-tunnel${t + 1}-down`,
          alarmDescription: `Site-to-Site VPN ${c.site} #${c.index} tunnel ${t + 1} is down`,
          namespace: "AWS/VPN",
          metricName: "TunnelState",
          dimensions: { VpnId: c.id, TunnelIpAddress: address },
          statistic: "Maximum",
          period: PERIOD_SEC,
          evaluationPeriods: SUSTAINED_PERIODS,
          threshold: 1,
          comparisonOperator: "LessThanThreshold",
          treatMissingData: "breaching",
        });
      });
    }
  }

  /** Sustained breakout throughput (both directions through the NAT gateways) above the tier's alarm level. */
  alarmBreakoutThroughput(natGatewayIds: readonly string[], thresholdBps: number): void {
    const metrics = natGatewayIds.flatMap((id, i) =>
      ["BytesOutToDestination", "BytesInFromDestination"].map((metricName, m) => ({
        id: `m${i}_${m}`,
        metric: { namespace: "AWS/NATGateway", metricName, dimensions: { NatGatewayId: id }, period: PERIOD_SEC, stat: "Sum" },
        returnData: false,
      })),
    );
    this.alarm("BreakoutThroughput", {
      alarmName: `${this.prefix}-breakout-throughput-high`,
      alarmDescription: `Breakout throughput above ${thresholdBps / 1e9} Gbps for ${(SUSTAINED_PERIODS * PERIOD_SEC) / 60} minutes: consider the next bandwidth tier`,
      evaluationPeriods: SUSTAINED_PERIODS,
      datapointsToAlarm: SUSTAINED_PERIODS,
      threshold: thresholdBps,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
      metricQuery: [
        ...metrics,
        { id: "bps", expression: `(${metrics.map((m) => m.id).join(" + ")}) * 8 / ${PERIOD_SEC}`, label: "breakout bits per second", returnData: true },
      ],
    });
  }

  /** Client VPN: authentication failures above the tier's threshold in one period. */
  alarmClientVpnErrors(endpointId: string, authFailuresPer5Min: number): void {
    this.alarm("ClientVpnAuthFailures", {
      alarmName: `${this.prefix}-client-vpn-auth-failures`,
      alarmDescription: `More than ${authFailuresPer5Min} Client VPN authentication failures in 5 minutes`,
      namespace: "AWS/ClientVPN",
      metricName: "AuthenticationFailures",
      dimensions: { Endpoint: endpointId },
      statistic: "Sum",
      period: PERIOD_SEC,
      evaluationPeriods: 1,
      threshold: authFailuresPer5Min,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
  }

  /** Relay: healthy hosts behind each listener fewer than desired. */
  alarmRelayUnhealthy(loadBalancerArnSuffix: string, targetGroups: readonly WatchedTargetGroup[], desiredHealthy: number): void {
    for (const tg of targetGroups) {
      this.alarmUnhealthyTargets(`RelayUnhealthy-${tg.name}`, `relay-${tg.name}`, `Relay route ${tg.name}`, loadBalancerArnSuffix, tg.arnSuffix, desiredHealthy);
    }
  }

  /** The tenant-restriction proxy: fewer healthy instances than planned (PCs then fail over to the next address). */
  alarmProxyUnhealthy(loadBalancerArnSuffix: string, targetGroupArnSuffix: string, desiredHealthy: number): void {
    this.alarmUnhealthyTargets("ProxyUnhealthy", "proxy", "Tenant-restriction proxy", loadBalancerArnSuffix, targetGroupArnSuffix, desiredHealthy);
  }

  /**
   * The proxy fleet's capacity: CPU held high although scaling should have brought it to its target (the tier's
   * maximum is reached, or traffic grows faster than instances start), memory (ClamAV's database reload doubles its
   * share for a while), and connections against what the floor fleet can take — new TLS connections per minute
   * (the 9:00 sign-in burst) and concurrent connections (Squid's file descriptors). Levels come from the tier
   * (constructs/proxy-capacity.ts). The load balancer reports flows only while there is traffic and the reporters
   * only while instances run; fewer instances than planned is ProxyUnhealthy's alarm, so missing data is not a breach.
   * NLB metrics: https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-cloudwatch-metrics.html
   */
  alarmProxyCapacity(m: { autoScalingGroupName: string; loadBalancerArnSuffix: string; namespace: string; memoryUsedPercent: string }, levels: { cpuPercent: number; memoryPercent: number; newFlowsPerMinute: number; activeFlows: number }): void {
    const sustained = { period: PERIOD_SEC, evaluationPeriods: SUSTAINED_PERIODS, comparisonOperator: "GreaterThanThreshold", treatMissingData: "notBreaching" } as const;
    this.alarm("ProxyCpuHigh", {
      alarmName: `${this.prefix}-proxy-cpu-high`,
      alarmDescription: `Tenant-restriction proxy: average CPU above ${levels.cpuPercent} % for ${(SUSTAINED_PERIODS * PERIOD_SEC) / 60} minutes although scaling aims at half that: the fleet is at its tier's maximum or cannot keep up; consider the next bandwidth tier`,
      namespace: "AWS/EC2",
      metricName: "CPUUtilization",
      dimensions: { AutoScalingGroupName: m.autoScalingGroupName },
      statistic: "Average",
      threshold: levels.cpuPercent,
      ...sustained,
    });
    this.alarm("ProxyMemoryHigh", {
      alarmName: `${this.prefix}-proxy-memory-high`,
      alarmDescription: `Tenant-restriction proxy: an instance uses more than ${levels.memoryPercent} % of its memory for ${(SUSTAINED_PERIODS * PERIOD_SEC) / 60} minutes`,
      namespace: m.namespace,
      metricName: m.memoryUsedPercent,
      statistic: "Maximum",
      threshold: levels.memoryPercent,
      ...sustained,
    });
    const minute = { period: 60, evaluationPeriods: 5, datapointsToAlarm: 3, comparisonOperator: "GreaterThanThreshold", treatMissingData: "notBreaching" } as const;
    this.alarm("ProxyNewConnections", {
      alarmName: `${this.prefix}-proxy-new-connections-high`,
      alarmDescription: `Tenant-restriction proxy: more than ${levels.newFlowsPerMinute} new connections a minute (3 of 5 minutes), near what the fleet's floor can decrypt`,
      namespace: "AWS/NetworkELB",
      metricName: "NewFlowCount",
      dimensions: { LoadBalancer: m.loadBalancerArnSuffix },
      statistic: "Sum",
      threshold: levels.newFlowsPerMinute,
      ...minute,
    });
    this.alarm("ProxyActiveConnections", {
      alarmName: `${this.prefix}-proxy-active-connections-high`,
      alarmDescription: `Tenant-restriction proxy: more than ${levels.activeFlows} concurrent connections (3 of 5 minutes), near what the fleet's floor can hold`,
      namespace: "AWS/NetworkELB",
      metricName: "ActiveFlowCount",
      dimensions: { LoadBalancer: m.loadBalancerArnSuffix },
      statistic: "Maximum",
      threshold: levels.activeFlows,
      ...minute,
    });
  }

  private alarmUnhealthyTargets(id: string, name: string, what: string, loadBalancerArnSuffix: string, targetGroupArnSuffix: string, desiredHealthy: number): void {
    this.alarm(id, {
      alarmName: `${this.prefix}-${name}-unhealthy`,
      alarmDescription: `${what}: fewer than ${desiredHealthy} healthy instances`,
      namespace: "AWS/NetworkELB",
      metricName: "HealthyHostCount",
      dimensions: { LoadBalancer: loadBalancerArnSuffix, TargetGroup: targetGroupArnSuffix },
      statistic: "Minimum",
      period: 60,
      evaluationPeriods: 3,
      threshold: desiredHealthy,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
    });
  }

  /**
   * 無害化: the engine failing (downloads are blocked, staff are stuck), downloads blocked above a rate (an
   * outbreak or a misfiring engine), and signatures older than allowed (the built-in engine stopped updating).
   */
  alarmSanitization(m: { namespace: string; blockedDownloads: string; engineErrors: string; signatureAgeHours?: string }, o: { blockedPerHour: number; signatureMaxAgeHours: number }): void {
    this.alarm("SanitizationEngineErrors", {
      alarmName: `${this.prefix}-sanitization-engine-errors`,
      alarmDescription: "File sanitization engine errors: downloads from sanitized services are being blocked",
      namespace: m.namespace,
      metricName: m.engineErrors,
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
    });
    this.alarm("SanitizationBlockedDownloads", {
      alarmName: `${this.prefix}-sanitization-blocked-downloads`,
      alarmDescription: `More than ${o.blockedPerHour} downloads blocked by file sanitization in an hour`,
      namespace: m.namespace,
      metricName: m.blockedDownloads,
      statistic: "Sum",
      period: 3600,
      evaluationPeriods: 1,
      threshold: o.blockedPerHour,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
    if (m.signatureAgeHours) {
      this.alarm("SanitizationSignatureAge", {
        alarmName: `${this.prefix}-sanitization-signatures-stale`,
        alarmDescription: `ClamAV signatures older than ${o.signatureMaxAgeHours} hours (or no report for two hours)`,
        namespace: m.namespace,
        metricName: m.signatureAgeHours,
        statistic: "Maximum",
        period: 3600,
        evaluationPeriods: 2,
        threshold: o.signatureMaxAgeHours,
        comparisonOperator: "GreaterThanThreshold",
        // the reporter runs hourly: silence means no instance is reporting, which is itself a problem
        treatMissingData: "breaching",
      });
    }
  }
}
