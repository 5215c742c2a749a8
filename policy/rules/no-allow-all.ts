import { resourceEntries, stackNameGrants, stackRuleGroups } from "../tenant-scope";
import { hostingProblemsOf, passRuleProblems } from "../pass-rules";
import { addressSet, isEverything } from "../suricata";
import type { Rule, Violation } from "../types";
import { domainPattern } from "../domain-patterns";

const NO_VARIABLES = { ipSets: new Map(), portSets: new Map() };

export const noAllowAll: Rule = {
  id: "AP-NET-004",
  severity: "error",
  title: "No firewall rule allows every destination, and every pass rule is provably narrow (wildcard domains, public suffixes, public hosting, pass to any address)",
  rationale:
    "One allow-all rule turns the α′ allowlist into an open internet connection for the LGWAN side. The rules are read as the firewall's Suricata engine reads them — action and protocol in any case, address lists and port ranges that add up to everything ([0.0.0.0/1,128.0.0.0/1], 1:65535) — and a pass rule counts as narrow only when it names its hosts on a label boundary, goes to a bounded set of addresses, or comes only from the gateway's own instances (never from a subnet Client VPN is associated with: it translates remote devices to its interfaces there); a wildcard over public hosting (*.github.io, *.trycloudflare.com: anyone can publish there) needs a reviewed catalog exception or the municipality's waiver, as at validate.",
  references: { alphaPrime: "接続先制限" },
  check(model) {
    const out: Violation[] = [];
    const resources = resourceEntries(model);
    for (const g of model.ofType("aws_networkfirewall_rule_group")) {
      const src = g.values.rule_group?.rules_source ?? {};
      const list = src.rules_source_list;
      if (list?.generated_rules_type === "ALLOWLIST") {
        for (const t of list.targets ?? []) {
          const why = domainPattern(String(t).startsWith(".") ? `*${t}` : String(t));
          if (typeof why === "string") out.push({ address: g.address, message: `allowlist target '${t}' is refused: ${why}` });
        }
      }
      for (const r of src.stateless_rules_and_custom_actions?.stateless_rule ?? []) {
        const def = r.rule_definition ?? {};
        const dests: string[] = (def.match_attributes?.destination ?? []).map((d: any) => String(d.address_definition));
        const everywhere = dests.length === 0 || isEverything(addressSet(`[${dests.join(",")}]`, NO_VARIABLES), "address");
        if ((def.actions ?? []).includes("aws:pass") && everywhere) out.push({ address: g.address, message: "stateless rule passes traffic to any destination" });
      }
    }
    for (const p of passRuleProblems(resources, stackRuleGroups(model))) out.push({ address: p.address, message: p.message });
    const ctx = model.context.tenantRestriction;
    for (const p of hostingProblemsOf(stackNameGrants(model), { services: ctx?.services, waivers: model.context.publicHostingWaivers })) out.push({ address: p.address, message: p.message });
    return out;
  },
};
