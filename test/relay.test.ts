import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { LogArchive } from "../constructs/log-archive";
import { AL2023_ARM64_AMI, HAPROXY_NO_METADATA_DROPIN, HEALTH_PORT, RelayAppliance, RelayRoute, renderCloudConfig, renderHaproxyConfig, renderHaproxyDropIn } from "../constructs/relay-appliance";
import { policyOf, resources, synthScope, synthStacks, tempDir, testWithTool, which } from "./helpers";

const webmail: RelayRoute = { name: "webmail", from: "remote-access", listenPort: 443, targetHost: "172.16.5.20", targetPort: 443, targetIsOnPrem: true };
const smtp: RelayRoute = { name: "smtp-submission", from: "lgwan", listenPort: 587, targetHost: "smtp.office365.com", targetPort: 587, targetIsOnPrem: false };
const imap: RelayRoute = { name: "imaps", from: "remote-access", listenPort: 993, targetHost: "172.16.5.21", targetPort: 993, targetIsOnPrem: true };
const lgwanMail: RelayRoute = { name: "lgwan-smtp", from: "lgwan", listenPort: 25, targetHost: "mail.example.jp", targetPort: 25, targetIsOnPrem: false };

function relay(routes: RelayRoute[]) {
  return synthScope((scope) => {
    const logs = new LogArchive(scope, "LogArchive", { namePrefix: "t", accountId: "123456789012", region: "ap-northeast-1" });
    new RelayAppliance(scope, "Relay", {
      namePrefix: "t",
      accountId: "123456789012",
      region: "ap-northeast-1",
      vpcId: "vpc-1",
      subnetIds: ["subnet-a", "subnet-c"],
      routeTableIds: ["rtb-a", "rtb-c"],
      routes,
      lgwanCidrs: ["172.16.0.0/16", "192.168.40.0/22"],
      remoteAccessSecurityGroupId: "sg-clientvpn",
      instanceType: "t4g.medium",
      logs,
      logGroupName: "/t/relay",
    });
  });
}

describe.each([
  ["one LGWAN route", [smtp]],
  ["several routes of both kinds", [webmail, smtp, imap, lgwanMail]],
])("RelayAppliance with %s", (_name, routes) => {
  const tf = relay(routes as RelayRoute[]);

  test("snapshot", () => {
    expect(tf).toMatchSnapshot();
  });

  test("instances: IMDSv2 only with hop limit 1, KMS-encrypted EBS, no public IP, no SSH key, AL2023 resolved at launch", () => {
    const [, lt] = resources(tf, "aws_launch_template")[0];
    expect(lt.metadata_options).toMatchObject({ http_tokens: "required", http_put_response_hop_limit: 1 });
    expect(lt.block_device_mappings[0].ebs).toMatchObject({ encrypted: "true", volume_type: "gp3" });
    expect(lt.block_device_mappings[0].ebs.kms_key_id).toMatch(/aws_kms_key\.Relay_VolumeKey/);
    expect(lt.network_interfaces[0].associate_public_ip_address).toBe("false");
    expect(lt.key_name).toBeUndefined();
    expect(lt.image_id).toBe(AL2023_ARM64_AMI);
    expect(lt.instance_type).toBe("t4g.medium");
    expect(resources(tf, "data")).toEqual([]);
  });

  test("no port 22 anywhere, and each route's port is admitted only from its own side", () => {
    const ingress = resources(tf, "aws_vpc_security_group_ingress_rule").map(([n, r]) => ({ n, ...r }));
    for (const r of ingress) expect(r.from_port <= 22 && r.to_port >= 22).toBe(false);
    for (const route of routes as RelayRoute[]) {
      const lb = ingress.filter((r) => r.n.startsWith(`Relay_Lb-${route.name}-`));
      if (route.from === "lgwan") expect(lb.map((r) => r.cidr_ipv4).sort()).toEqual(["172.16.0.0/16", "192.168.40.0/22"]);
      else expect(lb.map((r) => r.referenced_security_group_id)).toEqual(["sg-clientvpn"]);
      for (const r of lb) expect([r.from_port, r.to_port]).toEqual([route.listenPort, route.listenPort]);
      const toInstances = ingress.filter((r) => r.n.startsWith(`Relay_Instance-${route.name}_`));
      expect(toInstances).toHaveLength(1);
      expect(toInstances[0].referenced_security_group_id).toMatch(/aws_security_group\.Relay_LoadBalancerSecurityGroup/);
    }
    for (const r of ingress) expect(r.cidr_ipv4 === "0.0.0.0/0" || r.cidr_ipv6 === "::/0").toBe(false);
  });

  test("instances connect only to each route's target (on-prem targets by address)", () => {
    const egress = resources(tf, "aws_vpc_security_group_egress_rule").map(([n, r]) => ({ n, ...r }));
    for (const route of routes as RelayRoute[]) {
      const [out] = egress.filter((r) => r.n.startsWith(`Relay_Instance-${route.name}-ToTarget`));
      expect(out).toMatchObject({ from_port: route.targetPort, to_port: route.targetPort, ip_protocol: "tcp", cidr_ipv4: route.targetIsOnPrem ? `${route.targetHost}/32` : "0.0.0.0/0" });
    }
  });

  test("the role allows Session Manager and writing its own logs, nothing more", () => {
    expect(resources(tf, "aws_iam_role_policy_attachment").map(([, a]) => a.policy_arn)).toEqual(["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
    const [, inline] = resources(tf, "aws_iam_role_policy")[0];
    expect(policyOf(inline).Statement).toEqual([
      { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: "arn:aws:logs:ap-northeast-1:123456789012:log-group:/t/relay:*" },
    ]);
  });

  test("an internal load balancer has one listener per route, health-checked, and the group heals and refreshes without downtime", () => {
    const [, lb] = resources(tf, "aws_lb")[0];
    expect(lb).toMatchObject({ internal: true, load_balancer_type: "network", enable_deletion_protection: true });
    const listeners = resources(tf, "aws_lb_listener").map(([, l]) => l.port).sort((a, b) => a - b);
    expect(listeners).toEqual((routes as RelayRoute[]).map((r) => r.listenPort).sort((a, b) => a - b));
    for (const [, tg] of resources(tf, "aws_lb_target_group")) {
      expect(tg.health_check).toMatchObject({ protocol: "HTTP", port: String(HEALTH_PORT), path: "/healthz" });
      expect(tg.name.length).toBeLessThanOrEqual(32);
    }
    const [, asg] = resources(tf, "aws_autoscaling_group")[0];
    expect(asg).toMatchObject({ health_check_type: "ELB", min_size: 2, desired_capacity: 2, vpc_zone_identifier: ["subnet-a", "subnet-c"] });
    expect(asg.instance_refresh).toMatchObject({ strategy: "Rolling", preferences: { min_healthy_percentage: 100, max_healthy_percentage: 200 } });
    expect(asg.launch_template.version).toMatch(/latest_version/);
  });

  test("security patches install weekly through Patch Manager, one instance at a time", () => {
    const [, patch] = resources(tf, "aws_ssm_association")[0];
    expect(patch).toMatchObject({ name: "AWS-RunPatchBaseline", max_concurrency: "1", parameters: { Operation: "Install", RebootOption: "RebootIfNeeded" } });
    expect(patch.targets[0]).toEqual({ key: "tag:aws:autoscaling:groupName", values: ["t-relay"] });
  });

  test("the rendered configuration is published to the configuration backups", () => {
    const keys = resources(tf, "aws_s3_object").map(([, o]) => o.key);
    expect(keys).toEqual(expect.arrayContaining(["relay/haproxy.cfg", "relay/cloud-config.yaml"]));
  });
});

describe("the relay's software configuration, checked by the real tools", () => {
  const routeSets: [string, RelayRoute[]][] = [["one route", [smtp]], ["several routes", [webmail, smtp, imap, lgwanMail]]];

  testWithTool("haproxy", "haproxy", "rendered HAProxy configurations").each(routeSets)("haproxy -c accepts the configuration for %s", (_n, routes) => {
    const file = path.join(tempDir(), "haproxy.cfg");
    fs.writeFileSync(file, renderHaproxyConfig(routes));
    const r = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
    expect([r.status, r.stdout]).toEqual([0, expect.stringContaining("Configuration file is valid")]);
    // The only warning allowed: internet names cannot be resolved in this sandbox (init-addr none keeps HAProxy up).
    const warnings = r.stderr.split("\n").filter((l) => l.includes("[WARNING]") && !/could not resolve address '[a-z0-9.-]+', disabling server/.test(l));
    expect(warnings).toEqual([]);
  });

  testWithTool("cloud-init", "cloud-init", "rendered cloud-config files").each(routeSets)("cloud-init schema accepts the user data for %s", (_n, routes) => {
    const file = path.join(tempDir(), "user-data.yaml");
    fs.writeFileSync(file, renderCloudConfig(renderHaproxyConfig(routes), "/t/relay"));
    const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    expect([r.status, `${r.stdout}${r.stderr}`]).toEqual([0, expect.stringContaining("Valid cloud-config")]);
  });

  /** systemd-analyze verify of Debian's haproxy.service with a drop-in: what it says about the drop-in's lines. */
  function verifyDropIn(dropIn: string): string[] {
    const dir = tempDir("alpha-prime-unit-");
    fs.copyFileSync("/lib/systemd/system/haproxy.service", path.join(dir, "haproxy.service"));
    fs.mkdirSync(path.join(dir, "haproxy.service.d"));
    fs.writeFileSync(path.join(dir, "haproxy.service.d", path.basename(HAPROXY_NO_METADATA_DROPIN)), dropIn);
    const r = spawnSync("systemd-analyze", ["verify", path.join(dir, "haproxy.service")], { encoding: "utf8", env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` } });
    return `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.includes(path.basename(HAPROXY_NO_METADATA_DROPIN)));
  }

  testWithTool(["systemd-analyze", "haproxy"], "systemd haproxy", "the relay's systemd drop-in")("systemd reads the drop-in that keeps HAProxy from the metadata service without a complaint, and complains about a broken one", () => {
    expect(verifyDropIn(renderHaproxyDropIn())).toEqual([]);
    expect(verifyDropIn(renderHaproxyDropIn().replace("link-local", "link-locall"))).toEqual([expect.stringMatching(/Address prefix is invalid/)]);
  });

  test("the user data installs that drop-in and starts HAProxy only once systemd holds the address filter (fail closed)", () => {
    const config = parse(renderCloudConfig(renderHaproxyConfig([smtp]), "/t/relay").replace(/^#cloud-config\n/, ""));
    expect(config.write_files).toEqual(expect.arrayContaining([{ path: HAPROXY_NO_METADATA_DROPIN, owner: "root:root", permissions: "0644", content: renderHaproxyDropIn() }]));
    expect(renderHaproxyDropIn()).toMatch(/^IPAddressDeny=link-local localhost fd00:ec2::254\/128$/m);
    expect(renderHaproxyDropIn()).toMatch(/^IPAddressAllow=169\.254\.169\.253\/32 127\.0\.0\.53\/32$/m);
    const run = config.runcmd.map((c: string[]) => c.join(" "));
    const start = run.findIndex((c: string) => c.includes("enable --now haproxy"));
    expect(run[start]).toMatch(/^sh -c systemctl show -p IPAddressDeny haproxy\.service \| grep -q '169\.254\.0\.0\/16' && systemctl enable --now haproxy$/);
    expect(run.indexOf("systemctl daemon-reload")).toBeGreaterThan(-1);
    expect(run.indexOf("systemctl daemon-reload")).toBeLessThan(start);
    // the resolver HAProxy re-resolves internet targets with is the one address the filter lets through on the link
    expect(renderHaproxyConfig([smtp])).toMatch(/nameserver amazon 169\.254\.169\.253:53/);
  });

  test("a broken configuration is rejected by the same check (the check can fail)", () => {
    if (!which("haproxy")) return;
    const file = path.join(tempDir(), "broken.cfg");
    fs.writeFileSync(file, renderHaproxyConfig([smtp]).replace("mode tcp", "mode tcpp"));
    expect(spawnSync("haproxy", ["-c", "-f", file]).status).not.toBe(0);
  });
});

describe("relay in the sample stacks", () => {
  const { stacks } = synthStacks();

  test("Mitoyo's relay serves both flows: phones to the LGWAN mail server, LGWAN mail server to cloud mail", () => {
    const tf = stacks.mitoyo;
    expect(resources(tf, "aws_lb_listener").filter(([n]) => n.startsWith("Relay_")).map(([, l]) => l.port).sort()).toEqual([443, 587]);
    const haproxy = resources(tf, "aws_s3_object").find(([, o]) => o.key === "relay/haproxy.cfg")![1].content;
    expect(haproxy).toContain("server target 172.16.5.20:443 check");
    expect(haproxy).toMatch(/server target smtp\.office365\.com:587 check resolvers vpc/);
    expect(tf.output!.relay_endpoint).toBeDefined();
    expect(resources(tf, "aws_cloudwatch_metric_alarm").filter(([n, a]) => a.metric_name === "HealthyHostCount" && n.startsWith("Operations_RelayUnhealthy"))).toHaveLength(2);
  });

  test.each(["kaga", "ashiya"])("%s has no relay routes and no relay resources at all", (id) => {
    const relayResources = Object.values(stacks[id].resource).flatMap((byName) => Object.keys(byName)).filter((n) => n.startsWith("Relay_"));
    expect(relayResources).toEqual([]);
    expect(stacks[id].output!.relay_endpoint).toBeUndefined();
  });
});
