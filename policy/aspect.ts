/**
 * The pack at synth time: an Aspect on each stack (cdktf never applies aspects attached to the App), which the
 * synthesis tuning runs as the first step of the stack's synthesis instead of attaching it, so that cdktf's aspect walk
 * does not visit every construct for it (stacks/cdktf-tuning.ts, visitFirstInSynthesis). It checks
 * the stack's own Terraform JSON, so it judges exactly what would be written, and turns unsuppressed error
 * findings into error annotations, which stop the synth. Aspects can be invoked more than once per synth, so
 * each stack is checked once per aspect instance.
 */
import { Annotations, IAspect, TerraformStack } from "cdktf";
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
}
