/**
 * The JSON Schema is the one source of the config contract: editors validate against it, the loader
 * validates with it, and this generator derives the TypeScript type from it. A test regenerates the
 * type and fails when the committed file differs, so the two cannot drift.
 *
 * Run: `npm run gen:types` (or with --stdout to print instead of writing)
 */
import * as fs from "fs";
import { compile } from "json-schema-to-typescript";
import { GENERATED_TYPES_PATH, SCHEMA_PATH } from "../core/paths";

export async function generateConfigTypes(): Promise<string> {
  const schema = JSON.parse(fs.readFileSync(SCHEMA_PATH, "utf8"));
  return compile(schema, "MunicipalityFile", {
    bannerComment:
      "/* Generated from env/municipality.schema.json by config/generate-types.ts. Do not edit by hand. */",
    additionalProperties: false,
    strictIndexSignatures: true,
    // plain arrays: minItems/maxItems stay in the schema, tuple types would only get in the way
    ignoreMinAndMaxItems: true,
    style: { singleQuote: false, printWidth: 120 },
  });
}

if (require.main === module) {
  generateConfigTypes().then((text) => {
    if (process.argv.includes("--stdout")) return void process.stdout.write(text);
    fs.writeFileSync(GENERATED_TYPES_PATH, text);
    process.stdout.write("wrote config/municipality-file.generated.ts\n");
  });
}
