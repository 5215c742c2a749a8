/**
 * The tenant-restriction proxy as it will run: real Squid (Debian squid-openssl) with the configuration rendered for
 * a sample municipality, paths moved into a temporary directory, a throwaway interception CA, and local TLS servers
 * standing in for login.microsoftonline.com (it echoes the request headers) and for a splice-only host. Everything
 * stays on 127.0.0.0/8; every process is stopped by its PID at the end; each step has a time limit.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { renderSquidConfig, SQUID_LAYOUT, SquidLayout } from "../constructs/tenant-proxy";
import { effectiveAllowlist } from "../stacks/allowlist";
import { loadSample, tempDir, testWithTool, which } from "./helpers";
import { acceptWebSocket, curl, exchange, freePort, handOver, makeCa, Processes, tearDown, tlsThroughProxy, webSocketThroughProxy, writeSquidHelpers } from "./live-harness";

const live = testWithTool(["squid", "curl", "openssl"], "squid-openssl curl openssl", "the tenant-restriction proxy's live behaviour (header insertion, splicing, refusal)");
const LOGIN_IP = "127.0.0.2";
const SPLICE_IP = "127.0.0.3";
const LOGIN_HOST = "login.microsoftonline.com";
const SPLICE_HOST = "mitoyo-city.cybozu.com"; // allowlisted for mitoyo, no header: spliced
// allowlisted for mitoyo and spliced, and (as with Microsoft's real certificates) named in the sign-in host's certificate
const SHARED_CERT_HOST = "graph.microsoft.com";

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
  /** every request a stand-in origin received: which server, and the Host it was asked for */
  const seen: { server: string; host?: string; url?: string }[] = [];

  beforeAll(async () => {
    if (!which("squid")) return;
    fs.chmodSync(dir, 0o755);
    makeCa(dir, "interception-ca", []);
    makeCa(dir, "origin-ca", [LOGIN_HOST, SPLICE_HOST], { [LOGIN_HOST]: [SHARED_CERT_HOST] });
    fs.writeFileSync(path.join(dir, "interception.pem"), fs.readFileSync(path.join(dir, "interception-ca.crt"), "utf8") + fs.readFileSync(path.join(dir, "interception-ca.key"), "utf8"));
    // the origin servers listen on one port at two loopback addresses; Squid finds them through its hosts file
    tlsPort = await freePort();
    proxyPort = await freePort();
    for (const [ip, host] of [[LOGIN_IP, LOGIN_HOST], [SPLICE_IP, SPLICE_HOST]]) {
      const server = https.createServer({ key: fs.readFileSync(path.join(dir, `${host}.key`)), cert: fs.readFileSync(path.join(dir, `${host}.crt`)) }, (req, res) => {
        seen.push({ server: host, host: req.headers.host, url: req.url });
        const body = JSON.stringify({ host, headers: req.headersDistinct });
        res.setHeader("content-type", "application/json");
        res.setHeader("content-length", Buffer.byteLength(body));
        res.end(body);
      });
      // a WebSocket endpoint (Slack's clients keep one open): answers the upgrade, then echoes what it is sent
      server.on("upgrade", (req, socket) => {
        upgradeHeaders.push(req.headersDistinct);
        acceptWebSocket(req, socket);
      });
      await new Promise<void>((resolve) => server.listen(tlsPort, ip, resolve));
      servers.push(server);
    }
    // the host fronted onto the sign-in connection resolves to where nothing listens: only the pinned connection reaches a server
    fs.writeFileSync(path.join(dir, "hosts"), `${LOGIN_IP} ${LOGIN_HOST}\n${SPLICE_IP} ${SPLICE_HOST}\n127.0.0.9 ${SHARED_CERT_HOST}\n`);
    fs.mkdirSync(path.join(dir, "log"));
    layout = { ...SQUID_LAYOUT, port: proxyPort, tlsPort, caFile: path.join(dir, "interception.pem"), certDb: path.join(dir, "ssl_db"), logDir: path.join(dir, "log"), pidFile: path.join(dir, "squid.pid"), coredumpDir: dir, errorDir: "/usr/share/squid/errors/templates", upstreamCaFile: path.join(dir, "origin-ca.crt"), sniCheckHelper: writeSquidHelpers(dir) };
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
    // Squid answers itself (403, or 503 when the server's certificate does not cover the host); nothing reaches an origin
    expect([403, 503]).toContain(r.status);
    expect(r.body.toString()).not.toMatch(/"headers"/);
  });

  // Squid alone refuses a Host the server's certificate does not cover, but not one it does (real SaaS certificates
  // name many hosts): such a request went to the sign-in server under another name, without the tenant header.
  live("fronting on a bumped host: another allowlisted host that the server's certificate also covers is refused, first request or later", async () => {
    const ca = fs.readFileSync(path.join(dir, "interception-ca.crt"));
    const before = seen.length;
    const fronted = `GET /me HTTP/1.1\r\nHost: ${SHARED_CERT_HOST}:${tlsPort}\r\n\r\n`;
    const [first] = await exchange(await tlsThroughProxy(proxyPort, `${LOGIN_HOST}:${tlsPort}`, LOGIN_HOST, ca), [fronted]);
    expect(first.status).toBe(403);
    // a connection that asked for its own host first, then another one
    const [own, later] = await exchange(await tlsThroughProxy(proxyPort, `${LOGIN_HOST}:${tlsPort}`, LOGIN_HOST, ca), [`GET / HTTP/1.1\r\nHost: ${LOGIN_HOST}:${tlsPort}\r\n\r\n`, fronted]);
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body.toString()).headers["sec-restrict-tenant-access-policy"]).toEqual([m365.value]);
    expect(later.status).toBe(403);
    expect(seen.slice(before).map((s) => s.host)).toEqual([`${LOGIN_HOST}:${tlsPort}`]);
  });

  // What splicing cannot see: the proxy passes the TLS bytes untouched, so the Host inside is the origin's business.
  // README says so; the firewall and the proxy decide on the SNI alone.
  live("fronting on a spliced host is invisible to the proxy: the origin gets whatever Host the client wrote", async () => {
    const before = seen.length;
    const r = await curl(proxyPort, `https://${SPLICE_HOST}:${tlsPort}/`, path.join(dir, "origin-ca.crt"), ["Host: www.example.com"]);
    expect(r.status).toBe(200);
    expect(seen.slice(before)).toEqual([{ server: SPLICE_HOST, host: "www.example.com", url: "/" }]);
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
