/**
 * Synthesis speed, in one known place (so a move to CDK Terrain stays cheap).
 *
 * cdktf records a stack trace for every token it creates; on large apps that is a third or more of synth CPU
 * and a large share of memory, and nothing we ship reads those traces (hashicorp/terraform-cdk#3892; the CDK
 * Terrain fork added CDKTN_DISABLE_CREATION_STACK for it). This replaces the private recorder with a no-op.
 * Output is unchanged (a test compares it with the unpatched path). If a cdktf version moves the module, the
 * patch is skipped and synthesis is merely slower.
 */
let applied = false;

/**
 * ALPHA_PRIME_PLAIN_CDKTF=1 turns every synthesis tuning off (this patch and the two MunicipalityStack overrides):
 * plain cdktf behaviour, for debugging token errors and as the benchmark's naive baseline. Output is identical.
 */
export function synthTuningEnabled(): boolean {
  return process.env.ALPHA_PRIME_PLAIN_CDKTF !== "1";
}

export function disableTokenStackTraces(): boolean {
  if (applied) return true;
  if (!synthTuningEnabled()) return false;
  try {
    const mod = require("cdktf/lib/tokens/private/stack-trace") as { captureStackTrace: () => string[] };
    if (typeof mod.captureStackTrace !== "function") return false;
    mod.captureStackTrace = () => [];
    applied = true;
  } catch {
    applied = false;
  }
  return applied;
}
