/**
 * Rows made on demand, and sliced execution:
 * - `QueryRows.json(i)` is `JSON.stringify(row(i))` to the byte, for
 *   attribute names JSON.stringify reorders (integer-like ones), `__proto__`
 *   and other prototype names, escapes, unicode, nested arrays and objects,
 *   -0, selected and missing attributes, vectors; from built and from
 *   deserialized indexes;
 * - `row(i)` is exactly the row `executeQuery` returns;
 * - a query run with a slicer (a stepping clock: due at nearly every
 *   checkpoint) returns exactly what it returns without one, for every rank
 *   mode, filters and exclusions over several partitions, and pauses when
 *   the answer is large.
 */
import { describe, expect, it } from "vitest";
import {
  buildQueryIndex,
  deserializeQueryIndex,
  executeQuery,
  parseQueryRequest,
  type QueryDocument,
  QuerySlicer,
  serializeQueryIndex,
} from "../src/index.ts";
import { executeQueryRows } from "../src/execute-query.ts";
import { gaussian, randomDocuments, randomFilter, seededRandom } from "./support/reference.ts";

function steppingSlicer(budgetMs = 1): QuerySlicer {
  let now = 0;
  return new QuerySlicer({ budgetMs, now: () => now++, yieldTurn: () => Promise.resolve() });
}

/** Documents whose attributes make JSON.stringify work hard. */
function awkwardDocuments(): QueryDocument[] {
  const docs: QueryDocument[] = [];
  for (let i = 0; i < 40; i++) {
    const attributes: Record<string, unknown> = {};
    if (i % 2 === 0) attributes["name"] = `quote " backslash \\ tab \t newline \n nul \u0000 é 😀 #${i}`;
    if (i % 3 === 0) attributes["10"] = i;
    attributes["b"] = i % 4 === 0 ? null : i % 4 === 1;
    if (i % 5 !== 0) attributes["2"] = i % 7 === 0 ? -0 : i / 3;
    if (i % 2 === 1) attributes["nested"] = { z: [1, "two", { "3": null, a: [] }], "1": "one", "": {} };
    if (i % 6 === 0) attributes["list"] = i % 12 === 0 ? [] : ["x", 1.5, false, null, ["deep"]];
    if (i % 4 === 2) attributes["constructor"] = "not a function";
    if (i % 8 === 3) attributes["4294967295"] = "not an index";
    if (i % 3 === 1) attributes["big"] = 1e21 + i;
    docs.push({ id: `doc "${String(i).padStart(3, "0")}" ✓`, vector: [Math.sin(i), Math.cos(i), 0.5], attributes: attributes as QueryDocument["attributes"] });
  }
  // `__proto__` as an own attribute, as JSON.parse makes it.
  docs[5] = { ...docs[5]!, attributes: JSON.parse('{"__proto__": {"polluted": true}, "z": 1}') as QueryDocument["attributes"] };
  return docs;
}

describe("QueryRows", () => {
  it("json(i) is JSON.stringify(row(i)) to the byte, for built and deserialized indexes", async () => {
    const docs = awkwardDocuments();
    const built = [buildQueryIndex(docs.slice(0, 25), { metric: "COSINE" }), buildQueryIndex(docs.slice(20), { metric: "COSINE" })];
    const loaded = built.map((index) => deserializeQueryIndex(serializeQueryIndex(index)));
    const requests = [
      { rankBy: ["vector", "kNN", [1, 0.2, 0.1]], topK: 100, includeAttributes: true, includeVectors: true },
      { rankBy: ["vector", "kNN", [1, 0.2, 0.1]], topK: 100, includeAttributes: ["10", "name", "__proto__", "absent", "name", "2", "constructor", "4294967295"] },
      { topK: 100, includeAttributes: true },
      { rankBy: ["2", "desc"], topK: 100, includeAttributes: ["nested", "list"], includeVectors: true },
      { topK: 100 },
    ];
    for (const partitions of [built, loaded]) {
      for (const json of requests) {
        const request = parseQueryRequest(json, { dimension: 3 });
        const { rows } = await executeQueryRows(partitions, request);
        const plain = await executeQuery(partitions, request);
        expect(rows.length).toBe(plain.rows.length);
        expect(rows.length).toBeGreaterThan(30);
        for (let i = 0; i < rows.length; i++) {
          expect(rows.row(i)).toEqual(plain.rows[i]);
          expect(rows.id(i)).toBe(plain.rows[i]!.id);
          expect(rows.json(i), `${JSON.stringify(json)} row ${i}`).toBe(JSON.stringify(plain.rows[i]));
        }
        expect(await rows.toArray()).toEqual(plain.rows);
      }
    }
  });

  it("rejects a row index out of range", async () => {
    const index = buildQueryIndex([{ id: "a" }], { metric: "COSINE" });
    const { rows } = await executeQueryRows([index], parseQueryRequest({ topK: 5 }));
    expect(rows.length).toBe(1);
    expect(() => rows.json(1)).toThrow(RangeError);
    expect(() => rows.row(-1)).toThrow(RangeError);
    expect(() => rows.json(0.5)).toThrow(RangeError);
  });
});

describe("sliced execution", () => {
  it("answers exactly as unsliced execution, in every rank mode, over partitions with duplicates and exclusions", async () => {
    const random = seededRandom(5);
    const raw = [
      randomDocuments(random, 1_500, { dimension: 4, ids: 3_000 }),
      randomDocuments(random, 900, { dimension: 4, ids: 3_000 }),
      randomDocuments(random, 300, { dimension: 4, ids: 3_000 }),
    ];
    const excluded = [new Set([1, 2, 3, 500]), new Set([7]), new Set<number>()];
    const partitions = raw.map((docs, p) => buildQueryIndex(docs, { metric: p === 0 ? "COSINE" : "COSINE", ann: p === 0 ? { lists: 8 } : undefined }));
    const q = () => Array.from({ length: 4 }, () => gaussian(random));
    const word = () => ["alpha", "beta", "gamma", "delta"][Math.floor(random() * 4)]!;
    const requests: unknown[] = [];
    for (let t = 0; t < 4; t++) {
      const f = randomFilter(random);
      requests.push(
        { rankBy: ["vector", "kNN", q()], topK: 2_000, includeAttributes: true },
        { rankBy: ["vector", "kNN", q()], topK: 300, filters: f, includeVectors: true },
        { rankBy: ["vector", "ANN", q()], topK: 50, includeAttributes: ["n", "tags"] },
        { rankBy: ["body", "BM25", `${word()} ${word()}`], topK: 1_500 },
        { rankBy: ["sparse", "Dot", { indices: [1, 4, 9], values: [0.5, 1, 2] }], topK: 1_200, filters: f },
        { rankBy: ["price", t % 2 === 0 ? "asc" : "desc"], topK: 2_500, includeAttributes: true },
        { rankBy: ["id", "desc"], topK: 1_800 },
        { rankBy: ["RRF", [["vector", "kNN", q()], ["body", "BM25", word()]]], topK: 1_000 },
        { topK: 2_200, filters: f, includeAttributes: true },
        { aggregateBy: { count: ["Count"] }, groupBy: ["color"], topK: 5, filters: f },
      );
    }
    let pauses = 0;
    for (const json of requests) {
      const request = parseQueryRequest(json, { dimension: 4 });
      const options = { exclude: (_: unknown, p: number) => excluded[p], parallel: false };
      const plain = await executeQuery(partitions, request, options);
      const slicer = steppingSlicer();
      const sliced = await executeQuery(partitions, request, { ...options, slicer });
      expect(sliced, JSON.stringify(json)).toEqual(plain);
      pauses += slicer.stats().pauses;
      const rows = await executeQueryRows(partitions, request, { ...options, slicer: steppingSlicer() });
      expect(await rows.rows.toArray()).toEqual(plain.rows);
    }
    expect(pauses).toBeGreaterThan(requests.length);
  });

  it("pauses while ranking and sorting a large answer, and runs a small one in one piece", async () => {
    const random = seededRandom(9);
    const index = buildQueryIndex(randomDocuments(random, 10_000, { dimension: 8, ids: 20_000 }), { metric: "COSINE" });
    const large = steppingSlicer();
    const { rows } = await executeQueryRows([index], parseQueryRequest({ rankBy: ["vector", "kNN", Array.from({ length: 8 }, () => gaussian(random))], topK: 10_000 }), {
      slicer: large,
    });
    expect(rows.length).toBeGreaterThan(9_000); // 95% of the documents have a vector
    expect(large.stats().pauses).toBeGreaterThan(20);
    const small = new QuerySlicer({ now: () => 0, yieldTurn: () => Promise.resolve() });
    await executeQueryRows([index], parseQueryRequest({ rankBy: ["vector", "kNN", Array.from({ length: 8 }, () => gaussian(random))], topK: 10 }), { slicer: small });
    expect(small.stats().pauses).toBe(0);
  });
});
