import { getQuickJS, QuickJSWASMModule } from "@tootallnate/quickjs-emscripten";
import { createPacResolver } from "pac-resolver";
import { DomainPattern, parseDomainPattern } from "../config/domains";
import { renderPac } from "../constructs/pac";
import { SaasCatalog } from "../constructs/saas-catalog";
import { effectiveAllowlist } from "../stacks/allowlist";
import { SAMPLE_IDS, loadSample } from "./helpers";

// Every expectation here is the answer of a real PAC engine (pac-resolver on QuickJS), not a string match.
let qjs: QuickJSWASMModule;
beforeAll(async () => {
  qjs = await getQuickJS();
});

function resolverFor(id: string) {
  const config = loadSample(id);
  const pac = renderPac({ allowedDomains: effectiveAllowlist(config).domains, proxy: config.network.lgwanProxy, municipality: id });
  const find = createPacResolver(qjs, pac);
  const proxy = `PROXY ${config.network.lgwanProxy}`;
  return { config, proxy, route: (host: string) => find(`https://${host}/`) };
}

const catalog = SaasCatalog.default();

describe.each(SAMPLE_IDS)("%s: the PAC file in a real PAC engine", (id) => {
  test("every allowlisted domain goes DIRECT, including subdomains at any depth and in any case", async () => {
    const { config, route } = resolverFor(id);
    for (const d of effectiveAllowlist(config).domains) {
      expect([d.name, await route(d.name)]).toEqual([d.name, "DIRECT"]);
      if (d.includeSubdomains) {
        expect(await route(`a.b.${d.name}`)).toBe("DIRECT");
        expect(await route(`WWW.${d.name.toUpperCase()}.`)).toBe("DIRECT");
      } else {
        expect(await route(`sub.${d.name}`)).not.toBe("DIRECT");
      }
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
