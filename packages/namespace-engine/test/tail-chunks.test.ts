/**
 * The log tail indexed in chunks (src/tail-chunks.ts): every query kind
 * answers like the naive reference while a tail of upserts, overwrites,
 * patches, deletes and re-upserts grows across many chunks (tiny chunk
 * limits) that merge LSM style (fanout 2 and 3), over log batches alone and
 * over a compacted segment (PATCH bases in the segment), at older versions
 * and from a fresh engine; a new version indexes only the open chunk and
 * what it added, never the whole tail again; merges keep the tail at
 * O(log n) chunks and index each document O(log n) times; a fresh fold
 * indexes each live document once; ANN over merged chunks with IVF lists
 * keeps its recall across overwrites and deletes.
 */
import { describe, expect, it } from "vitest";
import type { DocumentInput, NamespaceEngine, QueryDocument } from "@skerry/namespace-engine";
import { makeEngine, memoryEngine } from "./support/harness.ts";
import { checkAgainstReference } from "./namespace-query-reference.ts";
import { gaussian, randomDocuments, randomFilter, seededRandom } from "../../query/test/support/reference.ts";

const NS = "acme/chunks/docs";
const DIM = 6;
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma"];
const SMALL = { tailChunkDocs: 7, tailChunkContainers: 3, tailChunkFanout: 2 };

function toInput(doc: QueryDocument): DocumentInput {
  const attributes = Object.fromEntries(Object.entries(doc.attributes ?? {}).filter(([, v]) => v !== null));
  return {
    id: doc.id,
    ...(doc.vector === undefined ? {} : { vector: doc.vector as number[] }),
    ...(doc.text === undefined ? {} : { text: doc.text }),
    attributes,
  };
}

async function battery(engine: NamespaceEngine, stage: string, seed: number, atVersion?: number): Promise<void> {
  const random = seededRandom(seed);
  const q = () => Array.from({ length: DIM }, () => gaussian(random));
  const word = () => WORDS[Math.floor(random() * WORDS.length)] as string;
  const at = atVersion === undefined ? {} : { atVersion };
  const f = randomFilter(random);
  const queries: [string, Record<string, unknown>][] = [
    ["all ids", { topK: 1000, ...at }],
    ["filter", { filters: f, topK: 100, ...at }],
    ["kNN", { rankBy: ["vector", "kNN", q()], topK: 10, includeAttributes: true, ...at }],
    ["ANN", { rankBy: ["vector", "ANN", q()], topK: 10, ...at }],
    ["kNN+filter", { rankBy: ["vector", "kNN", q()], topK: 10, filters: f, ...at }],
    ["bm25", { rankBy: ["body", "BM25", `${word()} ${word()}`], topK: 15, ...at }],
    ["bm25 sum", { rankBy: ["Sum", [["Product", 3, ["body", "BM25", word()]], ["body", "BM25", word()]]], topK: 15, ...at }],
    ["count", { aggregateBy: { count: ["Count"] }, ...at }],
    ["order", { rankBy: ["price", "desc"], topK: 20, ...at }],
  ];
  for (const [label, json] of queries) await checkAgainstReference(engine, NS, json, "COSINE", `${stage} / ${label}`);
}

/** A random step of writes: new ids, overwrites, patches, deletes, re-upserts of deleted ids. */
async function step(engine: NamespaceEngine, random: () => number, pool: string[], deleted: Set<string>, n: number): Promise<void> {
  const kind = random();
  const pick = () => pool[Math.floor(random() * pool.length)] as string;
  if (kind < 0.4 || pool.length < 5) {
    const docs = randomDocuments(seededRandom(1000 + n), 1 + Math.floor(random() * 6), { dimension: DIM, idPrefix: `s${n}-` }).map(toInput);
    await engine.upsert(NS, docs);
    for (const d of docs) pool.push(d.id);
  } else if (kind < 0.6) {
    const ids = [...new Set([pick(), pick(), pick()])];
    const docs = randomDocuments(seededRandom(2000 + n), ids.length, { dimension: DIM }).map((d, i) => ({ ...toInput(d), id: ids[i] as string }));
    await engine.upsert(NS, docs);
    for (const id of ids) deleted.delete(id);
  } else if (kind < 0.75) {
    const id = pick();
    if (deleted.has(id)) return;
    await engine.patch(NS, [{ id, attributes: { price: Math.round(random() * 100), color: "patched" }, text: { body: `${WORDS[n % WORDS.length]} patched` } }]);
  } else {
    const ids = [...new Set([pick(), pick()])];
    await engine.delete(NS, ids);
    for (const id of ids) deleted.add(id);
  }
}

describe("the log tail in chunks", () => {
  it.each([2, 3])("answers like the reference as the tail grows across many merging chunks (fanout %i), over log batches and over a segment, at older versions and fresh", async (fanout) => {
    const small = { ...SMALL, tailChunkFanout: fanout };
    const { storage, engine } = memoryEngine({ queryCache: small, compaction: { auto: false } });
    await engine.createNamespace(NS);
    const random = seededRandom(77);
    const pool: string[] = [];
    const deleted = new Set<string>();
    const versions: number[] = [];
    for (let n = 0; n < 36; n++) {
      await step(engine, random, pool, deleted, n);
      if (n % 6 === 5) {
        await battery(engine, `log batches, step ${n}`, n);
        versions.push((await engine.manifest(NS)).version);
      }
    }
    expect(engine.queryStats().tailExtensions).toBeGreaterThan(3);
    // About 12 closed chunks of 3 containers merged: at most (fanout - 1) per level, plus the open one.
    expect(engine.queryStats().tailChunks).toBeLessThanOrEqual((fanout - 1) * Math.ceil(Math.log(13) / Math.log(fanout)) + 1);
    // Older versions, and a fresh engine (its own chunks, cut from a whole fold).
    await battery(engine, `at version ${versions[1]}`, 101, versions[1]);
    await battery(makeEngine(storage, { queryCache: small }), "fresh engine", 102);

    // Compacted, then a tail over the segment: patches of segment rows need their base from the state.
    await engine.compact(NS, { force: true });
    for (let n = 36; n < 60; n++) {
      await step(engine, random, pool, deleted, n);
      if (n % 6 === 5) await battery(engine, `segment + tail, step ${n}`, n);
    }
    await battery(makeEngine(storage, { queryCache: small }), "segment + tail, fresh engine", 103);
    const ids = (await engine.query(NS, { topK: 10_000 })).rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of deleted) expect(ids).not.toContain(id);
  });

  it("a new version indexes the open chunk and what it added, not the whole tail", async () => {
    const { engine } = memoryEngine({ queryCache: { tailChunkDocs: 50, tailChunkContainers: 4 }, compaction: { auto: false } });
    await engine.createNamespace(NS);
    const docs = randomDocuments(seededRandom(5), 2000, { dimension: DIM }).map(toInput);
    for (let b = 0; b < 20; b++) await engine.upsert(NS, docs.slice(b * 100, b * 100 + 100));
    const q = { rankBy: ["vector", "kNN", [1, 0, 0, 0, 0, 1]], topK: 5 };
    await engine.query(NS, q);
    const whole = engine.queryStats().tailDocsIndexed;
    expect(whole).toBe(2000); // every 100-doc batch closes a chunk: indexed once
    for (let i = 0; i < 10; i++) {
      await engine.upsert(NS, [{ ...(docs[i * 7] as DocumentInput), attributes: { price: i } }]);
      const before = engine.queryStats().tailDocsIndexed;
      await checkAgainstReference(engine, NS, q, "COSINE", `after write ${i}`);
      // The open chunk: the single-document containers since the last closed chunk (at most 4).
      expect(engine.queryStats().tailDocsIndexed - before).toBeLessThanOrEqual(4);
    }
    await checkAgainstReference(engine, NS, { topK: 5000 }, "COSINE", "all ids");
    expect(engine.queryStats().tailDocsIndexed).toBeLessThan(whole + 10 * 4 + 1);
  });

  it("merges keep the tail at O(log n) chunks, index each written document O(log n) times, and a fresh fold indexes each live document once", async () => {
    const FANOUT = 2;
    const BATCHES = 64;
    const BATCH = 10;
    const settings = { tailChunkDocs: BATCH, tailChunkContainers: 100, tailChunkFanout: FANOUT };
    const { storage, engine } = memoryEngine({ queryCache: settings, compaction: { auto: false } });
    await engine.createNamespace(NS);
    const docs = randomDocuments(seededRandom(9), BATCHES * BATCH, { dimension: DIM }).map(toInput);
    const q = { rankBy: ["vector", "kNN", [1, 0, 0, 1, 0, 1]], topK: 7 };
    const levels = Math.log2(BATCHES); // 6: chunks of 10, 20, ..., 640 documents
    let maxChunks = 0;
    let maxPerVersion = 0;
    for (let b = 0; b < BATCHES; b++) {
      await engine.upsert(NS, docs.slice(b * BATCH, b * BATCH + BATCH));
      await engine.settleQueryWork(); // the merge the previous version owed, made in the background
      const before = engine.queryStats().tailDocsIndexed - engine.queryStats().tailMerges.indexedDocs;
      await engine.query(NS, q);
      // On the query's path: the new chunk (the merges it completes run in the background, counted apart).
      const after = engine.queryStats().tailDocsIndexed - engine.queryStats().tailMerges.indexedDocs;
      maxPerVersion = Math.max(maxPerVersion, after - before);
      maxChunks = Math.max(maxChunks, engine.queryStats().tailChunks);
      if (b % 9 === 8) await checkAgainstReference(engine, NS, q, "COSINE", `after batch ${b}`);
    }
    // Every batch closes a chunk: the closed chunks count in binary (at most one per level), plus the empty open one.
    expect(maxChunks).toBeLessThanOrEqual(levels + 1);
    await engine.settleQueryWork();
    await engine.query(NS, q);
    expect(engine.queryStats().tailChunks).toBe(2); // 64 batches: one chunk of level 6, and the open one
    // Each document is indexed once per level it climbs (a binary counter): N x (log2(batches) + 1) in all.
    const total = engine.queryStats().tailDocsIndexed;
    expect(total).toBeLessThanOrEqual(BATCHES * BATCH * (levels + 1));
    expect(total).toBeGreaterThan(BATCHES * BATCH); // merges did happen
    // A version's query indexes only its new chunk: the merges (up to the whole tail) are made in the background.
    expect(maxPerVersion).toBe(BATCH);
    expect(engine.queryStats().tailMerges.indexedDocs).toBe(total - BATCHES * BATCH);
    await checkAgainstReference(engine, NS, { topK: 5000 }, "COSINE", "all ids");

    // A fresh engine plans the merged layout and indexes each live document once, not once per level.
    const fresh = makeEngine(storage, { queryCache: settings });
    await checkAgainstReference(fresh, NS, q, "COSINE", "fresh engine");
    expect(fresh.queryStats().tailDocsIndexed).toBe(BATCHES * BATCH);
    expect(fresh.queryStats().tailChunks).toBe(2);
    // Overwrites and deletes reaching into the merged chunk, then more merges.
    await fresh.delete(NS, [docs[3]!.id, docs[100]!.id, docs[639]!.id]);
    await fresh.upsert(NS, docs.slice(0, 25).map((d, i) => ({ ...d, attributes: { price: i } })));
    for (let b = 0; b < 6; b++) await fresh.upsert(NS, docs.slice(100 + b * BATCH, 100 + b * BATCH + BATCH));
    await checkAgainstReference(fresh, NS, q, "COSINE", "fresh engine, after overwrites");
    await checkAgainstReference(fresh, NS, { topK: 5000 }, "COSINE", "fresh engine, all ids");
  });

  it("ANN over merged chunks with IVF lists keeps its recall, across overwrites and deletes between chunks", async () => {
    const dim = 16;
    const clusters = 24;
    const random = seededRandom(31);
    const centers = Array.from({ length: clusters }, () => Array.from({ length: dim }, () => gaussian(random) * 4));
    const doc = (i: number, salt: number) => ({
      id: `v${String(i).padStart(5, "0")}`,
      vector: (centers[(i * 7 + salt) % clusters] as number[]).map((c) => c + gaussian(random)),
      attributes: { cluster: (i * 7 + salt) % clusters, salt },
    });
    // 2,500-document chunks merge in pairs: 10,000-document chunks with IVF lists.
    const { engine } = memoryEngine({ queryCache: { tailChunkDocs: 2500, tailChunkContainers: 100, tailChunkFanout: 2 }, compaction: { auto: false } });
    await engine.createNamespace(NS, { distanceMetric: "euclidean" });
    for (let b = 0; b < 4; b++) await engine.upsert(NS, Array.from({ length: 2500 }, (_, i) => doc(b * 2500 + i, 0)));
    await engine.query(NS, { topK: 1 });
    // Rewrite and delete ids of the older merged chunk from later batches, then fill more chunks.
    await engine.upsert(NS, Array.from({ length: 2500 }, (_, i) => doc(i * 3, 1)));
    await engine.delete(NS, Array.from({ length: 300 }, (_, i) => doc(i * 11 + 1, 0).id));
    for (let b = 4; b < 7; b++) await engine.upsert(NS, Array.from({ length: 2500 }, (_, i) => doc(b * 2500 + i, 0)));
    let hits = 0;
    let wanted = 0;
    for (let qi = 0; qi < 20; qi++) {
      const vector = (centers[qi % clusters] as number[]).map((c) => c + gaussian(random));
      await checkAgainstReference(engine, NS, { rankBy: ["vector", "kNN", vector], topK: 10, includeAttributes: true }, "EUCLIDEAN", `kNN ${qi}`);
      const exact = await engine.query(NS, { rankBy: ["vector", "kNN", vector], topK: 10 });
      const approximate = await engine.query(NS, { rankBy: ["vector", "ANN", vector], topK: 10, includeAttributes: ["salt"] });
      const truth = new Set(exact.rows.map((r) => r.id));
      wanted += truth.size;
      hits += approximate.rows.filter((r) => truth.has(r.id)).length;
      // Never a deleted or superseded row.
      for (const row of approximate.rows) {
        const n = Number(row.id.slice(1));
        if (n < 3300 && n % 11 === 1) expect(n).toBeGreaterThanOrEqual(3300);
        if (n % 3 === 0 && n < 7500) expect(row.attributes?.["salt"]).toBe(1);
      }
    }
    expect(hits / wanted).toBeGreaterThanOrEqual(0.95);
    expect(engine.queryStats().tailChunks).toBeLessThanOrEqual(4);
  }, 60_000);
});
