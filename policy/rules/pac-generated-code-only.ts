import { parse } from "acorn";
import { PAC_FUNCTIONS } from "../../constructs/pac";
import type { Rule, Violation } from "../types";

/** The data the generator declares before its code; each must be a literal (string, list, map or number). */
const DATA = new Set(["PROXY", "TENANT_PROXY", "TENANT_EXACT", "TENANT_DOMAINS", "DIRECT_EXACT", "DIRECT_DOMAINS", "DIRECT_NETS"]);

type Node = { type: string; start: number; end: number; [k: string]: any };

function literalOnly(n: Node | null | undefined): boolean {
  if (!n) return false;
  switch (n.type) {
    case "Literal":
      return !(n as { regex?: unknown }).regex;
    case "ArrayExpression":
      return n.elements.every((e: Node | null) => literalOnly(e));
    case "ObjectExpression":
      return n.properties.every((p: Node) => p.type === "Property" && p.kind === "init" && !p.computed && !p.method && p.key.type === "Literal" && literalOnly(p.value));
    default:
      return false;
  }
}

/** A top-level statement of a PAC file with its source text. */
type Statement = { readonly st: Node; readonly source: string };

/**
 * Whether the comment at `start` is one JScript runs as code: conditional compilation reads a comment that begins
 * "/*@" or "//@" (https://learn.microsoft.com/en-us/previous-versions/windows/internet-explorer/ie-developer/scripting-articles/8ka90k2e(v=vs.84)),
 * and Windows PCs whose PAC engine is JScript would run what acorn, V8 and QuickJS skip. The generator writes none.
 */
function conditionalComment(text: string, start: number): boolean {
  return text.charCodeAt(start) === 47 && text.charCodeAt(start + 2) === 64;
}

/** ES5: what every PAC engine (WinHTTP, Chromium, pac-resolver) runs. `conditional` gets JScript's code comments. */
function parseScript(text: string, conditional?: string[]): Node[] {
  const onComment = conditional && ((_block: boolean, _content: string, start: number, end: number) => void (conditionalComment(text, start) && conditional.push(text.slice(start, end))));
  return (parse(text, { ecmaVersion: 5, sourceType: "script", onComment }) as unknown as { body: Node[] }).body;
}

let generated: { readonly sources: ReadonlySet<string>; readonly statements: readonly Statement[] } | undefined;

/** The generator's functions, parsed (PAC_FUNCTIONS is a constant: read once per process). */
function generatedCode(): { readonly sources: ReadonlySet<string>; readonly statements: readonly Statement[] } {
  if (!generated) {
    const statements = parseScript(PAC_FUNCTIONS).map((st) => ({ st, source: PAC_FUNCTIONS.slice(st.start, st.end) }));
    generated = { sources: new Set(statements.map((s) => s.source)), statements };
  }
  return generated;
}

/** How the generator ends every PAC file: its functions after a line break (constructs/pac.ts). */
const GENERATED_TAIL = `\n${PAC_FUNCTIONS}`;

const enum Char {
  Tab = 9,
  LineFeed = 10,
  Return = 13,
  Space = 32,
  Quote = 34,
  Comma = 44,
  Zero = 48,
  Nine = 57,
  Slash = 47,
  Colon = 58,
  Semicolon = 59,
  Equals = 61,
  Backslash = 92,
  OpenBracket = 91,
  CloseBracket = 93,
  OpenBrace = 123,
  CloseBrace = 125,
  Star = 42,
  Dot = 46,
}

/** Nesting past which plainData leaves the data to acorn (which has its own guard against deep nesting). */
const PLAIN_DEPTH = 64;

/**
 * Whether a PAC file's data part is, for certain, only declarations of the generator's data with literal values: what
 * the generator writes (constructs/pac.ts), read without building a syntax tree. It accepts a strict subset of what
 * acorn's ES5 parse reads as such statements — `var NAME = value;` with NAME one of DATA, the value a JSON-like
 * literal (a double-quoted string of plain characters and JSON's escapes, a non-negative decimal number, true, false,
 * null, an array without holes or a trailing comma, an object whose keys are double-quoted strings), separated by
 * spaces, tabs, line breaks and comments — and answers false for anything else, including whatever acorn would accept:
 * a single quote, any other escape, a control character or U+2028/U+2029 anywhere, an identifier key, a number
 * written any other way. False only means "parse it" (statementsOf), never a finding.
 *
 * Each accepted statement is one that pacForeignCode lets through (a VariableDeclaration of one DATA name whose init
 * is literalOnly), and none declares a function, so the file's statements that need judging are the generator's
 * functions alone.
 */
export function plainData(data: string): boolean {
  let i = 0;
  const at = (k: number) => data.charCodeAt(k);
  /** Skips spaces, tabs, line breaks and comments; false where a comment is not certain to end as acorn ends it. */
  const skip = (): boolean => {
    for (;;) {
      const c = at(i);
      if (c === Char.Space || c === Char.Tab || c === Char.LineFeed || c === Char.Return) i++;
      else if (c === Char.Slash && (at(i + 1) === Char.Slash || at(i + 1) === Char.Star) && conditionalComment(data, i)) return false;
      else if (c === Char.Slash && at(i + 1) === Char.Slash) {
        // a line comment ends at the next line terminator; U+2028/U+2029 (which end it too in ES5) are left to acorn
        i += 2;
        for (; i < data.length && at(i) !== Char.LineFeed && at(i) !== Char.Return; i++) if (at(i) === 0x2028 || at(i) === 0x2029) return false;
      } else if (c === Char.Slash && at(i + 1) === Char.Star) {
        const end = data.indexOf("*/", i + 2);
        if (end < 0) return false;
        i = end + 2;
      } else return true;
    }
  };
  const digits = (): boolean => {
    const start = i;
    while (at(i) >= Char.Zero && at(i) <= Char.Nine) i++;
    return i > start;
  };
  /** Whether the character at k may continue an identifier or a number ([A-Za-z0-9_$], a backslash or non-ASCII). */
  const wordChar = (k: number): boolean => {
    const c = at(k);
    return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c === Char.Backslash || c >= 128;
  };
  const string = (): boolean => {
    if (at(i) !== Char.Quote) return false;
    for (i++; i < data.length; i++) {
      const c = at(i);
      if (c === Char.Quote) {
        i++;
        return true;
      }
      if (c < 0x20 || c === 0x2028 || c === 0x2029) return false;
      if (c === Char.Backslash) {
        const e = data[++i];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(data.slice(i + 1, i + 5))) return false;
          i += 4;
        } else if (!e || !'"\\/bfnrt'.includes(e)) return false;
      }
    }
    return false;
  };
  const value = (depth: number): boolean => {
    if (depth > PLAIN_DEPTH) return false;
    const c = at(i);
    if (c === Char.Quote) return string();
    if (c >= Char.Zero && c <= Char.Nine) {
      // 0, or a digit 1-9 and more digits (no legacy octal), a fraction, an exponent
      if (c === Char.Zero) i++;
      else digits();
      if (at(i) === Char.Dot) {
        i++;
        if (!digits()) return false;
      }
      if (at(i) === 101 || at(i) === 69) {
        i++;
        if (at(i) === 43 || at(i) === 45) i++;
        if (!digits()) return false;
      }
      return !wordChar(i) && at(i) !== Char.Dot;
    }
    for (const word of ["true", "false", "null"]) {
      if (data.startsWith(word, i) && !wordChar(i + word.length)) {
        i += word.length;
        return true;
      }
    }
    const list = c === Char.OpenBracket;
    if (!list && c !== Char.OpenBrace) return false;
    const close = list ? Char.CloseBracket : Char.CloseBrace;
    i++;
    if (!skip()) return false;
    if (at(i) === close) {
      i++;
      return true;
    }
    for (;;) {
      if (!list) {
        if (!string() || !skip() || at(i) !== Char.Colon) return false;
        i++;
        if (!skip()) return false;
      }
      if (!value(depth + 1) || !skip()) return false;
      if (at(i) === close) {
        i++;
        return true;
      }
      if (at(i) !== Char.Comma) return false;
      i++;
      if (!skip()) return false;
    }
  };
  for (;;) {
    if (!skip()) return false;
    if (i >= data.length) return true;
    if (!data.startsWith("var ", i)) return false;
    i += 4;
    if (!skip()) return false;
    const start = i;
    while (i < data.length && wordChar(i) && at(i) !== Char.Backslash && at(i) < 128) i++;
    if (!DATA.has(data.slice(start, i)) || wordChar(i)) return false;
    if (!skip() || at(i) !== Char.Equals) return false;
    i++;
    if (!skip() || !value(0) || !skip() || at(i) !== Char.Semicolon) return false;
    i++;
  }
}

/**
 * The top-level statements of a PAC file that need judging. A file that ends with the generator's functions is parsed
 * as its data (the part before them) and the functions as parsed once: the same statements as a parse of the whole
 * file, when the data part parses on its own and is not strict code. The data then ends in a complete statement, a
 * closed comment or a line comment that the line break closes, so the functions' first token ("function", after a
 * line break) cannot continue it (where the data's last statement needs a semicolon, the line break inserts it, as
 * the end of the text did); and "use strict" at its start would make the whole file strict, which the functions were
 * not parsed as. Data that plainData reads as the generator's declarations is left out (each would pass and none
 * declares a function), so only the functions remain; other data is parsed with acorn. Anything else is parsed
 * whole, so that its error is reported as before.
 */
function statementsOf(text: string, conditional: string[]): Statement[] {
  if (text.endsWith(GENERATED_TAIL)) {
    const data = text.slice(0, text.length - GENERATED_TAIL.length);
    if (!data.includes("use strict")) {
      if (plainData(data)) return [...generatedCode().statements];
      let head: Node[] | undefined;
      const inData: string[] = [];
      try {
        head = parseScript(data, inData);
      } catch {
        head = undefined; // the whole file decides
      }
      if (head) {
        conditional.push(...inData);
        return [...head.map((st) => ({ st, source: data.slice(st.start, st.end) })), ...generatedCode().statements];
      }
    }
  }
  return parseScript(text, conditional).map((st) => ({ st, source: text.slice(st.start, st.end) }));
}

/** What in a PAC file is not the generator's: anything but the literal data and the generated functions. */
export function pacForeignCode(text: string): string[] {
  let statements: Statement[];
  const conditional: string[] = [];
  try {
    statements = statementsOf(text, conditional);
  } catch (e) {
    return [`the PAC file does not parse as ES5: ${(e as Error).message}`];
  }
  const problems: string[] = [];
  const expected = generatedCode().sources;
  for (const { st, source } of statements) {
    const shown = source.length > 80 ? `${source.slice(0, 80)}…` : source;
    if (st.type === "VariableDeclaration" && st.declarations.length === 1 && DATA.has(st.declarations[0].id.name) && literalOnly(st.declarations[0].init)) continue;
    if (st.type === "FunctionDeclaration" && expected.has(source)) continue;
    problems.push(`code the generator does not write: ${JSON.stringify(shown)}`);
  }
  for (const c of conditional) problems.push(`a comment that JScript runs as code (conditional compilation): ${JSON.stringify(c.length > 80 ? `${c.slice(0, 80)}…` : c)}`);
  const declared = statements.filter(({ st }) => st.type === "FunctionDeclaration").map(({ st }) => st.id.name);
  if (declared.filter((n) => n === "FindProxyForURL").length !== 1) problems.push("FindProxyForURL is not declared exactly once");
  return problems;
}

export const pacGeneratedCodeOnly: Rule = {
  id: "AP-PAC-001",
  severity: "error",
  title: "The published PAC file holds only the generator's code and literal data",
  rationale:
    "The PAC file runs as JavaScript on every staff PC. Text that escaped a comment or a string (a newline or a line separator in the municipality's name) would run there too: one payload made every host DIRECT, so LGWAN PCs would reach the internet around both proxies.",
  references: { alphaPrime: "PAC file (接続先制限) and hostile input (issue 17)" },
  check(model) {
    const pac = model.publishedFile("pac/proxy.pac");
    if (!pac) return [];
    return pacForeignCode(pac.text).map((message): Violation => ({ address: pac.address, message }));
  },
};
