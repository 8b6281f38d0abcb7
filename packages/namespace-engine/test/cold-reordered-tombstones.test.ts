/**
 * Cold text and filter queries over segments whose indexes reordered their
 * rows (IVF lists: 4,096 vectors or more) and that have tombstones: the
 * tombstoned positions are mapped to slots through the positions the
 * clusters keep (cold-dead-slots.ts), so BM25, listings, filtered dense
 * rankings and aggregations are answered cold with exactly the loaded rows;
 * a damaged cluster is Corrupt.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { decodeBlockFileDirectory } from "@skerry/wal-format";
import { afterAll, describe, expect, it } from "vitest";
import { type DocumentInput, isCorrupt, type NamespaceEngine } from "@skerry/namespace-engine";
import { indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldreordered/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];

const idOf = (i: number) => `doc-${String(i).padStart(5, "0")}`;

function doc(i: number, salt = ""): DocumentInput {
  const words: string[] = [];
  for (let j = 0; j < 2 + (i % 6); j++) words.push(WORDS[(i * (j + 5) + j) % WORDS.length]!);
  return {
    id: idOf(i),
    vector: [Math.sin(i), Math.cos(i * 1.3), (i % 11) / 11, Math.sin(i / 7)],
    text: { body: `${words.join(" ")}${salt}` },
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]!, tags: [`t${i % 9}`] },
  };
}

const requests: Record<string, unknown>[] = [
  { rankBy: ["body", "BM25", "alpha golf"], topK: 20, includeAttributes: ["n"] },
  { rankBy: ["body", "BM25", "juliet"], filters: ["color", "Eq", "red"], topK: 50 },
  { filters: ["n", "Lt", 400], topK: 3000 },
  { filters: ["And", [["color", "Eq", "blue"], ["n", "Gte", 4000]]], topK: 30, includeAttributes: true },
  { filters: ["body", "ContainsAllTokens", "alpha bravo"], topK: 100 },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["n", "Lt", 300], topK: 10 },
  { rankBy: ["vector", "kNN", [0.3, -0.2, 0.5, 1]], topK: 10, includeVectors: true },
  { filters: ["tags", "AnyLt", "t2"], aggregateBy: { c: ["Count"], s: ["Sum", "n"] } },
  { aggregateBy: { c: ["Count"] }, groupBy: ["color"] },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>): Promise<void> {
  const warm = makeEngine(storage, { queryCache: { coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage);
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
}

/** One segment of 5,000 rows (IVF: reordered), tombstones in it, and a tail of rewrites and deletes. */
async function reordered(storage: StorageProvider): Promise<NamespaceEngine> {
  const writer = makeEngine(storage, { compaction: { auto: false } });
  await writer.createNamespace(NS, { distanceMetric: "cosine" });
  for (let at = 0; at < 5000; at += 1000) await writer.upsert(NS, Array.from({ length: 1000 }, (_, i) => doc(at + i)));
  await writer.compact(NS, { force: true });
  await writer.deleteByFilter(NS, ["n", "Lt", 60]);
  await writer.deleteByFilter(NS, ["color", "Eq", "green"]);
  await writer.upsert(NS, [doc(6001, " alpha alpha"), doc(100, " juliet"), doc(4001, " golf")]);
  await writer.delete(NS, [idOf(101), idOf(4003), idOf(4006)]);
  return writer;
}

describe("cold queries over a reordered segment with tombstones", () => {
  it("answer from ranged reads exactly like the loaded index", async () => {
    const storage = new MemoryStorage();
    await reordered(storage);
    for (const request of requests) await expectCold(storage, request);
  });

  it("find a damaged cluster: Corrupt naming the index", async () => {
    const storage = new MemoryStorage();
    await reordered(storage);
    const [index] = await indexObjects(storage);
    const original = (await storage.get(index!.key)).bytes;
    const section = decodeBlockFileDirectory(original, original.byteLength).section("clusters")!;
    const damaged = original.slice();
    damaged[section.offset + Math.floor(section.length / 3)]! ^= 0x20;
    await storage.put(index!.key, damaged, { mode: { kind: "overwrite" } });
    const error = await makeEngine(storage)
      .query(NS, requests[2]!)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isCorrupt(error), String(error)).toBe(true);
    expect((error as { key: string }).key).toBe(index!.key);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-reordered");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold queries over a reordered segment with tombstones on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads", async () => {
    const storage = s3.open();
    await reordered(storage);
    for (const request of [requests[0]!, requests[2]!, requests[5]!, requests[7]!]) await expectCold(storage, request);
  });
});
