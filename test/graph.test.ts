/**
 * `alpha-prime graph`: the picture of each sample's network is drawn from its synthesized stack, in Mermaid and
 * as SVG by Graphviz, and the reviewer diff embeds it when a change alters the topology.
 */
import { XMLParser } from "fast-xml-parser";
import * as fs from "fs";
import * as path from "path";
import { dot, mermaid, svg, topologyOf } from "../cli/graph";
import { REPO_ROOT } from "../core/paths";
import { diffSides, markdown, readSynthesized } from "../review/diff";
import { SAMPLE_IDS, envDirWith, loadSample, runCli, sampleText, synthStacks, tempDir, testWithTool } from "./helpers";

const { stacks } = synthStacks();

describe.each(SAMPLE_IDS)("%s: the network diagram", (id) => {
  const config = loadSample(id);
  const t = topologyOf(id, stacks[id]);

  test("shows every site with its tunnels, the VPC, the firewall, egress, DNS and the log archive, as synthesized", () => {
    expect(t.sites.map((s) => s.name).sort()).toEqual(config.sites.map((s) => s.name).sort());
    expect(t.sites.every((s) => s.connections >= 1)).toBe(true);
    expect(t.vpcCidr).toBe(config.network.breakoutCidr);
    expect(t.availabilityZones).toEqual([...config.aws.availabilityZones].sort());
    expect(t.natGateways).toBe(config.aws.availabilityZones.length);
    expect(t.lgwanSegments).toEqual(config.network.lgwanSegments);
    expect(t.logBucket).toMatch(new RegExp(`^alpha-prime-${id}-logs-`));
    expect(Boolean(t.clientVpn)).toBe(Boolean(config.remoteAccess));
    expect(Boolean(t.relay)).toBe(config.relay.length > 0);
    const m = mermaid(t);
    expect(m.split("\n")[0]).toBe("flowchart LR");
    for (const s of config.sites) expect(m).toContain(`site ${s.name}<br/>${s.publicIp} AS${s.bgpAsn}`);
    expect(m).toContain(`${config.name} (${id}): LGWAN side (on-prem)`);
    // every edge joins declared nodes
    const declared = new Set([...m.matchAll(/^\s+(\w+)[[(]/gm)].map((x) => x[1]));
    const edges = [...m.matchAll(/^ {2}(\w+) (?:-->|==>|-\.->)(?:\|[^|]*\|)? (\w+)$/gm)];
    expect(edges.length).toBeGreaterThanOrEqual(t.sites.length * 2 + 4);
    for (const e of edges) expect([e[1], declared.has(e[1]), e[2], declared.has(e[2])]).toEqual([e[1], true, e[2], true]);
  });

  testWithTool("dot", "graphviz", "the SVG diagrams")("renders to SVG with Graphviz, every site and component labelled", () => {
    const image = svg(t);
    const doc = new XMLParser({ ignoreAttributes: false }).parse(image);
    expect(doc.svg).toBeDefined();
    const texts = [...image.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((x) => x[1].replace(/&#45;/g, "-"));
    for (const s of config.sites) expect(texts).toContain(`site ${s.name}`);
    for (const label of ["Transit Gateway", "Network Firewall", "Inbound resolver"]) expect(texts).toContain(label);
  });

  testWithTool("dot", "graphviz", "the SVG diagrams")("the SVG fits the window it is opened in, and the AWS and VPC titles sit below the edges that cross their tops", () => {
    const image = svg(t);
    const root = image.match(/<svg [^>]*>/s)![0];
    expect(root).toContain('width="100%"');
    expect(root).not.toMatch(/height="/);
    expect(root).toMatch(/viewBox="0\.00 0\.00 [\d.]+ [\d.]+"/);
    for (const cluster of ["cluster_aws", "cluster_vpc"]) {
      const box = image.match(new RegExp(`<title>${cluster}</title>\\s*<polygon[^>]*points="([^"]+)"[^>]*/>\\s*<text[^>]*y="([-\\d.]+)"`))!;
      const ys = box[1].split(" ").map((p) => Number(p.split(",")[1]));
      expect([cluster, Number(box[2]) > (Math.min(...ys) + Math.max(...ys)) / 2]).toEqual([cluster, true]);
    }
  });

  test("in Japanese (--lang ja) for procurement and policy documents: the same nodes and edges, the words translated", () => {
    const [en, ja] = [mermaid(t), mermaid(t, "ja")];
    const shape = (m: string) => m.replace(/"[^"]*"/g, '""');
    expect(shape(ja)).toEqual(shape(en));
    for (const s of config.sites) expect(ja).toContain(`拠点 ${s.name}<br/>${s.publicIp} AS${s.bgpAsn}`);
    expect(ja).toContain(`${config.name} (${id}): LGWAN 側（庁内）`);
    expect(ja).toContain("インターネット: 許可した SaaS のみ");
    if (t.tenantProxy) expect(ja).toContain("テナント制限プロキシ（Squid）");
    if (t.relay) expect(ja).toContain("中継アプライアンス（HAProxy）");
    // nothing left in English but names of AWS services and products
    const words = [...ja.matchAll(/"([^"]*)"/g)].flatMap((x) => x[1].split("<br/>")).filter((w) => w !== t.logBucket);
    expect(words.filter((w) => /\b(segments|site|allowlisted|instances|logs|to the|clients|side)\b/.test(w))).toEqual([]);
  });
});

test("the README shows Mitoyo's diagram exactly as graph writes it (a picture in the docs cannot drift either)", () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const shown = /Mitoyo's sample, as `npx alpha-prime graph mitoyo` writes it:\n\n```mermaid\n([\s\S]*?)```/.exec(readme);
  expect(shown?.[1]).toBe(mermaid(topologyOf("mitoyo", stacks.mitoyo)));
});

test("labels are text: quotes, brackets and backticks in a name cannot break the diagram or the fence around it", () => {
  const t = { ...topologyOf("kaga", stacks.kaga), name: 'x"]; click lgwan "javascript:alert(1)" ```' };
  const m = mermaid(t);
  expect(m).not.toContain('x"]');
  expect(m).not.toContain("```");
  expect(dot(t)).toContain('x\\"]; click lgwan \\"javascript:alert(1)\\" ```');
});

test("graph writes Mermaid, DOT or SVG for a municipality, and refuses an unknown format", async () => {
  const out = path.join(tempDir(), "kaga.mmd");
  expect((await runCli("graph", "kaga", "--out", out)).code).toBe(0);
  expect(fs.readFileSync(out, "utf8")).toMatch(/^flowchart LR\n/);
  expect((await runCli("graph", "kaga", "--format", "dot")).out).toMatch(/^digraph alpha_prime \{/);
  expect((await runCli("graph", "kaga", "--format", "png")).code).toBe(2);
  expect((await runCli("graph", "kaga", "--lang", "ja")).out).toContain("拠点 ");
  expect((await runCli("graph", "kaga", "--lang", "fr")).code).toBe(2);
});

test("the reviewer diff embeds the diagram when the topology changes, and only then", () => {
  const base = synthStacks({ only: ["kaga"] }).dir;
  const kaga = sampleText("kaga");
  const newSite = kaga.replace(/^sites:\n/m, "sites:\n  - name: shobo2\n    publicIp: 198.51.100.40\n    bgpAsn: 65040\n");
  const added = synthStacks({ envDir: envDirWith({ "kaga.yaml": newSite }) }).dir;
  const report = diffSides(readSynthesized(base), readSynthesized(added));
  const m = report.municipalities.find((x) => x.id === "kaga")!;
  expect(m.diagram).toContain("site shobo2<br/>198.51.100.40 AS65040");
  expect(markdown(report)).toContain("<details><summary>Network diagram after this change</summary>\n\n```mermaid\nflowchart LR");
  // an allowlist change is no topology change
  const domainOnly = synthStacks({ envDir: envDirWith({ "kaga.yaml": kaga.replace(/^(  saas: .*)$/m, '$1\n  extraDomains: ["forms.kaga-example.jp"]') }) }).dir;
  expect(diffSides(readSynthesized(base), readSynthesized(domainOnly)).municipalities.find((x) => x.id === "kaga")!.diagram).toBeUndefined();
});
