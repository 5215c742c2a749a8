import type { Rule, Violation } from "../types";

export const tgwNoAutoAccept: Rule = {
  id: "AP-TGW-001",
  severity: "error",
  title: "Transit Gateways accept no shared attachment automatically and put no attachment in a default route table",
  rationale:
    "The Transit Gateway is the only way between the LGWAN sites and the breakout: with auto_accept_shared_attachments any account it is shared with could attach a VPC unreviewed, " +
    "and with a default route table association and propagation every new attachment (a site VPN, someone's VPC) would join one table with routes to all the others, so traffic could pass between sites and around the inspection VPC. " +
    "Each attachment is associated with its table explicitly; the provider's defaults are association and propagation enabled, so the rule reads a missing value as enabled.",
  references: { alphaPrime: "経路の分離（検査VPCの迂回防止）", fsbp: "EC2.23", checkov: ["CKV_AWS_331"] },
  check(model) {
    const out: Violation[] = [];
    for (const t of model.ofType("aws_ec2_transit_gateway")) {
      if (t.values.auto_accept_shared_attachments === "enable") out.push({ address: t.address, message: "auto_accept_shared_attachments is enable" });
      for (const a of ["default_route_table_association", "default_route_table_propagation"]) {
        if (t.values[a] !== "disable") out.push({ address: t.address, message: `${a} is ${t.values[a] ?? "enable (the provider's default)"}` });
      }
    }
    for (const a of model.ofType("aws_ec2_transit_gateway_vpc_attachment", "aws_ec2_transit_gateway_vpc_attachment_accepter")) {
      for (const k of ["transit_gateway_default_route_table_association", "transit_gateway_default_route_table_propagation"]) {
        if (a.values[k] !== false && a.values[k] !== "false") out.push({ address: a.address, message: `${k} is ${a.values[k] ?? "true (the provider's default)"}` });
      }
    }
    return out;
  },
};
