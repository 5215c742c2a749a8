/**
 * The reviewer's report as Markdown (a PR comment, a job summary): risks first — data loss, outage, what is
 * destroyed or replaced, security, platform —, then the changes grouped by what they are ("+1 domain `zoomgov.com`
 * in 1,397 municipalities"), then each municipality in a folded section. At national scale a catalog change touches
 * 1,397 municipalities and one address move destroys 123 resources in one: the move must be on the first screen,
 * not row 1,401. Changed text (PAC file, allowlist, squid.conf, cloud-init) is a unified diff, never two cells cut
 * at the same 77 characters.
 *
 * A comment holds 65,536 characters: the report is assembled from whole blocks, and when they do not all fit the
 * per-municipality sections that do not fit are left out with a link to the full report (an artifact of the run).
 */
import { createTwoFilesPatch } from "diff";
import { escapeForTerminal } from "../core/terminal-text";
import type { Callout, DiffReport, MunicipalityDiff, ResourceChange, Risk } from "./diff";

/** GitHub refuses comments (and job summaries are cut) over 65,536 characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/** The hidden marker by which the PR comment finds its own earlier comment to update. */
export const COMMENT_MARKER = "<!-- alpha-prime-diff -->";

export interface MarkdownOptions {
  /** stay within this many characters, leaving out per-municipality sections that do not fit */
  readonly maxChars?: number;
  /** where the whole report can be read when sections were left out (the run's artifact) */
  readonly fullReportUrl?: string;
}

/**
 * Text from an artifact in the Markdown: one line, no HTML (a `<details>` or `<img>` from a tampered output would
 * restructure the comment), no table breaks, no @mentions, and no links: a municipality's name or a tag value such as
 * `[✅ reviewed by security](https://…)` stays text, and a bare URL is not autolinked (GitHub Flavored Markdown's
 * extended autolinks: https://github.github.com/gfm/#autolinks-extension-). Code spans stay: they are inert.
 */
export function mdText(text: string): string {
  return escapeForTerminal(text)
    .replace(/\r?\n/g, " ")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|")
    .replace(/@/g, "&#64;")
    .replace(/[[\]]/g, "\\$&")
    .replace(/\b(https?|ftp):\/\//gi, "$1&#58;//")
    .replace(/\bwww\./gi, "www&#46;");
}

/** A code span that no backtick in the text can end early. */
function code(text: string): string {
  const t = escapeForTerminal(text).replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
  const longest = Math.max(0, ...[...t.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${longest ? " " : ""}${t}${longest ? " " : ""}${fence}`;
}

/** A fenced block that no line of the text can close. */
function fenced(lang: string, text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${lang}\n${escapeForTerminal(text).replace(/\n?$/, "\n")}${fence}`;
}

const n = (x: number) => x.toLocaleString("en-US");

const RISKS: { risk: Risk | "destroy"; icon: string; title: string }[] = [
  { risk: "data-loss", icon: "🛑", title: "Data loss" },
  { risk: "outage", icon: "🔌", title: "Outage" },
  { risk: "destroy", icon: "💥", title: "Destroyed or replaced" },
  { risk: "security", icon: "⚠️", title: "Security-relevant" },
  { risk: "platform", icon: "🧩", title: "Provider and Terraform settings" },
];

/** Up to `max` ids, then how many more. */
function someIds(ids: readonly string[], max = 8): string {
  const shown = ids.slice(0, max).map((id) => `**${mdText(id)}**`).join(", ");
  return ids.length > max ? `${shown} … and ${n(ids.length - max)} more` : shown;
}

function destroyedOf(m: MunicipalityDiff): ResourceChange[] {
  return m.resources.filter((r) => r.action === "delete" || r.action === "replace" || r.action === "rename");
}

/** "123 replaced, 2 destroyed (1 aws_vpc, 10 aws_subnet, …)" */
function destroySummary(rs: readonly ResourceChange[]): string {
  const count = (a: ResourceChange["action"]) => rs.filter((r) => r.action === a).length;
  const byType = new Map<string, number>();
  for (const r of rs) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  const parts = [count("replace") && `${n(count("replace"))} replaced`, count("delete") && `${n(count("delete"))} destroyed`, count("rename") && `${n(count("rename"))} destroyed and created under a new address`].filter(Boolean);
  return `${parts.join(", ")} (${[...byType].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t, c]) => `${c} ${t}`).join(", ")})`;
}

/** One line per distinct risk message, with the municipalities it applies to: 1,397 identical lines become one. */
function riskGroups(changed: readonly MunicipalityDiff[], risk: Risk | "destroy"): { text: string; ids: string[] }[] {
  const groups = new Map<string, string[]>();
  // what the municipality's config says (the allowlist, its tenants, sanitization, suppressions, the provider): one
  // line each, never folded — a wildcard added to one town's allowlist is what a reviewer must see first
  const itemized = new Set<string>();
  for (const m of changed) {
    const callouts = risk === "destroy" ? [] : m.callouts.filter((c) => c.risk === risk);
    const lines = risk === "destroy" ? (destroyedOf(m).length ? [destroySummary(destroyedOf(m))] : []) : [...new Set(callouts.map((c) => `${code(c.address)}: ${mdText(c.message)}`))];
    for (const c of callouts) if (!RESOURCE_ADDRESS.test(c.address)) itemized.add(`${code(c.address)}: ${mdText(c.message)}`);
    for (const l of lines) groups.set(l, [...(groups.get(l) ?? []), m.id]);
  }
  // one municipality with many security or settings items of its own on its resources (every security group of a
  // moved VPC) is one line here, its section lists them; data loss, outages and config-level items are always itemized
  const own = new Map<string, string[]>();
  if (risk === "security" || risk === "platform") for (const [text, ids] of groups) if (ids.length === 1 && !itemized.has(text)) own.set(ids[0], [...(own.get(ids[0]) ?? []), text]);
  for (const [id, texts] of own) {
    if (texts.length <= MAX_OWN_ITEMS) continue;
    for (const t of texts) groups.delete(t);
    groups.set(`${n(texts.length)} items of its own: in its section below`, [id]);
  }
  // the rarest first: one municipality's move is more particular than a change every municipality shares
  return [...groups].map(([text, ids]) => ({ text, ids })).sort((a, b) => a.ids.length - b.ids.length || a.text.localeCompare(b.text));
}

/** A Terraform resource address (`aws_security_group.X`), as opposed to a config-level call-out's (`allowlist`). */
const RESOURCE_ADDRESS = /^[a-z][a-z0-9]*_[a-z0-9_]+\.[A-Za-z0-9_-]+/;

/** Above this many items of one risk in one municipality alone, the risk section says how many and points to it. */
const MAX_OWN_ITEMS = 3;

/** The risk sections; each lists at most `maxGroups` groups (the rest is in the per-municipality sections and the full report). */
function riskSection(changed: readonly MunicipalityDiff[], maxGroups: number): string[] {
  const out: string[] = [];
  for (const { risk, icon, title } of RISKS) {
    const groups = riskGroups(changed, risk);
    if (!groups.length) continue;
    const affected = new Set(groups.flatMap((g) => g.ids)).size;
    out.push("", `### ${icon} ${title} — ${n(affected)} municipalit${affected === 1 ? "y" : "ies"}`, "");
    for (const g of groups.slice(0, maxGroups)) out.push(`- ${icon} ${g.ids.length === 1 ? `**${mdText(g.ids[0])}**` : `${n(g.ids.length)} municipalities (${someIds(g.ids)})`}: ${g.text}`);
    if (groups.length > maxGroups) out.push(`- … ${n(groups.length - maxGroups)} more ${title.toLowerCase()} item(s): see each municipality below and the full report`);
  }
  return out;
}

/** Changes by kind: domains added or removed, and resources by action, type and changed arguments. */
function kindsSection(changed: readonly MunicipalityDiff[], maxRows: number): string[] {
  const rows = new Map<string, Set<string>>();
  const add = (kind: string, id: string) => (rows.get(kind) ?? rows.set(kind, new Set()).get(kind)!).add(id);
  for (const m of changed) {
    if (m.domainsAdded?.length) add(`+${m.domainsAdded.length} domain${m.domainsAdded.length > 1 ? "s" : ""} ${m.domainsAdded.map(code).join(" ")}`, m.id);
    if (m.domainsRemoved?.length) add(`−${m.domainsRemoved.length} domain${m.domainsRemoved.length > 1 ? "s" : ""} ${m.domainsRemoved.map(code).join(" ")}`, m.id);
    if (m.status === "added") add("municipality added (its whole stack created)", m.id);
    if (m.status === "removed") add("municipality REMOVED from the tree (its stack is still deployed)", m.id);
    if (m.status !== "changed") continue;
    const byKind = new Map<string, number>();
    for (const r of m.resources) {
      const args = [...new Set(r.changes.map((c) => c.path.split(".")[0]))].sort();
      const sign = { create: "+", update: "~", replace: "±", delete: "−", rename: "→" }[r.action];
      const k = `${sign} ${r.type}${args.length && r.action !== "create" ? ` (${args.slice(0, 4).join(", ")}${args.length > 4 ? ", …" : ""})` : ""}`;
      byKind.set(k, (byKind.get(k) ?? 0) + 1);
    }
    for (const [k, c] of byKind) add(`${c} × ${k}`, m.id);
  }
  if (!rows.size) return [];
  const sorted = [...rows].sort((a, b) => b[1].size - a[1].size || a[0].localeCompare(b[0]));
  const out = ["", "### Changes by kind", "", "| change | municipalities |", "|---|---|"];
  for (const [kind, ids] of sorted.slice(0, maxRows)) out.push(`| ${kind.replace(/\|/g, "\\|")} | ${n(ids.size)}${ids.size <= 3 ? ` (${[...ids].map(mdText).join(", ")})` : ""} |`);
  if (sorted.length > maxRows) out.push(`| … ${n(sorted.length - maxRows)} more kinds | |`);
  return out;
}

function isText(v: unknown): v is string {
  return typeof v === "string" && (v.includes("\n") || v.length > 80);
}

/** Where a value is shown in a table cell: short values whole; text goes to a unified diff below the table. */
function cell(v: unknown): string {
  if (v === undefined) return "—";
  const text = typeof v === "string" ? v : JSON.stringify(v);
  if (text.length > 120) return `${code(text.slice(0, 60))} … (${n(text.length)} characters, in the JSON report)`;
  return code(text);
}

/** A unified diff of changed text, in a fold, with the attribute it belongs to. */
function textDiff(r: ResourceChange, path: string, before: string, after: string): string {
  const patch = createTwoFilesPatch(`${r.address} ${path} (before)`, `${r.address} ${path} (after)`, before.endsWith("\n") ? before : `${before}\n`, after.endsWith("\n") ? after : `${after}\n`, "", "", { context: 3 })
    .split("\n")
    .filter((l) => !/^={5,}$/.test(l))
    .join("\n");
  const added = patch.split("\n").filter((l) => l.startsWith("+") && !l.startsWith("+++")).length;
  const removed = patch.split("\n").filter((l) => l.startsWith("-") && !l.startsWith("---")).length;
  return ["", `<details><summary>${mdText(r.address)} ${mdText(path)}: +${added} −${removed} line(s)</summary>`, "", fenced("diff", patch), "", "</details>"].join("\n");
}

/**
 * One municipality: its call-outs with addresses, the diagram when the topology changes, every resource change.
 * `compact`: the call-outs and counts only, for a section too large for what is left of a comment.
 */
function municipalitySection(m: MunicipalityDiff, compact = false): string {
  const count = (a: ResourceChange["action"]) => m.resources.filter((r) => r.action === a).length;
  const risks = RISKS.filter((r) => r.risk !== "destroy").map((r) => ({ ...r, items: m.callouts.filter((c) => c.risk === r.risk) }));
  const badge = [
    ...risks.filter((r) => r.items.length).map((r) => `${r.icon} ${r.items.length}`),
    count("create") && `+${count("create")}`,
    count("update") && `~${count("update")}`,
    count("delete") + count("replace") && `−/± ${count("delete") + count("replace")}`,
    count("rename") && `→ ${count("rename")}`,
  ].filter(Boolean);
  const lines = ["", `<details><summary><b>${mdText(m.id)}</b> (${m.status}): ${badge.join(" · ") || "no resource change"}</summary>`, ""];
  for (const r of risks) for (const c of r.items as Callout[]) lines.push(`- ${r.icon} ${code(c.address)}: ${mdText(c.message)}`);
  if (compact) return [...lines, "", `*${n(m.resources.length)} resource change(s) not shown here: see the full report.*`, "", "</details>"].join("\n");
  if (m.diagram) lines.push("", "<details><summary>Network diagram after this change</summary>", "", "```mermaid", m.diagram.trimEnd(), "```", "", "</details>");
  const texts: string[] = [];
  if (m.resources.length) {
    lines.push("", "| action | resource | attribute | before | after |", "|---|---|---|---|---|");
    for (const r of m.resources) {
      if (!r.changes.length) lines.push(`| ${r.action} | ${code(r.address)} | ${r.from ? `from ${code(r.from)}` : ""} | | |`);
      for (const c of r.changes.slice(0, 20)) {
        if (isText(c.before) || isText(c.after)) {
          lines.push(`| ${r.action} | ${code(r.address)} | ${code(c.path)} | text: see the diff below | |`);
          texts.push(textDiff(r, c.path, typeof c.before === "string" ? c.before : JSON.stringify(c.before ?? ""), typeof c.after === "string" ? c.after : JSON.stringify(c.after ?? "")));
        } else lines.push(`| ${r.action} | ${code(r.address)} | ${code(c.path)} | ${cell(c.before)} | ${cell(c.after)} |`);
      }
      if (r.changes.length > 20) lines.push(`| ${r.action} | ${code(r.address)} | … ${r.changes.length - 20} more (JSON report) | | |`);
    }
  }
  lines.push(...texts, "", "</details>");
  return lines.join("\n");
}

/** Municipalities in the order a reviewer needs them: the ones with the gravest risks first. */
function byGravity(changed: readonly MunicipalityDiff[]): MunicipalityDiff[] {
  const rank = (m: MunicipalityDiff) => {
    const has = (r: Risk) => m.callouts.some((c) => c.risk === r);
    return has("data-loss") ? 0 : has("outage") ? 1 : destroyedOf(m).length ? 2 : has("security") ? 3 : has("platform") ? 4 : 5;
  };
  return [...changed].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id));
}

export function markdown(report: DiffReport, options: MarkdownOptions = {}): string {
  const changed = report.municipalities.filter((m) => m.status !== "unchanged");
  const same = report.municipalities.filter((m) => m.status === "unchanged").map((m) => m.id);
  const head = [`## alpha-prime diff: ${mdText(report.base)} → ${mdText(report.head)}`, ""];
  // municipalities left out of synthesis because their inputs are the same on both sides (review/revisions.ts)
  const skipped = report.skipped ? [`${mdText(report.skipped.note)}.`, ""] : [];
  if (!changed.length) return [...head, `No municipality changes (${n(same.length)} compared).`, "", ...skipped].join("\n");
  const with_ = (r: Risk) => changed.filter((m) => m.callouts.some((c) => c.risk === r)).length;
  const destroying = changed.filter((m) => destroyedOf(m).length).length;
  head.push(
    `**${n(changed.length)} of ${n(report.municipalities.length)} municipalities change**: 🛑 ${n(with_("data-loss"))} with data-loss risk · 🔌 ${n(with_("outage"))} with an outage · 💥 ${n(destroying)} destroying or replacing resources · ⚠️ ${n(with_("security"))} security-relevant · 🧩 ${n(with_("platform"))} provider/Terraform settings.`,
  );
  // a reviewer proving "nothing else moves" needs the others named, not merely absent
  if (same.length) head.push("", same.length <= 40 ? `Unchanged (no resource added, changed, replaced or removed): ${same.map(mdText).join(", ")}.` : `${n(same.length)} other municipalities unchanged (no resource added, changed, replaced or removed).`);
  if (report.skipped) head.push("", `${mdText(report.skipped.note)}.`);
  const ordered = byGravity(changed);
  const sections = ordered.map((m) => municipalitySection(m));
  const assemble = (maxGroups: number, maxRows: number, chosen: readonly string[], note?: string) =>
    [...head, ...riskSection(changed, maxGroups), ...kindsSection(changed, maxRows), "", "### Each municipality", ...chosen, ...(note ? ["", "---", note] : [])].join("\n") + "\n";
  const whole = assemble(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, sections);
  const max = options.maxChars;
  if (max === undefined || whole.length <= max) return whole;
  const where = options.fullReportUrl ? `The whole report: ${options.fullReportUrl}` : "Run `npx alpha-prime diff` locally for the whole report.";
  const note = (shown: number) => `**Report shortened to fit a comment**: ${n(shown)} of ${n(sections.length)} municipality sections shown, risks and changes grouped above. ${where}`;
  // the risks and the grouped changes come first and are bounded; then, gravest first, each municipality's section
  // whole where it fits, else its call-outs alone (a moved network's 150 resource rows must not push out every other
  // municipality), until the comment is full
  for (const [maxGroups, maxRows] of [[40, 40], [15, 15], [5, 5]]) {
    const fixed = assemble(maxGroups, maxRows, [], note(sections.length)).length;
    if (fixed > max) continue;
    const chosen: string[] = [];
    let size = fixed;
    for (let i = 0; i < sections.length; i++) {
      const candidate = size + sections[i].length + 1 <= max ? sections[i] : municipalitySection(ordered[i], true);
      if (size + candidate.length + 1 > max) break;
      chosen.push(candidate);
      size += candidate.length + 1;
    }
    return assemble(maxGroups, maxRows, chosen, note(chosen.length));
  }
  throw new Error(`--max-chars ${max} leaves no room for the report's risks`);
}
