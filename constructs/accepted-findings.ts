/**
 * Findings of the α′ baseline (docs/RULES.md) that a construct accepts by design, declared next to the resource
 * that needs them, each with its reason — cdk-nag's `NagSuppressions.addResourceSuppressions`. A NAT gateway needs a
 * public address; a proxy that reaches SaaS by name needs egress to any address on 443, since the firewall, not a
 * security group, is what holds it to the allowlist. Such a decision is part of the design, so it lives in the code
 * that makes it rather than in every municipality's env file or in the rule (which would then be silent for
 * everyone else).
 *
 * The stack writes them into `locals.alpha_prime.suppressions` after the municipality's own, so `check`, every
 * report and the reviewer diff show them; one that stops matching a finding is itself an error (AP-SUP-001), so an
 * acceptance cannot outlive the resource it was written for.
 */
import type { IConstruct } from "constructs";

/** A construct that becomes one Terraform resource (every provider class: `type.logicalId` is its address). */
export interface TerraformAddressable extends IConstruct {
  readonly terraformResourceType: string;
  readonly friendlyUniqueId: string;
}

export interface AcceptedFinding {
  /** the rule id (AP-...) */
  readonly rule: string;
  /** the Terraform address of the resource */
  readonly resource: string;
  readonly reason: string;
  /** the construct path of the resource, so a reviewer finds the code that made the decision */
  readonly declaredBy: string;
}

const accepted = new WeakMap<IConstruct, { rule: string; reason: string }[]>();

/** Accepts `rule`'s finding on `resource`, for `reason` (one or two sentences: what needs it, and what holds it instead). */
export function acceptFinding(resource: TerraformAddressable, rule: string, reason: string): void {
  const list = accepted.get(resource) ?? [];
  list.push({ rule, reason });
  accepted.set(resource, list);
}

/** Every finding accepted under `scope`, in construct order. Addresses are read now, after any logical id override. */
export function acceptedFindings(scope: IConstruct): AcceptedFinding[] {
  return scope.node.findAll().flatMap((c) =>
    (accepted.get(c) ?? []).map(({ rule, reason }) => {
      const r = c as TerraformAddressable;
      return { rule, resource: `${r.terraformResourceType}.${r.friendlyUniqueId}`, reason, declaredBy: c.node.path };
    }),
  );
}
