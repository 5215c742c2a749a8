import type { Rule } from "../types";
import { vpnTunnels } from "../vpn-tunnels";

export const vpnTunnelLogging: Rule = {
  id: "AP-VPN-003",
  severity: "error",
  title: "Both tunnels of every Site-to-Site VPN connection log to CloudWatch",
  rationale: "Tunnel logs show negotiation failures and who connected; without them a VPN outage or attack leaves no trace.",
  references: { alphaPrime: "VPN のログ保存" },
  check(model) {
    return vpnTunnels(model).flatMap((t) => {
      const o = t.get("log_options")?.cloudwatch_log_options;
      return o?.log_enabled === true && o?.log_group_arn ? [] : [{ address: t.address, message: `${t.name} tunnel logging is off` }];
    });
  },
};
