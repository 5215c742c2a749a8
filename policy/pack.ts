/** The α′ security baseline: the list of rules, in report order. Adding a rule is one file and one line here. */
import { archivePreventDestroy } from "./rules/archive-prevent-destroy";
import { bucketAccessLogging } from "./rules/bucket-access-logging";
import { bucketKms } from "./rules/bucket-kms";
import { bucketPublicAccessBlock } from "./rules/bucket-public-access-block";
import { bucketRetention } from "./rules/bucket-retention";
import { bucketTlsOnly } from "./rules/bucket-tls-only";
import { bucketVersioning } from "./rules/bucket-versioning";
import { clientVpnConnectionLogging } from "./rules/client-vpn-connection-logging";
import { clientVpnFullTunnel } from "./rules/client-vpn-full-tunnel";
import { ebsEncrypted } from "./rules/ebs-encrypted";
import { firewallDefaultDrop } from "./rules/firewall-default-drop";
import { firewallDeletionProtection } from "./rules/firewall-deletion-protection";
import { firewallLogging } from "./rules/firewall-logging";
import { homeNetCoversLgwan } from "./rules/home-net-covers-lgwan";
import { imdsv2Required } from "./rules/imdsv2-required";
import { inspectionSymmetric } from "./rules/inspection-symmetric";
import { kmsKeyRotation } from "./rules/kms-key-rotation";
import { logBucketObjectLock } from "./rules/log-bucket-object-lock";
import { logGroupKms } from "./rules/log-group-kms";
import { logGroupRetention } from "./rules/log-group-retention";
import { noAllowAll } from "./rules/no-allow-all";
import { noPublicIngress } from "./rules/no-public-ingress";
import { noPublicIp } from "./rules/no-public-ip";
import { noSsh } from "./rules/no-ssh";
import { remoteStateEncrypted } from "./rules/remote-state-encrypted";
import { requiredTags } from "./rules/required-tags";
import { snsEncrypted } from "./rules/sns-encrypted";
import { vpcFlowLogs } from "./rules/vpc-flow-logs";
import { vpnIkev2Only } from "./rules/vpn-ikev2-only";
import { vpnPinnedAlgorithms } from "./rules/vpn-pinned-algorithms";
import { vpnTunnelLogging } from "./rules/vpn-tunnel-logging";
import { noInlineCaMaterial } from "./rules/no-inline-ca-material";
import { sanitizationUnskippable } from "./rules/sanitization-unskippable";
import { tenantProxyUnskippable } from "./rules/tenant-proxy-unskippable";
import { tenantRestrictionConfigured } from "./rules/tenant-restriction-configured";
import { tenantRestrictionWaived } from "./rules/tenant-restriction-waived";
import { tenantScope } from "./rules/tenant-scope";
import { fileCoverage } from "./rules/file-coverage";
import { noTemplateInjection } from "./rules/no-template-injection";
import { pacGeneratedCodeOnly } from "./rules/pac-generated-code-only";
import { bucketPolicyNoOpenPrincipal } from "./rules/bucket-policy-no-open-principal";
import { defaultSecurityGroupClosed } from "./rules/default-security-group-closed";
import { firewallCustomerKey } from "./rules/firewall-customer-key";
import { iamLeastPrivilege } from "./rules/iam-least-privilege";
import { kmsNoOpenPrincipal } from "./rules/kms-no-open-principal";
import { lbDeletionProtection } from "./rules/lb-deletion-protection";
import { noInternetEgress } from "./rules/no-internet-egress";
import { noSecretsInUserData } from "./rules/no-secrets-in-user-data";
import { tgwNoAutoAccept } from "./rules/tgw-no-auto-accept";
import { portPassSource } from "./rules/port-pass-source";
import { preflightClientVpn } from "./rules/preflight-client-vpn";
import { preflightLimits } from "./rules/preflight-limits";
import { preflightNames } from "./rules/preflight-names";
import { preflightPrincipals } from "./rules/preflight-principals";
import { preflightQuotas } from "./rules/preflight-quotas";
import { preflightRoutes } from "./rules/preflight-routes";
import type { Rule } from "./types";

export const ALPHA_PRIME_PACK: readonly Rule[] = [
  logGroupRetention,
  logGroupKms,
  logBucketObjectLock,
  bucketRetention,
  archivePreventDestroy,
  bucketVersioning,
  bucketPublicAccessBlock,
  bucketTlsOnly,
  bucketAccessLogging,
  bucketKms,
  bucketPolicyNoOpenPrincipal,
  kmsKeyRotation,
  kmsNoOpenPrincipal,
  firewallCustomerKey,
  vpcFlowLogs,
  firewallLogging,
  firewallDefaultDrop,
  noAllowAll,
  homeNetCoversLgwan,
  noPublicIngress,
  noPublicIp,
  firewallDeletionProtection,
  inspectionSymmetric,
  noInternetEgress,
  defaultSecurityGroupClosed,
  tgwNoAutoAccept,
  lbDeletionProtection,
  portPassSource,
  vpnIkev2Only,
  vpnPinnedAlgorithms,
  vpnTunnelLogging,
  clientVpnConnectionLogging,
  clientVpnFullTunnel,
  imdsv2Required,
  ebsEncrypted,
  noSsh,
  noSecretsInUserData,
  iamLeastPrivilege,
  snsEncrypted,
  requiredTags,
  remoteStateEncrypted,
  tenantProxyUnskippable,
  tenantRestrictionConfigured,
  tenantRestrictionWaived,
  tenantScope,
  fileCoverage,
  noInlineCaMaterial,
  sanitizationUnskippable,
  noTemplateInjection,
  pacGeneratedCodeOnly,
  // preflight: what the AWS APIs refuse at apply time and the provider does not check
  preflightRoutes,
  preflightClientVpn,
  preflightNames,
  preflightPrincipals,
  preflightLimits,
  preflightQuotas,
];

export const RULE_IDS = ALPHA_PRIME_PACK.map((r) => r.id);
