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

/** ES5: what every PAC engine (WinHTTP, Chromium, pac-resolver) runs. */
function parseScript(text: string): Node[] {
  return (parse(text, { ecmaVersion: 5, sourceType: "script" }) as unknown as { body: Node[] }).body;
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

/**
 * The top-level statements of a PAC file. A file that ends with the generator's functions is parsed as its data (the
 * part before them) and the functions as parsed once: the same statements as a parse of the whole file, when the
 * data part parses on its own and is not strict code. The data then ends in a complete statement, a closed comment
 * or a line comment that the line break closes, so the functions' first token ("function", after a line break)
 * cannot continue it (where the data's last statement needs a semicolon, the line break inserts it, as the end of
 * the text did); and "use strict" at its start would make the whole file strict, which the functions were not
 * parsed as. Anything else is parsed whole, so that its error is reported as before.
 */
function statementsOf(text: string): Statement[] {
  if (text.endsWith(GENERATED_TAIL)) {
    const data = text.slice(0, text.length - GENERATED_TAIL.length);
    if (!data.includes("use strict")) {
      let head: Node[] | undefined;
      try {
        head = parseScript(data);
      } catch {
        head = undefined; // the whole file decides
      }
      if (head) return [...head.map((st) => ({ st, source: data.slice(st.start, st.end) })), ...generatedCode().statements];
    }
  }
  return parseScript(text).map((st) => ({ st, source: text.slice(st.start, st.end) }));
}

/** What in a PAC file is not the generator's: anything but the literal data and the generated functions. */
export function pacForeignCode(text: string): string[] {
  let statements: Statement[];
  try {
    statements = statementsOf(text);
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
