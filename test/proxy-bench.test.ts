/**
 * The proxy benchmark (bench/proxy.ts) runs the *rendered* configuration, moved onto the loopback: these check the
 * moving, not the speed (speed is for `npm run bench`, never a test). A file that names a place the benchmark does
 * not know must stop it, not send Squid writing into /var/log of the machine it runs on.
 */
import * as os from "os";
import * as path from "path";
import { renderedFiles } from "../cli/render";
import { domainMatches } from "../catalog/domains";
import { ENGINE_LAYOUT } from "../constructs/file-sanitization";
import { SQUID_LAYOUT } from "../constructs/tenant-proxy";
import { effectiveAllowlist } from "../stacks/allowlist";
import { benchHosts, localize } from "../bench/proxy";
import { loadSample, synthStacks } from "./helpers";

const pathPairs = (prod: object, dir: string): [string, string][] =>
  Object.entries(prod)
    .filter(([, v]) => typeof v === "string" && v.startsWith("/"))
    .map(([k, v]) => [v as string, path.join(dir, k)]);

describe("the proxy benchmark's use of the rendered configuration", () => {
  const files = renderedFiles("kaga", synthStacks({ only: ["kaga"] }).stacks.kaga);
  // only a name: the paths are rewritten, never created
  const work = path.join(os.tmpdir(), "alpha-prime-proxy-bench-x");
  const allowed = [SQUID_LAYOUT.certgen, "/etc/c-icap/c-icap.magic", ENGINE_LAYOUT.cicapModulesDir, ENGINE_LAYOUT.clamavDatabaseDir];

  test("every production path of kaga's squid.conf, c-icap.conf and clamd.conf moves into the work directory", () => {
    const squid = localize(files["proxy/squid.conf"], "squid.conf", pathPairs(SQUID_LAYOUT, work), allowed, work);
    for (const p of [SQUID_LAYOUT.logDir, SQUID_LAYOUT.caFile, SQUID_LAYOUT.certDb, SQUID_LAYOUT.pidFile, SQUID_LAYOUT.errorDir]) expect(squid).not.toContain(p);
    expect(squid).toContain(`access_log daemon:${path.join(work, "logDir")}/access.log`);
    for (const f of ["c-icap.conf", "clamd.conf"]) {
      const text = localize(files[`proxy/files/etc/alpha-prime/${f}`], f, pathPairs(ENGINE_LAYOUT, work), allowed, work);
      for (const p of [ENGINE_LAYOUT.cicapLogDir, ENGINE_LAYOUT.cicapRunDir, ENGINE_LAYOUT.clamavLogDir, ENGINE_LAYOUT.clamavRunDir]) expect(text).not.toContain(`${p}/`);
    }
  });

  test("a path it does not know how to move stops the benchmark with the path named", () => {
    const text = `${files["proxy/squid.conf"]}\nicap_log daemon:/var/log/elsewhere/x.log\n`;
    expect(() => localize(text, "squid.conf", pathPairs(SQUID_LAYOUT, work), allowed, work)).toThrow(/squid\.conf: the benchmark does not know where to move \/var\/log\/elsewhere\/x\.log/);
  });

  test.each(["kaga", "mitoyo"])("%s: it loads one spliced host, one host bumped for its header only, and one scanned host", (id) => {
    const a = effectiveAllowlist(loadSample(id));
    const headerHosts = a.headerRules.flatMap((r) => r.hosts);
    const sanitized = a.sanitization?.hosts ?? [];
    const h = benchHosts(a.domains, headerHosts, sanitized);
    const on = (list: typeof sanitized, host: string) => list.some((p) => domainMatches(p, host));
    expect(on(a.domains, h.splice) && !on(headerHosts, h.splice) && !on(sanitized, h.splice)).toBe(true);
    expect(on(headerHosts, h.header) && !on(sanitized, h.header)).toBe(true);
    expect(h.scan && on(sanitized, h.scan)).toBe(true);
  });
});
