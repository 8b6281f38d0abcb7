/**
 * Cold queries through the engine: a plain ANN query on a compacted
 * namespace whose segment index is not loaded is answered by ranged reads
 * of the stored index (the eager region, the probed lists, the returned
 * rows), with exactly the rows a loaded index gives, over a tail of
 * upserts, patches and deletes and the segment's tombstones; damage to the
 * index is Corrupt naming it. The index is format 4: the first pass reads
 * 8-bit codes and re-ranks `coldRerank` candidates with full precision, so
 * exactness needs a re-rank wide enough (`WIDE`); the default one is
 * checked for recall and for exact distances.
 */
import { CachingStorage, FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import { type DocumentInput, isCorrupt, type NamespaceEngine } from "@skerry/namespace-engine";
import { decodeBlockFileDirectory } from "@skerry/wal-format";
import { allKeys, errorOf, makeEngine } from "./support/harness.ts";

const NS = "acme/cold/docs";
const DIM = 8;
const DOCS = 5000; // the compactor trains IVF lists from 4,096 vectors
/** A re-rank wider than any scan: every live row of the probed lists is scored with full precision. */
const WIDE = { queryCache: { coldRerank: 1_000_000 } };

function vectorOf(i: number): number[] {
  return Array.from({ length: DIM }, (_, d) => Math.sin(i * (d + 1) * 0.37) + ((i * 7 + d) % 5) * 0.1);
}

function doc(i: number): DocumentInput {
  return { id: `doc-${String(i).padStart(5, "0")}`, vector: vectorOf(i), attributes: { n: i, color: ["red", "green", "blue"][i % 3]!, tags: [`t${i % 4}`] } };
}

async function compacted(): Promise<{ storage: MemoryStorage; writer: NamespaceEngine }> {
  const storage = new MemoryStorage();
  const writer = makeEngine(storage);
  await writer.createNamespace(NS, { distanceMetric: "cosine" });
  for (let at = 0; at < DOCS; at += 1000) await writer.upsert(NS, Array.from({ length: 1000 }, (_, i) => doc(at + i)));
  // Tombstones in the segment: a predicate delete after compaction.
  await writer.compact(NS, { force: true });
  await writer.deleteByFilter(NS, ["n", "Lt", 50]);
  return { storage, writer };
}

async function indexObject(storage: MemoryStorage): Promise<{ key: string; size: number }> {
  const key = (await allKeys(storage)).find((k) => k.endsWith(".qidx"))!;
  return { key, size: (await storage.head(key))!.size };
}

const requests = [
  { rankBy: ["vector", "ANN", vectorOf(77)], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "ANN", vectorOf(4242)], topK: 30, includeAttributes: ["color", "missing", "n"], includeVectors: true },
  { rankBy: ["vector", "ANN", vectorOf(3)], topK: 5, probes: 1 },
  { rankBy: ["vector", "ANN", vectorOf(9)], topK: 20, distanceThreshold: 0.05 },
  // limitPer: the ranking asked for more rows until the cut keeps topK (each row's tuple from its row store entry).
  { rankBy: ["vector", "ANN", vectorOf(12)], limitPer: { attributes: ["color"], limit: 2 }, topK: 6, includeAttributes: ["color"] },
  { rankBy: ["vector", "ANN", vectorOf(13)], limitPer: { attributes: ["tags", "color"], limit: 1 }, topK: 12, distanceThreshold: 0.3 },
  { rankBy: ["vector", "ANN", vectorOf(14)], limitPer: { attributes: ["missing"], limit: 3 }, topK: 5, includeVectors: true },
];

describe("cold queries", () => {
  it("answer from ranged reads of the stored index, exactly like the loaded index, and load it in the background", async () => {
    const { storage, writer } = await compacted();
    // A tail over the segment: rewrites, new documents, deletes, a patch.
    await writer.upsert(NS, [doc(5001), { ...doc(100), vector: vectorOf(77) }, doc(5002)]);
    await writer.delete(NS, ["doc-00101", "doc-00102"]);
    for (const request of requests) {
      const warm = makeEngine(storage, { queryCache: { coldReads: false } });
      const expected = await warm.query(NS, request);
      expect(warm.queryStats().coldQueries).toBe(0);
      const cold = makeEngine(storage, WIDE);
      const got = await cold.query(NS, request);
      expect(got, JSON.stringify(request)).toEqual(expected);
      const stats = cold.queryStats();
      expect(stats.coldQueries).toBe(1);
      // queryRows (what the server streams): the same JSON text, row by row.
      const warmRows = await warm.queryRows(NS, request);
      const coldRows = await makeEngine(storage, WIDE).queryRows(NS, request);
      expect(coldRows.rows.length).toBe(warmRows.rows.length);
      for (let i = 0; i < warmRows.rows.length; i++) expect(coldRows.rows.json(i)).toBe(warmRows.rows.json(i));
      expect(stats.coldReads).toBeGreaterThanOrEqual(2);
      // (limitPer's rounds each probe again.)
      if (!("limitPer" in request)) expect(stats.coldBytes).toBeLessThan((await indexObject(storage)).size / 2);
    }
    // The background load makes the next query warm.
    const cold = makeEngine(storage);
    await cold.query(NS, requests[0]!);
    await expect.poll(() => cold.queryStats().segmentIndexes.entries).toBe(1);
    await cold.query(NS, requests[1]!);
    expect(cold.queryStats().coldQueries).toBe(1);

    // A tail PATCH of a segment document: its base is read by ranges from the index (cold-tail-bases.ts), still cold.
    await writer.patch(NS, [{ id: "doc-00103", attributes: { color: "violet" } }]);
    const patched = makeEngine(storage);
    expect(await patched.query(NS, requests[0]!)).toEqual(await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, requests[0]!));
    expect(patched.queryStats().coldQueries).toBe(1);
  });

  it("over several segments (tiered compaction): rows a newer segment rewrote or deleted are dead, exactly like the loaded indexes", async () => {
    const storage = new MemoryStorage();
    const compaction = { auto: false, policy: "tiered" as const, maxLogBatches: 3, mergeFactor: 100 };
    const writer = makeEngine(storage, { compaction });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 1700 }, (_, i) => doc(b * 1700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    // The second segment: new documents, rewrites of the first segment's (moved next to other queries), deletes.
    await writer.upsert(NS, Array.from({ length: 2500 }, (_, i) => doc(10_000 + i)));
    await writer.upsert(NS, [
      ...Array.from({ length: 2000 }, (_, i) => doc(12_500 + i)),
      ...Array.from({ length: 600 }, (_, i) => ({ ...doc(i * 8), vector: vectorOf(4242 + (i % 7)) })),
    ]);
    await writer.delete(NS, Array.from({ length: 200 }, (_, i) => `doc-${String(i * 8 + 3).padStart(5, "0")}`));
    expect((await writer.compact(NS)).performed).toBe(true);
    const manifest = await writer.manifest(NS);
    const segments = manifest.containers.filter((c) => c.kind === "SEGMENT" && c.extra?.["index_key"] !== undefined);
    expect(segments.length).toBe(2);
    expect(segments.some((c) => Array.isArray(c.extra?.["deleted_ids"]))).toBe(true);
    await writer.upsert(NS, [doc(20_000), { ...doc(16), vector: vectorOf(77) }]);
    for (const request of [...requests, { rankBy: ["vector", "ANN", vectorOf(4243)], topK: 50, includeAttributes: true, probes: 20 },
      // Near the old vectors of rewritten documents: their first-segment rows must not answer.
      { rankBy: ["vector", "ANN", vectorOf(8)], topK: 10, includeAttributes: true },
      { rankBy: ["vector", "ANN", vectorOf(24)], topK: 10 },
    ]) {
      const warm = makeEngine(storage, { queryCache: { coldReads: false } });
      const expected = await warm.query(NS, request);
      const cold = makeEngine(storage, WIDE);
      expect(await cold.query(NS, request), JSON.stringify(request)).toEqual(expected);
      expect(cold.queryStats().coldQueries).toBe(1);
      // The default re-rank (shadowing asked only for the rows it keeps): every row is the live version, with its exact distance.
      const narrow = makeEngine(storage);
      const exact = await warm.query(NS, { rankBy: ["vector", "kNN", request.rankBy[2]], topK: 10_000 });
      const live = new Map(exact.rows.map((r) => [r.id, r.distance]));
      for (const row of (await narrow.query(NS, request)).rows) expect(row.distance, `${JSON.stringify(request)} ${row.id}`).toBe(live.get(row.id));
      expect(narrow.queryStats().coldQueries).toBe(1);
    }
  });

  it("hit the engine's block cache: a repeated cold query reads nothing more from storage", async () => {
    const { storage } = await compacted();
    const counted = new FaultInjectingStorage(storage);
    // segmentIndexBytes 0: the index never fits, so every query stays cold.
    const engine = makeEngine(counted, { queryCache: { segmentIndexBytes: 0 }, blockCache: { memoryBytes: 64 * 1024 * 1024 } });
    expect(engine.storage).toBeInstanceOf(CachingStorage);
    const request = requests[1]!;
    const first = await engine.query(NS, request);
    const gets = () => counted.calls.filter((c) => c.op === "get" && c.key.endsWith(".qidx")).length;
    const before = gets();
    expect(await engine.query(NS, request)).toEqual(first);
    expect(engine.queryStats().coldQueries).toBe(2);
    expect(gets()).toBe(before);
    expect((engine.storage as CachingStorage).stats().memoryHits).toBeGreaterThan(0);
  });

  it("with a filter that is not selective skip the rows it does not match like dead ones, exactly like the loaded index", async () => {
    const { storage, writer } = await compacted();
    await writer.upsert(NS, [doc(5001), { ...doc(100), vector: vectorOf(77) }, { ...doc(6), attributes: { n: 6, color: "blue", tags: ["t9"] } }]);
    await writer.delete(NS, ["doc-00101", "doc-00102"]);
    for (let b = 0; b < 4; b++) await writer.upsert(NS, [doc(6000 + b), { ...doc(200 + b), vector: vectorOf(78 + b) }]);
    const filtered = [
      { rankBy: ["vector", "ANN", vectorOf(77)], filters: ["color", "Eq", "red"], topK: 10, includeAttributes: true },
      { rankBy: ["vector", "ANN", vectorOf(4242)], filters: ["And", [["n", "Gte", 1000], ["tags", "ContainsAny", ["t1", "t2", "t9"]]]], topK: 30, includeVectors: true },
      { rankBy: ["vector", "ANN", vectorOf(3)], filters: ["Not", ["color", "Eq", "green"]], topK: 5, probes: 1 },
      { rankBy: ["vector", "ANN", vectorOf(9)], filters: ["n", "Lt", 4500], topK: 20, distanceThreshold: 0.05 },
      { rankBy: ["vector", "ANN", vectorOf(12)], filters: ["color", "In", ["red", "blue"]], limitPer: { attributes: ["tags"], limit: 2 }, topK: 8 },
    ];
    for (const options of [{}, { globalProbes: false }, { tailChunkContainers: 2 }]) {
      for (const request of filtered) {
        const expected = await makeEngine(storage, { queryCache: { coldReads: false, ...options } }).query(NS, request);
        const cold = makeEngine(storage, { queryCache: { ...WIDE.queryCache, ...options } });
        expect(await cold.query(NS, request), JSON.stringify([request, options])).toEqual(expected);
        expect(cold.queryStats().coldQueries).toBe(1);
        expect(cold.queryStats().segmentIndexes.loads).toBe(0);
      }
    }
    // A selective filter over this segment (reordered by IVF, with tombstones), its matches in most clusters: the
    // matching rows are streamed (cold-vector-filter.ts), still cold and equal to the loaded rows.
    const selective = { rankBy: ["vector", "ANN", vectorOf(1)], topK: 3, filters: ["n", "Lt", 100] };
    const engine = makeEngine(storage);
    expect(await engine.query(NS, selective)).toEqual(await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, selective));
    expect(engine.queryStats().coldQueries).toBe(1);
  });

  it("are not used for other rankings, or when turned off", async () => {
    const { storage } = await compacted();
    const engine = makeEngine(storage);
    await engine.query(NS, { rankBy: ["vector", "ANN", vectorOf(1)], distanceMetric: "EUCLIDEAN", topK: 3 }); // ANN by another metric than the index's: loaded
    await engine.query(NS, { rankBy: ["vector", "kNN", vectorOf(1)], topK: 3 }); // now warm
    expect(engine.queryStats().coldQueries).toBe(0);
    const off = makeEngine(storage, { queryCache: { coldReads: false } });
    await off.query(NS, { rankBy: ["vector", "ANN", vectorOf(1)], topK: 3, filters: ["color", "Eq", "red"] });
    expect(off.queryStats().coldQueries).toBe(0);
  });

  it("find a damaged or missing stored index: Corrupt naming it, never a silent answer", async () => {
    const { storage } = await compacted();
    const index = await indexObject(storage);
    const original = (await storage.get(index.key)).bytes;
    const directory = decodeBlockFileDirectory(original, original.byteLength);
    const clusters = directory.section("clusters")!;
    const meta = directory.section("meta.json")!;
    for (const at of [clusters.offset + 100, clusters.offset + Math.floor(clusters.length / 2), meta.offset + 3, original.byteLength - 1]) {
      const damaged = original.slice();
      damaged[at]! ^= 0x20;
      await storage.put(index.key, damaged, { mode: { kind: "overwrite" } });
      // Probe every list, so the damaged cluster is read whichever it is.
      const error = await errorOf(makeEngine(storage).query(NS, { rankBy: ["vector", "ANN", vectorOf(5)], topK: 5, probes: 10_000 }));
      expect(isCorrupt(error), `byte ${at}: ${String(error)}`).toBe(true);
      expect((error as { key: string }).key).toBe(index.key);
    }
    // With a filter: its postings, number order and tags are read too; a damaged block of any is Corrupt.
    const filtered = { rankBy: ["vector", "ANN", vectorOf(5)], topK: 5, probes: 10_000, filters: ["Or", [["n", "Gte", 100], ["color", "In", ["red"]], ["tags", "ContainsAny", ["t1"]]]] };
    let failures = 0;
    for (const section of directory.sections.filter((x) => !x.eager && x.length > 0)) {
      const damaged = original.slice();
      damaged[section.offset + Math.floor(section.length / 2)]! ^= 0x20;
      await storage.put(index.key, damaged, { mode: { kind: "overwrite" } });
      const engine = makeEngine(storage);
      const error = await engine.query(NS, filtered).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error === undefined) continue; // a section this query does not read
      failures++;
      expect(isCorrupt(error), `${section.name}: ${String(error)}`).toBe(true);
      expect((error as { key: string }).key).toBe(index.key);
      expect(engine.queryStats().segmentIndexes.loads).toBe(0);
    }
    expect(failures).toBeGreaterThanOrEqual(4);
    await storage.delete(index.key);
    const error = await errorOf(makeEngine(storage).query(NS, { rankBy: ["vector", "ANN", vectorOf(5)], topK: 5 }));
    expect(isCorrupt(error)).toBe(true);
    expect((error as { key: string }).key).toBe(index.key);
  });

  it("every metric: a wide re-rank gives exactly the loaded rows; the default one returns each row with the loaded path's exact distance", async () => {
    for (const metric of ["cosine", "dot", "euclidean"] as const) {
      const storage = new MemoryStorage();
      const writer = makeEngine(storage);
      const ns = `acme/cold/${metric}`;
      await writer.createNamespace(ns, { distanceMetric: metric });
      for (let at = 0; at < DOCS; at += 1000) await writer.upsert(ns, Array.from({ length: 1000 }, (_, i) => doc(at + i)));
      await writer.compact(ns, { force: true });
      await writer.deleteByFilter(ns, ["n", "Lt", 50]);
      await writer.upsert(ns, [doc(5001), { ...doc(200), vector: vectorOf(77) }]);
      await writer.delete(ns, ["doc-00201", "doc-00202"]);
      const warm = makeEngine(storage, { queryCache: { coldReads: false } });
      for (const request of [...requests, { rankBy: ["vector", "ANN", vectorOf(1234)], topK: 15, probes: 4, includeVectors: true, distanceThreshold: 50 }]) {
        const expected = await warm.query(ns, request);
        const wide = makeEngine(storage, WIDE);
        expect(await wide.query(ns, request), `${metric} ${JSON.stringify(request)}`).toEqual(expected);
        expect(wide.queryStats().coldQueries).toBe(1);
        const narrow = makeEngine(storage);
        const got = await narrow.query(ns, request);
        expect(narrow.queryStats().coldQueries).toBe(1);
        // Every returned row is a live row with the bits the loaded path gives it.
        const exact = await warm.query(ns, { rankBy: ["vector", "kNN", request.rankBy[2]], topK: 10_000, includeVectors: true });
        const byId = new Map(exact.rows.map((r) => [r.id, r]));
        for (const row of got.rows) {
          expect(row.distance, `${metric} ${row.id}`).toBe(byId.get(row.id)?.distance);
          if ("includeVectors" in request) expect(row.vector).toEqual(byId.get(row.id)?.vector);
        }
        // The default re-rank misses little here: most of the loaded rows.
        const ids = new Set(expected.rows.map((r) => r.id));
        expect(got.rows.filter((r) => ids.has(r.id)).length).toBeGreaterThanOrEqual(Math.floor(expected.rows.length * 0.8));
      }
    }
  });

  it("recall@10 against exact kNN is at least 0.95 with the default re-rank on clustered data", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage);
    const ns = "acme/cold/clustered";
    const dim = 32;
    let x = 12345;
    const random = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 2 ** 32;
    };
    const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const centres = Array.from({ length: 64 }, () => Array.from({ length: dim }, gauss));
    const near = (c: number, spread: number) => centres[c]!.map((v) => v + spread * gauss());
    await writer.createNamespace(ns, { distanceMetric: "cosine" });
    for (let at = 0; at < 6000; at += 1000) {
      await writer.upsert(ns, Array.from({ length: 1000 }, (_, i) => ({ id: `p-${at + i}`, vector: near((at + i) % 64, 0.35) })));
    }
    await writer.compact(ns, { force: true });
    const warm = makeEngine(storage, { queryCache: { coldReads: false } });
    let found = 0;
    let total = 0;
    for (let q = 0; q < 20; q++) {
      const vector = near((q * 7) % 64, 0.35);
      const exact = await warm.query(ns, { rankBy: ["vector", "kNN", vector], topK: 10 });
      const cold = makeEngine(storage);
      const got = await cold.query(ns, { rankBy: ["vector", "ANN", vector], topK: 10 });
      expect(cold.queryStats().coldQueries).toBe(1);
      const ids = new Set(got.rows.map((r) => r.id));
      found += exact.rows.filter((r) => ids.has(r.id)).length;
      total += exact.rows.length;
    }
    expect(found / total).toBeGreaterThanOrEqual(0.95);
  });

  it("read close ranges (lists, vector blocks) with one GET each: the same rows as one GET per range, in fewer reads", async () => {
    const { storage } = await compacted();
    let fewer = 0;
    for (const request of [...requests, { rankBy: ["vector", "ANN", vectorOf(11)], topK: 10, probes: 40 }]) {
      const runs = [0, 64 * 1024, Number.MAX_SAFE_INTEGER].map(async (gap) => {
        const cold = makeEngine(storage, { queryCache: { coldReadGapBytes: gap } });
        const result = await cold.query(NS, request);
        expect(cold.queryStats().coldQueries).toBe(1);
        return { result, reads: cold.queryStats().coldReads, bytes: cold.queryStats().coldBytes };
      });
      const [separate, near, all] = await Promise.all(runs);
      expect(near!.result, JSON.stringify(request)).toEqual(separate!.result);
      expect(all!.result, JSON.stringify(request)).toEqual(separate!.result);
      expect(near!.reads).toBeLessThanOrEqual(separate!.reads);
      expect(all!.reads).toBeLessThanOrEqual(near!.reads);
      if (all!.reads < separate!.reads) fewer++;
    }
    expect(fewer).toBeGreaterThan(0);
    expect(() => makeEngine(storage, { queryCache: { coldReadGapBytes: -1 } })).toThrow(/coldReadGapBytes/);
  });

  it("a damaged full-precision vector block or code block is Corrupt naming the index", async () => {
    const { storage } = await compacted();
    const index = await indexObject(storage);
    const original = (await storage.get(index.key)).bytes;
    const directory = decodeBlockFileDirectory(original, original.byteLength);
    const vectors = directory.section("vectors")!;
    const clusters = directory.section("clusters")!;
    expect(vectors.blockCount).toBeGreaterThan(1);
    const damages: [string, (bytes: Uint8Array) => void][] = [
      // A flipped bit in every vector block: whichever candidates are re-ranked, their block is damaged.
      ["flipped vector blocks", (b) => { for (let i = 0; i < vectors.blockCount; i++) b[vectors.offset + vectors.blockStart(i) + 17]! ^= 0x01; }],
      // Torn: the second half of every vector block zeroed.
      ["torn vector blocks", (b) => { for (let i = 0; i < vectors.blockCount; i++) b.fill(0, vectors.offset + (vectors.blockStart(i) + vectors.blockEnd(i)) / 2, vectors.offset + vectors.blockEnd(i)); }],
      // The codes: the last quarter of every cluster (codes, missing mask, ids).
      ["damaged code blocks", (b) => { for (let i = 0; i < clusters.blockCount; i++) b[clusters.offset + Math.floor((clusters.blockStart(i) + 3 * clusters.blockEnd(i)) / 4)]! ^= 0x10; }],
    ];
    for (const [what, damage] of damages) {
      const damaged = original.slice();
      damage(damaged);
      await storage.put(index.key, damaged, { mode: { kind: "overwrite" } });
      // One GET per range, and every range of the query in one GET (a damaged block inside a coalesced read).
      for (const coldReadGapBytes of [0, Number.MAX_SAFE_INTEGER]) {
        const error = await errorOf(makeEngine(storage, { queryCache: { coldReadGapBytes } }).query(NS, { rankBy: ["vector", "ANN", vectorOf(5)], topK: 5 }));
        expect(isCorrupt(error), `${what}, gap ${coldReadGapBytes}: ${String(error)}`).toBe(true);
        expect((error as { key: string }).key).toBe(index.key);
        expect(String(error)).toContain(index.key);
      }
    }
    await storage.put(index.key, original, { mode: { kind: "overwrite" } });
    expect((await makeEngine(storage).query(NS, { rankBy: ["vector", "ANN", vectorOf(5)], topK: 5 })).rows.length).toBe(5);
  });
});
