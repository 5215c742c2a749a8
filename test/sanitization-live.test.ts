/**
 * 無害化 as it will run, tried the way staff would use it and the way a curious member of staff would get around it:
 * Kaga's rendered configuration (its limit lowered to 12 MB in the YAML so the tests stay quick) on real Squid 5.7,
 * c-icap and clamd on the loopback (see sanitizing-proxy.ts). Ordinary files pass whole, one at a time and in
 * parallel, with and without a Content-Length; malware is blocked inside documents, archives and codings; no
 * framing, range, coding, host name or engine state lets a file reach the PC unscanned.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { effectiveAllowlist } from "../stacks/allowlist";
import { testWithTool, which } from "./helpers";
import { exchange, tlsThroughProxy, webSocketThroughProxy } from "./live-harness";
import { cleanFile, EICAR, officeDocumentWithEicar, pdfWithEicar, zip } from "./malware-samples";
import { CHAT_HOST, FILE_HOST, kagaWithLimit, SanitizingProxy, serve, WS_HOST } from "./sanitizing-proxy";

const live = testWithTool(["c-icap", "c-icap-client", "clamd", "clamdscan", "squid", "curl", "openssl"], "c-icap libc-icap-mod-virus-scan clamav-daemon clamdscan squid-openssl curl openssl", "file sanitization's live behaviour");
const tools = () => ["c-icap", "c-icap-client", "clamd", "clamdscan", "squid"].every((t) => which(t));
const LIMIT_MB = 12;
const MB10 = 10 * 1000 * 1000;
/** A zip holding EICAR: what the engine finds wherever it sits in a download, as it would find a real sample. */
const EICAR_ZIP = zip({ "請求書.exe": EICAR });

describe("file sanitization, live on the loopback (Kaga's rendered configuration)", () => {
  let stand: SanitizingProxy;
  const clean = cleanFile(1048576 + 12345, 1);

  beforeAll(async () => {
    if (!tools()) return;
    stand = await SanitizingProxy.create(kagaWithLimit(LIMIT_MB));
    const r = stand.routes;
    const limit = stand.limit;
    r.set("/report.pdf", serve(clean, { headers: { "content-disposition": 'attachment; filename="report.pdf"', "accept-ranges": "bytes" } }));
    r.set("/eicar.com", serve(EICAR));
    r.set("/big.bin", serve(cleanFile(limit + 1, 2)));
    r.set("/at-limit.bin", serve(cleanFile(limit, 3)));
    r.set("/at-limit-chunked.bin", serve(cleanFile(limit, 4), { chunked: true }));
    r.set("/ten-mb.bin", serve(() => cleanFile(MB10, 5)));
    r.set("/ten-mb-chunked.bin", serve(() => cleanFile(MB10, 6), { chunked: true }));
    for (let i = 0; i < 4; i++) r.set(`/parallel-${i}.bin`, serve(cleanFile(MB10, 10 + i), { chunked: i % 2 === 1 }));
    // OneDrive's "download as zip" is streamed like this: no Content-Length, and here larger than the limit
    r.set("/over-limit-chunked.zip", serve(Buffer.concat([EICAR_ZIP, cleanFile(limit + 65536, 7)]), { chunked: true }));
    r.set("/eicar-chunked.zip", serve(EICAR_ZIP, { chunked: true }));
    r.set("/minutes.docx", serve(officeDocumentWithEicar()));
    r.set("/report-eicar.pdf", serve(pdfWithEicar()));
    r.set("/eicar.gz", serve(zlib.gzipSync(EICAR), { headers: { "content-encoding": "gzip" } }));
    // small on the wire, larger than the limit unpacked, the sample at the start: the engine must not skip it
    r.set("/bomb.gz", serve(zlib.gzipSync(Buffer.concat([EICAR_ZIP, Buffer.alloc(limit + 1048576)])), { headers: { "content-encoding": "gzip" } }));
    r.set("/over-limit.deflate", serve(zlib.deflateSync(Buffer.concat([EICAR_ZIP, textLike(limit + 1048576)])), { headers: { "content-encoding": "deflate" } }));
    r.set("/notes.br", serve(zlib.brotliCompressSync(textLike(200_000)), { headers: { "content-encoding": "br" } }));
    r.set("/eicar.zst", serve(Buffer.from(EICAR_ZIP.map((b) => b ^ 0x5a)), { headers: { "content-encoding": "zstd" } }));
    r.set("/ranged.com", (req, res) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ""));
      if (!m) return serve(EICAR, { headers: { "accept-ranges": "bytes" } })(req, res);
      const part = EICAR.subarray(Number(m[1]), Number(m[2]) + 1);
      res.writeHead(206, { "content-range": `bytes ${m[1]}-${m[2]}/${EICAR.length}`, "content-length": part.length, "accept-ranges": "bytes" });
      res.end(part);
    });
    r.set("/always-206.com", (_req, res) => {
      res.writeHead(206, { "content-range": `bytes 0-39/${EICAR.length}`, "content-length": 40 });
      res.end(EICAR.subarray(0, 40));
    });
    r.set("/echo", (req, res) => {
      const body = JSON.stringify(req.headers);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
    await stand.startClamd();
    await stand.startCicap();
    await stand.startSquid();
  }, 120_000);

  afterAll(() => stand?.close(), 30_000);

  const page = (r: { body: Buffer }) => r.body.toString("utf8");

  live("a clean file arrives byte-identical", async () => {
    const r = await stand.get("/report.pdf");
    expect(r.status).toBe(200);
    expect(r.body.equals(clean)).toBe(true);
  });

  live("the EICAR test file is blocked with the block page, which names the file and what to do", async () => {
    const r = await stand.get("/eicar.com");
    expect(r.status).toBe(403);
    expect(page(r)).not.toContain("EICAR-STANDARD-ANTIVIRUS-TEST-FILE");
    expect(page(r)).toContain("ダウンロードを止めました / Download blocked");
    expect(page(r)).toContain(`${FILE_HOST}:${stand.tlsPort}/eicar.com`);
    expect(page(r)).toContain("Eicar-Test-Signature");
    expect(page(r)).toContain("情報政策課に依頼してください");
  });

  describe("every document type that carries malware is scanned", () => {
    live("EICAR inside an Office (OOXML zip) document is blocked", async () => {
      const r = await stand.get("/minutes.docx");
      expect(r.status).toBe(403);
      expect(page(r)).toContain("Eicar-Test-Signature");
    });

    live("EICAR inside a PDF (an embedded file in a compressed stream) is blocked", async () => {
      const r = await stand.get("/report-eicar.pdf");
      expect(r.status).toBe(403);
      expect(page(r)).toContain("Eicar-Test-Signature");
    });
  });

  describe("large files pass whole, one at a time and in parallel (Squid Bug 5352 and c-icap's early answer no longer stall them)", () => {
    live("a clean 10 MB file with a Content-Length arrives whole", async () => {
      const r = await stand.get("/ten-mb.bin", [], 90);
      expect(r.status).toBe(200);
      expect(r.body.equals(cleanFile(MB10, 5))).toBe(true);
    }, 100_000);

    live("a clean 10 MB file sent chunked (no Content-Length) arrives whole", async () => {
      const r = await stand.get("/ten-mb-chunked.bin", [], 90);
      expect(r.status).toBe(200);
      expect(r.body.equals(cleanFile(MB10, 6))).toBe(true);
    }, 100_000);

    live("a file of exactly the municipality's limit arrives, with a Content-Length and chunked", async () => {
      const [a, b] = await Promise.all([stand.get("/at-limit.bin", [], 90), stand.get("/at-limit-chunked.bin", [], 90)]);
      expect([a.status, a.body.length, b.status, b.body.length]).toEqual([200, stand.limit, 200, stand.limit]);
      expect(a.body.equals(cleanFile(stand.limit, 3))).toBe(true);
      expect(b.body.equals(cleanFile(stand.limit, 4))).toBe(true);
    }, 100_000);

    live("four clean 10 MB downloads in parallel (two chunked) all arrive whole", async () => {
      const rs = await Promise.all([0, 1, 2, 3].map((i) => stand.get(`/parallel-${i}.bin`, [], 150)));
      expect(rs.map((r) => [r.status, r.body.length])).toEqual([0, 1, 2, 3].map(() => [200, MB10]));
      rs.forEach((r, i) => expect(r.body.equals(cleanFile(MB10, 10 + i))).toBe(true));
    }, 160_000);
  });

  describe("size: over the limit is blocked before the first byte, whatever the framing", () => {
    live("a file that declares more than the limit is blocked with its own page", async () => {
      const r = await stand.get("/big.bin");
      expect(r.status).toBe(403);
      expect(page(r)).toContain(`無害化できる大きさ（${LIMIT_MB} MB）を超えています`);
    });

    live("a chunked download over the limit with malware in its first kilobytes is blocked whole: no byte of it reaches the PC", async () => {
      const r = await stand.get("/over-limit-chunked.zip", [], 90);
      expect(r.status).toBe(500);
      expect(page(r)).toContain("無害化エンジンで検査できなかったため");
      expect(page(r)).toContain(`上限 ${LIMIT_MB} MB`);
      expect(r.body.includes(EICAR_ZIP.subarray(0, 30))).toBe(false);
      expect(r.body.length).toBeLessThan(20_000);
    }, 100_000);

    live("a chunked download under the limit is scanned whole like any other", async () => {
      const r = await stand.get("/eicar-chunked.zip");
      expect(r.status).toBe(403);
      expect(page(r)).toContain("Eicar-Test-Signature");
    });
  });

  describe("codings: what the PC would unpack, the engine unpacks first, or the download is refused", () => {
    live("EICAR sent with Content-Encoding: gzip is blocked", async () => {
      const r = await stand.get("/eicar.gz");
      expect(r.status).toBe(403);
      expect(page(r)).toContain("Eicar-Test-Signature");
    });

    live("a gzip coding that unpacks past the limit is blocked (the engine's own limits alert), not passed unscanned", async () => {
      const r = await stand.get("/bomb.gz", [], 60);
      expect(r.status).toBe(403);
      expect(page(r)).toMatch(/Heuristics\.Limits\.Exceeded|Eicar-Test-Signature/);
    }, 70_000);

    live("deflate (here unpacking past the limit, which c-icap would pass unscanned), br and codings nothing unpacks are refused with the unscannable page", async () => {
      for (const p of ["/over-limit.deflate", "/notes.br", "/eicar.zst"]) {
        const r = await stand.get(p, [], 60);
        expect([p, r.status]).toEqual([p, 403]);
        expect(page(r)).toContain("検査できず端末に届けていません");
      }
    }, 70_000);

    live("the origin is asked for gzip only, whatever the browser offered", async () => {
      const r = await stand.get("/echo", ["Accept-Encoding: zstd, br, deflate"]);
      expect(JSON.parse(r.body.toString())["accept-encoding"]).toBe("gzip");
    });
  });

  describe("ranges: a file cannot be fetched past the engine in pieces", () => {
    live("the two halves of the EICAR file asked for as ranges are each blocked: the origin is asked for the whole file", async () => {
      const before = stand.seen.length;
      for (const range of ["bytes=0-39", `bytes=40-${EICAR.length - 1}`]) {
        const r = await stand.get("/ranged.com", [`Range: ${range}`, "If-Range: *"]);
        expect([range, r.status]).toEqual([range, 403]);
        expect(page(r)).toContain("Eicar-Test-Signature");
      }
      expect(stand.seen.slice(before).map((s) => [s.headers.range, s.headers["if-range"]])).toEqual([
        [undefined, undefined],
        [undefined, undefined],
      ]);
    });

    live("a partial reply (206) the origin sends anyway is refused", async () => {
      const r = await stand.get("/always-206.com");
      expect(r.status).toBe(403);
      expect(page(r)).toContain("検査できず端末に届けていません");
      expect(r.body.includes(EICAR.subarray(0, 40))).toBe(false);
    });

    live("a clean file asked for as a range arrives whole (the range is not honoured), and ranges are not advertised", async () => {
      const r = await stand.get("/report.pdf", ["Range: bytes=0-99"]);
      expect(r.status).toBe(200);
      expect(r.body.equals(clean)).toBe(true);
      expect(r.stderr).not.toMatch(/^< Accept-Ranges/im);
    });
  });

  describe("host names: a file host's connection carries requests for that host only", () => {
    // Slack's certificate names every Slack host, so Squid's own certificate check lets this through: the request
    // reached the file server under a name that is not sanitized, and the file was delivered unscanned.
    live("fronting on a bumped host: a request for another Slack host on the file host's connection is refused", async () => {
      const ca = fs.readFileSync(path.join(stand.dir, "interception-ca.crt"));
      const before = stand.seen.length;
      const asks = (p: string, host: string) => `GET ${p} HTTP/1.1\r\nHost: ${host}:${stand.tlsPort}\r\n\r\n`;
      const [fronted] = await exchange(await tlsThroughProxy(stand.proxyPort, `${FILE_HOST}:${stand.tlsPort}`, FILE_HOST, ca), [asks("/eicar.com", CHAT_HOST)]);
      expect(fronted.status).toBe(403);
      expect(fronted.body.includes(EICAR)).toBe(false);
      // a connection that asked for its own host first, then for another one
      const [own, later] = await exchange(await tlsThroughProxy(stand.proxyPort, `${FILE_HOST}:${stand.tlsPort}`, FILE_HOST, ca), [asks("/echo", FILE_HOST), asks("/eicar.com", CHAT_HOST)]);
      expect([own.status, later.status]).toEqual([200, 403]);
      expect(later.body.includes(EICAR)).toBe(false);
      expect(stand.seen.slice(before).map((s) => [s.host, s.url])).toEqual([[`${FILE_HOST}:${stand.tlsPort}`, "/echo"]]);
    });

    live("a WebSocket upgrade on Slack's WebSocket host passes and keeps the tenant header", async () => {
      const ca = fs.readFileSync(path.join(stand.dir, "interception-ca.crt"));
      const reply = await webSocketThroughProxy(stand.proxyPort, WS_HOST, stand.tlsPort, ca);
      expect(reply.status).toMatch(/^HTTP\/1\.1 101 /);
      expect(reply.echo).toBe("ping-through-squid");
      const slack = effectiveAllowlist(stand.config).headerRules.find((h) => h.name === "X-Slack-Allowed-Workspaces")!;
      expect(stand.upgrades.at(-1)?.headers["x-slack-allowed-workspaces"]).toBe(slack.value);
    });
  });

  live("each verdict is logged with file name, host, size, engine and result", async () => {
    await new Promise((r) => setTimeout(r, 1000)); // log writers flush asynchronously
    // the engine's own log: URL (the file), the origin's file name for files that passed, exact size, engine, result
    const verdicts = stand.read("cicap-log/verdicts.log");
    expect(verdicts).toMatch(new RegExp(`https://${FILE_HOST.replace(/\./g, "\\.")}:\\d+/eicar\\.com file=- bytes=${EICAR.length} engine=clamav icap_status=200 infection=Type=0; Resolution=2; Threat=Eicar-Test-Signature`));
    expect(verdicts).toMatch(new RegExp(`/report\\.pdf file=attachment; filename="report\\.pdf" bytes=${clean.length} engine=clamav icap_status=200 infection=-`));
    // Squid's log of every sanitized transaction (any engine): host, URL, outcome and the engine's verdict
    const squidSide = stand.read("log/sanitization.log");
    expect(squidSide).toMatch(/ files\.slack\.com https:\/\/files\.slack\.com:\d+\/eicar\.com .*engine=clamav outcome=ICAP_MOD icap_status=200 verdict=Type=0;%20Resolution=2;%20Threat=Eicar-Test-Signature/);
    expect(squidSide).toMatch(/\/report\.pdf file=attachment;%20filename=%22report\.pdf%22 .*outcome=ICAP_MOD .*verdict=-/);
  });

  live("Squid reports no configuration error while serving", () => {
    expect(stand.read("log/cache.log").split("\n").filter((l) => /ERROR|FATAL/.test(l) && !/ICAP/.test(l))).toEqual([]);
  });

  describe("engine states: reloading, stopped", () => {
    live("while clamd reloads its signatures, files are still scanned", async () => {
      const reload = stand.run(["clamdscan", `--config-file=${stand.engine.clamdConfigFile}`, "--reload"], 30_000);
      const [bad, good] = await Promise.all([stand.get("/eicar.com"), stand.get("/report.pdf")]);
      expect((await reload).code).toBe(0);
      expect([bad.status, good.status]).toEqual([403, 200]);
      expect(good.body.equals(clean)).toBe(true);
    }, 60_000);

    live("the engine check passes while the engine blocks EICAR", async () => {
      expect(await stand.run([stand.engine.engineCheckProgram], 60_000)).toEqual({ code: 0, out: "engine check passed (icap)\n" });
    }, 70_000);

    live("with clamd stopped, a download gets the engine page (never a 200 with a cut connection), and the engine check fails", async () => {
      await stand.stop("clamd");
      const r = await stand.get("/report.pdf");
      expect(r.status).toBe(500);
      expect(page(r)).toContain("無害化エンジンで検査できなかったため");
      expect(r.body.includes(clean.subarray(0, 64))).toBe(false);
      const check = await stand.run([stand.engine.engineCheckProgram], 60_000);
      expect(check.code).toBe(1);
      expect(check.out).toMatch(/engine check FAILED \(icap\): c-icap did not block the EICAR test file \((ICAP\/1\.0 |status: )500/);
      expect(stand.read("log/engine-check.log")).toMatch(/engine check FAILED/);
    }, 70_000);

    live("with c-icap stopped too, downloads are still blocked (fail closed), never passed unscanned", async () => {
      await stand.stop("c-icap");
      const r = await stand.get("/report.pdf");
      expect(r.status).toBe(500);
      expect(page(r)).toContain("無害化エンジンで検査できなかったため");
      expect(r.body.includes(clean.subarray(0, 64))).toBe(false);
      await new Promise((r2) => setTimeout(r2, 500));
      expect(stand.read("log/sanitization.log")).toMatch(/report\.pdf .*outcome=ICAP_ERR/);
    });
  });
});

/**
 * A reboot or a package upgrade can start c-icap before clamd answers. c-icap then registers no engine and lets
 * every file through ("allow 204"), for good. The rendered systemd drop-ins keep Squid from taking traffic and c-icap
 * from serving until the engine blocks EICAR; here their commands run in the order systemd runs them.
 */
describe("the engine starting after the proxy: no traffic until the engine answers a real scan", () => {
  let stand: SanitizingProxy;

  beforeAll(async () => {
    if (!tools()) return;
    stand = await SanitizingProxy.create(kagaWithLimit(LIMIT_MB));
    stand.routes.set("/eicar.com", serve(EICAR));
    stand.routes.set("/report.pdf", serve(cleanFile(300_000, 20)));
  }, 60_000);

  afterAll(() => stand?.close(), 30_000);

  live("c-icap started before clamd answers passes files unscanned, the check says so, and Squid's start waits until the engine scans", async () => {
    await stand.startCicap(); // as a package install or a crash restart could: clamd is not up
    const check = await stand.run([stand.engine.engineCheckProgram], 60_000);
    expect(check.code).toBe(1);
    expect(check.out).toMatch(/c-icap did not block the EICAR test file \((ICAP\/1\.0 |status: )204\b.*\): files would not be scanned/);

    // squid.service's ExecStartPre, as rendered (it waits up to 900 s): still waiting after a few seconds
    const squidGate = stand.run(stand.unitCommand("squid.service.d/alpha-prime.conf", "ExecStartPre"), 120_000);
    let gateDone = false;
    void squidGate.then(() => (gateDone = true));
    await new Promise((r) => setTimeout(r, 5000));
    expect(gateDone).toBe(false);

    // clamd comes up; c-icap restarts through its own gate: ExecStartPre (clamd blocks EICAR), start, ExecStartPost
    await stand.startClamd();
    expect((await stand.run(stand.unitCommand("c-icap.service.d/alpha-prime.conf", "ExecStartPre"), 90_000)).code).toBe(0);
    await stand.stop("c-icap");
    await stand.startCicap();
    expect((await stand.run(stand.unitCommand("c-icap.service.d/alpha-prime.conf", "ExecStartPost"), 90_000)).code).toBe(0);

    // the waiting Squid gate now passes, and the proxy that starts after it blocks EICAR
    expect((await squidGate).code).toBe(0);
    await stand.startSquid();
    const [bad, good] = await Promise.all([stand.get("/eicar.com"), stand.get("/report.pdf")]);
    expect([bad.status, good.status]).toEqual([403, 200]);
  }, 240_000);
});

/** Text-like bytes that compress about 3:1 as documents do (far below the 100:1 at which c-icap calls a coding a bomb). */
function textLike(size: number): Buffer {
  let x = 2463534242;
  const next = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x >>> 0);
  const words = Array.from({ length: 4096 }, () => next().toString(36).slice(0, 2 + (next() % 7)));
  const out: string[] = [];
  let n = 0;
  while (n < size) {
    const w = words[next() % words.length];
    out.push(w);
    n += w.length + 1;
  }
  return Buffer.from(out.join(" ")).subarray(0, size);
}
