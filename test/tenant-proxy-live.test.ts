/**
 * The tenant-restriction proxy as it will run: real Squid (Debian squid-openssl) with the configuration rendered for
 * a sample municipality, paths moved into a temporary directory, a throwaway interception CA, and local TLS servers
 * standing in for login.microsoftonline.com (it echoes the request headers) and for a splice-only host. Everything
 * stays on 127.0.0.0/8; every process is stopped by its PID at the end; each step has a time limit.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as net from "net";
import * as tls from "tls";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { renderSquidConfig, SQUID_LAYOUT, SquidLayout } from "../constructs/tenant-proxy";
import { effectiveAllowlist } from "../stacks/allowlist";
import { loadSample, tempDir, testWithTool, which } from "./helpers";
import { curl, freePort, handOver, makeCa, Processes, tearDown } from "./live-harness";

const live = testWithTool(["squid", "curl", "openssl"], "squid-openssl curl openssl", "the tenant-restriction proxy's live behaviour (header insertion, splicing, refusal)");
const LOGIN_IP = "127.0.0.2";
const SPLICE_IP = "127.0.0.3";
const LOGIN_HOST = "login.microsoftonline.com";
const SPLICE_HOST = "mitoyo-city.cybozu.com"; // allowlisted for mitoyo, no header: spliced

describe("the tenant-restriction proxy, live on the loopback", () => {
  const dir = tempDir("alpha-prime-squid-");
  const processes = new Processes();
  const servers: https.Server[] = [];
  let proxyPort = 0;
  let tlsPort = 0;
  let layout: SquidLayout;
  const config = loadSample("mitoyo");
  const allowlist = effectiveAllowlist(config);
  const m365 = allowlist.headerRules.find((h) => h.name === "sec-Restrict-Tenant-Access-Policy")!;
  const upgradeHeaders: Record<string, string[] | undefined>[] = [];

  beforeAll(async () => {
    if (!which("squid")) return;
    fs.chmodSync(dir, 0o755);
    makeCa(dir, "interception-ca", []);
    makeCa(dir, "origin-ca", [LOGIN_HOST, SPLICE_HOST]);
    fs.writeFileSync(path.join(dir, "interception.pem"), fs.readFileSync(path.join(dir, "interception-ca.crt"), "utf8") + fs.readFileSync(path.join(dir, "interception-ca.key"), "utf8"));
    // the origin servers listen on one port at two loopback addresses; Squid finds them through its hosts file
    tlsPort = await freePort();
    proxyPort = await freePort();
    for (const [ip, host] of [[LOGIN_IP, LOGIN_HOST], [SPLICE_IP, SPLICE_HOST]]) {
      const server = https.createServer({ key: fs.readFileSync(path.join(dir, `${host}.key`)), cert: fs.readFileSync(path.join(dir, `${host}.crt`)) }, (req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ host, headers: req.headersDistinct }));
      });
      // a WebSocket endpoint (Slack's clients keep one open): answers the upgrade, then echoes what it is sent
      server.on("upgrade", (req, socket) => {
        upgradeHeaders.push(req.headersDistinct);
        const accept = crypto.createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        socket.on("data", (d) => socket.write(d));
      });
      await new Promise<void>((resolve) => server.listen(tlsPort, ip, resolve));
      servers.push(server);
    }
    fs.writeFileSync(path.join(dir, "hosts"), `${LOGIN_IP} ${LOGIN_HOST}\n${SPLICE_IP} ${SPLICE_HOST}\n`);
    fs.mkdirSync(path.join(dir, "log"));
    layout = { ...SQUID_LAYOUT, port: proxyPort, tlsPort, caFile: path.join(dir, "interception.pem"), certDb: path.join(dir, "ssl_db"), logDir: path.join(dir, "log"), pidFile: path.join(dir, "squid.pid"), coredumpDir: dir, errorDir: "/usr/share/squid/errors/templates", upstreamCaFile: path.join(dir, "origin-ca.crt") };
    const rendered = renderSquidConfig({ municipality: config.id, clientCidrs: ["127.0.0.0/8"], allowedDomains: allowlist.domains, headerRules: allowlist.headerRules.map((r) => ({ label: r.saas, ...r })), layout });
    // the one test-only addition: names resolve from a hosts file to the stand-in origins
    const conf = `${rendered}\nhosts_file ${path.join(dir, "hosts")}\n`;
    fs.writeFileSync(path.join(dir, "squid.conf"), conf);
    execFileSync(layout.certgen, ["-c", "-s", layout.certDb, "-M", "16MB"], { stdio: "pipe" });
    handOver(dir, "proxy");
    await processes.startListening("squid", "squid", ["-N", "-d", "1", "-f", path.join(dir, "squid.conf")], proxyPort, 15000);
  }, 60000);

  afterAll(() => tearDown(processes, servers, dir), 30000);

  live("the Microsoft sign-in host gets the tenant header with exactly the configured value", async () => {
    const r = await curl(proxyPort, `https://${LOGIN_HOST}:${tlsPort}/common/oauth2/v2.0/authorize`, path.join(dir, "interception-ca.crt"));
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body.toString());
    expect(seen.host).toBe(LOGIN_HOST);
    expect(seen.headers["sec-restrict-tenant-access-policy"]).toEqual([m365.value]);
    expect(m365.value).toBe(`${(config.breakout.tenants["microsoft-365"] as any).tenantId}:${(config.breakout.tenants["microsoft-365"] as any).policyId}`);
    // bumped: the certificate the PC sees was minted by the interception CA
    expect(r.stderr).toMatch(/issuer: CN=interception-ca/);
  });

  live("a tenant header forged by the client is replaced, not passed along", async () => {
    const r = await curl(proxyPort, `https://${LOGIN_HOST}:${tlsPort}/`, path.join(dir, "interception-ca.crt"), ["sec-Restrict-Tenant-Access-Policy: 00000000-0000-0000-0000-000000000000:evil", "X-Slack-Allowed-Workspaces: TEVIL"]);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body.toString());
    expect(seen.headers["sec-restrict-tenant-access-policy"]).toEqual([m365.value]);
    expect(seen.headers["x-slack-allowed-workspaces"]).toBeUndefined();
  });

  live("a splice-only allowlisted host presents its own certificate, untouched by the proxy", async () => {
    // trusting only the origin CA proves the proxy did not mint a certificate for this host
    const r = await curl(proxyPort, `https://${SPLICE_HOST}:${tlsPort}/`, path.join(dir, "origin-ca.crt"), ["sec-Restrict-Tenant-Access-Policy: passes-untouched"]);
    expect(r.status).toBe(200);
    expect(r.stderr).toMatch(/issuer: CN=origin-ca/);
    // nothing was added or removed: the proxy never saw inside this connection
    expect(JSON.parse(r.body.toString()).headers["sec-restrict-tenant-access-policy"]).toEqual(["passes-untouched"]);
  });

  // A refused CONNECT gets Squid's error page over a bumped connection (PCs trust the interception CA), never a tunnel.
  live("a host outside the allowlist is refused", async () => {
    const r = await curl(proxyPort, `https://www.example.com:${tlsPort}/`, path.join(dir, "interception-ca.crt"));
    expect(r.status).toBe(403);
    expect(r.body.toString()).toMatch(/ERR_ACCESS_DENIED/);
  });

  live("another tenant's SharePoint is refused by the proxy too", async () => {
    const r = await curl(proxyPort, `https://contoso.sharepoint.com:${tlsPort}/`, path.join(dir, "interception-ca.crt"));
    expect(r.status).toBe(403);
  });

  live("a sign-in connection cannot carry a request for another host (domain fronting)", async () => {
    const r = await curl(proxyPort, `https://${LOGIN_HOST}:${tlsPort}/`, path.join(dir, "interception-ca.crt"), ["Host: www.example.com"]);
    // Squid answers itself (403, or 503 when the decrypted connection is pinned to the sign-in host); nothing reaches an origin
    expect([403, 503]).toContain(r.status);
    expect(r.body.toString()).not.toMatch(/"headers"/);
  });

  live("a WebSocket upgrade on a bumped host passes, with the tenant header, and carries data both ways", async () => {
    const reply = await webSocketThroughProxy(proxyPort, LOGIN_HOST, tlsPort, fs.readFileSync(path.join(dir, "interception-ca.crt")));
    expect(reply.status).toMatch(/^HTTP\/1\.1 101 /);
    expect(reply.echo).toBe("ping-through-squid");
    expect(upgradeHeaders.at(-1)?.["sec-restrict-tenant-access-policy"]).toEqual([m365.value]);
  });

  live("Squid reports no configuration or TLS error while serving", () => {
    expect(fs.readFileSync(path.join(dir, "log", "cache.log"), "utf8").split("\n").filter((l) => /ERROR|FATAL/.test(l))).toEqual([]);
  });

  live("every request is in the access log with the SNI and what the proxy did", async () => {
    await new Promise((r) => setTimeout(r, 500)); // the logging daemon writes asynchronously
    const log = fs.readFileSync(path.join(dir, "log", "access.log"), "utf8");
    expect(log).toMatch(new RegExp(`${LOGIN_HOST.replace(/\./g, "\\.")} bump`));
    expect(log).toMatch(new RegExp(`${SPLICE_HOST.replace(/\./g, "\\.")} splice`));
    expect(log).toMatch(/TCP_DENIED\/\d+ .* CONNECT www\.example\.com/);
    expect(log).toMatch(/TCP_DENIED\/\d+ .* CONNECT contoso\.sharepoint\.com/);
  });
});

/**
 * A WebSocket client through the proxy, step by step as a browser does it: CONNECT, TLS (trusting the interception
 * CA, as LGWAN PCs do), the upgrade request, then raw bytes after 101. Bounded in time.
 */
function webSocketThroughProxy(proxyPort: number, host: string, port: number, ca: Buffer): Promise<{ status: string; echo: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("WebSocket through the proxy timed out")), 10_000);
    const raw = net.connect(proxyPort, "127.0.0.1", () => raw.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    raw.once("data", (d) => {
      if (!/^HTTP\/1\.1 200/.test(d.toString())) return reject(new Error(`CONNECT refused: ${d.toString().split("\r\n")[0]}`));
      const t = tls.connect({ socket: raw, servername: host, ca }, () => {
        t.write(`GET /socket HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString("base64")}\r\n\r\n`);
      });
      let buffer = "";
      let status = "";
      t.on("data", (chunk) => {
        buffer += chunk.toString();
        if (!status && buffer.includes("\r\n\r\n")) {
          status = buffer.split("\r\n")[0];
          buffer = buffer.slice(buffer.indexOf("\r\n\r\n") + 4);
          if (!status.includes(" 101 ")) {
            clearTimeout(timer);
            t.destroy();
            return resolve({ status, echo: "" });
          }
          t.write("ping-through-squid");
        }
        if (status && buffer.length >= "ping-through-squid".length) {
          clearTimeout(timer);
          t.destroy();
          resolve({ status, echo: buffer });
        }
      });
      t.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    raw.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
