/**
 * validate and init in Japanese: every message has a translation, the translation keeps its values, and a
 * Japanese report points at exactly the same file, line:column and field path as the English one.
 */
import * as path from "path";
import { formatIssue, formatIssueIn } from "../core/errors";
import { loadFiles } from "../config/load";
import { chooseLang, render, tr } from "../core/messages";
import { JA } from "../core/messages-ja";
import { envDirWith, runCli, sampleText } from "./helpers";
import { messageKeys } from "./message-keys";

const placeholders = (s: string) => (s.match(/\{\d+\}/g) ?? []).sort();
const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

describe("the Japanese catalog", () => {
  const keys = messageKeys();

  test("the sources have translatable messages (the scan is not empty)", () => {
    expect(keys.size).toBeGreaterThan(200);
    expect(keys.get("{0} error(s) in {1} file(s)")).toMatch(/^cli\/main\.ts:/);
  });

  test("every message in the sources has a Japanese translation", () => {
    const missing = [...keys].filter(([k]) => !Object.hasOwn(JA, k)).map(([k, at]) => `${at}: ${JSON.stringify(k)}`);
    expect(missing).toEqual([]);
  });

  test("every translation belongs to a message that still exists", () => {
    expect(Object.keys(JA).filter((k) => !keys.has(k))).toEqual([]);
  });

  test("every translation keeps exactly the values of its message", () => {
    const broken = Object.entries(JA).filter(([k, v]) => JSON.stringify(placeholders(k)) !== JSON.stringify(placeholders(v)));
    expect(broken).toEqual([]);
  });
});

describe("choosing the language", () => {
  test("--lang wins; else LC_ALL, LC_MESSAGES, LANG in that order; else English", () => {
    expect(chooseLang("ja", { LANG: "C.UTF-8" })).toBe("ja");
    expect(chooseLang("en", { LC_ALL: "ja_JP.UTF-8" })).toBe("en");
    expect(chooseLang(undefined, { LANG: "ja_JP.UTF-8" })).toBe("ja");
    expect(chooseLang(undefined, { LANG: "ja" })).toBe("ja");
    expect(chooseLang(undefined, { LC_ALL: "C.UTF-8", LANG: "ja_JP.UTF-8" })).toBe("en");
    expect(chooseLang(undefined, { LC_MESSAGES: "ja_JP.eucJP", LANG: "en_US.UTF-8" })).toBe("ja");
    expect(chooseLang(undefined, { LANG: "jv_ID" })).toBe("en"); // Javanese is not Japanese
    expect(chooseLang(undefined, {})).toBe("en");
    expect(() => chooseLang("jp")).toThrow("--lang jp: expected one of en, ja");
  });

  test("an unknown --lang is a usage error", async () => {
    const r = await runCli("validate", "--lang", "jp");
    expect([r.code, r.err]).toEqual([2, expect.stringContaining("--lang jp: expected one of en, ja")]);
  });
});

describe("validate --lang ja", () => {
  // a file with a schema error, a semantic error, a reason from a helper, a typo with a suggestion, a cross-field error
  const broken = sampleText("mitoyo")
    .replace("retentionDays: 365", "retentionDay: 365")
    .replace('"372081"', '"372082"')
    .replace("slack, kintone", "slak, kintone")
    .replace("10.64.0.0/22 ", "10.64.0.300/22 ")
    .replace("bgpAsn: 65011", "bgpAsn: 23456")
    .replace("population: 57377", "population: -5");
  const dir = envDirWith({ "mitoyo.yaml": broken });
  const issues = loadFiles([path.join(dir, "mitoyo.yaml")]).issues;

  test("says each problem in Japanese at the same file, line:column and field path as in English", () => {
    expect(issues.length).toBeGreaterThanOrEqual(6);
    for (const i of issues) {
      const en = formatIssue(i);
      const ja = formatIssueIn(i, "ja");
      const where = `${i.file}:${i.line}:${i.column}: ${i.path}: `;
      expect(en.startsWith(where)).toBe(true);
      expect(ja.startsWith(where)).toBe(true);
      expect(ja).not.toBe(en);
      expect(ja.slice(where.length)).toMatch(JAPANESE);
    }
  });

  test("reasons from helpers and the intended key are carried over", () => {
    const ja = issues.map((i) => formatIssueIn(i, "ja")).join("\n");
    expect(ja).toContain("/network/breakoutCidr: \"10.64.0.300/22\": 有効な IPv4 CIDR ではありません");
    expect(ja).toContain("/logging/retentionDay: 不明なキー 'retentionDay'");
    expect(ja).toContain("（'retentionDays' の誤りではありませんか?）");
    expect(ja).toContain("/sites/1/bgpAsn: 23456: 23456 は AS_TRANS（RFC 6793）で、実際の ASN ではありません");
    expect(ja).toContain("/population: 1 以上である必要があります（指定値: -5）");
  });

  test("from the command line: Japanese report, Japanese summary, exit 1; the English report is unchanged", async () => {
    const ja = await runCli("--env-dir", dir, "validate", "--lang", "ja");
    expect(ja.code).toBe(1);
    expect(ja.err).toContain(`${path.join(dir, "mitoyo.yaml")}:5:22: /localGovernmentCode: 372082 の検査数字が誤っています（期待される値: 372081）`);
    expect(ja.err.trimEnd().split("\n").pop()).toBe(`1 個のファイルに ${issues.length} 件のエラーがあります`);
    const en = await runCli("--env-dir", dir, "validate");
    expect(en.err).toContain(`${path.join(dir, "mitoyo.yaml")}:5:22: /localGovernmentCode: check digit of 372082 is wrong; expected 372081`);
    expect(en.err.trimEnd().split("\n").pop()).toBe(`${issues.length} error(s) in 1 file(s)`);
  });

  test.each([
    ["a tab used to indent", (t: string) => t.replace("\n  region: ap-northeast-1", "\n\tregion: ap-northeast-1"), "インデントにタブが使われています"],
    ["a key without its ':'", (t: string) => t.replace("population: 57377", "population 57377"), "':' が抜けていませんか?"],
    ["a second document", (t: string) => `${t}---\nid: x\n`, "'---' の行を削除してください"],
  ])("a YAML syntax error (%s) is explained in Japanese, with the parser's own words and the same location", (_, edit, words) => {
    const d = envDirWith({ "mitoyo.yaml": edit(sampleText("mitoyo")) });
    const [issue] = loadFiles([path.join(d, "mitoyo.yaml")]).issues;
    const en = formatIssue(issue);
    const ja = formatIssueIn(issue, "ja");
    expect(en).toMatch(/: \/: YAML syntax: [a-z].*\(.+\)$/);
    expect(ja).toContain(words);
    expect(ja.split(": YAML")[0]).toBe(en.split(": YAML")[0]);
    // the parser's words are kept: they name the construct exactly
    const said = /YAML syntax: [^(]*? \((.*)\)$/.exec(en)![1];
    expect(ja.endsWith(`（${said}）`)).toBe(true);
  });

  test("a valid set says so in Japanese", async () => {
    const r = await runCli("validate", "--lang", "ja");
    expect([r.code, r.out]).toEqual([0, expect.stringMatching(/^\d+ 件の自治体ファイルは有効です: aogashima, /)]);
  });
});

test("a message renders its values, nested messages included, in either language", () => {
  const inner = tr`not a valid IPv4 CIDR`;
  expect(render(tr`${"x"} is ${inner}`)).toBe("x is not a valid IPv4 CIDR");
  expect(render(tr`${"x"} is ${inner}`, "ja")).toBe("x: 有効な IPv4 CIDR ではありません");
});
