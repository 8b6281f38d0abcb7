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
import { deserializeQueryIndex, readExtraIndexSection, serializeQueryIndex } from "../../query/src/index-codec.ts";
import { TAIL_CHUNK_SECTION } from "../src/tail/tail-chunk-index-store.ts";

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
async function persisted<S extends StorageProvider = MemoryStorage>(segment: boolean, storage: S = new MemoryStorage() as unknown as S, patches = true): Promise<S> {
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
  if (patches) {
    await writer.patch(NS, [
      { id: "doc-00020", attributes: { color: "violet" } },
      { id: "doc-04020", text: { body: "alpha alpha patched" } },
    ]);
  } else await writer.upsert(NS, [doc(31_000)]);
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

  it("an ANN query reads a small part of the chunk objects; no background load follows (the queries after stay cold), a query the cold paths do not serve loads them whole", async () => {
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
    // No background load of the chunks whole (it would stall the queries that follow): they stay cold.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(engine.queryStats().backgroundLoadsSkipped).toBe(1);
    expect(engine.queryStats().tailIndexes.materialized).toBe(0);
    expect(await engine.query(NS, json)).toEqual(first);
    expect(engine.queryStats().coldQueries).toBe(2);
    expect(gets.every((g) => g.ranged)).toBe(true);
    // A listing is not answered cold: the loaded path loads the chunks whole, checked, and is warm after.
    const listing = await engine.query(NS, { topK: 10_000 });
    expect(listing.rows.map((r) => r.id)).toEqual((await engine.documents(NS)).map((d) => d.id).sort());
    expect(engine.queryStats().tailIndexes.materialized).toBe(2);
    expect(gets.filter((g) => !g.ranged).map((g) => g.key).sort()).toEqual([...keys].sort());
    expect(await engine.query(NS, json)).toEqual(first);
    expect(engine.queryStats().coldQueries).toBe(2);
    expect(engine.queryStats().tailDocsIndexed).toBeLessThanOrEqual(10);
  });

  it.each([true, false])("a damaged block found by a ranged read is reported and the chunk indexed again: the same rows, never fewer; the object is replaced (patches into the chunks: %s)", async (patches) => {
    const storage = await persisted(false, new MemoryStorage(), patches);
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

  it.each([true, false])("chunk objects deleted behind the engine's back after they were opened: reported, indexed from the fold, the same rows (patches into the chunks: %s)", async (patches) => {
    const storage = await persisted(false, new MemoryStorage(), patches);
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
    // With fold summaries the first failure folds the tail again, which finds the other object gone (not a problem).
    if (patches) expect(problems.length).toBe(2);
    else expect(problems.length).toBeGreaterThanOrEqual(1);
    for (const problem of problems) expect(keys).toContain((problem as { key: string }).key);
    expect(engine.queryStats().tailIndexes.rejected).toBe(problems.length);
    // The loaded path (a listing is not answered cold) has every chunk in memory.
    const listing = await engine.query(NS, { topK: 10_000 });
    expect(listing.rows.length).toBe((await engine.documents(NS)).length);
    await engine.close();
    expect((await tailKeys(storage)).sort()).toEqual([...keys].sort()); // written again
  });

  it.each([true, false])("a chunk object deleted before the loaded path loads it whole is indexed from the fold (patches into the chunks: %s)", async (patches) => {
    const storage = await persisted(false, new MemoryStorage(), patches);
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

/** A storage that records the keys it is asked for, but the chunk objects' (log batches, or their carrier manifests). */
function batchReads(inner: StorageProvider): { storage: StorageProvider; keys: string[] } {
  const keys: string[] = [];
  const storage = new Proxy(inner, {
    get(target, prop) {
      if (prop === "get") {
        return (key: string, options?: Parameters<StorageProvider["get"]>[1]) => {
          if (!key.includes("/tailidx/")) keys.push(key);
          return target.get(key, options);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { storage, keys };
}

describe("fold summaries of stored chunks (tail.json version 2)", () => {
  it.each([false, true])("a fresh engine folds only the log batches no stored chunk covers, with the loaded path's rows (segment: %s)", async (segment) => {
    const storage = await persisted(segment, new MemoryStorage(), false);
    for (const json of QUERIES) {
      const { storage: all, keys: folded } = batchReads(storage);
      const loaded = freshEngine(all, { ...SETTINGS, coldReads: false }).engine;
      const expected = await loaded.query(NS, json);
      const { storage: counted, keys } = batchReads(storage);
      const { engine, problems } = freshEngine(counted);
      expect(await engine.query(NS, json), JSON.stringify(json)).toEqual(expected);
      expect(engine.queryStats().tailIndexes).toMatchObject({ ranged: 2, summarized: 2, refolds: 0, rejected: 0, unfit: 0 });
      expect(engine.queryStats().tailDocsIndexed).toBeLessThanOrEqual(10);
      expect(problems).toEqual([]);
      // The two chunks' batches (objects, or the manifests carrying them) are never read: only those after them.
      const read = new Set(keys);
      expect([...read].filter((key) => !folded.includes(key)), JSON.stringify(json)).toEqual([]);
      expect(read.size, JSON.stringify(json)).toBe(new Set(folded).size - 2);
    }
    // Writes after the summarized fold (overwrites, deletes and an upsert of a new id) extend it.
    const { engine } = freshEngine(storage);
    await engine.query(NS, QUERIES[0] as Record<string, unknown>);
    await engine.upsert(NS, [doc(5, 7), doc(40_000)]);
    await engine.delete(NS, ["doc-04500", "doc-20001"]);
    const reference = freshEngine(storage, { ...SETTINGS, coldReads: false }).engine;
    for (const json of QUERIES) expect(await engine.query(NS, json), `after writes ${JSON.stringify(json)}`).toEqual(await reference.query(NS, json));
    expect(engine.queryStats().tailIndexes).toMatchObject({ summarized: 2, refolds: 0, rejected: 0 });
    for (const json of EXACT) await checkAgainstReference(freshEngine(storage).engine, NS, json, "COSINE", `reference ${JSON.stringify(json)}`);
  });

  it("a PATCH after the stored chunks of a document they hold folds the batches instead: the same rows", async () => {
    const storage = await persisted(false); // patches doc-00020 and doc-04020, rows of the stored chunks
    for (const json of QUERIES) {
      const expected = await freshEngine(storage, { ...SETTINGS, coldReads: false }).engine.query(NS, json);
      const { engine, problems } = freshEngine(storage);
      expect(await engine.query(NS, json), JSON.stringify(json)).toEqual(expected);
      expect(engine.queryStats().tailIndexes).toMatchObject({ ranged: 2, refolds: 1, rejected: 0 });
      expect(problems).toEqual([]);
    }
  });

  it("a version 1 object (no summary) is still read: its batches are folded", async () => {
    const storage = await persisted(false, new MemoryStorage(), false);
    const keys = await tailKeys(storage);
    const expected = await freshEngine(storage, { ...SETTINGS, coldReads: false }).engine.query(NS, QUERIES[0] as Record<string, unknown>);
    for (const key of keys) {
      const bytes = (await storage.get(key)).bytes;
      const header = JSON.parse(new TextDecoder().decode(readExtraIndexSection(bytes, TAIL_CHUNK_SECTION) as Uint8Array)) as Record<string, unknown>;
      expect(header).toMatchObject({ version: 2, touched: expect.any(Array), deleted: expect.any(Array), superseded: expect.any(Array) });
      const { touched: _t, deleted: _d, superseded: _s, ...v1 } = header;
      const index = deserializeQueryIndex(bytes, { extraSections: [TAIL_CHUNK_SECTION] });
      await storage.put(key, serializeQueryIndex(index, [{ name: TAIL_CHUNK_SECTION, bytes: new TextEncoder().encode(JSON.stringify({ ...v1, version: 1 })) }]), { mode: { kind: "overwrite" } });
    }
    const { engine, problems } = freshEngine(storage);
    expect(await engine.query(NS, QUERIES[0] as Record<string, unknown>)).toEqual(expected);
    expect(engine.queryStats().tailIndexes).toMatchObject({ ranged: 2, summarized: 0, refolds: 0, rejected: 0 });
    expect(problems).toEqual([]);
  });

  it("a summary that cannot be sound (an id both a row and deleted) is reported, the chunk's batches folded: the same rows", async () => {
    const storage = await persisted(false, new MemoryStorage(), false);
    const expected = new Map<string, unknown>();
    for (const json of QUERIES) expected.set(JSON.stringify(json), await freshEngine(storage, { ...SETTINGS, coldReads: false }).engine.query(NS, json));
    const [key] = await tailKeys(storage);
    const bytes = (await storage.get(key as string)).bytes;
    const header = JSON.parse(new TextDecoder().decode(readExtraIndexSection(bytes, TAIL_CHUNK_SECTION) as Uint8Array)) as Record<string, unknown>;
    const index = deserializeQueryIndex(bytes, { extraSections: [TAIL_CHUNK_SECTION] });
    const forged = { ...header, deleted: [...(header["deleted"] as string[]), index.ids.get(0)] };
    await storage.put(key as string, serializeQueryIndex(index, [{ name: TAIL_CHUNK_SECTION, bytes: new TextEncoder().encode(JSON.stringify(forged)) }]), { mode: { kind: "overwrite" } });
    const { engine, problems } = freshEngine(storage);
    for (const json of QUERIES) expect(await engine.query(NS, json), JSON.stringify(json)).toEqual(expected.get(JSON.stringify(json)));
    expect(problems.length).toBe(1);
    expect(problems[0]).toMatchObject({ code: "Corrupt", key });
    expect(engine.queryStats().tailIndexes.rejected).toBe(1);
    await engine.close(); // replaced
    const next = freshEngine(storage);
    await next.engine.query(NS, QUERIES[0] as Record<string, unknown>);
    expect(next.engine.queryStats().tailIndexes).toMatchObject({ rejected: 0, ranged: 2, summarized: 2 });
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
