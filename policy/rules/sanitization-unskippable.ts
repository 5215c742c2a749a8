import { proxyBypassViolations } from "../proxy-enforcement";
import type { Rule, Violation } from "../types";

export const sanitizationUnskippable: Rule = {
  id: "AP-SAN-001",
  severity: "error",
  title: "Files from services marked for sanitization reach PCs only through the engine, and the proxy fails closed",
  rationale:
    "無害化 protects LGWAN PCs only if no download can skip it: a PC that ignores the PAC file, an adaptation rule that misses a file host, or an engine failure that lets files through unscanned would deliver malware straight onto the LGWAN side.",
  references: { alphaPrime: "無害化 (ファイル無害化)" },
  check(model) {
    const san = model.context.tenantRestriction?.sanitization;
    if (!san) return [];
    const out: Violation[] = proxyBypassViolations(model, san.hosts);
    const conf = model.ofType("aws_s3_object").find((o) => o.values.key === "proxy/squid.conf");
    const text = String(conf?.values.content ?? "");
    const address = conf?.address ?? "proxy/squid.conf";
    const service = /^icap_service sanitize respmod_precache \S+(.*)$/m.exec(text);
    if (!service) out.push({ address, message: "squid.conf has no RESPMOD service for sanitization" });
    else if (!/\bbypass=(0|off)\b/.test(service[1])) out.push({ address, message: "the sanitization service may be bypassed when the engine fails (needs bypass=0): files would pass unscanned" });
    if (!/^adaptation_access sanitize allow sanitized_hosts$/m.test(text)) out.push({ address, message: "no adaptation_access sends the file hosts to the engine" });
    const acl = [...text.matchAll(/^acl sanitized_hosts dstdomain -n (.+)$/gm)].flatMap((m) => m[1].split(" "));
    for (const h of san.hosts) {
      const squid = h.startsWith("*.") ? h.slice(1) : h;
      if (!acl.includes(squid)) out.push({ address, message: `${h} is not sent to the sanitization engine` });
    }
    return out;
  },
};
