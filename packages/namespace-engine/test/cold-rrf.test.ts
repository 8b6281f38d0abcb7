/**
 * Cold reciprocal rank fusion (`rankBy: ["RRF", [...]]`): each sub-ranking
 * (BM25, text combinations, attribute orders by one key or several, dense
 * rankings: with a selective filter, ANN, exact kNN) run cold and fused as the loaded path fuses them,
 * so the rows and scores equal the loaded ones: over tombstones, a tail of
 * rewrites and deletes, several segments, reordered (IVF) segments; a damaged block is
 * Corrupt.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldrrf/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
const idOf = (i: number) => `doc-${String(i).padStart(5, "0")}`;

function doc(i: number, salt = ""): DocumentInput {
  const words: string[] = [];
  for (let j = 0; j < 2 + (i % 5); j++) words.push(WORDS[(i * (j + 3) + j) % WORDS.length]!);
  return {
    id: idOf(i),
    vector: [Math.sin(i), Math.cos(i * 1.7), (i % 13) / 13, Math.sin(i / 5)],
    text: { body: `${words.join(" ")}${salt}` },
    attributes: { n: i, price: (i * 37) % 101, color: ["red", "green", "blue"][i % 3]! },
  };
}

const requests: Record<string, unknown>[] = [
  { rankBy: ["RRF", [["body", "BM25", "alpha"], ["price", "desc"]]], topK: 10, includeAttributes: ["n"] },
  { rankBy: ["RRF", [["body", "BM25", "golf hotel"], ["Sum", [["body", "BM25", "echo"], ["body", "BM25", "delta"]]]], { k: 10, window: 30, weights: [2, 0.5] }], topK: 20 },
  { rankBy: ["RRF", [["body", "BM25", "bravo"], ["vector", "kNN", [0.3, 0.2, 0.1, 1]]]], filters: ["n", "Lt", 200], topK: 15 },
  { rankBy: ["RRF", [["vector", "ANN", [0.3, -0.2, 0.5, 1]], ["body", "BM25", "charlie foxtrot"]]], topK: 10, includeAttributes: true },
  { rankBy: ["RRF", [["vector", "ANN", [0.1, 0.9, 0.5, 0.2]], ["body", "BM25", "alpha"]]], filters: ["color", "Eq", "red"], topK: 10 },
  // Multi-key attribute orders, unfiltered (or not selectively filtered) kNN.
  { rankBy: ["RRF", [["body", "BM25", "alpha"], [["color", "asc"], ["price", "desc"]]]], topK: 15, includeAttributes: ["color", "price"] },
  { rankBy: ["RRF", [[["price", "desc"], ["id", "desc"]], ["vector", "kNN", [0.3, 0.2, 0.1, 1]]], { window: 40 }], topK: 25 },
  { rankBy: ["RRF", [["vector", "kNN", [0.9, -0.2, 0.1, 0.4]], ["body", "BM25", "golf"]]], filters: ["n", "Gte", 100], topK: 10 },
  { rankBy: ["RRF", [["vector", "kNN", [0.2, 0.2, 0.7, 0.1]], [["color", "desc"], ["n", "asc"]], ["vector", "ANN", [0.5, 0.1, 0.3, 0.2]]], { k: 5, weights: [1, 2, 0.5] }], topK: 30 },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, cold = true): Promise<void> {
  const warm = makeEngine(storage, { queryCache: { coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage, { queryCache: { coldRerank: 1_000_000 } });
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(cold ? 1 : 0);
}

describe("cold RRF", () => {
  it("fuses cold sub-rankings exactly like the loaded index, over tombstones and a tail", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await writer.upsert(NS, [doc(5001, " alpha alpha"), doc(100, " golf"), doc(7, " bravo")]);
    await writer.delete(NS, [idOf(101), idOf(150)]);
    // ANN over segments without IVF lists is the exact scan the loaded path makes there.
    for (const request of requests) await expectCold(storage, request);
  });

  it("over several segments", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 100 } });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(2100 + i)));
    await writer.upsert(NS, Array.from({ length: 200 }, (_, i) => doc(i * 8, " hotel")));
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => idOf(i * 8 + 3)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, [doc(2900, " alpha"), doc(16, " golf")]);
    await writer.delete(NS, [idOf(17), idOf(2101)]);
    for (const request of requests) await expectCold(storage, request);
  });

  it("with ANN sub-rankings over reordered (IVF) segments with tombstones", async () => {
    const { storage, writer } = await compactedNamespace(NS, 5000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 60]);
    await writer.upsert(NS, [doc(6001, " alpha"), doc(100, " charlie")]);
    await writer.delete(NS, [idOf(4001)]);
    for (const request of [requests[0]!, requests[1]!, requests[3]!, requests[4]!, ...requests.slice(5)]) await expectCold(storage, request);
  });

  it("find a damaged block: Corrupt naming the index", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, requests[0]!))).toBeGreaterThanOrEqual(3);
    // Multi-key orders' further keys and the exact scan's clusters.
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, requests[8]!))).toBeGreaterThanOrEqual(3);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-rrf");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold RRF on the real S3 server", () => {
  it("fuses exactly like the loaded index from ranged reads", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.upsert(NS, [doc(5001, " alpha"), doc(100, " golf")]);
    await writer.delete(NS, [idOf(101)]);
    for (const request of requests.slice(0, 3)) await expectCold(storage, request);
  });
});
