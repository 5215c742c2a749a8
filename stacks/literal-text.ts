/**
 * Every string a stack writes is literal text to Terraform, unless cdktf made it a reference. Municipality YAML
 * reaches resources as names, tags, banners and file contents; generated files carry "${"/"%{" of their own. Rather
 * than escape at each of those places (and miss the next one), this pass runs once over the finished stack and
 * has every attribute string of every resource and provider go through the one Terraform encoder, leaving cdktf's
 * token markers (references, terraformExpression) to resolve as usual. AP-TF-001 checks the result: no
 * interpolation in the synthesized JSON but references.
 *
 * How: each element's attributes are escaped as cdktf asks for them: `synthesizeAttributes` (which every toTerraform
 * calls) and `synthesizeHclAttributes` (toHclTerraform, for cdktf's HCL output), so the walk over the strings happens
 * once, inside the call that makes them (terraformLiteralDeep, which returns new objects only where a string changed). Setting each escaped
 * string as an override of its attribute (what this pass did before) gave the same JSON but asked every element for
 * its attributes twice, about 4 % of a synthesis worker's CPU; and for HCL an override reaches only top-level
 * attributes (cdktf's HCL attributes are {value, isBlock, type, storageClassType} records, which an override of a
 * block's or map's inner string lands beside). Both methods are wrapped whatever the App says: cdktf writes HCL when
 * SYNTH_HCL_OUTPUT is "true" or "1" (its StackSynthesizer) while App.hclOutput is true only for "true", and
 * Testing.synthHcl asks any stack for HCL.
 */
import { IConstruct } from "constructs";
import { TerraformProvider, TerraformResource, TerraformStack } from "cdktf";
import { terraformLiteralDeep } from "../constructs/terraform-text";

type Element = TerraformResource | TerraformProvider;

/** Escapes the literal text of every resource, data source and provider of the stack. */
export function escapeLiteralText(stack: TerraformStack): void {
  const visit = (c: IConstruct) => {
    if (c instanceof TerraformResource || c instanceof TerraformProvider) escapeWhenSynthesized(c);
    for (const child of c.node.children) if (!(child instanceof TerraformStack)) visit(child);
  };
  visit(stack);
}

/** The element's attributes as the provider class writes them (snake_case keys, tokens unresolved). */
type Synthesize = () => Record<string, unknown>;

/** the elements whose attributes already come escaped */
const escaping = new WeakSet<Element>();

/** From now on the element's attributes come escaped, for JSON and for HCL (the provider class's own method, then the walk). */
function escapeWhenSynthesized(e: Element): void {
  // once per element: a second pass over the stack (a subclass, a test) must not escape the escapes
  if (escaping.has(e)) return;
  escaping.add(e);
  const own = e as unknown as Record<"synthesizeAttributes" | "synthesizeHclAttributes", Synthesize>;
  for (const method of ["synthesizeAttributes", "synthesizeHclAttributes"] as const) {
    const synthesize = own[method];
    own[method] = function escapedAttributes(this: unknown) {
      const body = synthesize.call(this);
      return terraformLiteralDeep(body);
    };
  }
}
