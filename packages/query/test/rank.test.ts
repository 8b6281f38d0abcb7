import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { gaussian, liveDocuments, matchesFilter, randomDocuments, randomFilter, seededRandom } from "./support/reference.ts";

describe("sparse, attribute order, RRF and aggregations", () => {
  it("sparse dot product ranking matches the reference", async () => {
    const random = seededRandom(31);
    const raw = [randomDocuments(random, 300, { dimension: 2, ids: 400 }), randomDocuments(random, 100, { dimension: 2, ids: 400 })];
    const excluded = [new Set([3, 4]), new Set([0])];
    const indexes = raw.map((d) => buildQueryIndex(d, { metric: "DOT" }));
    const live = liveDocuments(raw, excluded);
    for (let t = 0; t < 10; t++) {
      const indices = [...new Set([Math.floor(random() * 12), Math.floor(random() * 12)])].sort((a, b) => a - b);
      const values = indices.map(() => Math.round(gaussian(random) * 100) / 10);
      const result = await executeQuery(indexes, parseQueryRequest({ rankBy: ["sparse", "Dot", { indices, values }], topK: 20 }), { exclude: (_, p) => excluded[p] });
      const expected = live
        .filter((d) => d.sparse !== undefined && Array.from(d.sparse.indices).some((i) => indices.includes(i)))
        .map((d) => {
          let s = 0;
          Array.from(d.sparse!.indices).forEach((ix, j) => {
            const q = indices.indexOf(ix);
            if (q >= 0) s += values[q]! * Math.fround(d.sparse!.values[j]!);
          });
          return { id: d.id, s };
        })
        .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : 1))
        .slice(0, 20);
      expect(result.rows.map((r) => r.id)).toEqual(expected.map((e) => e.id));
    }
  });

  it("attribute order sorts by value (asc: numbers, strings, then the rest; desc reversed) with ties by id", async () => {
    const docs: QueryDocument[] = [
      { id: "e", attributes: { v: 2 } },
      { id: "d", attributes: { v: "b" } },
      { id: "c", attributes: { v: 1 } },
      { id: "b", attributes: { v: 2 } },
      { id: "a", attributes: {} },
      { id: "f", attributes: { v: "a" } },
      { id: "g", attributes: { v: true } },
    ];
    const parts = [buildQueryIndex(docs.slice(0, 4), { metric: "DOT" }), buildQueryIndex(docs.slice(4), { metric: "DOT" })];
    const asc = await executeQuery(parts, parseQueryRequest({ rankBy: ["v", "asc"], topK: 7 }));
    expect(asc.rows.map((r) => r.id)).toEqual(["c", "b", "e", "f", "d", "a", "g"]);
    const desc = await executeQuery(parts, parseQueryRequest({ rankBy: ["v", "desc"], topK: 4 }));
    expect(desc.rows.map((r) => r.id)).toEqual(["d", "f", "b", "e"]);
    const ids = await executeQuery(parts, parseQueryRequest({ rankBy: ["id", "desc"], topK: 3 }));
    expect(ids.rows.map((r) => r.id)).toEqual(["g", "f", "e"]);
  });

  it("RRF fuses sub-rankings by the sum of 1 / (k + rank), ties by id", async () => {
    const docs: QueryDocument[] = [
      { id: "a", vector: [1, 0], text: { t: "zebra" } },
      { id: "b", vector: [0.9, 0.1], text: { t: "apple apple" } },
      { id: "c", vector: [0, 1], text: { t: "apple" } },
      { id: "d", vector: [0.5, 0.5], text: { t: "pear" } },
    ];
    const index = buildQueryIndex(docs, { metric: "COSINE" });
    const result = await executeQuery([index], parseQueryRequest({ rankBy: ["RRF", [["vector", "kNN", [1, 0]], ["t", "BM25", "apple"]], { k: 10 }], topK: 4 }));
    // vector ranks: a 1, b 2, d 3, c 4; BM25 ranks: b 1, c 2
    const expected = [
      ["b", 1 / 12 + 1 / 11],
      ["c", 1 / 14 + 1 / 12],
      ["a", 1 / 11],
      ["d", 1 / 13],
    ] as const;
    expect(result.rows.map((r) => r.id)).toEqual(expected.map((e) => e[0]));
    result.rows.forEach((r, i) => {
      expect(r.score).toBeCloseTo(expected[i]![1], 12);
    });
    // Weighted: the vector ranking counts 5 times, BM25 once: a (5/11) passes c (5/14 + 1/12).
    const weighted = await executeQuery([index], parseQueryRequest({ rankBy: ["RRF", [["vector", "kNN", [1, 0]], ["t", "BM25", "apple"]], { k: 10, weights: [5, 1] }], topK: 4 }));
    const scores = { a: 5 / 11, b: 5 / 12 + 1 / 11, c: 5 / 14 + 1 / 12, d: 5 / 13 };
    expect(weighted.rows.map((r) => r.id)).toEqual(["b", "a", "c", "d"]);
    for (const r of weighted.rows) expect(r.score).toBeCloseTo(scores[r.id as keyof typeof scores], 12);
    expect(() => parseQueryRequest({ rankBy: ["RRF", [["vector", "kNN", [1, 0]], ["t", "BM25", "x"]], { weights: [1] }] })).toThrow(/weights has 1 entries for 2/);
    expect(() => parseQueryRequest({ rankBy: ["RRF", [["vector", "kNN", [1, 0]]], { weights: [0] }] })).toThrow();
  });

  it("Count and groupBy aggregations match the reference, with filters, exclusions and duplicates", async () => {
    const random = seededRandom(33);
    const raw = [randomDocuments(random, 500, { dimension: 2, ids: 700 }), randomDocuments(random, 100, { dimension: 2, ids: 700 })];
    const excluded = [new Set([10, 11]), new Set([5])];
    const indexes = raw.map((d) => buildQueryIndex(d, { metric: "DOT" }));
    const live = liveDocuments(raw, excluded);
    for (let t = 0; t < 20; t++) {
      const filters = t === 0 ? undefined : randomFilter(random);
      for (const groupBy of [["color"], ["color", "flag"], ["n"]]) {
        const request = parseQueryRequest({ aggregateBy: { count: ["Count"] }, groupBy, topK: 1000, ...(filters ? { filters } : {}) });
        const result = await executeQuery(indexes, request, { exclude: (_, p) => excluded[p] });
        const counts = new Map<string, number>();
        for (const d of live) {
          if (request.filters !== undefined && !matchesFilter(d, request.filters)) continue;
          const key = JSON.stringify(groupBy.map((g) => d.attributes?.[g] ?? null));
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        const got = new Map(result.aggregationGroups!.map((g) => [JSON.stringify(groupBy.map((k) => g.group[k])), g.aggregations["count"]]));
        expect(got).toEqual(counts);
        const order = result.aggregationGroups!.map((g) => g.aggregations["count"] as number);
        expect(order).toEqual([...order].sort((a, b) => b - a));
      }
    }
  });

  it("results are identical between a strong read and a fresh build of the same version", async () => {
    const random = seededRandom(34);
    const raw = [randomDocuments(random, 2000, { dimension: 16, ids: 2500 }), randomDocuments(random, 200, { dimension: 16, ids: 2500 })];
    const build = () => raw.map((d, i) => buildQueryIndex(d, { metric: "COSINE", ann: i === 0 ? { minDocuments: 500 } : false }));
    const [a, b] = [build(), build()];
    const q = Array.from({ length: 16 }, () => gaussian(random));
    for (const rankBy of [["vector", "ANN", q], ["vector", "kNN", q], ["body", "BM25", "alpha beta"], ["price", "desc"]]) {
      const request = parseQueryRequest({ rankBy, topK: 30, includeAttributes: true });
      expect(await executeQuery(a, request)).toEqual(await executeQuery(b, request));
    }
  });
});
