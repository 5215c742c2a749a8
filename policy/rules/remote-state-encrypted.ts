import type { Rule } from "../types";

export const remoteStateEncrypted: Rule = {
  id: "AP-OPS-003",
  severity: "error",
  title: "Terraform state is remote and encrypted (or a local backend is guarded against real plans)",
  rationale: "State holds every resource's attributes; it belongs in an encrypted bucket with locking, never on one laptop.",
  references: { alphaPrime: "構成情報の保護" },
  check(model) {
    const backend = model.json.terraform?.backend ?? {};
    if (backend.s3) return backend.s3.encrypt === true ? [] : [{ address: "terraform.backend.s3", message: "encrypt is not true" }];
    const guarded = Object.values<any>(model.json.output ?? {}).some((o) =>
      (Array.isArray(o.precondition) ? o.precondition : o.precondition ? [o.precondition] : []).some((p: any) => String(p.condition).includes("var.alpha_prime_allow_local_state")),
    );
    const kind = Object.keys(backend)[0] ?? "default local";
    return guarded ? [] : [{ address: `terraform.backend.${kind}`, message: `state is kept in a ${kind} backend with no guard against real plans` }];
  },
};
