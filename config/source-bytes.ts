/**
 * The bytes each config was loaded from, as config/load.ts read and validated them: a stack's inputs
 * (stacks/inputs.ts) digest these rather than the file read again, which costs a read per file and could see a file
 * changed since it was validated.
 */
import type { MunicipalityConfig } from "./types";

const loaded = new WeakMap<MunicipalityConfig, Buffer>();

export function recordSourceBytes(config: MunicipalityConfig, bytes: Buffer): void {
  loaded.set(config, bytes);
}

/** The bytes `config` was loaded from, if the loader made it (undefined for a config built otherwise). */
export function sourceBytesOf(config: MunicipalityConfig): Buffer | undefined {
  return loaded.get(config);
}
