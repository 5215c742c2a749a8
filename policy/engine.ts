/**
 * Runs the pack over stacks and applies suppressions. A suppression without a real reason, past its expiry,
 * naming an unknown rule, or matching nothing is itself an error finding (rule AP-SUP-001).
 */
import { phrase, tr } from "../core/messages";
import { plannedValuesOf, StackModel } from "./model";
import { readPlanJson, readSynthesizedStacks } from "./synthesized";
import { ALPHA_PRIME_PACK } from "./pack";
import type { Finding, Rule, Suppression } from "./types";

export const SUPPRESSION_RULE_ID = "AP-SUP-001";

export interface StackReport {
  readonly stack: string;
  /** every finding, suppressed ones included (with suppressedBy) */
  readonly findings: Finding[];
  /** information of the rules of severity info: shown, never a finding (nothing to fix or suppress) */
  readonly notes: Finding[];
  /** the suppressions declared by the stack */
  readonly suppressions: Suppression[];
}

/** Minimum length of a suppression reason, ignoring white space. */
export const MIN_REASON_CHARS = 20;

/** Why a suppression is unusable on its own (independent of what it matches), or undefined. */
export function suppressionDefect(s: Suppression, ruleIds: readonly string[], today: string): string | undefined {
  const reason = (s.reason ?? "").replace(/\s+/g, "");
  if (reason.length < MIN_REASON_CHARS || new Set(reason).size < 4) return phrase(tr`suppression of ${s.rule} on ${s.resource} has no real reason (at least ${MIN_REASON_CHARS} characters)`);
  if (!ruleIds.includes(s.rule)) return phrase(tr`suppression names unknown rule ${s.rule}`);
  if (s.expires && s.expires < today) return phrase(tr`suppression of ${s.rule} on ${s.resource} expired on ${s.expires}`);
  return undefined;
}

export function addressPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

export function checkStack(model: StackModel, rules: readonly Rule[] = ALPHA_PRIME_PACK, date = today()): StackReport {
  const suppressions = model.context.suppressions;
  const used = new Set<Suppression>();
  const findings: Finding[] = [];
  const notes: Finding[] = [];
  const ruleIds = rules.map((r) => r.id);
  const defects = new Map(suppressions.map((s) => [s, suppressionDefect(s, ruleIds, date)]));
  const usable = suppressions.filter((s) => !defects.get(s));
  const patterns = new Map<Suppression, RegExp>();
  const matches = (s: Suppression, address: string) => (patterns.get(s) ?? patterns.set(s, addressPattern(s.resource)).get(s)!).test(address);
  for (const rule of rules) {
    if (rule.severity === "info") {
      for (const v of rule.check(model)) notes.push({ ruleId: rule.id, severity: "info", stack: model.stack, address: v.address, message: v.message });
      continue;
    }
    for (const v of rule.check(model)) {
      const by = usable.find((s) => s.rule === rule.id && matches(s, v.address));
      if (by) used.add(by);
      findings.push({ ruleId: rule.id, severity: rule.severity, stack: model.stack, address: v.address, message: v.message, ...(by ? { suppressedBy: by } : {}) });
    }
  }
  for (const s of suppressions) {
    const defect = defects.get(s) ?? (used.has(s) ? undefined : `suppression of ${s.rule} on ${s.resource} matches no finding (remove it)`);
    if (defect) findings.push({ ruleId: SUPPRESSION_RULE_ID, severity: "error", stack: model.stack, address: `suppressions[${suppressions.indexOf(s)}]`, message: defect });
  }
  return { stack: model.stack, findings, notes, suppressions };
}

/** The stacks of a synthesized output directory (cdktf.out), by its manifest. */
export function loadSynthesized(outdir: string, planJson?: string): StackModel[] {
  const stacks = readSynthesizedStacks(outdir);
  const planned = planJson ? plannedValuesOf(readPlanJson(planJson)) : undefined;
  return stacks.map((s) => new StackModel(s.id, s.json, planned));
}

export function unsuppressedErrors(reports: readonly StackReport[]): Finding[] {
  return reports.flatMap((r) => r.findings.filter((f) => f.severity === "error" && !f.suppressedBy));
}
