import { userDataText } from "../../constructs/terraform-text";
import type { Rule, Violation } from "../types";

const PEM = /-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/;

/** Every string in a value, with user data (base64, gzip-compressed or not) decoded, as [json path, text]. */
function strings(value: unknown, at: string, out: [string, string][]): void {
  if (typeof value === "string") {
    out.push([at, value]);
    if (/user_data$/.test(at) && /^[A-Za-z0-9+/=\s]+$/.test(value)) out.push([`${at} (decoded)`, userDataText(value)]);
  } else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${at}[${i}]`, out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) strings(v, at ? `${at}.${k}` : k, out);
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
    for (const r of model.resources) {
      const found: [string, string][] = [];
      strings(r.values, "", found);
      for (const [at, text] of found) if (PEM.test(text)) out.push({ address: r.address, message: `${at} holds PEM ${PEM.exec(text)![1].toLowerCase()} material` });
    }
    for (const [name, o] of Object.entries<any>(model.json.output ?? {})) {
      const found: [string, string][] = [];
      strings(o, "", found);
      if (found.some(([, t]) => PEM.test(t))) out.push({ address: `output.${name}`, message: "an output holds PEM material" });
    }
    return out;
  },
};
