/**
 * 無害化 as it will run: real Squid, real c-icap (virus_scan + clamd_mod) and real clamd with the configurations
 * rendered for Kaga, paths moved into a temporary directory, a signature database the test writes itself (the
 * EICAR test file's hash; nothing is downloaded), and a local TLS origin standing in for Slack's file host.
 * Everything stays on 127.0.0.0/8; every process is stopped by its process group at the end.
 */
import { execFileSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";
import { ENGINE_LAYOUT, EngineLayout, ICAP_SERVICE, renderCicapConfig, renderClamdConfig, renderEngineDownPage, renderTooBigPage, renderVirusFoundPage } from "../constructs/file-sanitization";
import { renderSquidConfig, SQUID_LAYOUT, SquidLayout } from "../constructs/tenant-proxy";
import { effectiveAllowlist } from "../stacks/allowlist";
import { loadSample, tempDir, testWithTool, which } from "./helpers";
import { curl, freePort, handOver, makeCa, Processes, tearDown } from "./live-harness";

const live = testWithTool(["c-icap", "clamd", "squid", "curl", "openssl"], "c-icap libc-icap-mod-virus-scan clamav-daemon squid-openssl curl openssl", "file sanitization's live behaviour (clean pass, EICAR blocked, fail closed)");
const FILE_IP = "127.0.0.4";
const FILE_HOST = "files.slack.com";
// The EICAR anti-malware test file (https://www.eicar.org/download-anti-malware-testfile/): harmless by design.
const EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
/** A size limit small enough to test quickly; production takes breakout.sanitization.maxFileSizeMb. */
const TEST_LIMIT = 2 * 1048576;

/** Debian's architecture-specific c-icap modules directory on this machine. */
function localCicapModules(): string {
  const found = fs.readdirSync("/usr/lib").map((d) => path.join("/usr/lib", d, "c_icap")).find((d) => fs.existsSync(path.join(d, "virus_scan.so")));
  if (!found) throw new Error("c-icap's virus_scan.so was not found under /usr/lib/*/c_icap (apt-get install libc-icap-mod-virus-scan)");
  return found;
}

describe("file sanitization, live on the loopback", () => {
  const dir = tempDir("alpha-prime-sanitize-");
  const processes = new Processes();
  const servers: https.Server[] = [];
  const clean = randomBytes(1048576 + 12345); // binary, over a megabyte, odd size
  const big = randomBytes(TEST_LIMIT + 4096);
  let proxyPort = 0;
  let tlsPort = 0;
  let engine: EngineLayout;
  let cicap: ReturnType<Processes["start"]>;
  const config = loadSample("kaga");
  const allowlist = effectiveAllowlist(config);

  beforeAll(async () => {
    if (!which("c-icap") || !which("squid") || !which("clamd")) return;
    fs.chmodSync(dir, 0o755);
    makeCa(dir, "interception-ca", []);
    makeCa(dir, "origin-ca", [FILE_HOST]);
    fs.writeFileSync(path.join(dir, "interception.pem"), fs.readFileSync(path.join(dir, "interception-ca.crt"), "utf8") + fs.readFileSync(path.join(dir, "interception-ca.key"), "utf8"));
    tlsPort = await freePort();
    proxyPort = await freePort();
    engine = { ...ENGINE_LAYOUT, icapPort: await freePort(), clamdPort: await freePort(), cicapUser: "c-icap", clamavUser: "clamav", cicapModulesDir: localCicapModules() };
    for (const d of ["clamav-db", "clamav-log", "clamav-run", "cicap-log", "cicap-run", "cicap-tmp", "templates/virus_scan/en", "errors", "log"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
    engine = {
      ...engine,
      cicapTemplateDir: path.join(dir, "templates"),
      cicapLogDir: path.join(dir, "cicap-log"),
      cicapRunDir: path.join(dir, "cicap-run"),
      cicapTmpDir: path.join(dir, "cicap-tmp"),
      clamavDatabaseDir: path.join(dir, "clamav-db"),
      clamavLogDir: path.join(dir, "clamav-log"),
      clamavRunDir: path.join(dir, "clamav-run"),
    };

    // the signature database: one hash signature for the EICAR test file, written here (sigtool's .hdb format)
    fs.writeFileSync(path.join(dir, "clamav-db", "alpha-prime-test.hdb"), `${createHash("md5").update(EICAR).digest("hex")}:${Buffer.byteLength(EICAR)}:Eicar-Test-Signature\n`);
    const guidance = { guidance: "テスト用: 情報政策課に依頼してください / test: ask the information policy office" };
    fs.writeFileSync(path.join(dir, "templates/virus_scan/en/VIRUS_FOUND"), renderVirusFoundPage(guidance));
    for (const f of fs.readdirSync("/usr/share/squid/errors/templates")) fs.copyFileSync(path.join("/usr/share/squid/errors/templates", f), path.join(dir, "errors", f));
    fs.writeFileSync(path.join(dir, "errors", "ERR_ICAP_FAILURE"), renderEngineDownPage(guidance));
    fs.writeFileSync(path.join(dir, "errors", "ERR_TOO_BIG"), renderTooBigPage(guidance, TEST_LIMIT));
    fs.writeFileSync(path.join(dir, "clamd.conf"), renderClamdConfig({ maxFileSizeBytes: TEST_LIMIT, layout: engine }));
    fs.writeFileSync(path.join(dir, "c-icap.conf"), renderCicapConfig({ maxFileSizeBytes: TEST_LIMIT, layout: engine }));

    const server = https.createServer({ key: fs.readFileSync(path.join(dir, `${FILE_HOST}.key`)), cert: fs.readFileSync(path.join(dir, `${FILE_HOST}.crt`)) }, (req, res) => {
      const body = req.url === "/eicar.com" ? Buffer.from(EICAR) : req.url === "/big.bin" ? big : clean;
      res.setHeader("content-type", "application/octet-stream");
      res.setHeader("content-disposition", `attachment; filename="${path.basename(req.url ?? "x")}"`);
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(tlsPort, FILE_IP, resolve));
    servers.push(server);
    fs.writeFileSync(path.join(dir, "hosts"), `${FILE_IP} ${FILE_HOST}\n`);

    const layout: SquidLayout = { ...SQUID_LAYOUT, port: proxyPort, tlsPort, caFile: path.join(dir, "interception.pem"), certDb: path.join(dir, "ssl_db"), logDir: path.join(dir, "log"), pidFile: path.join(dir, "squid.pid"), coredumpDir: dir, errorDir: path.join(dir, "errors"), upstreamCaFile: path.join(dir, "origin-ca.crt") };
    const rendered = renderSquidConfig({
      municipality: config.id,
      clientCidrs: ["127.0.0.0/8"],
      allowedDomains: allowlist.domains,
      headerRules: allowlist.headerRules.map((r) => ({ label: r.saas, ...r })),
      sanitization: { hosts: allowlist.sanitization!.hosts, icapUrl: `icap://127.0.0.1:${engine.icapPort}/${ICAP_SERVICE}`, engine: "clamav", maxFileSizeBytes: TEST_LIMIT, largerFiles: "block" },
      layout,
    });
    fs.writeFileSync(path.join(dir, "squid.conf"), `${rendered}\nhosts_file ${path.join(dir, "hosts")}\n`);
    execFileSync(layout.certgen, ["-c", "-s", layout.certDb, "-M", "16MB"], { stdio: "pipe" });

    // each program drops root to its own user, as on the instance; all of them may read the temp directory
    handOver(dir, "proxy");
    for (const d of ["clamav-db", "clamav-log", "clamav-run"]) handOver(path.join(dir, d), "clamav");
    for (const d of ["cicap-log", "cicap-run", "cicap-tmp"]) handOver(path.join(dir, d), "c-icap");
    await processes.startListening("clamd", "clamd", ["-c", path.join(dir, "clamd.conf")], engine.clamdPort, 30000);
    cicap = await processes.startListening("c-icap", "c-icap", ["-N", "-f", path.join(dir, "c-icap.conf")], engine.icapPort, 15000);
    await processes.startListening("squid", "squid", ["-N", "-d", "1", "-f", path.join(dir, "squid.conf")], proxyPort, 15000);
  }, 90000);

  afterAll(() => tearDown(processes, servers, dir), 30000);

  const ca = () => path.join(dir, "interception-ca.crt");

  live("a clean file arrives byte-identical", async () => {
    const r = await curl(proxyPort, `https://${FILE_HOST}:${tlsPort}/report.pdf`, ca());
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(clean.length);
    expect(r.body.equals(clean)).toBe(true);
  });

  live("the EICAR test file is blocked with the block page, which names the file and what to do", async () => {
    const r = await curl(proxyPort, `https://${FILE_HOST}:${tlsPort}/eicar.com`, ca());
    expect(r.status).toBe(403);
    const page = r.body.toString("utf8");
    expect(page).not.toContain("EICAR-STANDARD-ANTIVIRUS-TEST-FILE");
    expect(page).toContain("ダウンロードを止めました / Download blocked");
    expect(page).toContain(`${FILE_HOST}:${tlsPort}/eicar.com`);
    expect(page).toContain("Eicar-Test-Signature");
    expect(page).toContain("情報政策課に依頼してください");
  });

  live("a file over the size limit is blocked with its own page", async () => {
    const r = await curl(proxyPort, `https://${FILE_HOST}:${tlsPort}/big.bin`, ca());
    expect(r.status).toBe(403);
    expect(r.body.toString("utf8")).toContain("無害化できる大きさ（2 MB）を超えています");
  });

  live("each verdict is logged with file name, host, size, engine and result", async () => {
    await new Promise((r) => setTimeout(r, 1000)); // log writers flush asynchronously
    // the engine's own log: URL (the file), the origin's file name for files that passed, exact size, engine, result
    const verdicts = fs.readFileSync(path.join(dir, "cicap-log", "verdicts.log"), "utf8");
    expect(verdicts).toMatch(new RegExp(`https://${FILE_HOST.replace(/\./g, "\\.")}:\\d+/eicar\\.com file=- bytes=${Buffer.byteLength(EICAR)} engine=clamav icap_status=200 infection=Type=0; Resolution=2; Threat=Eicar-Test-Signature`));
    expect(verdicts).toMatch(new RegExp(`/report\\.pdf file=attachment; filename="report\\.pdf" bytes=${clean.length} engine=clamav icap_status=200 infection=-`));
    // Squid's log of every sanitized transaction (any engine): host, URL, outcome and the engine's verdict
    const squidSide = fs.readFileSync(path.join(dir, "log", "sanitization.log"), "utf8");
    expect(squidSide).toMatch(/ files\.slack\.com https:\/\/files\.slack\.com:\d+\/eicar\.com .*engine=clamav outcome=ICAP_MOD icap_status=200 verdict=Type=0;%20Resolution=2;%20Threat=Eicar-Test-Signature/);
    expect(squidSide).toMatch(/\/report\.pdf file=attachment;%20filename=%22report\.pdf%22 .*outcome=ICAP_MOD .*verdict=-/);
  });

  live("with the engine stopped, downloads are blocked (fail closed), never passed unscanned", async () => {
    await processes.stop(cicap, 3000);
    const r = await curl(proxyPort, `https://${FILE_HOST}:${tlsPort}/report.pdf`, ca());
    expect(r.status).toBe(500);
    const page = r.body.toString("utf8");
    expect(page).toContain("無害化エンジンに接続できないため");
    expect(r.body.includes(clean.subarray(0, 64))).toBe(false);
    await new Promise((r2) => setTimeout(r2, 500));
    expect(fs.readFileSync(path.join(dir, "log", "sanitization.log"), "utf8")).toMatch(/report\.pdf .*outcome=ICAP_ERR/);
  });
});
