import type { Rule, Violation } from "../types";

/**
 * The interpolations alpha-prime writes: references to the stack's own resources (with attribute and index
 * access), its variable and local, and the one expression it writes on purpose (a firewall endpoint per AZ,
 * constructs/breakout-gateway.ts). Anything else — a function call, a path, a directive — did not come from us.
 */
const REFERENCE = /^(aws_[a-z0-9_]+\.[A-Za-z0-9_-]+|var\.[a-z0-9_]+|local\.[a-z0-9_]+)((\.[a-z0-9_]+)|\[\d+\])*$/;
const FIREWALL_ENDPOINT = /^\[for s in aws_networkfirewall_firewall\.[A-Za-z0-9_-]+\.firewall_status\[0\]\.sync_states : s\.attachment\[0\]\.endpoint_id if s\.availability_zone == "[a-z0-9-]+"\]\[0\]$/;

/** Each "${...}" (not "$${") and "%{...}" (not "%%{") in a string, with its text. */
export function templateSequences(s: string): { kind: "interpolation" | "directive"; expression: string }[] {
  const out: { kind: "interpolation" | "directive"; expression: string }[] = [];
  // a sequence starts one before a "{": the native search finds each "{" instead of a look at every character (the
  // rule reads every string of the stack, generated files of kilobytes among them)
  for (let open = s.indexOf("{", 1); open >= 0; open = s.indexOf("{", open + 1)) {
    const i = open - 1;
    const c = s[i];
    if (c !== "$" && c !== "%") continue;
    // "$${" / "%%{" is an escape, and so is any longer run ("$$${x}" reads as "$${x}": Terraform scans "$" then "$${")
    if (s[i - 1] === c) continue;
    let depth = 0;
    let j = open;
    for (; j < s.length; j++) {
      if (s[j] === "{") depth++;
      else if (s[j] === "}" && --depth === 0) break;
    }
    out.push({ kind: c === "$" ? "interpolation" : "directive", expression: s.slice(i + 2, j) });
    // the next sequence starts after the closing brace, so its "{" lies one further
    open = j + 1;
  }
  return out;
}

/** How one sequence of a text is judged apart from the stack: a problem, or the resource it must name to be one of its own. */
type SequenceJudgement = { readonly problem: string } | { readonly refersTo: string; readonly shown: string };

const MAX_KEPT = 20_000;
const MAX_KEPT_LENGTH = 500;
const judged = new Map<string, readonly SequenceJudgement[]>();

/**
 * The judgements of a text's sequences, in order. They depend on the text alone, and a stack's references are the same
 * texts in every municipality's stack (construct ids make the addresses), so a short text is judged once per process
 * (at most MAX_KEPT of them); a long one, a generated file, is each stack's own and judged each time.
 */
function judgementsOf(value: string): readonly SequenceJudgement[] {
  const kept = value.length <= MAX_KEPT_LENGTH;
  // a long text is never kept: not looked up either (a lookup hashes the whole text)
  const known = kept ? judged.get(value) : undefined;
  if (known) return known;
  const out: SequenceJudgement[] = [];
  for (const t of templateSequences(value)) {
    const shown = t.expression.length > 80 ? `${t.expression.slice(0, 80)}…` : t.expression;
    if (t.kind === "directive") out.push({ problem: `a template directive %{${shown}} would be evaluated by Terraform` });
    else if (FIREWALL_ENDPOINT.test(t.expression)) continue;
    else if (!REFERENCE.test(t.expression)) out.push({ problem: `an interpolation \${${shown}} is not a reference: Terraform would evaluate it` });
    else if (/^aws_/.test(t.expression)) out.push({ refersTo: t.expression.split(".").slice(0, 2).join(".").replace(/\[.*$/, ""), shown });
  }
  if (kept) {
    if (judged.size >= MAX_KEPT) judged.clear();
    judged.set(value, out);
  }
  return out;
}

export const noTemplateInjection: Rule = {
  id: "AP-TF-001",
  severity: "error",
  title: "The only Terraform interpolations are references to the stack's own resources",
  rationale:
    "Terraform evaluates every \"${...}\" and \"%{...}\" in the synthesized JSON. Text from an env file or a generated file that reached it unescaped would run as Terraform when CI plans with credentials: ${file(...)} reads a local secret into a tag or into the VPN login banner every user sees.",
  references: { alphaPrime: "hostile input: nothing in a YAML file runs code (issue 17)" },
  check(model) {
    const out: Violation[] = [];
    const judge = (value: string, address: string): void => {
      if (!value.includes("{")) return;
      for (const j of judgementsOf(value)) {
        if ("problem" in j) out.push({ address, message: j.problem });
        else if (!model.get(j.refersTo)) out.push({ address, message: `\${${j.shown}} refers to a resource the stack does not declare` });
      }
    };
    // every resource's values, then every other section but cdktf's "//"; its "//" metadata is never evaluated
    const { texts, metadata, roots } = model.strings();
    for (const root of roots) for (let i = root.start; i < root.end; i++) if (!metadata[i]) judge(texts[i], root.address);
    return out;
  },
};
