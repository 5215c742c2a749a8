/**
 * MunicipalityStack: one municipality's α′ breakout, wired from its config. Thin on purpose: every decision
 * a municipality can make lives in its YAML, every secure default in a construct.
 */
import { Construct } from "constructs";
import { Aspects, LocalBackend, S3Backend, TerraformLocal, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { formatDomainPattern } from "../catalog/domains";
import { parseHostPort, HostPort } from "../config/semantic";
import type { MunicipalityConfig } from "../config/types";
import { bandwidthTier } from "../constructs/bandwidth-tier";
import { proxyAlarmLevels } from "../constructs/proxy-capacity";
import { BreakoutGateway } from "../constructs/breakout-gateway";
import { LogArchive, ObjectLockMode } from "../constructs/log-archive";
import { Operations } from "../constructs/operations";
import { CLAMAV_MIRRORS } from "../constructs/file-sanitization";
import { fileCoverage } from "../catalog/coverage";
import { DEBIAN_MIRRORS, proxyDnsNames, TenantProxy } from "../constructs/tenant-proxy";
import { RelayAppliance, relayDnsNames } from "../constructs/relay-appliance";
import { CLIENT_VPN_MAX_DNS_SERVERS, RemoteAccessVpn } from "../constructs/remote-access-vpn";
import { VpnConcentrator } from "../constructs/vpn-concentrator";
import { PolicyAspect } from "../policy/aspect";
import { stackToTerraform, synthTuningEnabled, visitFirstInSynthesis, writeAsBytesOnce } from "./cdktf-tuning";
import { escapeLiteralText } from "./literal-text";
import { terraformLiteralDeep } from "../constructs/terraform-text";
import { EffectiveAllowlist, effectiveAllowlist, municipalityPac, needsTenantProxy } from "./allowlist";
import { SaasCatalog } from "../catalog/saas-catalog";
import { acceptedFindings } from "../constructs/accepted-findings";

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
  readonly breakout: BreakoutGateway;
  readonly vpn: VpnConcentrator;
  readonly remoteAccess?: RemoteAccessVpn;
  readonly operations: Operations;
  readonly relay?: RelayAppliance;
  readonly tenantProxy?: TenantProxy;

  /** The JSON the policy aspect resolved during this synth, reused once by the synthesizer (see toTerraform). */
  private resolvedBySynthCheck?: Record<string, unknown>;

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
    const allowlist = effectiveAllowlist(config);
    const proxyTier = needsTenantProxy(allowlist);
    const san = config.breakout.sanitization;
    const externalEngine = san?.engine === "external" ? parseIcapUrl(san.externalIcapUrl!) : undefined;
    // The α′ baseline fails the synth on any unsuppressed error finding (aspects on the App are never applied).
    const policy = new PolicyAspect(synthTuningEnabled() ? (json) => (this.resolvedBySynthCheck = json) : undefined);
    if (!visitFirstInSynthesis(this, policy)) Aspects.of(this).add(policy);

    const prefix = namePrefix(config);
    this.logArchive = new LogArchive(this, "LogArchive", {
      namePrefix: prefix,
      accountId: config.aws.accountId,
      region: config.aws.region,
      retentionDays: config.logging.retentionDays,
      objectLockMode: config.logging.objectLockMode === "compliance" ? ObjectLockMode.COMPLIANCE : ObjectLockMode.GOVERNANCE,
      transitionAfterDays: config.logging.transitionAfterDays,
    });

    const logs = this.logArchive;
    const tier = bandwidthTier(config.bandwidthTier);

    this.vpn = new VpnConcentrator(this, "Vpn", {
      namePrefix: prefix,
      amazonSideAsn: config.network.awsSideAsn,
      sites: config.sites,
      connectionsPerSite: tier.vpnConnectionsPerSite,
      logs,
      tunnelLogGroupName: `/alpha-prime/${config.id}/vpn-tunnels`,
    });
    this.breakout = new BreakoutGateway(this, "Breakout", {
      namePrefix: prefix,
      accountId: config.aws.accountId,
      vpcCidr: config.network.breakoutCidr,
      availabilityZones: config.aws.availabilityZones,
      onPremCidrs: config.network.lgwanSegments,
      transitGatewayId: this.vpn.transitGatewayId,
      allowedDomains: allowlist.domains,
      passRules: allowlist.passRules,
      relaySubnets: config.relay.length > 0,
      proxyOnlyDomains: allowlist.proxyOnlyDomains,
      proxyEgressDomains: proxyTier ? [...DEBIAN_MIRRORS, ...(san?.engine === "clamav" ? CLAMAV_MIRRORS : [])] : [],
      proxyEgressTls: externalEngine && !externalEngine.onPremCidr ? [{ domain: { name: externalEngine.host, includeSubdomains: false }, port: externalEngine.port }] : [],
      internalDnsNames: [
        ...new Set([
          ...(config.relay.length ? relayDnsNames(config.aws.region) : []),
          ...(proxyTier ? [...proxyDnsNames(config.aws.region), ...DEBIAN_MIRRORS.map((d) => d.name)] : []),
          ...(san?.engine === "clamav" ? CLAMAV_MIRRORS.map((d) => d.name) : []),
          ...(externalEngine && !externalEngine.onPremCidr ? [externalEngine.host] : []),
        ]),
      ],
      dnsClientCidrs: config.network.dnsServers.map((s) => (s.includes("/") ? s : `${s}/32`)),
      logs,
    });
    this.vpn.attachInspectionVpc(this.breakout.transitGatewayAttachmentId);

    if (config.remoteAccess) {
      const ra = config.remoteAccess;
      this.remoteAccess = new RemoteAccessVpn(this, "RemoteAccess", {
        namePrefix: prefix,
        vpcId: this.breakout.vpcId,
        vpcCidr: config.network.breakoutCidr,
        subnetIds: this.breakout.privateSubnetIds,
        clientCidr: ra.clientCidr,
        serverCertificateArn: ra.serverCertificateArn,
        clientRootCertificateArn: ra.clientRootCertificateArn,
        samlProviderArn: ra.samlProviderArn,
        lgwanCidrs: config.network.lgwanSegments,
        internetBreakout: ra.internetBreakout,
        // the inbound resolver's addresses in the first two zones: Client VPN takes two; both zones answer for all
        dnsServers: this.breakout.resolverInboundIps.slice(0, CLIENT_VPN_MAX_DNS_SERVERS),
        sessionTimeoutHours: ra.sessionTimeoutHours,
        loginBanner: ra.loginBanner,
        logs,
        connectionLogGroupName: `/alpha-prime/${config.id}/client-vpn`,
        createAfter: this.breakout.privateSubnetAddressHolders,
      });
    }

    if (config.relay.length) {
      this.relay = new RelayAppliance(this, "Relay", {
        namePrefix: prefix,
        accountId: config.aws.accountId,
        region: config.aws.region,
        vpcId: this.breakout.vpcId,
        // the relay's own subnets (a /24 has no room for them: there the private ones); its load balancer and
        // endpoints stay in the private subnets, where Client VPN and the LGWAN reach them
        ...(this.breakout.relaySubnetIds.length
          ? { subnetIds: this.breakout.relaySubnetIds, routeTableIds: this.breakout.relayRouteTableIds }
          : { subnetIds: this.breakout.privateSubnetIds, routeTableIds: this.breakout.privateRouteTableIds }),
        loadBalancerSubnetIds: this.breakout.privateSubnetIds,
        routes: config.relay.map((r) => {
          const target = parseHostPort(r.target) as HostPort; // validated when the config was loaded
          return { name: r.name, from: r.from, listenPort: r.listenPort, targetHost: target.host, targetPort: target.port, targetIsOnPrem: target.isIp };
        }),
        lgwanCidrs: config.network.lgwanSegments,
        remoteAccessSecurityGroupId: this.remoteAccess?.securityGroupId,
        instanceType: tier.relayInstanceType,
        instancesPerAz: tier.relayInstancesPerAz,
        logs,
        logGroupName: `/alpha-prime/${config.id}/relay`,
        createAfter: this.breakout.privateSubnetAddressHolders,
      });
    }

    if (proxyTier) {
      this.tenantProxy = new TenantProxy(this, "TenantProxy", {
        namePrefix: prefix,
        accountId: config.aws.accountId,
        region: config.aws.region,
        vpcId: this.breakout.vpcId,
        subnetIds: this.breakout.proxySubnetIds,
        subnetCidrs: this.breakout.proxySubnetCidrs,
        routeTableIds: this.breakout.proxyRouteTableIds,
        endpointSubnetIds: this.breakout.privateSubnetIds,
        lgwanCidrs: config.network.lgwanSegments,
        remoteAccess:
          this.remoteAccess && config.remoteAccess?.internetBreakout
            ? { securityGroupId: this.remoteAccess.securityGroupId, sourceCidrs: this.breakout.plan.private.subnets }
            : undefined,
        allowedDomains: allowlist.domains,
        headerRules: allowlist.headerRules.map((r) => ({ label: r.saas, name: r.name, value: r.value, hosts: r.hosts })),
        sanitization: san && {
          hosts: allowlist.sanitization!.hosts,
          engine: san.engine,
          externalIcapUrl: san.externalIcapUrl,
          externalEngineCidr: externalEngine?.onPremCidr,
          maxFileSizeBytes: san.maxFileSizeMb * 1048576,
          largerFiles: san.largerFiles,
          guidance: san.guidance,
        },
        caSecretArn: config.breakout.interceptionCa!.secretArn, // required with header rules (validated)
        caKmsKeyArn: config.breakout.interceptionCa!.kmsKeyArn,
        sharedEndpointSecurityGroupId: this.relay?.endpointSecurityGroupId,
        instanceType: tier.proxyInstanceType,
        instancesPerAz: tier.proxyInstancesPerAz,
        maxInstancesPerAz: tier.proxyMaxInstancesPerAz,
        squidWorkers: tier.proxySquidWorkers,
        logs,
        logGroupName: `/alpha-prime/${config.id}/proxy`,
        createAfter: this.breakout.privateSubnetAddressHolders,
      });
    }

    this.operations = new Operations(this, "Operations", {
      namePrefix: prefix,
      accountId: config.aws.accountId,
      notificationEmails: config.operations.notificationEmails,
    });
    this.operations.alarmTunnelsDown(this.vpn.connections);
    this.operations.alarmBreakoutThroughput(this.breakout.natGatewayIds, tier.throughputAlarmBps);
    if (this.remoteAccess) this.operations.alarmClientVpnErrors(this.remoteAccess.endpointId, tier.clientVpnAuthFailuresPer5Min);
    if (this.relay) this.operations.alarmRelayUnhealthy(this.relay.loadBalancerArnSuffix, this.relay.targetGroups, this.relay.desiredInstances);
    if (this.tenantProxy) this.operations.alarmProxyUnhealthy(this.tenantProxy.loadBalancerArnSuffix, this.tenantProxy.targetGroupArnSuffix, this.tenantProxy.desiredInstances);
    if (this.tenantProxy) this.operations.alarmProxyCapacity(this.tenantProxy.capacityMetrics, proxyAlarmLevels(tier));
    if (this.tenantProxy?.sanitizationMetrics && san) this.operations.alarmSanitization(this.tenantProxy.sanitizationMetrics, { blockedPerHour: san.blockedPerHourAlarm, signatureMaxAgeHours: san.signatureMaxAgeHours });

    // Generated configuration, kept in five generations by the log archive.
    logs.publishConfig("Pac", "pac/proxy.pac", municipalityPac(config, allowlist), "application/x-ns-proxy-autoconfig");
    logs.publishConfig("Allowlist", "allowlist/domains.txt", allowlist.domains.map(formatDomainPattern).join("\n") + "\n", "text/plain; charset=utf-8");

    this.output("egress_ips", this.breakout.egressIps, "Fixed egress addresses, one per AZ: register them in SaaS IP restrictions (kintone IP制限, Entra named locations)");
    this.output("dns_forwarder_targets", this.breakout.resolverInboundIps, "Inbound resolver addresses: targets of the on-prem DNS servers' conditional forwarders");
    this.output("dns_forwarder_zones", this.breakout.forwarderZones, "Zones the on-prem DNS servers forward to the inbound resolver");
    this.output("transit_gateway_id", this.vpn.transitGatewayId, "Transit Gateway of the site VPNs");
    this.output("operations_topic_arn", this.operations.topicArn, "Alarm notifications");
    if (this.tenantProxy) this.output("tenant_proxy_addresses", this.tenantProxy.proxyAddresses, "Tenant-restriction proxy (fixed load balancer addresses, as in the PAC file); distribute the interception CA to LGWAN PCs");
    if (this.relay) this.output("relay_endpoint", this.relay.loadBalancerDnsName, "Relay appliance (internal load balancer): point phones' mail settings and the LGWAN mail server here");
    if (this.remoteAccess) this.output("client_vpn_endpoint_id", this.remoteAccess.endpointId, "Client VPN endpoint (download its client configuration)");
    this.output("log_bucket_name", this.logArchive.logBucketName, "Log archive bucket (Object Lock, KMS)");
    this.output("log_bucket_arn", this.logArchive.logBucketArn, "Log archive bucket ARN");
    this.output("config_bucket_name", this.logArchive.configBucketName, "Configuration backups (5 generations)");
    this.output("log_kms_key_arn", this.logArchive.keyArn, "KMS key of the log archive");

    // What the baseline checks need to know about this municipality travels inside the artifact, so a standalone
    // `alpha-prime check` of cdktf.out judges exactly what is deployed. Terraform ignores an unused local. Written
    // after the constructs, because the findings they accept by design are part of it (after the env file's own
    // suppressions, whose indices AP-SUP-001 reports against the file).
    new TerraformLocal(
      this,
      "alpha_prime",
      terraformLiteralDeep({
        municipality: config.id,
        retention_days: config.logging.retentionDays,
        lgwan_segments: config.network.lgwanSegments,
        suppressions: [
          ...config.suppressions.map((x) => ({ rule: x.rule, resource: x.resource, reason: x.reason, ...(x.expires ? { expires: x.expires } : {}) })),
          ...acceptedFindings(this).map((a) => ({ rule: a.rule, resource: a.resource, reason: a.reason, declared_by: a.declaredBy })),
        ],
        // wildcards over public hosting the municipality accepted: AP-NET-004 judges the firewall's names against them
        ...(config.breakout.publicHostingWaivers.length ? { public_hosting_waivers: config.breakout.publicHostingWaivers.map((w) => ({ domain: w.domain, reason: w.reason })) } : {}),
        tenant_restriction: tenantContext(config, allowlist),
      }),
    );

    // last: everything above is built, so every string it wrote is literal text to Terraform but references
    escapeLiteralText(this);
  }

  /**
   * Synthesis speed (issue 9): cdktf resolves a stack three times per synth, and its toTerraform twice more inside.
   * App.synth's preparing resolve looks for cross-stack references, which a municipality stack never has (each
   * stands alone and deploys on its own); our policy aspect resolves it to check it; the synthesizer resolves it
   * to write it. Between the aspect and the write nothing changes the stack (validations and annotation checks
   * only read it), so the write reuses the aspect's result once; and that one resolve goes through
   * stackToTerraform (cdktf-tuning.ts). Output is byte-identical; tests compare it with plain cdktf.
   */
  prepareStack(): void {
    if (!synthTuningEnabled()) return super.prepareStack();
    this.ensureBackendExists();
  }

  toTerraform(): any {
    const reused = this.resolvedBySynthCheck;
    if (reused) {
      this.resolvedBySynthCheck = undefined;
      // the synthesizer's call, which writes it at once: as bytes (cdktf-tuning.ts, writeAsBytesOnce)
      return writeAsBytesOnce(reused);
    }
    return stackToTerraform(this, () => super.toTerraform());
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
    const guard = new TerraformOutput(this, "state_backend", { value: "local", description: "Where this stack's state is kept" });
    // cdktf 0.21's TerraformOutput accepts `precondition` but never writes it out (terraform-output.js
    // synthesizeAttributes), so the block is set as an override.
    guard.addOverride("precondition", [
      {
        condition: allow.booleanValue,
        error_message: `No remote state bucket for '${config.id}': set state.bucket in env/${config.id}.yaml or ALPHA_PRIME_STATE_BUCKET when synthesizing, then synthesize again (or set TF_VAR_${ALLOW_LOCAL_STATE_VARIABLE}=true for a sandbox).`,
      },
    ]);
  }
}

/** Host and port of an ICAP URL, and the on-prem /32 when the host is an address (validated when loaded). */
function parseIcapUrl(url: string): { host: string; port: number; onPremCidr?: string } {
  const m = /^icaps?:\/\/([^:/]+):(\d+)\//.exec(url)!;
  const isIp = /^[0-9.]+$/.test(m[1]);
  return { host: m[1].toLowerCase(), port: Number(m[2]), onPremCidr: isIp ? `${m[1]}/32` : undefined };
}

/**
 * What the baseline and the reviewer need to know about テナント制限, carried in the artifact: per selected service
 * whether its mechanism is configured, waived (with the reason) or absent, and the names only the proxy may reach.
 */
function tenantContext(config: MunicipalityConfig, allowlist: EffectiveAllowlist, catalog = SaasCatalog.default()) {
  const waivers = new Map(config.breakout.tenantWaivers.map((w) => [w.saas, w.reason]));
  return {
    services: config.breakout.saas.map((saas) => {
      if (!catalog.needsTenantValues(saas)) return { saas, status: "none" };
      if (config.breakout.tenants[saas]) {
        // a waived service on the same wildcard puts the wildcard back on the allowlist: this one's hosts hold no longer
        const undoneBy = catalog.tenantScopes().filter((sc) => sc.services.includes(saas)).flatMap((sc) => sc.services.filter((o) => o !== saas && waivers.has(o) && config.breakout.saas.includes(o)));
        return undoneBy.length ? { saas, status: "configured", undone_by: [...new Set(undoneBy)] } : { saas, status: "configured" };
      }
      return waivers.has(saas) ? { saas, status: "waived", reason: waivers.get(saas) } : { saas, status: "missing" };
    }),
    proxy_only_domains: allowlist.proxyOnlyDomains.map(formatDomainPattern),
    sanitization: config.breakout.sanitization
      ? {
          services: config.breakout.sanitization.services,
          hosts: (allowlist.sanitization?.hosts ?? []).map(formatDomainPattern),
          engine: config.breakout.sanitization.engine === "external" ? `external ${config.breakout.sanitization.externalIcapUrl}` : "clamav",
          max_file_size_mb: config.breakout.sanitization.maxFileSizeMb,
          larger_files: config.breakout.sanitization.largerFiles,
          ...(config.breakout.sanitization.largerFilesReason ? { larger_files_reason: config.breakout.sanitization.largerFilesReason } : {}),
        }
      : undefined,
    headers: allowlist.headerRules.map((h) => ({ saas: h.saas, name: h.name, value: h.value, hosts: h.hosts.map(formatDomainPattern) })),
    // 無害化's coverage map: every file path of the selected services and whether the engine sees it (AP-COV-001, the diff)
    file_coverage: fileCoverage(config, catalog),
    // the tenant's own hosts under a wildcard the mechanism replaced: what AP-TEN-005 and the diff accept there
    tenant_hosts: config.breakout.saas.filter((saas) => config.breakout.tenants[saas] && catalog.get(saas).tenantRestriction?.tenantHosts).map((saas) => ({ saas, hosts: catalog.ownTenantHosts(saas, config.breakout.tenants[saas]) })),
  };
}
