/**
 * The dead slots of a version's segments (the tail's ids looked up in every segment, newer segments'
 * deletes, tombstones) are found once per version for its cold queries, not once per query: a cold
 * BM25 or filter query over segments and a tail makes them the first time, the next queries of that
 * version reuse them, a new version makes its own, and every answer equals the loaded path's.
 */
import type { StorageProvider } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, makeEngine } from "./support/harness.ts";

const NS = "acme/dead-per-version/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];

function doc(i: number, salt = 0): DocumentInput {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    text: { body: `${WORDS[(i + salt) % WORDS.length]} ${WORDS[(i * 3 + salt) % WORDS.length]} ${WORDS[(i >> 2) % WORDS.length]}` },
    attributes: { n: i, salt },
  };
}

const REQUESTS: Record<string, unknown>[] = [
  { rankBy: ["body", "BM25", "alpha delta"], topK: 20, includeAttributes: ["salt"] },
  { filters: ["n", "Lt", 300], topK: 1000, includeAttributes: ["salt"] },
  { rankBy: ["body", "BM25", "echo"], filters: ["salt", "Eq", 1], topK: 50 },
];

async function expectLoadedAnswers(storage: StorageProvider, engine: ReturnType<typeof makeEngine>, label: string): Promise<void> {
  const loaded = makeEngine(storage, { queryCache: { coldReads: false } });
  for (const request of REQUESTS) expect(await engine.query(NS, request), `${label}: ${JSON.stringify(request)}`).toEqual(await loaded.query(NS, request));
}

describe("cold queries over segments and a tail", () => {
  it("find the segments' dead slots once per version, not once per query", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2000, (i) => doc(i));
    await writer.upsert(NS, [...Array.from({ length: 60 }, (_, i) => doc(i * 7, 1)), doc(5000, 1)]); // the tail shadows segment rows
    await writer.delete(NS, ["doc-00003", "doc-00010"]);

    // No segment index is ever loaded (a budget of 0 bytes): every query here is answered cold.
    const engine = makeEngine(storage, { compaction: { auto: false }, queryCache: { segmentIndexBytes: 0 } });
    await expectLoadedAnswers(storage, engine, "first queries");
    const first = engine.queryStats();
    expect(first.coldQueries).toBeGreaterThanOrEqual(REQUESTS.length);
    expect(first.coldDeadSlotSets).toBeGreaterThan(0);
    // The same version again: the dead slots are reused.
    await expectLoadedAnswers(storage, engine, "the same version");
    expect(engine.queryStats().coldQueries).toBeGreaterThan(first.coldQueries);
    expect(engine.queryStats().coldDeadSlotSets).toBe(first.coldDeadSlotSets);

    // A write makes a new version: its queries find its own dead slots (the new row shadows a segment row).
    await engine.upsert(NS, [doc(1, 2), doc(6001, 2)]);
    await expectLoadedAnswers(storage, engine, "after a write");
    const after = engine.queryStats().coldDeadSlotSets;
    expect(after).toBeGreaterThan(first.coldDeadSlotSets);
    await expectLoadedAnswers(storage, engine, "after a write, again");
    expect(engine.queryStats().coldDeadSlotSets).toBe(after);
  });
});
