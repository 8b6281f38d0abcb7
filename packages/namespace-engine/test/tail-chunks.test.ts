/**
 * The log tail indexed in chunks (src/tail-chunks.ts): every query kind
 * answers like the naive reference while a tail of upserts, overwrites,
 * patches, deletes and re-upserts grows across many chunks (tiny chunk
 * limits), over log batches alone and over a compacted segment (PATCH bases
 * in the segment), at older versions and from a fresh engine; and a new
 * version indexes only the open chunk and what it added, never the whole
 * tail again.
 */
import { describe, expect, it } from "vitest";
import type { DocumentInput, NamespaceEngine, QueryDocument } from "@skerry/namespace-engine";
import { makeEngine, memoryEngine } from "./support/harness.ts";
import { checkAgainstReference } from "./namespace-query-reference.ts";
import { gaussian, randomDocuments, randomFilter, seededRandom } from "./query/support/reference.ts";

const NS = "acme/chunks/docs";
const DIM = 6;
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma"];
const SMALL = { tailChunkDocs: 7, tailChunkContainers: 3 };

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
  it("answers like the reference as the tail grows across many chunks, over log batches and over a segment, at older versions and fresh", async () => {
    const { storage, engine } = memoryEngine({ queryCache: SMALL, compaction: { auto: false } });
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
    // Older versions, and a fresh engine (its own chunks, cut from a whole fold).
    await battery(engine, `at version ${versions[1]}`, 101, versions[1]);
    await battery(makeEngine(storage, { queryCache: SMALL }), "fresh engine", 102);

    // Compacted, then a tail over the segment: patches of segment rows need their base from the state.
    await engine.compact(NS, { force: true });
    for (let n = 36; n < 60; n++) {
      await step(engine, random, pool, deleted, n);
      if (n % 6 === 5) await battery(engine, `segment + tail, step ${n}`, n);
    }
    await battery(makeEngine(storage, { queryCache: SMALL }), "segment + tail, fresh engine", 103);
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
});
