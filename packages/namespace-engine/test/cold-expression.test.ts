/**
 * Cold ranking expressions beyond plain BM25 combinations (Saturate, Decay,
 * Dist, Attribute operands, numbers, filters as 1/0 operands, Max of two,
 * Product with constants), with and without BM25 clauses: on a compacted
 * namespace whose segment indexes are not loaded, they are answered by
 * ranged reads (the cold path counted, far fewer bytes than the index) with
 * exactly the rows the loaded indexes give, over tombstones, a tail of
 * rewrites and deletes in several chunks, several segments, filters,
 * limitPer and fusions; a damaged block is Corrupt naming the index.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { NamespaceEngineOptions } from "@skerry/namespace-engine";
import { seededRandom } from "../../query/test/support/reference.ts";
import { expressionDoc as doc } from "./support/expression-docs.ts";
import { compactedNamespace, corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldexpr/docs";
/** Expressions with BM25 clauses (the clauses' matches take part) and without (every row the filters keep). */
const EXPRESSIONS: Record<string, unknown>[] = [
  { rankBy: ["Sum", [["body", "BM25", "alpha"], ["Saturate", ["Attribute", "pop"], { midpoint: 30 }]]], topK: 20, includeAttributes: ["pop"] },
  { rankBy: ["Max", ["Attribute", "pop"], ["Product", 20, ["body", "BM25", "bravo charlie"]]], topK: 25 },
  { rankBy: ["Sum", [["Product", 2, ["body", "BM25", "delta"]], ["color", "Eq", "red"], ["Decay", ["Attribute", "pop"], { midpoint: 5, exponent: 2 }]]], filters: ["n", "Gt", 400], topK: 30 },
  { rankBy: ["Decay", ["Dist", ["Attribute", "at"], "2026-01-20T06:00:00Z"], { midpoint: "3d" }], topK: 15, includeAttributes: ["at"] },
  { rankBy: ["Attribute", "pop"], topK: 40 },
  { rankBy: ["Product", -1, ["Attribute", "pop"]], filters: ["color", "In", ["red", "blue"]], topK: 20 },
  { rankBy: ["color", "Eq", "red"], filters: ["n", "Lt", 50], topK: 5 },
  { rankBy: ["Sum", [1, ["Not", ["color", "Eq", "green"]], ["Saturate", ["Dist", ["Attribute", "n"], 1500], { midpoint: 200, exponent: 3 }]]], topK: 12, includeVectors: true },
  { rankBy: ["Sum", [1, 2]], topK: 30 },
  { rankBy: ["Max", [["Attribute", "missing"], ["Attribute", "color"]]], topK: 10 },
  { rankBy: ["Sum", [["Attribute", "pop"], ["body", "BM25", "hotel india"]]], limitPer: { attributes: ["color"], limit: 3 }, topK: 8 },
  { rankBy: ["Saturate", ["Attribute", "pop"], { midpoint: 10 }], limitPer: { attributes: ["pop"], limit: 1 }, filters: ["n", "Gte", 100], topK: 20 },
  { rankBy: ["RRF", [["body", "BM25", "alpha"], ["Attribute", "n"], ["Sum", [["body", "BM25", "golf"], ["Attribute", "pop"]]]]], topK: 10 },
];

/** A random expression of depth at most `depth` over the documents' fields. */
function randomExpression(r: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const leaf = (): unknown =>
    pick([
      () => ["body", "BM25", `${pick(["alpha", "bravo", "golf", "juliet", "kilo"])} ${pick(["delta", "echo", "hotel", ""])}`.trim()],
      () => ["Attribute", pick(["pop", "n", "missing", "color"])],
      () => Math.round(r() * 20 - 5),
      () => pick([["color", "Eq", "red"], ["n", "Lt", Math.floor(r() * 3000)], ["pop", "Gte", 10], ["Not", ["at", "Exists"]]]),
      () => ["Dist", ["Attribute", "at"], `2026-01-${String(1 + Math.floor(r() * 28)).padStart(2, "0")}T12:00:00Z`],
    ])();
  if (depth === 0 || r() < 0.3) return leaf();
  const sub = () => randomExpression(r, depth - 1);
  return pick([
    () => ["Sum", Array.from({ length: 1 + Math.floor(r() * 3) }, sub)],
    () => ["Max", sub(), sub()],
    () => ["Product", pick([-2, 0.5, 3]), sub()],
    () => ["Saturate", sub(), { midpoint: 1 + Math.floor(r() * 40), exponent: pick([1, 2, 0.5]) }],
    () => ["Decay", sub(), { midpoint: 1 + Math.floor(r() * 40) }],
    () => ["Dist", sub(), Math.round(r() * 50)],
  ])();
}

async function expectCold(storage: StorageProvider, request: Record<string, unknown>, options: Partial<NamespaceEngineOptions> = {}): Promise<void> {
  const warm = makeEngine(storage, { ...options, queryCache: { ...options.queryCache, coldReads: false } });
  const expected = await warm.query(NS, request);
  // No index fits the cold engine's budget: nothing is loaded in the background after a cold answer either.
  const engine = makeEngine(storage, { ...options, queryCache: { ...options.queryCache, segmentIndexBytes: 0 } });
  const got = await engine.query(NS, request);
  expect(got, JSON.stringify(request)).toEqual(expected);
  expect(got.rows.length, JSON.stringify(request)).toBeGreaterThan(0);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
  expect(engine.queryStats().segmentIndexes.loads, JSON.stringify(request)).toBe(0);
  const warmRows = await warm.queryRows(NS, request);
  const coldRows = await makeEngine(storage, options).queryRows(NS, request);
  expect(coldRows.rows.length).toBe(warmRows.rows.length);
  for (let i = 0; i < warmRows.rows.length; i++) expect(coldRows.rows.json(i)).toBe(warmRows.rows.json(i));
}

describe("cold ranking expressions", () => {
  it("answer from ranged reads exactly like the loaded index, over tombstones and a tail of rewrites and deletes", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await writer.upsert(NS, [doc(5001), doc(100, " alpha alpha"), { ...doc(5002, " bravo"), attributes: { n: 5002, pop: 500, at: "2026-01-20T07:00:00Z" } }, doc(7, " hotel")]);
    await writer.delete(NS, ["doc-00101", "doc-00105", "doc-00110"]);
    for (const request of EXPRESSIONS) await expectCold(storage, request);
  });

  it("answer random expressions, filters, limitPer and computed attributes exactly like the loaded index", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2500, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Gt", 2400]);
    await writer.upsert(NS, [doc(4001, " alpha"), doc(300, " golf golf"), doc(12, " kilo")]);
    await writer.delete(NS, ["doc-00301"]);
    const r = seededRandom(1313);
    for (let i = 0; i < 30; i++) {
      // A top-level Sum: a bare number is no ranking.
      const request: Record<string, unknown> = { rankBy: ["Sum", [randomExpression(r, 3), randomExpression(r, 1)]], topK: 1 + Math.floor(r() * 40) };
      if (r() < 0.3) request["filters"] = ["color", "In", ["red", "blue"]];
      if (r() < 0.2) request["limitPer"] = { attributes: ["color"], limit: 2 };
      if (r() < 0.4) request["computeAttributes"] = { x: randomExpression(r, 2), d: ["vector", "VectorDist", [r(), r(), r(), 1]] };
      const warm = makeEngine(storage, { queryCache: { coldReads: false } });
      const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
      expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(await warm.query(NS, request));
      expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
    }
  });

  it("read only part of the index: the columns of the ranked rows, not the whole object", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    for (const request of [EXPRESSIONS[0]!, EXPRESSIONS[3]!, EXPRESSIONS[4]!]) {
      const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
      await engine.query(NS, request);
      expect(engine.queryStats().coldQueries).toBe(1);
      expect(engine.queryStats().coldBytes, JSON.stringify(request)).toBeLessThan(index!.size * 0.5);
    }
  });

  it("over several segments (tiered compaction) whose rows a newer segment rewrote or deleted", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 100 } });
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(10_000 + i)));
    await writer.upsert(NS, Array.from({ length: 200 }, (_, i) => doc(i * 8 + 1, " alpha golf")));
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => `doc-${String(i * 8 + 3).padStart(5, "0")}`));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, [doc(20_000, " alpha"), doc(16, " delta")]);
    await writer.delete(NS, ["doc-00017", "doc-10001"]);
    for (const request of EXPRESSIONS) await expectCold(storage, request);
  });

  it("over a tail of several chunks with superseded rows, and per-field BM25 options", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.deleteByFilter(NS, ["n", "Lt", 30]);
    await writer.updateTextFields(NS, { body: { k1: 1.6, b: 0.5 } });
    const options = { queryCache: { tailChunkContainers: 2, tailChunkFanout: 16 } };
    const live = makeEngine(storage, { queryCache: { ...options.queryCache, segmentIndexBytes: 0 } });
    for (let b = 0; b < 7; b++) {
      await writer.upsert(NS, [doc(6000 + b, " alpha"), doc(6100 + b, " bravo"), doc(200 + b, " delta"), doc(6000 + ((b + 3) % 7), ` hotel ${b}`)]);
      if (b % 2 === 1) await writer.delete(NS, [`doc-0${6100 + b - 1}`, `doc-${String(300 + b).padStart(5, "0")}`, `doc-0${6000 + b - 1}`]);
      await live.query(NS, { rankBy: ["body", "BM25", "alpha"], topK: 1 });
    }
    expect(live.queryStats().tailChunks).toBeGreaterThan(3);
    for (const request of EXPRESSIONS) {
      await expectCold(storage, request, options);
      const before = live.queryStats().coldQueries;
      expect(await live.query(NS, request), JSON.stringify(request)).toEqual(await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request));
      expect(live.queryStats().coldQueries).toBe(before + 1);
    }
  });

  it("type-check their filter operands as the loaded path does", async () => {
    const { storage } = await compactedNamespace(NS, 1500, (i) => doc(i));
    const request = { rankBy: ["Sum", [["Attribute", "pop"], ["n", "Eq", "text"]]], topK: 5 };
    const loaded = await makeEngine(storage, { queryCache: { coldReads: false } })
      .query(NS, request)
      .then(() => undefined, (e: unknown) => e);
    const cold = await makeEngine(storage)
      .query(NS, request)
      .then(() => undefined, (e: unknown) => e);
    expect(loaded).toBeDefined();
    expect(String(cold)).toBe(String(loaded));
  });

  it("find a damaged block of the stored index: Corrupt naming it", async () => {
    const { storage } = await compactedNamespace(NS, 3000, (i) => doc(i));
    const [index] = await indexObjects(storage);
    const requests: [Record<string, unknown>, number][] = [
      [{ rankBy: ["Sum", [["body", "BM25", "alpha bravo charlie"], ["Saturate", ["Attribute", "pop"], { midpoint: 30 }], ["color", "Eq", "red"]]], topK: 3000, includeAttributes: true }, 3],
      // The date-time column's codes and the returned rows' clusters.
      [{ rankBy: ["Decay", ["Dist", ["Attribute", "at"], "2026-01-20"], { midpoint: "3d" }], topK: 10 }, 2],
    ];
    for (const [request, sections] of requests) {
      expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request)), JSON.stringify(request)).toBeGreaterThanOrEqual(sections);
    }
  });
});

const s3 = s3TestTarget("namespace-engine-cold-expression");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold ranking expressions on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i), s3.open());
    for (let b = 0; b < 3; b++) await writer.upsert(NS, [doc(5000 + b), doc(100 + b, " alpha alpha")]);
    await writer.delete(NS, ["doc-00101"]);
    for (const request of [EXPRESSIONS[0]!, EXPRESSIONS[3]!, EXPRESSIONS[5]!]) await expectCold(storage, request);
  });
});
