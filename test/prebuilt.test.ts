/**
 * What `npm run build` prepares (config/prebuilt.ts) must decide exactly what the run-time path decides: the same
 * errors, the same defaults, the same catalog; and a prebuilt file whose source changed is never used.
 */
import * as fs from "fs";
import * as fc from "fast-check";
import { parse } from "yaml";
import { compileEnvValidator, prebuiltCatalog, prebuiltEnvValidator } from "../config/prebuilt";
import { SCHEMA_PATH } from "../core/paths";
import { CATALOG_PATH, SaasCatalog } from "../catalog/saas-catalog";
import { SAMPLE_IDS, sampleText } from "./helpers";

const schemaText = fs.readFileSync(SCHEMA_PATH, "utf8");
const built = prebuiltEnvValidator(schemaText);
const compiled = compileEnvValidator(JSON.parse(schemaText)).validate;

test("the build prepared a validator for this schema (npm test builds first; run `npm run build` if this fails)", () => {
  expect(built).toBeDefined();
});

/** What a caller reads from a validation: the verdict, each error with what load.ts uses, and the defaults applied. */
function outcome(validate: NonNullable<typeof built>, doc: unknown) {
  const data = JSON.parse(JSON.stringify(doc ?? null));
  const ok = validate(data);
  const errors = (validate.errors ?? []).map((e) => ({ keyword: e.keyword, instancePath: e.instancePath, params: e.params, message: e.message, parentSchema: e.parentSchema, data: e.data }));
  return { ok, errors, data };
}

test.each(SAMPLE_IDS)("%s: the prebuilt validator accepts it and applies the same defaults", (id) => {
  const doc = parse(sampleText(id));
  expect(outcome(built!, doc)).toEqual(outcome(compiled, doc));
  expect(outcome(built!, doc).ok).toBe(true);
});

test("on any value at any field of the samples, the prebuilt and the compiled validator report the same errors", () => {
  const docs = SAMPLE_IDS.map((id) => parse(sampleText(id)));
  const paths = (v: unknown, at: (string | number)[] = []): (string | number)[][] =>
    v && typeof v === "object" ? [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, Array.isArray(v) ? Number(k) : k]))] : [at];
  const mutation = fc.integer({ min: 0, max: docs.length - 1 }).chain((d) =>
    fc.record({
      d: fc.constant(d),
      at: fc.constantFrom(...paths(docs[d]).filter((p) => p.length > 0)),
      value: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.string(), { maxKeys: 2 })),
    }),
  );
  fc.assert(
    fc.property(mutation, ({ d, at, value }) => {
      const doc = JSON.parse(JSON.stringify(docs[d]));
      let node = doc;
      for (const k of at.slice(0, -1)) node = node[k];
      node[at[at.length - 1]] = value;
      expect(outcome(built!, doc)).toEqual(outcome(compiled, doc));
    }),
    { seed: 20261125, numRuns: 300 },
  );
});

test("a prebuilt validator is not used for a schema that changed after the build", () => {
  expect(prebuiltEnvValidator(schemaText.replace('"minimum": 365', '"minimum": 366'))).toBeUndefined();
  expect(prebuiltEnvValidator(`${schemaText} `)).toBeUndefined();
});

test("the prebuilt catalog is the repository's catalog, parsed and validated; any other text is parsed and validated afresh", () => {
  const text = fs.readFileSync(CATALOG_PATH, "utf8");
  expect(prebuiltCatalog(text)).toEqual(SaasCatalog.fromText(text, CATALOG_PATH, { prebuilt: false }).entries);
  const edited = text.replace('    - "*.slack.com"\n', '    - "*.slack.com"\n    - "*.slack-example.com"\n');
  expect(edited).not.toBe(text);
  expect(prebuiltCatalog(edited)).toBeUndefined();
  expect(SaasCatalog.fromText(edited).get("slack").domains).toContain("*.slack-example.com");
  // and an invalid edit is refused as before, not masked by the build
  expect(() => SaasCatalog.fromText(text.replace('    - "*.slack.com"\n', '    - "*"\n'))).toThrow("catalog: slack: domain '*' is refused: it allows every domain");
});
