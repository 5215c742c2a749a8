/**
 * The cdktf app entry (cdktf.json "app"). Selects municipalities with ALPHA_PRIME_STACKS, e.g.
 *   ALPHA_PRIME_STACKS=mitoyo npx cdktf deploy mitoyo
 * and synthesizes into CDKTF_OUTDIR (set by the cdktf CLI) or ./cdktf.out.
 */
import { applySynthTuning } from "./cdktf-tuning";
applySynthTuning(); // before cdktf creates any token
import { ConfigError } from "../core/errors";
import { SELECT_ENV, STATE_BUCKET_ENV, synthesize } from "./app";

try {
  const only = (process.env[SELECT_ENV] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  synthesize({ outdir: process.env.CDKTF_OUTDIR ?? "cdktf.out", only, stateBucket: process.env[STATE_BUCKET_ENV] || undefined });
} catch (e) {
  process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).stack ?? e}\n`);
  process.exit(1);
}
