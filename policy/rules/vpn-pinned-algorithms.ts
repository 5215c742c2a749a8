import { PINNED_TUNNEL_ATTRIBUTES } from "../../constructs/vpn-concentrator";
import type { Rule, Violation } from "../types";
import { vpnTunnels } from "../vpn-tunnels";

// IKE versions have a rule of their own (AP-VPN-001).
const ALLOWED = Object.fromEntries(Object.entries(PINNED_TUNNEL_ATTRIBUTES).filter(([k]) => k !== "ike_versions"));

export const vpnPinnedAlgorithms: Rule = {
  id: "AP-VPN-002",
  severity: "error",
  title: "VPN tunnels allow only the pinned strong algorithms (AES-256/GCM, SHA-2 256+, DH 14/19/20/21)",
  rationale: "Unset algorithm lists let AWS negotiate AES-128, SHA-1 and DH group 2; a peer could downgrade the tunnel.",
  references: { alphaPrime: "拠点間 VPN の強い暗号" },
  check(model) {
    const out: Violation[] = [];
    for (const t of vpnTunnels(model)) {
      for (const [key, allowed] of Object.entries(ALLOWED)) {
        const value = t.get(key);
        if (!Array.isArray(value) || value.length === 0) out.push({ address: t.address, message: `${t.name}_${key} is unset (AWS defaults include weak algorithms)` });
        else {
          const weak = value.filter((x) => !allowed.includes(x));
          if (weak.length) out.push({ address: t.address, message: `${t.name}_${key} allows ${weak.join(", ")}` });
        }
      }
    }
    return out;
  },
};
