import { Cidr, cidrsOverlap, parseCidr } from "../../core/cidr";
import { asArray } from "../model";
import type { Rule, Violation } from "../types";
import { ruleLines } from "../suricata";

export const ANY_DESTINATION = new Set(["any", "$EXTERNAL_NET", "0.0.0.0/0", "[0.0.0.0/0]"]);
/** Protocols without an application layer the firewall reads a name from: a pass of these is a pass by port. */
export const BY_PORT = new Set(["tcp", "udp", "ip", "icmp"]);
/** Keywords that narrow a rule beyond its header (a name, content): such a rule is not a pass by port alone. */
export const NARROWING = /\b(content|tls\.sni|http\.host|dns\.query|ja3\.hash|app-layer-protocol)\s*[:;]/;

/** The addresses a Suricata address spec stands for ("[a,b]", "$VAR", "a"); undefined for "any" or a negation. */
function addresses(spec: string, variables: Map<string, string[]>): Cidr[] | undefined {
  if (spec.toLowerCase() === "any" || spec.includes("!")) return undefined;
  const parts = spec.replace(/^\[|\]$/g, "").split(",").map((p) => p.trim()).filter(Boolean);
  const out: Cidr[] = [];
  for (const p of parts) {
    if (p.startsWith("$")) {
      const v = variables.get(p.slice(1));
      if (!v) return undefined;
      for (const d of v) {
        const c = parseCidr(d.includes("/") ? d : `${d}/32`);
        if (typeof c === "string") return undefined;
        out.push(c);
      }
      continue;
    }
    const c = parseCidr(p.includes("/") ? p : `${p}/32`);
    if (typeof c === "string") return undefined;
    out.push(c);
  }
  return out;
}

export const portPassSource: Rule = {
  id: "AP-NET-010",
  severity: "error",
  title: "A firewall pass by port alone to every internet address comes only from subnets where no remote-access client and no LGWAN PC can be (the relay's own)",
  rationale:
    "For traffic without a name the firewall can read (SMTP submission with STARTTLS on 587), the allowlist can only pass a port, to any host. Whoever may send from the pass's source can then run anything over that port to anywhere: an SSH server or a VPN on 587 beats the whole allowlist. Client VPN translates remote devices to its interfaces in the private subnets, so a source that holds them, or an LGWAN segment, or HOME_NET, opens that door to every full-tunnel device and PC; only subnets where the relay alone lives may carry such a pass.",
  references: {
    alphaPrime: "接続先制限 (中継アプライアンスのポート単位通過の範囲)",
    aws: [
      { title: "Client VPN: access to resources, clients are translated to the endpoint's network interfaces (AWS re:Post Knowledge Center)", url: "https://repost.aws/knowledge-center/client-vpn-give-users-resource-access" },
      { title: "Suricata compatible rule strings in AWS Network Firewall", url: "https://docs.aws.amazon.com/network-firewall/latest/developerguide/stateful-rule-groups-suricata.html" },
    ],
  },
  check(model) {
    const out: Violation[] = [];
    const clientVpnSubnets = model.ofType("aws_ec2_client_vpn_network_association")
      .map((a) => model.referenced(a.values.subnet_id))
      .map((s) => ({ address: s?.address, cidr: model.memo(parseCidr, s?.values.cidr_block) }))
      .filter((s): s is { address: string; cidr: Cidr } => !!s.address && typeof s.cidr !== "string");
    const lgwan = (model.context.lgwanSegments ?? []).map((s) => parseCidr(s)).filter((c): c is Cidr => typeof c !== "string");
    for (const g of model.ofType("aws_networkfirewall_rule_group")) {
      const rg = g.values.rule_group ?? {};
      const variables = new Map<string, string[]>(asArray<any>(rg.rule_variables?.ip_sets).map((s) => [s.key, asArray<string>(s.ip_set?.definition)]));
      const judged = ruleLines(rg.rules_source?.rules_string).map((line) => {
        const m = /^pass\s+(\S+)\s+(\S+)\s+\S+\s+(?:->|<>)\s+(\S+)\s+(\S+)/.exec(line);
        return m && !NARROWING.test(line) ? { line, proto: m[1], src: m[2], dst: m[3], port: m[4] } : undefined;
      });
      for (const r of asArray<any>(rg.rules_source?.stateful_rule)) {
        const h = r.header ?? {};
        if (r.action === "PASS") judged.push({ line: `${h.protocol} ${h.source} -> ${h.destination} ${h.destination_port}`, proto: String(h.protocol).toLowerCase(), src: String(h.source), dst: String(h.destination).toUpperCase() === "ANY" ? "any" : String(h.destination), port: String(h.destination_port) });
      }
      for (const j of judged) {
        if (!j || !BY_PORT.has(j.proto) || !ANY_DESTINATION.has(j.dst)) continue;
        const src = addresses(j.src, variables);
        if (!src) {
          out.push({ address: g.address, message: `passes ${j.proto} port ${j.port} to every internet address from ${j.src}, which is not a list of the relay's own subnets: ${j.line}` });
          continue;
        }
        for (const c of src) {
          const vpn = clientVpnSubnets.find((s) => cidrsOverlap(s.cidr, c));
          if (vpn) out.push({ address: g.address, message: `passes ${j.proto} port ${j.port} to every internet address from ${c.text}, which holds the Client VPN subnet ${vpn.address} (${vpn.cidr.text}): full-tunnel devices could reach any host on that port` });
          const seg = lgwan.find((l) => cidrsOverlap(l, c));
          if (seg) out.push({ address: g.address, message: `passes ${j.proto} port ${j.port} to every internet address from ${c.text}, which overlaps the LGWAN segment ${seg.text}` });
        }
      }
    }
    return out;
  },
};
