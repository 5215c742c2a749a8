import { isTrue } from "../model";
import type { Rule, Violation } from "../types";

export const ebsEncrypted: Rule = {
  id: "AP-EC2-002",
  severity: "error",
  title: "Instance volumes are KMS-encrypted",
  rationale: "Relay instances hold mail in transit and logs before shipping; their disks are encrypted like every other store.",
  references: { alphaPrime: "中継アプライアンスの堅牢化", fsbp: "EC2.7", checkov: ["CKV_AWS_8", "CKV_AWS_3"], trivy: ["AVD-AWS-0131", "AVD-AWS-0026"] },
  check(model) {
    const out: Violation[] = [];
    for (const lt of model.ofType("aws_launch_template")) {
      const devices = lt.values.block_device_mappings ?? [];
      if (devices.length === 0) out.push({ address: lt.address, message: "declares no block device (the AMI's unencrypted default would apply)" });
      for (const d of devices) if (d.ebs && !isTrue(d.ebs.encrypted)) out.push({ address: lt.address, message: `${d.device_name} is not encrypted` });
    }
    for (const i of model.ofType("aws_instance")) if (!isTrue(i.values.root_block_device?.encrypted)) out.push({ address: i.address, message: "root volume is not encrypted" });
    for (const v of model.ofType("aws_ebs_volume")) if (!isTrue(v.values.encrypted)) out.push({ address: v.address, message: "volume is not encrypted" });
    return out;
  },
};
