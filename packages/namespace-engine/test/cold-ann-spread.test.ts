/**
 * Dense rankings with a selective filter whose matches lie in most of a
 * segment's clusters (here: every cluster). The loaded path scans a
 * selective filter's matches exactly (ANN or kNN); the cold path used to
 * load the indexes when the matches touched more than a quarter of the
 * clusters. Now such a segment's matching rows are streamed in bounded
 * batches of just the clusters holding one (cold-vector-filter.ts, through
 * cold-exact-vector.ts): the rows equal the loaded rows, with every segment
 * selective or only some (the others probed), over tombstones and a tail,
 * small batches; no index is loaded or read whole; a damaged block is
 * Corrupt naming the index.
 */
import { type GetOptions, type GetResult, MemoryStorage } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const DIM = 8;
const CENTRES = 30;
const NS = "acme/ann-spread/docs";

function generator(seed: number) {
  let x = seed;
  const random = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: CENTRES }, () => Array.from({ length: DIM }, gauss));
  return (c: number) => centres[c % CENTRES]!.map((v) => v + 0.3 * gauss());
}

/** Memory storage that counts GETs of a whole query index object (no range). */
class CountingStorage extends MemoryStorage {
  wholeIndexGets = 0;
  override get(key: string, options?: GetOptions): Promise<GetResult> {
    if (key.endsWith(".qidx") && options?.range === undefined) this.wholeIndexGets++;
    return super.get(key, options);
  }
}

const idOf = (n: number) => `p-${String(n).padStart(6, "0")}`;
const near = generator(23);

/** Two IVF segments (4,200 rows each, every centre in both), tombstones in the first, a tail of rewrites and deletes. */
async function namespace(storage: MemoryStorage, metric: "cosine" | "euclidean"): Promise<NamespaceEngine> {
  const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 1, mergeFactor: 100 } });
  await writer.createNamespace(NS, { distanceMetric: metric });
  const doc = (n: number, c = n % CENTRES): DocumentInput => ({ id: idOf(n), vector: near(c), attributes: { n, c } });
  for (let s = 0; s < 2; s++) {
    await writer.upsert(NS, Array.from({ length: 4200 }, (_, i) => doc(s * 4200 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
  }
  await writer.deleteByFilter(NS, ["n", "Lt", 30]);
  await writer.upsert(NS, [...Array.from({ length: 20 }, (_, i) => doc(20_000 + i)), doc(8203, 3), doc(100, 3), doc(4500, 7)]);
  await writer.delete(NS, [idOf(8233), idOf(303)]);
  return writer;
}

// Selective in both segments (400 of 4,200 rows each, every centre): the filtered dense path, both segments streamed.
const BOTH = ["Or", [["n", "Lt", 400], ["n", "Gte", 8000]]];
// Not selective in the first segment (half its rows: probed), selective and spread in the second.
const MIXED = ["Or", [["n", "Lt", 2100], ["n", "Gte", 8000]]];

describe("cold dense rankings with a selective filter spread over most clusters", () => {
  for (const metric of ["cosine", "euclidean"] as const) {
    it(`${metric}: streams the matching rows and answers exactly like the loaded path`, async () => {
      const storage = new CountingStorage();
      await namespace(storage, metric);
      for (const extra of [{}, { globalProbes: false, coldExactBatchBytes: 16 * 1024 }]) {
        const loaded = makeEngine(storage, { queryCache: { ...extra, coldReads: false } });
        for (let q = 0; q < 4; q++) {
          const vector = near(q * 7 + 3);
          for (const request of [
            { rankBy: ["vector", "ANN", vector], topK: 10, filters: BOTH, includeAttributes: true },
            { rankBy: ["vector", "kNN", vector], topK: 25, filters: BOTH, includeVectors: true },
            { rankBy: ["vector", "ANN", vector], topK: 10, filters: MIXED, includeAttributes: ["n"] },
            { rankBy: ["vector", "ANN", vector], topK: 30, probes: 3, filters: MIXED, includeVectors: true },
            { rankBy: ["vector", "ANN", vector], topK: 5, filters: BOTH, limitPer: { attributes: ["c"], limit: 1 }, includeAttributes: ["c"] },
          ]) {
            const expected = await loaded.query(NS, request);
            expect(expected.rows.length).toBeGreaterThan(0);
            // No background load after the cold query (the budget is too small), so every index GET is the query's.
            const cold = makeEngine(storage, { queryCache: { ...extra, coldRerank: 1_000_000, segmentIndexBytes: 1024 } });
            storage.wholeIndexGets = 0;
            const label = `${metric} ${JSON.stringify(extra)} q${q} ${JSON.stringify(request.filters)} ${request.rankBy[1]}`;
            expect(await cold.query(NS, request), label).toEqual(expected);
            const stats = cold.queryStats();
            expect(stats.coldQueries, label).toBe(1);
            expect(stats.segmentIndexes.loads, label).toBe(0);
            expect(storage.wholeIndexGets, label).toBe(0);
          }
        }
      }
    }, 240_000);
  }

  it("finds a damaged block of a streamed segment: Corrupt naming the index", async () => {
    const storage = new MemoryStorage();
    await namespace(storage, "cosine");
    const request = { rankBy: ["vector", "ANN", near(3)], topK: 10, filters: BOTH, includeAttributes: true };
    for (const { key } of await indexObjects(storage)) {
      const original = (await storage.get(key)).bytes;
      // The clusters (and format 4's vectors) of the streamed rows, the filter's postings, the row store.
      const failures = await corruptSectionFailures(storage, key, () => makeEngine(storage).query(NS, request));
      expect(failures).toBeGreaterThanOrEqual(2);
      await storage.put(key, original, { mode: { kind: "overwrite" } });
    }
  }, 120_000);

  it("reads the matching rows' vector blocks in a bounded number of ranged reads (wide rows, every cluster)", async () => {
    const storage = new CountingStorage();
    const wide = (i: number) => Array.from({ length: 256 }, (_, d) => Math.sin(i * 0.37 + d * 0.11) + ((i * d) % 7) / 10);
    const writer = makeEngine(storage);
    await writer.createNamespace(NS, { distanceMetric: "euclidean" });
    await writer.upsert(NS, Array.from({ length: 4000 }, (_, i) => ({ id: idOf(i), vector: wide(i), attributes: { n: i, m: i % 11 } })));
    await writer.compact(NS, { force: true });
    // 364 matching rows, 11 rows apart: each in its own vector block (4 rows of 1 KiB).
    for (const mode of ["kNN", "ANN"]) {
      const request = { rankBy: ["vector", mode, wide(77_777)], topK: 10, filters: ["m", "Eq", 0], includeAttributes: true };
      const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
      const cold = makeEngine(storage, { queryCache: { segmentIndexBytes: 1024 } });
      storage.wholeIndexGets = 0;
      expect(await cold.query(NS, request), mode).toEqual(expected);
      expect(cold.queryStats().coldQueries, mode).toBe(1);
      expect(storage.wholeIndexGets, mode).toBe(0);
      // At most 32 ranges of vectors per part of a batch (4 parts), beside the clusters, filter and rows.
      expect(cold.queryStats().coldReads, mode).toBeLessThan(250);
    }
  }, 120_000);
});
