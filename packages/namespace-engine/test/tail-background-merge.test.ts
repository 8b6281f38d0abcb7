/**
 * Tail chunk merges off the query's path (namespace-query.ts #mergeTail,
 * tail-chunks.ts `merges`): when a version's new closed chunk completes a
 * level, the query right after it answers from the unmerged chunks (exact:
 * they are disjoint) and indexes only the new chunk; the merge runs in the
 * background, after which the next query uses the merged layout. Over a
 * fresh engine's summarized fold (stored chunks whose batches it never
 * read), the merge needs the batches folded: that too runs in the
 * background, never as a refold on the query's path.
 */
import { describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { allKeys, makeEngine } from "./support/harness.ts";
import { checkAgainstReference } from "./namespace-query-reference.ts";

const NS = "acme/tail-merge/docs";
const DIM = 6;
const WORDS = ["alpha", "beta", "gamma", "delta", "omega"];

function vectorOf(i: number, salt = 0): number[] {
  return Array.from({ length: DIM }, (_, d) => Math.sin((i + salt * 0.5) * (d + 1) * 0.41) + ((i * 3 + d) % 4) * 0.1);
}

function doc(i: number, salt = 0): DocumentInput {
  return {
    id: `doc-${String(i).padStart(4, "0")}`,
    vector: vectorOf(i, salt),
    text: { body: `${WORDS[(i + salt) % WORDS.length]} ${WORDS[(i * 2 + salt) % WORDS.length]}` },
    attributes: { n: (i * 7 + salt) % 100, salt },
  };
}

const range = (from: number, to: number, salt = 0) => Array.from({ length: to - from }, (_, i) => doc(from + i, salt));

const QUERIES: Record<string, unknown>[] = [
  { rankBy: ["vector", "kNN", vectorOf(17, 1)], topK: 12, includeAttributes: ["salt", "n"] },
  { rankBy: ["body", "BM25", "alpha gamma"], topK: 15, includeAttributes: ["salt"] },
  { filters: ["salt", "Gte", 1], topK: 500, includeAttributes: ["salt", "n"] },
  { filters: ["n", "Lt", 40], topK: 500, includeAttributes: ["salt"] },
];

async function expectExact(engine: NamespaceEngine, label: string): Promise<void> {
  for (const json of QUERIES) await checkAgainstReference(engine, NS, json, "COSINE", `${label}: ${JSON.stringify(json)}`);
}

/** Documents indexed on queries' paths so far (all indexed, less the background merges'). */
function queryPathDocs(engine: NamespaceEngine): number {
  const stats = engine.queryStats();
  return stats.tailDocsIndexed - stats.tailMerges.indexedDocs;
}

function engineOver(storage: StorageProvider, settings: Record<string, unknown>): { engine: NamespaceEngine; problems: unknown[] } {
  const problems: unknown[] = [];
  const engine = makeEngine(storage, { queryCache: settings, compaction: { auto: false }, onBackgroundError: (error) => problems.push(error) });
  return { engine, problems };
}

describe("tail chunk merges in the background", () => {
  it("the query after a write that completes a level answers from the unmerged chunks; the merge lands in the background", async () => {
    const CHUNK = 40;
    const { engine, problems } = engineOver(new MemoryStorage(), { tailChunkDocs: CHUNK, tailChunkContainers: 100, tailChunkFanout: 2 });
    await engine.createNamespace(NS, { distanceMetric: "cosine" });
    await engine.upsert(NS, range(0, CHUNK));
    await expectExact(engine, "one chunk");
    expect(engine.queryStats().tailChunks).toBe(2); // the closed chunk and the (empty) open one

    // The second chunk overwrites and deletes rows of the first, and completes level 0 (fanout 2).
    const before = queryPathDocs(engine);
    await engine.upsert(NS, [...range(20, 50, 1), ...range(100, 100 + CHUNK - 30, 1)]);
    await expectExact(engine, "unmerged");
    // Answered from the two level-0 chunks (or, once the merge landed, the merged one): the queries indexed the new
    // chunk only, never the merge of both.
    expect(queryPathDocs(engine) - before).toBe(CHUNK);

    await engine.settleQueryWork();
    expect(engine.queryStats().tailMerges).toMatchObject({ done: 1, pending: 0, failed: 0, refolds: 0 });
    // The merged chunk holds the 60 live documents (20 of the first chunk's rows were overwritten).
    expect(engine.queryStats().tailMerges.indexedDocs).toBe(60);
    await expectExact(engine, "merged");
    expect(engine.queryStats().tailChunks).toBe(2); // one chunk of level 1 and the open one

    // Deletes reaching into the merged chunk, and a third chunk, answered before its merge is due.
    await engine.delete(NS, ["doc-0001", "doc-0025", "doc-0105"]);
    await engine.upsert(NS, range(200, 200 + CHUNK, 2));
    await expectExact(engine, "a new chunk after the merged one");
    expect(engine.queryStats().tailChunks).toBe(3); // no merge owed: the level-1 chunk, the new one, the open one
    // A fourth chunk completes two levels: merged in the background into one chunk of level 2.
    const third = queryPathDocs(engine);
    await engine.upsert(NS, range(300, 300 + CHUNK, 3));
    await expectExact(engine, "two levels owed");
    expect(queryPathDocs(engine) - third).toBe(CHUNK);
    await engine.settleQueryWork();
    await expectExact(engine, "two levels merged");
    expect(engine.queryStats().tailChunks).toBe(2);
    expect(engine.queryStats().tailMerges).toMatchObject({ done: 2, pending: 0, failed: 0 });

    // Three chunks closed by one version's query (A, B, C): A and B merge in the background and C, built on the
    // query's path, stays after the merged chunk, so C's ids are touched after the merge's containers.
    const three = queryPathDocs(engine);
    await engine.upsert(NS, range(400, 440, 4)); // A
    await engine.upsert(NS, [...range(410, 430, 5), ...range(0, 20, 5)]); // B: A's rows, the level-2 chunk's
    await engine.upsert(NS, [...range(405, 425, 6), ...range(500, 520, 6)]); // C: A's and B's rows
    await expectExact(engine, "three chunks in one version");
    expect(queryPathDocs(engine) - three).toBe(15 + 25 + 40); // A's, B's and C's live rows, each once
    await engine.settleQueryWork();
    expect(engine.queryStats().tailMerges).toMatchObject({ done: 3, pending: 0, failed: 0 });
    await expectExact(engine, "A and B merged before C");
    expect(engine.queryStats().tailChunks).toBe(4); // level 2, level 1 (A and B), C, and the (empty) open one
    expect(problems).toEqual([]);
  });

  it("a fresh engine over stored summarized chunks merges (and folds the batches) in the background, never on the query's path", async () => {
    const CHUNK = 60;
    const settings = { tailChunkDocs: CHUNK, tailChunkContainers: 100, tailChunkFanout: 2, tailIndexPersistDocs: 1, coldRerank: 1_000_000, segmentIndexBytes: 1 };
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { queryCache: settings, compaction: { auto: false } });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    await writer.upsert(NS, range(0, CHUNK));
    await writer.query(NS, { topK: 1 });
    await writer.close(); // the chunk's object lands
    expect(writer.queryStats().tailIndexes.written).toBe(1);

    const { engine, problems } = engineOver(storage, settings);
    await expectExact(engine, "fresh");
    expect(engine.queryStats().tailIndexes).toMatchObject({ summarized: 1, refolds: 0 });
    expect(engine.queryStats().tailDocsIndexed).toBe(0);

    // Its own chunk completes level 0: merging it with the summarized one needs that chunk's documents.
    await engine.upsert(NS, [...range(30, 60, 1), ...range(500, 530, 1)]);
    await expectExact(engine, "unmerged over the summarized chunk");
    expect(engine.queryStats().tailIndexes.refolds).toBe(0);
    expect(queryPathDocs(engine)).toBe(CHUNK); // the new chunk only


    await engine.settleQueryWork();
    expect(engine.queryStats().tailMerges).toMatchObject({ done: 1, pending: 0, failed: 0, refolds: 1 });
    await expectExact(engine, "merged");
    expect(engine.queryStats().tailChunks).toBe(2);
    expect(engine.queryStats().tailIndexes.refolds).toBe(0);

    // The merged fold (batches folded) extends as usual: a delete and a patch of the stored chunk's rows.
    await engine.delete(NS, ["doc-0002", "doc-0501"]);
    await engine.patch(NS, [{ id: "doc-0010", attributes: { salt: 7 } }]);
    await expectExact(engine, "after writes");
    expect(engine.queryStats().tailIndexes.refolds).toBe(0);
    expect(problems).toEqual([]);
  });

  it("a failed merge is never surfaced, and a later query queues it again after a backoff", async () => {
    const CHUNK = 60;
    const settings = { tailChunkDocs: CHUNK, tailChunkContainers: 100, tailChunkFanout: 2, tailIndexPersistDocs: 1, coldRerank: 1_000_000, segmentIndexBytes: 1 };
    const storage = new FaultInjectingStorage(new MemoryStorage());
    // Batches stored as objects: the merge's refold reads them, the query's path (the stored chunk) does not.
    const writer = makeEngine(storage, { queryCache: settings, compaction: { auto: false }, carriedBatches: false });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    await writer.upsert(NS, range(0, CHUNK));
    await writer.query(NS, { topK: 1 });
    await writer.close();
    const oldBatches = new Set((await allKeys(storage)).filter((key) => key.endsWith(".log")));
    expect(oldBatches.size).toBeGreaterThan(0);

    let now = Date.parse("2026-06-01T00:00:00Z");
    const problems: unknown[] = [];
    const engine = makeEngine(storage, {
      queryCache: settings,
      compaction: { auto: false },
      carriedBatches: false,
      clock: { now: () => now },
      onBackgroundError: (error) => problems.push(error),
    });
    await expectExact(engine, "fresh"); // the reference reads the state (the old batches) now, before they fail

    // Every read of the stored chunk's batches fails: the merge's refold cannot fold them.
    storage.failWhen((call) => call.op === "get" && oldBatches.has(call.key), { times: 1_000 });
    await engine.upsert(NS, [...range(30, 60, 1), ...range(500, 530, 1)]);
    await expectExact(engine, "unmerged, the merge failing");
    await engine.settleQueryWork();
    expect(engine.queryStats().tailMerges).toMatchObject({ done: 0, pending: 0, failed: 1, retried: 0 });
    expect(problems).toHaveLength(1);
    await expectExact(engine, "the merge failed: answered from the unmerged chunks");
    expect(engine.queryStats().tailChunks).toBe(3);

    // Before the backoff has passed, a query does not queue it again; after it, the next query does (no write).
    now += 500;
    await expectExact(engine, "within the backoff");
    await engine.settleQueryWork();
    expect(engine.queryStats().tailMerges).toMatchObject({ done: 0, failed: 1, retried: 0 });
    now += 600;
    await expectExact(engine, "the retry queued, failing again");
    await engine.settleQueryWork();
    expect(engine.queryStats().tailMerges).toMatchObject({ done: 0, failed: 2, retried: 1 });
    // The backoff doubled: 1 s more is not enough, 2 s is.
    now += 1_100;
    await expectExact(engine, "within the doubled backoff");
    await engine.settleQueryWork();
    expect(engine.queryStats().tailMerges).toMatchObject({ failed: 2, retried: 1 });

    storage.clearFaults();
    now += 1_000;
    await expectExact(engine, "the retry queued, the batches readable");
    await engine.settleQueryWork();
    // Each attempt folded the batches (refolds: 3), the failed ones too.
    expect(engine.queryStats().tailMerges).toMatchObject({ done: 1, pending: 0, failed: 2, retried: 2, refolds: 3 });
    await expectExact(engine, "merged");
    expect(engine.queryStats().tailChunks).toBe(2);
    expect(engine.queryStats().tailIndexes.refolds).toBe(0); // never on the query's path
    // Nothing owed any more: later queries queue nothing.
    now += 120_000;
    await expectExact(engine, "nothing owed");
    await engine.settleQueryWork();
    expect(engine.queryStats().tailMerges).toMatchObject({ done: 1, failed: 2, retried: 2 });
    expect(problems).toHaveLength(2);
  });
});
