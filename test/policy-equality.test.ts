/**
 * Making the pack faster changes nothing it finds: on the frozen corpus and its mutations (test/policy-equality.ts),
 * every report — findings, their order, messages, addresses, suppressions — equals the one the unoptimized pack
 * recorded.
 */
import { casesOf, readCorpus, readRecordedFindings, reportsOf } from "./policy-equality";

const corpus = readCorpus();
const recorded = readRecordedFindings();

test("the corpus holds the samples and bench stacks of both spreads, and every case has a recorded report", () => {
  expect(new Set(corpus.map((s) => s.source))).toEqual(new Set(["sample", "national", "uniform"]));
  expect(corpus.length).toBeGreaterThanOrEqual(40);
  for (const [i, s] of corpus.entries()) expect(Object.keys(recorded[s.id] ?? {}).sort()).toEqual(casesOf(s, i).map((c) => c.name).sort());
});

describe.each(corpus.map((s, i) => [s.id, i] as const))("%s", (id, index) => {
  test("every case gives the report the unoptimized pack gave", () => {
    const reports = reportsOf(corpus[index], index);
    for (const [name, report] of Object.entries(reports)) expect({ case: name, report }).toEqual({ case: name, report: recorded[id][name] });
  });
});
