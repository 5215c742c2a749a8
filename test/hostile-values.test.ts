/**
 * Issue 23, findings 7 and 8: values that looked valid or read badly. An external ICAP engine's host must be a name
 * under a registrable domain or a plain address; tenant-value errors quote values short and escaped; the reviewer
 * diff shows largerFilesReason as written; a CR-only file and a deeply nested one get a located, plain error.
 */
import * as fs from "fs";
import * as path from "path";
import { loadFiles } from "../config/load";
import { envDirWith, loadSample, runCli, sampleText, synthConfigs, tempDir } from "./helpers";

const kaga = sampleText("kaga");

function issuesOf(text: string, name = "kaga.yaml") {
  const dir = envDirWith({ [name]: text });
  return loadFiles([path.join(dir, name)]).issues;
}

describe("finding 7: an external ICAP engine's host", () => {
  const withEngine = (url: string) => kaga.replace("engine: clamav", `engine: external\n    externalIcapUrl: ${url}`);

  test.each(["icaps://com:11344/x", "icaps://co.jp:11344/x", "icap://127.1:1344/x", "icaps://a..b:11344/x", "icaps://0x7f.1:11344/x"])("%s is refused at its line", (url) => {
    const text = withEngine(url);
    const issues = issuesOf(text);
    expect(issues).toEqual([expect.objectContaining({ path: "/breakout/sanitization/externalIcapUrl", line: text.split("\n").findIndex((l) => l.includes(url)) + 1, message: expect.stringMatching(/^the engine's host is refused: /) })]);
  });

  test("a name under a registrable domain, and an on-prem address, are accepted", () => {
    expect(issuesOf(withEngine("icaps://cdr.example.jp:11344/sanitize"))).toEqual([]);
    expect(issuesOf(withEngine("icap://172.20.5.40:1344/sanitize"))).toEqual([]);
  });
});

describe("finding 8: smaller things that read badly", () => {
  test("a tenant-value error quotes the value short and escaped, not whole", () => {
    const long = `T${"A".repeat(3000)}`;
    const text = kaga.replace(/requester: \S+/, `requester: "${long}\\u001b[2J"`);
    const issues = issuesOf(text).filter((i) => i.path.startsWith("/breakout/tenants/slack/requester"));
    expect(issues.length).toBeGreaterThan(0);
    for (const i of issues) {
      expect(i.message.length).toBeLessThan(300);
      expect(i.message).not.toContain("\u001b");
    }
    expect(issues.map((i) => i.message).join("\n")).toMatch(/"TAAAA.*…\(\d+ characters\) is not a valid requester/);
  });

  test("the reviewer diff shows largerFilesReason as the municipality wrote it, not in its Terraform-escaped form", async () => {
    const base = loadSample("kaga");
    const reason = "${var.x} と %{if} は文字のまま: 100 MB を超える図面は CAD 担当が別途検査する";
    const head = { ...base, breakout: { ...base.breakout, sanitization: { ...base.breakout.sanitization!, largerFiles: "pass" as const, largerFilesReason: reason } } };
    const write = (tf: any, dir: string) => {
      fs.mkdirSync(path.join(dir, "stacks", "kaga"), { recursive: true });
      fs.writeFileSync(path.join(dir, "stacks", "kaga", "cdk.tf.json"), JSON.stringify(tf));
      fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ version: "0.21.0", stacks: { kaga: { name: "kaga", synthesizedStackPath: "stacks/kaga/cdk.tf.json", workingDirectory: "stacks/kaga" } } }));
      return dir;
    };
    const root = tempDir("alpha-prime-diff-reason-");
    const b = write(synthConfigs([base]).kaga, path.join(root, "base"));
    const h = write(synthConfigs([head]).kaga, path.join(root, "head"));
    const d = await runCli("diff", b, h, "--format", "json");
    const messages = JSON.parse(d.out).municipalities[0].callouts.map((c: any) => c.message);
    expect(messages).toContain(`files above the limit: block over 100 MB → pass over 100 MB (${reason})`);
  });

  test("a file with CR-only line endings is named as such at its line, not 'null has the wrong type'", () => {
    const issues = issuesOf(kaga.replace(/\n/g, "\r"));
    expect(issues).toEqual([expect.objectContaining({ line: 1, path: "/", message: expect.stringMatching(/CR-only line endings/) })]);
  });

  test("deeply nested YAML gives a located error, not 'Maximum call stack size exceeded'", () => {
    const text = kaga.replace(/^name: .*$/m, `name: ${"[".repeat(5000)}${"]".repeat(5000)}`);
    const issues = issuesOf(text);
    expect(issues).toEqual([expect.objectContaining({ line: text.split("\n").findIndex((l) => l.startsWith("name: [")) + 1, message: "mappings and lists are nested more than 32 levels deep here" })]);
    const block = `id: kaga\nx:\n${"- ".repeat(3000)}y\n`;
    expect(issuesOf(block)[0].message).toBe("mappings and lists are nested more than 32 levels deep here");
  });
});
