import type { Rule, Violation } from "../types";

export const REQUIRED_TAGS = ["Municipality", "LocalGovernmentCode"];

export const requiredTags: Rule = {
  id: "AP-OPS-002",
  severity: "error",
  title: "Every taggable resource carries the municipality id and local government code",
  rationale: "Billing, incident response and audits across municipalities depend on knowing whose resource it is.",
  references: { alphaPrime: "自治体ごとの資源識別" },
  check(model) {
    const out: Violation[] = [];
    const providers: any[] = model.json.provider?.aws ?? [];
    const defaults: Record<string, string> = Object.assign({}, ...providers.flatMap((p) => (p.default_tags ?? []).map((d: any) => d.tags ?? {})));
    const missingDefaults = REQUIRED_TAGS.filter((t) => !defaults[t]);
    if (missingDefaults.length) {
      // without provider default tags, each resource must carry the tags itself
      for (const r of model.resources) {
        if (r.values.tags === undefined) continue;
        const missing = missingDefaults.filter((t) => !r.values.tags?.[t]);
        if (missing.length) out.push({ address: r.address, message: `lacks tags ${missing.join(", ")}` });
      }
      out.push({ address: "provider.aws", message: `default_tags lack ${missingDefaults.join(", ")}` });
    }
    // With a plan, check what Terraform will actually set on every resource that supports tags.
    if (model.planned) {
      for (const [address, values] of model.planned) {
        if (!values || typeof values !== "object" || !("tags_all" in values) || values.tags_all === null) continue;
        const missing = REQUIRED_TAGS.filter((t) => !values.tags_all?.[t]);
        if (missing.length) out.push({ address, message: `planned tags lack ${missing.join(", ")}` });
      }
    }
    return out;
  },
};
