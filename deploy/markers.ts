/**
 * What was last deployed, per municipality: a git ref `refs/alpha-prime/deployed/<id>` in the repository itself,
 * pointing at a tag object whose target is the deployed commit and whose message records the synthesized stack's
 * SHA-256, the applied plan's SHA-256 and the stack's provider and terraform blocks (what a destroy needs once the env
 * file is gone). The deploy job writes it after a successful apply and pushes it; the next run computes what to
 * deploy from these markers, never from `github.event.before` (a push GitHub dropped from the queue, or a failed
 * deploy, is then still owed). Refs rather than the state bucket: readable for all municipalities in one fetch, with
 * no AWS credentials, and reviewable with `git log refs/alpha-prime/deployed/<id>`.
 */
import { execFileSync } from "child_process";

export const DEFAULT_MARKER_PREFIX = "refs/alpha-prime/deployed";

export interface DeployedMarker {
  readonly id: string;
  /** the commit whose synthesized stack was applied */
  readonly commit: string;
  readonly stackSha256: string;
  readonly planSha256?: string;
  /** when, and by which run (a URL) */
  readonly deployedAt?: string;
  readonly run?: string;
  /** the stack's `terraform` and `provider` blocks, for a destroy after the env file is gone */
  readonly settings?: { terraform?: unknown; provider?: unknown };
}

function git(repo: string, args: string[], input?: string): string {
  return execFileSync("git", args, { cwd: repo, encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
}

/** A municipality id as it may appear in a ref name (env ids are [a-z][a-z0-9-]). */
export function assertMarkerId(id: string): void {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(id)) throw new Error(`'${id}' is not a municipality id (lowercase letters, digits and '-')`);
}

/** Every marker under `prefix`, read in one `for-each-ref` (1,741 municipalities are one command). */
export function readMarkers(repo: string, prefix = DEFAULT_MARKER_PREFIX): Map<string, DeployedMarker> {
  const out = new Map<string, DeployedMarker>();
  // %00 separates records: a message may hold any text
  const text = git(repo, ["for-each-ref", "--format=%(refname)%00%(objecttype)%00%(*objectname)%00%(contents)%00%00", `${prefix}/`]);
  for (const record of text.split("\0\0\n").filter((r) => r.trim())) {
    const [ref, type, commit, message] = record.replace(/^\n/, "").split("\0");
    const id = ref.slice(prefix.length + 1);
    if (type !== "tag") continue; // not ours: a marker is always a tag object
    try {
      const body = JSON.parse(message.trim());
      out.set(id, { ...body, id, commit });
    } catch {
      throw new Error(`${ref}: the deploy marker's message is not the JSON alpha-prime writes; inspect it with 'git cat-file -p ${ref}'`);
    }
  }
  return out;
}

/** Fetches the markers from a remote (a remote without any is fine). */
export function fetchMarkers(repo: string, remote = "origin", prefix = DEFAULT_MARKER_PREFIX): void {
  git(repo, ["fetch", "--quiet", "--no-tags", remote, `+${prefix}/*:${prefix}/*`]);
}

/**
 * Records that `commit` of municipality `id` was deployed, and pushes the marker when a remote is given. A marker
 * never moves backwards: a commit that is an ancestor of the recorded one (an older run applied after a newer one)
 * is refused, so the record always names the newest deployed tree.
 */
export function recordMarker(repo: string, marker: Omit<DeployedMarker, "deployedAt"> & { deployedAt?: string }, options: { remote?: string; prefix?: string; now?: Date } = {}): string {
  assertMarkerId(marker.id);
  const prefix = options.prefix ?? DEFAULT_MARKER_PREFIX;
  const ref = `${prefix}/${marker.id}`;
  const commit = git(repo, ["rev-parse", "--verify", `${marker.commit}^{commit}`]).trim();
  const current = readMarkers(repo, prefix).get(marker.id);
  if (current && current.commit !== commit) {
    const isAncestor = (() => {
      try {
        git(repo, ["merge-base", "--is-ancestor", commit, current.commit]);
        return true;
      } catch {
        return false;
      }
    })();
    if (isAncestor) throw new Error(`${marker.id}: ${commit.slice(0, 12)} is older than the deployed ${current.commit.slice(0, 12)}: the marker does not move back (re-run the deploy of the newer commit)`);
  }
  const now = options.now ?? new Date();
  const { id: _id, commit: _commit, ...rest } = marker;
  const body = JSON.stringify({ ...rest, deployedAt: marker.deployedAt ?? now.toISOString() });
  const seconds = Math.floor(now.getTime() / 1000);
  const tag = `object ${commit}\ntype commit\ntag alpha-prime-deployed-${marker.id}\ntagger alpha-prime <alpha-prime@users.noreply.invalid> ${seconds} +0000\n\n${body}\n`;
  const object = git(repo, ["mktag"], tag).trim();
  git(repo, ["update-ref", ref, object]);
  if (options.remote) git(repo, ["push", "--quiet", options.remote, `+${ref}:${ref}`]);
  return object;
}

/** Removes a municipality's marker after its stack was destroyed (and from the remote, when given). */
export function removeMarker(repo: string, id: string, options: { remote?: string; prefix?: string } = {}): void {
  assertMarkerId(id);
  const ref = `${options.prefix ?? DEFAULT_MARKER_PREFIX}/${id}`;
  git(repo, ["update-ref", "-d", ref]);
  if (options.remote) git(repo, ["push", "--quiet", options.remote, `:${ref}`]);
}
