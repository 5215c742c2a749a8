/**
 * 無害化's coverage map: every file path of every catalog service is recorded with the vendor's page, and per
 * municipality `check` (AP-COV-001, information) and the reviewer diff say which paths the engine does not see —
 * Outlook desktop's attachments inside MAPI above all — with the compensating control README recommends.
 */
import * as fs from "fs";
import * as path from "path";
import { covers, DomainPattern, parseDomainPattern } from "../catalog/domains";
import { fileCoverage } from "../catalog/coverage";
import { SaasCatalog } from "../catalog/saas-catalog";
import { loadSample, runCli, synthConfigs, tempDir } from "./helpers";

const catalog = SaasCatalog.default();

test("every service has a coverage map; every file-download host is one of its paths; every path names the vendor page it was checked on", () => {
  for (const e of catalog.entries) {
    expect([e.id, (e.filePaths ?? []).length > 0]).toEqual([e.id, true]);
    const pathHosts = (e.filePaths ?? []).flatMap((p) => p.hosts.map((h) => parseDomainPattern(h) as DomainPattern));
    for (const h of e.fileDownloads?.hosts ?? []) expect([e.id, h, pathHosts.some((p) => covers(p, parseDomainPattern(h) as DomainPattern))]).toEqual([e.id, h, true]);
    for (const p of e.filePaths ?? []) {
      expect(p.source).toMatch(/^https:\/\//);
      if (p.carrier === "protocol") expect(p.compensating).toBeDefined();
    }
  }
});

describe("Mitoyo sanitizes Microsoft 365 with a CDR engine", () => {
  const mitoyo = loadSample("mitoyo");
  const paths = fileCoverage(mitoyo);
  const of = (saas: string, what: RegExp) => paths.find((p) => p.saas === saas && what.test(p.what))!;

  test("SharePoint/OneDrive (the tenant's own hosts), zip downloads and Outlook on the web attachments pass the engine", () => {
    expect(of("microsoft-365", /^SharePoint and OneDrive files/)).toMatchObject({ route: "engine", covered: true, hosts: ["mitoyocity.sharepoint.com", "mitoyocity-my.sharepoint.com"] });
    expect(of("microsoft-365", /download as zip/)).toMatchObject({ route: "engine", covered: true });
    expect(of("microsoft-365", /^Outlook on the web attachments, downloaded/)).toMatchObject({ route: "engine", covered: true });
  });

  test("Outlook desktop attachments do not: inside MAPI, DIRECT, with Exchange Online's own protection as the compensating control", () => {
    expect(of("microsoft-365", /^Outlook desktop attachments/)).toMatchObject({ route: "direct", covered: false, why: expect.stringMatching(/inside another protocol/), compensating: expect.stringMatching(/Safe Attachments/) });
    expect(of("slack", /^files shared/)).toMatchObject({ covered: false, why: expect.stringMatching(/sanitization is not on for slack/) });
    expect(of("zoom", /Team Chat/)).toMatchObject({ covered: false, compensating: expect.stringMatching(/Users can share files in chats and channels/) });
  });

  test("check reports each uncovered path as information (exit 0), and the diff names them when sanitization is turned on", async () => {
    const root = tempDir("alpha-prime-coverage-");
    const off = { ...mitoyo, breakout: { ...mitoyo.breakout, sanitization: undefined } };
    const write = (tf: any, dir: string) => {
      fs.mkdirSync(path.join(dir, "stacks", "mitoyo"), { recursive: true });
      fs.writeFileSync(path.join(dir, "stacks", "mitoyo", "cdk.tf.json"), JSON.stringify(tf));
      fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ version: "0.21.0", stacks: { mitoyo: { name: "mitoyo", synthesizedStackPath: "stacks/mitoyo/cdk.tf.json", workingDirectory: "stacks/mitoyo" } } }));
      return dir;
    };
    const { mitoyo: onTf } = synthConfigs([mitoyo]);
    const { mitoyo: offTf } = synthConfigs([off as typeof mitoyo]);
    const on = write(onTf, path.join(root, "on"));
    const c = await runCli("check", on, "--format", "json");
    expect(c.code).toBe(0);
    const report = JSON.parse(c.out);
    const notes = report.notes.filter((f: any) => f.ruleId === "AP-COV-001");
    expect(report.findings.filter((f: any) => f.ruleId === "AP-COV-001")).toEqual([]);
    expect(notes.every((f: any) => f.severity === "info")).toBe(true);
    expect(notes.map((f: any) => f.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^Outlook desktop attachments.*not sanitized — the file travels inside another protocol.*Compensating control: Exchange Online Protection/)]));
    expect(report.summary).toMatchObject({ errors: 0, warnings: 0, notes: notes.length });
    const text = await runCli("check", on);
    expect(text.out).toMatch(/^ {2}INFO AP-COV-001 file-coverage\.microsoft-365: Outlook desktop attachments/m);

    const d = await runCli("diff", write(offTf, path.join(root, "off")), on, "--format", "json");
    const callouts = JSON.parse(d.out).municipalities[0].callouts.map((x: any) => x.message);
    expect(callouts).toEqual(expect.arrayContaining([expect.stringMatching(/^file path NOT SANITIZED: Outlook desktop attachments.*outlook\.office365\.com\) — the file travels inside another protocol/)]));
    // a path the engine now covers is not called out
    expect(callouts.some((m: string) => /NOT SANITIZED: SharePoint and OneDrive files/.test(m))).toBe(false);
  });
});
