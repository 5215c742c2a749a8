/**
 * The reviewer diff's call-outs for what widens the firewall past the allowlist's meaning (policy/pass-rules.ts): a
 * wildcard over public hosting (*.github.io, *.trycloudflare.com — anyone can publish there) that neither a reviewed
 * catalog exception nor a municipality's waiver covers, and a stateful pass rule that cannot be shown narrow (the whole
 * web on 443, every address written as two halves, a name matched by substring). AP-NET-004 fails such a stack; the
 * diff names the change so a reviewer sees it where it was made. Kept apart from diff.ts, which only adds what this
 * returns.
 */
import { fromTerraformLiteralDeep } from "../constructs/terraform-text";
import { passRuleProblems, publicHostingProblems } from "../policy/pass-rules";
import type { SnapshotView } from "./tenant-scope";

export interface FirewallWidthCallout {
  readonly risk: "security";
  readonly address: string;
  readonly message: string;
}

function problemsOf(s: SnapshotView): Map<string, { address: string; message: string }> {
  const ap = fromTerraformLiteralDeep(s.locals?.alpha_prime ?? {});
  const out = new Map<string, { address: string; message: string }>();
  for (const p of publicHostingProblems(s.resources.entries(), { services: ap.tenant_restriction?.services, waivers: ap.public_hosting_waivers })) {
    out.set(`hosting ${p.rule} ${p.address}`, { address: p.address, message: `PUBLIC HOSTING OPENED: ${p.message}` });
  }
  for (const p of passRuleProblems(s.resources.entries())) out.set(`rule ${p.rule} ${p.address}`, { address: p.address, message: `WIDE PASS RULE: ${p.message}` });
  return out;
}

/** What the head passes too widely that the base did not. */
export function firewallWidthCallouts(base: SnapshotView | undefined, head: SnapshotView | undefined): FirewallWidthCallout[] {
  if (!head) return [];
  const before = base ? problemsOf(base) : new Map();
  return [...problemsOf(head)].filter(([k]) => !before.has(k)).map(([, p]) => ({ risk: "security" as const, address: p.address, message: p.message }));
}
