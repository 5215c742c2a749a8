import { userDataText } from "../../constructs/terraform-text";
import { eachString, StackModel } from "../model";
import type { Rule, Violation } from "../types";

const PEM = /-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/;

/** The kind of PEM material in a text ("private key", "certificate"), if any. */
function pemIn(text: string): string | undefined {
  // the plain search first: the rule reads every string of the stack, and nearly none has a PEM header
  return text.includes("-----BEGIN ") ? PEM.exec(text)?.[1].toLowerCase() : undefined;
}

/**
 * A string's text decoded when it is user data (base64, gzip-compressed or not); undefined for other strings. The
 * model decodes each text once for this rule and AP-EC2-004; gzip that it does not gunzip (broken, or past its
 * limit) is decoded here as before, which throws for a broken member.
 */
function decodedUserData(model: StackModel, text: string, key: string | undefined): string | undefined {
  if (!key?.endsWith("user_data") || !/^[A-Za-z0-9+/=\s]+$/.test(text)) return undefined;
  const decoded = model.decodedBase64(text);
  return decoded.bytes[0] === 0x1f && decoded.bytes[1] === 0x8b && !decoded.gunzipped ? userDataText(text) : decoded.text;
}

export const noInlineCaMaterial: Rule = {
  id: "AP-TEN-004",
  severity: "error",
  title: "No certificate or private key is inline: the interception CA stays in Secrets Manager",
  rationale:
    "Whoever holds the interception CA's key can impersonate every site to every LGWAN PC. Inline PEM would be copied into the synthesized JSON, Terraform state, plan files, CI logs and the configuration bucket.",
  references: { alphaPrime: "テナント制限 (TLS検査用CA鍵の保護)", checkov: ["CKV_SECRET_13"], trivy: ["private-key"] },
  check(model) {
    const out: Violation[] = [];
    const { texts, keys, roots } = model.strings();
    for (const root of roots) {
      if (!root.resource) continue;
      for (let i = root.start; i < root.end; i++) {
        const text = texts[i];
        const kind = pemIn(text);
        if (kind) out.push({ address: root.address, message: `${model.stringPath(i)} holds PEM ${kind} material` });
        const decoded = decodedUserData(model, text, keys[i]);
        const hidden = decoded === undefined ? undefined : pemIn(decoded);
        if (hidden) out.push({ address: root.address, message: `${model.stringPath(i)} (decoded) holds PEM ${hidden} material` });
      }
    }
    for (const [name, o] of Object.entries<any>(model.json.output ?? {})) {
      let found = false;
      eachString(o, (text, at) => {
        const decoded = decodedUserData(model, text, at.key);
        if (pemIn(text) || (decoded !== undefined && pemIn(decoded))) found = true;
      });
      if (found) out.push({ address: `output.${name}`, message: "an output holds PEM material" });
    }
    return out;
  },
};
