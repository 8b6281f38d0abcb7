/**
 * ANN over several segments through the engine: the lists are chosen by one
 * global ranking of every segment's centroids with one probe budget
 * (src/query/global-probes.ts), by the loaded path and by cold ranged
 * reads alike: with a wide re-rank the cold rows equal the loaded rows,
 * over tombstones, rows a newer segment rewrote or deleted, and a tail, in
 * every metric; recall@10 against exact kNN stays >= 0.95; a cold query
 * reads fewer lists than the segments' own probes together, and a
 * request's `probes` is the total over the segments.
 */
import { MemoryStorage, type GetOptions, type GetResult } from "@skerry/storage-providers";
import { decodeBlockFileDirectory } from "@skerry/wal-format";
import { describe, expect, it } from "vitest";
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { makeEngine } from "./support/harness.ts";

const DIM = 16;
const CENTRES = 40;
const SEGMENTS = 5;

/** Memory storage that records the byte ranges read from query index objects. */
class RangeRecordingStorage extends MemoryStorage {
  readonly ranges: { key: string; offset: number; length: number }[] = [];
  override async get(key: string, options?: GetOptions): Promise<GetResult> {
    const result = await super.get(key, options);
    if (key.endsWith(".qidx")) this.ranges.push({ key, offset: options?.range?.offset ?? 0, length: result.bytes.byteLength });
    return result;
  }
}

function generator(seed: number) {
  let x = seed;
  const random = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: CENTRES }, () => Array.from({ length: DIM }, gauss));
  const near = (c: number) => centres[c % CENTRES]!.map((v) => v + 0.3 * gauss());
  return { near };
}

const idOf = (n: number) => `p-${String(n).padStart(6, "0")}`;

/** SEGMENTS indexed segments (tombstones in the first, rewrites and deletes of older rows in the last) and a tail. */
async function namespace(metric: "cosine" | "dot" | "euclidean"): Promise<{ storage: RangeRecordingStorage; ns: string; near: (c: number) => number[] }> {
  const storage = new RangeRecordingStorage();
  const { near } = generator(99);
  const writer: NamespaceEngine = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 1, mergeFactor: 100 } });
  const ns = `acme/global/${metric}`;
  await writer.createNamespace(ns, { distanceMetric: metric });
  const doc = (n: number, c = n): DocumentInput => ({ id: idOf(n), vector: near(c), attributes: { n } });
  for (let s = 0; s < SEGMENTS - 1; s++) {
    await writer.upsert(ns, Array.from({ length: 4500 }, (_, i) => doc(s * 4500 + i)));
    expect((await writer.compact(ns)).performed).toBe(true);
  }
  await writer.deleteByFilter(ns, ["n", "Lt", 60]);
  // The last segment: new rows, rewrites of older segments' rows (near other centres), deletes of older rows.
  await writer.upsert(ns, [...Array.from({ length: 4200 }, (_, i) => doc(100_000 + i)), ...Array.from({ length: 300 }, (_, i) => doc(100 + i * 11, i + 3))]);
  await writer.delete(ns, Array.from({ length: 150 }, (_, i) => idOf(5000 + i * 7)));
  expect((await writer.compact(ns)).performed).toBe(true);
  // The tail: new rows, a rewrite, deletes.
  await writer.upsert(ns, [...Array.from({ length: 40 }, (_, i) => doc(200_000 + i)), doc(9001, 5)]);
  await writer.delete(ns, [idOf(9002), idOf(100_001)]);
  const manifest = await writer.manifest(ns);
  expect(manifest.containers.filter((c) => c.kind === "SEGMENT" && c.extra?.["index_key"] !== undefined).length).toBe(SEGMENTS);
  return { storage, ns, near };
}

/** Reads of the `clusters` section (one per probed list) among the recorded ranges from `from` on. */
async function listReads(storage: RangeRecordingStorage, from: number): Promise<number> {
  const sections = new Map<string, { offset: number; length: number }>();
  let reads = 0;
  for (const range of storage.ranges.slice(from)) {
    let section = sections.get(range.key);
    if (section === undefined) {
      const bytes = (await storage.get(range.key)).bytes;
      section = decodeBlockFileDirectory(bytes, bytes.byteLength).section("clusters")!;
      sections.set(range.key, section);
    }
    if (range.offset >= section.offset && range.offset + range.length <= section.offset + section.length) reads++;
  }
  return reads;
}

describe("ANN over several segments (global probing)", () => {
  for (const metric of ["cosine", "dot", "euclidean"] as const) {
    it(`${metric}: cold rows equal the loaded rows with a wide re-rank; recall@10 >= 0.95; fewer lists than per-segment probing`, async () => {
      const { storage, ns, near } = await namespace(metric);
      const loaded = makeEngine(storage, { queryCache: { coldReads: false } });
      let found = 0;
      let wanted = 0;
      let coldFound = 0;
      for (let q = 0; q < 12; q++) {
        const vector = near(q * 3);
        const exact = await loaded.query(ns, { rankBy: ["vector", "kNN", vector], topK: 10 });
        for (const request of [
          { rankBy: ["vector", "ANN", vector], topK: 10, includeAttributes: true },
          { rankBy: ["vector", "ANN", vector], topK: 25, probes: 3, includeVectors: true },
          { rankBy: ["vector", "ANN", vector], topK: 10, probes: 65_536 },
        ]) {
          const expected = await loaded.query(ns, request);
          const wide = makeEngine(storage, { queryCache: { coldRerank: 1_000_000 } });
          expect(await wide.query(ns, request), `${metric} q${q} ${JSON.stringify(request.probes)}`).toEqual(expected);
          expect(wide.queryStats().coldQueries).toBe(1);
          // Probing every list is the exact answer.
          if (request.probes === 65_536) expect(expected.rows).toEqual(exact.rows);
        }
        const ids = new Set(exact.rows.map((r) => r.id));
        const ann = await loaded.query(ns, { rankBy: ["vector", "ANN", vector], topK: 10 });
        found += ann.rows.filter((r) => ids.has(r.id)).length;
        wanted += exact.rows.length;
        // The default re-rank, cold: recall, and the lists it reads.
        const from = storage.ranges.length;
        const cold = makeEngine(storage);
        const got = await cold.query(ns, { rankBy: ["vector", "ANN", vector], topK: 10 });
        expect(cold.queryStats().coldQueries).toBe(1);
        coldFound += got.rows.filter((r) => ids.has(r.id)).length;
        // Each segment alone would probe at least 8 lists (defaultProbes); globally far fewer in all.
        const reads = await listReads(storage, from);
        expect(reads).toBeGreaterThan(0);
        expect(reads).toBeLessThanOrEqual((SEGMENTS * 8) / 2);
      }
      expect(found / wanted, `${metric} loaded recall`).toBeGreaterThanOrEqual(0.95);
      expect(coldFound / wanted, `${metric} cold recall`).toBeGreaterThanOrEqual(0.95);
    });
  }

  it("a request's probes is the total number of lists probed over all the segments", async () => {
    const { storage, ns, near } = await namespace("cosine");
    for (const probes of [1, 2, 7]) {
      const from = storage.ranges.length;
      // One GET per list (no coalescing of close lists), so the reads count the lists.
      const cold = makeEngine(storage, { queryCache: { coldReadGapBytes: 0 } });
      const got = await cold.query(ns, { rankBy: ["vector", "ANN", near(4)], topK: 5, probes });
      expect(got.rows.length).toBe(5);
      expect(await listReads(storage, from)).toBe(probes);
    }
  });

  it("globalProbes false: each segment probes its own lists (probes per segment), cold and loaded alike", async () => {
    const { storage, ns, near } = await namespace("cosine");
    const perSegment = { globalProbes: false };
    const loaded = makeEngine(storage, { queryCache: { ...perSegment, coldReads: false } });
    for (const request of [
      { rankBy: ["vector", "ANN", near(1)], topK: 10, includeAttributes: true },
      { rankBy: ["vector", "ANN", near(8)], topK: 20, probes: 2 },
    ]) {
      const expected = await loaded.query(ns, request);
      const from = storage.ranges.length;
      const cold = makeEngine(storage, { queryCache: { ...perSegment, coldRerank: 1_000_000, coldReadGapBytes: 0 } });
      expect(await cold.query(ns, request)).toEqual(expected);
      // Every segment reads its own probes: at least `probes` (default 8) lists each.
      expect(await listReads(storage, from)).toBeGreaterThanOrEqual(SEGMENTS * (request.probes ?? 8));
    }
  });
});
