/**
 * Cold combinations of BM25 clauses (`Sum`, `Max`, `Product`) and cold text
 * and filter queries over a tail of several chunks: on a compacted namespace
 * whose segment indexes are not loaded, they are answered by ranged reads
 * with exactly the rows the loaded indexes give (over tombstones, a tail of
 * rewrites and deletes, several segments, chunks with superseded rows, and
 * partitions indexed under different text options); a damaged block is
 * Corrupt naming the index.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { DocumentInput, NamespaceEngineOptions } from "@skerry/namespace-engine";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldcombo/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima", "mike", "november"];

function words(i: number, n: number, salt: number): string {
  const out: string[] = [];
  for (let j = 0; j < n; j++) out.push(WORDS[(i * (j + salt) + j * j + (i >> 3)) % WORDS.length]!);
  return out.join(" ");
}

function doc(i: number, extra = ""): DocumentInput {
  const text: Record<string, string> = {};
  if (i % 11 !== 0) text["body"] = `${words(i, 3 + (i % 9), 3)}${i % 5 === 0 ? ` w${i % 97}` : ""}${extra}`;
  if (i % 3 !== 0) text["title"] = `${words(i, 1 + (i % 3), 5)}${extra}`;
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    text,
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]! },
  };
}

const combinations: Record<string, unknown>[] = [
  { rankBy: ["Sum", [["title", "BM25", "alpha"], ["body", "BM25", "alpha"]]], topK: 20, includeAttributes: ["n"] },
  { rankBy: ["Max", [["title", "BM25", "bravo kilo"], ["Product", 0.5, ["body", "BM25", "kilo lima"]]]], topK: 50 },
  { rankBy: ["Sum", [["Product", 3, ["title", "BM25", "delta"]], ["body", "BM25", "echo w5"], ["Product", -1, ["body", "BM25", "golf"]]]], topK: 40, includeVectors: true },
  { rankBy: ["Product", 2, ["Sum", [["title", "BM25", "mike"], ["Max", [["body", "BM25", "mike"], ["body", "BM25", "november india"]]]]]], topK: 300 },
  { rankBy: ["Sum", [["title", "BM25", "al", { lastAsPrefix: true }], ["body", "BM25", "w1", { lastAsPrefix: true }]]], topK: 30 },
  { rankBy: ["Sum", [["missing", "BM25", "alpha"], ["title", "BM25", "nothing-matches"]]], topK: 5 },
  { rankBy: ["Sum", [["title", "BM25", "alpha"], ["body", "BM25", "bravo"]]], filters: ["color", "Eq", "green"], topK: 25, includeAttributes: true },
  { rankBy: ["Max", [["title", "BM25", "hotel"], ["body", "BM25", "hotel juliet"]]], filters: ["n", "Gt", 1500], topK: 10 },
];

const singles: Record<string, unknown>[] = [
  { rankBy: ["body", "BM25", "alpha bravo"], topK: 20, includeAttributes: ["n"] },
  { rankBy: ["title", "BM25", "kilo"], filters: ["color", "In", ["red", "blue"]], topK: 30 },
  { rankBy: ["body", "BM25", "w1", { lastAsPrefix: true }], topK: 15 },
  { filters: ["color", "Eq", "red"], topK: 40, includeAttributes: ["n"] },
  { filters: ["n", "Gte", 2990], topK: 100 },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["n", "Lt", 120], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "ANN", [0.3, -0.2, 0.1, 1]], filters: ["n", "Gte", 2950], topK: 8, includeVectors: true },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, options: Partial<NamespaceEngineOptions> = {}): Promise<void> {
  const warm = makeEngine(storage, { ...options, queryCache: { ...options.queryCache, coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage, options);
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
  const warmRows = await warm.queryRows(NS, request);
  const coldRows = await makeEngine(storage, options).queryRows(NS, request);
  expect(coldRows.rows.length).toBe(warmRows.rows.length);
  for (let i = 0; i < warmRows.rows.length; i++) expect(coldRows.rows.json(i)).toBe(warmRows.rows.json(i));
}

describe("cold combinations of BM25 clauses", () => {
  it("answer from ranged reads exactly like the loaded index, over tombstones and a tail of rewrites and deletes", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await writer.upsert(NS, [doc(5001), doc(100, " alpha alpha"), doc(5002, " bravo"), doc(7, " kilo")]);
    await writer.delete(NS, ["doc-00101", "doc-00105", "doc-00110"]);
    for (const request of combinations) await expectCold(storage, request);
    // Only part of the index was read.
    const [index] = await indexObjects(storage);
    const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
    await engine.query(NS, combinations[0]!);
    expect(engine.queryStats().coldQueries).toBe(1);
    expect(engine.queryStats().coldBytes).toBeLessThan(index!.size * 0.8);
  });

  it("over several segments (tiered compaction) whose rows a newer segment rewrote or deleted", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 100 } });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(10_000 + i)));
    await writer.upsert(NS, Array.from({ length: 200 }, (_, i) => doc(i * 8, " alpha kilo")));
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => `doc-${String(i * 8 + 3).padStart(5, "0")}`));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, [doc(20_000, " alpha"), doc(16, " mike")]);
    await writer.delete(NS, ["doc-00017", "doc-10001"]);
    for (const request of combinations) await expectCold(storage, request);
  });

  it("over a tail of several chunks with superseded rows, and partitions indexed under other text options", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 30]);
    await writer.updateTextFields(NS, { body: { stemming: true }, title: { k1: 1.6, b: 0.5 } });
    // Many small tail batches: with 2 containers a chunk, the tail is several chunks. An engine that keeps
    // querying (cold: no index fits its budget) extends its fold, so later containers supersede rows of its
    // closed chunks (rewrites and deletes of rows an earlier chunk holds).
    const options = { queryCache: { tailChunkContainers: 2, tailChunkFanout: 16 } };
    const live = makeEngine(storage, { queryCache: { ...options.queryCache, segmentIndexBytes: 0 } });
    for (let b = 0; b < 7; b++) {
      await writer.upsert(NS, [doc(6000 + b, " alpha"), doc(6100 + b, " kilo running"), doc(200 + b, " bravo runs"), doc(6000 + ((b + 3) % 7), ` mike ${b}`)]);
      if (b % 2 === 1) await writer.delete(NS, [`doc-0${6100 + b - 1}`, `doc-${String(300 + b).padStart(5, "0")}`, `doc-0${6000 + b - 1}`]);
      await live.query(NS, { rankBy: ["body", "BM25", "alpha"], topK: 1 });
    }
    expect(live.queryStats().tailChunks).toBeGreaterThan(3);
    const requests = [...combinations, ...singles, { rankBy: ["body", "BM25", "running"], topK: 30 }, { rankBy: ["body", "BM25", "alpha mike"], topK: 3000 }];
    for (const request of requests) {
      await expectCold(storage, request, options);
      const before = live.queryStats().coldQueries;
      expect(await live.query(NS, request), JSON.stringify(request)).toEqual(await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request));
      expect(live.queryStats().coldQueries).toBe(before + 1);
    }
  });

  it("find a damaged block of the stored index: Corrupt naming it", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    const request = { rankBy: ["Sum", [["title", "BM25", "alpha bravo charlie delta echo"], ["body", "BM25", "foxtrot golf hotel india juliet kilo"]]], topK: 3000, includeAttributes: true };
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request))).toBeGreaterThanOrEqual(4);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-combination");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold combinations of BM25 clauses on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads, with a tail of several chunks", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    for (let b = 0; b < 4; b++) await writer.upsert(NS, [doc(5000 + b), doc(100 + b, " alpha alpha")]);
    await writer.delete(NS, ["doc-00101"]);
    const options = { queryCache: { tailChunkContainers: 2, tailChunkFanout: 16 } };
    for (const request of [combinations[0]!, combinations[2]!, combinations[6]!, singles[0]!, singles[3]!]) await expectCold(storage, request, options);
  });
});
