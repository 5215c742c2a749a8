/**
 * A loopback stand-in for GitHub's issue-comments API as `pr-comment` uses it (repository city/infra, pull request 7,
 * token "t0ken"): list in pages of 100, create, edit — any comment, as a token with pull-requests: write may.
 */
import * as http from "http";
import type { AddressInfo } from "net";

export interface GitHubComment {
  id: number;
  body: string;
  user?: { login: string; type: string };
}

/** `readOnly`: a fork's token, which may read but not write. */
export function fakeGitHub(initial: GitHubComment[], readOnly = false) {
  const comments = [...initial];
  let nextId = 1000;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url!, "http://x");
      const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "Content-Type": "application/json", ...headers });
        res.end(JSON.stringify(json));
      };
      if (req.headers.authorization !== "Bearer t0ken") return send(401, { message: "Bad credentials" });
      if (req.method === "GET" && /^\/repos\/city\/infra\/issues\/7\/comments$/.test(url.pathname)) {
        const page = Number(url.searchParams.get("page") ?? 1);
        const slice = comments.slice((page - 1) * 100, page * 100);
        return send(200, slice, page * 100 < comments.length ? { Link: `<http://x?page=${page + 1}>; rel="next"` } : {});
      }
      if (readOnly) return send(403, { message: "Resource not accessible by integration" });
      if (req.method === "POST" && url.pathname === "/repos/city/infra/issues/7/comments") {
        const c = { id: nextId++, body: JSON.parse(body).body, user: { login: "github-actions[bot]", type: "Bot" } };
        comments.push(c);
        return send(201, { ...c, html_url: `https://github.example/c/${c.id}` });
      }
      const m = /^\/repos\/city\/infra\/issues\/comments\/(\d+)$/.exec(url.pathname);
      if (req.method === "PATCH" && m) {
        const c = comments.find((x) => x.id === Number(m[1]))!;
        c.body = JSON.parse(body).body;
        return send(200, c);
      }
      send(404, { message: "Not Found" });
    });
  });
  return new Promise<{ url: string; comments: typeof comments; close: () => Promise<void> }>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, comments, close: () => new Promise((r) => server.close(() => r())) })),
  );
}
