/**
 * `alpha-prime render <id>`: every generated file that goes onto an instance or a PC, written out for reviewers and
 * for tests that run the real software on them. The files are read from the synthesized stack itself (the S3
 * objects of the configuration bucket and the firewall's Suricata rules), so what is rendered is what deploys.
 *
 * Layout under the output directory (default rendered/<id>/):
 *   pac/proxy.pac                 PAC file for LGWAN PCs
 *   allowlist/domains.txt         the effective allowlist, one pattern a line
 *   proxy/squid.conf              tenant-restriction proxy (when the municipality has one)
 *   proxy/cloud-config.yaml       its cloud-init user data
 *   proxy/files/<absolute path>   each file that user data writes on the instance (c-icap.conf, clamd.conf,
 *                                 freshclam.conf, block pages, units...), unpacked so real programs can read them
 *   relay/haproxy.cfg             relay appliance (when the municipality has relay routes)
 *   relay/cloud-config.yaml       its cloud-init user data
 *   relay/files/<absolute path>   each file that user data writes on the instance
 *   firewall/<rule-group>.rules   Suricata rules of the Network Firewall's custom rule groups
 *   .alpha-prime-render           marker: render only ever replaces a directory that has it (or an empty one)
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { fromTerraformLiteral } from "../constructs/terraform-text";
import { synthesize } from "../stacks/app";
import { beginOutput } from "./output-dir";

export const RENDER_MARKER = ".alpha-prime-render";

export interface RenderOptions {
  readonly id: string;
  readonly envDir?: string;
  /** default rendered/<id> */
  readonly outDir?: string;
}

/** The generated files of one synthesized stack, by relative path. */
export function renderedFiles(id: string, stackJson: { resource?: Record<string, Record<string, any>> }): Record<string, string> {
  const prefix = `alpha-prime-${id}-`; // stacks/municipality-stack.ts namePrefix
  const files: Record<string, string> = {};
  for (const o of Object.values(stackJson.resource?.aws_s3_object ?? {})) {
    if (typeof o.content === "string" && typeof o.key === "string") files[o.key] = fromTerraformLiteral(o.content);
  }
  for (const [key, text] of Object.entries(files)) {
    if (key.endsWith("/cloud-config.yaml")) Object.assign(files, cloudInitFiles(path.posix.dirname(key), text));
  }
  for (const g of Object.values(stackJson.resource?.aws_networkfirewall_rule_group ?? {})) {
    const rules = g.rule_group?.rules_source?.rules_string;
    const name = String(g.name).startsWith(prefix) ? String(g.name).slice(prefix.length) : String(g.name);
    if (typeof rules === "string") files[`firewall/${name}.rules`] = `${rules}\n`;
  }
  return files;
}

/**
 * The files a cloud-config's write_files puts on the instance, under <dir>/files/<path>. Content is taken as cloud-init
 * writes it (plain, or base64 when `encoding` says so); an entry whose path would leave files/ is refused.
 * https://cloudinit.readthedocs.io/en/latest/reference/modules.html#write-files
 */
function cloudInitFiles(dir: string, cloudConfig: string): Record<string, string> {
  const doc = parseYaml(cloudConfig) as { write_files?: { path?: unknown; content?: unknown; encoding?: unknown }[] } | null;
  const out: Record<string, string> = {};
  for (const f of doc?.write_files ?? []) {
    if (typeof f.path !== "string" || typeof f.content !== "string") continue;
    const rel = path.posix.normalize(f.path).replace(/^\/+/, "");
    if (rel.startsWith("..")) throw new Error(`${dir}/cloud-config.yaml: write_files path ${f.path} leaves the file tree`);
    const base64 = typeof f.encoding === "string" && /^(b64|base64)$/.test(f.encoding);
    out[`${dir}/files/${rel}`] = base64 ? Buffer.from(f.content, "base64").toString("utf8") : f.content;
  }
  return out;
}

/** One municipality's synthesized stack (cdk.tf.json, parsed), synthesized in a scratch directory. */
export function synthesizedStack(id: string, envDir?: string): Record<string, any> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "alpha-prime-stack-"));
  try {
    synthesize({ envDir, only: [id], outdir: path.join(scratch, "cdktf.out") });
    return JSON.parse(fs.readFileSync(path.join(scratch, "cdktf.out", "stacks", id, "cdk.tf.json"), "utf8"));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Synthesizes one municipality into a scratch directory and writes its generated files; returns the paths written. */
export function renderToDir(o: RenderOptions): { outDir: string; files: string[] } {
  const outDir = path.resolve(o.outDir ?? path.join("rendered", o.id));
  const tx = beginOutput(outDir, RENDER_MARKER);
  try {
    const files = renderedFiles(o.id, synthesizedStack(o.id, o.envDir));
    for (const [rel, text] of Object.entries(files)) {
      const file = path.join(tx.staging, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    }
    tx.commit();
    return { outDir, files: Object.keys(files).sort() };
  } finally {
    tx.release();
  }
}
