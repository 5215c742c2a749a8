import type { Rule } from "../types";

export const vpcFlowLogs: Rule = {
  id: "AP-NET-001",
  severity: "error",
  title: "Every VPC has flow logs of all traffic",
  rationale: "Flow logs are the record of every connection through the breakout, accepted or rejected.",
  references: { alphaPrime: "通信ログの取得", fsbp: "EC2.6", checkov: ["CKV2_AWS_11"], trivy: ["AVD-AWS-0178"] },
  check(model) {
    const flowLogs = model.ofType("aws_flow_log");
    return model
      .ofType("aws_vpc")
      .filter((v) => !flowLogs.some((f) => model.pointsAt(f.values.vpc_id, v) && f.values.traffic_type === "ALL"))
      .map((v) => ({ address: v.address, message: "has no flow log with traffic_type ALL" }));
  },
};
