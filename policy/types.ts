/** The α′ security baseline's vocabulary: rules, their findings, suppressions. Modelled on cdk-nag. */
import type { StackModel } from "./model";

/** info: what a reviewer must know that no setting of the stack can change (e.g. a file path the engine cannot see) */
export type Severity = "error" | "warning" | "info";

export interface RuleReferences {
  /** the α′ requirement the rule serves */
  readonly alphaPrime: string;
  /** AWS Foundational Security Best Practices control, where one exists */
  readonly fsbp?: string;
  /** Checkov ids, where they exist */
  readonly checkov?: readonly string[];
  /** Trivy (AVD) ids, where they exist */
  readonly trivy?: readonly string[];
  /** the AWS documentation pages the rule encodes (API references, user guides, quota pages) */
  readonly aws?: readonly AwsReference[];
}

/** One AWS documentation page a rule stands on. */
export interface AwsReference {
  readonly title: string;
  readonly url: string;
}

/** What a rule reports: a resource address and a sentence. */
export interface Violation {
  readonly address: string;
  readonly message: string;
}

export interface Rule {
  /** AP-<AREA>-<NNN>, stable: suppressions and reports refer to it */
  readonly id: string;
  readonly severity: Severity;
  /** one line, says what compliant means */
  readonly title: string;
  /** why it matters for α′ */
  readonly rationale: string;
  readonly references: RuleReferences;
  check(model: StackModel): Violation[];
}

export interface Finding {
  readonly ruleId: string;
  readonly severity: Severity;
  readonly stack: string;
  readonly address: string;
  readonly message: string;
  /** the suppression that accepts it, if any */
  readonly suppressedBy?: Suppression;
}

export interface Suppression {
  readonly rule: string;
  /** address or pattern with * */
  readonly resource: string;
  readonly reason: string;
  /** YYYY-MM-DD */
  readonly expires?: string;
  /**
   * The construct path of a suppression a construct declares by design (constructs/accepted-findings.ts); absent for
   * the municipality's own, from its env file
   */
  readonly declaredBy?: string;
}
