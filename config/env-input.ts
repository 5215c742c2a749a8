/**
 * Env files are input from pull requests: read them as hostile. One place decides which files of a directory are
 * env files, reads a file only when it is a regular file inside the env directory and within the size limit, and
 * refuses text that no env file needs (invalid UTF-8, control and bidirectional-override characters, YAML tags,
 * anchors and aliases, more keys than a municipality could have). Refusals name the file and, where the text is
 * readable, the line:column; they never echo the content of a file that was refused.
 */
import * as fs from "fs";
import * as path from "path";
import { Composer, CST, Document, isAlias, isNode, isScalar, LineCounter, Node, ParseOptions, Parser, visit, YAMLParseError } from "yaml";
import { ConfigIssue, Msg, toIssue } from "../core/errors";
import { tr } from "../core/messages";
import { escapeForTerminal } from "../core/terminal-text";

/** Documented in README ("Input limits"). */
export const INPUT_LIMITS = {
  /** the largest sample is ~5 KB; a national-scale file with every option stays far below */
  maxFileBytes: 256 * 1024,
  /** mapping keys in one file, counted before the schema runs (so unknown-key floods cost linear time) */
  maxKeys: 2000,
  /** longest string value; the longest real field (the VPN login banner) is limited to 1,400 by the schema */
  maxStringLength: 4096,
  /** nested mappings and lists: an env file needs five or six (breakout.tenants.<id>.<key>: [..]) */
  maxNesting: 32,
} as const;

/** Characters refused in every string: C0 and C1 controls (but tab and newline where a field is multi-line),
 * DEL, line/paragraph separators (which end a line in JavaScript, e.g. a PAC comment), bidirectional overrides
 * and isolates (which make text read differently from how it runs), the BOM/zero-width no-break space, and a lone
 * surrogate (a YAML "\ud800" escape: no character at all, which the JSON Terraform reads turns into U+FFFD, so the
 * tag or name in AWS would differ from the file). */
const REFUSED_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const REFUSED_IN_SINGLE_LINE = /[\t\n]/;

/** Fields whose text may span lines (newline and tab allowed); every other string is one line. */
const MULTI_LINE_FIELDS = new Set(["/remoteAccess/loginBanner"]);

export interface EnvListing {
  readonly files: string[];
  readonly issues: ConfigIssue[];
}

/**
 * The env files of a directory: *.yaml and *.yml (lowercase), sorted. A name that looks like an env file but is
 * not one (`x.YAML`) and one id in two files (`x.yaml` and `x.yml`) are errors, not silently skipped.
 */
export function listEnvDirectory(dir: string): EnvListing {
  const shown = displayPath(dir);
  let names: string[];
  try {
    const st = fs.statSync(dir);
    if (!st.isDirectory()) return { files: [], issues: [fileIssue(shown, tr`is not a directory of env files`)] };
    names = fs.readdirSync(dir);
  } catch (e) {
    return { files: [], issues: [fileIssue(shown, tr`cannot read the env directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)] };
  }
  const issues: ConfigIssue[] = [];
  const byId = new Map<string, string>();
  const files: string[] = [];
  for (const name of names.sort()) {
    if (!/\.ya?ml$/i.test(name)) continue;
    if (!/\.ya?ml$/.test(name)) {
      issues.push(fileIssue(displayPath(path.join(dir, name)), "env files end in .yaml or .yml (lowercase); this file would be ignored", "a lowercase .yaml extension"));
      continue;
    }
    const id = name.replace(/\.ya?ml$/, "");
    const other = byId.get(id);
    if (other) {
      issues.push(fileIssue(displayPath(path.join(dir, name)), `municipality '${id}' has two env files (${other} and ${name})`, "one file per municipality"));
      continue;
    }
    byId.set(id, name);
    files.push(path.join(dir, name));
  }
  return { files, issues };
}

/** An env directory with nothing to synthesize is an error, not an empty output. */
export function emptyDirectoryIssue(dir: string): ConfigIssue {
  return fileIssue(displayPath(dir), tr`contains no env files (*.yaml or *.yml): nothing to validate or synthesize`, tr`at least one env/<id>.yaml`);
}

/** The file's text, and its bytes as read (what stacks/inputs.ts digests: the same read, so they cannot disagree). */
/** A decoder that refuses invalid UTF-8; without { stream: true } it keeps no state between calls, so one serves all. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

export type ReadResult = { text: string; bytes: Buffer } | { issue: ConfigIssue };

/**
 * Reads one env file as UTF-8 text, or says why not. Symbolic links are followed only to a regular file inside
 * the directory that holds the link; FIFOs, devices and directories are refused before they are opened.
 */
export function readEnvText(file: string): ReadResult {
  // worked out for a message only (path.relative is not free, and most files have none)
  const shown = () => displayPath(file);
  let st: fs.Stats;
  try {
    const link = fs.lstatSync(file);
    if (link.isSymbolicLink()) {
      const home = fs.realpathSync(path.dirname(file));
      const target = fs.realpathSync(file);
      const rel = path.relative(home, target);
      if (rel.startsWith("..") || path.isAbsolute(rel)) return { issue: fileIssue(shown(), tr`is a symbolic link to a file outside the env directory: refused, not read`) };
    }
    // what stat would say of anything but a link (one system call fewer per file)
    st = link.isSymbolicLink() ? fs.statSync(file) : link;
  } catch (e) {
    return { issue: fileIssue(shown(), tr`cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`) };
  }
  if (!st.isFile()) return { issue: fileIssue(shown(), tr`is not a regular file (${kindOf(st)}): refused, not read`) };
  if (st.size > INPUT_LIMITS.maxFileBytes) return { issue: fileIssue(shown(), tr`is ${st.size} bytes; env files are limited to ${INPUT_LIMITS.maxFileBytes} bytes`) };
  let bytes: Buffer;
  try {
    bytes = readAtMost(file, INPUT_LIMITS.maxFileBytes + 1, st.size);
  } catch (e) {
    return { issue: fileIssue(shown(), tr`cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`) };
  }
  if (bytes.length > INPUT_LIMITS.maxFileBytes) return { issue: fileIssue(shown(), tr`is larger than ${INPUT_LIMITS.maxFileBytes} bytes (it grew while being read)`) };
  try {
    const text = UTF8.decode(bytes);
    return { text: text.startsWith("\ufeff") ? text.slice(1) : text, bytes };
  } catch {
    const at = firstInvalidUtf8(bytes);
    const before = new TextDecoder("utf-8").decode(bytes.subarray(0, at));
    const lines = before.split("\n");
    return { issue: toIssue({ file: shown(), line: lines.length, column: lines[lines.length - 1].length + 1, path: "/", message: tr`invalid UTF-8 (byte 0x${bytes[at].toString(16).padStart(2, "0")} at offset ${at})`, expected: tr`a UTF-8 text file` }) };
  }
}

/**
 * A text as the YAML parser's token tree, with the line counter the parser filled. The token tree is built without
 * recursion; the shape checks (textShapeProblems) read it before a document is built from the same tokens
 * (composeDocument), so a file is parsed once.
 */
export interface ParsedText {
  readonly text: string;
  readonly tokens: readonly CST.Token[];
  readonly lineCounter: LineCounter;
}

export function parseText(text: string): ParsedText {
  const lineCounter = new LineCounter();
  return { text, tokens: [...new Parser(lineCounter.addNewLine).parse(text)], lineCounter };
}

/**
 * Problems of the text that the YAML reader would misread or choke on, before it builds a document: CR-only line
 * endings (classic Mac OS: the reader sees one line, so a file that starts with a comment reads as nothing at all),
 * and nesting deeper than any env file needs (thousands of '[' make the document builder recurse until the stack
 * runs out). The nesting is measured on the parser's token tree, which is built without recursion, by an explicit
 * stack.
 */
export function textShapeProblems(text: string, file: string, parsed?: ParsedText): ConfigIssue[] {
  const bareCr = /\r(?!\n)/.exec(text);
  if (bareCr) {
    const before = text.slice(0, bareCr.index).split("\n");
    return [toIssue({ file: displayPath(file), line: before.length, column: before[before.length - 1].length + 1, path: "/", message: tr`the file uses CR-only line endings (classic Mac OS), which YAML reads as one long line`, expected: tr`LF or CRLF line endings (save the file as UTF-8 with LF)` })];
  }
  const { tokens, lineCounter } = parsed ?? parseText(text);
  type Token = { type?: string; offset?: number; value?: Token; items?: { key?: Token | null; value?: Token | null }[] };
  for (const doc of tokens as Iterable<Token>) {
    const stack: [Token, number][] = [[doc, 0]];
    while (stack.length) {
      const [t, depth] = stack.pop()!;
      const collection = t.type === "block-map" || t.type === "block-seq" || t.type === "flow-collection";
      const d = collection ? depth + 1 : depth;
      if (d > INPUT_LIMITS.maxNesting) {
        const pos = lineCounter.linePos(t.offset ?? 0);
        return [toIssue({ file: displayPath(file), line: pos.line, column: pos.col, path: "/", message: tr`mappings and lists are nested more than ${INPUT_LIMITS.maxNesting} levels deep here`, expected: tr`an env file's few levels of nesting` })];
      }
      if (t.value && typeof t.value === "object") stack.push([t.value, d]);
      for (const it of t.items ?? []) {
        if (it.key && typeof it.key === "object") stack.push([it.key, d]);
        if (it.value && typeof it.value === "object") stack.push([it.value, d]);
      }
    }
  }
  return [];
}

/**
 * The document of a parsed text, built as yaml's parseDocument builds it (yaml 2.x dist/public-api.js: one Composer
 * over the parser's tokens; a second document is a MULTIPLE_DOCS error), from tokens already parsed. Only for
 * `prettyErrors: false`: errors keep their offsets, and the loader locates them.
 */
export function composeDocument(parsed: ParsedText, options: ParseOptions & { prettyErrors: false }): Document.Parsed {
  const composer = new Composer({ ...options, lineCounter: parsed.lineCounter });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(parsed.tokens, true, parsed.text.length)) {
    if (!doc) doc = next;
    else if (doc.options.logLevel !== "silent") {
      doc.errors.push(new YAMLParseError(next.range.slice(0, 2) as [number, number], "MULTIPLE_DOCS", "Source contains multiple documents; please use YAML.parseAllDocuments()"));
      break;
    }
  }
  return doc!; // compose(…, true, …) ends with a document, an empty one for an empty text
}

/** Problems of the YAML document itself, before any value is read: tags, anchors, aliases, too many keys. */
export function documentProblems(doc: Document, lineCounter: LineCounter, file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (node: Node | undefined, message: Msg, expected?: Msg): ConfigIssue => {
    const pos = lineCounter.linePos(node?.range?.[0] ?? 0);
    return toIssue({ file: displayPath(file), line: pos.line, column: pos.col, path: "/", message, expected });
  };
  let keys = 0;
  const anchorOrTag = (node: unknown) => {
    if (isNode(node) && node.anchor) issues.push(at(node, tr`YAML anchors (&${node.anchor.slice(0, 40)}) are not accepted in env files`, tr`each value written out`));
    if (isNode(node) && node.tag && !isAlias(node)) issues.push(at(node, tr`YAML tags (${node.tag.slice(0, 40)}) are not accepted in env files`, tr`plain values`));
  };
  visit(doc, {
    // yaml's visit calls Map instead of Node for a mapping, so a mapping's anchor and tag are checked here too
    Map(_k, map) {
      anchorOrTag(map);
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) {
          issues.push(at(pair.key as Node | undefined, tr`a key that is not plain text (a YAML complex key) is not accepted`, tr`plain keys`));
          continue;
        }
        const key = String(pair.key.value);
        if (seen.has(key)) issues.push(at(pair.key as Node, tr`duplicate key '${escapeForTerminal(key.slice(0, 60))}'`, tr`each key once`));
        seen.add(key);
      }
    },
    Pair() {
      keys++;
      return keys > INPUT_LIMITS.maxKeys ? visit.BREAK : undefined;
    },
    Alias(_k, node) {
      issues.push(at(node, tr`YAML aliases (*name) are not accepted in env files`, tr`each value written out`));
    },
    Node(_k, node) {
      anchorOrTag(node);
    },
  });
  if (keys > INPUT_LIMITS.maxKeys) return [at(doc.contents ?? undefined, tr`has more than ${INPUT_LIMITS.maxKeys} keys`, tr`an env file of one municipality`)];
  return issues;
}

export interface TextProblem {
  readonly path: (string | number)[];
  readonly atKey?: boolean;
  readonly message: Msg;
  readonly expected?: Msg;
}

/** Every string (keys and values) of the parsed file: refused characters and lengths, by field path. */
export function textProblems(data: unknown): TextProblem[] {
  const out: TextProblem[] = [];
  // one path, extended and shortened as the walk goes (a problem gets a copy): most strings have no problem, and a
  // new path per value and its pointer text were most of this walk's work
  const p: (string | number)[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string") {
      let multiLine: boolean | undefined;
      const isMultiLine = () => (multiLine ??= MULTI_LINE_FIELDS.has("/" + p.join("/")));
      const bad = v.match(REFUSED_CHARS) ?? (REFUSED_IN_SINGLE_LINE.test(v) && !isMultiLine() ? v.match(REFUSED_IN_SINGLE_LINE) : null);
      if (bad) out.push({ path: [...p], message: tr`contains the character ${codePoint(bad[0])}, which env files do not accept here`, expected: isMultiLine() ? tr`printable text (newlines allowed)` : tr`printable text on one line` });
      if (/[$#]\{TfToken\[/.test(v)) out.push({ path: [...p], message: tr`contains cdktf's token syntax (\${TfToken[…]}), which is reserved`, expected: tr`text without \${TfToken[` });
      if (v.length > INPUT_LIMITS.maxStringLength) out.push({ path: [...p], message: tr`is ${v.length} characters long`, expected: tr`at most ${INPUT_LIMITS.maxStringLength} characters` });
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        p.push(i);
        walk(x);
        p.pop();
      });
      return;
    }
    if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        p.push(k);
        const bad = k.match(REFUSED_CHARS) ?? k.match(REFUSED_IN_SINGLE_LINE);
        if (bad) out.push({ path: [...p], atKey: true, message: tr`a key contains the character ${codePoint(bad[0])}`, expected: tr`printable keys` });
        walk(x);
        p.pop();
      }
    }
  };
  walk(data);
  return out;
}

/** A value as it may appear in a message (one definition for config and catalog messages alike). */
export { shownValue } from "../core/terminal-text";

function codePoint(c: string): string {
  return `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a named pipe";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  return "not a file";
}

/**
 * Reads at most `limit` bytes. The buffer starts at the size stat reported (plus one, to see a file that grew) and
 * grows only for a file that did grow: a buffer of the limit for every file cost more than the rest of reading it.
 */
function readAtMost(file: string, limit: number, expected: number): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    // not from the shared pool (allocUnsafeSlow): the bytes are kept with the config (config/source-bytes.ts), and
    // a pooled slice would keep the pool's other bytes alive; the part beyond what was read is never handed out
    let buf = Buffer.allocUnsafeSlow(Math.max(1, Math.min(limit, expected + 1)));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n >= limit) break;
        const larger = Buffer.allocUnsafeSlow(Math.min(limit, buf.length * 2));
        buf.copy(larger, 0, 0, n);
        buf = larger;
      }
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function firstInvalidUtf8(bytes: Buffer): number {
  // the longest prefix that decodes, by bisection on a fatal decoder (a sequence cut at the end is not an error)
  let lo = 0;
  let hi = bytes.length;
  const ok = (n: number) => {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return Math.min(lo, bytes.length - 1);
}

function fileIssue(file: string, message: Msg, expected?: Msg): ConfigIssue {
  return toIssue({ file, line: 1, column: 1, path: "/", message, expected });
}

export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith("..") ? rel : file;
}
