/**
 * Every translatable message in the sources: the key of each tr`…` template, read with the TypeScript parser (so a
 * nested template or an escaped "${" is read exactly as the compiler reads it).
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { keyOf } from "../core/messages";
import { REPO_ROOT } from "../core/paths";

const SOURCE_DIRS = ["core", "catalog", "config", "constructs", "stacks", "cli", "policy", "review"];

export function sourceFiles(): string[] {
  return SOURCE_DIRS.flatMap((d) =>
    fs
      .readdirSync(path.join(REPO_ROOT, d), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
      .map((f) => path.join(REPO_ROOT, d, f)),
  );
}

/** key → where it is used ("file:line") */
export function messageKeys(files = sourceFiles()): Map<string, string> {
  const keys = new Map<string, string>();
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    if (!text.includes("tr`")) continue;
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && node.tag.text === "tr") {
        const t = node.template;
        const parts = ts.isNoSubstitutionTemplateLiteral(t) ? [t.text] : [t.head.text, ...t.templateSpans.map((s) => s.literal.text)];
        const key = keyOf(parts);
        if (!keys.has(key)) keys.set(key, `${path.relative(REPO_ROOT, file)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return keys;
}
