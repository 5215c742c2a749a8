/**
 * What a stack's firewall passes, judged for width (AP-NET-004 and the reviewer diff): every stateful pass rule must
 * be provably narrow, and no name the firewall passes may be a wildcard over public hosting without a reviewed
 * exception. A rule is narrow when it names its hosts (an exact name, or a name and its subdomains on a label
 * boundary, under a registrable domain), goes to a bounded set of addresses (no larger than a /8 — no SaaS publishes
 * a range that size), or comes only from the gateway's own instances inside the breakout VPC (the relay's and the
 * proxy's subnets, which connect only where their own configuration says) — never from a subnet that Client VPN is
 * associated with, since Client VPN translates remote devices to its interfaces there (the same fact as AP-NET-010),
 * so a pass from such a subnet is a pass for every full-tunnel device. Anything else — a rule this file cannot
 * read, a negation, an undefined variable, a name matched by substring or by an unanchored suffix — is a finding:
 * the policy does not guess in the rule's favour.
 */
import { formatDomainPattern } from "../catalog/domains";
import { SaasCatalog } from "../catalog/saas-catalog";
import { addressCount, addressSet, describeNameMatch, isEverything, nameRestriction, overlapsBlocks, portSet, RuleGroupRules, ruleGroupRules, rulesOf, RuleVariables, SuricataRule, withinBlocks } from "./suricata";
import { NameGrant, nameGrants } from "./tenant-scope";
import { ANY_DESTINATION, BY_PORT, NARROWING } from "./rules/port-pass-source";
import { domainPattern, hostingUnder } from "./domain-patterns";

/** A /8: 16,777,216 addresses. */
const WIDEST_ADDRESS_SET = 2 ** 24;

export interface PassProblem {
  /** the rule group */
  readonly address: string;
  readonly message: string;
  /** the rule text (for the diff, to tell a new problem from an old one) */
  readonly rule: string;
}

function short(rule: SuricataRule): string {
  return rule.text.length > 300 ? `${rule.text.slice(0, 300)}…` : rule.text;
}

/**
 * Why a pass rule is not provably narrow, or undefined. `ownBlocks` are the breakout VPC's CIDRs; `remoteBlocks` the
 * subnets in them where Client VPN puts remote devices (a source there is not the gateway's own).
 */
export function passRuleProblem(rule: SuricataRule, vars: RuleVariables, ownBlocks: readonly string[], remoteBlocks: readonly string[] = []): string | undefined {
  if (rule.action !== "pass") return undefined;
  // a rule that restricts names is judged by its names alone: its addresses and ports (pure functions of its text and
  // the variables, which never throw) only decide a rule without one
  const names = nameRestriction(rule);
  if (typeof names === "string") return `it restricts names in a way that cannot be shown narrow (${names}): ${short(rule)}`;
  if (names) {
    if (names.kind !== "exact" && names.kind !== "subtree") return `it passes ${describeNameMatch(names)}, not names on a label boundary, so it cannot be shown narrow: ${short(rule)}`;
    const p = domainPattern(names.kind === "subtree" ? `*.${names.text}` : names.text);
    if (typeof p === "string") return `it passes ${describeNameMatch(names)}, which is refused: ${p}: ${short(rule)}`;
    return undefined; // public hosting is judged with every other passed name (publicHostingProblems)
  }
  const bothWays = rule.direction === "<>";
  const destination = addressSet(rule.destination, vars);
  const source = addressSet(rule.source, vars);
  const ports = portSet(rule.destinationPort, vars);
  const everyAddress = isEverything(destination, "address") || (bothWays && isEverything(source, "address"));
  if (everyAddress && isEverything(ports, "port")) return `it passes every destination and port: ${short(rule)}`;
  // no name: the rule's reach is its addresses, unless only the gateway's own instances can send it
  if (!bothWays && withinBlocks(source, ownBlocks)) {
    if (!overlapsBlocks(source, remoteBlocks)) return undefined;
    // a pass by port alone to every address from a Client VPN subnet is AP-NET-010's finding: one weakness, one finding
    if (BY_PORT.has(rule.protocol) && ANY_DESTINATION.has(rule.destination) && !NARROWING.test(rule.text)) return undefined;
  }
  const widest = [destination, ...(bothWays ? [source] : [])];
  const unbounded = widest.find((s) => s.unbounded)?.unbounded;
  if (unbounded) return `it passes traffic to addresses that cannot be shown narrow (${unbounded}): ${short(rule)}`;
  const ports_ = isEverything(ports, "port") ? "every port" : `port(s) ${rule.destinationPort}`;
  if (everyAddress) return `it passes ${rule.protocol} on ${ports_} to every address without naming a host (the whole internet on those ports): ${short(rule)}`;
  if (widest.some((s) => addressCount(s) > WIDEST_ADDRESS_SET)) return `it passes ${rule.protocol} on ${ports_} to more addresses than a /8 without naming a host: ${short(rule)}`;
  return undefined;
}

/**
 * Every stateful pass rule of a stack that is not provably narrow, and every rules string this file cannot read.
 * `groups`: these resources' rule groups, when the caller has parsed them already (ruleGroupRules).
 */
export function passRuleProblems(resources: Iterable<[string, Record<string, any>]>, groups?: readonly RuleGroupRules[]): PassProblem[] {
  const all = [...resources];
  const parsed = groups ?? ruleGroupRules(all);
  const remote = clientVpnBlocks(all);
  // a Client VPN association whose subnet cannot be told: no source inside the VPC is provably the gateway's own
  const ownBlocks = remote === undefined ? [] : all.filter(([a]) => a.startsWith("aws_vpc.")).map(([, b]) => b.cidr_block).filter((c): c is string => typeof c === "string");
  const out: PassProblem[] = [];
  for (const { address, rule, vars } of rulesOf(parsed)) {
    const why = passRuleProblem(rule, vars, ownBlocks, remote ?? []);
    if (why) out.push({ address, message: `a stateful pass rule (sid ${rule.sid ?? "none"}) is not narrow: ${why}`, rule: rule.text });
  }
  for (const { address, unreadable } of parsed) {
    for (const u of unreadable) {
      if (/^\s*pass\b/i.test(u.text)) out.push({ address, message: `a pass rule cannot be read (${u.why}), so it cannot be shown narrow: ${u.text.slice(0, 300)}`, rule: u.text });
    }
  }
  return out;
}

/**
 * The CIDRs of the subnets Client VPN is associated with (its network interfaces, behind which it translates remote
 * devices), or undefined when an association names a subnet that is not a resource of the stack.
 */
function clientVpnBlocks(all: readonly [string, Record<string, any>][]): string[] | undefined {
  let byAddress: Map<string, Record<string, any>> | undefined; // only a stack with Client VPN needs it
  const out: string[] = [];
  for (const [address, body] of all) {
    if (!address.startsWith("aws_ec2_client_vpn_network_association.")) continue;
    const ref = /^\$\{(aws_subnet\.[A-Za-z0-9_-]+)\.id\}$/.exec(String(body.subnet_id ?? ""))?.[1];
    const cidr = ref ? (byAddress ??= new Map(all)).get(ref)?.cidr_block : undefined;
    if (typeof cidr !== "string") return undefined;
    out.push(cidr);
  }
  return out;
}

/** What a stack declares that excuses a wildcard over public hosting: its selected services and its waivers. */
export interface HostingContext {
  readonly services?: readonly { readonly saas: string }[];
  /** breakout.publicHostingWaivers, as the stack carries them (locals.alpha_prime.public_hosting_waivers) */
  readonly waivers?: readonly { readonly domain: string; readonly reason?: string }[];
}

/**
 * Names the firewall passes by wildcard where anyone can publish (a Public Suffix List private-section suffix at or
 * below the wildcard: *.github.io, *.trycloudflare.com, *.amazonaws.com), with neither a reviewed catalog exception
 * of a selected service nor a waiver of the municipality — the rule validate applies to extraDomains, judged again on
 * what the firewall does.
 */
export function publicHostingProblems(resources: Iterable<[string, Record<string, any>]>, context: HostingContext | undefined, catalog = SaasCatalog.default()): PassProblem[] {
  return hostingProblemsOf(nameGrants(resources), context, catalog);
}

/** publicHostingProblems of the names a firewall passes (nameGrants). */
export function hostingProblemsOf(grants: readonly NameGrant[], context: HostingContext | undefined, catalog = SaasCatalog.default()): PassProblem[] {
  const selected = new Set((context?.services ?? []).map((s) => s.saas).filter((s) => catalog.has(s)));
  const excused = new Set<string>([
    ...[...selected].flatMap((s) => (catalog.get(s).publicHostingExceptions ?? []).map((x) => x.domain)),
    ...(context?.waivers ?? []).filter((w) => typeof w.domain === "string" && String(w.reason ?? "").trim().length >= 20).map((w) => w.domain),
  ]);
  const out: PassProblem[] = [];
  const seen = new Set<string>();
  for (const g of grants) {
    if (g.match.kind !== "subtree") continue;
    const p = domainPattern(`*.${g.match.text}`);
    if (typeof p === "string") continue; // refused names are their own finding
    const hosting = hostingUnder(p.name);
    const name = formatDomainPattern(p);
    if (!hosting || excused.has(name) || seen.has(`${name} ${g.via}`)) continue;
    seen.add(`${name} ${g.via}`);
    out.push({ address: g.address, message: `${name} is passed by ${g.via}, a wildcard over public hosting: ${hosting} is where anyone can publish (Public Suffix List, private section), so it lets through anyone's site; validate refuses it without a publicHostingWaivers entry`, rule: name });
  }
  return out;
}
