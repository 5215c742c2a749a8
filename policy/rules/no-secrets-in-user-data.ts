import { decodeBase64, StackModel } from "../model";
import type { Rule, Violation } from "../types";

/**
 * What a secret looks like. Each pattern names a credential, never a file or a reference to one. `needs`: text one of
 * which every match holds (lower case for a pattern that ignores case: such a pattern matches ASCII letters only in
 * either case, so a match is in the lower-cased text too), looked for first, since most user data holds none and a
 * plain search is far cheaper than a pattern's scan of kilobytes.
 */
const SECRET_PATTERNS: readonly { readonly kind: string; readonly re: RegExp; readonly needs: readonly string[] }[] = [
  { kind: "a private key", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/, needs: ["-----BEGIN "] },
  { kind: "a PuTTY private key", re: /PuTTY-User-Key-File-\d+:/, needs: ["PuTTY-User-Key-File-"] },
  { kind: "an AWS access key id", re: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/, needs: ["AKIA", "ASIA", "ABIA", "ACCA"] },
  { kind: "an AWS secret access key", re: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/i, needs: ["secret"] },
  { kind: "a Slack token", re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/, needs: ["xox"] },
  { kind: "a GitHub token", re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/, needs: ["gh", "github_pat_"] },
  { kind: "a Google API key", re: /\bAIza[0-9A-Za-z_-]{35}\b/, needs: ["AIza"] },
  { kind: "a JSON Web Token", re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, needs: ["eyJ"] },
  { kind: "an HTTP Authorization header", re: /Authorization:\s*(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/i, needs: ["authorization:"] },
];

/** SECRET_PATTERNS as matchAll wants them (with the g flag), made once: matchAll searches with a copy of each. */
const SECRET_SEARCHES = SECRET_PATTERNS.map(({ kind, re, needs }) => ({ kind, needs, ignoresCase: re.flags.includes("i"), re: new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`) }));

/** `user:password@` in a URL, unless the password is a shell or template variable. */
const URL_CREDENTIALS = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@"'<>]+:([^\s/@"'<>]+)@[^\s/]/gi;

/**
 * `password: x`, `api_key = "x"`, `"client_secret": "x"`: a credential-like key with a literal value. Not inside an
 * ARN (`…:secret:name`), and not when the value is a reference (a variable, a template, a path, an ARN).
 */
const CREDENTIAL_WORDS = "password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|private[_-]?key";
const ASSIGNMENT = new RegExp(`(?<![\\w:/.-])([A-Za-z0-9_.-]*(?:${CREDENTIAL_WORDS})[A-Za-z0-9_.-]*)["']?[ \\t]*[:=][ \\t]*["']?([^\\s"'\`#,;]{6,})`, "gi");
/** Every assignment holds one of the words; most texts hold none, and this search is far cheaper than ASSIGNMENT's. */
const CREDENTIAL_WORD = new RegExp(CREDENTIAL_WORDS, "i");
const CREDENTIAL_WORDS_FOUND = new RegExp(CREDENTIAL_WORDS, "gi");
/** ASSIGNMENT tried at one position only (sticky). */
const ASSIGNMENT_AT = new RegExp(ASSIGNMENT.source, "iy");

/** A character of ASSIGNMENT's name, [A-Za-z0-9_.-] (the i flag adds nothing: without u, no other letter folds into ASCII). */
function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d;
}

/**
 * What text.matchAll(ASSIGNMENT) finds, trying the pattern only where a match can start. A match's name is a run of
 * name characters holding a credential word (the words are name characters too), and it starts where that run
 * starts: anywhere later in the run, the character before is one the look-behind refuses ([\w.-] holds every name
 * character). So each word found leads to the start of its run, tried once, in order, past the end of the last match,
 * as matchAll's scan would reach it; the scan itself crawled the whole text (the user data's cloud-config, kilobytes
 * long) at every position.
 */
function assignmentsIn(text: string): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  let from = 0; // past the last match, or past the end of a run tried without one: no match starts before it
  CREDENTIAL_WORDS_FOUND.lastIndex = 0;
  for (let word = CREDENTIAL_WORDS_FOUND.exec(text); word; word = CREDENTIAL_WORDS_FOUND.exec(text)) {
    let start = word.index;
    while (start > 0 && isNameChar(text.charCodeAt(start - 1))) start--;
    if (start < from) continue;
    ASSIGNMENT_AT.lastIndex = start;
    const m = ASSIGNMENT_AT.exec(text);
    if (m) {
      out.push(m);
      from = start + m[0].length;
    } else {
      // no match starts later in this run either (the look-behind refuses a name character before it)
      from = word.index + word[0].length;
      while (from < text.length && isNameChar(text.charCodeAt(from))) from++;
    }
    // the words before `from` lie in runs already tried: walking back from each to its run's start cost the square
    // of the run's length ("tokenxtokenx…=x", a few hundred kilobytes gunzipped from one kilobyte of user data)
    CREDENTIAL_WORDS_FOUND.lastIndex = from;
  }
  return out;
}
const REFERENCE = /^(?:\$|%|\{\{|<|\/|~|file:|arn:|resolve:|ssm:|secretsmanager:|!)|^(?:null|none|true|false|required|optional)$/i;

function isVariable(value: string): boolean {
  return REFERENCE.test(value) || value.includes("${");
}

/** A letter that is not base64's; white space is removed before it is asked (far cheaper than a match of the whole text). */
const NOT_BASE64 = /[^A-Za-z0-9+/=\s]/;

/** Whether white-space-free text is /^[A-Za-z0-9+/]+={0,2}$/: base64 letters, then at most two "=" at the end. */
function isBase64(compact: string): boolean {
  if (compact.length === 0 || NOT_BASE64.test(compact)) return false;
  const pad = compact.indexOf("=");
  return pad < 0 || (pad > 0 && pad >= compact.length - 2 && (pad === compact.length - 1 || compact.charCodeAt(pad + 1) === 0x3d));
}

/**
 * The text base64 holds, gunzipped when it is gzip (cloud-init accepts gzip-compressed user data); undefined when
 * it is not base64. With the model, decoded once for this rule and AP-TEN-004.
 */
function fromBase64(text: string, model?: StackModel): string | undefined {
  const compact = text.replace(/\s+/g, "");
  if (compact.length < 8 || compact.length % 4 !== 0 || !isBase64(compact)) return undefined;
  return (model ? model.decodedBase64(compact) : decodeBase64(compact)).text;
}

/**
 * Every text a cloud-init user data hands the instance, as [where, text]: the value itself (base64 as Terraform
 * holds a launch template's, or plain as an instance's may be), gzip undone, each part of a MIME multi-part
 * archive (base64 parts decoded), and each cloud-config `write_files` entry whose content is base64 or gzip+base64
 * (https://cloudinit.readthedocs.io/en/latest/reference/modules.html#write-files). Nested at most three deep.
 */
export function userDataTexts(value: string, where = "user data", depth = 0, model?: StackModel): [string, string][] {
  if (depth > 3) return [];
  const decodedText = fromBase64(value, model);
  // plain text that happens to be all base64 letters decodes to noise: then the value itself is the text
  const text = decodedText && (decodedText.includes("\uFFFD") ? decodedText.match(/\uFFFD/g)!.length : 0) <= decodedText.length / 20 ? decodedText : value;
  // the patterns below ignore case and match ASCII only: what they need is in the lower-cased text
  const lower = text.toLowerCase();
  const out: [string, string][] = [[where, text]];
  const boundary = lower.includes("multipart/") ? /^Content-Type:\s*multipart\/[^;\n]*;\s*boundary="?([^"\s;]+)"?/im.exec(text)?.[1] : undefined;
  if (boundary) {
    text.split(`--${boundary}`).forEach((part, i) => {
      const [headers, ...body] = part.split(/\r?\n\r?\n/);
      if (/Content-Transfer-Encoding:\s*base64/i.test(headers)) out.push(...userDataTexts(body.join("\n\n"), `${where}, MIME part ${i}`, depth + 1, model));
    });
  }
  if (text.includes("#cloud-config") && /^#cloud-config/m.test(text) && lower.includes("encoding:")) {
    const { parse } = require("yaml") as typeof import("yaml"); // loaded only for the few user data that need it
    let doc: any;
    try {
      doc = parse(text, { maxAliasCount: 0 });
    } catch {
      doc = undefined;
    }
    for (const [i, f] of (Array.isArray(doc?.write_files) ? doc.write_files : []).entries()) {
      const encoding = String(f?.encoding ?? "").toLowerCase();
      if (!/^(b64|base64|gz\+b64|gz\+base64|gzip\+b64|gzip\+base64)$/.test(encoding) || typeof f?.content !== "string") continue;
      const content = fromBase64(f.content, model);
      if (content !== undefined) out.push([`${where}, write_files[${i}] ${f.path ?? ""}`.trim(), content]);
    }
  }
  return out;
}

/** The secrets in one text, as "<kind> on line <n>" (never the secret itself: reports are read and stored widely). */
export function secretsIn(text: string): string[] {
  const found: string[] = [];
  const lines = new Set<number>();
  const line = (index: number) => text.slice(0, index).split("\n").length;
  // one finding per line, the most specific: an access key is not also "a literal value for AWS_ACCESS_KEY_ID"
  const report = (index: number, what: (n: number) => string) => {
    const n = line(index);
    if (!lines.has(n)) found.push(what(n));
    lines.add(n);
  };
  const lower = text.toLowerCase();
  for (const { kind, re, needs, ignoresCase } of SECRET_SEARCHES) {
    if (!needs.some((n) => (ignoresCase ? lower : text).includes(n))) continue;
    for (const m of text.matchAll(re)) report(m.index!, (n) => `${kind} on line ${n}`);
  }
  // every match holds "://"
  if (text.includes("://")) for (const m of text.matchAll(URL_CREDENTIALS)) if (!isVariable(m[1])) report(m.index!, (n) => `a password in a URL on line ${n}`);
  if (CREDENTIAL_WORD.test(text)) for (const m of assignmentsIn(text)) if (!isVariable(m[2])) report(m.index!, (n) => `a literal value for '${m[1]}' on line ${n}`);
  return found;
}

const USER_DATA: Record<string, readonly string[]> = {
  aws_launch_template: ["user_data"],
  aws_instance: ["user_data", "user_data_base64"],
  aws_launch_configuration: ["user_data", "user_data_base64"],
  aws_spot_instance_request: ["user_data", "user_data_base64"],
};

export const noSecretsInUserData: Rule = {
  id: "AP-EC2-004",
  severity: "error",
  title: "No secret in EC2 user data: no private key, access key, token or password, however it is encoded",
  rationale:
    "User data is not secret: anyone who can describe the instance attribute or the launch template reads it, it is in the Terraform state and plan, in the synthesized JSON in CI, and the proxy's cloud-config is also published to the configuration bucket. " +
    "Instances fetch what they need at boot with their role (the interception CA from Secrets Manager). The rule looks through base64, gzip, MIME parts and cloud-config write_files encodings, so an encoded secret is still found, and it reports only the kind and line, never the value.",
  references: { alphaPrime: "認証情報の保護", checkov: ["CKV_AWS_46"], trivy: ["AVD-AWS-0029", "AVD-AWS-0129"] },
  check(model) {
    const out: Violation[] = [];
    for (const [type, attributes] of Object.entries(USER_DATA)) {
      for (const r of model.ofType(type)) {
        for (const attribute of attributes) {
          const value = r.values[attribute];
          if (typeof value !== "string" || value === "") continue;
          for (const [where, text] of userDataTexts(value, attribute, 0, model)) for (const s of secretsIn(text)) out.push({ address: r.address, message: `${where} holds ${s}` });
        }
      }
    }
    return out;
  },
};
