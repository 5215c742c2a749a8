import type { Rule, Violation } from "../types";

export const vpnIkev2Only: Rule = {
  id: "AP-VPN-001",
  severity: "error",
  title: "Site-to-Site VPN tunnels negotiate IKEv2 only",
  rationale: "Left unset, AWS tunnels also accept IKEv1, which is weaker and slower to detect failures.",
  references: { alphaPrime: "拠点間 VPN の強い暗号" },
  check(model) {
    const out: Violation[] = [];
    for (const v of model.ofType("aws_vpn_connection")) {
      for (const t of ["tunnel1", "tunnel2"]) {
        const versions = v.values[`${t}_ike_versions`];
        if (!Array.isArray(versions) || versions.length !== 1 || versions[0] !== "ikev2") out.push({ address: v.address, message: `${t}_ike_versions is ${JSON.stringify(versions ?? "unset (AWS default allows ikev1)")}` });
      }
    }
    return out;
  },
};
