/**
 * The reviewer's comment at scale: a catalog change that reaches every municipality using Zoom plus one address
 * move, synthesized for real from the bench generator's municipalities (bench/review-national.ts runs the same
 * simulation over all 1,741 and prints its numbers). The move must be on the comment's first screen, the catalog
 * change one grouped line, and the comment within GitHub's limit with a link to the whole report.
 */
import { marked } from "marked";
import { ADDED_DOMAIN, simulateNationalChange } from "../bench/review-national";
import { diffSides, GITHUB_COMMENT_LIMIT, markdown, readSynthesized } from "../review/diff";
import { tempDir } from "./helpers";

/** What a reviewer sees of a comment without scrolling: its first lines (a summary line and one risk section). */
const FIRST_SCREEN_LINES = 12;

describe("a national change: a catalog domain for every Zoom user and one address move", () => {
  const sim = simulateNationalChange(16, tempDir());
  const report = diffSides(readSynthesized(sim.base), readSynthesized(sim.head));
  const url = "https://github.com/o/r/actions/runs/1/artifacts/2";
  const comment = markdown(report, { maxChars: GITHUB_COMMENT_LIMIT - 536, fullReportUrl: url });
  const full = markdown(report);

  test("the address move is on the first screen, as data loss, before anything about the catalog", () => {
    const first = comment.split("\n").slice(0, FIRST_SCREEN_LINES).join("\n");
    expect(first).toContain(`🛑 **${sim.moved}**: \`address plan\`: the address plan of a deployed network MOVES`);
    // and the security section does not bury the catalog change under the moved network's own items
    const security = comment.slice(comment.indexOf("### ⚠️ Security-relevant"), comment.indexOf("### Changes by kind")).split("\n").filter((l) => l.startsWith("- "));
    expect(security.length).toBeLessThanOrEqual(8);
    expect(comment.indexOf("### 🛑 Data loss")).toBeLessThan(comment.indexOf("### ⚠️ Security-relevant"));
  });

  test("the catalog change is one grouped line with its count, not one row per municipality", () => {
    expect(sim.zoomUsers).toBeGreaterThan(1);
    // the firewall writes "*.zoomgov.com" as ".zoomgov.com" (a name and its subdomains)
    expect(comment).toContain(`| +1 domain \`${ADDED_DOMAIN.replace(/^\*/, "")}\` | ${sim.zoomUsers} |`);
    const risks = comment.slice(0, comment.indexOf("### Changes by kind"));
    const allowlistLines = risks.split("\n").filter((l) => l.startsWith("- ⚠️") && l.includes("domains ADDED to the breakout allowlist"));
    expect(allowlistLines).toEqual([expect.stringContaining(`${sim.zoomUsers} municipalities (`)]);
  });

  test("the comment fits GitHub's limit, keeps whole sections, and links the full report", () => {
    expect(full.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT);
    expect(comment.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT - 536);
    expect(comment).toMatch(new RegExp(`Report shortened to fit a comment\\*\\*: \\d+ of \\d+ municipality sections shown, risks and changes grouped above\\. The whole report: ${url.replace(/[/.]/g, "\\$&")}\\n$`));
    expect((comment.match(/<details>/g) ?? []).length).toBe((comment.match(/<\/details>/g) ?? []).length);
    // and it renders: the changes table is a table
    expect(marked.parse(comment, { async: false }) as string).toMatch(/<th>change<\/th>/);
  });

  test("a gravest section too large for what is left is shown by its call-outs alone, and the others still follow", () => {
    const small = markdown(report, { maxChars: 20_000, fullReportUrl: url });
    expect(small.length).toBeLessThanOrEqual(20_000);
    const shown = [...small.matchAll(/<details><summary><b>(.*?)<\/b>/g)].map((m) => m[1]);
    expect(shown[0]).toBe(sim.moved);
    expect(shown.length).toBeGreaterThan(1);
    expect(small).toMatch(/\*\d+ resource change\(s\) not shown here: see the full report\.\*/);
  });

  test("changed text is a unified diff of whole lines, not two cells cut at the same 77 characters", () => {
    const pac = full.split("<details><summary>").find((s) => /pac\/proxy\.pac|Config-Pac/.test(s.split("\n")[0]) && s.includes("```diff"));
    expect(pac).toBeDefined();
    const plus = pac!.split("\n").filter((l) => l.startsWith("+") && !l.startsWith("+++"));
    expect(plus.join("\n")).toContain("zoomgov.com");
    expect(full).not.toMatch(/…`/); // no cell cut mid-text
  });
});

