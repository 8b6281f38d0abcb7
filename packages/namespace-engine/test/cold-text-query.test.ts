/**
 * Cold BM25 queries through the engine: on a compacted namespace whose
 * segment indexes are not loaded, a BM25 query is answered by ranged reads
 * of the arrays it needs (vocabulary, postings, lengths, the returned rows),
 * with exactly the rows the loaded indexes give: over several segments, a
 * tail of rewrites and deletes, tombstones, and delete markers; damage is
 * Corrupt naming the index.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import { type DocumentInput, isCorrupt, type NamespaceEngine } from "@skerry/namespace-engine";
import { decodeBlockFileDirectory } from "@skerry/wal-format";
import { compactedNamespace, errorOf, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldtext/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima", "mike", "november"];

function textOf(i: number): string {
  const out: string[] = [];
  const n = 3 + (i % 9);
  for (let j = 0; j < n; j++) out.push(WORDS[(i * (j + 3) + j * j + (i >> 3)) % WORDS.length]!);
  if (i % 5 === 0) out.push(`w${i % 97}`);
  return out.join(" ");
}

function doc(i: number, salt = ""): DocumentInput {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    ...(i % 11 === 0 ? {} : { text: { body: `${textOf(i)}${salt}` } }),
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]!, ...(i % 4 === 0 ? { tags: [`t${i % 3}`] } : {}) },
  };
}

const requests: Record<string, unknown>[] = [
  { rankBy: ["body", "BM25", "alpha"], topK: 10, includeAttributes: true },
  { rankBy: ["body", "BM25", "bravo delta w5"], topK: 25, includeAttributes: ["color", "missing", "n"], includeVectors: true },
  { rankBy: ["body", "BM25", "kilo lima mike november"], topK: 200 },
  { rankBy: ["body", "BM25", "w12 W13 zzz"], topK: 5, includeAttributes: ["tags"] },
  { rankBy: ["body", "BM25", "nothing-matches"], topK: 5 },
  { rankBy: ["missing_field", "BM25", "alpha"], topK: 5 },
  { rankBy: ["body", "BM25", "the of"], topK: 5 },
  // Type-ahead: the last token a prefix, expanded over the segment vocabularies (and the tail's); "w" has 97 terms, past the cap of 64.
  { rankBy: ["body", "BM25", "alpha br", { lastAsPrefix: true }], topK: 20 },
  { rankBy: ["body", "BM25", "w1", { lastAsPrefix: true }], topK: 30, includeAttributes: ["n"] },
  { rankBy: ["body", "BM25", "kilo w", { lastAsPrefix: true }], topK: 40 },
  { rankBy: ["body", "BM25", "zz", { lastAsPrefix: true }], topK: 5 },
  { rankBy: ["body", "BM25", "november", { lastAsPrefix: true }], topK: 5 },
];

const filterRequests: Record<string, unknown>[] = [
  { filters: ["color", "Eq", "red"], topK: 10, includeAttributes: true },
  { filters: ["color", "In", ["green", "blue", "violet"]], topK: 5000, includeAttributes: ["n"] },
  { filters: ["n", "Lt", 120], topK: 50 },
  { filters: ["And", [["n", "Gte", 100], ["n", "Lte", 400], ["color", "NotEq", "blue"]]], topK: 100, includeVectors: true },
  { filters: ["Or", [["n", "Eq", 7], ["n", "Eq", 2999], ["id", "In", ["doc-00016", "doc-00100", "doc-10001", "nope"]]]], topK: 10, includeAttributes: true },
  { filters: ["Not", ["color", "Eq", "red"]], topK: 20 },
  { filters: ["tags", "ContainsAny", ["t1", "t2"]], topK: 30, includeAttributes: ["tags"] },
  { filters: ["tags", "ContainsAll", []], topK: 30 },
  { filters: ["tags", "Exists"], topK: 7 },
  { filters: ["color", "Gt", "green"], topK: 15 },
  { filters: ["color", "Lte", "c"], topK: 15 },
  { filters: ["id", "Eq", "doc-00042"], topK: 3, includeAttributes: true },
  { filters: ["n", "NotIn", [1, 2, 3]], topK: 12 },
  { filters: ["n", "Eq", 12.5], topK: 12 },
  { filters: ["color", "Glob", "*e*"], topK: 12, includeAttributes: ["color"] },
  { filters: ["And", [["color", "IGlob", "R[a-e]?"], ["n", "Lt", 500]]], topK: 12 },
  { filters: ["color", "Regex", "^(gr|bl)"], topK: 12, includeAttributes: ["color"] },
  { rankBy: ["body", "BM25", "alpha"], filters: ["Not", ["color", "Regex", "(?i)E$"]], topK: 12 },
  { rankBy: ["body", "BM25", "alpha bravo"], filters: ["color", "Eq", "green"], topK: 10, includeAttributes: true },
  { rankBy: ["body", "BM25", "kilo w5"], filters: ["n", "Gt", 1000], topK: 40 },
  // Dense rankings with a selective filter: exact scans of the matches, as loaded.
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["n", "Lt", 120], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "ANN", [-0.5, 0.9, 0.4, 1]], filters: ["Or", [["n", "Lt", 60], ["id", "In", ["doc-00016", "doc-02000", "doc-10002"]]]], topK: 5, includeVectors: true },
  { rankBy: ["vector", "kNN", [0.3, -0.2, 0.1, 1]], filters: ["n", "Lt", 120], topK: 10, distanceMetric: "EUCLIDEAN" },
  { rankBy: ["vector", "kNN", [0.3, -0.2, 0.1, 1]], filters: ["And", [["n", "Gte", 2900], ["n", "Lt", 3000]]], topK: 10, distanceMetric: "DOT" },
  { rankBy: ["vector", "ANN", [0.3, 0.2, 0.1, 1]], filters: ["n", "Lt", 120], topK: 30, distanceThreshold: 0.05 },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, cold = true): Promise<void> {
  const warm = makeEngine(storage, { queryCache: { coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage);
  const got = await engine.query(NS, request);
  expect(got, JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(cold ? 1 : 0);
  const warmRows = await warm.queryRows(NS, request);
  const coldRows = await makeEngine(storage).queryRows(NS, request);
  expect(coldRows.rows.length).toBe(warmRows.rows.length);
  for (let i = 0; i < warmRows.rows.length; i++) expect(coldRows.rows.json(i)).toBe(warmRows.rows.json(i));
}

function compacted(docs: number): Promise<{ storage: MemoryStorage; writer: NamespaceEngine }> {
  return compactedNamespace(NS, docs, (i) => doc(i));
}

describe("cold BM25 queries", () => {
  it("answer from ranged reads, exactly like the loaded index, over tombstones and a tail of rewrites and deletes", async () => {
    const { storage, writer } = await compacted(3000);
    await writer.deleteByFilter(NS, ["n", "Lt", 40]); // tombstones in the segment
    await writer.upsert(NS, [doc(5001), doc(100, " alpha alpha"), doc(5002, " bravo"), doc(7, " kilo")]);
    await writer.delete(NS, ["doc-00101", "doc-00105", "doc-00110"]);
    for (const request of [...requests, ...filterRequests]) await expectCold(storage, request);
    // Not served cold: ANN with a filter that is not selective over segments without IVF lists; a type mismatch is the same error.
    await expectCold(storage, { filters: ["id", "Glob", "doc-0001*"], topK: 5 }); // cold-element-filter.test.ts
    await expectCold(storage, { rankBy: ["vector", "ANN", [0.3, 0.2, 0.1, 1]], filters: ["color", "Eq", "red"], topK: 5 }, false); // not selective
    await expectCold(storage, { filters: ["color", "Eq", "red"], aggregateBy: { c: ["Count"] } }); // cold-aggregate.test.ts
    // Token filters are read cold too (cold-token-filter.test.ts).
    await expectCold(storage, { filters: ["body", "ContainsAllTokens", "alpha bravo"], topK: 50 });
    await expectCold(storage, { filters: ["body", "ContainsTokenSequence", "alpha bravo"], topK: 50 });
    await expectCold(storage, { rankBy: ["body", "BM25", "kilo"], filters: ["body", "ContainsTokenSequence", ["Kilo", "lima"]], topK: 50 });
    await expectCold(storage, { rankBy: ["body", "BM25", "kilo"], filters: ["body", "ContainsAnyToken", "alp", { lastAsPrefix: true }], topK: 50 });
    const mismatch = { filters: ["color", "Eq", 5], topK: 3 };
    expect(String(await errorOf(makeEngine(storage).query(NS, mismatch)))).toBe(String(await errorOf(makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, mismatch))));
    // Only part of the index was read: its eager region, the id set (for the tail's ids), postings, lengths, the rows' cluster.
    const [index] = await indexObjects(storage);
    const readBy = async (request: Record<string, unknown>) => {
      const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
      await engine.query(NS, request);
      expect(engine.queryStats().coldQueries).toBe(1);
      return engine.queryStats();
    };
    const none = await readBy(requests[4]!);
    expect(none.coldBytes).toBeLessThan(index!.size / 4);
    expect((await readBy({ filters: ["id", "Eq", "doc-00042"], topK: 3, includeAttributes: true })).coldBytes).toBeLessThan(index!.size / 2);
    const rare = await readBy(requests[3]!);
    expect(rare.coldReads).toBeGreaterThan(none.coldReads);
    expect(rare.coldBytes).toBeLessThan(index!.size * 0.8);
  });

  it("over several segments (tiered compaction): rows a newer segment rewrote or deleted are dead", async () => {
    const storage = new MemoryStorage();
    const compaction = { auto: false, policy: "tiered" as const, maxLogBatches: 3, mergeFactor: 100 };
    const writer = makeEngine(storage, { compaction });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(10_000 + i)));
    await writer.upsert(NS, [...Array.from({ length: 300 }, (_, i) => doc(10_500 + i)), ...Array.from({ length: 200 }, (_, i) => doc(i * 8, " alpha kilo"))]);
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => `doc-${String(i * 8 + 3).padStart(5, "0")}`));
    expect((await writer.compact(NS)).performed).toBe(true);
    const manifest = await writer.manifest(NS);
    const segments = manifest.containers.filter((c) => c.kind === "SEGMENT" && c.extra?.["index_key"] !== undefined);
    expect(segments.length).toBe(2);
    expect(segments.some((c) => Array.isArray(c.extra?.["deleted_ids"]))).toBe(true);
    await writer.upsert(NS, [doc(20_000, " alpha"), doc(16, " mike")]);
    await writer.delete(NS, ["doc-00017", "doc-10001"]);
    for (const request of [...requests, ...filterRequests]) await expectCold(storage, request);
  });

  it("segments whose rows were reordered (IVF) are read cold, with tombstones too (mapped through the clusters' positions)", async () => {
    const { storage, writer } = await compacted(5000); // IVF lists from 4,096 vectors: rows reordered
    await writer.upsert(NS, [doc(6000, " alpha"), doc(12, " bravo")]);
    for (const request of requests.slice(0, 3)) await expectCold(storage, request, true);
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    for (const request of requests.slice(0, 2)) await expectCold(storage, request, true);
  });

  it("list ids with characters past U+FFFF and in U+E000..U+FFFF in UTF-16 order, as loaded", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage);
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    const names = ["a\u{1F600}", "a\uE000", "a\uFFFD", "b\u{10000}", "b\uF900", "plain"];
    await writer.upsert(
      NS,
      Array.from({ length: 1500 }, (_, i) => ({ ...doc(i), id: `${names[i % names.length]}-${String(i).padStart(4, "0")}` })),
    );
    await writer.compact(NS, { force: true });
    await writer.upsert(NS, [{ ...doc(1000), id: "a\uE001-tail" }, { ...doc(1001), id: "a\u{1F601}-tail" }]);
    for (const request of [
      { filters: ["color", "Eq", "red"], topK: 7 },
      { filters: ["n", "Lt", 12], topK: 5 },
      { filters: ["color", "In", ["red", "green"]], topK: 300 },
      { rankBy: ["body", "BM25", "alpha bravo"], topK: 30 },
      { rankBy: ["body", "BM25", "alpha"], topK: 3 },
      { rankBy: ["body", "BM25", "golf"], topK: 2 },
    ]) {
      const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
      expect(await makeEngine(storage).query(NS, request), JSON.stringify(request)).toEqual(expected);
    }
    // A small index is loaded whole (one GET, verified whole), not read by ranges.
    const small = new MemoryStorage();
    const smallWriter = makeEngine(small);
    await smallWriter.createNamespace(NS, { distanceMetric: "cosine" });
    await smallWriter.upsert(NS, Array.from({ length: 50 }, (_, i) => doc(i)));
    await smallWriter.compact(NS, { force: true });
    const engine = makeEngine(small);
    await engine.query(NS, { filters: ["color", "Eq", "red"], topK: 3 });
    expect(engine.queryStats().coldQueries).toBe(0);
  });

  it("rank many rows tied on one BM25 score by id, as loaded (ids in byte order, and past U+FFFF)", async () => {
    for (const prefix of ["plain", "a\u{1F600}|a\uE000|b\uFFFD|b\u{10001}"]) {
      const storage = new MemoryStorage();
      const writer = makeEngine(storage);
      await writer.createNamespace(NS, { distanceMetric: "cosine" });
      const prefixes = prefix.split("|");
      await writer.upsert(
        NS,
        Array.from({ length: 3000 }, (_, i) => ({ ...doc(i), id: `${prefixes[i % prefixes.length]}-${String(i).padStart(4, "0")}`, text: { body: `${WORDS[i % 5]} same length` } })),
      );
      await writer.compact(NS, { force: true });
      await writer.upsert(NS, [{ ...doc(5000), id: `${prefixes[0]}-0000`, text: { body: "bravo other text" } }]);
      for (const request of [
        { rankBy: ["body", "BM25", "alpha"], topK: 5, includeAttributes: ["n"] },
        { rankBy: ["body", "BM25", "bravo charlie"], topK: 100 },
      ]) {
        const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
        const engine = makeEngine(storage);
        expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
        expect(engine.queryStats().coldQueries).toBe(1);
      }
    }
  });

  it("find a damaged or missing stored index: Corrupt naming it", async () => {
    const { storage } = await compacted(3000);
    const [index] = await indexObjects(storage);
    const original = (await storage.get(index!.key)).bytes;
    const directory = decodeBlockFileDirectory(original, original.byteLength);
    // Every non-eager array section the query reads: damage one block of each in turn.
    const request = { rankBy: ["body", "BM25", "alpha bravo charlie delta echo foxtrot golf hotel"], topK: 3000, includeAttributes: true };
    const filterRequest = {
      filters: ["Or", [["color", "In", ["red", "blue"]], ["n", "Gt", 100], ["tags", "ContainsAny", ["t1"]], ["tags", "Exists"]]],
      topK: 3000,
      includeAttributes: true,
    };
    const damagedSections = directory.sections.filter((s) => !s.eager && s.name.startsWith("a") && s.length > 0);
    expect(damagedSections.length).toBeGreaterThan(0);
    let failures = 0;
    for (const section of [...damagedSections, directory.section("clusters")!]) {
      const damaged = original.slice();
      damaged[section.offset + Math.floor(section.length / 2)]! ^= 0x20;
      await storage.put(index!.key, damaged, { mode: { kind: "overwrite" } });
      for (const query of [request, filterRequest]) {
        const error = await makeEngine(storage)
          .query(NS, query)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        if (error === undefined) continue; // a section this query does not read
        failures++;
        expect(isCorrupt(error), `${section.name}: ${String(error)}`).toBe(true);
        expect((error as { key: string }).key).toBe(index!.key);
      }
    }
    expect(failures).toBeGreaterThanOrEqual(6);
    await storage.delete(index!.key);
    const error = await errorOf(makeEngine(storage).query(NS, request));
    expect(isCorrupt(error)).toBe(true);
    expect((error as { key: string }).key).toBe(index!.key);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-text");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold BM25 and filter queries on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.upsert(NS, [doc(5001), doc(100, " alpha alpha")]);
    await writer.delete(NS, ["doc-00101"]);
    for (const request of [requests[0]!, requests[1]!, filterRequests[0]!, filterRequests[4]!, filterRequests[14]!, filterRequests[16]!, filterRequests[18]!]) {
      await expectCold(storage, request);
    }
  });
});
