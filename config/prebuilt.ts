/**
 * Work done once at build time instead of in every process: the env schema compiled to a standalone validator
 * (ajv's documented standalone mode, https://ajv.js.org/standalone.html) and the SaaS catalog parsed and
 * validated. `cdktf deploy <id>` starts a process per run, and compiling the schema and parsing the catalog's YAML
 * were about a seventh of its start-up.
 *
 * Each file carries the SHA-256 of the text it was built from; a file whose source has changed since (or a catalog
 * given by ALPHA_PRIME_CATALOG) is not used, and the caller does the work itself, so a stale build is slower,
 * never wrong. `npm run build` writes them (`node dist/config/prebuilt.js`); nothing is committed.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { ValidateFunction } from "ajv";
import { REPO_ROOT, SCHEMA_PATH } from "../core/paths";

export const PREBUILT_DIR = path.join(REPO_ROOT, "dist", "prebuilt");
const VALIDATOR_FILE = path.join(PREBUILT_DIR, "env-validator.js");
const CATALOG_FILE = path.join(PREBUILT_DIR, "saas-catalog.json");

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The options the env schema is compiled with, at build time and at run time alike. */
export const ENV_VALIDATOR_OPTIONS = { allErrors: true, useDefaults: true, verbose: true, strict: true, allowUnionTypes: false, validateSchema: false } as const;
export const ENV_FORMATS = ["email", "date"] as const;

/** Compiles the env schema at run time (the path without a build, and the reference the standalone one is tested against). */
export function compileEnvValidator(schema: Record<string, unknown>, standalone = false): { ajv: import("ajv").default; validate: ValidateFunction } {
  const Ajv = (require("ajv") as typeof import("ajv")).default;
  const addFormats = (require("ajv-formats") as typeof import("ajv-formats")).default;
  const { _ } = require("ajv") as typeof import("ajv");
  const ajv = new Ajv({
    ...ENV_VALIDATOR_OPTIONS,
    // validateSchema off: the schema is committed and a test checks it against the meta-schema
    code: standalone ? { optimize: false, source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` } : { optimize: false },
  });
  addFormats(ajv, [...ENV_FORMATS]);
  return { ajv, validate: ajv.compile(schema) };
}

/** The prebuilt env validator, when it was built from exactly this schema text. */
export function prebuiltEnvValidator(schemaText: string): ValidateFunction | undefined {
  try {
    const mod = require(VALIDATOR_FILE) as ValidateFunction & { schemaSha256?: string };
    return mod.schemaSha256 === sha256(schemaText) ? mod : undefined;
  } catch {
    return undefined; // not built (e.g. tests run from source before a build)
  }
}

/** The catalog's entries as validated at build time, when they were built from exactly this text. */
export function prebuiltCatalog(text: string): unknown[] | undefined {
  try {
    const built = JSON.parse(fs.readFileSync(CATALOG_FILE, "utf8")) as { sha256: string; entries: unknown[] };
    return built.sha256 === sha256(text) ? built.entries : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the prebuilt files (atomically each); run by `npm run build` after the compiler. The last is the build
 * record (stacks/inputs.ts): which sources this dist/ was compiled from, with a digest of the compiled modules, so
 * the synth cache and incremental review can tell the running toolkit from a git revision's without building it.
 */
export function writePrebuilt(): string[] {
  const standalone = (require("ajv/dist/standalone") as typeof import("ajv/dist/standalone")).default;
  const schemaText = fs.readFileSync(SCHEMA_PATH, "utf8");
  const { ajv, validate } = compileEnvValidator(JSON.parse(schemaText), true);
  const code = `${standalone(ajv, validate)}\nmodule.exports.schemaSha256 = ${JSON.stringify(sha256(schemaText))};\n`;
  const { SaasCatalog, CATALOG_PATH } = require("../catalog/saas-catalog") as typeof import("../catalog/saas-catalog");
  const catalogText = fs.readFileSync(CATALOG_PATH, "utf8");
  // validated here exactly as at run time: an invalid catalog fails the build
  const entries = SaasCatalog.fromText(catalogText, CATALOG_PATH, { prebuilt: false }).entries;
  fs.mkdirSync(PREBUILT_DIR, { recursive: true });
  const write = (file: string, text: string) => {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  };
  write(VALIDATOR_FILE, code);
  write(CATALOG_FILE, JSON.stringify({ sha256: sha256(catalogText), entries }));
  const inputs = require("../stacks/inputs") as typeof import("../stacks/inputs");
  const distRoot = path.dirname(PREBUILT_DIR);
  const recordFile = path.join(distRoot, inputs.BUILD_RECORD);
  write(recordFile, `${JSON.stringify(inputs.buildRecord(REPO_ROOT, distRoot), null, 2)}\n`);
  return [VALIDATOR_FILE, CATALOG_FILE, recordFile];
}

if (require.main === module) {
  for (const f of writePrebuilt()) process.stdout.write(`prebuilt ${path.relative(REPO_ROOT, f)}\n`);
}
