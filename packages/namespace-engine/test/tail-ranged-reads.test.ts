/**
 * Stored tail chunks read by range (src/ranged-tail-chunk.ts,
 * tail-chunk-index-store.ts `advance(..., ranged)`): a fresh engine's first
 * query over a tail whose closed chunks another engine persisted is
 * answered by the cold paths from ranged reads of the chunk objects (their
 * eager region and ids, then what the query needs), never a whole GET of
 * one, with the rows the loaded path gives (ANN, filtered ANN, kNN, BM25,
 * filters, attribute order, aggregations), also over a compacted segment
 * the tail shadows; superseded rows (overwritten, deleted, patched after the
 * chunk was stored) stay out. A damaged block or a deleted object found by
 * a ranged read is reported (Corrupt naming the key) and the chunk indexed
 * from the fold: the same rows, never fewer; the object is replaced. The
 * same on the real S3 server.
 */
import { afterAll, describe, expect, it } from "vitest";
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { decodeBlockFileDirectory } from "@skerry/wal-format";
import { allKeys, makeEngine } from "./support/harness.ts";
import { checkAgainstReference } from "./namespace-query-reference.ts";

const NS = "acme/ranged/docs";
const DIM = 8;
/** A closed chunk of at least 4,096 vectors has IVF lists (tail-chunks.ts). */
const CHUNK = 4500;
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa"];
/**
 * Every chunk persisted; a re-rank wider than any scan, so the cold ANN path's rows are exactly the loaded ones
 * (format 4 codes first, cold-query.test.ts); no background load after a cold query (segmentIndexBytes), so
 * every query of an engine is answered cold.
 */
const SETTINGS = { tailChunkDocs: CHUNK, tailIndexPersistDocs: 1, coldRerank: 1_000_000, segmentIndexBytes: 1 };

function vectorOf(i: number, salt = 0): number[] {
  return Array.from({ length: DIM }, (_, d) => Math.sin((i + salt * 0.5) * (d + 1) * 0.37) + ((i * 7 + d) % 5) * 0.1);
}

function doc(i: number, salt = 0): DocumentInput {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: vectorOf(i, salt),
    text: { body: `${WORDS[(i + salt) % WORDS.length]} ${WORDS[(i * 3 + salt) % WORDS.length]} ${WORDS[(i * 5) % WORDS.length]}` },
    attributes: { n: (i * 13 + salt) % 1000, color: ["red", "green", "blue"][(i + salt) % 3]!, salt },
  };
}

const range = (from: number, to: number, salt = 0) => Array.from({ length: to - from }, (_, i) => doc(from + i, salt));

const QUERIES: Record<string, unknown>[] = [
  { rankBy: ["vector", "ANN", vectorOf(77)], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "ANN", vectorOf(4242)], topK: 25, includeAttributes: ["color", "n"], includeVectors: true },
  { rankBy: ["vector", "ANN", vectorOf(4100)], topK: 10, filters: ["color", "Eq", "red"], includeAttributes: ["color"] },
  { rankBy: ["vector", "kNN", vectorOf(900)], topK: 10, includeAttributes: ["n"] },
  { rankBy: ["body", "BM25", "alpha gamma"], topK: 15, includeAttributes: ["n"] },
  { rankBy: ["body", "BM25", "kappa"], topK: 10, filters: ["n", "Lt", 500] },
  { filters: ["n", "Lt", 40], topK: 300, includeAttributes: ["n", "color"] },
  { rankBy: ["n", "desc"], topK: 20, filters: ["color", "In", ["blue", "violet"]] },
  { aggregateBy: { count: ["Count"] }, filters: ["n", "Gte", 700] },
];
/** The queries with an exact reference (ANN's rows are checked against the loaded path). */
const EXACT = QUERIES.filter((q) => !JSON.stringify(q.rankBy ?? "").includes("ANN"));

/** A storage that records the GETs made of stored tail chunk objects (whole or ranged, and their bytes). */
function recording(inner: StorageProvider): { storage: StorageProvider; gets: { key: string; ranged: boolean; bytes: number }[] } {
  const gets: { key: string; ranged: boolean; bytes: number }[] = [];
  const storage = new Proxy(inner, {
    get(target, prop) {
      if (prop === "get") {
        return async (key: string, options?: { range?: unknown }) => {
          const result = await target.get(key, options as Parameters<StorageProvider["get"]>[1]);
          if (key.includes("/tailidx/")) gets.push({ key, ranged: options?.range !== undefined, bytes: result.bytes.byteLength });
          return result;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { storage, gets };
}

async function tailKeys(storage: StorageProvider): Promise<string[]> {
  return (await allKeys(storage)).filter((key) => key.includes("/tailidx/"));
}

function freshEngine(storage: StorageProvider, settings: Record<string, unknown> = SETTINGS): { engine: NamespaceEngine; problems: unknown[] } {
  const problems: unknown[] = [];
  const engine = makeEngine(storage, { queryCache: settings, compaction: { auto: false }, onBackgroundError: (error) => problems.push(error) });
  return { engine, problems };
}

/**
 * Two closed chunks with IVF lists (the second overwrites 500 ids of the first), then an open chunk of deletes,
 * patches and overwrites reaching into both; the writer queries after each write, so the first chunk's object
 * holds rows later containers superseded. `segment`: first a compacted segment of 4,500 documents the tail
 * partly rewrites and deletes.
 */
async function persisted<S extends StorageProvider = MemoryStorage>(segment: boolean, storage: S = new MemoryStorage() as unknown as S): Promise<S> {
  const writer = makeEngine(storage, { queryCache: SETTINGS, compaction: { auto: false } });
  await writer.createNamespace(NS, { distanceMetric: "cosine" });
  if (segment) {
    await writer.upsert(NS, range(20_000, 24_500));
    await writer.compact(NS, { force: true });
  }
  await writer.upsert(NS, [...range(0, 4000), ...range(20_000, 20_500, 3)].slice(0, CHUNK));
  await writer.query(NS, { topK: 1 });
  await writer.upsert(NS, range(3500, 8000, 1));
  await writer.query(NS, { topK: 1 });
  await writer.delete(NS, ["doc-00010", "doc-00011", "doc-04010", "doc-20600", "doc-00077"]);
  await writer.patch(NS, [
    { id: "doc-00020", attributes: { color: "violet" } },
    { id: "doc-04020", text: { body: "alpha alpha patched" } },
  ]);
  await writer.upsert(NS, [doc(12, 2), doc(4242, 2), doc(30_000)]);
  await writer.query(NS, { topK: 1 });
  await writer.close(); // the background writes land
  expect(writer.queryStats().tailIndexes.written).toBeGreaterThanOrEqual(2);
  return storage;
}

describe("stored tail chunks read by range", () => {
  it.each([false, true])("a fresh engine answers from ranged reads of the chunk objects, like the loaded path, no whole GET (segment: %s)", async (segment) => {
    const storage = await persisted(segment);
    const keys = await tailKeys(storage);
    expect(keys).toHaveLength(2);
    const objectBytes = (await Promise.all(keys.map(async (key) => (await storage.head(key))!.size))).reduce((a, b) => a + b, 0);
    for (const json of QUERIES) {
      const loaded = freshEngine(storage, { ...SETTINGS, coldReads: false }).engine;
      const expected = await loaded.query(NS, json);
      expect(loaded.queryStats().tailIndexes.loaded).toBe(2);
      const { storage: counted, gets } = recording(storage);
      const { engine, problems } = freshEngine(counted);
      const got = await engine.query(NS, json);
      expect(got, JSON.stringify(json)).toEqual(expected);
      const stats = engine.queryStats();
      expect(stats.coldQueries, JSON.stringify(json)).toBe(1);
      expect(stats.tailIndexes).toMatchObject({ loaded: 2, ranged: 2, materialized: 0, rejected: 0, unfit: 0 });
      expect(stats.tailDocsIndexed).toBeLessThanOrEqual(10); // the open chunk
      expect(problems).toEqual([]);
      // Never a whole chunk: ranged GETs only, well below the objects' size.
      expect(gets.length).toBeGreaterThan(0);
      expect(gets.filter((g) => !g.ranged)).toEqual([]);
      const read = gets.reduce((n, g) => n + g.bytes, 0);
      expect(read, JSON.stringify(json)).toBeLessThan(objectBytes * 0.6);
      // Later queries of the same engine stay cold (no background load here) and agree.
      const again = await engine.query(NS, json);
      expect(again).toEqual(expected);
    }
    for (const json of EXACT) await checkAgainstReference(freshEngine(storage).engine, NS, json, "COSINE", `reference ${JSON.stringify(json)}`);
  });

  it("an ANN query reads a small part of the chunk objects, and the loaded path loads them whole afterwards", async () => {
    const storage = await persisted(false);
    const keys = await tailKeys(storage);
    const objectBytes = (await Promise.all(keys.map(async (key) => (await storage.head(key))!.size))).reduce((a, b) => a + b, 0);
    const { storage: counted, gets } = recording(storage);
    const { engine } = freshEngine(counted, { ...SETTINGS, segmentIndexBytes: 2 * 1024 ** 3 });
    const json = QUERIES[0] as Record<string, unknown>;
    const first = await engine.query(NS, json);
    const cold = gets.reduce((n, g) => n + g.bytes, 0);
    expect(gets.every((g) => g.ranged)).toBe(true);
    expect(cold).toBeLessThan(objectBytes * 0.35);
    // The background load after a cold query (as for segments): the chunks loaded whole, checked, then warm.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 200 && engine.queryStats().tailIndexes.materialized < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(engine.queryStats().tailIndexes.materialized).toBe(2);
    expect(gets.filter((g) => !g.ranged).map((g) => g.key).sort()).toEqual([...keys].sort());
    const warm = await engine.query(NS, json);
    expect(warm).toEqual(first);
    expect(engine.queryStats().coldQueries).toBe(1);
    expect(engine.queryStats().tailDocsIndexed).toBeLessThanOrEqual(10);
  });

  it("a damaged block found by a ranged read is reported and the chunk indexed again: the same rows, never fewer; the object is replaced", async () => {
    const storage = await persisted(false);
    const answers = new Map<string, unknown>();
    const loaded = freshEngine(storage, { ...SETTINGS, coldReads: false }).engine;
    for (const json of QUERIES) answers.set(JSON.stringify(json), await loaded.query(NS, json));
    const keys = await tailKeys(storage);
    let reported = 0;
    for (const key of keys) {
      const original = (await storage.get(key)).bytes;
      const directory = decodeBlockFileDirectory(original, original.byteLength);
      for (const section of directory.sections.filter((s) => s.length > 0)) {
        const damaged = original.slice();
        damaged[section.offset + Math.floor(section.length / 2)]! ^= 0x20;
        await storage.put(key, damaged, { mode: { kind: "overwrite" } });
        const { engine, problems } = freshEngine(storage);
        for (const json of QUERIES) expect(await engine.query(NS, json), `${section.name}: ${JSON.stringify(json)}`).toEqual(answers.get(JSON.stringify(json)));
        for (const problem of problems) expect(problem, section.name).toMatchObject({ code: "Corrupt", key });
        if (problems.length > 0) {
          reported++;
          expect(engine.queryStats().tailIndexes.rejected, section.name).toBe(1);
          expect(engine.queryStats().tailDocsIndexed, section.name).toBeGreaterThan(3900); // the chunk, indexed from the fold
          await engine.close(); // replaced
          const next = freshEngine(storage);
          await next.engine.query(NS, QUERIES[0] as Record<string, unknown>);
          expect(next.engine.queryStats().tailIndexes, section.name).toMatchObject({ rejected: 0, ranged: 2 });
        }
        await storage.put(key, original, { mode: { kind: "overwrite" } });
      }
    }
    // Every section some query reads: the eager region's, ids, clusters, postings, arrays, the row store.
    expect(reported).toBeGreaterThanOrEqual(8);
  });

  it("chunk objects deleted behind the engine's back after they were opened: reported, indexed from the fold, the same rows", async () => {
    const storage = await persisted(false);
    const answers = new Map<string, unknown>();
    const loaded = freshEngine(storage, { ...SETTINGS, coldReads: false }).engine;
    for (const json of QUERIES) answers.set(JSON.stringify(json), await loaded.query(NS, json));
    const { engine, problems } = freshEngine(storage);
    // Opened by range (eager regions and ids), then gone.
    await engine.query(NS, { rankBy: ["vector", "ANN", vectorOf(1)], topK: 1 });
    expect(engine.queryStats().tailIndexes.ranged).toBe(2);
    const keys = await tailKeys(storage);
    for (const key of keys) await storage.delete(key);
    for (const json of QUERIES) expect(await engine.query(NS, json), JSON.stringify(json)).toEqual(answers.get(JSON.stringify(json)));
    expect(problems.length).toBe(2);
    for (const problem of problems) expect(keys).toContain((problem as { key: string }).key);
    expect(engine.queryStats().tailIndexes.rejected).toBe(2);
    // The loaded path (a listing is not answered cold) has every chunk in memory.
    const listing = await engine.query(NS, { topK: 10_000 });
    expect(listing.rows.length).toBe((await engine.documents(NS)).length);
    await engine.close();
    expect((await tailKeys(storage)).sort()).toEqual([...keys].sort()); // written again
  });

  it("a chunk object deleted before the loaded path loads it whole is indexed from the fold", async () => {
    const storage = await persisted(false);
    const { engine, problems } = freshEngine(storage);
    const cold = await engine.query(NS, QUERIES[4] as Record<string, unknown>);
    expect(engine.queryStats().tailIndexes.ranged).toBe(2);
    const keys = await tailKeys(storage);
    await storage.delete(keys[0] as string);
    // A listing takes the loaded path: the ranged chunks are loaded whole, the deleted one indexed from the fold.
    const listing = await engine.query(NS, { topK: 10_000 });
    expect(listing.rows.map((r) => r.id)).toEqual((await engine.documents(NS)).map((d) => d.id).sort());
    expect(engine.queryStats().tailIndexes.materialized).toBe(1);
    expect(engine.queryStats().tailDocsIndexed).toBeGreaterThan(3900);
    expect(await engine.query(NS, QUERIES[4] as Record<string, unknown>)).toEqual(cold);
    expect(problems).toEqual([]); // a missing object is the usual case of a chunk not stored: not a problem
  });
});

const s3 = s3TestTarget("namespace-engine-tail-ranged");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("stored tail chunks read by range on the real S3 server", () => {
  it("a fresh engine answers ANN, BM25 and a filter from ranged reads, like the loaded path, no whole GET", async () => {
    const storage = await persisted(false, s3.open());
    for (const json of [QUERIES[0], QUERIES[2], QUERIES[4], QUERIES[6]] as Record<string, unknown>[]) {
      const expected = await freshEngine(storage, { ...SETTINGS, coldReads: false }).engine.query(NS, json);
      const { storage: counted, gets } = recording(storage);
      const { engine, problems } = freshEngine(counted);
      expect(await engine.query(NS, json), JSON.stringify(json)).toEqual(expected);
      expect(engine.queryStats().tailIndexes).toMatchObject({ ranged: 2, rejected: 0 });
      expect(engine.queryStats().coldQueries).toBe(1);
      expect(gets.length).toBeGreaterThan(0);
      expect(gets.filter((g) => !g.ranged)).toEqual([]);
      expect(problems).toEqual([]);
    }
  }, 120_000);
});
