/**
 * Hostile input: what a pull request that edits one env file (or plants files beside it) can do. Each case is one
 * class of attack or clumsiness; each failed before its fix (issue 17). Nothing in a YAML file runs code, leaks
 * a secret or deletes data, and every refusal is located and exits non-zero with nothing written.
 */
import { getQuickJS } from "@tootallnate/quickjs-emscripten";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { createPacResolver } from "pac-resolver";
import { renderedFiles } from "../cli/render";
import { synthParallel } from "../cli/parallel-synth";
import { REPO_ROOT } from "../core/paths";
import { offlinePlan, terraformBinary, terraformEnv } from "../cli/offline-plan";
import { formatIssue } from "../core/errors";
import { envFiles, loadFiles } from "../config/load";
import { checkStack } from "../policy/engine";
import { StackModel } from "../policy/model";
import { pacForeignCode } from "../policy/rules/pac-generated-code-only";
import { effectiveAllowlist, municipalityPac } from "../stacks/allowlist";
import { ENV_DIR, envDirWith, loadSample, sampleText, synthStacks, tempDir, testWithTool, runCli } from "./helpers";

const ashiya = sampleText("ashiya");

function issuesOf(text: string, name = "ashiya.yaml") {
  const dir = envDirWith({ [name]: text });
  return loadFiles([path.join(dir, name)]).issues;
}

const cli = runCli;

describe("text that no env file needs is refused where it stands", () => {
  test.each([
    ["a newline in a one-line field (it would end a PAC comment and run as JavaScript)", 'name: "芦屋市\\nfunction FindProxyForURL(u, h) { return \\"DIRECT\\"; }"'],
    ["a carriage return", 'name: "芦屋市\\r// x"'],
    ["a JavaScript line separator (U+2028)", 'name: "芦屋市\\u2028x"'],
    ["a terminal escape", 'name: "\\e[2J芦屋市"'],
    ["a bidirectional override", 'name: "芦屋市\\u202e"'],
    ["a NUL", 'name: "芦屋\\0市"'],
  ])("%s", (_what, line) => {
    const issues = issuesOf(ashiya.replace(/^name: .*$/m, line));
    expect(issues).toEqual([expect.objectContaining({ path: "/name", line: 5, message: expect.stringMatching(/contains the character \\u00(0a|0d|1b|00)|\\u2028|\\u202e/) })]);
    // and the message itself is safe on a terminal
    expect(formatIssue(issues[0])).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u2028\u202e]/);
  });

  test("a lone surrogate (no character at all: Terraform's JSON reader would write U+FFFD to AWS) is refused; a real pair is text", () => {
    for (const [line, shown] of [['name: "芦屋市\\ud800"', "\\ud800"], ['name: "\\udc00芦屋市"', "\\udc00"], ['name: "芦屋市\\udc00\\ud800"', "\\udc00"]]) {
      const issues = issuesOf(ashiya.replace(/^name: .*$/m, line));
      expect(issues).toEqual([expect.objectContaining({ path: "/name", line: 5, message: expect.stringContaining(`contains the character ${shown}`) })]);
    }
    expect(issuesOf(ashiya.replace(/^name: .*$/m, 'name: "芦屋市\\ud842\\udfb7"'))).toEqual([]); // 𠮷, a surrogate pair
  });

  test("the VPN login banner may span lines, but not carry control characters", () => {
    const sample = sampleText("kaga");
    expect(issuesOf(sample.replace(/loginBanner: .*/, 'loginBanner: "加賀市の職員専用です。\\n不正利用は禁止します。"'), "kaga.yaml")).toEqual([]);
    expect(issuesOf(sample.replace(/loginBanner: .*/, 'loginBanner: "加賀市\\e[8m"'), "kaga.yaml")[0]).toMatchObject({ path: "/remoteAccess/loginBanner" });
  });

  test("invalid UTF-8 is refused with its line and column", () => {
    const dir = tempDir();
    const bytes = Buffer.concat([Buffer.from(ashiya.replace(/^name: .*$/m, "name: 芦屋")), Buffer.from([0xff, 0xfe, 0x0a])]);
    fs.writeFileSync(path.join(dir, "ashiya.yaml"), bytes);
    const [i] = loadFiles([path.join(dir, "ashiya.yaml")]).issues;
    expect(i.message).toMatch(/invalid UTF-8 \(byte 0xff/);
    expect(i.line).toBe(ashiya.split("\n").length);
  });

  test("YAML tags, anchors and aliases are refused per file, located, and other files are still reported", () => {
    const dir = envDirWith({
      "ashiya.yaml": ashiya.replace(/^population: .*$/m, "population: !!int 93262"),
      "kaga.yaml": sampleText("kaga").replace(/^(  saas: )(.*)$/m, "$1&s $2\n  extraDomains: *s"),
      "mitoyo.yaml": sampleText("mitoyo").replace(/^population: .*$/m, "population: many"),
    });
    const issues = loadFiles(envFiles(dir)).issues;
    expect(issues.map((i) => [i.file.split(path.sep).pop(), i.message.split(" (")[0]])).toEqual([
      ["ashiya.yaml", "YAML tags"],
      ["kaga.yaml", "YAML anchors"],
      ["kaga.yaml", "YAML aliases"],
      ["mitoyo.yaml", expect.stringMatching(/"many" has the wrong type/)],
    ]);
    expect(issues[0].line).toBe(ashiya.split("\n").findIndex((l) => l.startsWith("population:")) + 1);
  });

  test("a tag or an anchor on a mapping is refused too, located at the mapping", () => {
    const tagged = issuesOf(ashiya.replace(/^aws:.*$/m, "aws: !custom"));
    expect(tagged.map((i) => i.message.split(" (")[0])).toEqual(["YAML tags"]);
    expect(tagged[0].line).toBe(ashiya.split("\n").findIndex((l) => l.startsWith("aws:")) + 2);
    const anchored = issuesOf(ashiya.replace(/^aws:.*$/m, "aws: &x"));
    expect(anchored.map((i) => i.message.split(" (")[0])).toEqual(["YAML anchors"]);
    expect(issuesOf(`--- !!map\n${ashiya}`).map((i) => i.message.split(" (")[0])).toEqual(["YAML tags"]);
  });

  test("an alias bomb costs nothing: refused before any value is expanded", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    const issues = issuesOf(`${ashiya}\n${bomb}\n`);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((i) => /YAML (anchors|aliases)/.test(i.message))).toBe(true);
  });

  test("a duplicate key is located at its second use", () => {
    const text = ashiya.replace(/^population: .*$/m, "$&\npopulation: 1");
    expect(issuesOf(text)).toEqual([expect.objectContaining({ message: "duplicate key 'population'", line: ashiya.split("\n").findIndex((l) => l.startsWith("population:")) + 2 })]);
  });

  test("a region named __proto__ is an unknown region, not a crash", () => {
    const issues = issuesOf(ashiya.replace(/region: ap-northeast-1/, "region: __proto__"));
    expect(issues.find((i) => i.path === "/aws/region")?.message).toMatch(/"__proto__" is not allowed/);
  });

  test("twenty thousand unknown keys: one error, quickly, without listing them all", () => {
    const flood = Array.from({ length: 20000 }, (_, i) => `k${i}: 1`).join("\n");
    const issues = issuesOf(`${ashiya}\n${flood}\n`);
    expect(issues).toEqual([expect.objectContaining({ message: "has more than 2000 keys" })]);
  });

  test("a huge value is not echoed: the file is over the size limit, and long values are cut in messages", () => {
    expect(issuesOf(ashiya.replace(/^name: .*$/m, `name: ${"x".repeat(300_000)}`))[0].message).toMatch(/is \d+ bytes; env files are limited to 262144 bytes/);
    const [i] = issuesOf(ashiya.replace(/^prefecture: .*$/m, `prefecture: ${"県".repeat(3000)}`));
    expect(formatIssue(i).length).toBeLessThan(600);
  });
});

describe("only regular files inside the env directory are read", () => {
  test("a symbolic link out of the env directory is refused and its target never echoed", () => {
    const dir = tempDir();
    const secret = path.join(tempDir(), "secret.yaml");
    fs.writeFileSync(secret, "id: SECRET-TOKEN-abc123\n");
    fs.symlinkSync(secret, path.join(dir, "ashiya.yaml"));
    fs.symlinkSync("/proc/self/environ", path.join(dir, "kaga.yaml"));
    const issues = loadFiles(envFiles(dir)).issues;
    expect(issues.map((i) => i.message)).toEqual(["is a symbolic link to a file outside the env directory: refused, not read", "is a symbolic link to a file outside the env directory: refused, not read"]);
    expect(JSON.stringify(issues)).not.toMatch(/SECRET-TOKEN|PATH=/);
  });

  test("a symbolic link to another file of the same directory is read", () => {
    const dir = envDirWith({ "ashiya-source.yml.txt": ashiya });
    fs.symlinkSync(path.join(dir, "ashiya-source.yml.txt"), path.join(dir, "ashiya.yaml"));
    expect(loadFiles(envFiles(dir)).issues).toEqual([]);
  });

  test("a named pipe and a device are refused without being opened (no hang, no memory blow-up)", () => {
    const dir = tempDir();
    execFileSync("mkfifo", [path.join(dir, "ashiya.yaml")]);
    fs.symlinkSync("/dev/zero", path.join(dir, "kaga.yaml"));
    const issues = loadFiles(envFiles(dir)).issues;
    expect(issues.map((i) => i.message)).toEqual(["is not a regular file (a named pipe): refused, not read", "is a symbolic link to a file outside the env directory: refused, not read"]);
    expect(loadFiles(["/dev/zero"]).issues[0].message).toBe("is not a regular file (a device): refused, not read");
  });

  test("an empty env directory, a misnamed env file and one id in two files are errors, and nothing is written", async () => {
    const out = path.join(tempDir(), "cdktf.out");
    const empty = tempDir();
    fs.writeFileSync(path.join(empty, "ashiya.yml.bak"), ashiya);
    let r = await cli("--env-dir", empty, "synth", "--out", out);
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/contains no env files/)]);
    r = await cli("--env-dir", empty, "validate");
    expect(r.code).toBe(1);
    r = await cli("--env-dir", envDirWith({ "ashiya.YAML": ashiya }), "synth", "--out", out);
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/ashiya\.YAML.*end in \.yaml or \.yml \(lowercase\)/)]);
    r = await cli("--env-dir", envDirWith({ "ashiya.yaml": ashiya, "ashiya.yml": ashiya }), "validate");
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/municipality 'ashiya' has two env files \(ashiya\.yaml and ashiya\.yml\)/)]);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe("text from the env file reaches Terraform as text, never as an expression", () => {
  const FILE = '${file("/etc/hostname")}';
  const CWD = "${path.cwd}";
  const DIRECTIVE = "%{ if true }x%{ endif }";
  // The name is no channel for template text any more: it becomes a tag of IAM roles, and IAM takes letters, digits,
  // spaces and _.:/=+-@ only (attack-aws A7), so validate refuses "${", "%{" and "}" there (tested below).
  const kaga = sampleText("kaga")
    // replacer functions: "$$" in a replacement string would itself mean "$"
    .replace(/loginBanner: .*/, () => `loginBanner: '加賀市 ${FILE} $\${escaped}'`)
    .replace(/guidance: (.*)/, (_m, text) => `guidance: ${CWD} ${text}`);
  const { stacks } = synthStacks({ envDir: envDirWith({ "kaga.yaml": kaga }) });
  const tf = stacks.kaga as any;

  test("the stack meets the baseline: no interpolation but references (AP-TF-001), the PAC file is only generated code (AP-PAC-001)", () => {
    // nothing but what the constructs accept by design (constructs/accepted-findings.ts)
    expect(checkStack(new StackModel("kaga", tf)).findings.filter((f) => !f.suppressedBy?.declaredBy)).toEqual([]);
  });

  testWithTool("terraform", "terraform", "Terraform's reading of escaped env-file text")("real Terraform reads the tag, the VPN banner and the published files back as the text that was written", () => {
    const banner = Object.values<any>(tf.resource.aws_ec2_client_vpn_endpoint)[0].client_login_banner_options.banner_text;
    const pac = Object.values<any>(tf.resource.aws_s3_object).find((o) => o.key === "pac/proxy.pac").content;
    const values = { tag: tf.provider.aws[0].default_tags[0].tags.MunicipalityName, banner, pac };
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify({ locals: values }));
    const r = spawnSync(terraformBinary(), ["console"], { cwd: dir, input: "jsonencode([local.tag, local.banner, local.pac])\n", encoding: "utf8", env: terraformEnv(), timeout: 30_000 });
    expect([r.status, r.stderr.replace(/[\s\S]*Warning[\s\S]*?╵\s*/g, "").trim()]).toEqual([0, ""]);
    const [tag, bannerText, pacText] = JSON.parse(JSON.parse(r.stdout.trim()));
    expect(tag).toBe("加賀市");
    expect(bannerText).toBe(`加賀市 ${FILE} $\${escaped}`);
    expect(pacText).toContain("// PAC file for 加賀市 (kaga)");
  });

  testWithTool("terraform", "terraform", "an offline plan of a stack whose env file holds template text")("a real offline plan of that stack passes, and plans the tag and the banner as the text that was written", () => {
    const { dir } = synthStacks({ envDir: envDirWith({ "kaga.yaml": kaga }) });
    const s = offlinePlan(path.join(dir, "stacks", "kaga"), "kaga", tempDir());
    const plan = JSON.parse(fs.readFileSync(s.planJsonPath, "utf8"));
    const planned = (type: string) => plan.resource_changes.find((r: any) => r.type === type).change.after;
    expect(planned("aws_ec2_client_vpn_endpoint").client_login_banner_options[0].banner_text).toBe(`加賀市 ${FILE} $\${escaped}`);
    expect(planned("aws_vpc").tags_all.MunicipalityName).toBe("加賀市");
  }, 120_000);

  test("template text in the name is refused at the YAML: the name is a tag of IAM roles, which take no $, % or braces", () => {
    const [i] = issuesOf(sampleText("kaga").replace(/^name: .*$/m, () => `name: "加賀市 ${CWD} ${DIRECTIVE}"`), "kaga.yaml");
    expect(i).toMatchObject({ path: "/name", message: expect.stringMatching(/has characters IAM does not take in tags \(\$ \{ \} %\)/) });
  });

  test("cdktf's own token syntax cannot be smuggled in", () => {
    const [i] = issuesOf(ashiya.replace(/^name: .*$/m, "name: 芦屋市 ${TfToken[TOKEN.1]}"));
    expect(i).toMatchObject({ path: "/name", message: expect.stringMatching(/token syntax .* is reserved/) });
  });

  test("the reviewer diff calls out the PAC file changing, and any executable text in the head", () => {
    const { diffSides, readSynthesized } = require("../review/diff") as typeof import("../review/diff");
    const base = synthStacks({ only: ["kaga"] }).dir;
    const tampered = JSON.parse(JSON.stringify(tf));
    tampered.provider.aws[0].default_tags[0].tags.MunicipalityName = FILE;
    const pacObject = Object.values<any>(tampered.resource.aws_s3_object).find((o) => o.key === "pac/proxy.pac");
    pacObject.content += '\nFindProxyForURL = function () { return "DIRECT"; };\n';
    const head = path.join(tempDir(), "cdktf.out");
    fs.mkdirSync(path.join(head, "stacks", "kaga"), { recursive: true });
    fs.writeFileSync(path.join(head, "stacks", "kaga", "cdk.tf.json"), JSON.stringify(tampered));
    fs.writeFileSync(path.join(head, "manifest.json"), JSON.stringify({ version: "0.21.0", stacks: { kaga: { synthesizedStackPath: "stacks/kaga/cdk.tf.json" } } }));
    const callouts = diffSides(readSynthesized(base), readSynthesized(head)).municipalities.find((m) => m.id === "kaga")!.callouts.map((c) => c.message);
    expect(callouts).toEqual(
      expect.arrayContaining([
        "PAC file changed: it runs on every staff PC (read it with `alpha-prime render`)",
        expect.stringMatching(/^EXECUTABLE TEXT: AP-TF-001: an interpolation \$\{file\("\/etc\/hostname"\)\} is not a reference/),
        expect.stringMatching(/^EXECUTABLE TEXT: AP-PAC-001: code the generator does not write: "FindProxyForURL = function/),
      ]),
    );
  });
});

describe("the PAC encoder keeps any text inside its comment or string", () => {
  test.each([["a newline", "芦屋市\nfunction FindProxyForURL(u, h) { return 'DIRECT'; }"], ["a line separator", "芦屋市\u2028FindProxyForURL = null;"], ["a paragraph separator", "芦屋市\u2029x = 1;"], ["a comment end", "芦屋市 */ x = 1; /*"]])("%s in the municipality's name stays in the header comment", async (_what, name) => {
    const config = loadSample("ashiya");
    const text = municipalityPac({ ...config, name }, effectiveAllowlist(config));
    expect(pacForeignCode(text)).toEqual([]);
    const find = createPacResolver(await getQuickJS(), text);
    expect(await find("https://example.com/")).toBe(`PROXY ${config.network.lgwanProxy}`);
  });
});

describe("AP-PAC-001 refuses a comment that JScript runs as code", () => {
  // JScript's conditional compilation runs the text of a comment that starts with "@" (/*@cc_on @*/, /*@ ... @*/,
  // //@...): https://learn.microsoft.com/en-us/previous-versions/windows/internet-explorer/ie-developer/scripting-articles/8ka90k2e(v=vs.84)
  // acorn, V8 and QuickJS read it as a comment, so a hand-edited file passed the rule and changed what a PC whose PAC
  // engine is JScript does. The generator writes no such comment (pacComment starts every one with "// ").
  const config = loadSample("ashiya");
  const generated = municipalityPac(config, effectiveAllowlist(config));
  const functions = generated.indexOf("\nfunction alphaPrimeIpv4(");
  const withData = (extra: string) => `${generated.slice(0, functions)}${extra}${generated.slice(functions)}`;
  test.each([
    ["a block comment in the data part", withData('\n/*@cc_on FindProxyForURL = function () { return "DIRECT"; } @*/'), '/*@cc_on FindProxyForURL = function () { return \"DIRECT\"; } @*/'],
    ["a line comment in the data part", withData("\n//@cc_on"), "//@cc_on"],
    ["one in data that acorn must parse", withData("\nvar DIRECT_NETS = [0x1]; /*@ @*/"), "/*@ @*/"],
    ["one in a file that does not end with the generated functions", `${generated}\n/*@cc_on @*/\n`, "/*@cc_on @*/"],
  ])("%s", (_what, text, comment) => {
    expect(pacForeignCode(text)).toEqual([`a comment that JScript runs as code (conditional compilation): ${JSON.stringify(comment)}`]);
  });

  test("the generated file and comments that merely mention @cc_on pass", () => {
    expect(pacForeignCode(generated)).toEqual([]);
    expect(pacForeignCode(withData("\n// @cc_on\n/* x @*/"))).toEqual([]);
  });
});

describe("synth --out writes only where it may, and never leaves the output missing or raced", () => {
  const envDir = () => envDirWith({ "ashiya.yaml": ashiya });
  const listing = (dir: string) => fs.readdirSync(dir).sort();

  test("a directory that is not ours, the current directory, its parent and a file are refused; nothing is touched", async () => {
    const foreign = tempDir();
    fs.writeFileSync(path.join(foreign, "keep.txt"), "mine");
    fs.mkdirSync(path.join(foreign, "child"));
    for (const out of [foreign, path.join(foreign, "child", ".."), path.join(foreign, "keep.txt")]) {
      const r = await cli("--env-dir", envDir(), "synth", "--out", out);
      expect([r.code, r.err]).toEqual([2, expect.stringMatching(/refusing to replace it/)]);
    }
    const cwd = process.cwd();
    process.chdir(foreign);
    try {
      const r = await cli("--env-dir", envDir(), "synth", "--out", ".");
      expect([r.code, r.err]).toEqual([2, expect.stringMatching(/refusing to replace it/)]);
    } finally {
      process.chdir(cwd);
    }
    expect(listing(foreign)).toEqual(["child", "keep.txt"]);
    expect(fs.readFileSync(path.join(foreign, "keep.txt"), "utf8")).toBe("mine");
  });

  test("an output it wrote (marked), an empty one and a cdktf.out from before the marker are replaced", async () => {
    const root = tempDir();
    const legacy = path.join(root, "legacy");
    fs.mkdirSync(path.join(legacy, "stacks"), { recursive: true });
    fs.writeFileSync(path.join(legacy, "manifest.json"), "{}");
    const empty = path.join(root, "empty");
    fs.mkdirSync(empty);
    for (const out of [legacy, empty, path.join(root, "new")]) {
      expect((await cli("--env-dir", envDir(), "synth", "--out", out)).code).toBe(0);
      expect(listing(out)).toEqual([".alpha-prime-output", "inputs.json", "manifest.json", "stacks"]);
      expect((await cli("--env-dir", envDir(), "synth", "--out", out)).code).toBe(0); // and again, by its marker
    }
    expect(listing(root)).toEqual(["empty", "legacy", "new"]); // no lock, staging or old tree left beside them
  });

  test("--only with no id is an error, not 'everything'", async () => {
    const r = await cli("--env-dir", envDir(), "synth", "--only", "", "--out", path.join(tempDir(), "o"));
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--only names no municipality/)]);
  });

  test("a second run on the same output is refused while the first holds its lock; a lock of a dead run is taken over", async () => {
    const out = path.join(tempDir(), "cdktf.out");
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      fs.writeFileSync(`${out}.lock`, `${holder.pid}\n`);
      const r = await cli("--env-dir", envDir(), "synth", "--out", out);
      expect([r.code, r.err]).toEqual([2, expect.stringMatching(new RegExp(`being written by another alpha-prime run \\(pid ${holder.pid}\\)`))]);
      expect(fs.existsSync(out)).toBe(false);
    } finally {
      holder.kill("SIGKILL");
    }
    fs.writeFileSync(`${out}.lock`, "99999999\n"); // above any pid_max: that run is gone
    expect((await cli("--env-dir", envDir(), "synth", "--out", out)).code).toBe(0);
    expect(fs.existsSync(`${out}.lock`)).toBe(false);
  });

  test("a run killed between the two renames of the swap: the next run restores the previous output first", async () => {
    const root = tempDir();
    const out = path.join(root, "cdktf.out");
    expect((await cli("--env-dir", envDir(), "synth", "--out", out)).code).toBe(0);
    const before = fs.readFileSync(path.join(out, "stacks", "ashiya", "cdk.tf.json"), "utf8");
    fs.renameSync(out, `${out}.old-99999999`); // the first rename happened, the second never did
    fs.mkdirSync(`${out}.staging-99999999-abc`); // and its staging was left behind
    // the next run fails on bad input: the previous output must be back, whole, and the leftovers gone
    const r = await cli("--env-dir", envDirWith({ "ashiya.yaml": ashiya.replace(/^population: .*$/m, "population: many") }), "synth", "--out", out);
    expect(r.code).toBe(1);
    expect(fs.readFileSync(path.join(out, "stacks", "ashiya", "cdk.tf.json"), "utf8")).toBe(before);
    expect(listing(root)).toEqual(["cdktf.out"]);
  });

  test("SIGTERM during a parallel synth: the run exits by the signal and leaves no staging or lock", async () => {
    const root = tempDir();
    const out = path.join(root, "cdktf.out");
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "alpha-prime.js"), "--env-dir", ENV_DIR, "synth", "--jobs", "2", "--out", out], { stdio: "ignore" });
    const deadline = Date.now() + 20_000;
    while (!listing(root).some((n) => n.startsWith("cdktf.out.staging-")) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("exit", (c, s) => resolve([c, s])));
    expect([code, signal]).toEqual([null, "SIGTERM"]);
    expect(listing(root)).toEqual([]);
  }, 30_000);
});

describe("whole-run faults never report success", () => {
  test("a synthesis worker killed mid-run fails the run, naming what it held; nothing is written", async () => {
    const out = path.join(tempDir(), "cdktf.out");
    const pids: number[] = [];
    let killed = false;
    const run = synthParallel({
      outdir: out,
      envDir: ENV_DIR,
      jobs: 1,
      onWorkerStart: (pid) => pids.push(pid),
      onProgress: () => {
        if (!killed) process.kill(pids[0], "SIGKILL");
        killed = true;
      },
    });
    await expect(run).rejects.toThrow(/a synthesis worker was killed \(SIGKILL\) while synthesizing (ashiya|kaga|mitoyo)(, (kaga|mitoyo))*: nothing was written/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  }, 60_000);
});

describe("validate refuses what synth, Terraform or AWS would refuse, or what would open the allowlist", () => {
  const mitoyo = sampleText("mitoyo");
  const at = (issues: ReturnType<typeof issuesOf>, p: string) => issues.find((i) => i.path === p)?.message;

  test("a dotted-octal or zero-padded address is refused (ipaddr.js would read it as octal, AWS as decimal)", () => {
    expect(at(issuesOf(ashiya.replace("breakoutCidr: 10.96.0.0/21", "breakoutCidr: 012.064.0.0/22")), "/network/breakoutCidr")).toMatch(/not a plain dotted-decimal IPv4 CIDR/);
    expect(at(issuesOf(ashiya.replace('lgwanProxy: "172.24.10.8:3128"', 'lgwanProxy: "172.024.10.8:3128"')), "/network/lgwanProxy")).toMatch(/not a plain dotted-decimal IPv4 address/);
  });

  test("the LGWAN proxy must be a private address outside the breakout VPC", () => {
    expect(at(issuesOf(ashiya.replace('lgwanProxy: "172.24.10.8:3128"', 'lgwanProxy: "8.8.8.8:3128"')), "/network/lgwanProxy")).toMatch(/8\.8\.8\.8 is not a private/);
    expect(at(issuesOf(ashiya.replace('lgwanProxy: "172.24.10.8:3128"', 'lgwanProxy: "10.96.1.10:3128"')), "/network/lgwanProxy")).toMatch(/inside breakoutCidr 10\.96\.0\.0\/21/);
  });

  test.each(["*.amazonaws.com", "*.s3.amazonaws.com", "*.cloudfront.net", "*.github.io", "*.workers.dev", "*.blogspot.com"])("extraDomains '%s' (anyone can publish there) is refused unless waived with a reason", (wildcard) => {
    const text = ashiya.replace('extraDomains: ["*.ashiya-dx.example.jp"]', `extraDomains: ["*.ashiya-dx.example.jp", "${wildcard}"]`);
    expect(at(issuesOf(text), "/breakout/extraDomains/1")).toMatch(/would let anyone's site through: .* is where anyone can publish/);
    const waived = text.replace(/^(  extraDomains: .*)$/m, `$1\n  publicHostingWaivers:\n    - domain: "${wildcard}"\n      reason: 市の委託事業者が同基盤上に公開する全サイトを利用するため`);
    expect(issuesOf(waived)).toEqual([]);
  });

  test("an exact host under a public-hosting suffix needs no waiver, and a waiver nothing needs is an error", () => {
    expect(issuesOf(ashiya.replace('"*.ashiya-dx.example.jp"', '"ashiya-city.github.io"'))).toEqual([]);
    const stale = ashiya.replace(/^(  extraDomains: .*)$/m, "$1\n  publicHostingWaivers:\n    - domain: \"*.github.io\"\n      reason: 以前は GitHub Pages の全サイトが必要だったため");
    expect(at(issuesOf(stale), "/breakout/publicHostingWaivers/0/domain")).toMatch(/matches no extraDomains wildcard/);
  });

  test("a relay route name ending in '-' and the relay's health-check port are refused", () => {
    const issues = issuesOf(mitoyo.replace("name: webmail", "name: webmail-").replace("listenPort: 587", "listenPort: 8404"), "mitoyo.yaml");
    expect(at(issues, "/relay/0/name")).toMatch(/wrong form/);
    expect(at(issues, "/relay/1/listenPort")).toMatch(/port 8404 is the relay's own health-check port/);
  });

  test("a trailing dot or capitals in a relay target give one name everywhere: firewall, DNS firewall, PAC, HAProxy", () => {
    const { stacks } = synthStacks({ envDir: envDirWith({ "mitoyo.yaml": mitoyo.replace('target: "smtp.office365.com:587"', 'target: "SMTP.Office365.com.:587"') }) });
    const text = JSON.stringify(stacks.mitoyo);
    expect(text).not.toMatch(/SMTP\.Office365|office365\.com\.:587/);
    const files = renderedFiles("mitoyo", stacks.mitoyo);
    expect(files["relay/haproxy.cfg"]).toContain("server target smtp.office365.com:587 ");
    expect(files["firewall/port-pass-rules.rules"] ?? "").not.toContain("office365.com.:");
  });

  test("an allowlist larger than the firewall's domain rule group is a located error at validate time", () => {
    const many = Array.from({ length: 1001 }, (_, i) => `"h${i}.ashiya-dx.example.jp"`).join(", ");
    const issues = issuesOf(ashiya.replace('extraDomains: ["*.ashiya-dx.example.jp"]', `extraDomains: [${many}]`));
    expect(issues).toEqual([expect.objectContaining({ path: "/breakout/extraDomains", message: expect.stringMatching(/the allowlist has \d+ names, which need \d+ firewall rules; the domain rule group holds 2000/) })]);
    expect(issues[0].line).toBe(ashiya.split("\n").findIndex((l) => l.includes("extraDomains")) + 1);
  });
});

describe("check and diff fail closed on artifacts that are not what they claim", () => {
  const { dir: good } = synthStacks({ only: ["ashiya"] });
  function outdirWith(manifest: unknown, stacks: Record<string, string> = {}): string {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "manifest.json"), typeof manifest === "string" ? manifest : JSON.stringify(manifest));
    for (const [rel, text] of Object.entries(stacks)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    }
    return dir;
  }
  const stackJson = fs.readFileSync(path.join(good, "stacks", "ashiya", "cdk.tf.json"), "utf8");
  const one = { version: "0.21.0", stacks: { ashiya: { synthesizedStackPath: "stacks/ashiya/cdk.tf.json" } } };

  test.each([
    ["an empty manifest", () => outdirWith({ version: "0.21.0", stacks: {} }), /lists no stacks: nothing to check/],
    ["a malformed manifest", () => outdirWith('{"stacks": {'), /manifest\.json: the manifest is not valid JSON/],
    ["a manifest that is not cdktf's", () => outdirWith([1, 2]), /not a cdktf manifest/],
    ["a stack path outside the directory", () => outdirWith({ stacks: { ashiya: { synthesizedStackPath: "../../../../../../etc/hostname" } } }), /points outside .*: refused/],
    ["a truncated stack", () => outdirWith(one, { "stacks/ashiya/cdk.tf.json": stackJson.slice(0, 500) }), /cdk\.tf\.json: stack 'ashiya' is not valid JSON/],
    ["a null stack", () => outdirWith(one, { "stacks/ashiya/cdk.tf.json": "null" }), /cdk\.tf\.json: stack 'ashiya' is null, not a Terraform JSON object/],
    ["a stack that is some other JSON", () => outdirWith(one, { "stacks/ashiya/cdk.tf.json": '{"hello": "world"}' }), /neither "resource" nor "terraform"/],
  ])("check: %s is an error naming the file, not a pass", async (_what, make, message) => {
    const r = await cli("check", make());
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(message)]);
  });

  test("diff: a JSON file that is not a plan is an error, even with --fail-on, not 'no changes'", async () => {
    const notAPlan = path.join(tempDir(), "plan.json");
    fs.writeFileSync(notAPlan, JSON.stringify({ resource_changes: "nope" }));
    const r = await cli("diff", notAPlan, "--fail-on", "security");
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/plan\.json: not a Terraform plan/)]);
    const r2 = await cli("diff", outdirWith({ version: "0.21.0", stacks: {} }), good);
    expect([r2.code, r2.err]).toEqual([2, expect.stringMatching(/lists no stacks/)]);
  });

  test("the PR comment is cut at a section to fit GitHub's limit, with a link to the whole report; markup in messages is inert", () => {
    const { markdown } = require("../review/diff") as typeof import("../review/diff");
    const municipalities = Array.from({ length: 400 }, (_, i) => ({
      id: `m${String(i).padStart(4, "0")}`,
      status: "changed" as const,
      resources: [],
      callouts: [{ risk: "security" as const, address: "allowlist", message: `domains ADDED: ${"x".repeat(200)} <details><img src=x> @everyone | cell` }],
    }));
    const report = { base: "main", head: "cdktf.out", municipalities };
    const whole = markdown(report);
    expect(whole.length).toBeGreaterThan(65_536);
    expect(whole).not.toMatch(/<img|<details><img|@everyone/);
    expect(whole).toContain("&lt;details&gt;&lt;img src=x&gt; &#64;everyone \\| cell");
    const cut = markdown(report, { maxChars: 65_000, fullReportUrl: "https://github.com/o/r/actions/runs/1" });
    expect(cut.length).toBeLessThanOrEqual(65_000);
    expect(cut).toMatch(/\*\*Report shortened to fit a comment\*\*: \d+ of 400 municipality sections shown, risks and changes grouped above\. The whole report: https:\/\/github\.com\/o\/r\/actions\/runs\/1\n$/);
    expect((cut.match(/<details><summary><b>/g) ?? []).length).toBeGreaterThan(10); // whole sections, not one
    expect((cut.match(/<details>/g) ?? []).length).toBe((cut.match(/<\/details>/g) ?? []).length);
  });
});

describe("the parallel path reports errors exactly as the one-process path", () => {
  test("a duplicate local government code: same file, line and relative path either way", async () => {
    const dir = envDirWith({ "ashiya.yaml": ashiya, "ashiya2.yaml": ashiya.replace("id: ashiya", "id: ashiya2") });
    const out = path.join(tempDir(), "o");
    const plain = await cli("--env-dir", dir, "synth", "--plain", "--out", out);
    const parallel = await cli("--env-dir", dir, "synth", "--jobs", "2", "--out", out);
    expect(plain.code).toBe(1);
    expect(parallel.code).toBe(1);
    expect(parallel.err).toBe(plain.err);
    expect(plain.err).toMatch(/ashiya2\.yaml:7:\d+: \/localGovernmentCode: 282065 is also used by ashiya\.yaml/);
  });
});

test("a report file written after a killed run: the dead run's temporary file is removed, the report is whole", async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, ".report.json.99999999.tmp"), "half a report");
  const { dir: out } = synthStacks({ only: ["ashiya"] });
  const r = await cli("check", out, "--format", "json", "--output", path.join(dir, "report.json"));
  expect(r.code).toBe(0);
  expect(fs.readdirSync(dir)).toEqual(["report.json"]);
  // nothing open: what the constructs accept by design is reported as suppressed
  expect(JSON.parse(fs.readFileSync(path.join(dir, "report.json"), "utf8")).findings.filter((f: any) => !f.suppressed)).toEqual([]);
});

test("fields with a narrow grammar refuse template text outright: e-mail addresses and the state KMS key", () => {
  const kaga = sampleText("kaga");
  const email = issuesOf(kaga.replace(/notificationEmails: \[([^\]]*)\]/, 'notificationEmails: ["${file(\\"x\\")}@example.jp"]'), "kaga.yaml");
  expect(email.find((i) => i.path === "/operations/notificationEmails/0")).toBeDefined();
  const key = issuesOf(`${ashiya}\nstate:\n  kmsKeyId: "arn:aws:kms:\${path.cwd}"\n`);
  expect(key.find((i) => i.path === "/state/kmsKeyId")?.message).toMatch(/wrong form/);
});
