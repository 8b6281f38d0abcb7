/**
 * Cold exact kNN through the engine: on a compacted namespace whose segment
 * indexes are not loaded, a kNN ranking (optionally filtered, or diversified
 * by `limitPer`) scores every live matching row from the segments' clusters
 * streamed in bounded batches, with exactly
 * the loaded indexes' rows, distances and ties: over several segments,
 * reordered (IVF) segments with tombstones, delete markers, a tail of
 * several chunks with rewrites and deletes, every metric; damage is Corrupt
 * naming the index.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import { type DocumentInput, isCorrupt, type NamespaceEngine } from "@skerry/namespace-engine";
import { decodeBlockFileDirectory } from "@skerry/wal-format";
import { allKeys, errorOf, makeEngine } from "./support/harness.ts";

const NS = "acme/coldknn/docs";
const DIM = 6;

function vectorOf(i: number): number[] {
  // Every 13th document shares a vector with others (ties broken by id).
  const v = i % 13 === 0 ? 1000 : i;
  return Array.from({ length: DIM }, (_, d) => Math.sin(v * (d + 1) * 0.37) + ((v * 7 + d) % 5) * 0.1);
}

function doc(i: number, salt = 0): DocumentInput {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    ...(i % 17 === 5 ? {} : { vector: vectorOf(i + salt) }),
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]!, ...(i % 4 === 0 ? { tags: [`t${i % 3}`] } : {}) },
  };
}

const requests = (): Record<string, unknown>[] => [
  { rankBy: ["vector", "kNN", vectorOf(77)], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "kNN", vectorOf(1000)], topK: 40, includeAttributes: ["color", "missing", "n"], includeVectors: true },
  { rankBy: ["vector", "kNN", vectorOf(3)], topK: 1 },
  { rankBy: ["vector", "kNN", vectorOf(9)], topK: 50, distanceThreshold: 0.05 },
  { rankBy: ["vector", "kNN", vectorOf(4242)], topK: 20, distanceMetric: "EUCLIDEAN" },
  { rankBy: ["vector", "kNN", vectorOf(11)], topK: 20, distanceMetric: "DOT" },
  { rankBy: ["vector", "kNN", vectorOf(12)], topK: 10_000 },
  // Filters (any selectivity): only matching rows ranked, only clusters holding one read.
  { rankBy: ["vector", "kNN", vectorOf(1)], filters: ["color", "Eq", "red"], topK: 10, includeAttributes: ["color"] },
  { rankBy: ["vector", "kNN", vectorOf(1000)], filters: ["And", [["n", "Gte", 500], ["tags", "ContainsAny", ["t1"]]]], topK: 25, includeAttributes: ["n", "tags"] },
  { rankBy: ["vector", "kNN", vectorOf(21)], filters: ["Not", ["n", "Lt", 2000]], topK: 15, distanceMetric: "EUCLIDEAN" },
  { rankBy: ["vector", "kNN", vectorOf(22)], filters: ["Or", [["n", "Lt", 60], ["id", "In", ["doc-02999", "doc-10003"]]]], topK: 8, distanceThreshold: 0.5 },
  { rankBy: ["vector", "kNN", vectorOf(23)], filters: ["n", "Eq", -5], topK: 5 },
  // limitPer: the ranking asked for more until the cut keeps topK rows.
  { rankBy: ["vector", "kNN", vectorOf(1000)], limitPer: { attributes: ["color"], limit: 2 }, topK: 6, includeAttributes: ["color"] },
  { rankBy: ["vector", "kNN", vectorOf(5)], filters: ["color", "In", ["red", "blue"]], limitPer: { attributes: ["color", "tags"], limit: 3 }, topK: 20 },
  { rankBy: ["vector", "kNN", vectorOf(6)], limitPer: { attributes: ["tags"], limit: 1 }, topK: 10 },
];

/** Small batches: many rounds of streamed clusters. */
const SMALL = { queryCache: { coldExactBatchBytes: 16 * 1024 } };

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, options: Record<string, unknown> = SMALL): Promise<void> {
  const warm = makeEngine(storage, { queryCache: { coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage, options);
  const got = await engine.query(NS, request);
  expect(got, JSON.stringify(request)).toEqual(expected);
  expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
  expect(engine.queryStats().segmentIndexes.loads).toBe(0);
  const warmRows = await warm.queryRows(NS, request);
  const coldRows = await makeEngine(storage, options).queryRows(NS, request);
  expect(coldRows.rows.length).toBe(warmRows.rows.length);
  for (let i = 0; i < warmRows.rows.length; i++) expect(coldRows.rows.json(i)).toBe(warmRows.rows.json(i));
}

async function compacted(docs: number, metric: "cosine" | "euclidean" | "dot" = "cosine"): Promise<{ storage: MemoryStorage; writer: NamespaceEngine }> {
  const storage = new MemoryStorage();
  const writer = makeEngine(storage);
  await writer.createNamespace(NS, { distanceMetric: metric });
  for (let at = 0; at < docs; at += 1000) await writer.upsert(NS, Array.from({ length: Math.min(1000, docs - at) }, (_, i) => doc(at + i)));
  await writer.compact(NS, { force: true });
  return { storage, writer };
}

describe("cold exact kNN", () => {
  it("scores every live row in bounded batches, exactly like the loaded index, over tombstones and a tail", async () => {
    const { storage, writer } = await compacted(3000);
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await writer.upsert(NS, [doc(5001), doc(100, 7), doc(5002), doc(78, 1)]);
    await writer.delete(NS, ["doc-00101", "doc-00105", "doc-00110", "doc-00077"]);
    for (const request of requests()) await expectCold(storage, request);
    // The default batch too; the answer does not depend on it.
    await expectCold(storage, requests()[1]!, {});
    // Not served cold: ANN with a filter that is not selective (the loaded path probes lists under a mask).
    const filtered = makeEngine(storage);
    await filtered.query(NS, { rankBy: ["vector", "ANN", vectorOf(1)], filters: ["color", "Eq", "red"], topK: 3 });
    expect(filtered.queryStats().coldQueries).toBe(0);
    // It reads the vectors once, not the rest of the index (postings, columns, row store beyond the answer's rows).
    const [key] = (await allKeys(storage)).filter((k) => k.endsWith(".qidx"));
    const size = (await storage.head(key!))!.size;
    const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
    await engine.query(NS, requests()[2]!);
    expect(engine.queryStats().coldBytes).toBeLessThan(size);
    expect(engine.queryStats().coldBytes).toBeGreaterThan(3000 * DIM * 4);
  });

  it("over reordered (IVF) segments with tombstones, several segments with delete markers and a tail of several chunks", async () => {
    for (const metric of ["cosine", "euclidean", "dot"] as const) {
      const storage = new MemoryStorage();
      const compaction = { auto: false, policy: "tiered" as const, maxLogBatches: 3, mergeFactor: 100 };
      const writer = makeEngine(storage, { compaction });
      await writer.createNamespace(NS, { distanceMetric: metric });
      for (let b = 0; b < 5; b++) await writer.upsert(NS, Array.from({ length: 1000 }, (_, i) => doc(b * 1000 + i)));
      expect((await writer.compact(NS)).performed).toBe(true); // 5,000 vectors: IVF lists, rows reordered
      await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(10_000 + i)));
      await writer.upsert(NS, [...Array.from({ length: 300 }, (_, i) => doc(10_500 + i)), ...Array.from({ length: 200 }, (_, i) => doc(i * 8, 3))]);
      await writer.delete(NS, Array.from({ length: 100 }, (_, i) => `doc-${String(i * 8 + 3).padStart(5, "0")}`));
      expect((await writer.compact(NS)).performed).toBe(true);
      const manifest = await writer.manifest(NS);
      expect(manifest.containers.filter((c) => c.kind === "SEGMENT" && c.extra?.["index_key"] !== undefined).length).toBe(2);
      await writer.deleteByFilter(NS, ["n", "Gte", 4990]); // tombstones in both segments
      await writer.deleteByFilter(NS, ["n", "Lt", 30]);
      const chunked = { queryCache: { tailChunkContainers: 2 } };
      for (let b = 0; b < 5; b++) await writer.upsert(NS, [doc(20_000 + b), doc(16 + b, 4), doc(10_001 + b, 5)]);
      await writer.delete(NS, ["doc-00017", "doc-10002", "doc-20001"]);
      for (const request of requests()) {
        const expected = await makeEngine(storage, { queryCache: { ...chunked.queryCache, coldReads: false } }).query(NS, request);
        const engine = makeEngine(storage, { queryCache: { ...chunked.queryCache, ...SMALL.queryCache } });
        expect(JSON.stringify(await engine.query(NS, request)), `${metric} ${JSON.stringify(request)}`).toBe(JSON.stringify(expected));
        expect(engine.queryStats().coldQueries).toBe(1);
        await expectCold(storage, request);
      }
    }
  });

  it("find a damaged, short or missing stored index: Corrupt naming it", async () => {
    const { storage } = await compacted(3000);
    const [key] = (await allKeys(storage)).filter((k) => k.endsWith(".qidx"));
    const original = (await storage.get(key!)).bytes;
    const directory = decodeBlockFileDirectory(original, original.byteLength);
    const request = { rankBy: ["vector", "kNN", vectorOf(5)], topK: 5 };
    for (const name of ["clusters", "vectors"]) {
      const section = directory.section(name);
      if (section === undefined) continue;
      for (const at of [0.1, 0.5, 0.9]) {
        const damaged = original.slice();
        damaged[section.offset + Math.floor(section.length * at)]! ^= 0x20;
        await storage.put(key!, damaged, { mode: { kind: "overwrite" } });
        const error = await errorOf(makeEngine(storage, SMALL).query(NS, request));
        expect(isCorrupt(error), `${name}@${at}: ${String(error)}`).toBe(true);
        expect((error as { key: string }).key).toBe(key);
      }
    }
    await storage.put(key!, original.subarray(0, original.byteLength - 100), { mode: { kind: "overwrite" } });
    let error = await errorOf(makeEngine(storage).query(NS, request));
    expect(isCorrupt(error), String(error)).toBe(true);
    expect((error as { key: string }).key).toBe(key);
    await storage.delete(key!);
    error = await errorOf(makeEngine(storage).query(NS, request));
    expect(isCorrupt(error)).toBe(true);
    expect((error as { key: string }).key).toBe(key);
  });
});
