/* Generated from env/municipality.schema.json by config/generate-types.ts. Do not edit by hand. */

/**
 * 都道府県 (its JIS X 0401 number is the first two digits of the local government code).
 */
export type Prefecture =
  | "北海道"
  | "青森県"
  | "岩手県"
  | "宮城県"
  | "秋田県"
  | "山形県"
  | "福島県"
  | "茨城県"
  | "栃木県"
  | "群馬県"
  | "埼玉県"
  | "千葉県"
  | "東京都"
  | "神奈川県"
  | "新潟県"
  | "富山県"
  | "石川県"
  | "福井県"
  | "山梨県"
  | "長野県"
  | "岐阜県"
  | "静岡県"
  | "愛知県"
  | "三重県"
  | "滋賀県"
  | "京都府"
  | "大阪府"
  | "兵庫県"
  | "奈良県"
  | "和歌山県"
  | "鳥取県"
  | "島根県"
  | "岡山県"
  | "広島県"
  | "山口県"
  | "徳島県"
  | "香川県"
  | "愛媛県"
  | "高知県"
  | "福岡県"
  | "佐賀県"
  | "長崎県"
  | "熊本県"
  | "大分県"
  | "宮崎県"
  | "鹿児島県"
  | "沖縄県";

/**
 * One municipality's α′ local breakout. Unknown keys are errors at every level.
 */
export interface MunicipalityFile {
  /**
   * Stack id and file name (env/<id>.yaml): lowercase letters, digits and '-'. Part of every resource name: never change it after the first deploy.
   */
  id: string;
  /**
   * Municipality name, e.g. 三豊市. Letters, digits, spaces and _.:/=+-@ only: it becomes a tag of every resource, and IAM refuses other characters in tags (no commas or full-width parentheses).
   */
  name: string;
  prefecture: Prefecture;
  /**
   * 全国地方公共団体コード: 6 digits including the check digit; the first two digits are the prefecture.
   */
  localGovernmentCode: string;
  /**
   * Residents (for sizing and reports).
   */
  population: number;
  aws: {
    /**
     * This municipality's AWS account. The provider refuses to run against any other account.
     */
    accountId: string;
    /**
     * AWS region; residents' data stays in Japan.
     */
    region: "ap-northeast-1" | "ap-northeast-3";
    /**
     * Availability zones to spread the breakout over (2 to 4, in the region).
     *
     * @minItems 2
     * @maxItems 4
     */
    availabilityZones: string[];
  };
  /**
   * Contracted breakout bandwidth. Moving up a tier only adds resources.
   */
  bandwidthTier: "1g" | "2g" | "5g" | "10g";
  network: {
    /**
     * IPv4 CIDR of the breakout VPC on AWS (RFC 1918, /16 to /24; a /24 holds two availability zones, a /23 or larger up to four).
     */
    breakoutCidr: string;
    /**
     * On-prem LGWAN-connected segments allowed to break out (RFC 1918 CIDRs).
     *
     * @minItems 1
     */
    lgwanSegments: string[];
    /**
     * host:port of the LGWAN proxy that gets everything not allowlisted.
     */
    lgwanProxy: string;
    /**
     * On-prem DNS servers that forward the allowlisted zones to the breakout's inbound resolver. Only they may query it. Default: the LGWAN segments.
     *
     * @minItems 1
     */
    dnsServers?: string[];
    /**
     * BGP ASN of the Transit Gateway (a private ASN). Default 64512.
     */
    awsSideAsn?: number;
  };
  /**
   * VPN peers: 本庁舎 and branches.
   *
   * @minItems 1
   */
  sites: {
    /**
     * ASCII site name; part of resource addresses.
     */
    name: string;
    /**
     * Public IPv4 address of the site's VPN router.
     */
    publicIp: string;
    /**
     * The site router's BGP ASN.
     */
    bgpAsn: number;
  }[];
  /**
   * Remote-access VPN (telework PCs, shelter tablets, phones). Left out: no Client VPN endpoint.
   */
  remoteAccess?: {
    /**
     * Address pool for clients (/12 to /22, not overlapping any other range).
     */
    clientCidr: string;
    /**
     * ACM certificate of the endpoint.
     */
    serverCertificateArn: string;
    /**
     * ACM certificate of the CA that issues client certificates (mutual authentication).
     */
    clientRootCertificateArn: string;
    /**
     * Optional IAM SAML provider: users also sign in through the municipality's IdP.
     */
    samlProviderArn?: string;
    /**
     * Whether remote devices may reach the allowlisted SaaS through the breakout (true) or only the LGWAN segments (false). Always full tunnel.
     */
    internetBreakout?: boolean;
    /**
     * Maximum VPN session length.
     */
    sessionTimeoutHours?: 8 | 10 | 12 | 24;
    /**
     * Text shown to users when they connect.
     */
    loginBanner?: string;
  };
  breakout: {
    /**
     * Ids from the SaaS catalog (`npx alpha-prime catalog`).
     *
     * @minItems 1
     */
    saas: string[];
    /**
     * Further domains for this municipality only: 'host.example.jp' (that name) or '*.example.jp' (the domain and every subdomain).
     */
    extraDomains?: string[];
    /**
     * extraDomains wildcards over a public-hosting suffix (the Public Suffix List's private section: *.github.io, *.cloudfront.net, *.amazonaws.com, ...) let anyone's site through; each one needs a waiver with a reason.
     */
    publicHostingWaivers?: {
      /**
       * the extraDomains wildcard, as written there
       */
      domain: string;
      /**
       * why the municipality accepts every site under it; shown in check output and the reviewer diff
       */
      reason: string;
    }[];
    /**
     * テナント制限: per selected SaaS, the municipality's own tenant values (`npx alpha-prime catalog` lists each service's values and where to find them). Only these tenants are reachable: by host name (SharePoint, cybozu.com) and by the header the proxy adds (Microsoft Entra, Slack, Google).
     */
    tenants?: {
      [k: string]:
        | {
            [k: string]: (string | string[]) | undefined;
          }
        | undefined;
    };
    /**
     * Selected services whose tenant restriction is knowingly not used, each with a reason. Shown by `check` and in the reviewer diff.
     */
    tenantWaivers?: {
      /**
       * SaaS id from breakout.saas.
       */
      saas: string;
      /**
       * Why staff may use any tenant of this service (at least 20 characters).
       */
      reason: string;
    }[];
    /**
     * The CA the tenant-restriction proxy signs intercepted connections with (only the hosts that need a header). Certificate and key stay in Secrets Manager: only the ARN appears here, in Terraform and in user data. Required when a selected service adds a header.
     */
    interceptionCa?: {
      /**
       * Secrets Manager secret whose value is the PEM CA certificate followed by its PEM private key.
       */
      secretArn: string;
      /**
       * The secret's customer-managed KMS key, if it has one (the proxy may decrypt with it only through Secrets Manager).
       */
      kmsKeyArn?: string;
    };
    /**
     * 無害化 (file sanitization): files downloaded from the listed services pass an engine before they reach an LGWAN PC. Left out: no sanitization.
     */
    sanitization?: {
      /**
       * Selected SaaS ids whose file downloads are sanitized (services with file-download hosts in the catalog).
       *
       * @minItems 1
       */
      services: string[];
      /**
       * clamav: c-icap + ClamAV on the proxy instances (detects and blocks known malware). external: an ICAP/ICAPS engine of your own, e.g. a CDR product that disarms and rebuilds files.
       */
      engine: "clamav" | "external";
      /**
       * With engine: external. The RESPMOD service URL: icaps://host:port/path, or icap:// to an address inside the LGWAN segments.
       */
      externalIcapUrl?: string;
      /**
       * Largest file the engine inspects.
       */
      maxFileSizeMb?: number;
      /**
       * Files above maxFileSizeMb: block (default) or pass unscanned (needs largerFilesReason).
       */
      largerFiles?: "block" | "pass";
      /**
       * Why larger files may pass unscanned (at least 20 characters).
       */
      largerFilesReason?: string;
      /**
       * With engine: clamav. Alarm when the newest virus signatures are older than this.
       */
      signatureMaxAgeHours?: number;
      /**
       * Alarm when more downloads than this are blocked in an hour.
       */
      blockedPerHourAlarm?: number;
      /**
       * What staff should do when a download is blocked (shown on the block page; plain text).
       */
      guidance?: string;
    };
  };
  /**
   * Relay appliance routes. Left out: no relay resources. At most 50: each is a listener of one Network Load Balancer, which takes 50 (a quota AWS does not raise).
   *
   * @maxItems 50
   */
  relay?: {
    /**
     * ASCII route name; part of resource addresses.
     */
    name: string;
    /**
     * Who may connect: remote-access clients or the LGWAN segments.
     */
    from: "remote-access" | "lgwan";
    /**
     * TCP port the relay listens on.
     */
    listenPort: number;
    /**
     * host:port the relay connects to (an on-prem IP, or an internet host name that is then allowlisted).
     */
    target: string;
  }[];
  logging?: {
    /**
     * Days every log is kept (at least one year).
     */
    retentionDays?: number;
    /**
     * S3 Object Lock mode of the log bucket: governance (privileged users can lift it) or compliance (nobody can, not even root).
     */
    objectLockMode?: "governance" | "compliance";
    /**
     * Days after which logs move to cheaper storage (Glacier Instant Retrieval).
     */
    transitionAfterDays?: number;
  };
  operations: {
    /**
     * The operations contractor's addresses for alarms.
     *
     * @minItems 1
     */
    notificationEmails: string[];
  };
  /**
   * Remote Terraform state. Left out: the bucket comes from ALPHA_PRIME_STATE_BUCKET at synth time, or deploys are refused.
   */
  state?: {
    /**
     * S3 bucket holding the state (versioned, encrypted, in this account).
     */
    bucket: string;
    /**
     * Optional KMS key ARN for state encryption (default: the bucket's SSE).
     */
    kmsKeyId?: string;
  };
  /**
   * Accepted findings of the α′ security baseline (`npx alpha-prime check`). Each needs a reason; an expired suppression, or one that matches nothing, is itself an error.
   */
  suppressions?: {
    /**
     * Rule id, e.g. AP-NET-006 (docs/RULES.md).
     */
    rule: string;
    /**
     * Terraform address of the resource, or a pattern with * (e.g. aws_vpc_security_group_ingress_rule.Relay_*).
     */
    resource: string;
    /**
     * Why the finding is accepted, for reviewers: at least 20 characters.
     */
    reason: string;
    /**
     * Date (YYYY-MM-DD) after which the suppression is an error.
     */
    expires?: string;
  }[];
}
