import { isTrue } from "../model";
import type { Rule } from "../types";

export const lbDeletionProtection: Rule = {
  id: "AP-ELB-001",
  severity: "error",
  title: "Load balancers have deletion protection",
  rationale:
    "The relay's and the tenant proxy's load balancers hold the fixed addresses that PAC files on every LGWAN PC and the phones' mail settings point at; deleting one by accident stops mail and every SaaS that needs a tenant header, and a new one comes back with new addresses.",
  references: { alphaPrime: "UTM の可用性", fsbp: "ELB.6", checkov: ["CKV_AWS_150"] },
  check(model) {
    return model
      .ofType("aws_lb", "aws_alb")
      .filter((lb) => !isTrue(lb.values.enable_deletion_protection))
      .map((lb) => ({ address: lb.address, message: "enable_deletion_protection is not true" }));
  },
};
