import { ingressRules } from "../security-groups";
import type { Rule } from "../types";

export const noPublicIngress: Rule = {
  id: "AP-NET-006",
  severity: "error",
  title: "No security group admits traffic from 0.0.0.0/0 or ::/0",
  rationale: "Nothing in the breakout accepts connections from the internet; the relay exists precisely so that nothing has to.",
  references: { alphaPrime: "インバウンド通信の禁止", fsbp: "EC2.18", checkov: ["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260", "CKV_AWS_277"], trivy: ["AVD-AWS-0107"] },
  check(model) {
    return ingressRules(model)
      .filter((r) => r.sources.some((s) => s === "0.0.0.0/0" || s === "::/0"))
      .map((r) => ({ address: r.address, message: `admits ${r.sources.join(", ")} on ports ${r.from}-${r.to}` }));
  },
};
