/**
 * Cold token filters over a segment stored without the token order (an
 * index written before format 5, or one re-serialized from it: `sequence`
 * null): a phrase filter (`ContainsTokenSequence`) is refused cold with the
 * loaded path's typed error, the other token filters are still answered
 * cold, exactly like the loaded index. The compactor here writes its
 * indexes without the token order (serializeQueryIndex of an index whose
 * text fields have none), as an older version stored them.
 */
import { describe, expect, it, vi } from "vitest";
import type { StorageProvider } from "@skerry/storage-providers";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, errorOf, makeEngine } from "./support/harness.ts";

vi.mock("../../query/src/index-codec.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../query/src/index-codec.ts")>();
  return {
    ...original,
    serializeQueryIndex: (index: Parameters<typeof original.serializeQueryIndex>[0]) => {
      for (const field of index.textFields.values()) (field as { sequence: Uint32Array | null }).sequence = null;
      return original.serializeQueryIndex(index);
    },
  };
});

const NS = "acme/coldtokens4/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima", "mike", "november"];

function doc(i: number, salt = ""): DocumentInput {
  const words: string[] = [];
  for (let j = 0; j < 3 + (i % 9); j++) words.push(WORDS[(i * (j + 3) + j * j + (i >> 3)) % WORDS.length]!);
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    text: { body: `${words.join(" ")}${salt}` },
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]! },
  };
}

async function expectCold(storage: StorageProvider, request: Record<string, unknown>): Promise<void> {
  const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
  const engine = makeEngine(storage);
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
}

describe("cold token filters over a segment without the token order", () => {
  it("refuse a phrase with the loaded path's error and serve the other token filters", async () => {
    const { storage, writer } = await compactedNamespace(NS, 3000, (i) => doc(i));
    await writer.upsert(NS, [doc(5001, " alpha bravo"), doc(12, " kilo lima")]);
    for (const request of [
      { filters: ["body", "ContainsAllTokens", "alpha bravo"], topK: 50 },
      { filters: ["body", "ContainsAnyToken", "kil", { lastAsPrefix: true }], topK: 50, includeAttributes: ["n"] },
      { rankBy: ["body", "BM25", "alpha"], filters: ["body", "ContainsAnyToken", "mike november"], topK: 20 },
      // A phrase whose tokens the segment does not all hold matches nothing there, loaded and cold alike.
      { filters: ["body", "ContainsTokenSequence", "alpha zulu"], topK: 5 },
    ]) {
      await expectCold(storage, request);
    }
    for (const request of [
      { filters: ["body", "ContainsTokenSequence", "alpha bravo"], topK: 50 },
      { rankBy: ["body", "BM25", "kilo"], filters: ["Or", [["n", "Lt", 5], ["body", "ContainsTokenSequence", ["Kilo", "lima"]]]], topK: 10 },
      { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["body", "ContainsTokenSequence", "kilo lima"], topK: 5 },
      { filters: ["body", "ContainsTokenSequence", "alpha bravo"], aggregateBy: { c: ["Count"] } },
    ]) {
      const loaded = await errorOf(makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request));
      expect(loaded).toMatchObject({ code: "InvalidQuery", reason: "unsupported" });
      const engine = makeEngine(storage);
      const cold = await errorOf(engine.query(NS, request));
      expect(String(cold), JSON.stringify(request)).toBe(String(loaded));
      expect(cold).toMatchObject({ code: "InvalidQuery", reason: "unsupported" });
      expect(engine.queryStats().segmentIndexes.loads, JSON.stringify(request)).toBe(0); // refused cold, not by loading
    }
  });
});
