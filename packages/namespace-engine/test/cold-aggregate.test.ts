/**
 * Cold aggregations through the engine: on a compacted namespace whose
 * segment indexes are not loaded, `Count`, `Count` of a field and `Sum`
 * (with or without a filter, whole or per group, groups by plain keys or
 * `ForEachUnique` over arrays) are answered from ranged reads of the
 * attribute columns they name, with exactly the loaded
 * indexes' answer (sums bit for bit): over several segments, tombstones,
 * delete markers, a tail of rewrites, patches and deletes; damage is
 * Corrupt naming the index; prototype-named attributes are data.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import { type DocumentInput, isCorrupt, type JsonValue, type NamespaceEngine } from "@skerry/namespace-engine";
import { compactedNamespace, corruptSectionFailures, errorOf, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldagg/docs";

/** A seeded generator (mulberry32): the same documents on every run. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Attributes whose sums need exact addition (magnitudes from 1e-8 to 1e12, both signs), groups of every scalar type. */
function doc(i: number, salt = 0): DocumentInput {
  const rand = generator(i * 7919 + salt);
  const price = (rand() - 0.4) * 10 ** Math.floor(rand() * 20 - 8);
  const kind = Math.floor(rand() * 6);
  const grp: JsonValue | undefined = kind === 0 ? "x" : kind === 1 ? "y\u{1F600}" : kind === 2 ? 7 : kind === 3 ? true : kind === 4 ? null : undefined;
  const attributes: Record<string, JsonValue> = JSON.parse(
    JSON.stringify({
      n: i,
      price,
      color: ["red", "green", "blue", "violet"][Math.floor(rand() * 4)]!,
      ...(grp === undefined ? {} : { grp }),
      ...(i % 5 === 0 ? { tags: i % 4 === 0 ? [`t${i % 3}`, 1, `t${i % 4}`, `t${i % 3}`] : i % 4 === 1 ? [] : [`t${i % 3}`] } : { mixed: i % 2 === 0 ? i * 0.25 : `s${i % 7}` }),
      ...(i % 13 === 0 ? { obj: { a: i % 2 } } : i % 13 === 1 ? { obj: [1, "x", { k: i % 3 }, 1] } : i % 13 === 2 ? { obj: "plain" } : {}),
      ["__proto__"]: i % 3 === 0 ? `p${i % 4}` : i * 1.5,
      constructor: rand() * 100,
      toString: ["a", "b"][i % 2]!,
    }),
  ) as Record<string, JsonValue>;
  return { id: `doc-${String(i).padStart(5, "0")}`, vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1], attributes };
}

const requests: Record<string, unknown>[] = [
  { aggregateBy: { all: ["Count"] } },
  { aggregateBy: { all: ["Count"], priced: ["Count", "price"], sum: ["Sum", "price"], grp: ["Count", "grp"], missing: ["Count", "nope"], none: ["Sum", "nope"] } },
  { aggregateBy: { sum: ["Sum", "price"], n: ["Sum", "n"], mixed: ["Sum", "mixed"] }, filters: ["color", "Eq", "red"] },
  { aggregateBy: { c: ["Count"], s: ["Sum", "price"] }, filters: ["And", [["n", "Gte", 100], ["n", "Lt", 900], ["color", "NotEq", "blue"]]] },
  { aggregateBy: { c: ["Count"], s: ["Sum", "price"] }, filters: ["id", "In", ["doc-00016", "doc-00100", "doc-00101", "doc-02999", "nope"]] },
  { aggregateBy: { c: ["Count"], s: ["Sum", "n"] }, filters: ["n", "Lt", 0] },
  { aggregateBy: { c: ["Count"], s: ["Sum", "price"] }, groupBy: ["color"], topK: 10 },
  { aggregateBy: { c: ["Count"], s: ["Sum", "price"], g: ["Count", "grp"] }, groupBy: ["grp"], topK: 10 },
  { aggregateBy: { c: ["Count"], s: ["Sum", "price"] }, groupBy: ["grp", "color"], topK: 7 },
  { aggregateBy: { c: ["Count"] }, groupBy: ["mixed"], topK: 5, filters: ["n", "Lt", 300] },
  { aggregateBy: { c: ["Count"], s: ["Sum", "n"] }, groupBy: ["nope"], topK: 3 },
  { aggregateBy: { c: ["Count"], s: ["Sum", "price"] }, groupBy: ["color"], topK: 10, filters: ["n", "Gt", 2500] },
  { aggregateBy: { p: ["Sum", "__proto__"], c: ["Count", "constructor"], s: ["Sum", "constructor"] } },
  { aggregateBy: { c: ["Count"], s: ["Sum", "constructor"] }, groupBy: ["__proto__", "toString"], topK: 20 },
  // Group functions and groups over arrays and objects.
  { aggregateBy: { c: ["Count"], s: ["Sum", "price"] }, groupBy: [{ t: ["ForEachUnique", "tags"] }], topK: 10 },
  { aggregateBy: { c: ["Count"] }, groupBy: ["color", { t: ["ForEachUnique", "tags"] }], topK: 20, filters: ["n", "Lt", 2000] },
  { aggregateBy: { c: ["Count"], n: ["Sum", "n"] }, groupBy: [{ m: ["ForEachUnique", "mixed"] }, { o: ["ForEachUnique", "obj"] }], topK: 12 },
  { aggregateBy: { c: ["Count"] }, groupBy: ["tags"], topK: 5 },
  { aggregateBy: { c: ["Count"] }, groupBy: ["obj", { t: ["ForEachUnique", "tags"] }], topK: 30, filters: ["Or", [["tags", "Exists"], ["obj", "Exists"]]] },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, cold = true): Promise<void> {
  const warm = makeEngine(storage, { queryCache: { coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage);
  const got = await engine.query(NS, request);
  expect(got, JSON.stringify(request)).toEqual(expected);
  // toEqual treats -0 and 0 alike on some paths: compare the sums' bits too.
  expect(JSON.stringify(got), JSON.stringify(request)).toBe(JSON.stringify(expected));
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(cold ? 1 : 0);
  const rows = await makeEngine(storage).queryRows(NS, request);
  expect(rows.aggregations).toEqual(expected.aggregations);
  expect(rows.aggregationGroups).toEqual(expected.aggregationGroups);
}

function compacted(docs: number): Promise<{ storage: MemoryStorage; writer: NamespaceEngine }> {
  return compactedNamespace(NS, docs, (i) => doc(i));
}

describe("cold aggregations", () => {
  it("answer from ranged column reads, exactly like the loaded index, over tombstones and a tail of rewrites, patches and deletes", async () => {
    const { storage, writer } = await compacted(3000);
    await writer.deleteByFilter(NS, ["n", "Lt", 40]); // tombstones in the segment
    await writer.upsert(NS, [doc(5001), doc(100, 1), doc(5002), doc(7, 2)]);
    // A tail document, and segment documents (their bases read by ranges, cold-tail-bases.ts).
    await writer.patch(NS, [
      { id: "doc-05001", attributes: { price: 1e-9, grp: "x" } },
      { id: "doc-00200", attributes: { price: 3.5e11, grp: 7 } },
      { id: "doc-00201", attributes: { price: null, color: "teal" } },
    ]);
    await writer.delete(NS, ["doc-00101", "doc-00105", "doc-00110"]);
    for (const request of requests) await expectCold(storage, request);
    // The answers are not trivial: prototype-named groups, sums of every sign.
    const proto = await makeEngine(storage).query(NS, requests[13]!);
    expect(proto.aggregationGroups!.length).toBeGreaterThan(4);
    expect(proto.aggregationGroups!.some((g) => typeof Object.getOwnPropertyDescriptor(g.group, "__proto__")?.value === "string")).toBe(true);
    const sums = await makeEngine(storage).query(NS, requests[1]!);
    expect(sums.aggregations!["all"]).toBe(3000 - 40 + 2 + 1 - 3);
    // A type mismatch and an overflowing sum are the loaded path's errors.
    for (const request of [
      { aggregateBy: { s: ["Sum", "color"] } },
      { aggregateBy: { c: ["Count"] }, filters: ["color", "Eq", 5] },
    ]) {
      expect(String(await errorOf(makeEngine(storage).query(NS, request)))).toBe(String(await errorOf(makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request))));
    }
    // Group functions give several groups per document.
    const unique = await makeEngine(storage).query(NS, requests[14]!);
    expect(unique.aggregationGroups!.map((g) => g.group["t"])).toEqual(expect.arrayContaining(["t0", "t1", "t2", 1, null]));
    // Beside a ranking: the aggregations and the ranked rows, each cold.
    await expectCold(storage, { aggregateBy: { c: ["Count"] }, groupBy: ["color"], rankBy: ["n", "asc"], topK: 5 });
    await expectCold(storage, { aggregateBy: { c: ["Count"] }, groupBy: [{ t: ["ForEachUnique", "tags"] }], rankBy: ["n", "asc"], topK: 5 });
    await expectCold(storage, { aggregateBy: { c: ["Count"] }, rankBy: [["n", "asc"], ["id", "desc"]], topK: 5 });
    await expectCold(storage, { aggregateBy: { c: ["Count"], s: ["Sum", "price"] }, rankBy: ["price", "desc"], filters: ["color", "Eq", "red"], topK: 8, includeAttributes: ["price"] });
    await expectCold(storage, { aggregateBy: { c: ["Count"] }, rankBy: ["vector", "kNN", [0.1, 0.2, 0.3, 1]], filters: ["n", "Lt", 100], topK: 4 });
    // Only the named columns are read: a Count reads no column, a Sum with a selective filter a few blocks.
    const [index] = await indexObjects(storage);
    const readBy = async (request: Record<string, unknown>) => {
      const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
      await engine.query(NS, request);
      expect(engine.queryStats().coldQueries).toBe(1);
      return engine.queryStats();
    };
    const count = await readBy({ aggregateBy: { c: ["Count"] } });
    const sum = await readBy({ aggregateBy: { s: ["Sum", "price"] } });
    expect(count.coldBytes).toBeLessThan(index!.size / 4);
    expect(sum.coldBytes).toBeGreaterThanOrEqual(count.coldBytes + 3000 * 8); // the numbers (the tags are eager: 3,000 bytes)
    expect(sum.coldBytes).toBeLessThan(index!.size / 2);
    const selective = await readBy({ aggregateBy: { s: ["Sum", "price"] }, filters: ["id", "In", ["doc-00500", "doc-00501"]] });
    expect(selective.coldBytes).toBeLessThanOrEqual(sum.coldBytes); // 3,000 numbers are one 64 KiB block
  });

  it("over several segments (tiered compaction): rows a newer segment rewrote or deleted are not counted", async () => {
    const storage = new MemoryStorage();
    const compaction = { auto: false, policy: "tiered" as const, maxLogBatches: 3, mergeFactor: 100 };
    const writer = makeEngine(storage, { compaction });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(10_000 + i)));
    await writer.upsert(NS, [...Array.from({ length: 300 }, (_, i) => doc(10_500 + i)), ...Array.from({ length: 200 }, (_, i) => doc(i * 8, 3))]);
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => `doc-${String(i * 8 + 3).padStart(5, "0")}`));
    expect((await writer.compact(NS)).performed).toBe(true);
    const manifest = await writer.manifest(NS);
    const segments = manifest.containers.filter((c) => c.kind === "SEGMENT" && c.extra?.["index_key"] !== undefined);
    expect(segments.length).toBe(2);
    expect(segments.some((c) => Array.isArray(c.extra?.["deleted_ids"]))).toBe(true);
    await writer.deleteByFilter(NS, ["n", "Gte", 2090]); // tombstones in both segments
    // A tail of several chunks (each closes after 2 containers), with rewrites and deletes.
    const chunked = { queryCache: { tailChunkContainers: 2 } };
    for (let b = 0; b < 5; b++) await writer.upsert(NS, [doc(20_000 + b), doc(16 + b, 4), doc(10_001 + b, 5)]);
    await writer.delete(NS, ["doc-00017", "doc-10002", "doc-20001"]);
    for (const request of requests) {
      const expected = await makeEngine(storage, { ...chunked, queryCache: { ...chunked.queryCache, coldReads: false } }).query(NS, request);
      const engine = makeEngine(storage, chunked);
      expect(JSON.stringify(await engine.query(NS, request)), JSON.stringify(request)).toBe(JSON.stringify(expected));
      expect(engine.queryStats().coldQueries).toBe(1);
      await expectCold(storage, request);
    }
  });

  it("segments whose rows were reordered (IVF) are read cold, with tombstones too", async () => {
    const { storage, writer } = await compacted(5000);
    await writer.upsert(NS, [doc(6000), doc(12, 6)]);
    for (const request of requests.slice(0, 8)) await expectCold(storage, request);
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await expectCold(storage, requests[1]!);
  });

  it("find a damaged block of the arrays' slots or JSON a group function reads: Corrupt naming the index", async () => {
    const { storage } = await compacted(3000);
    const [index] = await indexObjects(storage);
    const request = { aggregateBy: { c: ["Count"] }, groupBy: [{ t: ["ForEachUnique", "tags"] }, "obj"], topK: 10 };
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request))).toBeGreaterThanOrEqual(3);
  });

  it("find a damaged, short or missing stored index: Corrupt naming it", async () => {
    const { storage } = await compacted(3000);
    const [index] = await indexObjects(storage);
    const original = (await storage.get(index!.key)).bytes;
    const request = { aggregateBy: { c: ["Count"], s: ["Sum", "price"], g: ["Count", "grp"] }, groupBy: ["color"], topK: 10, filters: ["n", "Gt", 100] };
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request))).toBeGreaterThanOrEqual(4);
    await storage.put(index!.key, original.subarray(0, original.byteLength - 100), { mode: { kind: "overwrite" } });
    let error = await errorOf(makeEngine(storage).query(NS, request));
    expect(isCorrupt(error), String(error)).toBe(true);
    expect((error as { key: string }).key).toBe(index!.key);
    await storage.delete(index!.key);
    error = await errorOf(makeEngine(storage).query(NS, request));
    expect(isCorrupt(error)).toBe(true);
    expect((error as { key: string }).key).toBe(index!.key);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-aggregate");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold aggregations and exact kNN on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.deleteByFilter(NS, ["n", "Lt", 10]);
    await writer.upsert(NS, [doc(5001), doc(100, 1)]);
    await writer.delete(NS, ["doc-00101"]);
    for (const request of [requests[1]!, requests[3]!, requests[8]!, requests[13]!, requests[15]!, requests[16]!]) await expectCold(storage, request);
    const knn = { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], topK: 10, includeAttributes: ["n", "__proto__"] };
    const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, knn);
    const engine = makeEngine(storage, { queryCache: { coldExactBatchBytes: 32 * 1024 } });
    expect(await engine.query(NS, knn)).toEqual(expected);
    expect(engine.queryStats().coldQueries).toBe(1);
  });
});
