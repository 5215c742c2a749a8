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
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

export const DEFAULT_MARKER_PREFIX = "refs/alpha-prime/deployed";

/** A marker that may not be trusted or moved as asked: the deploy or destroy is refused (exit 1), nothing is run. */
export class MarkerRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MarkerRefusedError";
  }
}

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
 * Refuses a commit older than the one the marker records (an ancestor of it: an older run's plan, re-run after a
 * newer deploy). `apply --record-deployed` asks this BEFORE Terraform runs, so an old tree is never applied over a
 * newer one; recordMarker asks again when it writes. Returns the full commit id.
 */
export function assertMarkerMayMoveTo(repo: string, id: string, commitish: string, prefix = DEFAULT_MARKER_PREFIX): string {
  const commit = git(repo, ["rev-parse", "--verify", `${commitish}^{commit}`]).trim();
  const current = readMarkers(repo, prefix).get(id);
  if (current && current.commit !== commit) {
    const isAncestor = (() => {
      try {
        git(repo, ["merge-base", "--is-ancestor", commit, current.commit]);
        return true;
      } catch {
        return false;
      }
    })();
    if (isAncestor) throw new MarkerRefusedError(`${id}: ${commit.slice(0, 12)} is older than the deployed ${current.commit.slice(0, 12)}: the marker does not move back, and the older tree is not applied (re-run the deploy of the newer commit)`);
  }
  return commit;
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
  const commit = assertMarkerMayMoveTo(repo, marker.id, marker.commit, prefix);
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

/**
 * What a destroy may trust of a marker. A marker is a ref that anyone with push access can write (`git mktag` and a
 * push to refs/alpha-prime/deployed/<id>: branch protection and tag rulesets do not cover other refs), so its
 * recorded account and backend are checked against the env file of the commit it names, which must be on the
 * checked-out history (merged, reviewed). Returns the account to assume; throws with every difference.
 */
export function verifyMarkerForDestroy(repo: string, marker: DeployedMarker, envDir: string, stateBucket?: string): { account: string } {
  const id = marker.id;
  try {
    git(repo, ["merge-base", "--is-ancestor", marker.commit, "HEAD"]);
  } catch {
    throw new MarkerRefusedError(`${id}: the deploy marker names commit ${marker.commit.slice(0, 12)}, which is not in the checked-out history: a marker written by hand, not by a deploy of a merged commit; nothing to destroy from it`);
  }
  const top = fs.realpathSync(git(repo, ["rev-parse", "--show-toplevel"]).trim());
  const rel = path.relative(top, fs.realpathSync(path.resolve(repo, envDir))).split(path.sep).join("/");
  let text: string | undefined;
  let file = "";
  for (const name of [`${id}.yaml`, `${id}.yml`]) {
    file = rel ? `${rel}/${name}` : name;
    try {
      text = git(repo, ["show", `${marker.commit}:${file}`]);
      break;
    } catch {
      // not under this name at that commit
    }
  }
  if (text === undefined) throw new MarkerRefusedError(`${id}: the deployed commit ${marker.commit.slice(0, 12)} holds no ${rel || "."}/${id}.yaml: the marker does not name a deploy of this municipality; nothing to destroy from it`);
  const env = (parse(text) ?? {}) as { aws?: { accountId?: unknown; region?: unknown }; state?: { bucket?: unknown } };
  const account = String(env.aws?.accountId ?? "");
  if (!/^\d{12}$/.test(account)) throw new MarkerRefusedError(`${id}: ${file} at ${marker.commit.slice(0, 12)} names no 12-digit aws.accountId`);
  const differences: string[] = [];
  const provider = (marker.settings?.provider as any)?.aws?.[0];
  const allowed = provider?.allowed_account_ids;
  // without a provider block the destroy runs with the job's credentials, which the workflow takes in `account`
  if (provider !== undefined && JSON.stringify(allowed) !== JSON.stringify([account])) differences.push(`the provider's allowed_account_ids are ${JSON.stringify(allowed ?? null)}, the env file's account is ${account}`);
  if (env.aws?.region !== undefined && provider?.region !== undefined && provider.region !== env.aws.region) differences.push(`the provider's region is ${provider.region}, the env file's is ${env.aws.region}`);
  const s3 = (marker.settings?.terraform as any)?.backend?.s3;
  if (s3) {
    // stacks/municipality-stack.ts declareBackend: the bucket of the env file or of the deploy's environment, this key
    const key = `alpha-prime/${id}/terraform.tfstate`;
    if (s3.key !== key) differences.push(`the state key is ${JSON.stringify(s3.key)}, alpha-prime's is ${key}`);
    const bucket = env.state?.bucket ?? stateBucket;
    if (bucket !== undefined && s3.bucket !== bucket) differences.push(`the state bucket is ${JSON.stringify(s3.bucket)}, the deploy's is ${bucket}`);
    if (s3.allowed_account_ids !== undefined && JSON.stringify(s3.allowed_account_ids) !== JSON.stringify([account])) differences.push(`the state backend's allowed_account_ids are ${JSON.stringify(s3.allowed_account_ids)}, not [${account}]`);
  }
  if (differences.length) throw new MarkerRefusedError(`${id}: the deploy marker does not match the deployed commit's ${file}; nothing to destroy from it:\n${differences.map((d) => `  ${d}`).join("\n")}`);
  return { account };
}
