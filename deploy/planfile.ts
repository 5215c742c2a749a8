/**
 * What a saved Terraform plan file itself says about the configuration it was made from. `terraform apply <planfile>`
 * applies the configuration snapshot inside the plan file, not the files beside it, so the manifest of a plan
 * artifact (written by the same job, signed by no one) cannot be what decides whether a plan may be applied: the
 * snapshot can. A plan file is a zip archive (Terraform's internal/plans/planfile: `tfplan`, `tfstate`,
 * `tfstate-prev`, `tfconfig/` with the root module's files under `tfconfig/m-/`, and the dependency lock file).
 *
 * The zip is read here directly (central directory, then each entry's stored or deflated data): the plan files are
 * small and the check is synchronous, where the zip libraries on npm are stream-based.
 */
import * as fs from "fs";
import * as zlib from "zlib";

/** The directory of the root module's configuration snapshot. */
const ROOT_MODULE_DIR = "tfconfig/m-/";

/** Every entry of a zip archive by name (no zip64, no encryption: what Go's archive/zip writes for a plan). */
export function readZipEntries(file: string): Map<string, Buffer> {
  const buf = fs.readFileSync(file);
  // the end-of-central-directory record: at least 22 bytes from the end, after a comment of up to 65,535 bytes
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip archive (not a saved Terraform plan)`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: a damaged zip central directory`);
    const method = buf.readUInt16LE(at + 10);
    const compressed = buf.readUInt32LE(at + 20);
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString("utf8", at + 46, at + 46 + nameLength);
    // the local header's own name and extra lengths may differ from the central directory's
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(dataAt, dataAt + compressed);
    if (method === 0) out.set(name, Buffer.from(raw));
    else if (method === 8) out.set(name, zlib.inflateRawSync(raw));
    else throw new Error(`${file}: entry ${name} uses zip method ${method}, which a Terraform plan file does not`);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

/** The root module's configuration files inside a saved plan, by file name. */
export function planRootModuleFiles(planFile: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [name, data] of readZipEntries(planFile)) if (name.startsWith(ROOT_MODULE_DIR) && !name.slice(ROOT_MODULE_DIR.length).includes("/")) out.set(name.slice(ROOT_MODULE_DIR.length), data);
  return out;
}
