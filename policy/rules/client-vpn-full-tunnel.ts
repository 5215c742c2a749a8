import type { Rule } from "../types";

export const clientVpnFullTunnel: Rule = {
  id: "AP-VPN-005",
  severity: "error",
  title: "Client VPN endpoints are full tunnel (no split tunnelling)",
  rationale: "With split tunnelling a remote device reaches the internet directly, outside the α′ allowlist that office PCs obey.",
  references: { alphaPrime: "リモート端末にも同じ接続先制限" },
  check(model) {
    return model
      .ofType("aws_ec2_client_vpn_endpoint")
      .filter((e) => e.values.split_tunnel === true)
      .map((e) => ({ address: e.address, message: "split_tunnel is true" }));
  },
};
