/**
 * Text that goes into Terraform JSON. Terraform reads every JSON string as a template: "${...}" is an interpolation
 * and "%{...}" a directive, so literal text that contains them — a Squid log format ("%{Header}"), a shell
 * "${var:-x}", or anything a municipality wrote in its YAML ("${file(...)}") — would be evaluated or refused.
 * Escaped ("$${", "%%{"), Terraform writes it back as it was.
 * https://developer.hashicorp.com/terraform/language/expressions/strings#escape-sequences-1
 *
 * The one Terraform encoder (stacks/literal-text.ts applies it to every string a stack writes), the one decoder
 * for readers of the synthesized JSON (render, policy, diff), and the one way to write an expression on purpose.
 */
import { gunzipSync, gzipSync } from "zlib";

/** cdktf's token markers ("${TfToken[TOKEN.12]}"): references that cdktf itself turns into interpolations. */
const NOT_A_TOKEN = /\$\{(?!TfToken\[)/g;

export function terraformLiteral(text: string): string {
  // most strings hold neither opener: the synth pass asks for every string of every stack
  if (!text.includes("{")) return text;
  // replacer functions, because "$$" in a replacement string means one "$"
  return text.replace(NOT_A_TOKEN, () => "$${").replace(/%\{/g, () => "%%{");
}

/** What Terraform makes of a string written by terraformLiteral (the text as it lands in AWS). */
export function fromTerraformLiteral(text: string): string {
  return text.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}

/**
 * terraformLiteral over every string of a JSON-like value: the same array or plain object when nothing in it needed
 * escaping, a shallow copy where something did, so the value given is never written to (the literal-text pass hands
 * it objects that provider classes keep). Objects of other classes (cdktf's tokens) are kept whole: their text is
 * cdktf's.
 */
export function terraformLiteralDeep<T>(value: T): T {
  if (typeof value === "string") return terraformLiteral(value) as unknown as T;
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const escaped = terraformLiteralDeep(value[i]);
      if (escaped !== value[i]) (copy ??= value.slice())[i] = escaped;
    }
    return (copy ?? value) as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const k of Object.keys(record)) {
    const escaped = terraformLiteralDeep(record[k]);
    if (escaped !== record[k]) (copy ??= { ...record })[k] = escaped;
  }
  return (copy ?? value) as T;
}

/**
 * A Terraform expression written on purpose (one that cdktf has no token for). It is a token, so the literal-text
 * pass leaves it alone; everything else that contains "${" is text.
 */
export function terraformExpression(expression: string): string {
  const { Lazy } = require("cdktf") as typeof import("cdktf");
  return Lazy.stringValue({ produce: () => `\${${expression}}` });
}

/** fromTerraformLiteral over every string of a JSON value (a synthesized local, for readers of the artifact). */
export function fromTerraformLiteralDeep<T>(value: T): T {
  if (typeof value === "string") return fromTerraformLiteral(value) as unknown as T;
  if (Array.isArray(value)) return value.map((v) => fromTerraformLiteralDeep(v)) as unknown as T;
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromTerraformLiteralDeep(v)])) as T;
  return value;
}

/**
 * User data as a launch template takes it: gzip-compressed, then base64. EC2 takes at most 16 KB of user data "in raw
 * form, before it is base64-encoded" ("Work with instance user data", Amazon EC2 User Guide), and the proxy's
 * cloud-config with its squid.conf and sanitization pages is larger (kaga's, 17.6 KB); cloud-init uncompresses
 * gzip-compressed user data and uses it as if it had not been compressed ("User-Data Formats", cloud-init docs).
 * The header's OS byte is set to "unknown", so the same text always gives the same bytes, whatever machine synthesizes.
 */
export function launchTemplateUserData(text: string): string {
  const gz = gzipSync(Buffer.from(text, "utf8"), { level: 9 });
  gz[9] = 0xff; // RFC 1952: OS 255 = unknown (zlib writes the build platform's)
  return gz.toString("base64");
}

/** The text of user data written by launchTemplateUserData (or plain base64, as older stacks have it). */
export function userDataText(base64: string): string {
  const bytes = Buffer.from(base64, "base64");
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
}
