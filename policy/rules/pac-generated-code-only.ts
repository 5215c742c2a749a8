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

let generated: ReadonlySet<string> | undefined;

/** The source of each function the generator writes (PAC_FUNCTIONS is a constant: read once per process). */
function generatedFunctions(): ReadonlySet<string> {
  return (generated ??= new Set(parse(PAC_FUNCTIONS, { ecmaVersion: 5 }).body.map((f: any) => PAC_FUNCTIONS.slice(f.start, f.end))));
}

/** What in a PAC file is not the generator's: anything but the literal data and the generated functions. */
export function pacForeignCode(text: string): string[] {
  let program: { body: Node[] };
  try {
    // ES5: what every PAC engine (WinHTTP, Chromium, pac-resolver) runs
    program = parse(text, { ecmaVersion: 5, sourceType: "script" }) as unknown as { body: Node[] };
  } catch (e) {
    return [`the PAC file does not parse as ES5: ${(e as Error).message}`];
  }
  const problems: string[] = [];
  const expected = generatedFunctions();
  for (const st of program.body) {
    const source = text.slice(st.start, st.end);
    const shown = source.length > 80 ? `${source.slice(0, 80)}…` : source;
    if (st.type === "VariableDeclaration" && st.declarations.length === 1 && DATA.has(st.declarations[0].id.name) && literalOnly(st.declarations[0].init)) continue;
    if (st.type === "FunctionDeclaration" && expected.has(source)) continue;
    problems.push(`code the generator does not write: ${JSON.stringify(shown)}`);
  }
  const declared = program.body.filter((st) => st.type === "FunctionDeclaration").map((st) => st.id.name);
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
