import { getQuickJS, QuickJSWASMModule } from "@tootallnate/quickjs-emscripten";
import { createPacResolver } from "pac-resolver";
import { domainMatches, DomainPattern, parseDomainPattern } from "../catalog/domains";
import { SaasCatalog } from "../catalog/saas-catalog";
import { effectiveAllowlist, municipalityPac, tenantProxyAddresses } from "../stacks/allowlist";
import { SAMPLE_IDS, loadSample } from "./helpers";

// Every expectation here is the answer of a real PAC engine (pac-resolver on QuickJS), not a string match.
let qjs: QuickJSWASMModule;
beforeAll(async () => {
  qjs = await getQuickJS();
});

function resolverFor(id: string) {
  const config = loadSample(id);
  const allowlist = effectiveAllowlist(config);
  const find = createPacResolver(qjs, municipalityPac(config, allowlist));
  const proxy = `PROXY ${config.network.lgwanProxy}`;
  const tenantProxy = tenantProxyAddresses(config, allowlist).map((a) => `PROXY ${a}`).join("; ");
  /** what an allowlisted host must get: the tenant-restriction proxy for names that need a header, else DIRECT */
  const allowedRoute = (host: string) => (allowlist.proxyOnlyDomains.some((d) => domainMatches(d, host)) ? tenantProxy : "DIRECT");
  return { config, proxy, tenantProxy, allowedRoute, route: (host: string) => find(`https://${host}/`) };
}

const catalog = SaasCatalog.default();

describe.each(SAMPLE_IDS)("%s: the PAC file in a real PAC engine", (id) => {
  test("every allowlisted domain goes DIRECT (or to the tenant proxy when it needs a header), including subdomains at any depth and in any case", async () => {
    const { config, route, allowedRoute } = resolverFor(id);
    for (const d of effectiveAllowlist(config).domains) {
      expect([d.name, await route(d.name)]).toEqual([d.name, allowedRoute(d.name)]);
      if (d.includeSubdomains) {
        expect(await route(`a.b.${d.name}`)).toBe(allowedRoute(`a.b.${d.name}`));
        expect(await route(`WWW.${d.name.toUpperCase()}.`)).toBe(allowedRoute(`www.${d.name}`));
      } else {
        expect(await route(`sub.${d.name}`)).not.toBe("DIRECT");
      }
    }
  });

  test("exactly the names that need a tenant header go to the tenant-restriction proxy, in AZ order", async () => {
    const { config, route, tenantProxy } = resolverFor(id);
    const allowlist = effectiveAllowlist(config);
    expect(allowlist.proxyOnlyDomains.length).toBeGreaterThan(0);
    expect(tenantProxy.split("; ")).toHaveLength(config.aws.availabilityZones.length);
    for (const d of allowlist.proxyOnlyDomains) expect([d.name, await route(d.name)]).toEqual([d.name, tenantProxy]);
    for (const d of allowlist.domains.filter((x) => !allowlist.proxyOnlyDomains.some((p) => domainMatches(p, x.name)))) {
      expect([d.name, await route(d.name)]).toEqual([d.name, "DIRECT"]);
    }
  });

  test("look-alike hosts go to the LGWAN proxy", async () => {
    const { config, proxy, route } = resolverFor(id);
    for (const d of effectiveAllowlist(config).domains) {
      for (const fake of [`evil${d.name}`, `x-${d.name}`, `${d.name}.evil.example`, `${d.name}x`, `${d.name.replace(/\./, "-")}.example`]) {
        expect([fake, await route(fake)]).toEqual([fake, proxy]);
      }
    }
  });

  test("domains of unselected SaaS and everything else go to the LGWAN proxy", async () => {
    const { config, proxy, route } = resolverFor(id);
    const selected = effectiveAllowlist(config).domains;
    const allowedBy = (h: string) => selected.some((d) => h === d.name || (d.includeSubdomains && h.endsWith(`.${d.name}`)));
    const others = catalog.ids
      .filter((s) => !config.breakout.saas.includes(s))
      .flatMap((s) => catalog.get(s).domains.map((d) => (parseDomainPattern(d) as DomainPattern).name))
      .filter((h) => !allowedBy(h));
    expect(others.length).toBeGreaterThan(0);
    for (const h of [...others, "www.example.com", "news.yahoo.co.jp", "203.0.113.99"]) expect([h, await route(h)]).toEqual([h, proxy]);
  });

  test("plain host names and private addresses stay DIRECT on the LGWAN side", async () => {
    const { route } = resolverFor(id);
    for (const h of ["fileserver", "172.16.5.20", "10.1.2.3", "192.168.0.1", "127.0.0.1"]) expect([h, await route(h)]).toEqual([h, "DIRECT"]);
  });
});
