/**
 * The pack at synth time: an Aspect on each stack (cdktf never applies aspects attached to the App), which the
 * synthesis tuning runs as the first step of the stack's synthesis instead of attaching it, so that cdktf's aspect walk
 * does not visit every construct for it (stacks/cdktf-tuning.ts, visitFirstInSynthesis). It checks
 * the stack's own Terraform JSON, so it judges exactly what would be written, and turns unsuppressed error
 * findings into error annotations, which stop the synth. Aspects can be invoked more than once per synth, so
 * each stack is checked once per aspect instance.
 *
 * "Exactly what would be written" holds only if nothing changes the stack after the pack has judged it, and cdktf
 * applies the aspects attached to a stack after the pack (which is the first of them, or runs before them). An aspect
 * that opened a security group would have been written unjudged (plain cdktf) or silently dropped (the tuned path
 * writes the judged JSON). So a stack with any other aspect attached anywhere in it is refused: alpha-prime stacks
 * are built by their constructs from the env file, and take no aspects of their own.
 */
import { Annotations, Aspects, IAspect, TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";
import { checkStack } from "./engine";
import { StackModel } from "./model";

export class PolicyAspect implements IAspect {
  private readonly checked = new WeakSet<IConstruct>();

  /** @param onResolved receives the stack's resolved JSON, so its owner can avoid resolving it again */
  constructor(private readonly onResolved?: (json: Record<string, unknown>) => void) {}

  visit(node: IConstruct): void {
    if (!TerraformStack.isStack(node) || this.checked.has(node)) return;
    this.checked.add(node);
    const others = this.otherAspects(node);
    if (others.length) {
      // the pack judges the stack before cdktf applies the aspects attached to it (it is the first of them, or runs
      // before them): one that changes the stack afterwards would have the stack written differ from the one judged
      for (const where of others) Annotations.of(node).addError(`an aspect is attached to ${where}: the policy pack judges the stack before aspects run, so an aspect could change what is written after it was judged. alpha-prime stacks take no aspects of their own: make the change in a construct or in the env file`);
      return;
    }
    const json = node.toTerraform();
    this.onResolved?.(json);
    const report = checkStack(new StackModel(node.node.id, json));
    for (const f of report.findings) {
      if (f.suppressedBy || f.severity === "info") continue; // information is for check and the diff, not a synth warning
      const text = `${f.ruleId} ${f.address}: ${f.message}`;
      if (f.severity === "error") Annotations.of(node).addError(text);
      else Annotations.of(node).addWarning(text);
    }
  }

  /** The constructs of the stack (not of a stack nested in it) with an aspect attached other than this pack. */
  private otherAspects(stack: IConstruct): string[] {
    const found: string[] = [];
    const walk = (c: IConstruct) => {
      if (Aspects.of(c).all.some((a) => a !== this)) found.push(c.node.path);
      for (const child of c.node.children) if (!TerraformStack.isStack(child)) walk(child);
    };
    walk(stack);
    return found;
  }
}
