/** The toolkit's version, from its package.json: what `--version` prints and reports (SARIF, plan artifacts) name. */
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "./paths";

export const TOOLKIT_VERSION: string = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).version;
