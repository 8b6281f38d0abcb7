/**
 * Index worker threads (src/query/index-worker-pool.ts, src/tail-chunk-builds.ts):
 * an index built by a worker, and one serialized by a worker, are byte for
 * byte what the calling thread makes; a worker that dies mid-task falls back
 * to the calling thread with the same result; an engine answers the same
 * over a multi-chunk tail whether its chunks were built and persisted by
 * workers or on its own thread (workers off), and persists as many
 * objects of the same sizes.
 */
import { afterAll, describe, expect, it } from "vitest";
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { allKeys, makeEngine } from "./support/harness.ts";
import { gaussian, seededRandom } from "../../query/test/support/reference.ts";
import type { StoredDocument } from "../src/namespace/document.ts";
import { serializeQueryIndex } from "../../query/src/index-codec.ts";
import {
  buildQueryIndexOffThread,
  configureIndexThreads,
  indexWorkerStats,
  killIndexWorkers,
  serializeQueryIndexOffThread,
} from "../../query/src/index-worker-pool.ts";
import { type BuildQueryIndexOptions, buildQueryIndex } from "../../query/src/query-index.ts";

const DIM = 8;
const WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "tau"];

function storedDocs(n: number, seed: number): StoredDocument[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `k${String((i * 7919) % n).padStart(5, "0")}`,
    vector: Float32Array.from({ length: DIM }, () => gaussian(random)),
    text: { body: `${WORDS[i % WORDS.length]} ${WORDS[(i * 3) % WORDS.length]} ${WORDS[(i * 5) % WORDS.length]}` },
    attributes: { n: i % 11, tag: ["x", "y", "z"][i % 3] as string, list: [i % 4, "s"] },
    ...(i % 5 === 0 ? { sparse: { indices: Uint32Array.from([1, 4 + (i % 3)]), values: Float32Array.from([0.5, 1.5]) } } : {}),
  }));
}

const OPTIONS: BuildQueryIndexOptions = { metric: "COSINE", dimension: DIM, ann: true, textFields: { body: { stopWords: "english" } } };

/** What the calling thread builds: the documents sorted by id (as tail chunks index them). */
function mainBuild(docs: readonly StoredDocument[]) {
  return buildQueryIndex([...docs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), OPTIONS);
}

afterAll(() => configureIndexThreads(0));

describe("index worker threads", () => {
  it("build and serialize byte for byte what the calling thread does", async () => {
    configureIndexThreads(1, { minDocuments: 1 });
    const docs = storedDocs(3000, 1); // more than one slice of documents
    const before = indexWorkerStats();
    const built = await buildQueryIndexOffThread(docs, OPTIONS);
    expect(built).toBeDefined();
    const reference = mainBuild(docs);
    const bytes = serializeQueryIndex(reference);
    expect(Buffer.from(serializeQueryIndex(built!)).equals(Buffer.from(bytes))).toBe(true);
    const off = await serializeQueryIndexOffThread(reference, [{ name: "x.json", bytes: new Uint8Array([1, 2, 3]) }]);
    expect(Buffer.from(off).equals(Buffer.from(serializeQueryIndex(reference, [{ name: "x.json", bytes: new Uint8Array([1, 2, 3]) }])))).toBe(true);
    const after = indexWorkerStats();
    expect(after.builds - before.builds).toBe(1);
    expect(after.serializations - before.serializations).toBe(1);
    expect(after.fallbacks).toBe(before.fallbacks);
    // The worker-built index answers lookups like the built one.
    expect(built!.slotOfId("k00042")).toBe(reference.slotOfId("k00042"));
  });

  it("a worker that dies mid-task falls back to the calling thread with the same result", async () => {
    configureIndexThreads(1, { minDocuments: 1 });
    const docs = storedDocs(2500, 2);
    const reference = mainBuild(docs);
    await buildQueryIndexOffThread(storedDocs(10, 3), OPTIONS); // the worker is up
    const before = indexWorkerStats();
    const pending = serializeQueryIndexOffThread(reference);
    killIndexWorkers();
    expect(Buffer.from(await pending).equals(Buffer.from(serializeQueryIndex(reference)))).toBe(true);
    // The pool is broken now: builds are left to the caller, serializations run here.
    expect(await buildQueryIndexOffThread(docs, OPTIONS)).toBeUndefined();
    expect(Buffer.from(await serializeQueryIndexOffThread(reference)).equals(Buffer.from(serializeQueryIndex(reference)))).toBe(true);
    const after = indexWorkerStats();
    expect(after.serializations).toBe(before.serializations);
    expect(after.fallbacks - before.fallbacks).toBeGreaterThanOrEqual(1);
  });

  it("a build a worker refuses (a bad document) falls back, and the calling thread reports the error", async () => {
    configureIndexThreads(1, { minDocuments: 1 });
    const docs = storedDocs(50, 4);
    const bad = [...docs, { ...docs[0]!, id: docs[0]!.id }]; // a duplicate id
    expect(await buildQueryIndexOffThread(bad, OPTIONS)).toBeUndefined();
    expect(() => mainBuild(bad)).toThrow();
  });
});

const NS = "acme/workers/docs";
const BATCH = 60;
const QUERIES: Record<string, unknown>[] = [
  { topK: 1000 },
  { rankBy: ["vector", "kNN", [1, 0.5, -0.5, 0.25, 0, 1, 0, 0]], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "ANN", [0, 1, 0, 1, 0, -1, 1, 0]], topK: 10 },
  { rankBy: ["body", "BM25", "alpha gamma"], topK: 15 },
  { filters: ["n", "Gte", 5], topK: 500, includeAttributes: true },
];

function input(random: () => number, i: number, salt = 0): DocumentInput {
  return {
    id: `d${String(i).padStart(4, "0")}`,
    vector: Array.from({ length: DIM }, () => gaussian(random)),
    text: { body: `${WORDS[(i + salt) % WORDS.length]} ${WORDS[(i * 3 + salt) % WORDS.length]}` },
    attributes: { n: (i + salt) % 9, salt },
  };
}

async function run(threads: number, killAfter?: number): Promise<{ answers: unknown[]; objects: Map<string, string>; storage: StorageProvider }> {
  configureIndexThreads(threads, { minDocuments: 1 });
  const storage = new MemoryStorage();
  const engine: NamespaceEngine = makeEngine(storage, {
    queryCache: { tailChunkDocs: BATCH, tailChunkContainers: 100, tailChunkFanout: 3, tailIndexPersistDocs: 1 },
    compaction: { auto: false },
  });
  const random = seededRandom(5);
  await engine.createNamespace(NS);
  for (let b = 0; b < 7; b++) {
    await engine.upsert(NS, Array.from({ length: BATCH }, (_, i) => input(random, b * BATCH + i)));
    if (b % 3 === 2) await engine.query(NS, { topK: 1 });
    if (b === killAfter) {
      const pending = engine.query(NS, { topK: 1 }); // its chunks are being built or written when the workers die
      await new Promise((resolve) => setImmediate(resolve));
      killIndexWorkers();
      await pending;
    }
  }
  await engine.upsert(NS, Array.from({ length: 20 }, (_, i) => input(random, i * 11, 1)));
  await engine.delete(NS, ["d0003", "d0200"]);
  const answers = [];
  for (const json of QUERIES) answers.push(await engine.query(NS, json));
  await engine.close();
  const objects = new Map<string, string>();
  for (const key of (await allKeys(storage)).filter((k) => k.includes("/tailidx/"))) {
    objects.set(key, Buffer.from((await storage.get(key)).bytes).toString("base64"));
  }
  return { answers, objects, storage };
}

describe("tail chunks built by workers", () => {
  it("answer and persist exactly as chunks built on the calling thread", async () => {
    const before = indexWorkerStats();
    const workers = await run(1);
    const after = indexWorkerStats();
    expect(after.builds - before.builds).toBeGreaterThan(2);
    expect(after.serializations - before.serializations).toBeGreaterThan(0);
    const main = await run(0);
    expect(indexWorkerStats().builds).toBe(after.builds);
    expect(workers.answers).toEqual(main.answers);
    expect(workers.objects.size).toBeGreaterThan(0);
    // Container ids differ between the runs (random), so the keys do; as many objects, of the same sizes.
    const sizes = (m: Map<string, string>) => [...m.values()].map((b) => b.length).sort((a, b) => a - b);
    expect(sizes(workers.objects)).toEqual(sizes(main.objects));
  });

  it("answer the same when the workers die in the middle (the rest is built on the calling thread)", async () => {
    const main = await run(0);
    const killed = await run(1, 3);
    expect(killed.answers).toEqual(main.answers);
    const sizes = (m: Map<string, string>) => [...m.values()].map((b) => b.length).sort((a, b) => a - b);
    expect(sizes(killed.objects)).toEqual(sizes(main.objects));
  });
});
