/**
 * `alpha-prime init`: a guided start that writes a valid, commented env file — from flags (scripts, CI) and
 * interactively in a real pseudo-terminal (util-linux `script`) — and never overwrites a file.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { collectAnswers, EnvDirectory, QUESTIONS, tierForPopulation, writeEnvFile } from "../cli/init";
import { REPO_ROOT } from "../core/paths";
import { loadFiles } from "../config/load";
import { runCli, synthStacks, tempDir, testWithTool } from "./helpers";

// 南伊豆町 (静岡県): 22302 with check digit 6
const FLAGS = ["--name", "南伊豆町", "--code", "223026", "--population", "7800", "--account", "444455556666", "--email", "noc@example.jp"];

test("from flags: a valid file with the prefecture derived, defaults proposed, examples marked, and it synthesizes", async () => {
  const env = tempDir();
  const r = await runCli("--env-dir", env, "init", "minamiizu", ...FLAGS);
  expect([r.code, r.out]).toEqual([0, expect.stringMatching(/wrote .*minamiizu\.yaml \(valid\); replace the EXAMPLE values: breakoutCidr, lgwanSegments, lgwanProxy, sitePublicIp/)]);
  const text = fs.readFileSync(path.join(env, "minamiizu.yaml"), "utf8");
  expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./municipality.schema.json");
  expect(text).toMatch(/^prefecture: 静岡県$/m);
  expect(text).toMatch(/^bandwidthTier: 1g /m);
  expect(text).toMatch(/^ {4}publicIp: 203\.0\.113\.10 +# EXAMPLE \(RFC 5737 documentation address\)/m);
  const [config] = loadFiles([path.join(env, "minamiizu.yaml")]).configs;
  expect(config.aws.availabilityZones).toEqual(["ap-northeast-1a", "ap-northeast-1c"]);
  // a town of 7,800 with two zones is offered the compact /24 plan
  expect(config.network.breakoutCidr).toBe("10.64.0.0/24");
  // a service that takes tenant values starts with a visible waiver, not a silent gap
  expect(config.breakout.tenantWaivers.map((w) => w.saas)).toEqual(["microsoft-365"]);
  expect(Object.keys(synthStacks({ envDir: env }).stacks)).toEqual(["minamiizu"]);
});

test("the tier follows the population", () => {
  expect([7_800, 90_000, 300_000, 1_500_000].map(tierForPopulation)).toEqual(["1g", "2g", "5g", "10g"]);
});

test("never overwrites: an existing file (or the same id as .yml) is refused and left as it was", async () => {
  const env = tempDir();
  fs.writeFileSync(path.join(env, "minamiizu.yml"), "# mine\n");
  const r = await runCli("--env-dir", env, "init", "minamiizu", ...FLAGS);
  expect([r.code, r.err]).toEqual([1, expect.stringMatching(/minamiizu\.yml exists: init never overwrites a file/)]);
  expect(fs.readdirSync(env)).toEqual(["minamiizu.yml"]);
  expect(fs.readFileSync(path.join(env, "minamiizu.yml"), "utf8")).toBe("# mine\n");
});

test.each([
  [["--code", "223027"], /--code "223027": the check digit should be 6 \(223026\)/],
  [["--code", "992020"], /99 is not a prefecture number/],
  [["--zones", "ap-northeast-1b,ap-northeast-1c"], /ap-northeast-1b is not a zone of ap-northeast-1/],
  [["--saas", "microsoft-356"], /'microsoft-356' is not in the catalog; did you mean 'microsoft-365'\?/],
  [["--saas", "microsoft-365,teams-phone"], /'teams-phone' is not in the catalog \(microsoft-365, slack, kintone/],
  [["--zones", "ap-northeast-1a,ap-northeast-1c,ap-northeast-1d", "--breakout-cidr", "10.64.0.0/24"], /--breakout-cidr "10.64.0.0\/24": \/24 holds 2 zones; 3 need a \/23 or larger/],
  [["--breakout-cidr", "10.64.0.0/25"], /a prefix from \/16 to \/24/],
])("a bad flag is an error naming it, and nothing is written: %j", async (bad, message) => {
  const env = tempDir();
  const flags = [...FLAGS];
  const i = flags.indexOf(bad[0]);
  if (i >= 0) flags[i + 1] = bad[1];
  else flags.push(...bad);
  const r = await runCli("--env-dir", env, "init", "minamiizu", ...flags);
  expect([r.code, r.err]).toEqual([1, expect.stringMatching(message)]);
  expect(fs.readdirSync(env)).toEqual([]);
});

describe("init takes exactly the ids the schema takes, so nobody answers every question only to be refused at the end", () => {
  // the schema: a letter, then letters, digits and '-', 2 to 24 characters, not ending in '-'
  test.each(["mi", "minamiizu-cho-shizuoka-a"])("%s is taken, and the file it writes validates", async (id) => {
    const env = tempDir();
    const r = await runCli("--env-dir", env, "init", id, ...FLAGS);
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(loadFiles([path.join(env, `${id}.yaml`)]).issues).toEqual([]);
  });

  test.each(["minamiizu-cho-shizuoka-ab", "m", "minamiizu-", "1minamiizu", "Minamiizu"])("%s is refused at once, naming the rule, and nothing is written", async (id) => {
    const env = tempDir();
    const r = await runCli("--env-dir", env, "init", id, ...FLAGS);
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/lowercase letters, digits and '-', 2-24 characters, starting with a letter and not ending with '-'/)]);
    expect(fs.readdirSync(env)).toEqual([]);
  });
});

describe("init takes exactly the site names the schema takes (sites[].name), not a stricter rule of its own", () => {
  // the schema: a letter, then letters, digits and '-', 1 to 31 characters
  test.each(["a", "honcho-", "honcho-tower-annex-number-2-abc"])("--site %s is taken, and the file it writes validates", async (site) => {
    const env = tempDir();
    const r = await runCli("--env-dir", env, "init", "minamiizu", ...FLAGS, "--site", site);
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(loadFiles([path.join(env, "minamiizu.yaml")]).issues).toEqual([]);
  });

  test.each(["honcho-tower-annex-number-2-abcd", "1honcho", "Honcho", "hon_cho"])("--site %s is refused at once, and nothing is written", async (site) => {
    const env = tempDir();
    const r = await runCli("--env-dir", env, "init", "minamiizu", ...FLAGS, "--site", site);
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/--site .*lowercase letters, digits and '-', 1-31 characters, starting with a letter/)]);
    expect(fs.readdirSync(env)).toEqual([]);
  });
});

test("a file with the same code that appears while the questions are answered is caught by validate's own cross-file rule", async () => {
  const env = tempDir();
  const dir = new EnvDirectory(env);
  const flags = FLAGS.map((f) => (f === "223026" ? "372081" : f));
  const given = Object.fromEntries(QUESTIONS.filter((q) => flags.includes(q.flag)).map((q) => [q.key, flags[flags.indexOf(q.flag) + 1]]));
  const { answers, examples } = await collectAnswers({ ...given, id: "minamiizu" }, dir);
  fs.copyFileSync(path.join(REPO_ROOT, "env", "mitoyo.yaml"), path.join(env, "mitoyo.yaml"));
  expect(() => writeEnvFile(dir, answers, examples)).toThrow(/minamiizu\.yaml:\d+:\d+: \/localGovernmentCode: 372081 is also used by mitoyo\.yaml/);
  expect(fs.readdirSync(env)).toEqual(["mitoyo.yaml"]);
});

test("an env directory that does not exist is named, and nothing is created", async () => {
  const missing = path.join(tempDir(), "env");
  const r = await runCli("--env-dir", missing, "init", "minamiizu", ...FLAGS);
  expect([r.code, r.err]).toEqual([1, expect.stringMatching(/env is not a directory: create it, or point --env-dir at the env directory\nnothing was written/)]);
  expect(fs.existsSync(missing)).toBe(false);
});

test("without a terminal, a missing essential is an error that names its flag", async () => {
  const r = await runCli("--env-dir", tempDir(), "init", "minamiizu", "--name", "南伊豆町");
  expect([r.code, r.err]).toEqual([1, expect.stringMatching(/--code is needed/)]);
});

test("a local government code another env file holds is refused: the directory would no longer validate", async () => {
  const env = tempDir();
  fs.copyFileSync(path.join(REPO_ROOT, "env", "mitoyo.yaml"), path.join(env, "mitoyo.yaml"));
  const flags = FLAGS.map((f) => (f === "223026" ? "372081" : f));
  const r = await runCli("--env-dir", env, "init", "minamiizu", ...flags);
  expect([r.code, r.err]).toEqual([1, expect.stringMatching(/--code "372081": 372081 is already the municipality of mitoyo\.yaml: one env file per municipality/)]);
  expect(fs.readdirSync(env)).toEqual(["mitoyo.yaml"]);
});

testWithTool("script", "bsdutils", "init in a pseudo-terminal")("interactively in a pseudo-terminal: asks, re-asks a wrong answer, accepts the proposals, and writes a valid file", async () => {
  const env = tempDir();
  fs.copyFileSync(path.join(REPO_ROOT, "env", "mitoyo.yaml"), path.join(env, "mitoyo.yaml"));
  // an id that has a file (re-asked at once), the id, name, Mitoyo's code (taken), a code with a wrong check digit,
  // the right one, population, account, then Enter for every proposal, e-mail
  const answers = ["mitoyo", "kawazu", "河津町", "372081", "223017", "223018", "7200", "444455556666", ...Array(10).fill(""), "noc@example.jp"].join("\n") + "\n";
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(REPO_ROOT, "bin", "alpha-prime.js"))} --env-dir ${JSON.stringify(env)} init`;
  const r = spawnSync("script", ["-qec", command, "/dev/null"], { input: answers, encoding: "utf8", timeout: 60_000 });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/mitoyo\.yaml exists: init never overwrites a file/);
  expect(r.stdout).toContain("372081 is already the municipality of mitoyo.yaml");
  // and the directory as a whole still validates
  expect((await runCli("--env-dir", env, "validate")).code).toBe(0);
  expect(r.stdout).toContain("the check digit should be 8 (223018)");
  expect(r.stdout).toContain("→ 静岡県");
  expect(r.stdout).toMatch(/bandwidth tier \[1g\]/);
  expect(r.stdout).toMatch(/wrote .*kawazu\.yaml \(valid\)/);
  expect(loadFiles([path.join(env, "kawazu.yaml")]).issues).toEqual([]);
});

testWithTool("script", "bsdutils", "init in a pseudo-terminal")("in Japanese from the locale: the questions, the re-asked answer and the result speak Japanese", () => {
  const env = tempDir();
  const answers = ["kawazu", "河津町", "223017", "223018", "7200", "444455556666", ...Array(10).fill(""), "noc@example.jp"].join("\n") + "\n";
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(REPO_ROOT, "bin", "alpha-prime.js"))} --env-dir ${JSON.stringify(env)} init`;
  const r = spawnSync("script", ["-qec", command, "/dev/null"], { input: answers, encoding: "utf8", timeout: 60_000, env: { ...process.env, LANG: "ja_JP.UTF-8" } });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain("全国地方公共団体コード（6桁）");
  expect(r.stdout).toContain("検査数字は 8 のはずです（223018）");
  expect(r.stdout).toMatch(/帯域プラン \[1g\]/);
  expect(r.stdout).toContain("例です。実際の値に置き換えてください");
  expect(r.stdout).toMatch(/kawazu\.yaml を書き出しました（検証済み）/);
  expect(loadFiles([path.join(env, "kawazu.yaml")]).issues).toEqual([]);
});

test("--lang ja from flags: a refused flag is explained in Japanese, and nothing is written", async () => {
  const env = tempDir();
  const flags = FLAGS.map((f) => (f === "223026" ? "223027" : f));
  const r = await runCli("--env-dir", env, "init", "minamiizu", ...flags, "--lang", "ja");
  expect([r.code, r.err]).toEqual([1, 'alpha-prime: --code "223027": 検査数字は 6 のはずです（223026）\n何も書き込んでいません\n']);
  expect(fs.readdirSync(env)).toEqual([]);
});

test("--lang ja writes the file's comments in Japanese; keys, values and the schema header are the same", async () => {
  const [en, ja] = [tempDir(), tempDir()];
  await runCli("--env-dir", en, "init", "minamiizu", ...FLAGS);
  const r = await runCli("--env-dir", ja, "init", "minamiizu", ...FLAGS, "--lang", "ja");
  expect(r.out).toMatch(/minamiizu\.yaml を書き出しました（検証済み）。EXAMPLE の値を置き換えてください: breakoutCidr, lgwanSegments, lgwanProxy, sitePublicIp/);
  const text = fs.readFileSync(path.join(ja, "minamiizu.yaml"), "utf8");
  expect(text).toContain("# 南伊豆町（静岡県）: `alpha-prime init` が作成しました。");
  expect(text).toMatch(/^ {2}breakoutCidr: 10\.64\.0\.0\/24 +# EXAMPLE: 自団体のアドレス計画に合わせて置き換えてください$/m);
  const withoutComments = (t: string) => t.split("\n").map((l) => l.replace(/\s+#.*$/, "")).filter((l) => !/^\s*#/.test(l) || l.startsWith("# yaml-language-server"));
  expect(withoutComments(text)).toEqual(withoutComments(fs.readFileSync(path.join(en, "minamiizu.yaml"), "utf8")));
  expect(loadFiles([path.join(ja, "minamiizu.yaml")]).issues).toEqual([]);
});
