/**
 * The proxy tier carries its tier's bandwidth: the tier table against the measured per-core figures (and the
 * estimates, with sources, where nothing could be measured), and the synthesized stack against the table — Squid's
 * workers, the Auto Scaling group's bounds and scaling policy, and the capacity alarms.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { topologyOf } from "../cli/graph";
import { renderedFiles } from "../cli/render";
import { proxyCapacityReport } from "../cli/reports";
import { BANDWIDTH_TIERS, bandwidthTier, TierId } from "../constructs/bandwidth-tier";
import { CLAMAV_MEMORY_GIB, FULL_DATABASE_SCAN_MB_PER_CORE, GRAVITON_CORE_SHARE, instanceSpec, MEASURED, proxyAlarmLevels, proxyTierCapacity, squidWorkersFor } from "../constructs/proxy-capacity";
import { MEMORY_LOG, PROXY_CPU_TARGET_PERCENT, SQUID_LAYOUT } from "../constructs/tenant-proxy";
import { loadSample, resources, SAMPLE_IDS, synthConfigs, synthStacks, tempDir, testWithTool, TfJson } from "./helpers";

describe("the proxy tier of every bandwidth tier", () => {
  test.each(BANDWIDTH_TIERS.map((t) => [t.id, t] as const))("%s: the floor fleet bumps the whole tier at half its CPU, on its baseline bandwidth, with memory for ClamAV's full database", (_id, tier) => {
    const c = proxyTierCapacity(tier);
    expect(c.problems).toEqual([]);
    expect(c.bumpGbpsAtTarget).toBeGreaterThanOrEqual(tier.gbps);
    expect(c.baselineGbps).toBeGreaterThanOrEqual(tier.gbps);
    expect(c.spec.memoryGiB).toBeGreaterThanOrEqual(c.memoryNeededGiB);
  });

  test("no tier puts the proxy on a burstable type (a t4g sustains 20 % of a vCPU without credits)", () => {
    expect(BANDWIDTH_TIERS.filter((t) => instanceSpec(t.proxyInstanceType).burstableBaselineShare !== undefined).map((t) => `${t.id}: ${t.proxyInstanceType}`)).toEqual([]);
  });

  test("the capacity check catches a tier that cannot carry itself (it is not a check that always passes)", () => {
    const tenG = bandwidthTier("10g");
    // the table as it was before it was sized from measurements
    expect(proxyTierCapacity({ ...tenG, proxyInstanceType: "c7g.xlarge", proxyInstancesPerAz: 2, proxyMaxInstancesPerAz: 4 }).problems.join("\n")).toMatch(/needs more than 50 % of the floor's cores/);
    expect(proxyTierCapacity({ ...bandwidthTier("1g"), proxyInstanceType: "t4g.medium" }).problems).toEqual([
      expect.stringMatching(/^t4g\.medium is burstable: its baseline \(20 % of each vCPU\) cannot carry 1 Gbps/),
      expect.stringMatching(/baseline network bandwidth is 0\.51 Gbps per direction, under 1 Gbps/),
      expect.stringMatching(/t4g\.medium has 4 GiB; .* need 6 GiB/),
    ]);
    expect(proxyTierCapacity({ ...bandwidthTier("2g"), proxyInstanceType: "c7g.large" }).problems.join("\n")).toMatch(/c7g\.large has 4 GiB/);
    expect(proxyTierCapacity({ ...tenG, proxyMaxInstancesPerAz: 2 }).problems).toEqual(["scaling cannot double the floor (the maximum is under twice the minimum)"]);
  });

  test("Squid gets one worker per core, keeping one core for the kernel, c-icap and clamd once there are more than two", () => {
    expect(BANDWIDTH_TIERS.map((t) => [t.id, t.proxyInstanceType, t.proxySquidWorkers])).toEqual(BANDWIDTH_TIERS.map((t) => [t.id, t.proxyInstanceType, squidWorkersFor(instanceSpec(t.proxyInstanceType))]));
    expect(squidWorkersFor(instanceSpec("m7g.large"))).toBe(2);
    expect(squidWorkersFor(instanceSpec("c7g.2xlarge"))).toBe(7);
  });

  test("the sanitized share is a share, bounded above by the one-signature rate measured here, and falls as the tier grows", () => {
    const shares = BANDWIDTH_TIERS.map((t) => proxyTierCapacity(t));
    for (const c of shares) {
      expect(c.sanitizedShareFullDatabase).toBeGreaterThanOrEqual(0);
      expect(c.sanitizedShareFullDatabase).toBeLessThanOrEqual(c.sanitizedShareOneSignature);
      expect(c.sanitizedShareOneSignature).toBeLessThanOrEqual(1);
    }
    // a full database scans far slower than the one signature measured here: the estimate must say so
    expect((FULL_DATABASE_SCAN_MB_PER_CORE.value * 8) / 1000).toBeLessThan(MEASURED.figures.scanGbps);
  });

  test("every estimate names what it rests on and where that comes from", () => {
    for (const e of [GRAVITON_CORE_SHARE, FULL_DATABASE_SCAN_MB_PER_CORE, CLAMAV_MEMORY_GIB]) {
      expect(e.basis.length).toBeGreaterThan(40);
      expect(e.source).toMatch(/https:\/\//);
    }
    expect(CLAMAV_MEMORY_GIB.value).toBeGreaterThanOrEqual(3); // ClamAV's maintainers: at least 3 GiB, preferably 4
  });

  test("`tiers` prints each tier's sanitized share with the measurement behind it and the estimates' sources", () => {
    const report = proxyCapacityReport();
    for (const t of BANDWIDTH_TIERS) expect(report).toMatch(new RegExp(`^${t.id}\\s+\\d+–\\d+ × ${t.proxyInstanceType.replace(".", "\\.")} .* yes$`, "m"));
    expect(report).toContain(`Measured (${MEASURED.measuredAt}`);
    expect(report).toContain(FULL_DATABASE_SCAN_MB_PER_CORE.source);
    expect(report).toContain(CLAMAV_MEMORY_GIB.source);
  });
});

describe("the synthesized proxy fleet follows its tier", () => {
  const { stacks } = synthStacks();
  const proxied = SAMPLE_IDS.filter((id) => resources(stacks[id], "aws_autoscaling_group").some(([n]) => n.startsWith("TenantProxy")));
  const squidConf = (tf: TfJson, id: string) => renderedFiles(id, tf)["proxy/squid.conf"];

  test("the samples with a proxy are checked", () => expect(proxied.length).toBeGreaterThanOrEqual(3));

  test.each(proxied)("%s: squid.conf runs one worker per core of the tier's instance type", (id) => {
    const tier = bandwidthTier(loadSample(id).bandwidthTier);
    const conf = squidConf(stacks[id], id);
    expect(conf.match(/^workers \d+$/gm)).toEqual([`workers ${tier.proxySquidWorkers}`]);
    expect(conf).toMatch(/^cache_mem 0 MB$/m);
    expect(conf).toMatch(/^buffered_logs off$/m);
    // certificate helpers are per worker: about sixteen for the whole instance
    const children = Number(/^sslcrtd_children (\d+) /m.exec(conf)![1]);
    expect(children * tier.proxySquidWorkers).toBeGreaterThanOrEqual(16);
    expect(children * tier.proxySquidWorkers).toBeLessThanOrEqual(32);
  });

  test.each(proxied)("%s: the Auto Scaling group scales on CPU between the tier's floor and maximum, and no apply resets it", (id) => {
    const config = loadSample(id);
    const tier = bandwidthTier(config.bandwidthTier);
    const zones = config.aws.availabilityZones.length;
    const [asgName, asg] = resources(stacks[id], "aws_autoscaling_group").find(([n]) => n.startsWith("TenantProxy"))!;
    expect([asg.min_size, asg.max_size]).toEqual([tier.proxyInstancesPerAz * zones, tier.proxyMaxInstancesPerAz * zones]);
    expect(asg.desired_capacity).toBeUndefined();
    const [, lt] = resources(stacks[id], "aws_launch_template").find(([n]) => n.startsWith("TenantProxy"))!;
    expect(lt.instance_type).toBe(tier.proxyInstanceType);
    const policies = resources(stacks[id], "aws_autoscaling_policy");
    expect(policies).toHaveLength(1);
    expect(policies[0][1]).toMatchObject({
      autoscaling_group_name: `\${aws_autoscaling_group.${asgName}.name}`,
      policy_type: "TargetTrackingScaling",
      target_tracking_configuration: { predefined_metric_specification: { predefined_metric_type: "ASGAverageCPUUtilization" }, target_value: PROXY_CPU_TARGET_PERCENT },
    });
  });

  test.each(proxied)("%s: alarms watch the proxy's CPU, memory, new connections and concurrent connections at the tier's levels", (id) => {
    const tier = bandwidthTier(loadSample(id).bandwidthTier);
    const levels = proxyAlarmLevels(tier);
    const alarms = Object.fromEntries(resources(stacks[id], "aws_cloudwatch_metric_alarm").map(([n, a]) => [n.replace(/^Operations_/, "").replace(/_[0-9A-F]{8}$/, ""), a]));
    const [lbName] = resources(stacks[id], "aws_lb").find(([n]) => n.startsWith("TenantProxy"))!;
    const topic = expect.stringMatching(/aws_sns_topic\.Operations_Topic/);
    expect(alarms.ProxyCpuHigh).toMatchObject({ namespace: "AWS/EC2", metric_name: "CPUUtilization", dimensions: { AutoScalingGroupName: `alpha-prime-${id}-proxy` }, statistic: "Average", threshold: levels.cpuPercent, comparison_operator: "GreaterThanThreshold", alarm_actions: [topic] });
    expect(alarms.ProxyMemoryHigh).toMatchObject({ namespace: `alpha-prime/alpha-prime-${id}`, metric_name: "ProxyMemoryUsedPercent", statistic: "Maximum", threshold: levels.memoryPercent });
    expect(alarms.ProxyNewConnections).toMatchObject({ namespace: "AWS/NetworkELB", metric_name: "NewFlowCount", dimensions: { LoadBalancer: `\${aws_lb.${lbName}.arn_suffix}` }, statistic: "Sum", period: 60, threshold: levels.newFlowsPerMinute });
    expect(alarms.ProxyActiveConnections).toMatchObject({ namespace: "AWS/NetworkELB", metric_name: "ActiveFlowCount", statistic: "Maximum", threshold: levels.activeFlows });
    expect(levels.newFlowsPerMinute).toBe(Math.round(proxyTierCapacity(tier).newConnectionsPerSecond * 60 * 0.8));
  });

  test.each(proxied)("%s: the network picture counts the proxy's floor, not the desired capacity the scaling policy now owns", (id) => {
    const config = loadSample(id);
    expect(topologyOf(id, stacks[id]).tenantProxy?.instances).toBe(bandwidthTier(config.bandwidthTier).proxyInstancesPerAz * config.aws.availabilityZones.length);
  });

  test("the memory alarm's metric comes from the reporter the instances run: its line matches the metric filter", () => {
    const files = renderedFiles("kaga", stacks.kaga);
    const filter = resources(stacks.kaga, "aws_cloudwatch_log_metric_filter").find(([n]) => n.includes("MemoryUsed"))![1];
    expect(filter.pattern).toBe('{ $.metric = "memory_used_percent" }');
    expect(filter.metric_transformation).toMatchObject({ name: "ProxyMemoryUsedPercent", value: "$.value", unit: "Percent" });
    // run the reporter exactly as rendered, writing into a temporary directory instead of /var/log
    const dir = tempDir("alpha-prime-memory-");
    const script = path.join(dir, "reporter.sh");
    fs.writeFileSync(script, files["proxy/files/usr/local/sbin/alpha-prime-memory"].split(path.dirname(MEMORY_LOG)).join(dir));
    execFileSync("sh", [script]);
    execFileSync("sh", [script]);
    const lines = fs.readFileSync(path.join(dir, path.basename(MEMORY_LOG)), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l.metric).toBe("memory_used_percent");
      expect(l.value).toBeGreaterThan(0);
      expect(l.value).toBeLessThan(100);
    }
    // the agent ships that file, and a timer runs the reporter every minute
    expect(files["proxy/files/opt/aws/amazon-cloudwatch-agent/etc/alpha-prime.json"]).toContain(`"file_path": "${MEMORY_LOG}"`);
    expect(files["proxy/files/etc/systemd/system/alpha-prime-memory.timer"]).toMatch(/OnUnitActiveSec=1min/);
    expect(files["proxy/cloud-config.yaml"]).toMatch(/- alpha-prime-memory\.timer/);
  });

  testWithTool("squid", "squid-openssl", "squid.conf with the largest tier's workers").each(BANDWIDTH_TIERS.map((t) => t.id))("squid -k parse accepts kaga's squid.conf at tier %s", (tierId) => {
    const tf = tierId === loadSample("kaga").bandwidthTier ? stacks.kaga : synthConfigs([{ ...loadSample("kaga"), bandwidthTier: tierId as TierId }]).kaga;
    const dir = tempDir("alpha-prime-squid-parse-");
    const ca = path.join(dir, "ca.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=parse-test", "-keyout", ca, "-out", `${ca}.crt`], { stdio: "pipe" });
    fs.writeFileSync(ca, fs.readFileSync(`${ca}.crt`, "utf8") + fs.readFileSync(ca, "utf8"));
    const conf = renderedFiles("kaga", tf)["proxy/squid.conf"].split(SQUID_LAYOUT.caFile).join(ca).split(SQUID_LAYOUT.errorDir).join("/usr/share/squid/errors/templates");
    expect(conf).toMatch(new RegExp(`^workers ${bandwidthTier(tierId).proxySquidWorkers}$`, "m"));
    fs.writeFileSync(path.join(dir, "squid.conf"), conf);
    const r = spawnSync("squid", ["-k", "parse", "-f", path.join(dir, "squid.conf")], { encoding: "utf8", timeout: 30000 });
    expect([r.status, r.stderr.split("\n").filter((l) => /ERROR|FATAL|WARNING: (?!HTTP requires the use of Via)/.test(l))]).toEqual([0, []]);
  });

  test("moving up a tier changes the proxy's instances, never its addresses", () => {
    const config = loadSample("kaga");
    const [lower, higher] = (["1g", "10g"] as const).map((t) => synthConfigs([{ ...config, bandwidthTier: t }]).kaga);
    const lb = (tf: TfJson) => resources(tf, "aws_lb").find(([n]) => n.startsWith("TenantProxy"))![1].subnet_mapping;
    expect(lb(higher)).toEqual(lb(lower));
    const squid = (tf: TfJson) => renderedFiles("kaga", tf)["proxy/squid.conf"];
    expect(squid(lower)).toMatch(/^workers 2$/m);
    expect(squid(higher)).toMatch(/^workers 7$/m);
  });
});
