/**
 * Cold `limitPer` (diversity) on BM25 rankings and their combinations,
 * filter listings and dense rankings with a selective filter: on a
 * compacted namespace whose segment indexes are not loaded, the ranking is
 * asked for more rows until the cut keeps topK of them, each row's tuple of
 * values read cold (its row store entry) or from a tail chunk's columns,
 * with exactly the rows the loaded indexes give, over tombstones, a tail of
 * several chunks with rewrites and deletes, and several segments.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, makeEngine } from "./support/harness.ts";

const NS = "acme/colddiverse/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];

function doc(i: number, extra = ""): DocumentInput {
  const words: string[] = [];
  for (let j = 0; j < 2 + (i % 6); j++) words.push(WORDS[(i * (j + 3) + j * j) % WORDS.length]!);
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    text: { body: `${words.join(" ")}${extra}` },
    attributes: {
      n: i,
      author: `a${i % 9}`,
      color: ["red", "green", "blue"][i % 3]!,
      ...(i % 4 === 0 ? { tags: [`t${i % 3}`, "x"] } : {}),
      ...(i % 10 === 0 ? { meta: { k: i % 2 } } : {}),
    },
  };
}

const requests: Record<string, unknown>[] = [
  { rankBy: ["body", "BM25", "alpha"], limitPer: { attributes: ["author"], limit: 1 }, topK: 9, includeAttributes: ["author"] },
  { rankBy: ["body", "BM25", "bravo delta"], limitPer: { attributes: ["color", "tags"], limit: 2 }, topK: 12 },
  { rankBy: ["body", "BM25", "golf"], filters: ["n", "Gt", 100], limitPer: { attributes: ["meta"], limit: 3 }, topK: 10 },
  { rankBy: ["Sum", [["body", "BM25", "alpha"], ["Product", 0.5, ["body", "BM25", "echo"]]]], limitPer: { attributes: ["author", "color"], limit: 1 }, topK: 30 },
  { filters: ["color", "Eq", "red"], limitPer: { attributes: ["author"], limit: 2 }, topK: 8, includeAttributes: true },
  { filters: ["body", "ContainsAnyToken", "hotel"], limitPer: { attributes: ["id"], limit: 1 }, topK: 5 },
  { filters: ["n", "Lt", 3000], limitPer: { attributes: ["missing"], limit: 4 }, topK: 10 },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["n", "Lt", 150], limitPer: { attributes: ["color"], limit: 2 }, topK: 6 },
  { rankBy: ["vector", "ANN", [0.3, -0.2, 0.1, 1]], filters: ["n", "Gte", 2900], limitPer: { attributes: ["author"], limit: 1 }, topK: 20 },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, options = {}): Promise<void> {
  const expected = await makeEngine(storage, { queryCache: { coldReads: false, ...options } }).query(NS, request);
  const engine = makeEngine(storage, { queryCache: options });
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
}

describe("cold limitPer", () => {
  it("answers like the loaded index over tombstones and a tail of several chunks with rewrites and deletes", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 30]);
    for (let b = 0; b < 5; b++) {
      await writer.upsert(NS, [doc(5000 + b, " alpha"), doc(40 + b, " alpha golf"), doc(2950 + b, " bravo")]);
      await writer.delete(NS, [`doc-${String(60 + b).padStart(5, "0")}`, `doc-0${5000 + b - 1}`]);
    }
    for (const request of requests) {
      await expectCold(storage, request);
      await expectCold(storage, request, { tailChunkContainers: 2 });
    }
  });

  it("over several segments", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 100 } });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 900 }, (_, i) => doc(2100 + i)));
    await writer.upsert(NS, Array.from({ length: 100 }, (_, i) => doc(i * 7, " alpha")));
    await writer.delete(NS, ["doc-00003", "doc-00012"]);
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, [doc(9000, " alpha golf")]);
    for (const request of requests) await expectCold(storage, request);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-diversity");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold limitPer on the real S3 server", () => {
  it("answers like the loaded index", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.upsert(NS, [doc(5000, " alpha"), doc(40, " golf")]);
    for (const request of [requests[0]!, requests[3]!, requests[4]!, requests[7]!]) await expectCold(storage, request);
  });
});
