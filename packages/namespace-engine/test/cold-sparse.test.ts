/**
 * Cold sparse rankings (`rankBy: ["sparse", "Dot", {indices, values}]`,
 * alone, filtered, with `limitPer`, or inside RRF): on a compacted
 * namespace whose segment indexes are not loaded, each segment reads only
 * the postings of the query's dimensions (format 7, cold-sparse.ts), so the
 * rows and scores equal the loaded ones: ties, tombstones, a tail of
 * rewrites and deletes, several segments; a damaged block is Corrupt; a
 * query reads a small part of the index.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldsparse/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
const idOf = (i: number) => `doc-${String(i).padStart(5, "0")}`;

/** Sparse rows over 400 dimensions, values from a small set (many tied scores), some rows without one. */
function doc(i: number, salt = 0): DocumentInput {
  const dims = new Set<number>();
  for (let j = 0; j < 3 + (i % 6); j++) dims.add((i * (j + 7) + j * 31 + salt) % 400);
  const indices = [...dims].sort((a, b) => a - b);
  const sparse = i % 11 === 0 ? undefined : { indices, values: indices.map((d) => ((d + i + salt) % 5) / 2 - 0.5) };
  return {
    id: idOf(i),
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    ...(sparse === undefined ? {} : { sparse }),
    text: { body: `${WORDS[i % WORDS.length]} ${WORDS[(i * 3) % WORDS.length]}` },
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]!, price: (i * 37) % 101 },
  };
}

const sparse = (indices: number[], values: number[]) => ["sparse", "Dot", { indices, values }];

const requests: Record<string, unknown>[] = [
  { rankBy: sparse([3, 17, 40, 255], [1, 0.5, 2, 1]), topK: 10, includeAttributes: ["n"] },
  { rankBy: sparse([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), topK: 300 },
  { rankBy: sparse([12, 399], [-1, 0.25]), topK: 40 },
  { rankBy: sparse([401, 999], [1, 1]), topK: 5 },
  { rankBy: sparse([7, 77, 177], [0.3, 1.7, 2.5]), filters: ["color", "Eq", "red"], topK: 25, includeAttributes: true },
  { rankBy: sparse([7, 77, 177], [0.3, 1.7, 2.5]), filters: ["n", "Lt", 40], topK: 25 },
  { rankBy: sparse([5, 50, 150, 250, 350], [1, 2, 3, 2, 1]), limitPer: { attributes: ["color"], limit: 2 }, topK: 6 },
  { rankBy: ["RRF", [sparse([3, 17, 40], [1, 1, 1]), ["body", "BM25", "alpha"]]], topK: 15 },
  { rankBy: ["RRF", [["vector", "kNN", [0.3, 0.2, 0.1, 1]], sparse([9, 90, 190], [2, 1, 0.5]), [["color", "asc"], ["price", "desc"]]], { window: 30 }], topK: 20 },
  { rankBy: ["RRF", [sparse([9, 90, 190], [2, 1, 0.5]), ["price", "asc"]]], filters: ["n", "Gte", 500], topK: 10 },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<void> {
  const expected = await makeEngine(storage, { queryCache: { ...options, coldReads: false } }).query(NS, request);
  const engine = makeEngine(storage, { queryCache: options });
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
}

describe("cold sparse rankings", () => {
  it("answer from the query's postings exactly like the loaded index, over tombstones and a tail of rewrites and deletes", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 30]);
    await writer.upsert(NS, [doc(5001), doc(100, 3), { ...doc(44), sparse: { indices: [3, 17, 40, 255], values: [9, 9, 9, 9] } }]);
    await writer.upsert(NS, [doc(150, 9), doc(7, 2)]);
    await writer.delete(NS, [idOf(101), idOf(105), idOf(1005)]);
    for (const options of [{}, { tailChunkContainers: 1 }]) for (const request of requests) await expectCold(storage, request, options);
    const got = await makeEngine(storage).query(NS, requests[1]!);
    expect(got.rows.length).toBe(300);
  });

  it("over several segments", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 100 } });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(2100 + i)));
    await writer.upsert(NS, Array.from({ length: 200 }, (_, i) => doc(i * 8, 5)));
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => idOf(i * 8 + 3)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, [doc(2900, 1), doc(16, 1)]);
    await writer.delete(NS, [idOf(17), idOf(2101)]);
    for (const request of requests) await expectCold(storage, request);
  });

  it("read the query's postings, not the sparse rows or the whole index", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
    await engine.query(NS, { rankBy: sparse([3, 17], [1, 1]), topK: 5 });
    expect(engine.queryStats().coldQueries).toBe(1);
    expect(engine.queryStats().coldBytes).toBeLessThan(index!.size / 3);
  });

  it("find a damaged block of the postings: Corrupt naming the index", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    const query = async () => {
      const engine = makeEngine(storage);
      await engine.query(NS, requests[1]!);
      expect(engine.queryStats().coldQueries).toBe(1);
    };
    expect(await corruptSectionFailures(storage, index!.key, query)).toBeGreaterThanOrEqual(3);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-sparse");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold sparse rankings on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.upsert(NS, [doc(5001), doc(100, 4)]);
    await writer.delete(NS, [idOf(101)]);
    for (const request of [requests[0]!, requests[4]!, requests[7]!]) await expectCold(storage, request);
  });
});
