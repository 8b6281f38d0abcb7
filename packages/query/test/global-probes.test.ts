/**
 * Global probing (src/query/global-probes.ts): the probe order over several
 * IVF partitions and the budget sized as one index of their rows, and
 * executeQuery over several partitions walking that order (a request's
 * `probes` is the total over all of them).
 */
import { describe, expect, it } from "vitest";
import { globalListOrder, globalProbeBudget } from "../src/global-probes.ts";
import { defaultListCount, defaultProbes } from "../src/ivf-index.ts";
import { buildQueryIndex, executeQuery, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { gaussian, seededRandom } from "./support/reference.ts";

describe("global probes", () => {
  it("a budget sized as one index of the partitions' rows, never below one partition's own probes", () => {
    const seg = (size: number) => ({ size, lists: defaultListCount(size), probes: defaultProbes(defaultListCount(size)) });
    // One partition probes exactly its own probes (explicit or stored).
    expect(globalProbeBudget([{ size: 10_500, lists: 100, probes: 8 }])).toBe(8);
    expect(globalProbeBudget([seg(1_000_000)])).toBe(30);
    // 46 segments of 217,000 rows: about what one 10M-row index probes (95 lists), not 46 x 14 = 644.
    const many = Array.from({ length: 46 }, () => seg(217_000));
    expect(many.reduce((n, p) => n + p.probes, 0)).toBe(644);
    const budget = globalProbeBudget(many);
    expect(budget).toBeGreaterThanOrEqual(defaultProbes(defaultListCount(46 * 217_000)));
    expect(budget).toBeLessThan(110);
    // Small segments carry their minimum probes' ratio; the budget never drops below the largest own probes.
    expect(globalProbeBudget([seg(5000), seg(5000), seg(5000), seg(5000)])).toBe(16);
    expect(globalProbeBudget([seg(1_000_000), seg(5000)])).toBeGreaterThanOrEqual(30);
    // A request's probes: the total over the partitions, at most all their lists.
    expect(globalProbeBudget(many, 7)).toBe(7);
    expect(globalProbeBudget([seg(5000), seg(5000)], 10_000)).toBe(2 * defaultListCount(5000));
  });

  it("orders every partition's lists by centroid score, ties by partition then list", () => {
    const order = globalListOrder([Float64Array.from([0.5, 0.9, 0.1]), Float64Array.from([0.9, 0.2]), Float64Array.from([0.5])]);
    expect(Array.from(order.partition)).toEqual([0, 1, 0, 2, 1, 0]);
    expect(Array.from(order.list)).toEqual([1, 0, 0, 0, 1, 2]);
  });

  it("executeQuery over several IVF partitions: global probing finds the exact neighbours on clustered data, and probing every list is exact", async () => {
    const random = seededRandom(7);
    const dim = 16;
    const centres = Array.from({ length: 48 }, () => Array.from({ length: dim }, () => gaussian(random)));
    const docs = (from: number, n: number): QueryDocument[] =>
      Array.from({ length: n }, (_, i) => ({ id: `d${from + i}`, vector: Float32Array.from(centres[(from + i) % 48]!, (v) => v + 0.3 * gaussian(random)) }));
    for (const metric of ["COSINE", "DOT", "EUCLIDEAN"] as const) {
      const parts = [0, 5000, 10_000, 15_000].map((from) => buildQueryIndex(docs(from, 5000), { metric, ann: true }));
      let hits = 0;
      for (let q = 0; q < 20; q++) {
        const vector = Array.from(centres[(q * 7) % 48]!, (v) => v + 0.3 * gaussian(random));
        const exact = await executeQuery(parts, parseQueryRequest({ rankBy: ["vector", "kNN", vector], topK: 10 }));
        const ann = await executeQuery(parts, parseQueryRequest({ rankBy: ["vector", "ANN", vector], topK: 10 }));
        const ids = new Set(exact.rows.map((r) => r.id));
        hits += ann.rows.filter((r) => ids.has(r.id)).length;
        const all = await executeQuery(parts, parseQueryRequest({ rankBy: ["vector", "ANN", vector], topK: 10, probes: 65_536 }));
        expect(all.rows, metric).toEqual(exact.rows);
      }
      expect(hits / 200, metric).toBeGreaterThanOrEqual(0.95);
    }
  });
});
