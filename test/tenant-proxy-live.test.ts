/**
 * The tenant-restriction proxy as it will run: real Squid (Debian squid-openssl) with the configuration rendered for
 * a sample municipality, paths moved into a temporary directory, a throwaway interception CA, and local TLS servers
 * standing in for login.microsoftonline.com (it echoes the request headers) and for a splice-only host. Everything
 * stays on 127.0.0.0/8; every process is stopped by its PID at the end; each step has a time limit.
 */
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import { renderSquidConfig, SQUID_LAYOUT, SquidLayout } from "../constructs/tenant-proxy";
import { effectiveAllowlist } from "../stacks/allowlist";
import { loadSample, tempDir, testWithTool, which } from "./helpers";

const live = testWithTool("squid", "squid-openssl", "the tenant-restriction proxy's live behaviour (header insertion, splicing, refusal)");
const LOGIN_IP = "127.0.0.2";
const SPLICE_IP = "127.0.0.3";
const LOGIN_HOST = "login.microsoftonline.com";
const SPLICE_HOST = "mitoyo-city.cybozu.com"; // allowlisted for mitoyo, no header: spliced

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

/** A CA and server certificates signed by it, made with the openssl command (throwaway, test only). */
function makeCa(dir: string, name: string, servers: string[]): void {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  for (const host of servers) {
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${host}`, "-keyout", `${host}.key`, "-out", `${host}.csr`], dir);
    fs.writeFileSync(path.join(dir, `${host}.ext`), `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\n`);
    openssl(["x509", "-req", "-in", `${host}.csr`, "-CA", `${name}.crt`, "-CAkey", `${name}.key`, "-CAcreateserial", "-days", "2", "-extfile", `${host}.ext`, "-out", `${host}.crt`], dir);
  }
}

function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => (c.destroy(), resolve(true)));
      c.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${ms} ms`);
}

interface Curl {
  status: number;
  body: string;
  stderr: string;
}

/**
 * curl through the proxy, trusting only `caFile`; bounded in time. Asynchronous: the stand-in origins run in this
 * process and must keep answering while curl waits.
 */
function curl(proxyPort: number, url: string, caFile: string, headers: string[] = []): Promise<Curl> {
  const args = ["-sS", "-v", "--max-time", "10", "--noproxy", "", "--proxy", `http://127.0.0.1:${proxyPort}`, "--cacert", caFile, ...headers.flatMap((h) => ["-H", h]), "-w", "\n%{http_code}", url];
  return new Promise((resolve) => {
    execFile("curl", args, { encoding: "utf8", timeout: 15000 }, (_err, stdout, stderr) => {
      const lines = String(stdout).split("\n");
      resolve({ status: Number(lines.pop()), body: lines.join("\n"), stderr: String(stderr) });
    });
  });
}

describe("the tenant-restriction proxy, live on the loopback", () => {
  const dir = tempDir("alpha-prime-squid-");
  const children: ChildProcess[] = [];
  const servers: https.Server[] = [];
  let proxyPort = 0;
  let tlsPort = 0;
  let layout: SquidLayout;
  const config = loadSample("mitoyo");
  const allowlist = effectiveAllowlist(config);
  const m365 = allowlist.headerRules.find((h) => h.name === "sec-Restrict-Tenant-Access-Policy")!;

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
      await new Promise<void>((resolve) => server.listen(tlsPort, ip, resolve));
      servers.push(server);
    }
    fs.writeFileSync(path.join(dir, "hosts"), `${LOGIN_IP} ${LOGIN_HOST}\n${SPLICE_IP} ${SPLICE_HOST}\n`);
    fs.mkdirSync(path.join(dir, "log"));
    layout = { ...SQUID_LAYOUT, port: proxyPort, tlsPort, caFile: path.join(dir, "interception.pem"), certDb: path.join(dir, "ssl_db"), logDir: path.join(dir, "log"), pidFile: path.join(dir, "squid.pid"), coredumpDir: dir, upstreamCaFile: path.join(dir, "origin-ca.crt") };
    const rendered = renderSquidConfig({ municipality: config.id, clientCidrs: ["127.0.0.0/8"], allowedDomains: allowlist.domains, headerRules: allowlist.headerRules.map((r) => ({ label: r.saas, ...r })), layout });
    // the one test-only addition: names resolve from a hosts file to the stand-in origins
    const conf = `${rendered}\nhosts_file ${path.join(dir, "hosts")}\n`;
    fs.writeFileSync(path.join(dir, "squid.conf"), conf);
    execFileSync(layout.certgen, ["-c", "-s", layout.certDb, "-M", "16MB"], { stdio: "pipe" });
    if (process.getuid?.() === 0) execFileSync("chown", ["-R", "proxy:proxy", dir]); // Squid drops root to 'proxy'
    const squid = spawn("squid", ["-N", "-d", "1", "-f", path.join(dir, "squid.conf")], { stdio: ["ignore", "ignore", "pipe"], detached: true });
    let log = "";
    squid.stderr!.on("data", (d) => (log += d));
    children.push(squid);
    await waitForPort(proxyPort, 15000).catch((e) => {
      throw new Error(`${e.message}\nsquid said:\n${log}`);
    });
  }, 60000);

  afterAll(async () => {
    for (const c of children) {
      if (c.pid && c.exitCode === null) {
        // squid and its certificate helpers share the process group started above
        try {
          process.kill(-c.pid, "SIGTERM");
        } catch {
          /* already gone */
        }
        const exited = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), 8000);
          c.once("exit", () => (clearTimeout(t), resolve(true)));
        });
        if (!exited) process.kill(-c.pid, "SIGKILL");
      }
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (!process.env.KEEP_SQUID_DIR) fs.rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir}\n`);
  }, 30000);

  live("the Microsoft sign-in host gets the tenant header with exactly the configured value", async () => {
    const r = await curl(proxyPort, `https://${LOGIN_HOST}:${tlsPort}/common/oauth2/v2.0/authorize`, path.join(dir, "interception-ca.crt"));
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body);
    expect(seen.host).toBe(LOGIN_HOST);
    expect(seen.headers["sec-restrict-tenant-access-policy"]).toEqual([m365.value]);
    expect(m365.value).toBe(`${(config.breakout.tenants["microsoft-365"] as any).tenantId}:${(config.breakout.tenants["microsoft-365"] as any).policyId}`);
    // bumped: the certificate the PC sees was minted by the interception CA
    expect(r.stderr).toMatch(/issuer: CN=interception-ca/);
  });

  live("a tenant header forged by the client is replaced, not passed along", async () => {
    const r = await curl(proxyPort, `https://${LOGIN_HOST}:${tlsPort}/`, path.join(dir, "interception-ca.crt"), ["sec-Restrict-Tenant-Access-Policy: 00000000-0000-0000-0000-000000000000:evil", "X-Slack-Allowed-Workspaces: TEVIL"]);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body);
    expect(seen.headers["sec-restrict-tenant-access-policy"]).toEqual([m365.value]);
    expect(seen.headers["x-slack-allowed-workspaces"]).toBeUndefined();
  });

  live("a splice-only allowlisted host presents its own certificate, untouched by the proxy", async () => {
    // trusting only the origin CA proves the proxy did not mint a certificate for this host
    const r = await curl(proxyPort, `https://${SPLICE_HOST}:${tlsPort}/`, path.join(dir, "origin-ca.crt"), ["sec-Restrict-Tenant-Access-Policy: passes-untouched"]);
    expect(r.status).toBe(200);
    expect(r.stderr).toMatch(/issuer: CN=origin-ca/);
    // nothing was added or removed: the proxy never saw inside this connection
    expect(JSON.parse(r.body).headers["sec-restrict-tenant-access-policy"]).toEqual(["passes-untouched"]);
  });

  // A refused CONNECT gets Squid's error page over a bumped connection (PCs trust the interception CA), never a tunnel.
  live("a host outside the allowlist is refused", async () => {
    const r = await curl(proxyPort, `https://www.example.com:${tlsPort}/`, path.join(dir, "interception-ca.crt"));
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/ERR_ACCESS_DENIED/);
  });

  live("another tenant's SharePoint is refused by the proxy too", async () => {
    const r = await curl(proxyPort, `https://contoso.sharepoint.com:${tlsPort}/`, path.join(dir, "interception-ca.crt"));
    expect(r.status).toBe(403);
  });

  live("a sign-in connection cannot carry a request for another host (domain fronting)", async () => {
    const r = await curl(proxyPort, `https://${LOGIN_HOST}:${tlsPort}/`, path.join(dir, "interception-ca.crt"), ["Host: www.example.com"]);
    // Squid answers itself (403, or 503 when the decrypted connection is pinned to the sign-in host); nothing reaches an origin
    expect([403, 503]).toContain(r.status);
    expect(r.body).not.toMatch(/"headers"/);
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
