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

  /** One alarm per tunnel: down for three periods, or no data at all (a deleted or never-up tunnel). */
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
