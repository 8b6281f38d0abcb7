import { describe, expect, it } from "vitest";
import {
  buildQueryIndex,
  executeQuery,
  isInvalidQuery,
  parseQueryRequest,
  type QueryDocument,
} from "../src/index.ts";
import { evaluateFilter } from "../src/filter-plan.ts";
import { liveDocuments, matchesFilter, randomDocuments, randomFilter, seededRandom } from "./support/reference.ts";

function partitionsFor(seed: number) {
  const random = seededRandom(seed);
  // Three partitions (oldest first) sharing an id space, so ids repeat across them.
  const raw = [randomDocuments(random, 600, { dimension: 4, ids: 900 }), randomDocuments(random, 300, { dimension: 4, ids: 900 }), randomDocuments(random, 40, { dimension: 4, ids: 900 })];
  const excluded = raw.map((docs) => new Set(docs.map((_, i) => i).filter(() => random() < 0.05)));
  const indexes = raw.map((docs, i) => buildQueryIndex(docs, { metric: "COSINE", ann: i === 0 ? { minDocuments: 100, lists: 8 } : false }));
  return { raw, excluded, indexes, live: liveDocuments(raw, excluded) };
}

describe("filters", () => {
  it("every filter operator matches the naive reference on random data, across partitions with duplicates and exclusions", async () => {
    for (const seed of [1, 2, 3]) {
      const { excluded, indexes, live } = partitionsFor(seed);
      const random = seededRandom(seed * 100);
      for (let i = 0; i < 120; i++) {
        const filters = randomFilter(random);
        const request = parseQueryRequest({ filters, topK: 10_000, aggregateBy: { count: ["Count"] } });
        const listing = parseQueryRequest({ filters, topK: 10_000 });
        const options = { exclude: (_: unknown, p: number) => excluded[p] };
        const [agg, rows] = await Promise.all([executeQuery(indexes, request, options), executeQuery(indexes, listing, options)]);
        const expected = live.filter((d) => matchesFilter(d, request.filters!)).map((d) => d.id).sort();
        expect(rows.rows.map((r) => r.id), JSON.stringify(filters)).toEqual(expected);
        expect(agg.aggregations?.["count"], JSON.stringify(filters)).toBe(expected.length);
      }
    }
  });

  it("a filter operand of a type the attribute never holds is a type_mismatch error naming the path", async () => {
    const { indexes } = partitionsFor(7);
    const cases: [unknown, (string | number)[]][] = [
      [["n", "Eq", "3"], ["filters", 2]],
      [["color", "Gt", 5], ["filters", 2]],
      [["And", [["n", "Gt", 1], ["color", "In", ["red", 4]]]], ["filters", 1, 1, 2, 1]],
      [["n", "Glob", "1*"], ["filters", 2]],
      [["color", "ContainsAny", ["red"]], ["filters", 1]],
      [["tags", "ContainsAll", [1]], ["filters", 2, 0]],
      [["id", "Eq", 12], ["filters", 2]],
      [["flag", "Eq", 1], ["filters", 2]],
    ];
    for (const [filters, path] of cases) {
      const error = await executeQuery(indexes, parseQueryRequest({ filters })).catch((e: unknown) => e);
      expect(isInvalidQuery(error), JSON.stringify(filters)).toBe(true);
      expect((error as { reason: string }).reason).toBe("type_mismatch");
      expect((error as { path: unknown }).path).toEqual(path);
    }
  });

  it("a filter on an attribute no document has matches nothing, and its negation everything, without an error", async () => {
    const { indexes, live, excluded } = partitionsFor(8);
    const exclude = (_: unknown, p: number) => excluded[p];
    const none = await executeQuery(indexes, parseQueryRequest({ filters: ["missing", "Eq", "x"], topK: 10_000 }), { exclude });
    expect(none.rows).toEqual([]);
    const all = await executeQuery(indexes, parseQueryRequest({ filters: ["missing", "NotEq", 3], aggregateBy: { c: ["Count"] } }), { exclude });
    expect(all.aggregations).toEqual({ c: live.length });
  });

  it("a selective filter is evaluated to a slot list from the attribute index, a broad one to a mask", () => {
    const docs: QueryDocument[] = Array.from({ length: 1000 }, (_, i) => ({ id: `x${i}`, attributes: { k: i % 100, s: `v${i % 2}` } }));
    const index = buildQueryIndex(docs, { metric: "DOT" });
    const selective = evaluateFilter(index, parseQueryRequest({ filters: ["k", "Eq", 7] }).filters);
    expect(selective.kind).toBe("list");
    if (selective.kind === "list") expect(Array.from(selective.slots)).toEqual(Array.from({ length: 10 }, (_, i) => 7 + i * 100));
    expect(evaluateFilter(index, parseQueryRequest({ filters: ["s", "Eq", "v1"] }).filters).kind).toBe("mask");
    expect(evaluateFilter(index, undefined).kind).toBe("all");
  });
});
