import type { Rule } from "../types";

export const firewallLogging: Rule = {
  id: "AP-NET-002",
  severity: "error",
  title: "Network Firewalls log both ALERT and FLOW",
  rationale: "ALERT logs show what the allowlist and IPS blocked, FLOW logs show what passed: both are needed to answer an audit.",
  references: { alphaPrime: "UTM のログ保存", fsbp: "NetworkFirewall.2", checkov: ["CKV2_AWS_63"] },
  check(model) {
    return model.ofType("aws_networkfirewall_firewall").flatMap((fw) => {
      const types = new Set(
        model
          .attached("aws_networkfirewall_logging_configuration", "firewall_arn", fw)
          .flatMap((l) => (l.values.logging_configuration?.log_destination_config ?? []).map((d: any) => d.log_type)),
      );
      const missing = ["ALERT", "FLOW"].filter((t) => !types.has(t));
      return missing.length ? [{ address: fw.address, message: `does not log ${missing.join(" and ")}` }] : [];
    });
  },
};
