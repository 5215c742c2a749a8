/**
 * `alpha-prime graph <id>`: a diagram of one municipality's network, drawn from its synthesized stack (never from
 * the config), so it cannot drift from what deploys: sites and tunnels, Transit Gateway, the breakout VPC with its
 * firewall, NAT and egress, the tenant proxy and relay, Client VPN, DNS forwarding, and where logs go.
 * Mermaid text (GitHub renders it in README and PR comments) or SVG drawn by Graphviz (`dot`, offline), labelled
 * in English or Japanese (procurement documents and security-policy reviews are written in Japanese).
 */
import { spawnSync } from "child_process";
import { Lang, render, Text, tr } from "../core/messages";
import { fromTerraformLiteral } from "../constructs/terraform-text";

export interface Topology {
  readonly id: string;
  /** the municipality's name, as the stack tags it */
  readonly name?: string;
  readonly region?: string;
  readonly lgwanSegments: string[];
  readonly sites: { name: string; ip: string; asn: string; connections: number }[];
  readonly vpcCidr?: string;
  readonly availabilityZones: string[];
  readonly firewall?: { name: string; allowlistNames: number; threatGroups: number };
  readonly natGateways: number;
  readonly tenantProxy?: { addresses: string[]; instances: number; sanitization?: string };
  readonly relay?: { routes: string[]; instances: number };
  readonly clientVpn?: { cidr: string };
  readonly resolver?: { addresses: string[] };
  readonly dnsFirewall: boolean;
  readonly logBucket?: string;
  readonly logGroups: string[];
}

type Json = Record<string, any>;

const bodies = (json: Json, type: string): Json[] => Object.values<Json>(json.resource?.[type] ?? {});

export function topologyOf(id: string, json: Json): Topology {
  const cgws = new Map(Object.entries<Json>(json.resource?.aws_customer_gateway ?? {}).map(([name, b]) => [`aws_customer_gateway.${name}`, b]));
  const connections = new Map<string, number>();
  for (const v of bodies(json, "aws_vpn_connection")) {
    const ref = /^\$\{(aws_customer_gateway\.[^.}]+)\.id\}$/.exec(String(v.customer_gateway_id))?.[1];
    if (ref) connections.set(ref, (connections.get(ref) ?? 0) + 1);
  }
  const sites = [...cgws.entries()].map(([address, b]) => ({ name: String(b.device_name ?? b.tags?.Name ?? address), ip: String(b.ip_address), asn: String(b.bgp_asn), connections: connections.get(address) ?? 0 })).sort((a, b) => a.name.localeCompare(b.name));
  const firewall = bodies(json, "aws_networkfirewall_firewall")[0];
  const domainGroup = Object.entries<Json>(json.resource?.aws_networkfirewall_rule_group ?? {}).find(([n]) => n.startsWith("Breakout_DomainAllowlist"))?.[1];
  const policy = bodies(json, "aws_networkfirewall_firewall_policy")[0];
  const threatGroups = (policy?.firewall_policy?.stateful_rule_group_reference ?? []).filter((r: Json) => String(r.resource_arn).includes(":aws-managed:")).length;
  const lbs = Object.entries<Json>(json.resource?.aws_lb ?? {});
  const asgs = Object.entries<Json>(json.resource?.aws_autoscaling_group ?? {});
  // the proxy's group scales and leaves desired_capacity to its policy: its floor is min_size
  const proxyAsg = asgs.find(([n]) => n.startsWith("TenantProxy_"))?.[1];
  const proxyLb = lbs.find(([n]) => n.startsWith("TenantProxy_"))?.[1];
  const relayLb = lbs.find(([n]) => n.startsWith("Relay_"))?.[1];
  const ap = json.locals?.alpha_prime ?? {};
  const cvpn = bodies(json, "aws_ec2_client_vpn_endpoint")[0];
  const resolver = bodies(json, "aws_route53_resolver_endpoint").find((r) => r.direction === "INBOUND");
  const logBucket = Object.entries<Json>(json.resource?.aws_s3_bucket ?? {}).find(([n]) => n.startsWith("LogArchive_LogBucket_"))?.[1].bucket as string | undefined;
  const tags = json.provider?.aws?.[0]?.default_tags?.[0]?.tags ?? {};
  return {
    id,
    name: typeof tags.MunicipalityName === "string" ? fromTerraformLiteral(tags.MunicipalityName) : undefined,
    region: json.provider?.aws?.[0]?.region,
    lgwanSegments: ap.lgwan_segments ?? [],
    sites,
    vpcCidr: bodies(json, "aws_vpc")[0]?.cidr_block,
    availabilityZones: [...new Set(bodies(json, "aws_subnet").map((s) => String(s.availability_zone)))].sort(),
    firewall: firewall ? { name: String(firewall.name), allowlistNames: domainGroup?.rule_group?.rules_source?.rules_source_list?.targets?.length ?? 0, threatGroups } : undefined,
    natGateways: bodies(json, "aws_nat_gateway").length,
    tenantProxy: proxyLb
      ? {
          addresses: (proxyLb.subnet_mapping ?? []).map((m: Json) => String(m.private_ipv4_address)),
          instances: Number(proxyAsg?.desired_capacity ?? proxyAsg?.min_size ?? 0),
          sanitization: ap.tenant_restriction?.sanitization?.engine,
        }
      : undefined,
    relay: relayLb ? { routes: Object.entries<Json>(json.resource?.aws_lb_listener ?? {}).filter(([n]) => n.startsWith("Relay_")).map(([, l]) => String(l.port)), instances: Number(asgs.find(([n]) => n.startsWith("Relay_"))?.[1].desired_capacity ?? 0) } : undefined,
    clientVpn: cvpn ? { cidr: String(cvpn.client_cidr_block) } : undefined,
    resolver: resolver ? { addresses: (resolver.ip_address ?? []).map((a: Json) => String(a.ip)) } : undefined,
    dnsFirewall: bodies(json, "aws_route53_resolver_firewall_rule_group_association").length > 0,
    logBucket,
    logGroups: bodies(json, "aws_cloudwatch_log_group").map((g) => String(g.name)).sort(),
  };
}

interface Node {
  readonly id: string;
  readonly label: string[];
  readonly shape?: "store" | "cloud";
  readonly cluster: "lgwan" | "vpc" | "aws" | "outside";
}
interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
  readonly style?: "bold" | "dashed";
}

/** One picture for both renderers: nodes in clusters (LGWAN side, AWS, breakout VPC, internet) and labelled edges. */
function picture(t: Topology, lang: Lang): { nodes: Node[]; edges: Edge[]; titles: Record<"lgwan" | "aws" | "vpc", string> } {
  const w = (text: Text) => render(text, lang);
  const nodes: Node[] = [];
  const edges: Edge[] = [];
  nodes.push({ id: "lgwan", label: [w(tr`LGWAN接続系 segments`), ...t.lgwanSegments], cluster: "lgwan" });
  for (const [i, s] of t.sites.entries()) {
    nodes.push({ id: `site${i}`, label: [w(tr`site ${s.name}`), `${s.ip} AS${s.asn}`], cluster: "lgwan" });
    edges.push({ from: "lgwan", to: `site${i}` });
    edges.push({ from: `site${i}`, to: "tgw", label: w(tr`IPsec VPN ×${s.connections} (2 tunnels each)`), style: "bold" });
  }
  nodes.push({ id: "tgw", label: ["Transit Gateway"], cluster: "aws" });
  edges.push({ from: "tgw", to: "fw", label: w(tr`0.0.0.0/0 to the breakout`) });
  if (t.firewall) nodes.push({ id: "fw", label: ["Network Firewall", w(tr`${t.firewall.allowlistNames} allowlisted names (TLS SNI / HTTP Host)`), w(tr`${t.firewall.threatGroups} AWS-managed threat groups, default drop`)], cluster: "vpc" });
  nodes.push({ id: "nat", label: [w(tr`NAT gateways ×${t.natGateways}`), w(tr`fixed egress IPs (output egress_ips)`)], cluster: "vpc" });
  nodes.push({ id: "internet", label: [w(tr`Internet: allowlisted SaaS only`)], shape: "cloud", cluster: "outside" });
  edges.push({ from: "fw", to: "nat" });
  edges.push({ from: "nat", to: "internet" });
  const instances = (n: number) => w(tr`${n} instances`);
  if (t.resolver) {
    nodes.push({ id: "resolver", label: [w(tr`Inbound resolver`), ...t.resolver.addresses, t.dnsFirewall ? w(tr`DNS Firewall: allowlist only`) : ""].filter(Boolean), cluster: "vpc" });
    edges.push({ from: "lgwan", to: "resolver", label: w(tr`DNS forwarding (allowlisted zones)`), style: "dashed" });
  }
  if (t.tenantProxy) {
    nodes.push({ id: "proxy", label: [w(tr`Tenant-restriction proxy (Squid)`), t.tenantProxy.addresses.map((a) => `${a}:3128`).join(", "), instances(t.tenantProxy.instances), t.tenantProxy.sanitization ? `無害化: ${t.tenantProxy.sanitization}` : ""].filter(Boolean), cluster: "vpc" });
    edges.push({ from: "lgwan", to: "proxy", label: w(tr`PAC: header and file hosts`), style: "dashed" });
    edges.push({ from: "proxy", to: "fw" });
  }
  if (t.relay) {
    nodes.push({ id: "relay", label: [w(tr`Relay appliance (HAProxy)`), w(tr`ports ${t.relay.routes.join(", ")}`), instances(t.relay.instances)], cluster: "vpc" });
    edges.push({ from: "relay", to: "tgw", label: w(tr`to on-prem targets`) });
  }
  if (t.clientVpn) {
    nodes.push({ id: "cvpn", label: ["Client VPN", w(tr`clients ${t.clientVpn.cidr}`)], cluster: "vpc" });
    edges.push({ from: "cvpn", to: "tgw", label: w(tr`to LGWAN`) });
    if (t.relay) edges.push({ from: "cvpn", to: "relay" });
  }
  if (t.logBucket) {
    nodes.push({ id: "logs", label: [w(tr`Log archive (S3, Object Lock)`), t.logBucket, w(tr`${t.logGroups.length} CloudWatch log groups`)], shape: "store", cluster: "aws" });
    edges.push({ from: "fw", to: "logs", label: w(tr`alert + flow logs`), style: "dashed" });
    if (t.resolver) edges.push({ from: "resolver", to: "logs", label: w(tr`query logs`), style: "dashed" });
    if (t.tenantProxy) edges.push({ from: "proxy", to: "logs", label: w(tr`access + verdict logs`), style: "dashed" });
  }
  const titles = {
    lgwan: w(tr`${t.name ? `${t.name} (${t.id})` : t.id}: LGWAN side (on-prem)`),
    aws: `AWS ${t.region ?? ""}`.trim(),
    vpc: w(tr`breakout VPC ${t.vpcCidr ?? ""} (${t.availabilityZones.join(", ")})`),
  };
  return { nodes, edges, titles };
}

/** Mermaid labels: quotes, angle brackets and backticks as entities (a label is text, never markup or a fence). */
function mermaidText(s: string): string {
  return s.replace(/&/g, "#amp;").replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;").replace(/`/g, "#96;").replace(/[\r\n]/g, " ");
}

export function mermaid(t: Topology, lang: Lang = "en"): string {
  const { nodes, edges, titles } = picture(t, lang);
  const node = (n: Node) => {
    const label = `"${n.label.map(mermaidText).join("<br/>")}"`;
    return n.shape === "store" ? `${n.id}[(${label})]` : n.shape === "cloud" ? `${n.id}((${label}))` : `${n.id}[${label}]`;
  };
  const lines = ["flowchart LR"];
  const cluster = (name: string, title: string, members: Node[], indent = "  ") => {
    lines.push(`${indent}subgraph ${name}["${mermaidText(title)}"]`);
    for (const n of members) lines.push(`${indent}  ${node(n)}`);
    return () => lines.push(`${indent}end`);
  };
  cluster("onprem", titles.lgwan, nodes.filter((n) => n.cluster === "lgwan"))();
  const closeAws = cluster("aws", titles.aws, nodes.filter((n) => n.cluster === "aws"));
  cluster("vpc", titles.vpc, nodes.filter((n) => n.cluster === "vpc"), "    ")();
  closeAws();
  for (const n of nodes.filter((x) => x.cluster === "outside")) lines.push(`  ${node(n)}`);
  for (const e of edges) {
    const arrow = e.style === "bold" ? "==>" : e.style === "dashed" ? "-.->" : "-->";
    lines.push(`  ${e.from} ${arrow}${e.label ? `|"${mermaidText(e.label)}"|` : ""} ${e.to}`);
  }
  return lines.join("\n") + "\n";
}

/** Graphviz DOT of the same picture (strings quoted and escaped for DOT). */
export function dot(t: Topology, lang: Lang = "en"): string {
  const { nodes, edges, titles } = picture(t, lang);
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/[\r\n]/g, " ");
  const q = (s: string) => `"${esc(s)}"`;
  // one escaped line each, joined by DOT's own line break
  const node = (n: Node) => `${n.id} [label="${n.label.map(esc).join("\\n")}"${n.shape === "store" ? ", shape=cylinder" : n.shape === "cloud" ? ", shape=ellipse" : ", shape=box"}];`;
  const font = '"Noto Sans CJK JP,sans-serif"';
  const lines = ["digraph alpha_prime {", "  rankdir=LR;", `  graph [fontname=${font}, fontsize=12];`, `  node [fontname=${font}, fontsize=10];`, `  edge [fontname=${font}, fontsize=9];`];
  lines.push(`  subgraph cluster_lgwan { label=${q(titles.lgwan)};`, ...nodes.filter((n) => n.cluster === "lgwan").map((n) => `    ${node(n)}`), "  }");
  // the AWS and VPC titles go below their boxes: the tunnels enter the AWS box and the log edges leave the VPC
  // through their top sides, and would write over a title there
  lines.push(`  subgraph cluster_aws { labelloc=b; label=${q(titles.aws)};`, ...nodes.filter((n) => n.cluster === "aws").map((n) => `    ${node(n)}`));
  lines.push(`    subgraph cluster_vpc { labelloc=b; label=${q(titles.vpc)};`, ...nodes.filter((n) => n.cluster === "vpc").map((n) => `      ${node(n)}`), "    }", "  }");
  for (const n of nodes.filter((x) => x.cluster === "outside")) lines.push(`  ${node(n)}`);
  for (const e of edges) lines.push(`  ${e.from} -> ${e.to} [${[e.label ? `label=${q(e.label)}` : "", e.style === "bold" ? "penwidth=2" : e.style === "dashed" ? "style=dashed" : ""].filter(Boolean).join(", ")}];`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** SVG drawn by Graphviz's `dot` (Debian package graphviz), offline. */
export function svg(t: Topology, lang: Lang = "en"): string {
  const r = spawnSync(process.env.ALPHA_PRIME_DOT || "dot", ["-Tsvg"], { input: dot(t, lang), encoding: "utf8", timeout: 60_000 });
  if (r.error) throw new Error(`cannot run Graphviz 'dot' (${r.error.message}): install it (apt-get install graphviz) or use --format mermaid`);
  if (r.status !== 0) throw new Error(`Graphviz 'dot' failed: ${r.stderr}`);
  // scale to the window or page (the viewBox keeps the proportions) instead of Graphviz's fixed size in points,
  // which is wider than an office laptop's screen for every sample
  return r.stdout.replace(/<svg width="[^"]*" height="[^"]*"/, '<svg width="100%"');
}
