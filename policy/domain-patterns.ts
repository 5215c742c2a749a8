/**
 * parseDomainPattern and publicHostingUnder, remembered for the process. The names a stack's firewall passes are
 * mostly the catalog's, the same in every stack a synth worker checks, and several rules read each one (AP-NET-004,
 * AP-TEN-001, AP-TEN-003, AP-TEN-005, AP-SAN-001): each answer is a Public Suffix List lookup, so each is worked out
 * once. At most MAX_KEPT names each. Patterns are kept frozen, because every caller shares them; a refusal is a
 * sentence in the current language and is worked out again each time (refusals are rare).
 */
import { DomainPattern, parseDomainPattern, publicHostingUnder } from "../catalog/domains";

const MAX_KEPT = 10_000;
const kept = new Map<string, DomainPattern>();

export function domainPattern(raw: string): DomainPattern | string {
  const known = kept.get(raw);
  if (known) return known;
  const parsed = parseDomainPattern(raw);
  if (typeof parsed === "string") return parsed;
  if (kept.size >= MAX_KEPT) kept.clear();
  const frozen = Object.freeze({ ...parsed });
  kept.set(raw, frozen);
  return frozen;
}

const hosting = new Map<string, string | undefined>();

/** publicHostingUnder (a walk of the Public Suffix List's trie below the name), once per name: plain data, kept whole. */
export function hostingUnder(name: string): string | undefined {
  if (hosting.has(name)) return hosting.get(name);
  const found = publicHostingUnder(name);
  if (hosting.size >= MAX_KEPT) hosting.clear();
  hosting.set(name, found);
  return found;
}
