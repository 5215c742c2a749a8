/**
 * A hostile reviewer's attacks on 無害化 and テナント制限 (issues 23 and 26), live: Kaga's rendered configuration
 * (limit lowered to 2 MB so over-limit cases stay quick) on real Squid 5.7, c-icap and clamd on the loopback, one
 * stand shared by every case (see sanitizing-proxy.ts). Each test states what should happen; the ones that fail
 * show a way a file with the EICAR test string reaches the PC unscanned, or a request reaches Slack without the
 * tenant headers, or what a block page gives away. No product code is changed here.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";
import * as zlib from "zlib";
import { effectiveAllowlist } from "../stacks/allowlist";
import { testWithTool, which } from "./helpers";
import { acceptWebSocket, curl, tlsThroughProxy } from "./live-harness";
import { cleanFile, EICAR } from "./malware-samples";
import { CHAT_HOST, FILE_HOST, kagaWithLimit, SanitizingProxy, serve } from "./sanitizing-proxy";

const live = testWithTool(["c-icap", "c-icap-client", "clamd", "clamdscan", "squid", "curl", "openssl"], "c-icap libc-icap-mod-virus-scan clamav-daemon clamdscan squid-openssl curl openssl", "the attacks on file sanitization and tenant restriction");
const tools = () => ["c-icap", "c-icap-client", "clamd", "clamdscan", "squid"].every((t) => which(t));
/** allowlisted for Kaga (Zoom), neither bumped nor sanitized: the proxy splices it */
const SPLICED_HOST = "zoom.us";
const EICAR_TEXT = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE";

/** Everything a socket gives until it closes or `ms` pass (the attacker reads whatever comes). */
function drain(socket: net.Socket | tls.TLSSocket, ms: number): Promise<Buffer> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    const done = () => (clearTimeout(timer), socket.destroy(), resolve(buffer));
    const timer = setTimeout(done, ms);
    socket.on("data", (d: Buffer) => (buffer = Buffer.concat([buffer, d])));
    socket.once("close", done);
    socket.once("error", done);
  });
}

/** CONNECT `target` through the proxy; resolves to the raw socket once the proxy said 200. */
function connectThroughProxy(proxyPort: number, target: string, ms = 10_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const raw = net.connect(proxyPort, "127.0.0.1", () => raw.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    const timer = setTimeout(() => (raw.destroy(), reject(new Error(`CONNECT ${target} timed out`))), ms);
    raw.once("error", (e) => (clearTimeout(timer), reject(e)));
    raw.once("data", (d) => {
      clearTimeout(timer);
      if (!/^HTTP\/1\.1 200/.test(d.toString())) return raw.destroy(), reject(new Error(`CONNECT refused: ${d.toString().split("\r\n")[0]}`));
      resolve(raw);
    });
  });
}

/**
 * TLS over a CONNECT tunnel as a hostile PC's own tool does it: any SNI it likes, and it accepts whatever
 * certificate comes back (a PowerShell SslStream or curl -k does the same).
 */
function tlsAnyCertificate(socket: net.Socket, servername: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({ socket, servername, rejectUnauthorized: false }, () => resolve(t));
    t.once("error", reject);
  });
}

// ---- files in forms Windows 11 opens natively (Explorer: RAR and tar.zst through libarchive; Mount for VHD) ----

/** A RAR 4 archive with one stored (uncompressed) member (RARLAB's technote.txt, RAR 4.x format). */
function rar4Stored(name: string, data: Buffer): Buffer {
  const crc16 = (b: Buffer) => zlib.crc32(b) & 0xffff;
  const block = (body: Buffer) => {
    const crc = Buffer.alloc(2);
    crc.writeUInt16LE(crc16(body));
    return Buffer.concat([crc, body]);
  };
  const main = Buffer.alloc(11);
  main.writeUInt8(0x73, 0);
  main.writeUInt16LE(0, 1);
  main.writeUInt16LE(13, 3);
  const nameBytes = Buffer.from(name);
  const file = Buffer.alloc(30);
  file.writeUInt8(0x74, 0);
  file.writeUInt16LE(0x8000, 1); // LONG_BLOCK: data follows the header
  file.writeUInt16LE(32 + nameBytes.length, 3);
  file.writeUInt32LE(data.length, 5); // packed size
  file.writeUInt32LE(data.length, 9); // unpacked size
  file.writeUInt8(2, 13); // host OS: Windows
  file.writeUInt32LE(zlib.crc32(data), 14);
  file.writeUInt32LE(0x00210000, 18); // DOS time
  file.writeUInt8(29, 22); // version needed
  file.writeUInt8(0x30, 23); // method: store
  file.writeUInt16LE(nameBytes.length, 24);
  file.writeUInt32LE(0x20, 26); // archive attribute
  const end = Buffer.from([0x7b, 0x00, 0x40, 0x07, 0x00]);
  return Buffer.concat([Buffer.from("Rar!\x1a\x07\x00", "latin1"), block(main), block(Buffer.concat([file, nameBytes])), data, block(end)]);
}

/** A POSIX ustar archive with one member. */
function tar(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write("0", 156);
  h.write("ustar\0" + "00", 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  const body = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(body);
  return Buffer.concat([h, body, Buffer.alloc(1024)]);
}

/** A Zstandard frame (RFC 8878) holding `data` in raw (stored) blocks. */
function zstdStored(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3])]; // magic, no FCS, window 128 KiB
  for (let off = 0; off < data.length || off === 0; off += 65536) {
    const chunk = data.subarray(off, off + 65536);
    const last = off + 65536 >= data.length ? 1 : 0;
    const header = Buffer.alloc(3);
    header.writeUIntLE((chunk.length << 3) | last, 0, 3);
    parts.push(header, chunk);
    if (last) break;
  }
  return Buffer.concat(parts);
}

/** A fixed VHD (Microsoft's VHD format specification): an MBR disk with one FAT12 partition holding one file. */
function vhdWithFile(name83: string, data: Buffer): Buffer {
  const total = 2048;
  const start = 1;
  const size = total - start;
  const sectorsPerFat = 6;
  const boot = Buffer.alloc(512);
  Buffer.from([0xeb, 0x3c, 0x90]).copy(boot, 0);
  boot.write("MSDOS5.0", 3);
  boot.writeUInt16LE(512, 11);
  boot.writeUInt8(1, 13); // sectors per cluster
  boot.writeUInt16LE(1, 14); // reserved sectors
  boot.writeUInt8(2, 16); // FATs
  boot.writeUInt16LE(16, 17); // root entries
  boot.writeUInt16LE(size, 19);
  boot.writeUInt8(0xf8, 21);
  boot.writeUInt16LE(sectorsPerFat, 22);
  boot.writeUInt16LE(32, 24);
  boot.writeUInt16LE(2, 26);
  boot.writeUInt32LE(start, 28);
  boot.writeUInt8(0x29, 38);
  boot.writeUInt32LE(0x12345678, 39);
  boot.write("NO NAME    FAT12   ", 43);
  boot.writeUInt16LE(0xaa55, 510);
  const fat = Buffer.alloc(sectorsPerFat * 512);
  Buffer.from([0xf8, 0xff, 0xff, 0xff, 0x0f]).copy(fat); // media, reserved, cluster 2 = end of chain
  const root = Buffer.alloc(512);
  const [base, ext] = name83.split(".");
  root.write(base.padEnd(8) + ext.padEnd(3), 0);
  root.writeUInt8(0x20, 11);
  root.writeUInt16LE(0x5021, 24);
  root.writeUInt16LE(2, 26);
  root.writeUInt32LE(data.length, 28);
  const volume = Buffer.alloc(size * 512);
  Buffer.concat([boot, fat, fat, root, data]).copy(volume);
  const mbr = Buffer.alloc(512);
  mbr.writeUInt8(0x01, 446 + 4); // FAT12
  mbr.writeUInt32LE(start, 446 + 8);
  mbr.writeUInt32LE(size, 446 + 12);
  mbr.writeUInt16LE(0xaa55, 510);
  const disk = Buffer.concat([mbr, volume]);
  const footer = Buffer.alloc(512);
  footer.write("conectix", 0);
  footer.writeUInt32BE(2, 8);
  footer.writeUInt32BE(0x00010000, 12);
  footer.writeBigUInt64BE(0xffffffffffffffffn, 16);
  footer.write("ap  ", 28);
  footer.write("Wi2k", 36);
  footer.writeBigUInt64BE(BigInt(disk.length), 40);
  footer.writeBigUInt64BE(BigInt(disk.length), 48);
  footer.writeUInt16BE(Math.floor(disk.length / (16 * 63 * 512)), 56);
  footer.writeUInt8(16, 58);
  footer.writeUInt8(63, 59);
  footer.writeUInt32BE(2, 60); // fixed disk
  let sum = 0;
  for (const b of footer) sum += b;
  footer.writeUInt32BE(~sum >>> 0, 64);
  return Buffer.concat([disk, footer]);
}

describe("attacks on 無害化 and テナント制限, live on the loopback (Kaga's rendered configuration)", () => {
  let stand: SanitizingProxy;
  let ca: Buffer;
  const slackHeader = () => effectiveAllowlist(stand.config).headerRules.find((h) => h.name === "X-Slack-Allowed-Workspaces")!;
  const seenAt = (url: string) => stand.seen.filter((s) => s.url === url);

  beforeAll(async () => {
    if (!tools()) return;
    stand = await SanitizingProxy.create(kagaWithLimit(2));
    const r = stand.routes;
    r.set("/eicar.com", serve(EICAR, { headers: { "content-disposition": 'attachment; filename="eicar.com"' } }));
    r.set("/echo", (req, res) => {
      const body = JSON.stringify(req.headers);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
    // the coding says gzip, the body is zlib (RFC 1950): what curl (also Windows' curl.exe) unpacks anyway
    r.set("/zlib-labelled-gzip.com", serve(zlib.deflateSync(EICAR), { headers: { "content-encoding": "gzip" } }));
    r.set("/invoice.rar", serve(rar4Stored("invoice.exe", EICAR)));
    r.set("/invoice.tar.zst", serve(zstdStored(tar("invoice.exe", EICAR))));
    r.set("/disk.vhd", serve(vhdWithFile("INVOICE.COM", EICAR)));
    r.set("/over-limit-chunked.bin", serve(() => cleanFile(stand.limit + 1, 9), { chunked: true }));
    r.set("/leak-canary-kyuyo.exe", serve(EICAR, { headers: { "content-disposition": 'attachment; filename="leak-canary.exe"' } }));
    // the origin's WebSocket endpoint as before, plus one on the file host that sends a file after its 101
    const server = stand.servers[0];
    server.removeAllListeners("upgrade");
    server.on("upgrade", (req, socket) => {
      stand.upgrades.push({ host: req.headers.host, url: req.url, headers: req.headers });
      if (req.url !== "/ws-file") return acceptWebSocket(req, socket);
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n");
      socket.write(EICAR);
      setTimeout(() => socket.end(), 200);
    });
    await stand.startClamd();
    await stand.startCicap();
    await stand.startSquid();
    ca = fs.readFileSync(path.join(stand.dir, "interception-ca.crt"));
  }, 180_000);

  afterAll(() => stand?.close(), 30_000);

  live("baseline: the EICAR file asked for the ordinary way is blocked", async () => {
    const r = await stand.get("/eicar.com");
    expect(r.status).toBe(403);
    expect(r.body.includes(EICAR)).toBe(false);
  });

  describe("the proxy's own decisions can be walked around", () => {
    // Squid turns a CONNECT received *inside* a bumped connection into a raw tunnel over the connection it opened
    // to the origin: what the PC then writes goes to the file server as is, and the answer comes back as is, with
    // no ICAP, no Range or coding rules and no tenant header. The SNI and the CONNECT host are both honest here.
    live("a CONNECT sent inside the bumped connection to files.slack.com gets no raw tunnel: EICAR does not arrive", async () => {
      const t = await tlsThroughProxy(stand.proxyPort, `${FILE_HOST}:${stand.tlsPort}`, FILE_HOST, ca);
      t.write(`CONNECT ${FILE_HOST}:${stand.tlsPort} HTTP/1.1\r\nHost: ${FILE_HOST}:${stand.tlsPort}\r\n\r\n`);
      setTimeout(() => t.write(`GET /eicar.com HTTP/1.1\r\nHost: ${FILE_HOST}:${stand.tlsPort}\r\nConnection: close\r\n\r\n`), 1000);
      const got = await drain(t, 6000);
      expect(got.toString("latin1")).not.toContain(EICAR_TEXT);
    }, 30_000);

    live("a CONNECT sent inside a bumped Slack connection never lets a request reach Slack without the tenant headers", async () => {
      const url = `/echo?inner-connect=${process.pid}`;
      const t = await tlsThroughProxy(stand.proxyPort, `${CHAT_HOST}:${stand.tlsPort}`, CHAT_HOST, ca);
      t.write(`CONNECT ${CHAT_HOST}:${stand.tlsPort} HTTP/1.1\r\nHost: ${CHAT_HOST}:${stand.tlsPort}\r\n\r\n`);
      setTimeout(() => t.write(`GET ${url} HTTP/1.1\r\nHost: ${CHAT_HOST}:${stand.tlsPort}\r\nX-Slack-Allowed-Workspaces: TOTHERCO\r\nConnection: close\r\n\r\n`), 1000);
      await drain(t, 6000);
      for (const s of seenAt(url)) expect(s.headers["x-slack-allowed-workspaces"]).toBe(slackHeader().value);
    }, 30_000);

    // Squid decides bump or splice by the SNI, but connects to the CONNECT host: an SNI of any spliced allowlisted
    // name (here zoom.us; at Slack, say, a *.slack-edge.com name) opens a raw TLS connection to the file host.
    live("CONNECT files.slack.com with the SNI of a spliced allowlisted host is refused, not spliced to the file host", async () => {
      const raw = await connectThroughProxy(stand.proxyPort, `${FILE_HOST}:${stand.tlsPort}`).catch(() => undefined);
      if (!raw) return; // refused: what should happen
      const t = await tlsAnyCertificate(raw, SPLICED_HOST).catch(() => undefined);
      if (!t) return;
      t.write(`GET /eicar.com HTTP/1.1\r\nHost: ${FILE_HOST}:${stand.tlsPort}\r\nConnection: close\r\n\r\n`);
      const got = await drain(t, 6000);
      expect(got.toString("latin1")).not.toContain(EICAR_TEXT);
    }, 30_000);

    live("CONNECT app.slack.com with the SNI of a spliced allowlisted host never reaches Slack without the tenant headers", async () => {
      const url = `/echo?sni-splice=${process.pid}`;
      const raw = await connectThroughProxy(stand.proxyPort, `${CHAT_HOST}:${stand.tlsPort}`).catch(() => undefined);
      const t = raw && (await tlsAnyCertificate(raw, SPLICED_HOST).catch(() => undefined));
      if (t) {
        t.write(`GET ${url} HTTP/1.1\r\nHost: ${CHAT_HOST}:${stand.tlsPort}\r\nX-Slack-Allowed-Workspaces: TOTHERCO\r\nConnection: close\r\n\r\n`);
        await drain(t, 6000);
      }
      for (const s of seenAt(url)) expect(s.headers["x-slack-allowed-workspaces"]).toBe(slackHeader().value);
    }, 30_000);

    // http_upgrade_request_protocols allows WebSocket on every host, the file hosts included: after a 101 the
    // proxy only relays bytes, and nothing of them passes the engine.
    live("bytes after a WebSocket 101 from a sanitized file host do not reach the PC unscanned", async () => {
      const t = await tlsThroughProxy(stand.proxyPort, `${FILE_HOST}:${stand.tlsPort}`, FILE_HOST, ca);
      t.write(`GET /ws-file HTTP/1.1\r\nHost: ${FILE_HOST}:${stand.tlsPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      const got = await drain(t, 5000);
      expect(got.toString("latin1")).not.toContain(EICAR_TEXT);
    }, 30_000);
  });

  describe("what the engine does not unpack reaches the PC (README: archives incl. rar, and disk images, are scanned)", () => {
    // Debian's clamav has no RAR support (libclamunrar is in non-free, and the cloud-config does not install it):
    // clamd logs "unrar support unavailable" and answers OK. Windows 11 opens RAR natively.
    live("EICAR in a RAR archive is blocked", async () => {
      const r = await stand.get("/invoice.rar");
      expect([r.status, r.body.includes(EICAR)]).toEqual([403, false]);
    });

    // ClamAV 1.4 has no zstd support; Windows 11 opens .tar.zst natively.
    live("EICAR in a .tar.zst archive is blocked", async () => {
      const r = await stand.get("/invoice.tar.zst");
      expect(r.status).toBe(403);
    });

    // ClamAV parses neither VHD nor FAT; Windows mounts a .vhd on a double click.
    live("EICAR in a file on a FAT volume inside a VHD disk image is blocked", async () => {
      const r = await stand.get("/disk.vhd");
      expect(r.status).toBe(403);
    });

    // Origin-controlled: the engine sees a zlib stream it does not unpack; curl --compressed unpacks it as "gzip".
    live("a reply labelled Content-Encoding: gzip whose body is zlib does not hand the PC an EICAR it can unpack", async () => {
      const r = await stand.get("/zlib-labelled-gzip.com");
      const unpacked = r.status === 200 ? zlib.unzipSync(r.body) : Buffer.alloc(0); // zlib's automatic header detection, as curl's
      expect(unpacked.includes(EICAR)).toBe(false);
    });
  });

  describe("block pages", () => {
    // c-icap's page for a chunked download over the limit starts with ~4 KB of a reused buffer: NUL bytes and, when
    // the same thread blocked something before, the whole block page of that earlier download (another PC's URL,
    // file name and detection).
    live("the page for a chunked download over the limit carries that page only: no stale memory, no other download's page", async () => {
      const canary = await stand.get("/leak-canary-kyuyo.exe");
      expect(canary.status).toBe(403);
      const pages = [];
      for (let i = 0; i < 4; i++) pages.push(await stand.get("/over-limit-chunked.bin", [], 60));
      for (const p of pages) {
        expect(p.status).not.toBe(200);
        expect(p.body.includes(0)).toBe(false);
        expect(p.body.toString("utf8")).not.toContain("leak-canary");
        expect(p.body.toString("utf8").split("<!DOCTYPE html>").length).toBe(2);
      }
    }, 120_000);
  });

  describe("tenant headers", () => {
    // Squid removes X-Slack-Allowed-Workspaces by name; a server that maps header names CGI-style
    // (HTTP_X_SLACK_ALLOWED_WORKSPACES: PHP, WSGI, IIS server variables) reads this one as the same header.
    live("a client's X_Slack_Allowed_Workspaces (underscores) does not reach Slack beside the real header", async () => {
      const r = await curl(stand.proxyPort, `https://${CHAT_HOST}:${stand.tlsPort}/echo`, path.join(stand.dir, "interception-ca.crt"), ["X_Slack_Allowed_Workspaces: TOTHERCO"]);
      expect(r.status).toBe(200);
      const headers = JSON.parse(r.body.toString()) as Record<string, string>;
      expect(headers["x-slack-allowed-workspaces"]).toBe(slackHeader().value);
      expect(Object.keys(headers).filter((k) => k.replace(/_/g, "-") === "x-slack-allowed-workspaces")).toEqual(["x-slack-allowed-workspaces"]);
    });
  });
});
