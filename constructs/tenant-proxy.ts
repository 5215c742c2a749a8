/**
 * TenantProxy (テナント制限 proxy): the explicit proxy that carries tenant restriction. Squid built with OpenSSL,
 * in an Auto Scaling group across the municipality's zones behind an internal Network Load Balancer with fixed
 * addresses (the PAC file names them, so no DNS is needed to find the proxy).
 *
 * What it does with a connection (squid.conf below):
 * - peeks at the TLS ClientHello (SslBump step 1) to read the SNI;
 * - bumps (decrypts) only the hosts that need a tenant header, removes any copy of the header the client sent,
 *   adds the configured value, and allows WebSocket upgrades on those connections (Slack's desktop app);
 * - splices every other allowlisted host untouched (the server's own certificate reaches the PC);
 * - terminates everything else, and refuses clients outside the LGWAN segments.
 * The firewall passes the bumped hosts only from the proxy subnets (BreakoutGateway.proxyOnlyDomains), so a PC that
 * ignores the PAC file cannot skip the header.
 *
 * The interception CA never leaves Secrets Manager except onto the instances' disks: only its ARN is in Terraform
 * and in the user data; each instance reads it at boot with its own role, so every instance signs with the same CA.
 *
 * The image is Debian 12 (bookworm), because its squid-openssl package (5.7, configured --with-openssl
 * --enable-ssl-crtd, https://salsa.debian.org/squid-team/squid/-/blob/debian/bookworm/debian/rules) is exactly what
 * the tests run `squid -k parse` and the live loopback test with. Debian publishes its AMIs as public SSM parameters
 * (https://wiki.debian.org/Cloud/AmazonEC2Image/Bookworm), so the image resolves at launch with no data source.
 *
 * Hardening as the relay: IMDSv2 only, no public address, no SSH key or port (Session Manager only, through VPC
 * endpoints), KMS-encrypted volumes, least-privilege role; Debian security updates daily (unattended-upgrades) and
 * every instance replaced by a fresh image within a week (max_instance_lifetime, a rolling replacement).
 */
import { Construct } from "constructs";
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { AutoscalingPolicy } from "@cdktf/provider-aws/lib/autoscaling-policy";
import type { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { acceptFinding } from "./accepted-findings";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { stringify } from "yaml";
import { shortName } from "../core/aws-names";
import { DomainPattern, normalizeDomainPatterns, parseDomainPattern } from "../catalog/domains";
import { PROXY_PORT, proxyEndpoints } from "./breakout-plan";
import { DEFAULT_GUIDANCE, ENGINE_CHECK_FAILED, ENGINE_LAYOUT, engineLimits, ICAP_SERVICE, renderCicapConfig, renderClamdConfig, renderEngineCheckScript, renderEngineDownPage, renderEngineUnits, renderFreshclamConfig, renderTooBigPage, renderUnscannablePage, renderVirusFoundPage, UNSCANNABLE_PAGE } from "./file-sanitization";
import { fleetInstanceProfile, fleetVolumeKey, hardenedLaunchTemplate } from "./instance-fleet";
import { SQUID_FILE_DESCRIPTORS } from "./proxy-capacity";
import type { LogDestinations } from "./log-archive";

/** A header the proxy adds on some hosts (values are checked against the vendor's grammar before they get here). */
export interface ProxyHeaderRule {
  /** short ASCII label for ACL names, e.g. the SaaS id */
  readonly label: string;
  readonly name: string;
  readonly value: string;
  readonly hosts: readonly DomainPattern[];
}

/** Where Squid's files are. Production values are the defaults; the loopback test moves them into a temp dir. */
export interface SquidLayout {
  readonly port: number;
  /** the port CONNECT may reach (HTTPS) */
  readonly tlsPort: number;
  /** PEM with the CA certificate and its key */
  readonly caFile: string;
  readonly certDb: string;
  readonly certgen: string;
  readonly logDir: string;
  readonly pidFile: string;
  readonly coredumpDir: string;
  /** Squid's error pages: Debian's templates with alpha-prime's block pages over them */
  readonly errorDir: string;
  /** extra CA to trust for origin servers (the live test's stand-ins); production trusts the system's CAs only */
  readonly upstreamCaFile?: string;
  /** the helper that compares a bumped request's host with its connection's TLS SNI (renderSniCheckHelper) */
  readonly sniCheckHelper: string;
}

export const SQUID_LAYOUT: SquidLayout = {
  port: PROXY_PORT,
  tlsPort: 443,
  caFile: "/etc/squid/alpha-prime/interception-ca.pem",
  certDb: "/var/lib/squid/ssl_db",
  // Debian's path of Squid's certificate generator helper (package squid-openssl)
  certgen: "/usr/lib/squid/security_file_certgen",
  logDir: "/var/log/squid",
  pidFile: "/run/squid.pid",
  coredumpDir: "/var/spool/squid",
  errorDir: "/etc/alpha-prime/squid-errors",
  sniCheckHelper: "/usr/local/lib/alpha-prime/sni-is-host",
};

/**
 * Squid's external ACL helper for domain fronting: one line per lookup, "<TLS SNI> <request host>" (Squid's
 * %ssl::>sni and %>rd, URL-escaped), answered OK when they name the same host and ERR otherwise, also when the
 * client sent no SNI ("-"). Case and a trailing dot do not count; a port never appears in either.
 */
export function renderSniCheckHelper(): string {
  return [
    "#!/bin/sh",
    "# sni-is-host: generated by alpha-prime. Squid external_acl_type helper (see squid.conf): is the request for the",
    "# host the client named in its TLS handshake?",
    "while read -r sni host rest; do",
    "  s=$(printf '%s' \"$sni\" | tr '[:upper:]' '[:lower:]'); s=${s%.}",
    "  h=$(printf '%s' \"$host\" | tr '[:upper:]' '[:lower:]'); h=${h%.}",
    '  if [ "$s" != "-" ] && [ -n "$s" ] && [ "$s" = "$h" ]; then echo OK; else echo ERR; fi',
    "done",
    "",
  ].join("\n");
}

/** 無害化 on the proxy: which responses go to the engine, and what happens to files over the size limit. */
export interface ProxySanitization {
  /** file-download hosts (normalized): bumped, and their responses adapted */
  readonly hosts: readonly DomainPattern[];
  /** icap:// or icaps:// URL of the RESPMOD service (the built-in engine is on the loopback) */
  readonly icapUrl: string;
  /** label in the verdict log: "clamav" or "external" */
  readonly engine: string;
  readonly maxFileSizeBytes: number;
  /** "block" (default): larger files never reach PCs; "pass": they pass unscanned (a reasoned choice in the YAML) */
  readonly largerFiles: "block" | "pass";
}

export interface SquidConfigOptions {
  readonly municipality: string;
  /** who may use the proxy (LGWAN segments, Client VPN subnets) */
  readonly clientCidrs: readonly string[];
  /** every allowlisted name (normalized): spliced, or bumped when a header rule names it */
  readonly allowedDomains: readonly DomainPattern[];
  readonly headerRules: readonly ProxyHeaderRule[];
  readonly sanitization?: ProxySanitization;
  readonly layout?: SquidLayout;
  /** Squid SMP workers: one per core of the instance type (the bandwidth tier says). @default 1 */
  readonly workers?: number;
}

/** Squid dstdomain / ssl::server_name notation: ".example.jp" is the name and its subdomains (as our patterns). */
function squidDomain(p: DomainPattern): string {
  return p.includeSubdomains ? `.${p.name}` : p.name;
}

/**
 * The SMP part of squid.conf (Squid 5.7). With workers > 1 Squid runs a coordinator and one process per worker;
 * each worker does all a single Squid does. What that means for this configuration
 * (https://wiki.squid-cache.org/Features/SmpScale, squid.conf.documented of 5.7):
 * - http_port: shared; the kernel hands each new connection to one worker, which keeps it.
 * - the certificate database (sslcrtd_program -s): shared on disk; security_file_certgen locks it
 *   (certificate_db.cc), and each worker starts its own helpers (sslcrtd_children is per worker).
 * - access_log / icap_log with the daemon module: shared files, appended line by line (see buffered_logs).
 * - cache_log: shared, each line prefixed with the kid's number; pid_filename: the master's only.
 * - ICAP: each worker keeps its own connections to c-icap and its own failure counters.
 * - no cache_dir, and nothing is cached: cache_mem 0 keeps Squid from making a shared memory cache it would
 *   never use (the wiki's rule for "if you do not want to cache").
 * - file descriptors are per worker; 65536 is Debian's compile-time maximum (--with-filedescriptors=65536).
 * Workers need /run/squid (Debian's unit: RuntimeDirectory=squid) for their IPC sockets and /dev/shm.
 */
function smpLines(workers: number): string[] {
  return [
    `# SMP: ${workers} worker(s), one per core of the instance type; the certificate database and the logs are shared.`,
    `workers ${workers}`,
    "cache_mem 0 MB",
    `max_filedescriptors ${SQUID_FILE_DESCRIPTORS}`,
  ];
}

/** Squid refuses a directive line with no values, so empty lists never reach it (callers check). */
function aclLines(name: string, type: string, values: readonly string[], flags = ""): string[] {
  const out: string[] = [];
  for (let i = 0; i < values.length; i += 8) out.push(`acl ${name} ${type}${flags ? ` ${flags}` : ""} ${values.slice(i, i + 8).join(" ")}`);
  return out;
}

/** squid.conf of the tenant-restriction proxy. Every value in it comes from validated config (no free text). */
export function renderSquidConfig(o: SquidConfigOptions): string {
  const l = o.layout ?? SQUID_LAYOUT;
  if (o.clientCidrs.length === 0) throw new Error("the proxy needs at least one client range");
  if (o.allowedDomains.length === 0) throw new Error("the proxy needs an allowlist");
  if (o.headerRules.length === 0 && !o.sanitization?.hosts.length) throw new Error("the proxy exists for header rules or sanitization; none were given");
  const allowed = o.allowedDomains.map(squidDomain);
  // one normalized list: Squid warns about a host listed beside a wildcard that covers it
  const bumped = normalizeDomainPatterns([...o.headerRules.flatMap((r) => r.hosts), ...(o.sanitization?.hosts ?? [])]).map(squidDomain);
  const headerNames = [...new Set(o.headerRules.map((r) => r.name))];
  const workers = o.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`Squid workers must be a whole number of at least 1, got ${workers}`);
  const lines = [
    `# squid.conf for ${o.municipality}: generated by alpha-prime from the SaaS catalog and the env file. Do not edit on the instance.`,
    "# Tenant restriction (テナント制限): bump only the hosts that need a tenant header, splice every other allowlisted",
    "# host untouched, terminate everything else.",
    "",
    ...smpLines(workers),
    "",
    `http_port ${l.port} ssl-bump tls-cert=${l.caFile} generate-host-certificates=on dynamic_cert_mem_cache_size=16MB tls-options=NO_SSLv3,NO_TLSv1,NO_TLSv1_1`,
    `sslcrtd_program ${l.certgen} -s ${l.certDb} -M 16MB`,
    // helpers are per worker (not shared): about 16 for the whole instance, at least 4 per worker
    workers === 1 ? "sslcrtd_children 16 startup=2 idle=1" : `sslcrtd_children ${Math.max(4, Math.ceil(16 / workers))} startup=1 idle=1`,
    // upstream certificates are verified against the system's trusted CAs; a failure is never overridden.
    // TLS 1.2 or later on both sides: said with options= / tls-options=, because Squid 5.7's min-version= and
    // tls-min-version= log "Unknown TLS option" (at parse and on bumped connections; seen in the tests).
    `tls_outgoing_options options=NO_SSLv3,NO_TLSv1,NO_TLSv1_1${l.upstreamCaFile ? ` cafile=${l.upstreamCaFile}` : ""}`,
    "sslproxy_cert_error deny all",
    "",
    "acl to_tls_port port " + l.tlsPort,
    "acl web_ports port 80 " + l.tlsPort,
    "acl CONNECT method CONNECT",
    "acl step1 at_step SslBump1",
    ...aclLines("clients", "src", o.clientCidrs),
    // -n: never look up the name of an IP address; CONNECT to a bare address is refused
    ...aclLines("allowlisted", "dstdomain", allowed, "-n"),
    ...aclLines("allowlisted_sni", "ssl::server_name", allowed),
    ...aclLines("needs_header_sni", "ssl::server_name", bumped),
    "",
    "http_access deny !clients",
    "http_access deny CONNECT !to_tls_port",
    "http_access deny !web_ports",
    // Domain fronting: inside a bumped connection a request could name another host than the one the client's TLS
    // handshake (SNI) named, and Squid would send it over the connection it opened for the first host. Squid
    // refuses a host the server's certificate does not cover; this refuses any other host too, so a header, a
    // scan or an allowlist decision made for one name cannot be spent on another. Only bumped requests (and
    // https:// URLs sent to the proxy in the clear, which have no SNI) are https; spliced ones are never seen.
    `external_acl_type sni_is_host ttl=3600 negative_ttl=3600 children-max=5 children-startup=1 %ssl::>sni %>rd ${l.sniCheckHelper}`,
    "acl https_request proto HTTPS",
    "acl sni_is_host external sni_is_host",
    "http_access deny https_request !sni_is_host",
    // CONNECT host, and (after a bump) every decrypted request's own Host, must be allowlisted
    "http_access allow allowlisted",
    "http_access deny all",
    "",
    "ssl_bump peek step1",
    "ssl_bump bump needs_header_sni",
    "ssl_bump splice allowlisted_sni",
    "ssl_bump terminate all",
    "",
    ...(headerNames.length ? ["# Tenant headers: any copy the client sent is removed, then the configured value is added on the vendor's hosts."] : []),
    ...headerNames.map((h) => `request_header_access ${h} deny all`),
  ];
  o.headerRules.forEach((r, i) => {
    const acl = `tenant_${r.label.replace(/[^A-Za-z0-9]/g, "_")}_${i}`;
    lines.push(...aclLines(acl, "dstdomain", r.hosts.map(squidDomain), "-n"));
    lines.push(`request_header_add ${r.name} "${r.value}" ${acl}`);
  });
  const san = o.sanitization;
  if (san?.hosts.length) {
    const limits = engineLimits(san.maxFileSizeBytes);
    lines.push(
      "",
      "# 無害化 (file sanitization): responses from file-download hosts go to the engine (ICAP RESPMOD) before any byte",
      "# reaches the PC. Fail closed: bypass=0 and no suspension, so an unreachable engine blocks the download.",
      "icap_enable on",
      "icap_send_client_ip on",
      // one ICAP connection serves many downloads; a failed idle connection is retried only before any byte was sent
      "icap_persistent_connections on",
      // No preview: the engine answers after the whole file anyway, and while Squid waits for a preview's 100
      // Continue it stops draining the file into the engine. With Debian 12's Squid (5.7, Bug 5352, fixed upstream in
      // 6.9 by https://github.com/squid-cache/squid/pull/1777) a full buffer then stalls the download for good; the
      // delay pool below gets it going again, and without preview that is rarely needed (measured: 1 in 20 one-MB
      // downloads paused instead of 16 in 20).
      "icap_preview_enable off",
      // 206 lets an engine answer "use the original from byte N on": bytes that would reach the PC unscanned
      "icap_206_enable off",
      "icap_service_failure_limit -1",
      // longer than clamd's MaxScanTime (two minutes), so a slow scan ends as clamd's block, not as a Squid timeout
      "icap_io_timeout 180 seconds",
      `icap_service sanitize respmod_precache ${san.icapUrl} bypass=0`,
      ...aclLines("sanitized_hosts", "dstdomain", san.hosts.map(squidDomain), "-n"),
      "adaptation_access sanitize allow sanitized_hosts",
      "adaptation_access sanitize deny all",
      "",
      "# Whole files only: a client asking for ranges could fetch a file in pieces that are each clean, so the range is",
      "# not forwarded (the origin sends the whole file, which is scanned and delivered whole), and a partial reply",
      "# (206, also multipart/byteranges) that comes anyway is refused.",
      "request_header_access Range deny sanitized_hosts",
      "request_header_access Request-Range deny sanitized_hosts",
      "request_header_access If-Range deny sanitized_hosts",
      "reply_header_access Accept-Ranges deny sanitized_hosts",
      "acl partial_content http_status 206",
      "http_reply_access deny sanitized_hosts partial_content",
      `deny_info ${UNSCANNABLE_PAGE} partial_content`,
      "",
      "# Content codings: gzip only. clamd unpacks gzip itself, with its size limits (over them is a block). c-icap",
      "# unpacks deflate and br before clamd, but a body that unpacks past its limit is passed on unscanned, and a",
      "# coding nothing unpacks (zstd, …) hides the file from the engine; so only gzip is asked for, and a reply in",
      "# any other coding is refused.",
      "request_header_access Accept-Encoding deny sanitized_hosts",
      'request_header_add Accept-Encoding "gzip" sanitized_hosts',
      "acl content_coded rep_header Content-Encoding .",
      "acl scannable_coding rep_header Content-Encoding -i ^(x-)?gzip$ ^identity$",
      "http_reply_access deny sanitized_hosts !scannable_coding content_coded",
      `deny_info ${UNSCANNABLE_PAGE} content_coded`,
      "http_reply_access allow all",
      "",
      "# Squid 5.7 (Debian 12) can leave a download waiting forever when its buffer towards the engine fills while the",
      "# engine still reads (Bug 5352, see above): the stalled read waits for a wake-up that only the delay pools give.",
      "# This pool limits nothing in practice (200 MB/s per worker, above what one core scans); it exists so that",
      "# every sanitized download is woken at least once a second (and whenever another one reads). Kept below 2^31",
      "# with headroom because Squid adds the rate times the seconds since its last update into a 32-bit bucket.",
      "delay_pools 1",
      "delay_class 1 1",
      "delay_parameters 1 200000000/200000000",
      "delay_access 1 allow sanitized_hosts",
      "delay_access 1 deny all",
      "",
      ...(san.largerFiles === "block"
        ? [`reply_body_max_size ${limits.squidReplyBodyMax} bytes sanitized_hosts`]
        : ["# larger files that declare their size pass unscanned (breakout.sanitization.largerFiles: pass, with a reason in the YAML)"]),
      `error_directory ${l.errorDir}`,
      // one line per sanitized transaction: the verdict as the engine answered it (also for external engines)
      `logformat alpha_prime_verdict %ts.%03tu %>a %>rd %ru file=%{Content-Disposition}<h reply_bytes=%<st engine=${san.engine} outcome=%icap::to icap_status=%icap::Hs verdict=%{X-Infection-Found}icap::<h`,
      `icap_log daemon:${l.logDir}/sanitization.log alpha_prime_verdict`,
    );
  }
  lines.push(
    "",
    "# Slack's desktop app and other web apps keep WebSocket connections on bumped hosts. Squid matches protocol",
    "# names case-sensitively, and browsers send \"websocket\" (RFC 6455), so both spellings are allowed.",
    "http_upgrade_request_protocols websocket allow all",
    "http_upgrade_request_protocols WebSocket allow all",
    "",
    "# Nothing of the municipality's network leaves in headers; nothing is cached.",
    "forwarded_for delete",
    "via off",
    "cache deny all",
    "",
    "# One line per request: client, verdict, method, URL, SNI and what the proxy did with the TLS connection.",
    "logformat alpha_prime %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %ssl::>sni %ssl::bump_mode %Sh/%<a %mt",
    // Every worker has its own log daemon on the same file: it opens it for appending and, with buffered_logs off
    // (the default, said here because SMP relies on it), writes each line at once, so lines from workers
    // interleave whole (log_file_daemon.cc: fopen "a", fflush per line when told "b0").
    "buffered_logs off",
    `access_log daemon:${l.logDir}/access.log logformat=alpha_prime`,
    `cache_log ${l.logDir}/cache.log`,
    `pid_filename ${l.pidFile}`,
    `coredump_dir ${l.coredumpDir}`,
    "shutdown_lifetime 5 seconds",
    "",
  );
  return lines.join("\n");
}

/** Where the agents' Debian packages are (AWS's regional buckets, reached through the S3 gateway endpoint). */
function agentPackages(region: string): { ssm: string; cloudwatch: string; buckets: string[] } {
  return {
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/agent-install-deb.html
    ssm: `https://s3.${region}.amazonaws.com/amazon-ssm-${region}/latest/debian_arm64/amazon-ssm-agent.deb`,
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/download-CloudWatch-Agent-on-EC2-Instance-commandline-first.html
    cloudwatch: `https://amazoncloudwatch-agent-${region}.s3.${region}.amazonaws.com/debian/arm64/latest/amazon-cloudwatch-agent.deb`,
    buckets: [`amazon-ssm-${region}`, `amazoncloudwatch-agent-${region}`],
  };
}

/** Names the proxy instances resolve for themselves (AWS endpoints, agent buckets): the DNS firewall must allow them. */
export function proxyDnsNames(region: string): string[] {
  return [...INTERFACE_ENDPOINTS.map((s) => `${s}.${region}.amazonaws.com`), `s3.${region}.amazonaws.com`, `amazoncloudwatch-agent-${region}.s3.${region}.amazonaws.com`];
}

/** Debian's mirrors for packages and security updates, reachable from the proxy subnets only. */
export const DEBIAN_MIRRORS: readonly DomainPattern[] = ["deb.debian.org", "cdn-aws.deb.debian.org", "security.debian.org"].map((d) => parseDomainPattern(d) as DomainPattern);

/** Debian 12 arm64, resolved by EC2 at launch from Debian's public SSM parameter (offline plans still work). */
export const DEBIAN12_ARM64_AMI = "resolve:ssm:/aws/service/debian/release/12/latest/arm64";

const INTERFACE_ENDPOINTS = ["ssm", "ssmmessages", "ec2messages", "logs", "secretsmanager"];
/** Endpoints another construct (the relay) may already have created in the VPC. */
const SHAREABLE_ENDPOINTS = ["ssm", "ssmmessages", "ec2messages", "logs"];

const CLOUDWATCH_AGENT_HOME = "/opt/aws/amazon-cloudwatch-agent"; // the agent's install path on the instance (AWS's layout)

export interface ProxyCloudConfigOptions {
  readonly squidConfig: string;
  readonly region: string;
  readonly caSecretArn: string;
  readonly logGroupName: string;
  /** 無害化: block pages always; the built-in engine (c-icap + clamd + freshclam) when `builtinEngine` */
  readonly sanitization?: { readonly builtinEngine: boolean; readonly maxFileSizeBytes: number; readonly guidance: string };
}

/** Where the signature-age reporter writes (one JSON line an hour; a metric filter turns it into a metric). */
export const SIGNATURE_AGE_LOG = "/var/log/alpha-prime/signature-age.log";

/** Hours since the newest ClamAV signatures were built (sigtool's build time of daily, else the file time). */
const SIGNATURE_AGE_SCRIPT = [
  "#!/bin/sh",
  "# Reports how old the newest ClamAV signatures are, for the signature-age alarm.",
  "set -u",
  `db=$(ls -t ${ENGINE_LAYOUT.clamavDatabaseDir}/daily.cld ${ENGINE_LAYOUT.clamavDatabaseDir}/daily.cvd 2>/dev/null | head -n 1)`,
  'if [ -z "$db" ]; then built=0; else',
  '  built=$(date -d "$(sigtool --info "$db" | sed -n "s/^Build time: //p")" +%s 2>/dev/null || stat -c %Y "$db")',
  "fi",
  'hours=$(( ($(date +%s) - built) / 3600 ))',
  `mkdir -p ${SIGNATURE_AGE_LOG.replace(/\/[^/]+$/, "")}`,
  `printf '{"metric":"signature_age_hours","value":%s,"database":"%s"}\\n' "$hours" "\${db:-none}" >> ${SIGNATURE_AGE_LOG}`,
  "",
].join("\n");

/** Where the memory reporter writes (one JSON line a minute; a metric filter turns it into the memory metric). */
export const MEMORY_LOG = "/var/log/alpha-prime/memory.log";

/**
 * Memory in use, as a share of the instance's memory (MemTotal − MemAvailable, /proc/meminfo), for the memory alarm.
 * A log line rather than the CloudWatch agent's own metrics: the agent already ships the proxy's logs, while
 * publishing metrics would need cloudwatch:PutMetricData and one more interface endpoint (monitoring) per zone.
 */
const MEMORY_SCRIPT = [
  "#!/bin/sh",
  "# Reports the share of memory in use, for the proxy's memory alarm.",
  "set -u",
  `mkdir -p ${MEMORY_LOG.replace(/\/[^/]+$/, "")}`,
  // String.raw: awk must see \" and \n as they are written here
  String.raw`awk '/^MemTotal:/ {t=$2} /^MemAvailable:/ {a=$2} END {printf "{\"metric\":\"memory_used_percent\",\"value\":%.1f}\n", (t-a)*100/t}' /proc/meminfo >> ` + MEMORY_LOG,
  "",
].join("\n");

/**
 * The cloud-init user data for Debian 12: packages, the CA from Secrets Manager (never printed: cloud-init's
 * output log would keep it), Squid's certificate database, unattended security updates, and the agents.
 */
export function renderProxyCloudConfig(o: ProxyCloudConfigOptions): string {
  const agents = agentPackages(o.region);
  const agent = {
    agent: { run_as_user: "root" },
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            { file_path: `${SQUID_LAYOUT.logDir}/access.log`, log_group_name: o.logGroupName, log_stream_name: "{instance_id}/access" },
            { file_path: `${SQUID_LAYOUT.logDir}/cache.log`, log_group_name: o.logGroupName, log_stream_name: "{instance_id}/squid" },
            { file_path: "/var/log/cloud-init-output.log", log_group_name: o.logGroupName, log_stream_name: "{instance_id}/cloud-init" },
            { file_path: MEMORY_LOG, log_group_name: o.logGroupName, log_stream_name: "{instance_id}/memory" },
            ...(o.sanitization
              ? [{ file_path: `${SQUID_LAYOUT.logDir}/sanitization.log`, log_group_name: o.logGroupName, log_stream_name: "{instance_id}/sanitization" }]
              : []),
            ...(o.sanitization?.builtinEngine
              ? [
                  { file_path: `${ENGINE_LAYOUT.cicapLogDir}/verdicts.log`, log_group_name: o.logGroupName, log_stream_name: "{instance_id}/verdicts" },
                  { file_path: `${ENGINE_LAYOUT.clamavLogDir}/clamd.log`, log_group_name: o.logGroupName, log_stream_name: "{instance_id}/clamd" },
                  { file_path: `${ENGINE_LAYOUT.clamavLogDir}/freshclam.log`, log_group_name: o.logGroupName, log_stream_name: "{instance_id}/freshclam" },
                  { file_path: SIGNATURE_AGE_LOG, log_group_name: o.logGroupName, log_stream_name: "{instance_id}/signature-age" },
                  { file_path: ENGINE_LAYOUT.engineCheckLog, log_group_name: o.logGroupName, log_stream_name: "{instance_id}/engine-check" },
                ]
              : []),
          ],
        },
      },
    },
  };
  const fetchCa = [
    "#!/bin/sh",
    "# Reads the interception CA (PEM certificate and key) from Secrets Manager into a file only Squid can read.",
    "set -eu",
    "umask 077",
    `install -d -o root -g proxy -m 0750 ${SQUID_LAYOUT.caFile.replace(/\/[^/]+$/, "")}`,
    `tmp=$(mktemp ${SQUID_LAYOUT.caFile}.XXXXXX)`,
    `aws --region ${o.region} secretsmanager get-secret-value --secret-id '${o.caSecretArn}' --query SecretString --output text > "$tmp"`,
    'openssl x509 -noout -in "$tmp" && openssl pkey -noout -in "$tmp" || { echo "the interception CA secret must hold a PEM certificate and its key" >&2; rm -f "$tmp"; exit 1; }',
    'chgrp proxy "$tmp" && chmod 0640 "$tmp"',
    `mv "$tmp" ${SQUID_LAYOUT.caFile}`,
    "",
  ].join("\n");
  const installAgents = [
    "#!/bin/sh",
    "# Session Manager and CloudWatch agents: Debian does not package them; AWS publishes .deb files in regional buckets.",
    "set -eu",
    "cd \"$(mktemp -d)\"",
    `curl --fail --silent --show-error --proto '=https' -o amazon-ssm-agent.deb '${agents.ssm}'`,
    `curl --fail --silent --show-error --proto '=https' -o amazon-cloudwatch-agent.deb '${agents.cloudwatch}'`,
    "dpkg -i amazon-ssm-agent.deb amazon-cloudwatch-agent.deb",
    "systemctl enable --now amazon-ssm-agent",
    "",
  ].join("\n");
  const san = o.sanitization;
  const guidance = { guidance: san?.guidance ?? DEFAULT_GUIDANCE };
  const engineFiles = san?.builtinEngine
    ? [
        { path: "/etc/alpha-prime/c-icap.conf", owner: "root:root", permissions: "0644", content: renderCicapConfig({ maxFileSizeBytes: san.maxFileSizeBytes }) },
        { path: "/etc/alpha-prime/clamd.conf", owner: "root:root", permissions: "0644", content: renderClamdConfig({ maxFileSizeBytes: san.maxFileSizeBytes }) },
        { path: "/etc/alpha-prime/freshclam.conf", owner: "root:root", permissions: "0644", content: renderFreshclamConfig() },
        { path: `${ENGINE_LAYOUT.cicapTemplateDir}/virus_scan/en/VIRUS_FOUND`, owner: "root:root", permissions: "0644", content: renderVirusFoundPage(guidance) },
        { path: ENGINE_LAYOUT.engineCheckProgram, owner: "root:root", permissions: "0755", content: renderEngineCheckScript() },
        { path: "/usr/local/sbin/alpha-prime-signature-age", owner: "root:root", permissions: "0755", content: SIGNATURE_AGE_SCRIPT },
        { path: "/etc/systemd/system/alpha-prime-signature-age.service", owner: "root:root", permissions: "0644", content: "[Unit]\nDescription=Report the age of the ClamAV signatures\n\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/alpha-prime-signature-age\n" },
        { path: "/etc/systemd/system/alpha-prime-signature-age.timer", owner: "root:root", permissions: "0644", content: "[Unit]\nDescription=Report the age of the ClamAV signatures every hour\n\n[Timer]\nOnBootSec=10min\nOnUnitActiveSec=1h\n\n[Install]\nWantedBy=timers.target\n" },
        // written after the packages are installed (cloud-init's write-files-deferred, before runcmd): with the gates in
        // place during the install, the packages' own start of c-icap and Squid would wait for an engine not yet set up
        ...Object.entries(renderEngineUnits()).map(([rel, content]) => ({ path: `/etc/systemd/system/${rel}`, owner: "root:root", permissions: "0644", content, defer: true })),
      ]
    : [];
  const pageFiles = san
    ? [
        { path: `${SQUID_LAYOUT.errorDir}/ERR_ICAP_FAILURE`, owner: "root:root", permissions: "0644", content: renderEngineDownPage(guidance, san.maxFileSizeBytes) },
        { path: `${SQUID_LAYOUT.errorDir}/ERR_TOO_BIG`, owner: "root:root", permissions: "0644", content: renderTooBigPage(guidance, san.maxFileSizeBytes) },
        { path: `${SQUID_LAYOUT.errorDir}/${UNSCANNABLE_PAGE}`, owner: "root:root", permissions: "0644", content: renderUnscannablePage(guidance) },
      ]
    : [];
  const engineCommands = san?.builtinEngine
    ? [
        ["install", "-m", "0644", "/etc/alpha-prime/c-icap.conf", "/etc/c-icap/c-icap.conf"],
        ["install", "-m", "0644", "/etc/alpha-prime/clamd.conf", "/etc/clamav/clamd.conf"],
        ["install", "-m", "0644", "/etc/alpha-prime/freshclam.conf", "/etc/clamav/freshclam.conf"],
        ["install", "-d", "-o", ENGINE_LAYOUT.cicapUser, "-g", ENGINE_LAYOUT.cicapUser, "-m", "0750", ENGINE_LAYOUT.cicapTmpDir],
        // the engine's ordering and gates (renderEngineUnits), written after the packages were installed
        ["systemctl", "daemon-reload"],
        // the first signatures before clamd starts (Debian's unit waits for them); then the update service takes over
        ["systemctl", "stop", "clamav-freshclam"],
        ["sh", "-c", "for i in 1 2 3 4 5; do freshclam --quiet && break; sleep 30; done"],
        ["systemctl", "enable", "--now", "clamav-freshclam", "clamav-daemon", "alpha-prime-signature-age.timer"],
        // c-icap (re)starts through its gate: only once clamd blocks EICAR, and only if c-icap then blocks it too
        ["systemctl", "enable", "c-icap"],
        ["systemctl", "restart", "clamav-daemon", "c-icap"],
        ["systemctl", "enable", "--now", "alpha-prime-engine-watch.timer"],
      ]
    : [];
  const config = {
    package_update: true,
    package_upgrade: true,
    // clamdscan: the engine check asks clamd for a real scan before c-icap starts
    packages: ["squid-openssl", "awscli", "curl", "unattended-upgrades", ...(san?.builtinEngine ? ["c-icap", "libc-icap-mod-virus-scan", "clamav-daemon", "clamav-freshclam", "clamdscan"] : [])],
    write_files: [
      ...engineFiles,
      ...pageFiles,
      { path: "/etc/alpha-prime/squid.conf", owner: "root:root", permissions: "0644", content: o.squidConfig },
      { path: SQUID_LAYOUT.sniCheckHelper, owner: "root:root", permissions: "0755", content: renderSniCheckHelper() },
      { path: "/usr/local/sbin/alpha-prime-fetch-ca", owner: "root:root", permissions: "0755", content: fetchCa },
      { path: "/usr/local/sbin/alpha-prime-install-agents", owner: "root:root", permissions: "0755", content: installAgents },
      { path: `${CLOUDWATCH_AGENT_HOME}/etc/alpha-prime.json`, owner: "root:root", permissions: "0644", content: `${JSON.stringify(agent, null, 2)}\n` },
      { path: "/usr/local/sbin/alpha-prime-memory", owner: "root:root", permissions: "0755", content: MEMORY_SCRIPT },
      { path: "/etc/systemd/system/alpha-prime-memory.service", owner: "root:root", permissions: "0644", content: "[Unit]\nDescription=Report the share of memory in use\n\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/alpha-prime-memory\n" },
      { path: "/etc/systemd/system/alpha-prime-memory.timer", owner: "root:root", permissions: "0644", content: "[Unit]\nDescription=Report the share of memory in use every minute\n\n[Timer]\nOnBootSec=1min\nOnUnitActiveSec=1min\nAccuracySec=5s\n\n[Install]\nWantedBy=timers.target\n" },
      // security updates every day, without a reboot (instances are replaced within a week anyway)
      { path: "/etc/apt/apt.conf.d/20auto-upgrades", owner: "root:root", permissions: "0644", content: 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' },
    ],
    runcmd: [
      ["/usr/local/sbin/alpha-prime-install-agents"],
      ["/usr/local/sbin/alpha-prime-fetch-ca"],
      ...engineCommands,
      // Squid needs a full set of error templates: Debian's, under alpha-prime's block pages (cp -n keeps ours)
      ...(san ? [["cp", "-rn", "/usr/share/squid/errors/templates/.", SQUID_LAYOUT.errorDir]] : []),
      ["install", "-m", "0644", "/etc/alpha-prime/squid.conf", "/etc/squid/squid.conf"],
      ["rm", "-rf", SQUID_LAYOUT.certDb],
      [SQUID_LAYOUT.certgen, "-c", "-s", SQUID_LAYOUT.certDb, "-M", "16MB"],
      ["chown", "-R", "proxy:proxy", SQUID_LAYOUT.certDb],
      ["squid", "-k", "parse", "-f", "/etc/squid/squid.conf"],
      // with the built-in engine, Squid's unit waits until the engine blocks EICAR (renderEngineUnits)
      ["systemctl", "restart", "squid"],
      ["systemctl", "enable", "--now", "alpha-prime-memory.timer"],
      [`${CLOUDWATCH_AGENT_HOME}/bin/amazon-cloudwatch-agent-ctl`, "-a", "fetch-config", "-m", "ec2", "-s", "-c", `file:${CLOUDWATCH_AGENT_HOME}/etc/alpha-prime.json`],
    ],
  };
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}

export interface TenantProxyProps {
  readonly namePrefix: string;
  readonly accountId: string;
  readonly region: string;
  readonly vpcId: string;
  /** the proxy subnets, one per AZ (instances and the load balancer) */
  readonly subnetIds: readonly string[];
  /** their CIDRs: the load balancer takes a fixed address in each */
  readonly subnetCidrs: readonly string[];
  /** their route tables (for the S3 gateway endpoint of the agent packages) */
  readonly routeTableIds: readonly string[];
  /** subnets for interface endpoints the proxy creates (the private tier) */
  readonly endpointSubnetIds: readonly string[];
  /** LGWAN segments: who may use the proxy */
  readonly lgwanCidrs: readonly string[];
  /** Client VPN: its security group and the subnets its clients are NATed into. @default no remote access */
  readonly remoteAccess?: { readonly securityGroupId: string; readonly sourceCidrs: readonly string[] };
  readonly allowedDomains: readonly DomainPattern[];
  readonly headerRules: readonly ProxyHeaderRule[];
  /** 無害化. @default none */
  readonly sanitization?: TenantProxySanitization;
  readonly caSecretArn: string;
  /** the secret's customer-managed key, if any */
  readonly caKmsKeyArn?: string;
  /** Session Manager and Logs endpoints already in the VPC (the relay's): their security group. @default created here */
  readonly sharedEndpointSecurityGroupId?: string;
  /** from the bandwidth tier. @default m7g.large (the 1g tier's: not burstable, memory for ClamAV's full database) */
  readonly instanceType?: string;
  /** the Auto Scaling group's floor per AZ. @default 1 */
  readonly instancesPerAz?: number;
  /** scaling on CPU adds instances up to this many per AZ. @default twice instancesPerAz */
  readonly maxInstancesPerAz?: number;
  /** Squid SMP workers per instance (one per core). @default 1 */
  readonly squidWorkers?: number;
  readonly logs: LogDestinations;
  readonly logGroupName: string;
}

/** 無害化 as the proxy construct takes it. */
export interface TenantProxySanitization {
  readonly hosts: readonly DomainPattern[];
  /** clamav: c-icap + clamd on the instances; external: an ICAP/ICAPS service of the municipality's */
  readonly engine: "clamav" | "external";
  readonly externalIcapUrl?: string;
  /** the external engine's address space: an on-prem CIDR, or undefined for an internet name */
  readonly externalEngineCidr?: string;
  readonly maxFileSizeBytes: number;
  readonly largerFiles: "block" | "pass";
  /** what staff should do next, on the block pages. @default DEFAULT_GUIDANCE */
  readonly guidance?: string;
}

/** What the capacity alarms watch (Operations.alarmProxyCapacity). */
export interface ProxyCapacityMetrics {
  readonly autoScalingGroupName: string;
  readonly loadBalancerArnSuffix: string;
  /** the memory reporter's metric (namespace alpha-prime/<namePrefix>) */
  readonly namespace: string;
  readonly memoryUsedPercent: string;
}

/** Average CPU the Auto Scaling group keeps its instances at by adding or removing instances (target tracking). */
export const PROXY_CPU_TARGET_PERCENT = 50;

/** Custom metrics the proxy's logs feed (namespace alpha-prime/<namePrefix>), for the sanitization alarms. */
export interface SanitizationMetrics {
  readonly namespace: string;
  /** downloads the engine blocked (an X-Infection-Found answer) */
  readonly blockedDownloads: string;
  /** ICAP transactions that failed (engine unreachable, timeouts): the downloads were blocked */
  readonly engineErrors: string;
  /** hours since the newest signatures were built (built-in engine only) */
  readonly signatureAgeHours?: string;
}

export { proxyEndpoints } from "./breakout-plan";
/** Every instance is replaced by a freshly launched one (newest Debian image) within this many seconds. */
export const MAX_INSTANCE_LIFETIME_SECONDS = 7 * 24 * 3600;

export class TenantProxy extends Construct {
  /** "address:port" of the load balancer in each AZ: what the PAC file names */
  readonly proxyAddresses: string[];
  readonly securityGroupId: string;
  readonly loadBalancerArnSuffix: string;
  readonly targetGroupArnSuffix: string;
  readonly autoScalingGroupName: string;
  /** the fleet's floor: instances per AZ × AZs */
  readonly desiredInstances: number;
  /** the most instances scaling may run */
  readonly maxInstances: number;
  readonly capacityMetrics: ProxyCapacityMetrics;
  readonly squidConfig: string;
  readonly userData: string;
  /** set when sanitization is on */
  readonly sanitizationMetrics?: SanitizationMetrics;

  constructor(scope: Construct, id: string, props: TenantProxyProps) {
    super(scope, id);
    if (props.subnetIds.length !== props.subnetCidrs.length) throw new Error("subnetIds and subnetCidrs must match");
    const name = (s: string) => `${props.namePrefix}-${s}`;
    const port = SQUID_LAYOUT.port;
    const perAz = props.instancesPerAz ?? 1;
    this.desiredInstances = perAz * props.subnetIds.length;
    this.maxInstances = (props.maxInstancesPerAz ?? 2 * perAz) * props.subnetIds.length;
    if (this.maxInstances < this.desiredInstances) throw new Error(`the proxy's maximum (${props.maxInstancesPerAz} per AZ) is under its floor (${perAz} per AZ)`);
    this.proxyAddresses = proxyEndpoints(props.subnetCidrs);
    const lbAddresses = this.proxyAddresses.map((a) => a.split(":")[0]);

    const lbSg = new SecurityGroup(this, "LoadBalancerSecurityGroup", { name: name("proxy-nlb"), description: "Tenant-restriction proxy load balancer: the proxy port from LGWAN and remote-access clients", vpcId: props.vpcId, ingress: [], egress: [] });
    const sg = new SecurityGroup(this, "InstanceSecurityGroup", { name: name("proxy"), description: "Proxy instances: the proxy port from the load balancer; out to HTTPS/HTTP (the firewall restricts names) and AWS endpoints", vpcId: props.vpcId, ingress: [], egress: [] });
    this.securityGroupId = sg.id;
    props.lgwanCidrs.forEach((cidr, i) => {
      new VpcSecurityGroupIngressRule(this, `Lb-Lgwan${i}`, { securityGroupId: lbSg.id, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: `proxy from LGWAN ${cidr}` });
    });
    if (props.remoteAccess) {
      new VpcSecurityGroupIngressRule(this, "Lb-RemoteAccess", { securityGroupId: lbSg.id, referencedSecurityGroupId: props.remoteAccess.securityGroupId, ipProtocol: "tcp", fromPort: port, toPort: port, description: "proxy from remote-access clients" });
    }
    new VpcSecurityGroupEgressRule(this, "Lb-ToInstances", { securityGroupId: lbSg.id, referencedSecurityGroupId: sg.id, ipProtocol: "tcp", fromPort: port, toPort: port, description: "to proxy instances (also health checks)" });
    new VpcSecurityGroupIngressRule(this, "Instance-FromLb", { securityGroupId: sg.id, referencedSecurityGroupId: lbSg.id, ipProtocol: "tcp", fromPort: port, toPort: port, description: "proxy port from the load balancer" });
    // Internet names have no fixed addresses: the firewall restricts them by TLS SNI / HTTP Host from these subnets.
    for (const p of [443, 80]) {
      const toInternet = new VpcSecurityGroupEgressRule(this, `Instance-ToInternet${p}`, { securityGroupId: sg.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: p, toPort: p, description: `${p === 443 ? "HTTPS" : "HTTP"} to allowlisted names (enforced by the firewall)` });
      acceptFinding(toInternet, "AP-SG-001", `The proxy reaches tenant-restricted SaaS and its OS mirrors by name on port ${p}, behind CDNs with changing addresses; Squid's allowlist and the firewall's PROXY_NET rules (TLS SNI, HTTP Host, default drop) hold it to those names.`);
    }

    // AWS services without the internet: interface endpoints (shared with the relay where it made them) and an S3
    // gateway endpoint on the proxy route tables limited to the agents' package buckets.
    const agents = agentPackages(props.region);
    const ownEndpointSg = new SecurityGroup(this, "EndpointSecurityGroup", { name: name("proxy-endpoints"), description: "Interface endpoints the proxy instances use: HTTPS from proxy instances", vpcId: props.vpcId, ingress: [], egress: [] });
    const endpoints = props.sharedEndpointSecurityGroupId ? INTERFACE_ENDPOINTS.filter((s) => !SHAREABLE_ENDPOINTS.includes(s)) : INTERFACE_ENDPOINTS;
    for (const service of endpoints) {
      new VpcEndpoint(this, `Endpoint-${service}`, {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: "Interface",
        privateDnsEnabled: true,
        subnetIds: [...props.endpointSubnetIds],
        securityGroupIds: [ownEndpointSg.id],
        tags: { Name: name(`proxy-${service}`) },
      });
    }
    const endpointSgs = [ownEndpointSg.id, ...(props.sharedEndpointSecurityGroupId ? [props.sharedEndpointSecurityGroupId] : [])];
    endpointSgs.forEach((esg, i) => {
      new VpcSecurityGroupEgressRule(this, `Instance-ToEndpoints${i}`, { securityGroupId: sg.id, referencedSecurityGroupId: esg, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "AWS interface endpoints (Session Manager, Logs, Secrets Manager)" });
      new VpcSecurityGroupIngressRule(this, `Endpoints-FromInstances${i}`, { securityGroupId: esg, referencedSecurityGroupId: sg.id, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "HTTPS from proxy instances" });
    });
    const s3 = new VpcEndpoint(this, "Endpoint-s3", {
      vpcId: props.vpcId,
      serviceName: `com.amazonaws.${props.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: [...props.routeTableIds],
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "AgentPackagesOnly", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: agents.buckets.map((b) => `arn:aws:s3:::${b}/*`) }],
      }),
      tags: { Name: name("proxy-s3") },
    });
    new VpcSecurityGroupEgressRule(this, "Instance-ToS3AgentPackages", { securityGroupId: sg.id, prefixListId: s3.prefixListId, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "agent packages through the S3 gateway endpoint" });

    const logGroup = props.logs.logGroup("Proxy", props.logGroupName);
    const statements: Record<string, unknown>[] = [{ Sid: "ReadInterceptionCa", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: props.caSecretArn }];
    if (props.caKmsKeyArn) {
      // the key decrypts only this secret, only through Secrets Manager
      statements.push({
        Sid: "DecryptInterceptionCa",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: props.caKmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${props.region}.amazonaws.com`, "kms:EncryptionContext:SecretARN": props.caSecretArn } },
      });
    }
    const instanceProfileArn = fleetInstanceProfile(this, {
      name: name("proxy"),
      description: "Tenant-restriction proxy instances: Session Manager, their own logs and the interception CA, nothing else",
      accountId: props.accountId,
      region: props.region,
      logGroupName: props.logGroupName,
      policyId: "Permissions",
      policyName: "proxy",
      statements,
    });
    const volumeKey = fleetVolumeKey(this, { accountId: props.accountId, fleetName: name("proxy"), description: `${props.namePrefix}: encrypts proxy instance volumes (they hold the interception CA)` });

    const clientCidrs = [...props.lgwanCidrs, ...(props.remoteAccess?.sourceCidrs ?? [])];
    const san = props.sanitization;
    this.squidConfig = renderSquidConfig({
      municipality: props.namePrefix,
      clientCidrs,
      allowedDomains: props.allowedDomains,
      headerRules: props.headerRules,
      workers: props.squidWorkers,
      sanitization: san && {
        hosts: san.hosts,
        icapUrl: san.engine === "clamav" ? `icap://127.0.0.1:${ENGINE_LAYOUT.icapPort}/${ICAP_SERVICE}` : san.externalIcapUrl!,
        engine: san.engine,
        maxFileSizeBytes: san.maxFileSizeBytes,
        largerFiles: san.largerFiles,
      },
    });
    this.userData = renderProxyCloudConfig({
      squidConfig: this.squidConfig,
      region: props.region,
      caSecretArn: props.caSecretArn,
      logGroupName: props.logGroupName,
      sanitization: san && { builtinEngine: san.engine === "clamav", maxFileSizeBytes: san.maxFileSizeBytes, guidance: san.guidance ?? DEFAULT_GUIDANCE },
    });
    if (san?.engine === "external") {
      const m = /^icaps?:\/\/([^:/]+):(\d+)\//.exec(san.externalIcapUrl ?? "");
      if (!m) throw new Error(`external sanitization engine needs an icap:// or icaps:// URL, got '${san.externalIcapUrl}'`);
      const toEngine = new VpcSecurityGroupEgressRule(this, "Instance-ToSanitizationEngine", {
        securityGroupId: sg.id,
        // an on-prem engine by address; an internet engine by name, restricted by the firewall's TLS SNI rule
        cidrIpv4: san.externalEngineCidr ?? "0.0.0.0/0",
        ipProtocol: "tcp",
        fromPort: Number(m[2]),
        toPort: Number(m[2]),
        description: `ICAP to the sanitization engine ${m[1]}`,
      });
      if (!san.externalEngineCidr) {
        acceptFinding(toEngine, "AP-SG-001", `The sanitization engine ${m[1]} is an internet service named in the env file, without fixed addresses; the firewall passes ICAPS on port ${m[2]} from the proxy subnets only to that TLS name.`);
      }
    }
    if (san) this.sanitizationMetrics = this.sanitizationMetricFilters(props, san.engine === "clamav", logGroup);
    props.logs.publishConfig("ProxySquid", "proxy/squid.conf", this.squidConfig, "text/plain; charset=utf-8");
    props.logs.publishConfig("ProxyCloudConfig", "proxy/cloud-config.yaml", this.userData, "text/yaml; charset=utf-8");

    const template = hardenedLaunchTemplate(this, {
      name: name("proxy"),
      description: "alpha-prime tenant-restriction proxy (Squid on Debian 12)",
      imageId: DEBIAN12_ARM64_AMI,
      instanceType: props.instanceType ?? "m7g.large",
      instanceProfileArn,
      securityGroupId: sg.id,
      volumeKeyArn: volumeKey.keyArn,
      userData: this.userData,
    });

    const lb = new Lb(this, "LoadBalancer", {
      // the relay's scheme: a long id is cut with a hash, never ending in a hyphen (refused by CreateLoadBalancer)
      name: shortName(name("proxy")),
      internal: true,
      loadBalancerType: "network",
      subnetMapping: props.subnetIds.map((subnetId, i) => ({ subnetId, privateIpv4Address: lbAddresses[i] })),
      securityGroups: [lbSg.id],
      enableCrossZoneLoadBalancing: true,
      enableDeletionProtection: true,
    });
    this.loadBalancerArnSuffix = lb.arnSuffix;
    const tg = new LbTargetGroup(this, "TargetGroup", {
      name: shortName(name("proxy")),
      port,
      protocol: "TCP",
      targetType: "instance",
      vpcId: props.vpcId,
      // Squid sees the PC's own address: its client ACL and access log need it
      preserveClientIp: "true",
      deregistrationDelay: "30",
      healthCheck: { protocol: "TCP", port: String(port), interval: 10, healthyThreshold: 2, unhealthyThreshold: 2 },
    });
    this.targetGroupArnSuffix = tg.arnSuffix;
    new LbListener(this, "Listener", { loadBalancerArn: lb.arn, port, protocol: "TCP", defaultAction: [{ type: "forward", targetGroupArn: tg.arn }] });

    this.autoScalingGroupName = name("proxy");
    const asg = new AutoscalingGroup(this, "AutoScalingGroup", {
      name: this.autoScalingGroupName,
      vpcZoneIdentifier: [...props.subnetIds],
      // no desired_capacity: the scaling policy owns it between the floor and the maximum, and an apply must not
      // reset a fleet that scaled out for the morning's sign-ins (the group starts at its minimum)
      minSize: this.desiredInstances,
      maxSize: this.maxInstances,
      healthCheckType: "ELB",
      healthCheckGracePeriod: 600,
      targetGroupArns: [tg.arn],
      serviceLinkedRoleArn: volumeKey.serviceLinkedRoleArn,
      maxInstanceLifetime: MAX_INSTANCE_LIFETIME_SECONDS,
      launchTemplate: { id: template.id, version: template.latestVersion as unknown as string },
      instanceRefresh: { strategy: "Rolling", preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, instanceWarmup: "600" } },
      tag: [{ key: "Name", value: name("proxy"), propagateAtLaunch: true }],
      dependsOn: [logGroup],
    });
    // Target tracking on the group's average CPU: instances are added when the tier's traffic (or a burst of new
    // TLS connections, or scanning) keeps CPU above the target, and removed when it falls, never past the bounds.
    // https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html
    new AutoscalingPolicy(this, "CpuTargetTracking", {
      name: name("proxy-cpu-target"),
      autoscalingGroupName: asg.name,
      policyType: "TargetTrackingScaling",
      // Squid, the agents and (with 無害化) freshclam's first download take minutes after launch
      estimatedInstanceWarmup: 600,
      targetTrackingConfiguration: { predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" }, targetValue: PROXY_CPU_TARGET_PERCENT },
    });
    this.capacityMetrics = {
      autoScalingGroupName: this.autoScalingGroupName,
      loadBalancerArnSuffix: this.loadBalancerArnSuffix,
      namespace: `alpha-prime/${props.namePrefix}`,
      memoryUsedPercent: "ProxyMemoryUsedPercent",
    };
    new CloudwatchLogMetricFilter(this, "MemoryUsed", {
      name: `${props.namePrefix}-memoryused`,
      logGroupName: props.logGroupName,
      pattern: '{ $.metric = "memory_used_percent" }',
      metricTransformation: { name: this.capacityMetrics.memoryUsedPercent, namespace: this.capacityMetrics.namespace, value: "$.value", unit: "Percent" },
      dependsOn: [logGroup],
    });
  }

  /**
   * Metric filters on the proxy's log group: Squid's sanitization log gives blocked downloads and engine errors
   * for any engine; the built-in engine's hourly reporter gives the signature age.
   */
  private sanitizationMetricFilters(props: TenantProxyProps, builtin: boolean, logGroup: CloudwatchLogGroup): SanitizationMetrics {
    const metrics: SanitizationMetrics = {
      namespace: `alpha-prime/${props.namePrefix}`,
      blockedDownloads: "SanitizationBlockedDownloads",
      engineErrors: "SanitizationEngineErrors",
      signatureAgeHours: builtin ? "SanitizationSignatureAgeHours" : undefined,
    };
    const filter = (id: string, pattern: string, metric: string, value: string) =>
      new CloudwatchLogMetricFilter(this, id, {
        name: `${props.namePrefix}-${id.toLowerCase()}`,
        logGroupName: props.logGroupName,
        pattern,
        metricTransformation: { name: metric, namespace: metrics.namespace, value, defaultValue: value === "1" ? "0" : undefined, unit: value === "1" ? "Count" : "None" },
        dependsOn: [logGroup],
      });
    // verdict=... carries the engine's X-Infection-Found answer (Threat=...); outcome=ICAP_ERR* is a failed scan
    filter("BlockedDownloads", '"verdict=Type="', metrics.blockedDownloads, "1");
    filter("EngineErrors", '"outcome=ICAP_ERR"', metrics.engineErrors, "1");
    // the built-in engine's own check (every minute, and at every start): an engine that stopped blocking EICAR
    if (builtin) filter("EngineCheckFailures", `"${ENGINE_CHECK_FAILED}"`, metrics.engineErrors, "1");
    if (builtin) filter("SignatureAge", '{ $.metric = "signature_age_hours" }', metrics.signatureAgeHours!, "$.value");
    return metrics;
  }
}
