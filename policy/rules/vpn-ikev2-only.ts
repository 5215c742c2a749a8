import type { Rule } from "../types";
import { vpnTunnels } from "../vpn-tunnels";

export const vpnIkev2Only: Rule = {
  id: "AP-VPN-001",
  severity: "error",
  title: "Site-to-Site VPN tunnels negotiate IKEv2 only",
  rationale: "Left unset, AWS tunnels also accept IKEv1, which is weaker and slower to detect failures.",
  references: { alphaPrime: "拠点間 VPN の強い暗号" },
  check(model) {
    return vpnTunnels(model).flatMap((t) => {
      const versions = t.get("ike_versions");
      const ok = Array.isArray(versions) && versions.length === 1 && versions[0] === "ikev2";
      return ok ? [] : [{ address: t.address, message: `${t.name}_ike_versions is ${JSON.stringify(versions ?? "unset (AWS default allows ikev1)")}` }];
    });
  },
};
