/**
 * Cold token filters (`ContainsAllTokens`, `ContainsAnyToken`, the phrase
 * filter `ContainsTokenSequence`): on a compacted namespace whose segment
 * indexes are not loaded, alone, under BM25 and its combinations, beside a
 * dense ranking and in aggregations, they are answered by ranged reads of
 * the text index (vocabulary, postings, and for a phrase the token order)
 * with exactly the rows the loaded indexes give: over tombstones, a tail of
 * rewrites and deletes, several segments and partitions indexed under other
 * text options; a damaged block is Corrupt. Segments stored without the
 * token order: cold-token-filter-format4.test.ts.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldtokens/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima", "mike", "november"];

function textOf(i: number): string {
  const out: string[] = [];
  const n = 3 + (i % 9);
  for (let j = 0; j < n; j++) out.push(WORDS[(i * (j + 3) + j * j + (i >> 3)) % WORDS.length]!);
  if (i % 5 === 0) out.push(`w${i % 97}`);
  if (i % 7 === 0) out.push("running", "shoes");
  return out.join(" ");
}

function doc(i: number, salt = ""): DocumentInput {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    ...(i % 11 === 0 ? {} : { text: { body: `${textOf(i)}${salt}` } }),
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]! },
  };
}

const requests: Record<string, unknown>[] = [
  { filters: ["body", "ContainsAllTokens", "alpha bravo"], topK: 50, includeAttributes: ["n"] },
  { filters: ["body", "ContainsAllTokens", ["Alpha", "kilo lima"]], topK: 3000 },
  { filters: ["body", "ContainsAnyToken", "w12 w13 zzz"], topK: 40 },
  { filters: ["body", "ContainsAnyToken", "w1", { lastAsPrefix: true }], topK: 60 },
  { filters: ["body", "ContainsAllTokens", "alpha w", { lastAsPrefix: true }], topK: 60 },
  { filters: ["body", "ContainsAllTokens", "nothing-here alpha"], topK: 10 },
  { filters: ["body", "ContainsAnyToken", "the of"], topK: 10 },
  { filters: ["body", "ContainsTokenSequence", "alpha bravo"], topK: 3000 },
  { filters: ["body", "ContainsTokenSequence", ["Kilo", "lima"]], topK: 100, includeAttributes: true },
  { filters: ["body", "ContainsTokenSequence", "running shoes"], topK: 3000 },
  { filters: ["body", "ContainsTokenSequence", "shoes running"], topK: 30 },
  { filters: ["body", "ContainsTokenSequence", "alpha alpha"], topK: 30 },
  { filters: ["body", "ContainsTokenSequence", "golf hotel india"], topK: 30 },
  { filters: ["missing", "ContainsAllTokens", "alpha"], topK: 5 },
  { filters: ["And", [["body", "ContainsAnyToken", "mike november"], ["color", "Eq", "red"]]], topK: 30 },
  { filters: ["Or", [["body", "ContainsTokenSequence", "india juliet"], ["n", "Lt", 20]]], topK: 60 },
  { filters: ["Not", ["body", "ContainsAnyToken", "alpha bravo charlie delta echo"]], topK: 40 },
  { rankBy: ["body", "BM25", "kilo"], filters: ["body", "ContainsTokenSequence", ["Kilo", "lima"]], topK: 50 },
  { rankBy: ["body", "BM25", "alpha delta"], filters: ["body", "ContainsAnyToken", "alp", { lastAsPrefix: true }], topK: 50, includeAttributes: ["color"] },
  { rankBy: ["Sum", [["body", "BM25", "alpha"], ["Product", 2, ["body", "BM25", "running"]]]], filters: ["body", "ContainsAllTokens", "shoes"], topK: 20 },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["And", [["body", "ContainsTokenSequence", "running shoes"], ["n", "Lt", 600]]], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "ANN", [0.3, -0.2, 0.1, 1]], filters: ["body", "ContainsAllTokens", "w12"], topK: 8 },
  { filters: ["body", "ContainsAnyToken", "kilo"], aggregateBy: { c: ["Count"], s: ["Sum", "n"] } },
  { filters: ["body", "ContainsTokenSequence", "alpha bravo"], aggregateBy: { c: ["Count"] }, groupBy: ["color"] },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>): Promise<void> {
  const warm = makeEngine(storage, { queryCache: { coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage);
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
}

describe("cold token filters", () => {
  it("answer from ranged reads exactly like the loaded index, over tombstones and a tail of rewrites and deletes", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await writer.upsert(NS, [doc(5001, " alpha bravo"), doc(100, " running shoes"), doc(5002, " kilo lima"), doc(7, " kilo")]);
    await writer.delete(NS, ["doc-00101", "doc-00105", "doc-00110", "doc-00014"]);
    for (const request of requests) await expectCold(storage, request);
    // Only part of the index was read.
    const [index] = await indexObjects(storage);
    const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
    await engine.query(NS, requests[8]!);
    expect(engine.queryStats().coldQueries).toBe(1);
    expect(engine.queryStats().coldBytes).toBeLessThan(index!.size * 0.8);
  });

  it("over several segments and partitions indexed under other text options", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 100 } });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.updateTextFields(NS, { body: { stemming: true } });
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(10_000 + i, " runs shoe")));
    await writer.upsert(NS, Array.from({ length: 200 }, (_, i) => doc(i * 8, " alpha kilo")));
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => `doc-${String(i * 8 + 3).padStart(5, "0")}`));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, [doc(20_000, " running shoes"), doc(16, " mike")]);
    await writer.delete(NS, ["doc-00017", "doc-10001"]);
    for (const request of requests) await expectCold(storage, request);
  });

  it("find a damaged block of the token order or the postings: Corrupt naming the index", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    const request = { filters: ["Or", [["body", "ContainsTokenSequence", "alpha bravo"], ["body", "ContainsAnyToken", "w1", { lastAsPrefix: true }]]], topK: 3000 };
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request))).toBeGreaterThanOrEqual(3);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-tokens");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold token filters on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.upsert(NS, [doc(5001, " running shoes"), doc(100, " alpha bravo")]);
    await writer.delete(NS, ["doc-00101"]);
    for (const request of [requests[0]!, requests[3]!, requests[7]!, requests[9]!, requests[17]!, requests[22]!]) await expectCold(storage, request);
  });
});
