import type { Rule } from "../types";

export const clientVpnConnectionLogging: Rule = {
  id: "AP-VPN-004",
  severity: "error",
  title: "Client VPN endpoints log connections",
  rationale: "Which device connected from where and when is the audit trail of remote access from homes and evacuation shelters.",
  references: { alphaPrime: "リモートアクセスのログ保存", fsbp: "EC2.51" },
  check(model) {
    return model
      .ofType("aws_ec2_client_vpn_endpoint")
      .filter((e) => e.values.connection_log_options?.enabled !== true || !e.values.connection_log_options?.cloudwatch_log_group)
      .map((e) => ({ address: e.address, message: "connection logging is off" }));
  },
};
