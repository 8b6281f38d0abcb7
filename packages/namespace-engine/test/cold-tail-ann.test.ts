/**
 * Cold ANN over a tail whose closed chunks have IVF lists (4,096 vectors or
 * more, tail-chunks.ts): the chunks' lists join the segments' global probe
 * order (cold-tail-ann.ts), as the loaded path probes them, so the cold rows
 * equal the loaded rows: plain, filtered (a filter not selective anywhere,
 * or selective in every segment but not in the chunk), with
 * `globalProbes: false`, over superseded and deleted tail rows.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import type { DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { makeEngine } from "./support/harness.ts";

const DIM = 8;
const CENTRES = 30;

function generator(seed: number) {
  let x = seed;
  const random = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: CENTRES }, () => Array.from({ length: DIM }, gauss));
  return (c: number) => centres[c % CENTRES]!.map((v) => v + 0.3 * gauss());
}

const idOf = (n: number) => `t-${String(n).padStart(6, "0")}`;
const CHUNKS = { tailChunkContainers: 2 };

async function namespace(metric: "cosine" | "euclidean"): Promise<{ storage: MemoryStorage; ns: string; near: (c: number) => number[] }> {
  const storage = new MemoryStorage();
  const near = generator(7);
  const writer: NamespaceEngine = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 1, mergeFactor: 100 } });
  const ns = `acme/tail-ann/${metric}`;
  await writer.createNamespace(ns, { distanceMetric: metric });
  const doc = (n: number, c = n): DocumentInput => ({ id: idOf(n), vector: near(c), attributes: { n, odd: n % 2 } });
  for (let s = 0; s < 2; s++) {
    await writer.upsert(ns, Array.from({ length: 4200 }, (_, i) => doc(s * 4200 + i)));
    expect((await writer.compact(ns)).performed).toBe(true);
  }
  await writer.deleteByFilter(ns, ["n", "Lt", 30]);
  // The tail: a closed chunk of 4,600 rows (IVF lists), rewriting some segment rows; then an open chunk
  // superseding and deleting some of the closed chunk's rows.
  await writer.upsert(ns, Array.from({ length: 4500 }, (_, i) => doc(10_000 + i)));
  await writer.upsert(ns, Array.from({ length: 100 }, (_, i) => doc(100 + i * 3, i + 5)));
  await writer.upsert(ns, Array.from({ length: 50 }, (_, i) => doc(10_000 + i * 13, i + 11)));
  await writer.delete(ns, Array.from({ length: 40 }, (_, i) => idOf(10_001 + i * 17)));
  return { storage, ns, near };
}

describe("cold ANN over IVF tail chunks", () => {
  for (const metric of ["cosine", "euclidean"] as const) {
    it(`${metric}: cold rows equal the loaded rows (plain, filtered, globalProbes false)`, async () => {
      const { storage, ns, near } = await namespace(metric);
      for (const extra of [{}, { globalProbes: false }]) {
        const loaded = makeEngine(storage, { queryCache: { ...CHUNKS, ...extra, coldReads: false } });
        for (let q = 0; q < 6; q++) {
          const vector = near(q * 5 + 1);
          for (const request of [
            { rankBy: ["vector", "ANN", vector], topK: 10, includeAttributes: true },
            { rankBy: ["vector", "ANN", vector], topK: 20, probes: 4, includeVectors: true },
            { rankBy: ["vector", "ANN", vector], topK: 10, filters: ["odd", "Eq", 1], includeAttributes: ["n"] },
            // Selective in every segment (exact scans) but not in the closed chunk (probed), as loaded.
            { rankBy: ["vector", "ANN", vector], topK: 10, filters: ["Or", [["n", "Lt", 300], ["n", "Gte", 10_000]]], includeAttributes: ["n"] },
          ]) {
            const expected = await loaded.query(ns, request);
            expect(loaded.queryStats().tailChunks).toBeGreaterThanOrEqual(2);
            const cold = makeEngine(storage, { queryCache: { ...CHUNKS, ...extra, coldRerank: 1_000_000 } });
            const got = await cold.query(ns, request);
            expect(cold.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
            expect(got, `${metric} ${JSON.stringify(extra)} q${q} ${JSON.stringify(request.filters)}`).toEqual(expected);
          }
        }
      }
    }, 120_000);
  }
});
