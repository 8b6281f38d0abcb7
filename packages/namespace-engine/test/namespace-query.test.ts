/**
 * NamespaceEngine.query: results equal a naive reference over
 * `engine.documents(path, { atVersion })` for filters, dense vectors (each
 * metric, kNN and ANN), sparse, BM25, attribute order, hybrid RRF and
 * aggregations, across log batches only, compacted segments (indexes loaded
 * from storage), tails of upserts / patches / deletes over a segment,
 * deleteByFilter and patchByFilter on a segment, older versions, and fresh
 * engines on the same storage; plus caching, consistency and errors.
 */
import { describe, expect, it } from "vitest";
import {
  type DocumentInput,
  isCorrupt,
  isInvalidArgument,
  isInvalidQuery,
  isNamespaceNotFound,
  type NamespaceEngine,
  type NamespaceQueryResult,
  type QueryDocument,
  parseNamespacePath,
  segmentIndexKey,
} from "@skerry/namespace-engine";
import { contentHash } from "@skerry/wal-format";
import { errorOf, makeEngine, memoryEngine } from "./support/harness.ts";
import { checkAgainstReference } from "./namespace-query-reference.ts";
import { gaussian, randomDocuments, randomFilter, seededRandom } from "../../query/test/support/reference.ts";

/** The wire-case metric (the engine exports its lowercase one as DistanceMetric). */
type Metric = "COSINE" | "DOT" | "EUCLIDEAN";

const NS = "acme/query/docs";
const DIM = 8;
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "tau", "phi"];

function toInput(doc: QueryDocument): DocumentInput {
  const attributes = Object.fromEntries(Object.entries(doc.attributes ?? {}).filter(([, v]) => v !== null));
  return {
    id: doc.id,
    ...(doc.vector === undefined ? {} : { vector: doc.vector as number[] }),
    ...(doc.sparse === undefined ? {} : { sparse: doc.sparse as { indices: number[]; values: number[] } }),
    ...(doc.text === undefined ? {} : { text: doc.text }),
    attributes,
  };
}

/** A battery of queries of every kind, deterministic for a seed. */
function battery(seed: number): [string, Record<string, unknown>][] {
  const random = seededRandom(seed);
  const q = () => Array.from({ length: DIM }, () => gaussian(random));
  const word = () => WORDS[Math.floor(random() * WORDS.length)] as string;
  const out: [string, Record<string, unknown>][] = [];
  for (let i = 0; i < 3; i++) {
    const f = randomFilter(random);
    out.push([`filter ${i}`, { filters: f, topK: 60 }]);
    out.push([`kNN ${i}`, { rankBy: ["vector", "kNN", q()], topK: 10, includeAttributes: true, ...(i === 1 ? { filters: f } : {}) }]);
    out.push([`ANN ${i}`, { rankBy: ["vector", "ANN", q()], topK: 8, filters: f }]);
    out.push([`bm25 ${i}`, { rankBy: ["body", "BM25", `${word()} ${word()}`], topK: 15, ...(i === 2 ? { filters: f } : {}) }]);
    out.push([`sparse ${i}`, { rankBy: ["sparse", "Dot", { indices: [1, 4 + i, 9], values: [0.5, 1, 2] }], topK: 10 }]);
    out.push([`bm25 sum ${i}`, { rankBy: ["Sum", [["Product", 2, ["body", "BM25", word()]], ["body", "BM25", `${word()} ${word()}`]]], topK: 12, ...(i === 1 ? { filters: f } : {}) }]);
    out.push([`bm25 max ${i}`, { rankBy: ["Max", [["body", "BM25", word()], ["Product", ["body", "BM25", word()], 0.5]]], topK: 12 }]);
    out.push([`hybrid ${i}`, { rankBy: ["RRF", [["vector", "kNN", q()], ["body", "BM25", word()]]], topK: 10 }]);
    out.push([`count ${i}`, { aggregateBy: { count: ["Count"] }, filters: f }]);
    out.push([`groups ${i}`, { aggregateBy: { count: ["Count"] }, groupBy: ["color"], topK: 3 }]);
    out.push([`order ${i}`, { rankBy: ["price", "desc"], topK: 12, filters: f }]);
  }
  out.push(["all ids", { topK: 1000 }]);
  // Phrases and type-ahead BM25 (their own random stream, so the queries above stay the same).
  const more = seededRandom(seed + 1000);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(more() * xs.length)] as T;
  for (let i = 0; i < 4; i++) {
    const phrase = Array.from({ length: 1 + Math.floor(more() * 3) }, () => pick(WORDS));
    const operand = i === 3 ? [phrase.join(" ").toUpperCase(), pick(WORDS)] : phrase.join(i === 2 ? ", " : " ");
    out.push([`phrase ${i}`, { filters: ["body", "ContainsTokenSequence", operand], topK: 200 }]);
    const prefix = pick(["al", "g", "be", "o", "s", "t", "ph", "p", "x", "sigma", ""]);
    out.push([`bm25 prefix ${i}`, { rankBy: ["body", "BM25", `${pick(WORDS)} ${prefix}`, { lastAsPrefix: true }], topK: 15 }]);
    out.push([
      `bm25 prefix + phrase ${i}`,
      { rankBy: ["body", "BM25", prefix, { lastAsPrefix: true }], filters: ["Or", [["body", "ContainsTokenSequence", phrase.slice(0, 2).join(" ")], ["n", "Lt", 3]]], topK: 10 },
    ]);
    out.push([`bm25 prefix sum ${i}`, { rankBy: ["Sum", [["body", "BM25", prefix, { lastAsPrefix: true }], ["Product", 0.5, ["body", "BM25", pick(WORDS)]]]], topK: 12 }]);
  }
  // Ranking expressions over attributes and filters (their own stream too).
  const expr = seededRandom(seed + 2000);
  for (let i = 0; i < 3; i++) {
    const f = randomFilter(expr);
    const midpoint = 1 + Math.floor(expr() * 50);
    out.push([`expr saturate ${i}`, { rankBy: ["Sum", [["body", "BM25", pick(WORDS)], ["Product", 1.5, ["Saturate", ["Attribute", "price"], { midpoint, exponent: 1 + i }]]]], topK: 12 }]);
    out.push([`expr decay ${i}`, { rankBy: ["Sum", [["Decay", ["Dist", ["Attribute", "n"], 10], { midpoint: 3 }], f]], topK: 20, ...(i === 1 ? { filters: f } : {}) }]);
    out.push([`expr max ${i}`, { rankBy: ["Max", [["Attribute", "price"], ["Product", 10, ["Attribute", "n"]], 5]], topK: 15 }]);
    const typo = (w: string) => (i === 0 ? w : i === 1 ? `${w}x` : w.slice(1));
    out.push([`fuzzy ${i}`, { filters: ["Or", [["body", "Fuzzy", `${typo(pick(WORDS))}`], ["body", "Fuzzy", typo(pick(WORDS)), { maxEditDistance: [{ distance: 1, minQueryChars: 6 }] }]]], topK: 40 }]);
    out.push([`fuzzy boost ${i}`, { rankBy: ["Sum", [["body", "BM25", pick(WORDS)], ["Product", 2, ["body", "Fuzzy", typo(pick(WORDS))]]]], topK: 15 }]);
  }
  // Sparse clauses inside ranking expressions (after the streams above, so their queries stay the same).
  for (let i = 0; i < 3; i++) {
    const sparse = ["sparse", "Dot", { indices: [1, 4 + i, 9], values: [0.5, 1, 2] }];
    out.push([`expr sparse sum ${i}`, { rankBy: ["Sum", [sparse, ["Product", 0.5, ["body", "BM25", pick(WORDS)]]]], topK: 12 }]);
    out.push([
      `expr sparse saturate ${i}`,
      { rankBy: ["Max", [["Saturate", sparse, { midpoint: 1 + i }], ["Product", 0.01, ["Attribute", "price"]]]], topK: 12, ...(i === 1 ? { filters: randomFilter(expr) } : {}) },
    ]);
  }
  return out;
}

async function checkBattery(engine: NamespaceEngine, metric: Metric, stage: string, seed = 11): Promise<NamespaceQueryResult[]> {
  const results: NamespaceQueryResult[] = [];
  for (const [label, json] of battery(seed)) results.push(await checkAgainstReference(engine, NS, json, metric, `${stage} / ${label}`));
  return results;
}

async function allIds(engine: NamespaceEngine, options: { atVersion?: number } = {}): Promise<string[]> {
  return (await engine.query(NS, { topK: 10_000 }, options)).rows.map((r) => r.id);
}

/** Builds the scenario step by step, checking each stage; returns the versions of the stages. */
async function scenario(metric: Metric) {
  const { storage, engine } = memoryEngine();
  await engine.createNamespace(NS, { distanceMetric: metric.toLowerCase() as "cosine" });
  const docs = randomDocuments(seededRandom(3), 180, { dimension: DIM }).map(toInput);
  for (let b = 0; b < 3; b++) await engine.upsert(NS, docs.slice(b * 60, b * 60 + 60));
  await engine.patch(NS, [{ id: docs[0]?.id as string, attributes: { n: 7, color: "green" }, text: { body: "omega omega sigma" } }]);
  await engine.delete(NS, [docs[1]?.id as string, docs[2]?.id as string]);
  const logOnly = (await engine.manifest(NS)).version;
  return { storage, engine, docs, logOnly };
}

describe("NamespaceEngine.query", () => {
  for (const metric of ["COSINE", "DOT", "EUCLIDEAN"] as const) {
    it(`answers like the reference over log batches, a compacted segment and a tail of upserts, patches and deletes (${metric})`, async () => {
      const { storage, engine, docs } = await scenario(metric);
      await checkBattery(engine, metric, "log batches only");

      await engine.compact(NS, { force: true });
      const compacted = await engine.manifest(NS);
      expect(compacted.containers.map((c) => c.kind)).toEqual(["SEGMENT"]);
      const fresh = makeEngine(storage);
      await checkBattery(fresh, metric, "compacted (fresh engine)");
      expect(fresh.queryStats().segmentIndexes.loads).toBe(1);

      // The tail: overwrites of segment rows, new ids, patches of segment and tail rows, deletes of segment rows.
      const random = seededRandom(5);
      const rewritten = docs.slice(10, 20).map((d) => ({ ...d, vector: Array.from({ length: DIM }, () => gaussian(random)), attributes: { n: 3, color: "cyan", price: 1.5 } }));
      await engine.upsert(NS, rewritten);
      await engine.upsert(NS, randomDocuments(seededRandom(9), 30, { dimension: DIM, idPrefix: "t" }).map(toInput));
      await engine.patch(NS, [
        { id: docs[20]?.id as string, attributes: { color: "magenta", price: null }, text: { body: "phi phi phi beta" } },
        { id: docs[21]?.id as string, vector: null },
        { id: docs[12]?.id as string, attributes: { n: 19 } },
      ]);
      const gone = docs.slice(30, 40).map((d) => d.id);
      await engine.delete(NS, gone);
      await engine.upsert(NS, [{ ...(docs[35] as DocumentInput), attributes: { n: 1, color: "red", resurrected: true } }]);
      await checkBattery(engine, metric, "segment + tail");
      await checkBattery(makeEngine(storage), metric, "segment + tail (fresh engine)");

      const ids = await allIds(engine);
      for (const id of gone) expect(ids.includes(id), id).toBe(id === docs[35]?.id);
      const patched = await engine.query(NS, { filters: ["id", "Eq", docs[20]?.id as string], includeAttributes: true });
      expect(patched.rows).toHaveLength(1);
      expect(patched.rows[0]?.attributes?.["color"]).toBe("magenta");
      expect(patched.rows[0]?.attributes?.["price"]).toBeUndefined();
      // One version per id, the newest.
      expect(new Set(ids).size).toBe(ids.length);
    });
  }

  it("ranks by sparse clauses inside ranking expressions (dot products worked out by hand), from the log and a segment", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace("acme/query/sparse-expr");
    const ns = "acme/query/sparse-expr";
    await engine.upsert(ns, [
      { id: "a", sparse: { indices: [1, 2], values: [1, 2] }, text: { body: "alpha" }, attributes: { price: 10 } },
      { id: "b", sparse: { indices: [2, 7], values: [1, 4] }, text: { body: "beta" } },
      { id: "c", text: { body: "alpha alpha" }, attributes: { price: 4 } },
      { id: "d", sparse: { indices: [7], values: [1] }, attributes: { price: 100 } },
    ]);
    // The query {1: 3, 2: 1}: a = 3 + 2 = 5, b = 1; c has no sparse vector, d shares no dimension.
    const dot = ["sparse", "Dot", { indices: [1, 2], values: [3, 1] }];
    const rows = async (rankBy: unknown, extra: Record<string, unknown> = {}) =>
      (await engine.query(ns, { rankBy, topK: 10, ...extra } as never)).rows.map((r) => [r.id, r.score]);
    for (let round = 0; round < 2; round++) {
      // Only documents sharing a dimension (or matching a BM25 clause) take part.
      expect(await rows(["Sum", [dot, ["Product", 0.5, ["Attribute", "price"]]]])).toEqual([
        ["a", 10],
        ["b", 1],
      ]);
      expect(await rows(["Saturate", dot, { midpoint: 5 }])).toEqual([
        ["a", 0.5],
        ["b", 1 / 6],
      ]);
      expect(await rows(["Max", [dot, ["Product", 4, ["body", "BM25", "beta"]]]])).toEqual([
        ["a", 5],
        ["b", 4 * ((await rows(["body", "BM25", "beta"]))[0]?.[1] as number)],
      ]);
      const bm25 = new Map((await rows(["body", "BM25", "alpha"])) as [string, number][]);
      expect(await rows(["Sum", [["body", "BM25", "alpha"], dot]])).toEqual(
        [
          ["a", (bm25.get("a") as number) + 5],
          ["c", bm25.get("c") as number],
          ["b", 1],
        ].sort((x, y) => (y[1] as number) - (x[1] as number)),
      );
      // The query's filters still select the rows; computed attributes take the clause too.
      expect(await rows(["Sum", [dot, 1]], { filters: ["id", "NotEq", "a"] })).toEqual([["b", 2]]);
      const computed = await engine.query(ns, { rankBy: ["id", "asc"], topK: 10, computeAttributes: { d: dot } } as never);
      expect(computed.rows.map((r) => [r.id, r.computed?.["d"]])).toEqual([
        ["a", 5],
        ["b", 1],
        ["c", 0],
        ["d", 0],
      ]);
      await engine.compact(ns, { force: true });
    }
    await expect(engine.query(ns, { rankBy: ["Sum", [["sparse", "Dot", { indices: [2, 1], values: [1, 1] }], 1]] } as never)).rejects.toMatchObject({ code: "InvalidQuery" });
  });

  it("deleteByFilter tombstones on a compacted segment and patchByFilter's UPDATE segment hide the old rows", async () => {
    const { engine, storage } = await scenario("COSINE");
    await engine.compact(NS, { force: true });
    await engine.upsert(NS, [{ id: "tail-red", vector: [1, 2, 3, 4, 5, 6, 7, 8], attributes: { color: "red", n: 4 } }]);
    const deleted = await engine.deleteByFilter(NS, ["color", "Eq", "red"]);
    expect(deleted.deleted).toBeGreaterThan(0);
    const segment = (await engine.manifest(NS)).containers[0];
    expect(segment?.extra?.["tombstones_snapshot"]).toBeDefined();
    const reds = await engine.query(NS, { filters: ["color", "Eq", "red"], topK: 1000 });
    expect(reds.rows).toEqual([]);
    await checkBattery(engine, "COSINE", "after deleteByFilter");

    await engine.patchByFilter(NS, ["color", "Eq", "blue"], { attributes: { color: "navy", n: 0 } });
    expect((await engine.query(NS, { filters: ["color", "Eq", "blue"], topK: 1000 })).rows).toEqual([]);
    const navy = await engine.query(NS, { filters: ["color", "Eq", "navy"], topK: 1000 });
    expect(navy.rows.length).toBeGreaterThan(0);
    await checkBattery(engine, "COSINE", "after patchByFilter");
    const warm = await Promise.all(battery(11).map(([, json]) => engine.query(NS, json)));
    const cold = makeEngine(storage);
    expect(await Promise.all(battery(11).map(([, json]) => cold.query(NS, json)))).toEqual(warm);

    await engine.compact(NS, { force: true });
    await checkBattery(engine, "COSINE", "recompacted");
  });

  it("atVersion reads each older version like the reference at that version, from the request or the options", async () => {
    const { engine, storage, docs, logOnly } = await scenario("EUCLIDEAN");
    const versions = [logOnly];
    await engine.compact(NS, { force: true });
    versions.push((await engine.manifest(NS)).version);
    await engine.upsert(NS, [{ id: "late", vector: Array(DIM).fill(0.5), attributes: { color: "red", n: 2 } }]);
    await engine.delete(NS, [docs[50]?.id as string]);
    versions.push((await engine.manifest(NS)).version);
    await engine.deleteByFilter(NS, ["n", "Lt", 5]);
    versions.push((await engine.manifest(NS)).version);
    const reader = makeEngine(storage);
    for (const version of versions) {
      for (const [label, json] of battery(21).slice(0, 12)) {
        const viaRequest = await checkAgainstReference(reader, NS, { ...json, atVersion: version }, "EUCLIDEAN", `v${version} / ${label}`);
        expect(viaRequest.version).toBe(version);
        const viaOptions = await reader.query(NS, json, { atVersion: version });
        expect(viaOptions).toEqual(viaRequest);
      }
      const live = (await reader.documents(NS, { atVersion: version })).map((d) => d.id);
      expect(await allIds(reader, { atVersion: version })).toEqual(live);
    }
    // Older versions before and after the compaction share nothing stale: the newest is still right.
    await checkBattery(reader, "EUCLIDEAN", "latest after older reads");
  });

  it("a fresh engine on the same storage returns identical results to the warm one", async () => {
    const { engine, storage } = await scenario("DOT");
    await engine.compact(NS, { force: true });
    await engine.upsert(NS, randomDocuments(seededRandom(4), 20, { dimension: DIM, idPrefix: "n" }).map(toInput));
    const warm: NamespaceQueryResult[] = [];
    for (const [, json] of battery(31)) warm.push(await engine.query(NS, json));
    const fresh = makeEngine(storage);
    const cold: NamespaceQueryResult[] = [];
    for (const [, json] of battery(31)) cold.push(await fresh.query(NS, { ...json, consistency: "strong" }));
    expect(cold).toEqual(warm);
  });

  it("a corrupt, truncated or missing stored index is a Corrupt error, and a repaired one is read again", async () => {
    const { engine, storage } = await scenario("COSINE");
    const report = await engine.compact(NS, { force: true });
    const key = segmentIndexKey(parseNamespacePath(NS), (await engine.manifest(NS)).containers[0]?.id as string);
    expect(report.indexBytes).toBeGreaterThan(0);
    const good = (await storage.get(key)).bytes;
    const expected = await engine.query(NS, { rankBy: ["vector", "kNN", Array(DIM).fill(1)], topK: 5 });

    const flipped = good.slice();
    flipped[Math.floor(flipped.length / 2)] = (flipped[Math.floor(flipped.length / 2)] as number) ^ 0xff;
    await storage.put(key, flipped);
    const corrupt = await errorOf(makeEngine(storage).query(NS, { topK: 5 }));
    expect(isCorrupt(corrupt), String(corrupt)).toBe(true);
    expect((corrupt as { key: string }).key).toBe(key);
    // The compactor records the object's BLAKE3; the loader checks it (in place of the body CRC).
    const ref = (await engine.manifest(NS)).containers[0];
    expect(ref?.extra?.["index_hash"]).toBe(contentHash(good));
    expect(String(corrupt)).toMatch(/hashes to [0-9a-f]{64}, its manifest says/);

    await storage.put(key, good.slice(0, good.length - 8));
    const truncated = await errorOf(makeEngine(storage).query(NS, { topK: 5 }));
    expect(isCorrupt(truncated)).toBe(true);
    expect(String(truncated)).toMatch(/bytes, its manifest says/);

    await storage.delete(key);
    const fresh = makeEngine(storage);
    expect(isCorrupt(await errorOf(fresh.query(NS, { topK: 5 })))).toBe(true);
    // Failed loads are not cached: the same engine reads the repaired object.
    await storage.put(key, good);
    expect(await fresh.query(NS, { rankBy: ["vector", "kNN", Array(DIM).fill(1)], topK: 5 })).toEqual(expected);
  });

  it("eventual reads may serve the cached manifest up to readStalenessMs; strong reads see the latest", async () => {
    const { storage, engine } = memoryEngine();
    await engine.createNamespace(NS);
    await engine.upsert(NS, [{ id: "a", vector: [1, 0], attributes: { n: 1 } }]);
    const reader = makeEngine(storage, { readStalenessMs: 60_000, clock: { now: () => Date.parse("2026-06-01T00:00:00Z") } });
    const first = await reader.query(NS, { topK: 10 });
    expect(first.rows.map((r) => r.id)).toEqual(["a"]);
    await engine.upsert(NS, [{ id: "b", vector: [0, 1], attributes: { n: 2 } }]);
    const eventual = await reader.query(NS, { topK: 10, consistency: "eventual" });
    expect(eventual.version).toBe(first.version);
    expect(eventual.rows.map((r) => r.id)).toEqual(["a"]);
    const viaOption = await reader.query(NS, { topK: 10 }, { consistency: "eventual" });
    expect(viaOption).toEqual(eventual);
    const strong = await reader.query(NS, { topK: 10 });
    expect(strong.version).toBe(first.version + 1);
    expect(strong.rows.map((r) => r.id)).toEqual(["a", "b"]);
  });

  it("rejects conflicting options, a wrong dimension, a bad request and unknown namespaces with typed errors", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS);
    await engine.upsert(NS, [{ id: "a", vector: [1, 0, 0] }]);
    expect(isInvalidArgument(await errorOf(engine.query(NS, { consistency: "strong" }, { consistency: "eventual" })))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.query(NS, { atVersion: 1 }, { atVersion: 2 })))).toBe(true);
    const dimension = await errorOf(engine.query(NS, { rankBy: ["vector", "kNN", [1, 0]] }));
    expect(isInvalidQuery(dimension)).toBe(true);
    expect((dimension as { issues: { reason: string }[] }).issues[0]?.reason).toBe("dimension_mismatch");
    expect(isInvalidQuery(await errorOf(engine.query(NS, { topK: 0, bogus: 1 })))).toBe(true);
    expect(isNamespaceNotFound(await errorOf(engine.query("acme/query/none", { topK: 1 })))).toBe(true);
    // An empty namespace answers with no rows.
    await engine.createNamespace("acme/query/empty");
    expect((await engine.query("acme/query/empty", { topK: 3, aggregateBy: { count: ["Count"] } })).aggregations).toEqual({ count: 0 });
  });

  it("caches: one index load for concurrent first queries, the tail advances by new log batches, an over-budget index cache reloads", async () => {
    const { engine, storage } = await scenario("COSINE");
    await engine.compact(NS, { force: true });
    const fresh = makeEngine(storage);
    await Promise.all(battery(41).map(([, json]) => fresh.query(NS, json)));
    expect(fresh.queryStats().segmentIndexes.loads).toBe(1);
    const before = fresh.queryStats();
    for (let i = 0; i < 3; i++) {
      await engine.upsert(NS, [{ id: `x${i}`, vector: Array(DIM).fill(i + 1), attributes: { n: i } }]);
      await checkAgainstReference(fresh, NS, { rankBy: ["vector", "kNN", Array(DIM).fill(1)], topK: 4 }, "COSINE", `advance ${i}`);
    }
    const after = fresh.queryStats();
    expect(after.tailExtensions - before.tailExtensions).toBe(3);
    expect(after.segmentIndexes.loads).toBe(1);
    const repeated = await fresh.query(NS, { topK: 3 });
    expect(fresh.queryStats().snapshotHits).toBeGreaterThan(after.snapshotHits);
    expect(repeated.rows).toHaveLength(3);

    const tiny = makeEngine(storage, { queryCache: { segmentIndexBytes: 1 } });
    await engine.createNamespace("acme/query/other");
    await engine.upsert("acme/query/other", [{ id: "o", vector: Array(DIM).fill(2) }]);
    await engine.compact("acme/query/other", { force: true });
    await tiny.query(NS, { topK: 2 });
    await tiny.query("acme/query/other", { topK: 2 });
    const again = await checkAgainstReference(tiny, NS, { rankBy: ["vector", "kNN", Array(DIM).fill(-1)], topK: 6 }, "COSINE", "after eviction");
    expect(again.rows).toHaveLength(6);
    expect(tiny.queryStats().segmentIndexes.loads).toBe(3);
    expect(tiny.queryStats().segmentIndexes.evictions).toBeGreaterThanOrEqual(2);
  });
});

describe("a tail larger than the snapshot budget", () => {
  it("is prepared once per version, not once per query (no rebuild cliff)", async () => {
    const { engine } = memoryEngine({ queryCache: { snapshotBytes: 1 } });
    await engine.createNamespace(NS);
    await engine.upsert(
      NS,
      Array.from({ length: 50 }, (_, i) => ({ id: `d${i}`, vector: Array.from({ length: DIM }, (_, j) => ((i + 1) * (j + 3)) % 7), attributes: { n: i } })),
    );
    const first = await engine.query(NS, { rankBy: ["vector", "kNN", Array(DIM).fill(1)], topK: 5 });
    for (let i = 0; i < 4; i++) expect(await engine.query(NS, { rankBy: ["vector", "kNN", Array(DIM).fill(1)], topK: 5 })).toEqual(first);
    expect(engine.queryStats().snapshotBuilds).toBe(1);
    expect(engine.queryStats().snapshotHits).toBe(4);
    // A commit makes a new version: one build, and the older over-budget version is released.
    await engine.upsert(NS, [{ id: "late", vector: Array(DIM).fill(1) }]);
    await engine.query(NS, { topK: 3 });
    await engine.query(NS, { topK: 3 });
    expect(engine.queryStats().snapshotBuilds).toBe(2);
    expect(engine.queryStats().snapshots).toBe(1);
  });
});
