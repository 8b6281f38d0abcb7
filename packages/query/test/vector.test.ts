import { describe, expect, it } from "vitest";
import {
  buildQueryIndex,
  configureQueryThreads,
  type DistanceMetric,
  executeQuery,
  parseQueryRequest,
  type QueryDocument,
  warmUpQueryThreads,
} from "../src/index.ts";
import { TopK } from "../src/top-k.ts";
import { workerTaskCount } from "../src/worker-pool.ts";
import { scanRange, VectorKernel } from "../src/vector-kernel.ts";
import { gaussian, liveDocuments, matchesFilter, randomDocuments, referenceDistance, seededRandom } from "./support/reference.ts";

const METRICS: DistanceMetric[] = ["COSINE", "DOT", "EUCLIDEAN"];

/** Expect `rows` to be a correct top-k of `docs` by reference distance (float32 tolerance). */
function expectTopK(rows: readonly { id: string; distance?: number }[], docs: readonly QueryDocument[], metric: DistanceMetric, q: number[], k: number) {
  const ref = docs
    .filter((d) => d.vector !== undefined)
    .map((d) => ({ id: d.id, distance: referenceDistance(metric, q, d.vector!) }))
    .sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : 1));
  const byId = new Map(ref.map((r) => [r.id, r.distance]));
  expect(rows.length).toBe(Math.min(k, ref.length));
  const tolerance = 1e-4 * (1 + Math.abs(ref[0]?.distance ?? 0));
  rows.forEach((row, i) => {
    expect(byId.has(row.id)).toBe(true);
    expect(Math.abs(row.distance! - byId.get(row.id)!)).toBeLessThan(tolerance);
    expect(Math.abs(row.distance! - ref[i]!.distance)).toBeLessThan(tolerance);
  });
  return ref;
}

describe("dense vector ranking", () => {
  it("exact kNN matches the reference for every metric, including a metric other than the index's", async () => {
    const random = seededRandom(11);
    const docs = randomDocuments(random, 800, { dimension: 13 });
    for (const indexMetric of METRICS) {
      const index = buildQueryIndex(docs, { metric: indexMetric });
      for (const metric of METRICS) {
        for (let t = 0; t < 5; t++) {
          const q = Array.from({ length: 13 }, () => gaussian(random));
          const result = await executeQuery([index], parseQueryRequest({ rankBy: ["vector", "kNN", q], topK: 15, distanceMetric: metric }));
          expectTopK(result.rows, docs, metric, q, 15);
        }
      }
    }
  });

  it("tombstoned and shadowed documents are never returned, and only the newest version of an id is", async () => {
    const random = seededRandom(12);
    const old = randomDocuments(random, 500, { dimension: 8, ids: 600 });
    const newer = randomDocuments(random, 200, { dimension: 8, ids: 600 });
    const tail = randomDocuments(random, 30, { dimension: 8, ids: 600 });
    const raw = [old, newer, tail];
    const excluded = [new Set([0, 5, 9, 100]), new Set([1, 2, 3]), new Set([0])];
    const indexes = raw.map((d, i) => buildQueryIndex(d, { metric: "EUCLIDEAN", ann: i === 0 ? { minDocuments: 100 } : false }));
    const live = liveDocuments(raw, excluded);
    for (let t = 0; t < 10; t++) {
      // Query at an old version's vector: its stale copy must not come back.
      const stale = old.find((d) => newer.some((n) => n.id === d.id) && d.vector !== undefined)!;
      const q = t === 0 ? Array.from(stale.vector!) : Array.from({ length: 8 }, () => gaussian(random));
      const result = await executeQuery(indexes, parseQueryRequest({ rankBy: ["vector", "kNN", q], topK: 20, includeVectors: true }), {
        exclude: (_, p) => excluded[p],
      });
      expectTopK(result.rows, live, "EUCLIDEAN", q, 20);
      for (const row of result.rows) {
        const doc = live.find((d) => d.id === row.id)!;
        expect(row.vector).toEqual(Array.from(Float32Array.from(doc.vector!)));
      }
    }
  });

  it("splitting the same live documents into partitions does not change the answer", async () => {
    const random = seededRandom(13);
    const docs = randomDocuments(random, 900, { dimension: 6 });
    const whole = buildQueryIndex(docs, { metric: "COSINE" });
    const parts = [docs.slice(0, 400), docs.slice(400, 850), docs.slice(850)].map((d) => buildQueryIndex(d, { metric: "COSINE" }));
    for (let t = 0; t < 10; t++) {
      const q = Array.from({ length: 6 }, () => gaussian(random));
      const request = parseQueryRequest({ rankBy: ["vector", "kNN", q], topK: 25, filters: ["n", "Lt", 12], includeAttributes: true });
      expect(await executeQuery(parts, request)).toEqual(await executeQuery([whole], request));
    }
  });

  it("ANN recall@10 is at least 0.95 against exact search on clustered data", async () => {
    const random = seededRandom(14);
    const dim = 32;
    const centers = Array.from({ length: 40 }, () => Array.from({ length: dim }, () => gaussian(random) * 3));
    const point = () => {
      const c = centers[Math.floor(random() * centers.length)]!;
      return c.map((x) => x + gaussian(random));
    };
    const docs: QueryDocument[] = Array.from({ length: 12_000 }, (_, i) => ({ id: `p${i}`, vector: point() }));
    for (const metric of METRICS) {
      const index = buildQueryIndex(docs, { metric, ann: true });
      expect(index.ann).not.toBeNull();
      let found = 0;
      const queries = 50;
      for (let t = 0; t < queries; t++) {
        const q = point();
        const exact = await executeQuery([index], parseQueryRequest({ rankBy: ["vector", "kNN", q], topK: 10 }));
        const ann = await executeQuery([index], parseQueryRequest({ rankBy: ["vector", "ANN", q], topK: 10 }));
        const truth = new Set(exact.rows.map((r) => r.id));
        found += ann.rows.filter((r) => truth.has(r.id)).length;
      }
      expect(found / (queries * 10), metric).toBeGreaterThanOrEqual(0.95);
    }
  });

  it("ANN with a filter returns only matching documents and fills topK when enough match", async () => {
    const random = seededRandom(15);
    const docs = randomDocuments(random, 6000, { dimension: 8 });
    const index = buildQueryIndex(docs, { metric: "COSINE", ann: { minDocuments: 1000 } });
    for (const filters of [["color", "Eq", "red"], ["n", "Lt", 2], ["tags", "ContainsAny", ["tau"]]]) {
      const q = Array.from({ length: 8 }, () => gaussian(random));
      const request = parseQueryRequest({ rankBy: ["vector", "ANN", q], topK: 10, filters });
      const result = await executeQuery([index], request);
      expect(result.rows.length).toBe(10);
      for (const row of result.rows) expect(matchesFilter(docs.find((d) => d.id === row.id)!, request.filters!)).toBe(true);
    }
  });

  it("a selective filter with vector ranking scans only the matching rows and stays exact", async () => {
    const random = seededRandom(16);
    const docs = randomDocuments(random, 3000, { dimension: 8 });
    const index = buildQueryIndex(docs, { metric: "DOT" });
    const q = Array.from({ length: 8 }, () => gaussian(random));
    const request = parseQueryRequest({ rankBy: ["vector", "kNN", q], topK: 5, filters: ["And", [["n", "Eq", 3], ["color", "Eq", "blue"]]] });
    const result = await executeQuery([index], request);
    expectTopK(result.rows, docs.filter((d) => matchesFilter(d, request.filters!)), "DOT", q, 5);
  });

  it("distanceThreshold drops rows farther than the threshold", async () => {
    const docs: QueryDocument[] = [0, 1, 2, 3].map((i) => ({ id: `t${i}`, vector: [i, 0] }));
    const index = buildQueryIndex(docs, { metric: "EUCLIDEAN" });
    const result = await executeQuery([index], parseQueryRequest({ rankBy: ["vector", "kNN", [0, 0]], distanceThreshold: 2 }));
    expect(result.rows).toEqual([
      { id: "t0", distance: 0 },
      { id: "t1", distance: 1 },
      { id: "t2", distance: 2 },
    ]);
  });

  it("equal distances are ordered by id", async () => {
    const docs: QueryDocument[] = ["b", "d", "a", "c"].map((id) => ({ id, vector: [1, 1] }));
    const index = buildQueryIndex(docs, { metric: "COSINE" });
    const result = await executeQuery([index], parseQueryRequest({ rankBy: ["vector", "kNN", [1, 1]], topK: 3 }));
    expect(result.rows.map((r) => r.id)).toEqual(["a", "b", "c"]);
  });

  it("the WebAssembly SIMD kernel and the JS kernel agree", () => {
    const random = seededRandom(17);
    const docs = randomDocuments(random, 5000, { dimension: 20 });
    const index = buildQueryIndex(docs, { metric: "COSINE" });
    const { memory, layout } = index.vectors!;
    const wasm = new VectorKernel(memory, layout);
    const js = new VectorKernel(memory, layout, { wasm: false });
    expect(wasm.wasm).not.toBeNull();
    for (const mode of ["cos", "dot", "l2", "cosraw"] as const) {
      const q = Float32Array.from({ length: 20 }, () => gaussian(random));
      const a = new TopK(20);
      const b = new TopK(20);
      scanRange(wasm, 0, mode, q, 0, index.size, a, null);
      scanRange(js, 0, mode, q, 0, index.size, b, null);
      const da = a.drain();
      const db = b.drain();
      expect(Array.from(da.slots).sort()).toEqual(Array.from(db.slots).sort());
    }
  });

  it("parallel worker-thread scans (TypeScript sources) return exactly the single-thread results", async () => {
    configureQueryThreads(2);
    try {
      expect(await warmUpQueryThreads()).toBe(true);
      const random = seededRandom(18);
      const dim = 128;
      const docs: QueryDocument[] = Array.from({ length: 40_000 }, (_, i) => ({
        id: `w${i}`,
        vector: Float32Array.from({ length: dim }, () => gaussian(random)),
        attributes: { k: i % 3 },
      }));
      const index = buildQueryIndex(docs, { metric: "COSINE" });
      const excluded = new Set([5, 17, 40_000 - 1]);
      for (let t = 0; t < 3; t++) {
        const q = Array.from({ length: dim }, () => gaussian(random));
        const request = parseQueryRequest({ rankBy: ["vector", "kNN", q], topK: 10, ...(t === 2 ? { filters: ["k", "NotEq", 1] } : {}) });
        const exclude = () => excluded;
        const before = workerTaskCount();
        const parallel = await executeQuery([index], request, { exclude });
        expect(workerTaskCount()).toBe(before + 2);
        const single = await executeQuery([index], request, { exclude, parallel: false });
        expect(parallel).toEqual(single);
      }
    } finally {
      configureQueryThreads(0);
    }
  });
});
