/**
 * Format-2 query indexes (one CRC over the whole body, no blocks) cannot be
 * read cold: a range of them cannot be verified. They are loaded whole, and
 * a forced compaction re-indexes a segment whose index is of that format
 * (the compactor reads the index's 10-byte header: stored-index-version.ts)
 * instead of calling it compact; the new index is today's block file, read
 * cold. A segment whose index is already a block file is left alone.
 */
import { readFileSync } from "node:fs";
import { MemoryStorage } from "@skerry/storage-providers";
import { seededRandom } from "@skerry/wal-format";
import { describe, expect, it } from "vitest";
import { type DocumentInput, isCorrupt } from "@skerry/namespace-engine";
import { storedIndexVersion } from "../src/compaction/stored-index-version.ts";
import { errorOf, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/format2/docs";
const v2Fixture = readFileSync(new URL("../../query/test/fixtures/query-index-v2.bin", import.meta.url));

const doc = (i: number): DocumentInput => ({ id: `f-${String(i).padStart(5, "0")}`, vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1], attributes: { n: i } });
const deps = (storage: MemoryStorage) => ({ storage, retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, random: seededRandom(3) });

describe("format-2 query indexes", () => {
  it("storedIndexVersion reads the version from the header (format 2 and today's), Corrupt for a bad or missing object", async () => {
    const storage = new MemoryStorage();
    await storage.put("a.qidx", v2Fixture);
    expect(await storedIndexVersion(deps(storage), "a.qidx")).toBe(2);
    const writer = makeEngine(storage);
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    await writer.upsert(NS, Array.from({ length: 300 }, (_, i) => doc(i)));
    await writer.compact(NS, { force: true });
    const [index] = (await indexObjects(storage)).filter((o) => o.key !== "a.qidx");
    expect(await storedIndexVersion(deps(storage), index!.key)).toBe(5);
    await storage.put("b.qidx", Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    const bad = await errorOf(storedIndexVersion(deps(storage), "b.qidx"));
    expect(isCorrupt(bad)).toBe(true);
    expect((bad as { key: string }).key).toBe("b.qidx");
    expect(isCorrupt(await errorOf(storedIndexVersion(deps(storage), "missing.qidx")))).toBe(true);
  });

  it("a forced compaction re-indexes a segment whose index is format 2, and leaves a block-file index alone", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage);
    await writer.createNamespace(NS, { distanceMetric: "cosine" });
    await writer.upsert(NS, Array.from({ length: 4200 }, (_, i) => doc(i)));
    expect((await writer.compact(NS, { force: true })).performed).toBe(true);
    // Already compact, its index a block file: nothing to do.
    expect((await writer.compact(NS, { force: true })).performed).toBe(false);
    // The index object as an older writer left it: a format-2 header (the rest of the object does not matter to
    // the compactor, which reads the header alone; a query would find the bytes damaged, so none runs here).
    const [old] = await indexObjects(storage);
    const bytes = (await storage.get(old!.key)).bytes.slice();
    bytes.set(v2Fixture.subarray(0, 10), 0);
    await storage.put(old!.key, bytes, { mode: { kind: "overwrite" } });
    expect(await storedIndexVersion(deps(storage), old!.key)).toBe(2);
    expect((await writer.compact(NS, { force: true })).performed).toBe(true);
    const fresh = (await indexObjects(storage)).filter((o) => o.key !== old!.key);
    expect(fresh.length).toBe(1);
    expect(await storedIndexVersion(deps(storage), fresh[0]!.key)).toBe(5);
    // The re-indexed segment is read cold, and answers like the loaded path.
    const request = { rankBy: ["vector", "ANN", [0.3, 0.2, 0.1, 1]], topK: 10, includeAttributes: true };
    const cold = makeEngine(storage);
    expect(await cold.query(NS, request)).toEqual(await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request));
    expect(cold.queryStats().coldQueries).toBe(1);
    expect((await writer.compact(NS, { force: true })).performed).toBe(false);
  });
});
