import type { Rule } from "../types";

/** CloudWatch log groups keep logs at least the municipality's retention (0 = never expire). */
export const logGroupRetention: Rule = {
  id: "AP-LOG-001",
  severity: "error",
  title: "CloudWatch log groups keep logs at least the configured retention",
  rationale: "α′ requires every log of the breakout for at least a year; a shorter retention silently deletes evidence.",
  references: { alphaPrime: "1年間のログ保存 (logging.retentionDays ≥ 365)", checkov: ["CKV_AWS_338", "CKV_AWS_66"] },
  check(model) {
    const days = model.context.retentionDays ?? 365;
    return model.ofType("aws_cloudwatch_log_group").flatMap((g) => {
      const r = g.values.retention_in_days;
      if (r === 0) return [];
      if (typeof r !== "number") return [{ address: g.address, message: "retention_in_days is not set (logs would be kept with no declared retention)" }];
      return r < days ? [{ address: g.address, message: `keeps logs ${r} days, less than the configured ${days}` }] : [];
    });
  },
};
