/**
 * The reviewer diff's view of 無害化's coverage map (catalog/coverage.ts, carried in locals.alpha_prime): a file path of
 * a selected service that the engine does not see, new with this change — a service selected, sanitization turned on
 * or off, a host that left the engine — is named per municipality with why and the compensating control, so a reviewer
 * approving "sanitization on" reads what it does not cover. Kept apart from diff.ts; diff.ts only adds what this returns.
 */
import { fromTerraformLiteralDeep } from "../constructs/terraform-text";
import type { SnapshotView } from "./tenant-scope";

interface PathView {
  saas: string;
  what: string;
  hosts: string[];
  route: string;
  covered: boolean;
  why: string;
  compensating?: string;
}

function pathsOf(s: SnapshotView | undefined): PathView[] {
  const declared = fromTerraformLiteralDeep(s?.locals?.alpha_prime?.tenant_restriction?.file_coverage ?? []);
  return Array.isArray(declared) ? declared : [];
}

export function fileCoverageCallouts(base: SnapshotView | undefined, head: SnapshotView | undefined): { risk: "security"; address: string; message: string }[] {
  if (!head) return [];
  const key = (p: PathView) => `${p.saas}\u0000${p.what}`;
  const before = new Map(pathsOf(base).map((p) => [key(p), p]));
  return pathsOf(head)
    .filter((p) => !p.covered)
    .filter((p) => {
      const was = before.get(key(p));
      return !was || was.covered || was.route !== p.route || was.why !== p.why;
    })
    .map((p) => ({
      risk: "security" as const,
      address: `file-coverage.${p.saas}`,
      message: `file path NOT SANITIZED: ${p.what} (${p.hosts.join(" ")}) — ${p.why}${p.compensating ? `; compensating control: ${p.compensating}` : ""}`,
    }));
}
