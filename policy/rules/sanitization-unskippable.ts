import { narrowedHosts } from "../../catalog/allowlist";
import { formatDomainPattern } from "../../catalog/domains";
import { SaasCatalog } from "../../catalog/saas-catalog";
import { proxyBypassViolations } from "../proxy-enforcement";
import { stackAllowlistTargets, stackTenantScopeBreaches } from "../tenant-scope";
import type { StackModel } from "../model";
import type { Rule, Violation } from "../types";

/**
 * The file hosts of the sanitized services as the firewall allows them: the catalog's fileDownloads hosts narrowed to
 * the allowlist's names (a tenant's own SharePoint hosts, *.svc.ms), whatever the stack says of itself — a hand edit
 * that drops a host from locals and from the enforcement rules together is still judged on the catalog's list.
 */
function fileHostsOnTheFirewall(model: StackModel, services: readonly string[]): string[] {
  const catalog = SaasCatalog.default();
  const hosts = services.filter((s) => catalog.has(s)).flatMap((s) => catalog.get(s).fileDownloads?.hosts ?? []);
  // another tenant's host on the allowlist is AP-TEN-005's finding (one weakness, one finding): the file hosts judged
  // here are the catalog's, narrowed to the allowlist's names that are the municipality's own
  const otherTenants = new Set(stackTenantScopeBreaches(model).map((b) => b.name));
  const allowed = stackAllowlistTargets(model).filter((p) => !otherTenants.has(formatDomainPattern(p)));
  return narrowedHosts(hosts, allowed).map(formatDomainPattern);
}

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
    const hosts = [...new Set([...san.hosts, ...fileHostsOnTheFirewall(model, san.services)])];
    const out: Violation[] = proxyBypassViolations(model, hosts);
    const conf = model.ofType("aws_s3_object").find((o) => o.values.key === "proxy/squid.conf");
    const text = String(conf?.values.content ?? "");
    const address = conf?.address ?? "proxy/squid.conf";
    const service = /^icap_service sanitize respmod_precache \S+(.*)$/m.exec(text);
    if (!service) out.push({ address, message: "squid.conf has no RESPMOD service for sanitization" });
    else if (!/\bbypass=(0|off)\b/.test(service[1])) out.push({ address, message: "the sanitization service may be bypassed when the engine fails (needs bypass=0): files would pass unscanned" });
    if (!/^adaptation_access sanitize allow sanitized_hosts$/m.test(text)) out.push({ address, message: "no adaptation_access sends the file hosts to the engine" });
    const acl = [...text.matchAll(/^acl sanitized_hosts dstdomain -n (.+)$/gm)].flatMap((m) => m[1].split(" "));
    for (const h of hosts) {
      const squid = h.startsWith("*.") ? h.slice(1) : h;
      if (!acl.includes(squid)) out.push({ address, message: `${h} is not sent to the sanitization engine` });
    }
    return out;
  },
};
