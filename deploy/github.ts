/**
 * The PR comment: alpha-prime finds its own earlier comment by a hidden marker and updates it (never "the bot's last
 * comment", which may be another workflow's), or creates one. A fork's pull request gets a read-only token: the
 * report then goes to the job summary (and the run's artifact), and the job does not fail for it.
 *
 * GitHub REST API: https://docs.github.com/en/rest/issues/comments (list comments on an issue, create, update).
 */
import * as fs from "fs";
import { COMMENT_MARKER } from "../review/markdown";

export interface CommentTarget {
  /** "owner/name" */
  readonly repo: string;
  readonly pr: number;
  readonly token: string;
  /** GITHUB_API_URL (https://api.github.com, or an Enterprise Server's) */
  readonly apiUrl: string;
}

export type CommentOutcome = { action: "created" | "updated"; id: number; url?: string } | { action: "not-permitted"; status: number };

async function call(t: CommentTarget, method: string, route: string, body?: unknown): Promise<{ status: number; json: any; link: string | null }> {
  const r = await fetch(`${t.apiUrl.replace(/\/$/, "")}${route}`, {
    method,
    headers: { Authorization: `Bearer ${t.token}`, Accept: "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28", ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, link: r.headers.get("link") };
}

/** Refuses what would not be a repository ("owner/name") or a pull request number. */
export function checkTarget(repo: string, pr: string | number): number {
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo)) throw new Error(`--repo must be owner/name, got '${repo}'`);
  const n = Number(pr);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--pr must be a pull request number, got '${pr}'`);
  return n;
}

/** The id of our marked comment on the pull request, if there is one (every page is read: a busy PR has hundreds). */
export async function findMarkedComment(t: CommentTarget, marker = COMMENT_MARKER): Promise<number | undefined> {
  let found: number | undefined;
  for (let page = 1; page <= 100; page++) {
    const r = await call(t, "GET", `/repos/${t.repo}/issues/${t.pr}/comments?per_page=100&page=${page}`);
    if (r.status !== 200) throw new Error(`listing the comments of ${t.repo}#${t.pr} failed: HTTP ${r.status} ${JSON.stringify(r.json?.message ?? "")}`);
    for (const c of r.json as { id: number; body?: string }[]) if (typeof c.body === "string" && c.body.startsWith(marker)) found = c.id; // the newest marked one
    if (!r.link?.includes('rel="next"')) break;
  }
  return found;
}

/** Creates or updates the marked comment. A 403/404 on writing (a fork's read-only token) is reported, not thrown. */
export async function upsertComment(t: CommentTarget, markdown: string, marker = COMMENT_MARKER): Promise<CommentOutcome> {
  const body = markdown.startsWith(marker) ? markdown : `${marker}\n${markdown}`;
  const existing = await findMarkedComment(t, marker);
  const r = existing ? await call(t, "PATCH", `/repos/${t.repo}/issues/comments/${existing}`, { body }) : await call(t, "POST", `/repos/${t.repo}/issues/${t.pr}/comments`, { body });
  if (r.status === 403 || r.status === 404) return { action: "not-permitted", status: r.status };
  if (r.status !== 200 && r.status !== 201) throw new Error(`${existing ? "updating" : "creating"} the comment on ${t.repo}#${t.pr} failed: HTTP ${r.status} ${JSON.stringify(r.json?.message ?? "")}`);
  return { action: existing ? "updated" : "created", id: r.json.id, url: r.json.html_url };
}

/** Appends Markdown to the job summary file ($GITHUB_STEP_SUMMARY), which GitHub cuts at 1 MiB per step. */
export function appendSummary(file: string, markdown: string): void {
  const limit = 1024 * 1024 - 1024;
  const text = markdown.length > limit ? `${markdown.slice(0, markdown.lastIndexOf("\n", limit))}\n\n… cut to fit the job summary; the whole report is in the run's artifact.\n` : markdown;
  fs.appendFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
}
