/**
 * limitPer (diversity): at most `limit` rows per tuple of attribute values,
 * in rank order, the first topK that pass: checked against cutting the full
 * ranking, for every exact ranking kind, with filters, over partitions, and
 * where the answer lies far below the first topK ranked rows.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, parseQueryRequest } from "../src/index.ts";
import { liveDocuments, randomDocuments, randomFilter, seededRandom } from "./support/reference.ts";

describe("limitPer", () => {
  it("equals the full ranking cut per key, for every exact ranking", async () => {
    const random = seededRandom(91);
    const raw = [randomDocuments(random, 500, { dimension: 4, ids: 800 }), randomDocuments(random, 150, { dimension: 4, ids: 800 })];
    const excluded = [new Set([4, 9]), new Set([2])];
    const indexes = raw.map((d) => buildQueryIndex(d, { metric: "COSINE", ann: false }));
    const total = liveDocuments(raw, excluded).length;
    const q = [0.3, -0.2, 0.9, 0.1];
    const rankings: unknown[] = [["vector", "kNN", q], ["body", "BM25", "alpha beta"], ["price", "desc"], [["color", "asc"], ["n", "desc"]], undefined];
    for (let t = 0; t < 6; t++) {
      const filters = t === 0 ? undefined : randomFilter(random);
      for (const rankBy of rankings) {
        for (const per of [{ attributes: ["color"], limit: 1 }, { attributes: ["color", "flag"], limit: 2 }, { attributes: ["n"], limit: 3 }]) {
          const base = { ...(rankBy === undefined ? {} : { rankBy }), ...(filters === undefined ? {} : { filters }) };
          const full = await executeQuery(indexes, parseQueryRequest({ ...base, topK: 10_000, includeAttributes: per.attributes }), { exclude: (_, p) => excluded[p] });
          expect(full.rows.length).toBeLessThanOrEqual(total);
          const seen = new Map<string, number>();
          const expected = full.rows.filter((r) => {
            const key = JSON.stringify(per.attributes.map((a) => r.attributes?.[a] ?? null));
            const n = seen.get(key) ?? 0;
            if (n >= per.limit) return false;
            seen.set(key, n + 1);
            return true;
          });
          for (const topK of [1, 5, 25]) {
            const got = await executeQuery(indexes, parseQueryRequest({ ...base, topK, limitPer: per }), { exclude: (_, p) => excluded[p] });
            expect(got.rows.map((r) => r.id), JSON.stringify({ rankBy, per, topK })).toEqual(expected.slice(0, topK).map((r) => r.id));
          }
        }
      }
    }
  });

  it("finds rows far below the first topK of the ranking, and refuses it with aggregations or RRF", async () => {
    // 300 documents of one author rank first; the second author's only document ranks last.
    const docs = Array.from({ length: 301 }, (_, i) => ({ id: `d${String(i).padStart(3, "0")}`, attributes: { author: i < 300 ? "a" : "b", rank: i } }));
    const index = buildQueryIndex(docs, { metric: "COSINE" });
    const got = await executeQuery([index], parseQueryRequest({ rankBy: ["rank", "asc"], topK: 2, limitPer: { attributes: ["author"], limit: 1 } }));
    expect(got.rows.map((r) => r.id)).toEqual(["d000", "d300"]);
    expect(() => parseQueryRequest({ aggregateBy: { c: ["Count"] }, limitPer: { attributes: ["a"], limit: 1 } })).toThrow(/aggregateBy/);
    expect(() => parseQueryRequest({ rankBy: ["RRF", [["a", "asc"]]], limitPer: { attributes: ["a"], limit: 1 } })).toThrow(/RRF/);
    expect(() => parseQueryRequest({ limitPer: { attributes: [], limit: 1 } })).toThrow();
    expect(() => parseQueryRequest({ limitPer: { attributes: ["a"], limit: 0 } })).toThrow();
  });
});
