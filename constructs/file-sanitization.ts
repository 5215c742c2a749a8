/**
 * File sanitization (無害化) on the proxy tier: the configuration of the built-in engine (c-icap with its
 * virus_scan service talking to clamd) and the pages staff see when a download is stopped. The proxy construct
 * wires it into Squid (ICAP RESPMOD, fail closed); this file only renders text, so tests can run the real programs
 * on exactly what the instances get.
 *
 * What each engine does, plainly: ClamAV *detects* known malware by signature and the download is blocked; it
 * does not make a document safe. A CDR engine (content disarm and reconstruction, e.g. FastSanitizer, Votiro,
 * OPSWAT MetaDefender) *rebuilds* the file without active content and passes the rebuilt copy; reach one with an
 * external ICAP/ICAPS URL.
 *
 * Debian 12 packages (the versions the tests run): c-icap 0.5.10, libc-icap-mod-virus-scan 0.5.5 (virus_scan.so,
 * clamd_mod.so), clamav-daemon 1.4. Directive references: c-icap's c-icap.conf and virus_scan.conf comments,
 * clamd.conf(5), freshclam.conf(5).
 */

/** Where the engine's files are. Production values are the defaults; the live test moves them into a temp dir. */
export interface EngineLayout {
  /** c-icap's ICAP port on the loopback */
  readonly icapPort: number;
  readonly cicapUser: string;
  readonly clamavUser: string;
  readonly cicapModulesDir: string;
  readonly cicapTemplateDir: string;
  readonly cicapLogDir: string;
  readonly cicapRunDir: string;
  readonly cicapTmpDir: string;
  readonly clamavDatabaseDir: string;
  readonly clamavLogDir: string;
  /** clamd's Unix socket is `clamd.ctl` here (Debian's clamav-daemon.socket listens on /run/clamav/clamd.ctl) */
  readonly clamavRunDir: string;
  /** clamd.conf as installed: the engine check's clamdscan reads the socket from it */
  readonly clamdConfigFile: string;
  /** the engine check's own program (the systemd units run it) */
  readonly engineCheckProgram: string;
  /** one line per failed engine check: a metric filter counts them */
  readonly engineCheckLog: string;
}

/** Debian 12 on arm64 (the proxy instances); the modules directory is architecture-specific. */
export const ENGINE_LAYOUT: EngineLayout = {
  icapPort: 1344,
  cicapUser: "c-icap",
  clamavUser: "clamav",
  cicapModulesDir: "/usr/lib/aarch64-linux-gnu/c_icap",
  cicapTemplateDir: "/etc/alpha-prime/c-icap-templates",
  cicapLogDir: "/var/log/c-icap",
  cicapRunDir: "/run/c-icap",
  cicapTmpDir: "/var/tmp/c-icap",
  clamavDatabaseDir: "/var/lib/clamav",
  clamavLogDir: "/var/log/clamav",
  clamavRunDir: "/run/clamav",
  clamdConfigFile: "/etc/clamav/clamd.conf",
  engineCheckProgram: "/usr/local/sbin/alpha-prime-engine-check",
  engineCheckLog: "/var/log/alpha-prime/engine-check.log",
};

/** clamd's socket: c-icap passes each file to clamd as an open descriptor over it, so clamd never opens c-icap's files. */
export function clamdSocket(l: EngineLayout): string {
  return `${l.clamavRunDir}/clamd.ctl`;
}

export interface EngineOptions {
  /** the municipality's limit (breakout.sanitization.maxFileSizeMb): every engine limit below is derived from it */
  readonly maxFileSizeBytes: number;
  readonly layout?: EngineLayout;
}

/** ClamAV cannot scan a file of 2 GiB or more (clamd.conf(5), MaxFileSize: "files greater than 2 GB"). */
export const CLAMAV_MAX_FILE_BYTES = 2 ** 31 - 1;

/**
 * Every size limit of the chain, from the one number the municipality sets, so none can disagree with another:
 * a disagreement is how files used to pass unscanned (a larger limit in front, a smaller one behind).
 */
export interface EngineLimits {
  /** Squid's reply_body_max_size: a declared Content-Length above it is refused before a byte is sent */
  readonly squidReplyBodyMax: number;
  /**
   * c-icap's virus_scan.MaxObjectSize. c-icap gives up on a body once it holds MaxObjectSize bytes (virus_scan.c
   * compares with >=), so a file of exactly the limit needs one byte more; in simple mode (see ICAP_SERVICE) giving
   * up is an error, so the download is blocked.
   */
  readonly cicapMaxObjectSize: number;
  /** clamd's MaxFileSize: applies to the download and to every file unpacked from it (gzip coding, archives) */
  readonly clamdMaxFileSize: number;
  /** clamd's MaxScanSize: an archive at the limit may unpack to three times its size, and no more */
  readonly clamdMaxScanSize: number;
}

export function engineLimits(maxFileSizeBytes: number): EngineLimits {
  if (!Number.isInteger(maxFileSizeBytes) || maxFileSizeBytes < 1) throw new Error(`the sanitization limit must be a positive number of bytes, got ${maxFileSizeBytes}`);
  if (maxFileSizeBytes > CLAMAV_MAX_FILE_BYTES) throw new Error(`the sanitization limit (${maxFileSizeBytes} bytes) is more than ClamAV can scan (${CLAMAV_MAX_FILE_BYTES} bytes)`);
  return { squidReplyBodyMax: maxFileSizeBytes, cicapMaxObjectSize: maxFileSizeBytes + 1, clamdMaxFileSize: maxFileSizeBytes, clamdMaxScanSize: 4 * maxFileSizeBytes };
}

/** ClamAV's signature mirror network (freshclam), reachable from the proxy subnets only. */
export const CLAMAV_MIRRORS: readonly { readonly name: string; readonly includeSubdomains: boolean }[] = [{ name: "database.clamav.net", includeSubdomains: false }];

/**
 * ICAP service name the proxy asks for (RESPMOD): c-icap's virus_scan with two arguments (virus_scan.conf,
 * "ServiceAlias ... virus_scan?..."; virus_scan.c virus_scan_parse_args):
 * - mode=simple: c-icap answers only after it has the whole body and clamd's verdict. In the default mode it sends
 *   the HTTP headers (and, with SendPercentData, data) before the scan, so a detection arrives after a 200 was
 *   committed and staff got a cut connection instead of the block page; and a body that reaches MaxObjectSize is
 *   unlocked and streamed on unscanned. In simple mode that body is an error instead, which Squid turns into the
 *   block page (bypass=0).
 * - force=on: every type is scanned, whatever ScanFileTypes and c-icap.magic say about it (unknown types used to
 *   get "allow 204").
 * The plain name virus_scan stays the unmodified service, so the alias has a name of its own.
 */
export const ICAP_SERVICE = "sanitize";

/** c-icap.conf: one ICAP service (virus_scan with clamd), loopback only, a verdict line per scanned response. */
export function renderCicapConfig(o: EngineOptions): string {
  const l = o.layout ?? ENGINE_LAYOUT;
  const limits = engineLimits(o.maxFileSizeBytes);
  return [
    "# c-icap.conf: generated by alpha-prime. The built-in 無害化 engine: Squid sends every response from a file-download",
    "# host here (RESPMOD); virus_scan hands the body to clamd and answers with the body or the block page.",
    `PidFile ${l.cicapRunDir}/c-icap.pid`,
    `CommandsSocket ${l.cicapRunDir}/c-icap.ctl`,
    // seconds c-icap waits for Squid's next bytes; Squid sends the whole body before it waits for the verdict
    "Timeout 300",
    "MaxKeepAliveRequests 100",
    "KeepAliveTimeout 600",
    "StartServers 2",
    "MaxServers 10",
    "MinSpareThreads 10",
    "MaxSpareThreads 20",
    "ThreadsPerChild 10",
    `Port 127.0.0.1:${l.icapPort}`,
    `User ${l.cicapUser}`,
    `Group ${l.cicapUser}`,
    "ServerAdmin noc@localhost",
    "ServerName alpha-prime-sanitization",
    // each body is kept in a file here until clamd's verdict; only c-icap reads it (clamd gets the open descriptor)
    `TmpDir ${l.cicapTmpDir}`,
    // c-icap's own buffers for small objects; virus_scan keeps every body in a TmpDir file because clamd_mod scans files
    "MaxMemObject 131072",
    "DebugLevel 1",
    `ModulesDir ${l.cicapModulesDir}`,
    `ServicesDir ${l.cicapModulesDir}`,
    `TemplateDir ${l.cicapTemplateDir}`,
    "TemplateDefaultLanguage en",
    "LoadMagicFile /etc/c-icap/c-icap.magic",
    `ServerLog ${l.cicapLogDir}/server.log`,
    // one line per verdict: time, client, URL (it names the file), the origin's file name when the file passed,
    // body bytes, and what clamd said ("infection=", so the metric filters count only Squid's "verdict=" lines)
    'LogFormat alphaPrimeVerdict "%ts %>a %huo file=%{Content-Disposition}<ho bytes=%Ib engine=clamav icap_status=%is infection=%{X-Infection-Found}<ih %Sl"',
    `AccessLog ${l.cicapLogDir}/verdicts.log alphaPrimeVerdict`,
    "Module common clamd_mod.so",
    // a Unix socket: c-icap passes each body as an open file descriptor (zFILDES), so clamd needs no access to TmpDir
    // (over TCP, clamd_mod sends a file name that clamd, running as another user, cannot open: every scan failed)
    `clamd_mod.ClamdSocket ${clamdSocket(l)}`,
    "Service antivirus_module virus_scan.so",
    `ServiceAlias ${ICAP_SERVICE} virus_scan?mode=simple&force=on`,
    // every group c-icap.magic knows (force=on scans the rest too): documents (PDF, Office, RTF as text), archives
    // (zip-based OOXML and OpenDocument included), executables, scripts and HTML (TEXT), images, media, unknown data
    "virus_scan.ScanFileTypes TEXT DATA EXECUTABLE ARCHIVE DOCUMENT GRAPHICS STREAM",
    // no "percent data" trickling: nothing of a file leaves c-icap before the verdict on all of it (simple mode
    // ignores both; set so that a change of mode alone cannot start trickling)
    "virus_scan.SendPercentData 0",
    `virus_scan.StartSendPercentDataAfter ${limits.cicapMaxObjectSize}`,
    // a 204 ("unchanged") after a clean scan saves sending the file back when Squid still holds it (small files)
    "virus_scan.Allow204Responces on",
    // an engine error blocks the download instead of passing it unscanned
    "virus_scan.PassOnError off",
    `virus_scan.MaxObjectSize ${limits.cicapMaxObjectSize}`,
    "virus_scan.DefaultEngine clamd",
    "",
  ].join("\n");
}

/**
 * clamd.conf: a Unix socket only (no TCP listener), limits from the municipality's, and an alert (so a block) for
 * everything the scanner could not look into: files over a limit, encrypted archives and documents, broken
 * executables.
 */
export function renderClamdConfig(o: EngineOptions): string {
  const l = o.layout ?? ENGINE_LAYOUT;
  const limits = engineLimits(o.maxFileSizeBytes);
  return [
    "# clamd.conf: generated by alpha-prime. Reached only by c-icap (and the engine check) on the instance.",
    // the path of Debian's clamav-daemon.socket: under systemd the socket is passed in and exists before clamd has
    // loaded its signatures (callers wait for clamd's answer, not for the socket)
    `LocalSocket ${clamdSocket(l)}`,
    "FixStaleSocket yes",
    `User ${l.clamavUser}`,
    `DatabaseDirectory ${l.clamavDatabaseDir}`,
    `LogFile ${l.clamavLogDir}/clamd.log`,
    "LogTime yes",
    "LogClean no",
    `PidFile ${l.clamavRunDir}/clamd.pid`,
    "Foreground yes",
    // new signatures load beside the old ones; scanning goes on with the old set until the new one is ready
    "ConcurrentDatabaseReload yes",
    // limits (bytes, from breakout.sanitization.maxFileSizeMb): what c-icap hands over is never larger than
    // MaxFileSize, so a file clamd skips can only be one unpacked from the download, and that is alerted
    `MaxFileSize ${limits.clamdMaxFileSize}`,
    `MaxScanSize ${limits.clamdMaxScanSize}`,
    `StreamMaxLength ${limits.clamdMaxFileSize}`,
    `MaxHTMLNormalize ${limits.clamdMaxFileSize}`,
    `MaxScriptNormalize ${limits.clamdMaxFileSize}`,
    // two minutes per file; Squid's icap_io_timeout is longer, so a scan that runs out of time is a block, not an error
    "MaxScanTime 120000",
    // a file (or a part of one) over MaxFileSize, MaxScanSize, MaxFiles, MaxRecursion or MaxScanTime is reported as
    // Heuristics.Limits.Exceeded.* and blocked: without this, clamd answers OK for what it did not scan
    "AlertExceedsMax yes",
    "HeuristicAlerts yes",
    // encrypted archives (zip, 7z, rar) and encrypted PDFs cannot be inspected: blocked, and staff ask for the file
    // through the municipality's procedure (password-protected zips are a common way malware is delivered)
    "AlertEncryptedArchive yes",
    "AlertEncryptedDoc yes",
    "AlertBrokenExecutables yes",
    // macros themselves are not blocked (municipal templates use them); signatures for malicious macros still apply.
    // Removing active content is what a CDR engine (engine: external) is for.
    "AlertOLE2Macros no",
    "",
  ].join("\n");
}

/** freshclam.conf: signature updates from ClamAV's mirror network (the firewall passes it for the proxy subnets only). */
export function renderFreshclamConfig(o: { layout?: EngineLayout; checksPerDay?: number } = {}): string {
  const l = o.layout ?? ENGINE_LAYOUT;
  return [
    "# freshclam.conf: generated by alpha-prime.",
    `DatabaseOwner ${l.clamavUser}`,
    `DatabaseDirectory ${l.clamavDatabaseDir}`,
    `UpdateLogFile ${l.clamavLogDir}/freshclam.log`,
    "LogTime yes",
    "DatabaseMirror database.clamav.net",
    `Checks ${o.checksPerDay ?? 12}`,
    // clamd reloads from its socket (clamd.conf names it); scanning goes on during the reload
    `NotifyClamd ${l.clamdConfigFile}`,
    "",
  ].join("\n");
}

/**
 * The EICAR anti-malware test file (https://www.eicar.org/download-anti-malware-testfile/), base64: harmless by
 * design, and kept encoded so that the user data and the published cloud-config do not themselves match scanners.
 */
export const EICAR_BASE64 = "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo=";

/** What a failed engine check writes (the metric filter matches it). */
export const ENGINE_CHECK_FAILED = "engine check FAILED";

/**
 * alpha-prime-engine-check: does the engine answer a real scan? It sends the EICAR test file through c-icap's
 * sanitize service (exactly what Squid asks for) and succeeds only when the engine names a threat; with --clamd it
 * asks clamd directly (clamdscan over clamd's socket). A c-icap that started before clamd answered registers no
 * engine and answers "allow 204" to everything: the check fails on that, as on an engine that is down or erroring.
 * --wait N keeps trying for N seconds (systemd runs it before c-icap and Squid start).
 */
export function renderEngineCheckScript(o: { layout?: EngineLayout } = {}): string {
  const l = o.layout ?? ENGINE_LAYOUT;
  return [
    "#!/bin/sh",
    "# alpha-prime-engine-check [--clamd] [--wait SECONDS]: generated by alpha-prime.",
    "# Succeeds only when the 無害化 engine blocks the EICAR test file: through c-icap's sanitize service (default), or",
    "# clamd alone (--clamd). systemd runs it before c-icap and Squid start and every minute after.",
    "set -u",
    "target=icap",
    "wait=0",
    "while [ $# -gt 0 ]; do",
    '  case "$1" in',
    "    --clamd) target=clamd ;;",
    '    --wait) wait="${2:?--wait needs seconds}"; shift ;;',
    '    *) echo "usage: $0 [--clamd] [--wait SECONDS]" >&2; exit 2 ;;',
    "  esac",
    "  shift",
    "done",
    'dir=$(mktemp -d) || exit 1',
    `trap 'rm -rf "$dir"' EXIT`,
    `printf '%s' '${EICAR_BASE64}' | base64 -d > "$dir/eicar.com"`,
    "probe() {",
    '  if [ "$target" = clamd ]; then',
    `    out=$(timeout 60 clamdscan --config-file=${l.clamdConfigFile} --fdpass --no-summary "$dir/eicar.com" 2>&1)`,
    '    case "$out" in *FOUND*) return 0 ;; esac',
    '    echo "clamd did not block the EICAR test file: $out" | head -n 3',
    "    return 1",
    "  fi",
    '  rm -f "$dir/reply"',
    `  out=$(timeout 60 c-icap-client -i 127.0.0.1 -p ${l.icapPort} -s ${ICAP_SERVICE} -f "$dir/eicar.com" -resp http://alpha-prime-engine-check.invalid/eicar.com -v -d 3 -o "$dir/reply" 2>&1)`,
    '  case "$out" in *X-Infection-Found:*Threat=*) return 0 ;; esac',
    // -v prints the ICAP status line of a verdict, -d 3 the status of an error answer (c-icap-client prints no header then)
    `  status=$(printf '%s\\n' "$out" | grep -m 1 -o -E 'ICAP/1[.]0 [0-9]{3}.*|status: [0-9]{3}|[Ff]ailed.*' | tr -s ' \\t' ' ')`,
    '  echo "c-icap did not block the EICAR test file (${status:-no answer}): files would not be scanned"',
    "  return 1",
    "}",
    'deadline=$(( $(date +%s) + wait ))',
    "while :; do",
    '  if msg=$(probe); then echo "engine check passed ($target)"; exit 0; fi',
    '  if [ "$(date +%s)" -ge "$deadline" ]; then',
    `    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) ${ENGINE_CHECK_FAILED} ($target): $msg"`,
    '    echo "$line" >&2',
    `    mkdir -p ${l.engineCheckLog.replace(/\/[^/]+$/, "")} && echo "$line" >> ${l.engineCheckLog}`,
    "    exit 1",
    "  fi",
    "  sleep 2",
    "done",
    "",
  ].join("\n");
}

/**
 * systemd drop-ins and units that make the engine fail closed across boots, restarts and package upgrades
 * (paths under /etc/systemd/system):
 * - c-icap starts after clamd, restarts with it, and only once clamd blocks EICAR: c-icap registers the clamd engine
 *   only if clamd answers when c-icap starts (clamd_mod's post_init), and without an engine virus_scan answers
 *   "allow 204" to every file, for good. After starting it must block EICAR itself, or systemd stops it (Squid then
 *   blocks sanitized downloads with the engine page) and tries again.
 * - Squid starts only after c-icap blocked EICAR: until then nothing listens on the proxy port, so the load
 *   balancer's health check sends no traffic to this instance.
 * - A timer checks every minute and restarts c-icap (through the same gate) when the engine stops blocking EICAR.
 * - clamd restarts itself when it dies.
 */
export function renderEngineUnits(o: { layout?: EngineLayout } = {}): Record<string, string> {
  const l = o.layout ?? ENGINE_LAYOUT;
  return {
    "c-icap.service.d/alpha-prime.conf": [
      "# generated by alpha-prime: c-icap serves only with a clamd that answers a real scan (see alpha-prime-engine-check)",
      "[Unit]",
      "Requires=clamav-daemon.service",
      "After=clamav-daemon.service",
      "PartOf=clamav-daemon.service",
      "",
      "[Service]",
      `ExecStartPre=${l.engineCheckProgram} --clamd --wait 900`,
      `ExecStartPost=${l.engineCheckProgram} --wait 60`,
      "Restart=always",
      "RestartSec=10",
      "TimeoutStartSec=1000",
      "",
    ].join("\n"),
    // Debian's clamd unit does not restart a clamd that died; c-icap (which keeps its engine) then blocks every
    // download until someone notices. clamd restarts itself, and c-icap, PartOf it, restarts through its gate.
    "clamav-daemon.service.d/alpha-prime.conf": [
      "# generated by alpha-prime: a clamd that died is started again (c-icap follows through its own gate)",
      "[Service]",
      "Restart=on-failure",
      "RestartSec=10",
      "",
    ].join("\n"),
    "squid.service.d/alpha-prime.conf": [
      "# generated by alpha-prime: the proxy takes no traffic until the 無害化 engine blocks the EICAR test file",
      "[Unit]",
      "Wants=c-icap.service",
      "After=c-icap.service",
      "",
      "[Service]",
      `ExecStartPre=${l.engineCheckProgram} --wait 900`,
      "TimeoutStartSec=1000",
      "",
    ].join("\n"),
    "alpha-prime-engine-watch.service": [
      "[Unit]",
      "Description=Check that the 無害化 engine still blocks the EICAR test file; restart c-icap (through its gate) if not",
      "",
      "[Service]",
      "Type=oneshot",
      `ExecStart=/bin/sh -c '${l.engineCheckProgram} || systemctl restart --no-block c-icap.service'`,
      "",
    ].join("\n"),
    "alpha-prime-engine-watch.timer": [
      "[Unit]",
      "Description=Check the 無害化 engine every minute",
      "",
      "[Timer]",
      "OnBootSec=5min",
      "OnUnitActiveSec=1min",
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
  };
}

/** What staff see, in Japanese and English: the file, the reason, and what to do next. */
export interface BlockPageText {
  /** what staff should do next, e.g. the municipality's file-transfer procedure (plain text, HTML-escaped here) */
  readonly guidance: string;
}

export const DEFAULT_GUIDANCE = "必要なファイルは、所定のファイル受け渡し手順（無害化済みファイルの取り寄せ）で情報政策担当に依頼してください。 / Request the file through the municipality's file-transfer procedure (ask the information policy staff for a sanitized copy).";

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;").replace(/%/g, "&#37;");
}

function page(title: string, reason: string, details: string[], t: BlockPageText): string {
  return [
    "<!DOCTYPE html>",
    '<html lang="ja"><head><meta charset="utf-8"><title>' + title + "</title></head>",
    "<body>",
    `<h1>${title}</h1>`,
    `<p>${reason}</p>`,
    "<ul>",
    ...details.map((d) => `<li>${d}</li>`),
    "</ul>",
    `<p>${escapeHtml(t.guidance)}</p>`,
    "<hr><p>alpha-prime 無害化 (file sanitization)</p>",
    "</body></html>",
    "",
  ].join("\n");
}

/** c-icap virus_scan's VIRUS_FOUND template (%VVN threat, %huo URL, %{Content-Disposition}<ho file name). */
export function renderVirusFoundPage(t: BlockPageText): string {
  return page(
    "ダウンロードを止めました / Download blocked",
    "このファイルからマルウェアが検出された（または暗号化・大きさの上限などで中身を検査しきれない）ため、端末には届けていません。 / Malware was found in this file (or its content could not be inspected: encrypted, or over a size limit when unpacked), so it was not delivered to your PC.",
    ["ファイル / File: <b>%huo</b> %{Content-Disposition}<ho", "検出名 / Detected: <b>%VVN</b>", "検査エンジン / Engine: %VVV"],
    t,
  );
}

function megabytes(bytes: number): number {
  return Math.round(bytes / 1048576);
}

/**
 * Squid's ERR_ICAP_FAILURE: the engine gave no verdict, so the download is blocked (fail closed). That is the
 * engine being down, or a download that did not declare its size (chunked) growing past the limit: the engine
 * holds every byte until its verdict and refuses what it cannot scan whole.
 */
export function renderEngineDownPage(t: BlockPageText, maxFileSizeBytes: number): string {
  const mb = megabytes(maxFileSizeBytes);
  return page(
    "ダウンロードを止めました / Download blocked",
    `無害化エンジンで検査できなかったため、このファイルは端末に届けていません（エンジンが応答しない、または大きさを示さないダウンロードが上限 ${mb} MB を超えた）。しばらくしてから再度お試しください。 / The sanitization engine could not scan this file (the engine is not answering, or a download that did not declare its size grew past the ${mb} MB limit), so it was not delivered. Try again later.`,
    ["URL: <b>%U</b>", "時刻 / Time: %T"],
    t,
  );
}

/** Squid's ERR_TOO_BIG: larger than the sanitization size limit, blocked by default. */
export function renderTooBigPage(t: BlockPageText, maxFileSizeBytes: number): string {
  const mb = megabytes(maxFileSizeBytes);
  return page(
    "ダウンロードを止めました / Download blocked",
    `このファイルは無害化できる大きさ（${mb} MB）を超えています。 / This file is larger than the sanitization limit (${mb} MB).`,
    ["URL: <b>%U</b>", "時刻 / Time: %T"],
    t,
  );
}

/** Squid error page (deny_info) for replies the engine cannot inspect whole: a part of a file, or an unknown coding. */
export const UNSCANNABLE_PAGE = "ERR_SANITIZE_UNSCANNABLE";

export function renderUnscannablePage(t: BlockPageText): string {
  return page(
    "ダウンロードを止めました / Download blocked",
    "このダウンロードはファイルの一部、または無害化エンジンが展開できない圧縮形式で送られてきたため、検査できず端末に届けていません。 / This download came as part of a file, or in a compression the sanitization engine cannot unpack, so it could not be scanned and was not delivered.",
    ["URL: <b>%U</b>", "時刻 / Time: %T"],
    t,
  );
}
