/**
 * Whether names are reachable only through the proxy tier, judged on the synthesized stack: the firewall drops them
 * for HOME_NET before any allowlist passes them (and passes them from PROXY_NET first), QUIC is dropped, and the PAC
 * file sends them to the proxy. Shared by the tenant-restriction and the sanitization rules.
 */
import { covers, DomainPattern, parseDomainPattern } from "../catalog/domains";
import type { Resource, StackModel } from "./model";
import type { Violation } from "./types";

/**
 * Whether a rule matches every name of `pattern` ("*.x" or "x"): the rule's dotprefix content ".y" matches y and
 * its subdomains, or exactly y with startswith (BreakoutGateway's form); a rule for a wider pattern covers a narrower one.
 */
function matches(rule: string, pattern: string): boolean {
  const m = /content:"\.([^"]+)";/.exec(rule);
  if (!m) return false;
  const ruleIs: DomainPattern = { name: m[1], includeSubdomains: !/ startswith;/.test(rule) };
  return covers(ruleIs, parseDomainPattern(pattern) as DomainPattern);
}

function rulesOf(g: Resource): string[] {
  return String(g.values.rule_group?.rules_source?.rules_string ?? "").split("\n");
}

/** The PAC file's lists of names sent to the tenant proxy (TENANT_EXACT keys, TENANT_DOMAINS entries). */
export function pacTenantNames(model: StackModel): Set<string> | undefined {
  const pac = model.ofType("aws_s3_object").find((o) => o.values.key === "pac/proxy.pac");
  if (!pac) return undefined;
  const text = String(pac.values.content ?? "");
  const exact = /^var TENANT_EXACT = (\{.*\});$/m.exec(text);
  const domains = /^var TENANT_DOMAINS = (\[.*\]);$/m.exec(text);
  const proxies = /^var TENANT_PROXY = (".*");$/m.exec(text);
  if (!exact || !domains || !proxies || JSON.parse(proxies[1]) === "") return new Set();
  return new Set([...Object.keys(JSON.parse(exact[1])), ...(JSON.parse(domains[1]) as string[]).map((d) => `*.${d}`)]);
}


/** Violations for every name in `names` that a PC could reach without the proxy. */
export function proxyBypassViolations(model: StackModel, names: readonly string[]): Violation[] {
  const out: Violation[] = [];
  if (names.length === 0) return out;
  const groups = model.ofType("aws_networkfirewall_rule_group");
  for (const p of model.ofType("aws_networkfirewall_firewall_policy")) {
    const refs: { priority: number; resource_arn: string }[] = p.values.firewall_policy?.stateful_rule_group_reference ?? [];
    const priorityOf = (g: Resource) => refs.find((r) => model.referenced(r.resource_arn)?.address === g.address)?.priority;
    const allowlists = groups.filter((g) => g.values.rule_group?.rules_source?.rules_source_list?.generated_rules_type === "ALLOWLIST");
    const firstAllow = Math.min(...allowlists.map(priorityOf).filter((x): x is number => x !== undefined), Infinity);
    const enforcing = groups.filter((g) => (priorityOf(g) ?? Infinity) < firstAllow);
    const rules = enforcing.flatMap(rulesOf);
    if (!rules.some((r) => /^drop udp \$HOME_NET any -> \$EXTERNAL_NET 443 /.test(r))) out.push({ address: p.address, message: "QUIC (UDP/443) from HOME_NET is not dropped before the allowlist: browsers could skip TLS over TCP" });
    for (const name of names) {
      for (const proto of ["tls", "http"]) {
        const drop = rules.findIndex((r) => r.startsWith(`drop ${proto} $HOME_NET `) && matches(r, name));
        const pass = rules.findIndex((r) => r.startsWith(`pass ${proto} $PROXY_NET `) && matches(r, name));
        if (drop < 0) out.push({ address: p.address, message: `${name} (${proto}) is not dropped for HOME_NET before the allowlist passes it: reachable without the proxy` });
        else if (pass > drop) out.push({ address: p.address, message: `${name} (${proto}) is dropped before the proxy's pass: the proxy cannot reach it` });
      }
    }
    for (const g of enforcing) {
      const proxyNet = (g.values.rule_group?.rule_variables?.ip_sets ?? []).find((s: any) => s.key === "PROXY_NET");
      if (rulesOf(g).some((r) => r.includes("$PROXY_NET")) && !proxyNet?.ip_set?.definition?.length) out.push({ address: g.address, message: "PROXY_NET is used but not defined" });
    }
  }
  const pac = pacTenantNames(model);
  if (pac) {
    const sent = [...pac].map((p) => parseDomainPattern(p) as DomainPattern);
    for (const name of names) {
      if (!sent.some((p) => covers(p, parseDomainPattern(name) as DomainPattern))) out.push({ address: "pac/proxy.pac", message: `the PAC file does not send ${name} to the tenant-restriction proxy` });
    }
  }
  return out;
}
