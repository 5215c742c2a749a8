import { BANDWIDTH_TIERS, bandwidthTier } from "../constructs/bandwidth-tier";
import { LogArchive } from "../constructs/log-archive";
import { PINNED_CRYPTO, PINNED_TUNNEL_ATTRIBUTES, VpnConcentrator } from "../constructs/vpn-concentrator";
import type { MunicipalityConfig } from "../config/types";
import { SAMPLE_IDS, addresses, loadSample, resources, synthConfigs, synthScope, synthStacks } from "./helpers";

const sites = [
  { name: "honcho", publicIp: "203.0.113.10", bgpAsn: 65010 },
  { name: "shisho", publicIp: "203.0.113.11", bgpAsn: 65011 },
];

function concentrator(connectionsPerSite: number) {
  return synthScope((scope) => {
    const logs = new LogArchive(scope, "LogArchive", { namePrefix: "t", accountId: "123456789012", region: "ap-northeast-1" });
    const vpn = new VpnConcentrator(scope, "Vpn", { namePrefix: "t", sites, connectionsPerSite, logs, tunnelLogGroupName: "/t/vpn" });
    vpn.attachInspectionVpc("tgw-attach-inspection");
  });
}

const PINNED = PINNED_TUNNEL_ATTRIBUTES;
const TUNNEL_KEYS = Object.keys(PINNED);

test("the pinned set is exactly IKEv2, AES-256 / AES-256-GCM, SHA-2 256/384/512 and DH 14, 19, 20, 21", () => {
  expect(PINNED_CRYPTO).toEqual({ ikeVersions: ["ikev2"], encryptionAlgorithms: ["AES256", "AES256-GCM-16"], integrityAlgorithms: ["SHA2-256", "SHA2-384", "SHA2-512"], dhGroupNumbers: [14, 19, 20, 21] });
  expect(TUNNEL_KEYS).toHaveLength(7);
});

describe("bandwidth tiers", () => {
  test("connections per site follow ceil(Gbps / 1.25): one standard tunnel per connection, the other spare", () => {
    expect(BANDWIDTH_TIERS.map((t) => [t.id, t.vpnConnectionsPerSite])).toEqual([["1g", 1], ["2g", 2], ["5g", 4], ["10g", 8]]);
    expect(BANDWIDTH_TIERS.map((t) => t.throughputAlarmBps)).toEqual([0.8e9, 1.6e9, 4e9, 8e9]);
  });

  test("the table is pinned", () => {
    expect(BANDWIDTH_TIERS).toMatchSnapshot();
  });

  test("fails on an unknown tier", () => {
    expect(() => bandwidthTier("3g")).toThrow(/unknown bandwidth tier '3g'/);
  });
});

describe.each(BANDWIDTH_TIERS.map((t) => [t.id, t.vpnConnectionsPerSite] as const))("VpnConcentrator at tier %s", (_tier, perSite) => {
  const tf = concentrator(perSite);
  const vpns = resources(tf, "aws_vpn_connection");

  test("snapshot", () => {
    expect(tf).toMatchSnapshot();
  });

  test(`each site gets ${perSite} connection(s) with BGP`, () => {
    expect(vpns).toHaveLength(perSite * sites.length);
    for (const [, v] of vpns) expect(v.static_routes_only).toBe(false);
  });

  test("both tunnels of every connection allow only the pinned algorithms, and log", () => {
    for (const [, v] of vpns) {
      for (const t of ["tunnel1", "tunnel2"]) {
        for (const k of TUNNEL_KEYS) expect([t, k, v[`${t}_${k}`]]).toEqual([t, k, [...PINNED[k]]]);
        expect(v[`${t}_log_options`].cloudwatch_log_options.log_enabled).toBe(true);
        expect(v[`${t}_preshared_key`]).toBeUndefined();
      }
    }
  });

  test("the Transit Gateway routes only through explicit tables, with VPN ECMP on", () => {
    const [, tgw] = resources(tf, "aws_ec2_transit_gateway")[0];
    expect(tgw).toMatchObject({ default_route_table_association: "disable", default_route_table_propagation: "disable", vpn_ecmp_support: "enable", auto_accept_shared_attachments: "disable" });
    expect(resources(tf, "aws_ec2_transit_gateway_route")[0][1]).toMatchObject({ destination_cidr_block: "0.0.0.0/0", transit_gateway_attachment_id: "tgw-attach-inspection" });
    expect(resources(tf, "aws_ec2_transit_gateway_route_table_propagation")).toHaveLength(perSite * sites.length);
  });
});

describe("the sample stacks' VPN and monitoring", () => {
  const { stacks } = synthStacks();

  test.each(SAMPLE_IDS)("%s: the right number of connections per site for its tier, each tunnel alarmed to the topic", (id) => {
    const config = loadSample(id);
    const tf = stacks[id];
    const perSite = bandwidthTier(config.bandwidthTier).vpnConnectionsPerSite;
    for (const site of config.sites) {
      expect(resources(tf, "aws_vpn_connection").filter(([n]) => n.startsWith(`Vpn_Site-${site.name}-Vpn`))).toHaveLength(perSite);
    }
    const alarms = resources(tf, "aws_cloudwatch_metric_alarm").map(([, a]) => a);
    const tunnelAlarms = alarms.filter((a) => a.metric_name === "TunnelState");
    expect(tunnelAlarms).toHaveLength(perSite * config.sites.length * 2);
    const topic = `\${aws_sns_topic.${resources(tf, "aws_sns_topic")[0][0]}.arn}`;
    for (const a of alarms) expect(a.alarm_actions).toEqual([topic]);
    const throughput = alarms.find((a) => a.alarm_name.endsWith("breakout-throughput-high"));
    expect(throughput.threshold).toBe(bandwidthTier(config.bandwidthTier).throughputAlarmBps);
    expect(alarms.some((a) => a.namespace === "AWS/ClientVPN")).toBe(config.remoteAccess !== undefined);
  });

  test.each(SAMPLE_IDS)("%s: the alarm topic is encrypted and mails the operations contractor", (id) => {
    const tf = stacks[id];
    expect(resources(tf, "aws_sns_topic")[0][1].kms_master_key_id).toMatch(/aws_kms_key\.Operations_TopicKey/);
    expect(resources(tf, "aws_sns_topic_subscription").map(([, s]) => s.endpoint)).toEqual(loadSample(id).operations.notificationEmails);
  });

  test.each(SAMPLE_IDS)("%s: remote access is full tunnel, logged, bannered, and authorized only to LGWAN and the breakout", (id) => {
    const config = loadSample(id);
    const endpoints = resources(stacks[id], "aws_ec2_client_vpn_endpoint");
    if (!config.remoteAccess) return expect(endpoints).toHaveLength(0);
    const [, ep] = endpoints[0];
    expect(ep).toMatchObject({ split_tunnel: false, session_timeout_hours: config.remoteAccess.sessionTimeoutHours, disconnect_on_session_timeout: true });
    expect(ep.client_login_banner_options).toEqual({ enabled: true, banner_text: config.remoteAccess.loginBanner });
    expect(ep.authentication_options[0]).toEqual({ type: "certificate-authentication", root_certificate_chain_arn: config.remoteAccess.clientRootCertificateArn });
    const authorized = resources(stacks[id], "aws_ec2_client_vpn_authorization_rule").map(([, r]) => r.target_network_cidr);
    const expected = [...config.network.lgwanSegments, config.network.breakoutCidr, ...(config.remoteAccess.internetBreakout ? ["0.0.0.0/0"] : [])];
    expect(authorized.sort()).toEqual(expected.sort());
  });

  test("Ashiya's telework VPN reaches only the LGWAN side", () => {
    const routes = resources(stacks.ashiya, "aws_ec2_client_vpn_route").map(([, r]) => r.destination_cidr_block);
    expect(routes).not.toContain("0.0.0.0/0");
    expect(new Set(routes)).toEqual(new Set(["172.24.0.0/16"]));
  });
});

describe("moving up a tier is non-destructive", () => {
  const at = (config: MunicipalityConfig, tier: MunicipalityConfig["bandwidthTier"]) => synthConfigs([{ ...config, bandwidthTier: tier }])[config.id];
  // The only fields a tier change may update (all in place): alarm levels, the relay's and the proxy's instance
  // size and count, and the proxy's Squid workers, which follow its instance type: its squid.conf (in the user data
  // and published in the configuration bucket) changes and the launch template's new version rolls out by refresh.
  const MAY_CHANGE: Record<string, string[]> = {
    aws_cloudwatch_metric_alarm: ["threshold", "alarm_description"],
    aws_launch_template: ["instance_type", "user_data"],
    aws_autoscaling_group: ["min_size", "max_size", "desired_capacity"],
    aws_s3_object: ["content"],
  };
  const without = (body: Record<string, unknown>, fields: string[] = []) => Object.fromEntries(Object.entries(body).filter(([k]) => !fields.includes(k)));

  test.each([["mitoyo", "1g", "2g"], ["mitoyo", "1g", "10g"], ["ashiya", "2g", "5g"]] as const)("%s from %s to %s only adds resources", (id, from, to) => {
    const config = loadSample(id);
    const lower = at(config, from);
    const higher = at(config, to);
    const before = addresses(lower);
    const after = addresses(higher);
    expect(before.filter((a) => !after.includes(a))).toEqual([]);
    expect(after.length).toBeGreaterThan(before.length);
    for (const address of before) {
      const [type, name] = address.split(".");
      expect([address, without(higher.resource[type][name], MAY_CHANGE[type])]).toEqual([address, without(lower.resource[type][name], MAY_CHANGE[type])]);
    }
  });
});
