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

/**
 * cdktf's index loads `archiver` (a zip library, 120-230 ms) at start-up for file assets, which no alpha-prime stack
 * uses; `cdktf deploy <id>` pays for it on every run. A stand-in in the require cache loads the real module on
 * first use, so assets would still work.
 */
function deferArchiverLoad(): void {
  let id: string;
  try {
    id = require.resolve("archiver", { paths: [require("path").dirname(require.resolve("cdktf"))] });
  } catch {
    return;
  }
  if (require.cache[id]) return;
  let real: any;
  const load = () => {
    if (!real) {
      delete require.cache[id];
      real = require(id);
    }
    return real;
  };
  const standIn = new Proxy(function archiver() {}, {
    apply: (_target, thisArg, args) => load().apply(thisArg, args),
    get: (_target, property) => load()[property],
  });
  require.cache[id] = { id, filename: id, loaded: true, exports: standIn, children: [], paths: [] } as unknown as NodeJS.Module;
}

export function disableTokenStackTraces(): boolean {
  if (applied) return true;
  if (!synthTuningEnabled()) return false;
  deferArchiverLoad();
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
