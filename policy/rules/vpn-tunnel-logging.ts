import type { Rule, Violation } from "../types";

export const vpnTunnelLogging: Rule = {
  id: "AP-VPN-003",
  severity: "error",
  title: "Both tunnels of every Site-to-Site VPN connection log to CloudWatch",
  rationale: "Tunnel logs show negotiation failures and who connected; without them a VPN outage or attack leaves no trace.",
  references: { alphaPrime: "VPN のログ保存" },
  check(model) {
    const out: Violation[] = [];
    for (const v of model.ofType("aws_vpn_connection")) {
      for (const t of ["tunnel1", "tunnel2"]) {
        const o = v.values[`${t}_log_options`]?.cloudwatch_log_options;
        if (o?.log_enabled !== true || !o?.log_group_arn) out.push({ address: v.address, message: `${t} tunnel logging is off` });
      }
    }
    return out;
  },
};
