/**
 * Cold element comparisons (`AnyLt` .. `AnyGte` on array attributes) and
 * `id` ranges and patterns (`Lt` .. `Gte`, `Glob`, `IGlob`, `Regex` on
 * `id`): on a compacted namespace whose segment indexes are not loaded,
 * alone, combined, beside rankings and in aggregations, they are answered
 * by ranged reads (the element keys and their postings; the id blocks and
 * `idOrder`) with exactly the rows the loaded indexes give: over
 * tombstones, a tail of rewrites and deletes and several segments, ids
 * whose UTF-8 byte order is not their UTF-16 order included; a damaged
 * block is Corrupt.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldelements/docs";

function idOf(i: number): string {
  // A few ids hold characters whose UTF-8 order differs from their UTF-16 order (U+FF21 vs U+1F600); they sort
  // last, so listings cut at topK stay cold (cold-listing.ts loads when a cut could fall among them).
  if (i % 97 === 5) return `zz-${String(i).padStart(5, "0")}-\uFF21`;
  if (i % 97 === 6) return `zz-${String(i - 1).padStart(5, "0")}-\u{1F600}`;
  return `doc-${String(i).padStart(5, "0")}`;
}

function doc(i: number, salt = 0): DocumentInput {
  const attributes: Record<string, unknown> = { n: i, color: ["red", "green", "blue"][i % 3]! };
  if (i % 10 !== 0) attributes["scores"] = [(i * 7 + salt) % 50, (i % 13) + 0.5, -(i % 5)];
  if (i % 4 !== 0) attributes["tags"] = [`t${i % 17}`, `u${(i * 3) % 11}`];
  return { id: idOf(i), vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1], attributes: attributes as DocumentInput["attributes"] };
}

const requests: Record<string, unknown>[] = [
  { filters: ["scores", "AnyLt", 0], topK: 3000, includeAttributes: ["scores"] },
  { filters: ["scores", "AnyGte", 48], topK: 60 },
  { filters: ["scores", "AnyLte", -4], topK: 3000 },
  { filters: ["scores", "AnyGt", 12.5], topK: 40, includeAttributes: true },
  { filters: ["tags", "AnyLt", "t3"], topK: 3000 },
  { filters: ["tags", "AnyGte", "u9"], topK: 50 },
  { filters: ["Not", ["scores", "AnyGt", 1]], topK: 3000 },
  { filters: ["And", [["scores", "AnyLt", 3], ["tags", "AnyGt", "u5"], ["color", "Eq", "red"]]], topK: 100 },
  { filters: ["id", "Lt", "doc-00200"], topK: 3000 },
  { filters: ["id", "Gte", "doc-02900"], topK: 3000 },
  { filters: ["id", "Gt", "zz-00005-\uFF21"], topK: 3000 },
  { filters: ["id", "Lt", "zz-00005-\u{1F600}"], topK: 10 },
  { filters: ["id", "Gte", "zz-00005-\u{1F600}"], topK: 3000 },
  { filters: ["And", [["id", "Lte", "doc-01000"], ["id", "Gt", "doc-00970"]]], topK: 100 },
  { filters: ["id", "Glob", "doc-0*7"], topK: 3000 },
  { filters: ["id", "IGlob", "DOC-00[1-3]?5*"], topK: 3000 },
  { filters: ["id", "Regex", "^doc-0+1\\d5-"], topK: 3000 },
  { filters: ["Or", [["id", "Glob", "*\u{1F600}"], ["scores", "AnyGte", 49]]], topK: 3000 },
  { rankBy: ["n", "desc"], filters: ["id", "Lt", "doc-00300"], topK: 10 },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["scores", "AnyLt", -3], topK: 10, includeAttributes: ["n"] },
  { rankBy: ["vector", "ANN", [0.3, -0.2, 0.1, 1]], filters: ["id", "Glob", "doc-011*"], topK: 8 },
  { filters: ["tags", "AnyLt", "t1"], aggregateBy: { c: ["Count"], s: ["Sum", "n"] } },
  { filters: ["id", "Gte", "doc-02000"], aggregateBy: { c: ["Count"] }, groupBy: ["color"] },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>): Promise<void> {
  const warm = makeEngine(storage, { queryCache: { coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage);
  const got = await engine.query(NS, request);
  expect(got, JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
}

describe("cold element comparisons and id ranges and patterns", () => {
  it("answer from ranged reads exactly like the loaded index, over tombstones and a tail of rewrites and deletes", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await writer.upsert(NS, [doc(5001), doc(100, 3), doc(150, 9), doc(7)]);
    await writer.delete(NS, [idOf(101), idOf(105), idOf(1005), idOf(14)]);
    for (const request of requests) await expectCold(storage, request);
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
    await writer.upsert(NS, [doc(2900), doc(16, 1)]);
    await writer.delete(NS, [idOf(17), idOf(2101)]);
    for (const request of requests) await expectCold(storage, request);
  });

  it("find a damaged block of the element keys, postings, id blocks or idOrder: Corrupt naming the index", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    const request = { filters: ["Or", [["tags", "AnyLt", "t2"], ["id", "Glob", "doc-00*"], ["scores", "AnyGt", 40]]], topK: 3000 };
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request))).toBeGreaterThanOrEqual(3);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-elements");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold element comparisons and id patterns on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.upsert(NS, [doc(5001), doc(100, 4)]);
    await writer.delete(NS, [idOf(101)]);
    for (const request of [requests[0]!, requests[4]!, requests[8]!, requests[12]!, requests[19]!]) await expectCold(storage, request);
  });
});
