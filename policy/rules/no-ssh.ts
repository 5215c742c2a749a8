import { ingressRules } from "../security-groups";
import type { Rule, Violation } from "../types";

export const noSsh: Rule = {
  id: "AP-EC2-003",
  severity: "error",
  title: "No SSH: no key pairs on instances and no security group opens port 22",
  rationale: "Operators reach instances through Session Manager, which is logged and needs no open port; an SSH key is a credential that outlives people.",
  references: { alphaPrime: "中継アプライアンスの堅牢化", checkov: ["CKV_AWS_24"], trivy: ["AVD-AWS-0107"] },
  check(model) {
    const out: Violation[] = [];
    for (const r of model.ofType("aws_launch_template", "aws_instance")) if (r.values.key_name) out.push({ address: r.address, message: `uses key pair '${r.values.key_name}'` });
    for (const r of ingressRules(model)) {
      if ((r.protocol === "tcp" || r.protocol === "6" || r.protocol === "-1") && r.from <= 22 && r.to >= 22) out.push({ address: r.address, message: `opens port 22 (${r.from}-${r.to})` });
    }
    return out;
  },
};
