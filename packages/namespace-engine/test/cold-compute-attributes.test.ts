/**
 * Cold `computeAttributes` (ranking expressions and VectorDist on the
 * returned rows) on top of every cold path (BM25, expressions, listings,
 * attribute orders, exact and ANN dense rankings, RRF, limitPer, rankings
 * beside aggregations): on a compacted namespace whose segment indexes are
 * not loaded, the rows and their computed values equal the loaded index's
 * exactly (over tombstones, a tail of several chunks, several segments), the
 * cold path is taken, and computing reads only what the returned rows need;
 * a damaged block is Corrupt naming the index.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { DocumentInput, NamespaceEngineOptions } from "@skerry/namespace-engine";
import { expressionDoc as doc } from "./support/expression-docs.ts";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldcompute/docs";

/** Computed attributes of every kind: BM25 clauses, attribute operands (numbers, date-times), filter operands, VectorDist. */
const COMPUTED = {
  text: ["Sum", [["body", "BM25", "alpha bravo"], ["Product", 0.5, ["body", "BM25", "golf"]]]],
  boost: ["Saturate", ["Attribute", "pop"], { midpoint: 30, exponent: 2 }],
  recent: ["Decay", ["Dist", ["Attribute", "at"], "2026-01-20T06:00:00Z"], { midpoint: "3d" }],
  red: ["Max", ["color", "Eq", "red"], ["Product", -1, ["Attribute", "n"]]],
  near: ["vector", "VectorDist", [1, 0, 0.5, 1]],
  // Names that are prototype properties are data like any other.
  constructor: ["Dist", ["Attribute", "n"], 1000],
  ["__proto__"]: 7,
};

const REQUESTS: Record<string, unknown>[] = [
  { rankBy: ["body", "BM25", "alpha"], topK: 15, includeAttributes: ["pop"], computeAttributes: COMPUTED },
  { rankBy: ["Sum", [["Attribute", "pop"], ["body", "BM25", "delta"]]], filters: ["n", "Gt", 300], topK: 10, computeAttributes: COMPUTED },
  { filters: ["color", "Eq", "red"], topK: 20, computeAttributes: COMPUTED },
  { rankBy: ["pop", "desc"], topK: 12, includeAttributes: true, computeAttributes: COMPUTED },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], topK: 10, includeVectors: true, computeAttributes: COMPUTED },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["n", "Lt", 200], topK: 8, computeAttributes: { near: COMPUTED.near, boost: COMPUTED.boost } },
  { rankBy: ["RRF", [["body", "BM25", "charlie"], ["n", "asc"]]], topK: 10, computeAttributes: { text: COMPUTED.text, red: COMPUTED.red } },
  { rankBy: ["body", "BM25", "hotel"], limitPer: { attributes: ["color"], limit: 2 }, topK: 6, computeAttributes: { recent: COMPUTED.recent } },
  { rankBy: ["body", "BM25", "echo"], aggregateBy: { c: ["Count"] }, topK: 5, computeAttributes: { boost: COMPUTED.boost, text: COMPUTED.text } },
  { rankBy: ["body", "BM25", "nothing-matches"], topK: 5, computeAttributes: COMPUTED },
];

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, options: Partial<NamespaceEngineOptions> = {}): Promise<void> {
  const warm = makeEngine(storage, { ...options, queryCache: { ...options.queryCache, coldReads: false } });
  const expected = await warm.query(NS, request);
  // No index fits the cold engine's budget: nothing is loaded in the background after a cold answer either.
  const engine = makeEngine(storage, { ...options, queryCache: { ...options.queryCache, segmentIndexBytes: 0 } });
  const got = await engine.query(NS, request);
  expect(got, JSON.stringify(request)).toEqual(expected);
  if (got.rows.length > 0) expect(Object.keys(got.rows[0]!.computed ?? {}), JSON.stringify(request)).toEqual(Object.keys(request["computeAttributes"] as object));
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
  expect(engine.queryStats().segmentIndexes.loads, JSON.stringify(request)).toBe(0);
  const warmRows = await warm.queryRows(NS, request);
  const coldRows = await makeEngine(storage, options).queryRows(NS, request);
  expect(coldRows.rows.length).toBe(warmRows.rows.length);
  for (let i = 0; i < warmRows.rows.length; i++) expect(coldRows.rows.json(i)).toBe(warmRows.rows.json(i));
}

describe("cold computed attributes", () => {
  it("equal the loaded index's on every cold path, over tombstones and a tail of rewrites and deletes", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await writer.upsert(NS, [doc(5001, " alpha"), doc(100, " alpha alpha"), doc(5002, " hotel"), doc(7, " echo")]);
    await writer.delete(NS, ["doc-00101", "doc-00105", "doc-00110"]);
    for (const request of REQUESTS) await expectCold(storage, request);
    const some = (await makeEngine(storage).query(NS, REQUESTS[0]!)).rows;
    // Rows without a value (pop missing, null or a string) compute null; every row has a distance.
    expect(some.some((row) => row.computed?.["boost"] === null)).toBe(true);
    expect(some.every((row) => typeof row.computed?.["near"] === "number")).toBe(true);
  });

  it("read only what the returned rows need", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    const request = { filters: ["color", "Eq", "red"], topK: 10 };
    const plain = makeEngine(storage);
    await plain.query(NS, request);
    const computed = makeEngine(storage);
    await computed.query(NS, { ...request, computeAttributes: { boost: COMPUTED.boost, recent: COMPUTED.recent, near: COMPUTED.near } });
    expect(computed.queryStats().coldQueries).toBe(1);
    // The attribute columns' blocks holding the ten rows (and their clusters, already read): not whole columns.
    expect(computed.queryStats().coldBytes - plain.queryStats().coldBytes).toBeLessThan(index!.size * 0.1);
    expect(computed.queryStats().coldBytes).toBeLessThan(index!.size * 0.5);
  });

  it("over several segments (tiered compaction) and a tail of several chunks", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 100 } });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(10_000 + i)));
    await writer.upsert(NS, Array.from({ length: 200 }, (_, i) => doc(i * 8 + 1, " alpha golf")));
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => `doc-${String(i * 8 + 3).padStart(5, "0")}`));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.updateTextFields(NS, { body: { k1: 1.5, b: 0.6 } });
    const options = { queryCache: { tailChunkContainers: 2, tailChunkFanout: 16 } };
    const live = makeEngine(storage, { queryCache: { ...options.queryCache, segmentIndexBytes: 0 } });
    for (let b = 0; b < 5; b++) {
      await writer.upsert(NS, [doc(20_000 + b, " alpha"), doc(16 + b, " delta"), doc(600 + b, " hotel")]);
      if (b % 2 === 1) await writer.delete(NS, [`doc-0${20_000 + b - 1}`, "doc-00017"]);
      await live.query(NS, { rankBy: ["body", "BM25", "alpha"], topK: 1 });
    }
    expect(live.queryStats().tailChunks).toBeGreaterThan(2);
    for (const request of REQUESTS) await expectCold(storage, request, options);
  });

  it("on cold ANN over reordered (IVF) segments", async () => {
    const { storage, writer } = await compactedNamespace(NS, 5000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 60]);
    await writer.upsert(NS, [doc(6001, " alpha"), doc(100, " charlie")]);
    await writer.delete(NS, ["doc-04001"]);
    const ann = [
      { rankBy: ["vector", "ANN", [0.3, -0.2, 0.1, 1]], topK: 10, computeAttributes: COMPUTED },
      { rankBy: ["vector", "ANN", [0.1, 0.9, 0.5, 0.2]], filters: ["color", "Eq", "blue"], topK: 6, includeAttributes: ["n"], computeAttributes: { near: COMPUTED.near, red: COMPUTED.red } },
    ];
    for (const request of ann) await expectCold(storage, request, { queryCache: { coldRerank: 1_000_000 } });
  });

  it("answer a zero VectorDist vector under cosine and a mistyped operand with the loaded path's errors", async () => {
    const { storage } = await compactedNamespace(NS, 1500, (i) => doc(i));
    for (const computeAttributes of [{ z: ["vector", "VectorDist", [0, 0, 0, 0]] }, { bad: ["n", "Eq", "text"] }]) {
      const request = { rankBy: ["body", "BM25", "alpha"], topK: 5, computeAttributes };
      const loaded = await makeEngine(storage, { queryCache: { coldReads: false } })
        .query(NS, request)
        .then(() => undefined, (e: unknown) => e);
      const cold = await makeEngine(storage)
        .query(NS, request)
        .then(() => undefined, (e: unknown) => e);
      expect(loaded, JSON.stringify(request)).toBeDefined();
      expect(String(cold)).toBe(String(loaded));
    }
  });

  it("find a damaged block of the stored index: Corrupt naming it", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    const request = { filters: ["color", "Eq", "red"], topK: 50, computeAttributes: COMPUTED };
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request))).toBeGreaterThanOrEqual(4);
  });
});

const HL = "acme/coldcompute/highlight";
const SENTENCES = ["The runners were running fast.", "A café served naïve pufferfish 🐡.", "Storage is cold; caches are warm!", "Nothing here matters."];

/** Documents whose text field `body` is also stored as an attribute (a string, or a []string for every fifth). */
function highlightDoc(i: number, extra = ""): DocumentInput {
  const body = `${SENTENCES[i % 4]} ${SENTENCES[(i * 3 + 1) % 4]}\n${WORDS_OF(i)}${extra}`;
  const value = i % 5 === 0 ? [SENTENCES[(i + 2) % 4]!, body] : body;
  return { id: `doc-${String(i).padStart(5, "0")}`, text: { body: Array.isArray(value) ? value.join(" ") : value }, attributes: { body: value, n: i } };
}
const WORDS_OF = (i: number) => ["run cache", "storage café", "warm pufferfish", "matters not"][i % 4]!;

const HIGHLIGHTS = {
  sentence: ["Highlight", "body", { includeOffsets: "utf-8" }],
  word: ["Highlight", "body", { fragmentBy: "word", fragmentLimit: 5, includeOffsets: "codepoints" }],
  byFragment: ["Highlight", "body", { fragmentBy: "paragraph", includeOffsets: "utf-16", rankFragmentsBy: ["Sum", [["$fragment", "BM25", "cafe"], ["$fragment", "BM25", "war", { lastAsPrefix: true }]]] }],
};

describe("cold Highlight", () => {
  it("equals the loaded index's, with the field's stemming and folding", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage);
    await writer.createNamespace(HL, { distanceMetric: "cosine", textFields: { body: { stemming: true, asciiFolding: true } } });
    await writer.upsert(HL, Array.from({ length: 2000 }, (_, i) => highlightDoc(i)));
    await writer.compact(HL, { force: true });
    await writer.upsert(HL, [highlightDoc(5001, " running café"), highlightDoc(3, " run")]);
    const requests = [
      { rankBy: ["body", "BM25", "run cafe"], topK: 12, computeAttributes: HIGHLIGHTS },
      { rankBy: ["n", "asc"], topK: 10, includeAttributes: ["n"], computeAttributes: { byFragment: HIGHLIGHTS.byFragment } },
    ];
    for (const request of requests) {
      const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(HL, request);
      const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
      const got = await engine.query(HL, request);
      expect(got, JSON.stringify(request)).toEqual(expected);
      expect(engine.queryStats().coldQueries).toBe(1);
      expect(engine.queryStats().segmentIndexes.loads).toBe(0);
    }
    const rows = (await makeEngine(storage).query(HL, requests[0]!)).rows;
    const words = rows.flatMap((r) => (r.computed!["word"] as { text: string }[]).map((f) => f.text));
    // Stemmed and folded: "running" and "café" match "run cafe" ("runners" stems to "runner": no match).
    expect(words).toContain("running");
    expect(words).toContain("café");
    expect(words.every((w) => ["run", "running", "café"].includes(w))).toBe(true);
    // A []string value: its elements' fragments carry their index.
    const first = (await makeEngine(storage).query(HL, requests[1]!)).rows[0]!;
    expect(first.id).toBe("doc-00000");
    expect((first.computed!["byFragment"] as readonly { arrayIndex?: number }[]).map((f) => f.arrayIndex).sort()).toEqual([0, 1]);
  });

  it("refuses a text field not stored as an attribute, cold as loaded", async () => {
    const { storage } = await compactedNamespace(NS, 1000, (i) => doc(i));
    const request = { rankBy: ["body", "BM25", "alpha"], topK: 5, computeAttributes: { h: ["Highlight", "body"] } };
    await expect(makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request)).rejects.toThrow(/not stored as an attribute/);
    await expect(makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } }).query(NS, request)).rejects.toThrow(/not stored as an attribute/);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-compute");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold computed attributes on the real S3 server", () => {
  it("equal the loaded index's from ranged reads", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    await writer.upsert(NS, [doc(5001, " alpha"), doc(100, " alpha alpha")]);
    await writer.delete(NS, ["doc-00101"]);
    for (const request of [REQUESTS[0]!, REQUESTS[2]!, REQUESTS[4]!]) await expectCold(storage, request);
  });
});
