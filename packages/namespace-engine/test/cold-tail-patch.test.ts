/**
 * Cold queries over a log tail whose PATCHes reach documents that live in
 * compacted segments (TailFold.needsBase): the bases are read by ranges
 * from the segments' stored indexes (cold-tail-bases.ts: the newest
 * segment holding the id, its vector, sparse row and row store entry), the
 * patches applied in order, and the query answered cold, exactly like the
 * loaded path (which resolves them from the materialized state), over
 * several segments, tombstones, delete markers, patches followed by
 * rewrites and deletes, text fields the patches set. A base whose text the
 * patches keep is not in the index (tokens only): that version loads.
 * The resolved tail serves the loaded path of the same engine too (sparse
 * and BM25 rankings after a cold query). Damage is Corrupt naming the index.
 */
import { type GetOptions, type GetResult, MemoryStorage } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/tail-patch/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];

/** Memory storage that counts GETs of a whole query index object (no range). */
class CountingStorage extends MemoryStorage {
  wholeIndexGets = 0;
  override get(key: string, options?: GetOptions): Promise<GetResult> {
    if (key.endsWith(".qidx") && options?.range === undefined) this.wholeIndexGets++;
    return super.get(key, options);
  }
}

const idOf = (i: number) => `d-${String(i).padStart(5, "0")}`;
const vectorOf = (i: number) => [Math.sin(i), Math.cos(i * 0.7), ((i * 13) % 17) / 17, 0.5 + (i % 3)];

/** Every third document has a text field; every fifth a sparse vector. */
function doc(i: number): DocumentInput {
  return {
    id: idOf(i),
    vector: vectorOf(i),
    ...(i % 3 === 0 ? { text: { body: Array.from({ length: 2 + (i % 4) }, (_, j) => WORDS[(i * (j + 5)) % WORDS.length]).join(" ") } } : {}),
    ...(i % 5 === 0 ? { sparse: { indices: [i % 11, 20 + (i % 7)], values: [1 + (i % 4), 0.5] } } : {}),
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]!, tags: [`t${i % 4}`], ...(i % 2 === 0 ? { even: true } : {}) },
  };
}

/** Two IVF segments (the second rewrites and deletes some of the first's), tombstones, then a tail of patches. */
async function namespace(storage: MemoryStorage): Promise<NamespaceEngine> {
  const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 2, mergeFactor: 100 } });
  await writer.createNamespace(NS, { distanceMetric: "cosine" });
  await writer.upsert(NS, Array.from({ length: 2100 }, (_, i) => doc(i)));
  await writer.upsert(NS, Array.from({ length: 2100 }, (_, i) => doc(2100 + i)));
  expect((await writer.compact(NS)).performed).toBe(true);
  await writer.upsert(NS, Array.from({ length: 2100 }, (_, i) => doc(4200 + i)));
  await writer.upsert(NS, [...Array.from({ length: 2100 }, (_, i) => doc(6300 + i)), ...Array.from({ length: 40 }, (_, i) => ({ ...doc(i * 7 + 1), vector: vectorOf(9000 + i) }))]);
  await writer.delete(NS, Array.from({ length: 20 }, (_, i) => idOf(i * 11 + 2)));
  expect((await writer.compact(NS)).performed).toBe(true);
  await writer.deleteByFilter(NS, ["n", "Lt", 10]);
  return writer;
}

/** PATCHes over segment documents whose text (if any) the patches set or remove, so the bases are read cold. */
async function patchCold(writer: NamespaceEngine): Promise<void> {
  await writer.patch(NS, [
    { id: idOf(22), attributes: { color: "violet", even: null } }, // rewritten by the second segment (its base there)
    { id: idOf(100), attributes: { n: -100 }, vector: vectorOf(12_345) },
    { id: idOf(104), vector: null, attributes: { tags: null } },
    { id: idOf(102), text: { body: "golf golf hotel" } }, // had text: the patch sets it
    { id: idOf(110), sparse: null, attributes: { extra: { a: [1, 2] } } },
    { id: idOf(5005), attributes: { color: "teal" } }, // in the second segment only
    { id: idOf(5003), text: { body: null }, attributes: { n: 1e9 } },
    { id: idOf(5020), sparse: { indices: [3, 4], values: [2, 2] } },
  ]);
  await writer.patch(NS, [
    { id: idOf(100), attributes: { color: "amber" } }, // a second patch of the same base
    { id: idOf(210), attributes: { color: "white" } }, // then rewritten below
    { id: idOf(213), attributes: { color: "black" } }, // then deleted below
    { id: idOf(1001), attributes: { n: 5 } },
  ]);
  await writer.upsert(NS, [doc(210), doc(9500)]);
  await writer.delete(NS, [idOf(213), idOf(5002)]);
}

const REQUESTS: Record<string, unknown>[] = [
  { rankBy: ["vector", "ANN", vectorOf(12_345)], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "kNN", vectorOf(100)], topK: 15, includeVectors: true, includeAttributes: ["n", "color"] },
  { rankBy: ["vector", "ANN", vectorOf(3)], topK: 10, filters: ["color", "In", ["violet", "amber", "teal", "white", "black"]], includeAttributes: true },
  { filters: ["color", "In", ["violet", "amber", "teal", "white", "black"]], topK: 20, includeAttributes: true },
  { filters: ["n", "Lt", 200], topK: 300, includeAttributes: ["n", "even", "extra"] },
  { rankBy: ["body", "BM25", "golf hotel"], topK: 10, includeAttributes: ["n"] },
  { rankBy: ["n", "desc"], topK: 10, includeAttributes: ["n"] },
  { aggregateBy: { c: ["Count"], s: ["Sum", "n"] }, groupBy: ["color"] },
];

/** Loaded-only requests run after a cold query in the same engine: they reuse its tail, bases included. */
const LOADED_AFTER: Record<string, unknown>[] = [
  { rankBy: ["sparse", "Dot", { indices: [3, 4, 21], values: [1, 1, 1] }], topK: 20, includeAttributes: ["n"] },
  { rankBy: ["body", "BM25", "golf"], topK: 20 },
  { filters: ["extra", "Exists"], topK: 5, includeAttributes: true },
];

describe("cold queries over tail PATCHes of segment documents", () => {
  it("read the bases by ranges and answer exactly like the loaded path", async () => {
    const storage = new CountingStorage();
    const writer = await namespace(storage);
    expect((await indexObjects(storage)).length).toBe(2);
    await patchCold(writer);
    const loaded = makeEngine(storage, { queryCache: { coldReads: false } });
    for (const request of REQUESTS) {
      const expected = await loaded.query(NS, request);
      // No background load (the budget is too small): every index GET is the query's.
      const cold = makeEngine(storage, { queryCache: { coldRerank: 1_000_000, segmentIndexBytes: 1024 } });
      storage.wholeIndexGets = 0;
      const got = await cold.query(NS, request);
      expect(got, JSON.stringify(request)).toEqual(expected);
      if (request["aggregateBy"] === undefined) expect(got.rows.length, JSON.stringify(request)).toBeGreaterThan(0);
      expect(cold.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
      expect(cold.queryStats().segmentIndexes.loads).toBe(0);
      expect(storage.wholeIndexGets, JSON.stringify(request)).toBe(0);
      // The same engine then loads for other features, over the tail the cold query resolved.
      for (const after of LOADED_AFTER) expect(await cold.query(NS, after), JSON.stringify(after)).toEqual(await loaded.query(NS, after));
    }
    // A patched document comes back patched (the base's other fields kept).
    const listing = await makeEngine(storage).query(NS, { filters: ["id", "In", [idOf(100), idOf(22), idOf(110)]], topK: 5, includeAttributes: true, includeVectors: true });
    const byId = new Map(listing.rows.map((row) => [row.id, row]));
    expect(byId.get(idOf(100))?.attributes).toMatchObject({ n: -100, color: "amber", tags: ["t0"], even: true });
    expect(byId.get(idOf(22))?.attributes).toMatchObject({ color: "violet" });
    expect(byId.get(idOf(22))?.attributes).not.toHaveProperty("even");
    expect(byId.get(idOf(110))?.attributes).toMatchObject({ n: 110, extra: { a: [1, 2] } });
  }, 120_000);

  it("load when a base's text is kept by the patches (the index holds only its tokens)", async () => {
    const storage = new MemoryStorage();
    const writer = await namespace(storage);
    await patchCold(writer);
    // d-00300 has a text field; this patch keeps it.
    await writer.patch(NS, [{ id: idOf(300), attributes: { color: "violet" } }]);
    const loaded = makeEngine(storage, { queryCache: { coldReads: false } });
    for (const request of REQUESTS.slice(0, 4)) {
      const cold = makeEngine(storage);
      expect(await cold.query(NS, request), JSON.stringify(request)).toEqual(await loaded.query(NS, request));
      expect(cold.queryStats().coldQueries, JSON.stringify(request)).toBe(0);
    }
  }, 120_000);

  it("find a damaged block read for a base: Corrupt naming the index", async () => {
    // The same query over the same segments with and without a tail PATCH of a segment document: the base's
    // reads (its sparse row, its text fields' presence, its id block) are sections the plain query does not read.
    const failures: number[] = [];
    for (const patch of [false, true]) {
      const storage = new MemoryStorage();
      const writer = await namespace(storage);
      await writer.upsert(NS, [doc(9600)]);
      if (patch) await writer.patch(NS, [{ id: idOf(5005), attributes: { color: "violet" } }]);
      const request = { rankBy: ["vector", "ANN", vectorOf(100)], topK: 5 };
      let failed = 0;
      for (const { key } of await indexObjects(storage)) {
        const original = (await storage.get(key)).bytes;
        failed += await corruptSectionFailures(storage, key, () => makeEngine(storage).query(NS, request));
        await storage.put(key, original, { mode: { kind: "overwrite" } });
      }
      failures.push(failed);
    }
    expect(failures[0]).toBeGreaterThanOrEqual(2);
    expect(failures[1]).toBeGreaterThan(failures[0]!);
  }, 120_000);
});

const s3 = s3TestTarget("namespace-engine-cold-tail-patch");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold queries over tail PATCHes of segment documents on the real S3 server", () => {
  it("read the bases by ranges and answer exactly like the loaded path", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.deleteByFilter(NS, ["n", "Lt", 10]);
    await writer.patch(NS, [
      { id: idOf(100), attributes: { color: "violet" }, vector: vectorOf(7777) },
      { id: idOf(102), text: { body: "golf" }, sparse: null },
    ]);
    for (const request of [REQUESTS[1]!, REQUESTS[3]!, REQUESTS[5]!, REQUESTS[7]!]) {
      const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
      const cold = makeEngine(storage);
      expect(await cold.query(NS, request), JSON.stringify(request)).toEqual(expected);
      expect(cold.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
    }
  }, 120_000);
});
