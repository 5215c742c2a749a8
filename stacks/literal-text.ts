/**
 * Every string a stack writes is literal text to Terraform, unless cdktf made it a reference. Municipality YAML
 * reaches resources as names, tags, banners and file contents; generated files carry "${"/"%{" of their own. Rather
 * than escape at each of those places (and miss the next one), this pass runs once over the finished stack and
 * escapes every attribute string through the one Terraform encoder, leaving cdktf's token markers (references,
 * terraformExpression) to resolve as usual. What it escapes is set as an override of that one value.
 * AP-TF-001 checks the result: no interpolation in the synthesized JSON but references.
 */
import { IConstruct } from "constructs";
import { TerraformProvider, TerraformResource, TerraformStack } from "cdktf";
import { terraformLiteral } from "../constructs/terraform-text";

/** Escapes the literal text of every resource, data source and provider of the stack; returns how many attributes. */
export function escapeLiteralText(stack: TerraformStack): number {
  let escaped = 0;
  const visit = (c: IConstruct) => {
    if (c instanceof TerraformResource || c instanceof TerraformProvider) escaped += escapeElement(c);
    for (const child of c.node.children) if (!(child instanceof TerraformStack)) visit(child);
  };
  visit(stack);
  return escaped;
}

function escapeElement(e: TerraformResource | TerraformProvider): number {
  // the attributes as the provider class writes them (snake_case keys, tokens unresolved): cheaper than toTerraform
  const body = (e as unknown as { synthesizeAttributes(): Record<string, unknown> }).synthesizeAttributes();
  if (!body || typeof body !== "object") return 0;
  let n = 0;
  /** the keys from the body to the value walked (one array, pushed and popped: the walk visits every string) */
  const at: string[] = [];
  // leaf by leaf: cdktf merges an override into lists by concatenation, but into a list's items by index
  const walk = (value: unknown): void => {
    if (typeof value === "string") {
      const safe = terraformLiteral(value);
      if (safe === value) return;
      const bad = at.find((k) => k.includes("."));
      if (bad !== undefined) throw new Error(`${e.node.path}: cannot escape literal text under key '${bad}' (a dot in a key cannot be overridden)`);
      e.addOverride(at.join("."), safe);
      n++;
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        at.push(String(i));
        walk(value[i]);
        at.pop();
      }
    } else if (value && typeof value === "object") {
      for (const k of Object.keys(value)) {
        if (k === "//") continue;
        at.push(k);
        walk((value as Record<string, unknown>)[k]);
        at.pop();
      }
    }
  };
  walk(body);
  return n;
}
