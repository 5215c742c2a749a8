/** Where the project's own files are, found from this module's location (works from source and from dist/). */
import * as fs from "fs";
import * as path from "path";

function findRepoRoot(start: string): string {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "alpha-prime") return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the alpha-prime package root above ${start}`);
}

export const REPO_ROOT = findRepoRoot(__dirname);
export const SCHEMA_PATH = path.join(REPO_ROOT, "env", "municipality.schema.json");
/** The TypeScript type generated from the schema (config/generate-types.ts). */
export const GENERATED_TYPES_PATH = path.join(REPO_ROOT, "config", "municipality-file.generated.ts");
/** Where env files are read from: ALPHA_PRIME_ENV_DIR, else env/ of this repository. */
export function defaultEnvDir(): string {
  return process.env.ALPHA_PRIME_ENV_DIR ? path.resolve(process.env.ALPHA_PRIME_ENV_DIR) : path.join(REPO_ROOT, "env");
}
