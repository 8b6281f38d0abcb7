/**
 * A fold started from stored chunk summaries keeps the chunks' ids in their
 * id blocks (src/ranged-tail-chunk.ts, query-tail.ts `applySummary`): an id
 * is looked up in a chunk by a binary search over its id bytes, and a newer
 * chunk's rows are intersected with an older one's by a merge of their
 * sorted ids, never folded into maps. Shadowing must stay exact: three
 * stored chunks, each written before the next existed (so an older chunk's
 * object holds rows newer chunks overwrote or deleted), with a chunk that
 * re-upserts ids an older one deleted and deletes ids an older one holds;
 * then batches after them, then writes made by the fresh engine itself
 * (upserts, deletes, and a PATCH of a stored chunk's row, which folds the
 * batches instead). Every answer equals the loaded path's and the exact
 * reference over the namespace's documents.
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { makeEngine } from "./support/harness.ts";
import { checkAgainstReference } from "./namespace-query-reference.ts";

const NS = "acme/summary-ids/docs";
const DIM = 8;
const CHUNK = 4500;
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa"];
/** Every chunk persisted, exact cold ANN (a re-rank wider than any scan), no background load after a cold query. */
const SETTINGS = { tailChunkDocs: CHUNK, tailIndexPersistDocs: 1, coldRerank: 1_000_000, segmentIndexBytes: 1 };

function vectorOf(i: number, salt = 0): number[] {
  return Array.from({ length: DIM }, (_, d) => Math.sin((i + salt * 0.5) * (d + 1) * 0.37) + ((i * 7 + d) % 5) * 0.1);
}

function doc(i: number, salt = 0): DocumentInput {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: vectorOf(i, salt),
    text: { body: `${WORDS[(i + salt) % WORDS.length]} ${WORDS[(i * 3 + salt) % WORDS.length]}` },
    attributes: { n: (i * 13 + salt) % 1000, color: ["red", "green", "blue"][(i + salt) % 3]!, salt },
  };
}

const range = (from: number, to: number, salt = 0) => Array.from({ length: to - from }, (_, i) => doc(from + i, salt));
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `doc-${String(from + i).padStart(5, "0")}`);

const QUERIES: Record<string, unknown>[] = [
  { rankBy: ["vector", "ANN", vectorOf(4350, 1)], topK: 20, includeAttributes: ["n", "salt"] },
  { rankBy: ["vector", "ANN", vectorOf(155, 2)], topK: 20, filters: ["color", "Eq", "red"], includeAttributes: ["salt"] },
  { rankBy: ["vector", "kNN", vectorOf(5050, 2)], topK: 15, includeAttributes: ["salt"] },
  { rankBy: ["body", "BM25", "alpha gamma"], topK: 25, includeAttributes: ["salt"] },
  { filters: ["salt", "Gte", 2], topK: 500, includeAttributes: ["salt", "n"] },
  { filters: ["n", "Lt", 30], topK: 1000, includeAttributes: ["salt"] },
  { aggregateBy: { count: ["Count"] }, filters: ["color", "Eq", "blue"] },
];
const EXACT = QUERIES.filter((q) => !JSON.stringify(q.rankBy ?? "").includes("ANN"));

function fresh(storage: StorageProvider, settings: Record<string, unknown> = SETTINGS): { engine: NamespaceEngine; problems: unknown[] } {
  const problems: unknown[] = [];
  const engine = makeEngine(storage, { queryCache: settings, compaction: { auto: false }, onBackgroundError: (error) => problems.push(error) });
  return { engine, problems };
}

/**
 * Chunk A: 0..4399, then 4300..4399 deleted. Chunk B: 4000..7999 (overwrites A's rows 4000..4299, re-upserts the
 * ids A deleted), then 100..599 deleted (A's rows). Chunk C: 150..170 again (ids B deleted), 5000..5100 again (B's
 * rows), 6000..6010 and 10..20 deleted (B's and A's), 10000..14377 new. Then an open chunk reaching into all three.
 * The writer queries after every write, so each chunk's object is written before the next chunk exists.
 */
async function stored(): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  const writer = makeEngine(storage, { queryCache: SETTINGS, compaction: { auto: false } });
  await writer.createNamespace(NS, { distanceMetric: "cosine" });
  const steps: (() => Promise<unknown>)[] = [
    () => writer.upsert(NS, range(0, 4400)),
    () => writer.delete(NS, ids(4300, 4400)),
    () => writer.upsert(NS, range(4000, 8000, 1)),
    () => writer.delete(NS, ids(100, 600)),
    () => writer.upsert(NS, [...range(150, 171, 2), ...range(5000, 5101, 2)]),
    () => writer.delete(NS, [...ids(6000, 6011), ...ids(10, 21)]),
    () => writer.upsert(NS, range(10_000, 14_378, 2)),
    () => writer.upsert(NS, [doc(160, 3), doc(2000, 3), doc(4350, 3), doc(12_000, 3), doc(30_000, 3)]),
    () => writer.delete(NS, ["doc-05050", "doc-00001", "doc-04351", "doc-13000"]),
  ];
  for (const step of steps) {
    await step();
    await writer.query(NS, { topK: 1 });
  }
  await writer.close(); // the background writes land
  expect(writer.queryStats().tailIndexes.written).toBe(3);
  return storage;
}

async function expectExact(engine: NamespaceEngine, storage: StorageProvider, label: string): Promise<void> {
  for (const json of QUERIES) {
    const loaded = await fresh(storage, { ...SETTINGS, coldReads: false }).engine.query(NS, json);
    expect(await engine.query(NS, json), `${label}: ${JSON.stringify(json)}`).toEqual(loaded);
  }
  for (const json of EXACT) await checkAgainstReference(engine, NS, json, "COSINE", `${label}: reference ${JSON.stringify(json)}`);
}

describe("stored chunks' ids kept in their id blocks (summarized folds)", () => {
  it("a fresh engine's answers over three summarized chunks and the batches after them are exact, also after its own writes", async () => {
    const storage = await stored();
    const { engine, problems } = fresh(storage);
    await expectExact(engine, storage, "fresh");
    expect(engine.queryStats().tailIndexes).toMatchObject({ ranged: 3, summarized: 3, refolds: 0, rejected: 0, unfit: 0 });
    expect(engine.queryStats().tailDocsIndexed).toBeLessThanOrEqual(10);

    // Its own writes extend the summarized fold: overwrites and deletes of each chunk's rows, an id a chunk deleted.
    await engine.upsert(NS, [doc(1500, 4), doc(6500, 4), doc(11_000, 4), doc(300, 4), doc(40_000, 4)]);
    await engine.delete(NS, ["doc-00002", "doc-07000", "doc-10002", "doc-00160"]);
    await expectExact(engine, storage, "after writes");
    expect(engine.queryStats().tailIndexes).toMatchObject({ summarized: 3, refolds: 0, rejected: 0 });

    // A PATCH of a stored chunk's row needs its document: the batches are folded instead, the answers unchanged.
    // doc-04320: deleted in chunk A, a row of chunk B (the fold must know it live, not deleted).
    await engine.patch(NS, [{ id: "doc-04320", attributes: { salt: 9 } }]);
    await expectExact(engine, storage, "after a patch");
    expect(engine.queryStats().tailIndexes.refolds).toBe(1);
    expect(problems).toEqual([]);
  });

  it("an older chunk's rows a newer summarized chunk overwrote or deleted are its excluded slots", async () => {
    const storage = await stored();
    const { engine } = fresh(storage);
    // A listing of the ids in the stored chunks' ranges, cold: each id once, the newest state.
    const rows = [];
    for (const filters of [["n", "Lt", 500], ["n", "Gte", 500]]) rows.push(...(await engine.query(NS, { filters, topK: 10_000, includeAttributes: ["salt"] })).rows);
    const got = new Map(rows.map((r) => [r.id, (r.attributes as { salt: number }).salt]));
    expect(got.size).toBe(rows.length);
    expect(got.get("doc-04000")).toBe(1); // A's row overwritten by B
    expect(got.get("doc-04300")).toBe(1); // deleted in A, upserted by B
    expect(got.has("doc-00100")).toBe(false); // A's row deleted by B
    expect(got.get("doc-00150")).toBe(2); // deleted by B, upserted by C
    expect(got.get("doc-00160")).toBe(3); // ...and again after C
    expect(got.get("doc-05000")).toBe(2); // B's row overwritten by C
    expect(got.has("doc-06000")).toBe(false); // B's row deleted by C
    expect(got.has("doc-04351")).toBe(false); // B's row deleted after C
    const documents = await engine.documents(NS);
    expect([...got.keys()].sort()).toEqual(documents.map((d) => d.id).sort());
    expect(engine.queryStats().tailIndexes).toMatchObject({ summarized: 3, refolds: 0 });
  });
});
