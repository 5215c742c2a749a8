import type { Rule, Violation } from "../types";

export const imdsv2Required: Rule = {
  id: "AP-EC2-001",
  severity: "error",
  title: "Instances require IMDSv2 with a hop limit of 1",
  rationale: "IMDSv1 lets a forwarded request steal the instance role's credentials (SSRF); hop limit 1 keeps tokens on the instance.",
  references: { alphaPrime: "中継アプライアンスの堅牢化", fsbp: "EC2.8", checkov: ["CKV_AWS_79", "CKV_AWS_341"], trivy: ["AVD-AWS-0028", "AVD-AWS-0130"] },
  check(model) {
    const out: Violation[] = [];
    for (const r of model.ofType("aws_launch_template", "aws_instance")) {
      const m = r.values.metadata_options;
      if (m?.http_endpoint === "disabled") continue;
      if (m?.http_tokens !== "required") out.push({ address: r.address, message: "http_tokens is not 'required' (IMDSv1 allowed)" });
      if (typeof m?.http_put_response_hop_limit === "number" && m.http_put_response_hop_limit > 1) out.push({ address: r.address, message: `metadata hop limit is ${m.http_put_response_hop_limit}` });
    }
    return out;
  },
};
