/**
 * Cold ANN with a filter selective in some segments but not in others: the
 * loaded path scans a selective segment's matches exactly and probes the
 * others' lists (global probes over those); the cold path does the same per
 * segment (cold-ann-filter.ts coldAnnSelective beside the probed scans), so
 * the rows equal the loaded rows, over tombstones, a tail and with
 * `globalProbes: false`; a damaged block is Corrupt.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { decodeBlockFileDirectory } from "@skerry/wal-format";
import { describe, expect, it } from "vitest";
import { type DocumentInput, isCorrupt, type NamespaceEngine } from "@skerry/namespace-engine";
import { indexObjects, makeEngine } from "./support/harness.ts";

const DIM = 8;
const CENTRES = 30;
const NS = "acme/ann-selective/docs";

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

const idOf = (n: number) => `s-${String(n).padStart(6, "0")}`;
const near = generator(11);

/** Two IVF segments (4,200 rows each), tombstones in the first, a tail of rewrites and deletes. */
async function namespace(storage: MemoryStorage): Promise<NamespaceEngine> {
  const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 1, mergeFactor: 100 } });
  await writer.createNamespace(NS, { distanceMetric: "cosine" });
  const doc = (n: number, c = n % CENTRES): DocumentInput => ({ id: idOf(n), vector: near(c), attributes: { n, c } });
  for (let s = 0; s < 2; s++) {
    await writer.upsert(NS, Array.from({ length: 4200 }, (_, i) => doc(s * 4200 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
  }
  await writer.deleteByFilter(NS, ["n", "Lt", 30]);
  await writer.upsert(NS, [...Array.from({ length: 20 }, (_, i) => doc(20_000 + i)), doc(4203, 3), doc(100, 3)]);
  await writer.delete(NS, [idOf(4233), idOf(1003)]);
  return writer;
}

// Not selective in the first segment (half its rows), selective in the second (its rows near centre 3).
const FILTER = ["Or", [["n", "Lt", 2100], ["c", "Eq", 3]]];

describe("cold ANN with a filter selective in some segments", () => {
  it("scans the selective segments exactly and probes the others, exactly like the loaded path", async () => {
    const storage = new MemoryStorage();
    await namespace(storage);
    for (const extra of [{}, { globalProbes: false }]) {
      const loaded = makeEngine(storage, { queryCache: { ...extra, coldReads: false } });
      for (let q = 0; q < 6; q++) {
        const vector = near(q % 2 === 0 ? 3 : q * 7);
        for (const request of [
          { rankBy: ["vector", "ANN", vector], topK: 10, filters: FILTER, includeAttributes: true },
          { rankBy: ["vector", "ANN", vector], topK: 30, probes: 3, filters: FILTER, includeVectors: true },
          { rankBy: ["vector", "ANN", vector], topK: 5, filters: FILTER, limitPer: { attributes: ["c"], limit: 1 }, includeAttributes: ["n"] },
        ]) {
          const expected = await loaded.query(NS, request);
          const cold = makeEngine(storage, { queryCache: { ...extra, coldRerank: 1_000_000 } });
          expect(await cold.query(NS, request), `${JSON.stringify(extra)} q${q}`).toEqual(expected);
          expect(cold.queryStats().coldQueries).toBe(1);
          expect(cold.queryStats().segmentIndexes.loads).toBe(0);
        }
      }
    }
  }, 120_000);

  it("finds a damaged block: Corrupt naming the index", async () => {
    const storage = new MemoryStorage();
    await namespace(storage);
    const request = { rankBy: ["vector", "ANN", near(3)], topK: 10, filters: FILTER, includeAttributes: true };
    let failures = 0;
    for (const { key } of await indexObjects(storage)) {
      const original = (await storage.get(key)).bytes;
      const directory = decodeBlockFileDirectory(original, original.byteLength);
      for (const name of ["clusters"]) {
        const section = directory.section(name);
        if (section === undefined) continue;
        // Every block damaged: whichever the query reads is Corrupt.
        const damaged = original.slice();
        for (let b = 0; b < section.blockCount; b++) damaged[section.offset + section.blockStart(b) + 1]! ^= 0x20;
        await storage.put(key, damaged, { mode: { kind: "overwrite" } });
        const error = await makeEngine(storage)
          .query(NS, request)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        await storage.put(key, original, { mode: { kind: "overwrite" } });
        if (error === undefined) continue;
        failures++;
        expect(isCorrupt(error), `${name}: ${String(error)}`).toBe(true);
      }
    }
    // Both segments' clusters are read: the probed one's lists, the selective one's matching rows.
    expect(failures).toBe(2);
  }, 120_000);
});
