/**
 * Persisted tail chunk indexes (src/tail-chunk-index-store.ts): a fresh
 * engine over the same storage answers its first query over a multi-chunk
 * tail from the objects another engine wrote, without indexing the closed
 * chunks, exactly as the builder answers (overwrites, patches and deletes
 * after a chunk was built still apply, also those written after the fresh
 * engine loaded it); a corrupt, truncated or foreign object is reported,
 * never used, the chunk is indexed again and the object replaced; an
 * object whose header names other containers, or whose ids do not fit the
 * fold, is never used; garbage collection deletes the objects once no
 * retained version holds their tail; a failed or answer-lost write never
 * fails a query; the same on the real S3 server.
 */
import { afterAll, describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { allKeys, makeEngine, steppingClock } from "./support/harness.ts";
import { checkAgainstReference } from "./namespace-query-reference.ts";
import { gaussian, seededRandom } from "../../query/test/support/reference.ts";
import { readExtraIndexSection, serializeQueryIndex } from "../../query/src/index-codec.ts";
import { buildQueryIndex } from "../../query/src/query-index.ts";
import { TAIL_CHUNK_SECTION } from "../src/tail/tail-chunk-index-store.ts";
import { ColdIndexReader } from "../../query/src/cold/cold-index-reader.ts";
import { StorageIndexSource } from "../src/read/storage-index-source.ts";
import { type ContainerRef, seededRandom as walRandom } from "@skerry/wal-format";

const NS = "acme/persist/docs";
const DIM = 6;
const BATCH = 40;
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma"];
/** Every 40-document batch closes a chunk; three chunks of a level merge; every chunk is persisted. */
const PERSIST = { tailChunkDocs: BATCH, tailChunkContainers: 100, tailChunkFanout: 3, tailIndexPersistDocs: 1 };

function doc(random: () => number, i: number, salt = 0): DocumentInput {
  return {
    id: `d${String(i).padStart(4, "0")}`,
    vector: Array.from({ length: DIM }, () => gaussian(random)),
    text: { body: `${WORDS[(i + salt) % WORDS.length]} ${WORDS[(i * 3 + salt) % WORDS.length]}` },
    attributes: { n: (i + salt) % 9, color: ["red", "blue", "green"][(i + salt) % 3] as string, salt },
  };
}

const QUERIES: Record<string, unknown>[] = [
  { topK: 1000 },
  { rankBy: ["vector", "kNN", [1, 0.5, -0.5, 0.25, 0, 1]], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "ANN", [0, 1, 0, 1, 0, -1]], topK: 10 },
  { rankBy: ["body", "BM25", "alpha gamma"], topK: 15 },
  { filters: ["color", "In", ["red", "violet"]], topK: 500 },
  { aggregateBy: { count: ["Count"] }, filters: ["n", "Gte", 3] },
];

/**
 * Ten 40-document batches (merged into chunks of levels 2 and 0), then a batch overwriting 40 ids of the
 * first chunks (a chunk of its own), then patches and deletes of ids of the merged chunk (the open chunk).
 * The engine queries after each write, so it builds and persists every level.
 */
async function writeTail(engine: NamespaceEngine): Promise<void> {
  const random = seededRandom(3);
  await engine.createNamespace(NS);
  for (let b = 0; b < 10; b++) {
    await engine.upsert(NS, Array.from({ length: BATCH }, (_, i) => doc(random, b * BATCH + i)));
    await engine.query(NS, { topK: 1 });
  }
  await engine.upsert(NS, Array.from({ length: BATCH }, (_, i) => doc(random, i * 7, 1)));
  await engine.query(NS, { topK: 1 });
  await engine.patch(NS, [
    { id: "d0001", attributes: { color: "violet" } },
    { id: "d0100", text: { body: "alpha patched" } },
  ]);
  await engine.delete(NS, ["d0002", "d0150", "d0399"]);
  await engine.query(NS, { topK: 1 });
}

async function answers(engine: NamespaceEngine, label: string): Promise<unknown[]> {
  const out = [];
  for (const [i, json] of QUERIES.entries()) out.push(await checkAgainstReference(engine, NS, json, "COSINE", `${label} ${i}`));
  return out;
}

async function tailKeys(storage: StorageProvider): Promise<string[]> {
  return (await allKeys(storage)).filter((key) => key.includes("/tailidx/"));
}

/** A fresh engine that records what it reports. */
function freshEngine(storage: StorageProvider, settings: Record<string, unknown> = PERSIST): { engine: NamespaceEngine; problems: unknown[] } {
  const problems: unknown[] = [];
  const engine = makeEngine(storage, { queryCache: settings, compaction: { auto: false }, onBackgroundError: (error) => problems.push(error) });
  return { engine, problems };
}

/** The builder's storage with its persisted chunks, its answers, and how a fresh engine that builds everything fares. */
async function persisted(): Promise<{ storage: MemoryStorage; warm: unknown[]; fullBuild: number; chunks: number }> {
  const storage = new MemoryStorage();
  const builder = makeEngine(storage, { queryCache: PERSIST, compaction: { auto: false } });
  await writeTail(builder);
  const warm = await answers(builder, "builder");
  await builder.close(); // the background writes land
  expect(builder.queryStats().tailIndexes.written).toBeGreaterThanOrEqual(4); // levels 0, 1 and 2
  // The chunks merged into larger ones were deleted once those were written: the latest version's are left.
  expect(builder.queryStats().tailIndexes.superseded).toBe(builder.queryStats().tailIndexes.written - 3);
  expect(await tailKeys(storage)).toHaveLength(3);
  const control = freshEngine(storage, { ...PERSIST, tailIndexPersist: false }).engine;
  await control.query(NS, { topK: 1 });
  return { storage, warm, fullBuild: control.queryStats().tailDocsIndexed, chunks: control.queryStats().tailChunks };
}

describe("persisted tail chunk indexes", () => {
  it("a fresh engine answers its first query over a multi-chunk tail from the stored chunks, without indexing them, as the builder does", async () => {
    const { storage, warm, fullBuild, chunks } = await persisted();
    expect(chunks).toBe(4); // level 2 (batches 0-8), level 0 (batch 9), level 0 (the overwrites), the open chunk
    expect(fullBuild).toBeGreaterThan(390);
    const { engine, problems } = freshEngine(storage);
    const cold = [];
    for (const json of QUERIES) cold.push(await engine.query(NS, json));
    expect(cold).toEqual(warm);
    const stats = engine.queryStats();
    expect(stats.tailIndexes.loaded).toBe(chunks - 1); // every closed chunk
    expect(stats.tailIndexes.rejected).toBe(0);
    expect(stats.tailDocsIndexed).toBeLessThanOrEqual(2); // the open chunk: the two patched documents
    expect(problems).toEqual([]);
    await answers(engine, "fresh");
    // Writes after the load reach into the stored chunks: overwrites, deletes, patches.
    const random = seededRandom(8);
    await engine.delete(NS, ["d0010", "d0011", "d0399", "d0380"]);
    await engine.upsert(NS, [doc(random, 12, 2), doc(random, 385, 2)]);
    await engine.patch(NS, [{ id: "d0050", attributes: { color: "violet" } }]);
    await answers(engine, "fresh, after writes");
    const rows = (await engine.query(NS, { topK: 1000 })).rows.map((r) => r.id);
    for (const id of ["d0010", "d0011", "d0399", "d0380", "d0002"]) expect(rows).not.toContain(id);
    expect(engine.queryStats().tailIndexes.rejected).toBe(0);
    // A delete by filter marks rows of the tail's containers (deletion vectors): their chunks are other
    // identities now, so a fresh engine indexes them instead of reading the old objects, and answers right.
    await engine.deleteByFilter(NS, ["n", "Eq", 3]);
    await engine.close();
    const after = freshEngine(storage);
    await answers(after.engine, "fresh, after a delete by filter");
    expect((await after.engine.query(NS, { topK: 1000, filters: ["n", "Eq", 3] })).rows).toEqual([]);
    expect(after.engine.queryStats().tailIndexes.rejected).toBe(0);
  });

  it("a fresh engine at an older version uses only the objects that fit its fold (an object built for a later version lacks rows it needs)", async () => {
    const { storage } = await persisted();
    const builder = makeEngine(storage, { queryCache: PERSIST, compaction: { auto: false } });
    const latest = (await builder.manifest(NS)).version;
    const { engine } = freshEngine(storage);
    for (const at of [latest - 2, latest - 4, latest - 7]) await checkAgainstReference(engine, NS, { topK: 1000, atVersion: at }, "COSINE", `at ${at}`);

    // Objects written by a fresh engine at the latest version: the merged chunk lacks the rows later batches
    // overwrote (they were never its documents there).
    for (const key of await tailKeys(storage)) await storage.delete(key);
    const writer = freshEngine(storage).engine;
    await writer.query(NS, { topK: 1 });
    await writer.close();
    expect(writer.queryStats().tailIndexes.written).toBe(3);
    // Before the overwrites (latest - 3) those ids are the merged chunk's own: the object does not fit, it is rebuilt.
    const older = freshEngine(storage);
    await checkAgainstReference(older.engine, NS, { topK: 1000, atVersion: latest - 3 }, "COSINE", "before the overwrites");
    await checkAgainstReference(older.engine, NS, { rankBy: ["body", "BM25", "alpha"], topK: 50, atVersion: latest - 3 }, "COSINE", "before the overwrites, BM25");
    // The merged chunk, and batch 9's (d0399 is deleted at the latest version only): sound objects, not reported.
    expect(older.engine.queryStats().tailIndexes).toMatchObject({ unfit: 2, rejected: 0, loaded: 0 });
    expect(older.problems).toEqual([]);
    // The latest version takes all three.
    const latestReader = freshEngine(storage);
    await checkAgainstReference(latestReader.engine, NS, { topK: 1000 }, "COSINE", "latest");
    expect(latestReader.engine.queryStats().tailIndexes).toMatchObject({ loaded: 3, rejected: 0 });
  });

  it.each([
    ["a flipped byte", (bytes: Uint8Array) => bytes.map((b, i) => (i === Math.floor(bytes.length / 2) ? b ^ 0x40 : b))],
    ["a truncated object", (bytes: Uint8Array) => bytes.slice(0, Math.floor(bytes.length * 0.6))],
    ["an empty object", () => new Uint8Array(0)],
  ])("%s is reported, never used: the chunk is indexed again and the object replaced", async (_label, damage) => {
    const { storage, warm } = await persisted();
    const sizes = await Promise.all((await tailKeys(storage)).map(async (key) => ({ key, size: (await storage.get(key)).bytes.length })));
    const largest = sizes.sort((a, b) => b.size - a.size)[0]?.key as string;
    const good = (await storage.get(largest)).bytes;
    await storage.put(largest, damage(good));
    const { engine, problems } = freshEngine(storage);
    const cold = [];
    for (const json of QUERIES) cold.push(await engine.query(NS, json));
    expect(cold).toEqual(warm);
    expect(engine.queryStats().tailIndexes.rejected).toBe(1);
    expect(engine.queryStats().tailDocsIndexed).toBeGreaterThan(300); // the merged chunk, indexed again
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: "Corrupt", key: largest });
    await engine.close();
    // Replaced (by this engine's build: without the rows later batches overwrote, which it never held), so the
    // next fresh engine loads every chunk.
    expect(engine.queryStats().tailIndexes.written).toBe(1);
    expect((await storage.get(largest)).bytes.length).toBeGreaterThan(1000);
    const next = freshEngine(storage);
    await next.engine.query(NS, { topK: 1 });
    expect(next.engine.queryStats().tailIndexes).toMatchObject({ rejected: 0 });
    expect(next.engine.queryStats().tailDocsIndexed).toBeLessThanOrEqual(2);
  });

  it("an object of other containers at a chunk's key, or one whose ids do not fit the fold, is never used", async () => {
    const { storage, warm } = await persisted();
    const keys = await tailKeys(storage);
    const objects = await Promise.all(keys.map(async (key) => ({ key, bytes: (await storage.get(key)).bytes })));
    objects.sort((a, b) => b.bytes.length - a.bytes.length);
    const [merged, other] = objects as [{ key: string; bytes: Uint8Array }, { key: string; bytes: Uint8Array }];
    // Another chunk's object (a valid one, naming its own containers) at the merged chunk's key.
    await storage.put(merged.key, other.bytes);
    let fresh = freshEngine(storage);
    expect(await fresh.engine.query(NS, QUERIES[0] as Record<string, unknown>)).toEqual(warm[0]);
    expect(fresh.engine.queryStats().tailIndexes.rejected).toBe(1);
    expect(String((fresh.problems[0] as Error).message)).toContain("covers other containers");
    await answers(fresh.engine, "foreign object");

    // The right header over other documents: the ids do not fit the fold.
    const header = readExtraIndexSection(merged.bytes, TAIL_CHUNK_SECTION) as Uint8Array;
    const random = seededRandom(99);
    const forged = buildQueryIndex(
      Array.from({ length: 50 }, (_, i) => {
        const d = doc(random, 5000 + i);
        return { id: d.id, vector: d.vector as number[], attributes: d.attributes as Record<string, string | number> };
      }),
      { metric: "COSINE", dimension: DIM, ann: true },
    );
    await storage.put(merged.key, serializeQueryIndex(forged, [{ name: TAIL_CHUNK_SECTION, bytes: header }]));
    fresh = freshEngine(storage);
    expect(await fresh.engine.query(NS, QUERIES[0] as Record<string, unknown>)).toEqual(warm[0]);
    expect(fresh.engine.queryStats().tailIndexes).toMatchObject({ rejected: 1, loaded: 2 });
    expect(String((fresh.problems[0] as Error).message)).toContain("its containers did not write");
    await fresh.engine.close(); // replaced by this engine's build
    const last = freshEngine(storage);
    await last.engine.query(NS, { topK: 1 });
    expect(last.engine.queryStats().tailIndexes).toMatchObject({ rejected: 0, unfit: 0, loaded: 3 });
    const ids = (await fresh.engine.query(NS, { topK: 1000 })).rows.map((r) => r.id);
    expect(ids.some((id) => Number(id.slice(1)) >= 5000)).toBe(false);
  });

  it("garbage collection deletes the objects once no retained version holds their tail", async () => {
    const { storage } = await persisted();
    const engine = makeEngine(storage, { queryCache: PERSIST, compaction: { auto: false } });
    const before = await tailKeys(storage);
    expect(before.length).toBe(3); // the closed chunks of the latest version
    // Versions expire, but the latest still has the same tail: kept.
    await engine.collectGarbage(NS, { retention: { keepVersions: 1, keepForMs: 0 } });
    expect(await tailKeys(storage)).toEqual(before);
    // Compacted: the version before the swap still has the tail while it is retained.
    await engine.compact(NS, { force: true });
    await engine.upsert(NS, [doc(seededRandom(4), 7777)]);
    await engine.collectGarbage(NS, { retention: { keepVersions: 3, keepForMs: 0 } });
    expect(await tailKeys(storage)).toEqual(before);
    const gc = await engine.collectGarbage(NS, { retention: { keepVersions: 1, keepForMs: 0 } });
    expect(await tailKeys(storage)).toEqual([]);
    expect(gc.objectsDeleted).toBeGreaterThanOrEqual(before.length);
    await checkAgainstReference(engine, NS, { topK: 1000 }, "COSINE", "after gc");
  });

  it("a collection that fails before deleting them (a crash) leaves objects the next collection deletes", async () => {
    const { storage } = await persisted();
    const faulty = new FaultInjectingStorage(storage);
    const engine = makeEngine(faulty, { queryCache: PERSIST, compaction: { auto: false } });
    await engine.compact(NS, { force: true });
    faulty.failWhen((call) => call.op === "list" && call.key.endsWith("/tailidx/"), { times: 3 });
    await expect(engine.collectGarbage(NS, { retention: { keepVersions: 1, keepForMs: 0 } })).rejects.toThrow(/injected fault/);
    expect((await tailKeys(storage)).length).toBe(3); // the versions are gone, the objects are left
    await engine.upsert(NS, [doc(seededRandom(5), 8888)]);
    await engine.collectGarbage(NS, { retention: { keepVersions: 1, keepForMs: 0 } });
    expect(await tailKeys(storage)).toEqual([]);
  });

  it("repair's sweep keeps the objects of a live tail, and they are no foreign keys; once the tail is compacted away it sweeps them", async () => {
    const { storage } = await persisted();
    const engine = makeEngine(storage, { queryCache: PERSIST, compaction: { auto: false } });
    const before = await tailKeys(storage);
    // (The sweep compares the store's timestamps with the engine clock: a clock past them.)
    const repairer = () => makeEngine(storage, { clock: steppingClock(Date.now() + 60_000) });
    const report = await repairer().repair("acme", "persist", { sweep: true, graceMs: 1000 });
    expect(report.foreignKeys).toEqual([]);
    expect(await tailKeys(storage)).toEqual(before);
    // Compacted and every older version expired, but a crash kept GC from deleting them: the sweep does.
    await engine.compact(NS, { force: true });
    const leaked = await Promise.all(before.map(async (key) => ({ key, bytes: (await storage.get(key)).bytes })));
    await engine.collectGarbage(NS, { retention: { keepVersions: 1, keepForMs: 0 } });
    for (const { key, bytes } of leaked) await storage.put(key, bytes);
    await repairer().repair("acme", "persist", { sweep: true, graceMs: 1000 });
    expect(await tailKeys(storage)).toEqual([]);
  });

  it("the object is a query index the cold readers read by ranges: its head and every IVF list, block by block", async () => {
    const storage = new MemoryStorage();
    const engine = makeEngine(storage, { queryCache: { tailChunkDocs: 5000, tailIndexPersistDocs: 1 }, compaction: { auto: false } });
    await engine.createNamespace(NS);
    const random = seededRandom(12);
    await engine.upsert(NS, Array.from({ length: 5000 }, (_, i) => doc(random, i)));
    await engine.upsert(NS, [doc(random, 9999)]);
    await engine.query(NS, { topK: 1 });
    await engine.close();
    const [key] = await tailKeys(storage);
    const reader = new ColdIndexReader(new StorageIndexSource(storage, walRandom(1), { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }));
    const ref = { key: "chunk", rowCount: 5000 } as unknown as ContainerRef;
    const head = await reader.head({ ref, indexKey: key as string, expectedBytes: undefined, metric: "COSINE" });
    expect(head?.lists).toBeGreaterThan(1);
    const lists = await reader.lists(key as string, head as NonNullable<typeof head>, Array.from({ length: head?.lists ?? 0 }, (_, i) => i));
    expect(lists.reduce((n, l) => n + l.clusters.reduce((m, c) => m + c.count, 0), 0)).toBe(5000);
  });

  it("a failed or answer-lost write never fails a query; a lost answer still leaves a usable object", async () => {
    const memory = new MemoryStorage();
    const faulty = new FaultInjectingStorage(memory);
    faulty.failWhen((call) => call.op === "put" && call.key.includes("/tailidx/"), { times: 1000 });
    const problems: unknown[] = [];
    const builder = makeEngine(faulty, { queryCache: PERSIST, compaction: { auto: false }, onBackgroundError: (error) => problems.push(error) });
    await writeTail(builder);
    const warm = await answers(builder, "builder, writes failing");
    await builder.close();
    expect(builder.queryStats().tailIndexes.writeFailures).toBeGreaterThanOrEqual(4);
    expect(problems.length).toBe(builder.queryStats().tailIndexes.writeFailures);
    expect(await tailKeys(memory)).toEqual([]);

    // Every write lands but its answer is lost: the retry finds the object there.
    const lost = new FaultInjectingStorage(memory);
    const answered = new Set<string>();
    const firstPut = (call: { op: string; key: string }) => call.op === "put" && call.key.includes("/tailidx/") && !answered.has(call.key) && answered.add(call.key) !== undefined;
    lost.failWhen(firstPut, { when: "after", times: 1000 });
    const second = freshEngine(lost);
    await second.engine.query(NS, { topK: 1 });
    await second.engine.close();
    expect(second.engine.queryStats().tailIndexes.writeFailures).toBe(0);
    expect(second.engine.queryStats().tailIndexes.written).toBe(second.engine.queryStats().tailChunks - 1);
    const third = freshEngine(memory);
    const cold = [];
    for (const json of QUERIES) cold.push(await third.engine.query(NS, json));
    expect(cold).toEqual(warm);
    expect(third.engine.queryStats().tailDocsIndexed).toBeLessThanOrEqual(2);
  });
});

const s3 = s3TestTarget("namespace-engine-tail-index");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("persisted tail chunk indexes on the real S3 server", () => {
  it("a fresh engine loads the stored chunks and answers as the builder", async () => {
    const storage = s3.open();
    const builder = makeEngine(storage, { queryCache: PERSIST, compaction: { auto: false } });
    await writeTail(builder);
    const warm = await answers(builder, "s3 builder");
    await builder.close();
    expect(builder.queryStats().tailIndexes.written).toBeGreaterThanOrEqual(4);
    const { engine, problems } = freshEngine(storage);
    const cold = [];
    for (const json of QUERIES) cold.push(await engine.query(NS, json));
    expect(cold).toEqual(warm);
    expect(engine.queryStats().tailIndexes.loaded).toBeGreaterThanOrEqual(2);
    expect(engine.queryStats().tailDocsIndexed).toBeLessThanOrEqual(2);
    expect(problems).toEqual([]);
  }, 60_000);
});
