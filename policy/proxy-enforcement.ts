/**
 * Whether names are reachable only through the proxy tier, judged on the synthesized stack: the firewall drops them
 * for HOME_NET before any allowlist passes them (and passes them from PROXY_NET first), QUIC is dropped, and the PAC
 * file sends them to the proxy. Shared by the tenant-restriction and the sanitization rules.
 */
import { covers, DomainPattern } from "../catalog/domains";
import type { Resource, StackModel } from "./model";
import type { Violation } from "./types";
import { domainPattern } from "./domain-patterns";

/**
 * The names a rule matches, as BreakoutGateway writes them: dotprefix content ".y" is y and its subdomains, or exactly
 * y with startswith. A rule for a wider pattern covers a narrower one.
 */
function contentPattern(rule: string): DomainPattern | undefined {
  const m = /content:"\.([^"]+)";/.exec(rule);
  return m ? { name: m[1], includeSubdomains: !/ startswith;/.test(rule) } : undefined;
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

/** What each firewall policy enforces before its allowlist: the rules of the groups it evaluates first, in order. */
interface Enforcement {
  readonly policy: Resource;
  /** the groups the policy evaluates before its first allowlist */
  readonly enforcing: readonly Resource[];
  /** their rules' lines, each with the names it matches */
  readonly rules: readonly { readonly text: string; readonly names: DomainPattern | undefined }[];
}

/** The enforcement of every firewall policy, once per model (the tenant-restriction and sanitization rules both judge it). */
function enforcementOf(model: StackModel): Enforcement[] {
  const groups = model.ofType("aws_networkfirewall_rule_group");
  return model.ofType("aws_networkfirewall_firewall_policy").map((p) => {
    const refs: { priority: number; resource_arn: string }[] = p.values.firewall_policy?.stateful_rule_group_reference ?? [];
    const priorityOf = (g: Resource) => refs.find((r) => model.referenced(r.resource_arn)?.address === g.address)?.priority;
    const allowlists = groups.filter((g) => g.values.rule_group?.rules_source?.rules_source_list?.generated_rules_type === "ALLOWLIST");
    const firstAllow = Math.min(...allowlists.map(priorityOf).filter((x): x is number => x !== undefined), Infinity);
    const enforcing = groups.filter((g) => (priorityOf(g) ?? Infinity) < firstAllow);
    return { policy: p, enforcing, rules: enforcing.flatMap(rulesOf).map((text) => ({ text, names: contentPattern(text) })) };
  });
}

/** The PAC file's names sent to the tenant proxy, as patterns (undefined without a PAC file), once per model. */
function pacPatternsOf(model: StackModel): DomainPattern[] | undefined {
  const pac = pacTenantNames(model);
  return pac && [...pac].map((p) => domainPattern(p) as DomainPattern);
}

/** Violations for every name in `names` that a PC could reach without the proxy. */
export function proxyBypassViolations(model: StackModel, names: readonly string[]): Violation[] {
  const out: Violation[] = [];
  if (names.length === 0) return out;
  // each name as a pattern, read when a rule is compared with it
  const parsed = new Map<string, DomainPattern>();
  const patternOf = (name: string) => parsed.get(name) ?? parsed.set(name, domainPattern(name) as DomainPattern).get(name)!;
  for (const { policy: p, enforcing, rules } of model.derived(enforcementOf)) {
    if (!rules.some((r) => /^drop udp \$HOME_NET any -> \$EXTERNAL_NET 443 /.test(r.text))) out.push({ address: p.address, message: "QUIC (UDP/443) from HOME_NET is not dropped before the allowlist: browsers could skip TLS over TCP" });
    for (const name of names) {
      const matches = (r: { names: DomainPattern | undefined }) => r.names !== undefined && covers(r.names, patternOf(name));
      for (const proto of ["tls", "http"]) {
        const drop = rules.findIndex((r) => r.text.startsWith(`drop ${proto} $HOME_NET `) && matches(r));
        const pass = rules.findIndex((r) => r.text.startsWith(`pass ${proto} $PROXY_NET `) && matches(r));
        if (drop < 0) out.push({ address: p.address, message: `${name} (${proto}) is not dropped for HOME_NET before the allowlist passes it: reachable without the proxy` });
        else if (pass > drop) out.push({ address: p.address, message: `${name} (${proto}) is dropped before the proxy's pass: the proxy cannot reach it` });
      }
    }
    for (const g of enforcing) {
      const proxyNet = (g.values.rule_group?.rule_variables?.ip_sets ?? []).find((s: any) => s.key === "PROXY_NET");
      if (rulesOf(g).some((r) => r.includes("$PROXY_NET")) && !proxyNet?.ip_set?.definition?.length) out.push({ address: g.address, message: "PROXY_NET is used but not defined" });
    }
  }
  const sent = model.derived(pacPatternsOf);
  if (sent) {
    for (const name of names) {
      if (!sent.some((p) => covers(p, patternOf(name)))) out.push({ address: "pac/proxy.pac", message: `the PAC file does not send ${name} to the tenant-restriction proxy` });
    }
  }
  return out;
}
