import type { Rule } from "../types";

export const firewallDeletionProtection: Rule = {
  id: "AP-NET-008",
  severity: "error",
  title: "Network Firewalls have deletion protection",
  rationale: "Deleting the firewall by accident would cut the municipality off the allowlisted services, or worse, leave routes pointing nowhere.",
  references: { alphaPrime: "UTM の可用性", checkov: ["CKV_AWS_344"] },
  check(model) {
    return model
      .ofType("aws_networkfirewall_firewall")
      .filter((f) => f.values.delete_protection !== true)
      .map((f) => ({ address: f.address, message: "delete_protection is not true" }));
  },
};
