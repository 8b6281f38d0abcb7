/**
 * Cold Fuzzy filters (`[field, "Fuzzy", text, {maxEditDistance, caseSensitive}]`):
 * on a compacted namespace whose segment indexes are not loaded, alone and
 * inside And / Or / Not, as a listing, under BM25, an attribute order,
 * dense ANN and kNN rankings and in aggregations, they are answered by
 * ranged reads of the text index (the vocabulary in blocks, the matching
 * terms' postings) with exactly the rows the loaded indexes give: over a
 * vocabulary of several blocks, tombstones, a tail of rewrites and
 * deletes, several segments, a case-sensitive field, a pre-tokenized
 * field; a damaged block is Corrupt naming the index.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { afterAll, describe, expect, it } from "vitest";
import { type DocumentInput, joinTokens, type NamespaceEngine } from "@skerry/namespace-engine";
import { corruptSectionFailures, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/coldfuzzy/docs";
const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo"];
const NAMES = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"];

/** One of 4,096 eight-letter words (a vocabulary of several blocks, with many neighbours within one edit). */
function word(j: number): string {
  return SYLLABLES[j % 8]! + SYLLABLES[(j >> 3) % 8]! + SYLLABLES[(j >> 6) % 8]! + SYLLABLES[(j >> 9) % 8]!;
}

function doc(i: number, salt = ""): DocumentInput {
  const words = [word((i * 7) % 4096), word((i * 13 + 5) % 4096), word((i * 31 + 11) % 4096), `w${i % 97}`];
  if (i % 9 === 0) words.push("Mississippi");
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    text: {
      ...(i % 11 === 0 ? {} : { body: `${words.join(" ")}${salt}` }),
      title: `${NAMES[i % 8]} ${NAMES[(i >> 3) % 8]!.toLowerCase()} ${i % 5 === 0 ? "ÉCOLE" : "école"}`,
      tags: joinTokens([`Red-${i % 6}`, `blue wine ${i % 4}`, i % 3 === 0 ? "Rosé" : "rose"]),
    },
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]! },
  };
}

const requests: Record<string, unknown>[] = [
  { filters: ["body", "Fuzzy", "kalomine"], topK: 100, includeAttributes: ["n"] },
  { filters: ["body", "Fuzzy", "kalominx"], topK: 3000 },
  { filters: ["body", "Fuzzy", "rusativoka", { maxEditDistance: [{ distance: 2, minQueryChars: 9 }] }], topK: 3000 },
  { filters: ["body", "Fuzzy", "kavosamu sasakasa"], topK: 3000 },
  { filters: ["body", "Fuzzy", "MISSISIPPI"], topK: 3000 },
  { filters: ["body", "Fuzzy", "MISSISIPPI", { caseSensitive: false }], topK: 3000 },
  { filters: ["body", "Fuzzy", "w12 w12", { maxEditDistance: [{ distance: 0, minQueryChars: 3 }, { distance: 1, minQueryChars: 6 }] }], topK: 40 },
  { filters: ["body", "Fuzzy", "kx"], topK: 10 },
  { filters: ["body", "Fuzzy", "zzzzzzzz"], topK: 10 },
  { filters: ["missing", "Fuzzy", "kalomine"], topK: 5 },
  // A case-sensitive field: the filter's own caseSensitive folds both sides.
  { filters: ["title", "Fuzzy", "Alphaa"], topK: 3000 },
  { filters: ["title", "Fuzzy", "ALPHAA"], topK: 3000 },
  { filters: ["title", "Fuzzy", "ALPHA ÉCOLES", { caseSensitive: false }], topK: 3000 },
  { filters: ["title", "Fuzzy", "ALPHAS ECOLES", { maxEditDistance: [{ distance: 1, minQueryChars: 6 }] }], topK: 3000 },
  { filters: ["title", "Fuzzy", "ÉCOLEE"], topK: 3000 },
  // A pre-tokenized field: the operand's tokens as given.
  { filters: ["tags", "Fuzzy", joinTokens(["blue wine 3", "Red-4"])], topK: 3000 },
  { filters: ["tags", "Fuzzy", joinTokens(["rosé"]), { caseSensitive: false }], topK: 3000 },
  // Inside And / Or / Not.
  { filters: ["And", [["body", "Fuzzy", "kalominx"], ["color", "Eq", "red"]]], topK: 30 },
  { filters: ["Or", [["body", "Fuzzy", "tivomiko"], ["n", "Lt", 20]]], topK: 60 },
  { filters: ["Not", ["body", "Fuzzy", "kalominx"]], topK: 40 },
  { filters: ["And", [["Not", ["title", "Fuzzy", "ALPHAA", { caseSensitive: false }]], ["Or", [["body", "Fuzzy", "neruvoka"], ["body", "ContainsAnyToken", "w3"]]]]], topK: 80 },
  // Under rankings.
  { rankBy: ["body", "BM25", "kalomine w12"], filters: ["body", "Fuzzy", "kalominx"], topK: 50 },
  { rankBy: ["Sum", [["body", "BM25", "tivomika"], ["Product", 2, ["body", "BM25", "w3"]]]], filters: ["Or", [["body", "Fuzzy", "tivomiko"], ["n", "Gt", 2900]]], topK: 20 },
  { rankBy: ["n", "desc"], filters: ["body", "Fuzzy", "rusativoka", { maxEditDistance: [{ distance: 2, minQueryChars: 9 }] }], topK: 25, includeAttributes: ["n", "color"] },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["And", [["title", "Fuzzy", "Charlee"], ["n", "Lt", 2000]]], topK: 10, includeAttributes: true },
  { rankBy: ["vector", "kNN", [0.1, 0.9, 0.1, 1]], filters: ["body", "Fuzzy", "MISSISIPPI", { caseSensitive: false }], topK: 10 },
  { rankBy: ["RRF", [["body", "BM25", "kalomine w12"], ["n", "asc"]]], filters: ["Or", [["body", "Fuzzy", "kalominx"], ["title", "Fuzzy", "ÉCOLEE"]]], topK: 15 },
  { rankBy: ["body", "BM25", "tivomika w3"], filters: ["Not", ["body", "Fuzzy", "kalominx"]], limitPer: { attributes: ["color"], limit: 2 }, topK: 6 },
  // Aggregations.
  { filters: ["body", "Fuzzy", "kalominx"], aggregateBy: { c: ["Count"], s: ["Sum", "n"] } },
  { filters: ["title", "Fuzzy", "ecole", { caseSensitive: false }], aggregateBy: { c: ["Count"] }, groupBy: ["color"] },
];

/** Beside an ANN ranking (the first segment layout below: a filter selective in few clusters). */
const annRequest = { rankBy: ["vector", "ANN", [0.3, -0.2, 0.1, 1]], filters: ["body", "Fuzzy", "kalominx"], topK: 8 };

async function expectCold(storage: StorageProvider, request: Record<string, unknown>): Promise<void> {
  const warm = makeEngine(storage, { queryCache: { coldReads: false } });
  const expected = await warm.query(NS, request);
  const engine = makeEngine(storage);
  expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(expected);
  expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
}

async function fuzzyNamespace(storage: StorageProvider, docs: number): Promise<NamespaceEngine> {
  const writer = makeEngine(storage);
  await writer.createNamespace(NS, { distanceMetric: "cosine", textFields: { title: { caseSensitive: true }, tags: { tokenizer: "pre_tokenized_array" } } });
  for (let at = 0; at < docs; at += 1000) await writer.upsert(NS, Array.from({ length: Math.min(1000, docs - at) }, (_, i) => doc(at + i)));
  await writer.compact(NS, { force: true });
  return writer;
}

describe("cold Fuzzy filters", () => {
  it("answer from ranged reads exactly like the loaded index, over tombstones and a tail of rewrites and deletes", async () => {
    const storage = new MemoryStorage();
    const writer = await fuzzyNamespace(storage, 3000);
    await writer.deleteByFilter(NS, ["n", "Lt", 40]);
    await writer.upsert(NS, [doc(5001, " kalominx"), doc(100, " tivomiko"), doc(5002, " Mississipi"), doc(7, " kalomine")]);
    await writer.delete(NS, ["doc-00101", "doc-00105", "doc-00110", "doc-00014"]);
    for (const request of [...requests, annRequest]) await expectCold(storage, request);
    // The answers hold rows (the filters match something).
    for (const i of [0, 1, 2, 3, 4, 5, 6, 10, 12, 14, 15, 16, 17, 21, 23, 24, 25]) {
      expect((await makeEngine(storage).query(NS, requests[i]!)).rows.length, JSON.stringify(requests[i])).toBeGreaterThan(0);
    }
    // The vocabulary was read in part, the index far from whole.
    const [index] = await indexObjects(storage);
    const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
    await engine.query(NS, requests[0]!);
    expect(engine.queryStats().coldQueries).toBe(1);
    expect(engine.queryStats().coldBytes).toBeLessThan(index!.size * 0.5);
    expect(engine.queryStats().segmentIndexes.loads).toBe(0);
  });

  it("over several segments", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage, { compaction: { auto: false, policy: "tiered", maxLogBatches: 3, mergeFactor: 100 } });
    await writer.createNamespace(NS, { distanceMetric: "cosine", textFields: { title: { caseSensitive: true }, tags: { tokenizer: "pre_tokenized_array" } } });
    for (let b = 0; b < 3; b++) await writer.upsert(NS, Array.from({ length: 700 }, (_, i) => doc(b * 700 + i)));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, Array.from({ length: 500 }, (_, i) => doc(10_000 + i, " kalominx")));
    await writer.upsert(NS, Array.from({ length: 200 }, (_, i) => doc(i * 8, " tivomiko")));
    await writer.delete(NS, Array.from({ length: 100 }, (_, i) => `doc-${String(i * 8 + 3).padStart(5, "0")}`));
    expect((await writer.compact(NS)).performed).toBe(true);
    await writer.upsert(NS, [doc(20_000, " Mississipi"), doc(16, " neruvoka")]);
    await writer.delete(NS, ["doc-00017", "doc-10001"]);
    for (const request of requests) await expectCold(storage, request);
  });

  it("find a damaged block of the vocabulary or the postings: Corrupt naming the index", async () => {
    const storage = new MemoryStorage();
    await fuzzyNamespace(storage, 3000);
    const [index] = await indexObjects(storage);
    const request = { filters: ["Or", [["body", "Fuzzy", "MISSISIPPI", { caseSensitive: false }], ["body", "Fuzzy", "kalominx"]]], topK: 3000 };
    expect(await corruptSectionFailures(storage, index!.key, () => makeEngine(storage).query(NS, request))).toBeGreaterThanOrEqual(2);
  });
});

const s3 = s3TestTarget("namespace-engine-cold-fuzzy");
afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("cold Fuzzy filters on the real S3 server", () => {
  it("answer exactly like the loaded index from ranged reads", async () => {
    const storage = s3.open();
    const writer = await fuzzyNamespace(storage, 2000);
    await writer.upsert(NS, [doc(5001, " kalominx"), doc(100, " Mississipi")]);
    await writer.delete(NS, ["doc-00101"]);
    for (const request of [requests[1]!, requests[5]!, requests[13]!, requests[18]!, requests[22]!, requests[26]!, requests[28]!]) await expectCold(storage, request);
  });
});
