/**
 * Keeping the catalog current: freshness of every dated source, and `catalog refresh` of Microsoft 365 from a
 * fixture of the endpoints web service (sets added, removed and changed), reported per municipality and applied
 * with --write only.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { REPO_ROOT } from "../core/paths";
import { CATALOG_PATH, SaasCatalog } from "../catalog/saas-catalog";
import { tempDir, runCli } from "./helpers";

const cli = runCli;

describe("catalog --stale", () => {
  test("every dated source older than the limit is listed with its age, and the exit code says so", async () => {
    const fresh = await cli("catalog", "--stale", "30", "--as-of", "2026-12-01");
    expect([fresh.code, fresh.out]).toEqual([0, "every catalog source was checked within 30 day(s)\n"]);
    const later = await cli("catalog", "--stale", "90", "--as-of", "2027-06-01");
    expect(later.code).toBe(1);
    const catalog = SaasCatalog.default();
    const dated = catalog.entries.flatMap((e) => [e.retrievedAt, e.tenantRestriction?.retrievedAt, e.fileDownloads?.retrievedAt, e.feed?.retrievedAt].filter(Boolean));
    expect(later.out).toMatch(new RegExp(`^${dated.length} catalog source\\(s\\) not checked for more than 90 day\\(s\\)`));
    expect(later.out).toMatch(/\| microsoft-365 \| feed \| 2026-11-25 \| 188 \| https:\/\/endpoints\.office\.com\/endpoints\/worldwide \|/);
  });

  test("a bad limit or date is an error", async () => {
    expect((await cli("catalog", "--stale", "soon")).code).toBe(2);
    expect((await cli("catalog", "--stale", "30", "--as-of", "yesterday")).err).toMatch(/--as-of must be a date/);
  });
});

describe("catalog refresh microsoft-365 from a fixture of the endpoints web service", () => {
  // the feed as Microsoft serves it: the catalog's snapshot, then a month of changes
  const snapshot = SaasCatalog.default().get("microsoft-365").feed!.sets;
  const feed = snapshot
    .filter((s) => s.id !== 46) // set 46 (Office Online) withdrawn
    .map((s) => {
      const item: Record<string, unknown> = { id: s.id, serviceArea: "Common", serviceAreaDisplayName: "Microsoft 365 Common", urls: [...s.urls], tcpPorts: "443,80", expressRoute: false, category: s.category, required: s.required };
      if (s.udpIps) Object.assign(item, { ips: [...s.udpIps, "52.122.0.0/15"], udpPorts: s.udpPorts }); // Teams media grows
      if (s.id === 12) item.urls = ["*.teams.microsoft.com", "teams.microsoft.com", "*.teams.live.com", "teams.live.com"]; // *.lync.com retired, Teams free added
      if (s.id === 2) item.required = false;
      return item;
    })
    .concat([{ id: 200, serviceArea: "Common", serviceAreaDisplayName: "Microsoft 365 Common", urls: ["*.loop.microsoft"], tcpPorts: "443", expressRoute: false, category: "Allow", required: true }]);
  const dir = tempDir("alpha-prime-feed-");
  const feedFile = path.join(dir, "endpoints.json");
  fs.writeFileSync(feedFile, JSON.stringify(feed));

  test("reports each set change and, per municipality, what it would open and close; writes nothing", async () => {
    const before = fs.readFileSync(CATALOG_PATH, "utf8");
    const r = await cli("catalog", "refresh", "microsoft-365", "--from", feedFile, "--feed-version", "2026112500");
    expect(r.code).toBe(0);
    expect(r.out).toContain("catalog refresh microsoft-365: feed version 2022072800 → 2026112500");
    expect(r.out).toMatch(/^\| 2 \| changed \| {2}\| {2}\| {2}\| now optional \|$/m);
    expect(r.out).toMatch(/^\| 11 \| changed \| {2}\| {2}\| \+52\.122\.0\.0\/15 \| {2}\|$/m);
    expect(r.out).toMatch(/^\| 12 \| changed \| \*\.teams\.live\.com teams\.live\.com \| \*\.lync\.com \|/m);
    expect(r.out).toMatch(/^\| 46 \| removed \| {2}\| \*\.officeapps\.live\.com \*\.online\.office\.com office\.live\.com \|/m);
    expect(r.out).toMatch(/^\| 200 \| added \| \*\.loop\.microsoft \|.*not followed until its id is added/m);
    expect(r.out).toContain("The microsoft-365 entry would add: teams.live.com; remove: *.lync.com *.officeapps.live.com *.online.office.com");
    // a wildcard is never written by a refresh: a person adds it after reading the vendor's documentation
    expect(r.out).toContain("- *.teams.live.com: a wildcard: only a person adds one");
    // the municipalities that select Microsoft 365 (Ashiya, Mitoyo), not Kaga
    const media = "; UDP media ranges +52.122.0.0/15 (route them to the breakout on the LGWAN side)";
    expect(r.out).toContain(`- ashiya: opens teams.live.com; closes *.lync.com *.officeapps.live.com *.online.office.com${media}`);
    expect(r.out).toContain(`- mitoyo: opens teams.live.com; closes *.lync.com *.officeapps.live.com *.online.office.com${media}`);
    expect(r.out).not.toContain("- kaga");
    expect(fs.readFileSync(CATALOG_PATH, "utf8")).toBe(before);
  });

  test("--write updates a catalog's entry (domains, snapshot, version, media ranges), keeps its comments, after every env file validates with it; the reviewer diff shows what opens and closes per municipality", async () => {
    const file = path.join(dir, "saas-catalog.yaml");
    fs.copyFileSync(CATALOG_PATH, file);
    const r = await cli("catalog", "refresh", "microsoft-365", "--from", feedFile, "--feed-version", "2026112500", "--write", "--catalog", file);
    expect([r.code, r.out]).toEqual([0, expect.stringMatching(/wrote .*saas-catalog\.yaml: feed version 2026112500/)]);
    const text = fs.readFileSync(file, "utf8");
    expect(text).toContain("# SaaS catalog: one entry per cloud service");
    const entry = (parse(text) as any[]).find((e) => e.id === "microsoft-365");
    expect(entry.domains).toContain("teams.live.com");
    expect(entry.domains).not.toContain("*.teams.live.com");
    for (const gone of ["*.lync.com", "*.officeapps.live.com", "*.online.office.com"]) expect(entry.domains).not.toContain(gone);
    expect(entry.feed.version).toBe("2026112500");
    expect(entry.feed.sets.map((s: any) => s.id)).not.toContain(46);
    expect(entry.feed.sets.map((s: any) => s.id)).not.toContain(200); // a new set is followed only when someone adds it
    expect(entry.media[0].cidrs).toEqual(["13.107.64.0/18", "52.112.0.0/14", "52.120.0.0/14", "52.122.0.0/15"]);
    // every byte outside the entry is untouched, and inside it only the changed lines differ (a minimal edit)
    const original = fs.readFileSync(CATALOG_PATH, "utf8");
    const outside = (x: string) => x.slice(0, x.indexOf("- id: microsoft-365")) + x.slice(x.indexOf("\n- id: ", x.indexOf("- id: microsoft-365") + 1));
    expect(outside(text)).toBe(outside(original));
    const changed = text.split("\n").filter((l) => !original.split("\n").includes(l) && !l.includes("retrievedAt"));
    expect(changed.map((l) => l.trim().split(",")[0])).toEqual(["- teams.live.com", 'version: "2026112500"', "- { id: 2", "- { id: 11", "- { id: 12", "cidrs: [13.107.64.0/18"]);
    expect(entry.feed.retrievedAt).toBe(new Date().toISOString().slice(0, 10));
    // the reviewer diff of the change: each side synthesized with its own catalog, per municipality what opens and closes
    const synth = (out: string, catalog?: string) =>
      execFileSync(process.execPath, [path.join(REPO_ROOT, "bin", "alpha-prime.js"), "synth", "--out", out], { env: { ...process.env, ALPHA_PRIME_CATALOG: catalog ?? "" }, stdio: "pipe" });
    synth(path.join(dir, "before"));
    synth(path.join(dir, "after"), file);
    const d = await cli("diff", path.join(dir, "before"), path.join(dir, "after"), "--format", "json");
    const callouts = (id: string) => JSON.parse(d.out).municipalities.find((m: any) => m.id === id).callouts.map((c: any) => c.message);
    for (const id of ["ashiya", "mitoyo"]) {
      expect(callouts(id)).toContain("domains ADDED to the breakout allowlist: teams.live.com");
      expect(callouts(id)).toEqual(expect.arrayContaining(["domains removed from the breakout allowlist: .lync.com .officeapps.live.com"]));
    }
    expect(JSON.parse(d.out).municipalities.find((m: any) => m.id === "kaga").status).toBe("unchanged");
    // a second refresh with the same list reports nothing left to change in the followed sets
    const again = await cli("catalog", "refresh", "microsoft-365", "--from", feedFile, "--feed-version", "2026112500", "--catalog", file);
    expect(again.out).not.toMatch(/^\| (2|11|12|46) \|/m);
  });

  test("bad input: a file that is not an endpoints list, an empty file, a service without a feed, --write without a version", async () => {
    const notAList = path.join(dir, "not-a-list.json");
    fs.writeFileSync(notAList, JSON.stringify({ endpoints: [] }));
    const empty = path.join(dir, "empty.json");
    fs.writeFileSync(empty, "");
    const cases: [string[], RegExp][] = [
      [["microsoft-365", "--from", notAList], /not-a-list\.json: not a Microsoft 365 endpoints list/],
      [["microsoft-365", "--from", empty], /empty\.json: the file is empty/],
      [["slack", "--from", feedFile], /slack follows no vendor feed/],
      [["microsoft-365", "--from", feedFile, "--write"], /--write needs the list's version/],
      [["microsoft-366", "--from", feedFile], /'microsoft-366' is not in the catalog/],
    ];
    const before = fs.readFileSync(CATALOG_PATH, "utf8");
    for (const [args, message] of cases) {
      const r = await cli("catalog", "refresh", ...args);
      expect([args[0], r.code, r.err]).toEqual([args[0], 1, expect.stringMatching(message)]);
    }
    expect(fs.readFileSync(CATALOG_PATH, "utf8")).toBe(before);
  });
});

describe("catalog refresh never writes what would widen the allowlist unseen (issue 23, finding 6)", () => {
  const snapshot = SaasCatalog.default().get("microsoft-365").feed!.sets;
  const hostile = ["*.azurewebsites.net", "*.github.io", "*.trycloudflare.com", "*.blob.core.windows.net", "azurewebsites.net", "contoso.sharepoint.com", "contoso-my.sharepoint.com", "13.107.6.152", "micros0ft.com", "xn--mcrosoft-thh.com", "graph.micros0ft-online.com"];
  const feed = snapshot.map((s) => ({ id: s.id, serviceArea: "Common", urls: s.id === 8 ? [...s.urls, ...hostile, "cdn.example-partner.com"] : [...s.urls], category: s.category, required: s.required, ...(s.udpIps ? { ips: s.udpIps, udpPorts: s.udpPorts } : {}) }));
  const dir = tempDir("alpha-prime-feed-hostile-");
  const feedFile = path.join(dir, "endpoints.json");
  fs.writeFileSync(feedFile, JSON.stringify(feed));

  test("public-hosting wildcards, public suffixes, other tenants, addresses and look-alikes are held back with the reason; only the plain name is written", async () => {
    const file = path.join(dir, "saas-catalog.yaml");
    fs.copyFileSync(CATALOG_PATH, file);
    const r = await cli("catalog", "refresh", "microsoft-365", "--from", feedFile, "--feed-version", "2026120100", "--write", "--catalog", file);
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(r.out).toContain("The microsoft-365 entry would add: cdn.example-partner.com;");
    const held = (name: string) => new RegExp(`^- ${name.replace(/[.*]/g, (c) => `\\${c}`)}: (.*)$`, "m").exec(r.out)?.[1];
    for (const w of ["*.azurewebsites.net", "*.github.io", "*.trycloudflare.com", "*.blob.core.windows.net"]) expect(held(w)).toMatch(/^a wildcard over public hosting/);
    expect(held("azurewebsites.net")).toMatch(/public suffix \(Public Suffix List, private section\)/);
    expect(held("contoso.sharepoint.com")).toMatch(/under \*\.sharepoint\.com, which the tenant restriction of microsoft-365/);
    expect(held("contoso-my.sharepoint.com")).toMatch(/under \*\.sharepoint\.com/);
    expect(held("13.107.6.152")).toMatch(/an IP address/);
    expect(held("micros0ft.com")).toMatch(/look-alike of microsoft\.com/);
    expect(held("xn--mcrosoft-thh.com")).toMatch(/look-alike of microsoft\.com: 'mіcrosoft' is confusable with 'microsoft' \(Unicode TR39 skeleton\)/);
    expect(held("graph.micros0ft-online.com")).toMatch(/look-alike/);
    const entry = (parse(fs.readFileSync(file, "utf8")) as any[]).find((e) => e.id === "microsoft-365");
    for (const h of hostile) expect(entry.domains).not.toContain(h);
    expect(entry.domains).toContain("cdn.example-partner.com");
  });

  test("a feed string that is not a name refuses the whole list, named by item and escaped, and nothing is written", async () => {
    const bad = path.join(dir, "bad.json");
    fs.writeFileSync(bad, JSON.stringify([{ id: 8, serviceArea: "Exchange", category: "Default", required: true, urls: ["ok.example.com", "evil\u001b[2J| x |.example.com"] }]));
    const before = fs.readFileSync(CATALOG_PATH, "utf8");
    const r = await cli("catalog", "refresh", "microsoft-365", "--from", bad, "--feed-version", "2026120100");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.json: item 0 \(set 8\): the url "evil\\\\u001b\[2J\| x \|\.example\.com" is not one/);
    expect(r.err).not.toContain("\u001b");
    expect(fs.readFileSync(CATALOG_PATH, "utf8")).toBe(before);
  });
});
