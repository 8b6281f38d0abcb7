/**
 * Cold queries through the engine: a plain ANN query on a compacted
 * namespace whose segment index is not loaded is answered by ranged reads
 * of the stored index (the eager region, the probed lists, the returned
 * rows), with exactly the rows a loaded index gives, over a tail of
 * upserts, patches and deletes and the segment's tombstones; damage to the
 * index is Corrupt naming it.
 */
import { CachingStorage, FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import { type DocumentInput, isCorrupt, type NamespaceEngine } from "@skerry/namespace-engine";
import { decodeBlockFileDirectory } from "@skerry/wal-format";
import { allKeys, errorOf, makeEngine } from "./support/harness.ts";

const NS = "acme/cold/docs";
const DIM = 8;
const DOCS = 5000; // the compactor trains IVF lists from 4,096 vectors

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
      const cold = makeEngine(storage);
      const got = await cold.query(NS, request);
      expect(got, JSON.stringify(request)).toEqual(expected);
      const stats = cold.queryStats();
      expect(stats.coldQueries).toBe(1);
      // queryRows (what the server streams): the same JSON text, row by row.
      const warmRows = await warm.queryRows(NS, request);
      const coldRows = await makeEngine(storage).queryRows(NS, request);
      expect(coldRows.rows.length).toBe(warmRows.rows.length);
      for (let i = 0; i < warmRows.rows.length; i++) expect(coldRows.rows.json(i)).toBe(warmRows.rows.json(i));
      expect(stats.coldReads).toBeGreaterThanOrEqual(2);
      expect(stats.coldBytes).toBeLessThan((await indexObject(storage)).size / 2);
    }
    // The background load makes the next query warm.
    const cold = makeEngine(storage);
    await cold.query(NS, requests[0]!);
    await expect.poll(() => cold.queryStats().segmentIndexes.entries).toBe(1);
    await cold.query(NS, requests[1]!);
    expect(cold.queryStats().coldQueries).toBe(1);

    // A tail PATCH of a segment document needs its base from the materialized state: such a version loads instead.
    await writer.patch(NS, [{ id: "doc-00103", attributes: { color: "violet" } }]);
    const patched = makeEngine(storage);
    expect(await patched.query(NS, requests[0]!)).toEqual(await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, requests[0]!));
    expect(patched.queryStats().coldQueries).toBe(0);
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
      const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
      const cold = makeEngine(storage);
      expect(await cold.query(NS, request), JSON.stringify(request)).toEqual(expected);
      expect(cold.queryStats().coldQueries).toBe(1);
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

  it("are not used for filters, other rankings, or when turned off", async () => {
    const { storage } = await compacted();
    const engine = makeEngine(storage);
    await engine.query(NS, { rankBy: ["vector", "ANN", vectorOf(1)], topK: 3, filters: ["color", "Eq", "red"] });
    await engine.query(NS, { rankBy: ["vector", "kNN", vectorOf(1)], topK: 3 });
    await engine.query(NS, { rankBy: ["n", "asc"], topK: 3 });
    expect(engine.queryStats().coldQueries).toBe(0);
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
    await storage.delete(index.key);
    const error = await errorOf(makeEngine(storage).query(NS, { rankBy: ["vector", "ANN", vectorOf(5)], topK: 5 }));
    expect(isCorrupt(error)).toBe(true);
    expect((error as { key: string }).key).toBe(index.key);
  });
});
