import { parseDomainPattern } from "../../catalog/domains";
import type { Rule, Violation } from "../types";

const ANY_DESTINATION = new Set(["any", "$EXTERNAL_NET", "0.0.0.0/0", "[0.0.0.0/0]", "::/0"]);

/** Whether one Suricata rule passes traffic to every destination on every port. */
export function suricataPassesEverything(rule: string): boolean {
  const m = /^\s*pass\s+(\S+)\s+(\S+)\s+(\S+)\s+(->|<>)\s+(\S+)\s+(\S+)/.exec(rule);
  return !!m && ANY_DESTINATION.has(m[5]) && m[6] === "any";
}

export const noAllowAll: Rule = {
  id: "AP-NET-004",
  severity: "error",
  title: "No firewall rule allows every destination (wildcard domains, public suffixes, pass to any address and port)",
  rationale: "One allow-all rule turns the α′ allowlist into an open internet connection for the LGWAN side.",
  references: { alphaPrime: "接続先制限" },
  check(model) {
    const out: Violation[] = [];
    for (const g of model.ofType("aws_networkfirewall_rule_group")) {
      const src = g.values.rule_group?.rules_source ?? {};
      const list = src.rules_source_list;
      if (list?.generated_rules_type === "ALLOWLIST") {
        for (const t of list.targets ?? []) {
          const why = parseDomainPattern(t.startsWith(".") ? `*${t}` : t);
          if (typeof why === "string") out.push({ address: g.address, message: `allowlist target '${t}' is refused: ${why}` });
        }
      }
      for (const line of String(src.rules_string ?? "").split("\n")) {
        if (suricataPassesEverything(line)) out.push({ address: g.address, message: `rule passes every destination and port: ${line.trim()}` });
      }
      for (const r of src.stateful_rule ?? []) {
        const h = r.header ?? {};
        const destination = String(h.destination ?? "").toUpperCase() === "ANY" ? "any" : String(h.destination);
        if (r.action === "PASS" && ANY_DESTINATION.has(destination) && String(h.destination_port).toUpperCase() === "ANY") {
          out.push({ address: g.address, message: `stateful rule passes ${h.protocol} to any destination and port` });
        }
      }
      for (const r of src.stateless_rules_and_custom_actions?.stateless_rule ?? []) {
        const def = r.rule_definition ?? {};
        const dests = (def.match_attributes?.destination ?? []).map((d: any) => d.address_definition);
        if ((def.actions ?? []).includes("aws:pass") && (dests.length === 0 || dests.includes("0.0.0.0/0"))) {
          out.push({ address: g.address, message: "stateless rule passes traffic to any destination" });
        }
      }
    }
    return out;
  },
};
