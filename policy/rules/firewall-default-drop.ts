import type { Rule } from "../types";

export const firewallDefaultDrop: Rule = {
  id: "AP-NET-003",
  severity: "error",
  title: "Firewall policies evaluate rules in strict order and drop whatever no rule passes",
  rationale: "α′ is an allowlist: traffic to anything not explicitly allowed must be dropped, not passed by default.",
  references: { alphaPrime: "接続先制限 (default deny)" },
  check(model) {
    return model.ofType("aws_networkfirewall_firewall_policy").flatMap((p) => {
      const fp = p.values.firewall_policy ?? {};
      const out = [];
      if (fp.stateful_engine_options?.rule_order !== "STRICT_ORDER") out.push({ address: p.address, message: "rule order is not STRICT_ORDER" });
      const actions: string[] = fp.stateful_default_actions ?? [];
      if (!actions.some((a) => a === "aws:drop_established" || a === "aws:drop_strict")) out.push({ address: p.address, message: "has no stateful default drop action" });
      return out;
    });
  },
};
