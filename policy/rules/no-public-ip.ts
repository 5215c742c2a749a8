import { isTrue } from "../model";
import type { Rule, Violation } from "../types";

export const noPublicIp: Rule = {
  id: "AP-NET-007",
  severity: "error",
  title: "No instance, launch template or subnet gives out public IP addresses",
  rationale: "Only the NAT gateways' fixed egress addresses face the internet; an instance with a public address bypasses the firewall.",
  references: { alphaPrime: "外部公開の禁止", fsbp: "EC2.9", checkov: ["CKV_AWS_88", "CKV_AWS_130"], trivy: ["AVD-AWS-0009", "AVD-AWS-0164"] },
  check(model) {
    const out: Violation[] = [];
    for (const i of model.ofType("aws_instance")) if (isTrue(i.values.associate_public_ip_address)) out.push({ address: i.address, message: "associates a public IP address" });
    for (const lt of model.ofType("aws_launch_template")) {
      if ((lt.values.network_interfaces ?? []).some((n: any) => isTrue(n.associate_public_ip_address))) out.push({ address: lt.address, message: "network interface associates a public IP address" });
    }
    for (const s of model.ofType("aws_subnet")) if (isTrue(s.values.map_public_ip_on_launch)) out.push({ address: s.address, message: "maps public IP addresses on launch" });
    return out;
  },
};
