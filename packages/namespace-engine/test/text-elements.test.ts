/**
 * Texts of several elements (the strings of an array joined by
 * TEXT_ELEMENT_SEPARATOR, `joinTextElements`): a phrase filter
 * (`ContainsTokenSequence`) matches within one element, never across two;
 * `ContainsAllTokens` / `ContainsAnyToken` and BM25 see every element's
 * tokens. Checked against the naive reference (namespace-query-reference.ts:
 * the phrase among each element's words) on the uncompacted log, on a
 * compacted segment loaded and read cold (ranged reads of the token
 * order), and on a segment with a tail of rewrites; the segment's index is
 * format 9. The per-document matcher (predicate deletes) agrees.
 */
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import { type DocumentInput, joinTextElements, type NamespaceEngine } from "@skerry/namespace-engine";
import { checkAgainstReference } from "./namespace-query-reference.ts";
import { compactedNamespace, indexObjects, makeEngine } from "./support/harness.ts";

const NS = "acme/textelements/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];

/** Document i: 1 to 4 elements of 0 to 4 words each (an element may be empty), or one plain text. */
function doc(i: number): DocumentInput {
  const elements: string[] = [];
  const count = 1 + (i % 4);
  for (let e = 0; e < count; e++) {
    const words: string[] = [];
    for (let j = 0; j < (i * 7 + e * 3) % 5; j++) words.push(WORDS[(i * (j + 5) + e * 3 + j * j) % WORDS.length]!);
    elements.push(words.join(" "));
  }
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), 1],
    text: { body: i % 5 === 0 ? elements.join(" ") : joinTextElements(elements) },
    attributes: { n: i },
  };
}

/** The hand-made cases: "bravo charlie" spans two elements of a, sits inside one element of b. */
const CASES: DocumentInput[] = [
  { id: "case-a", vector: [1, 0, 0], text: { body: joinTextElements(["alpha bravo", "charlie delta"]) } },
  { id: "case-b", vector: [0, 1, 0], text: { body: "alpha bravo charlie delta" } },
  { id: "case-c", vector: [0, 0, 1], text: { body: joinTextElements(["bravo", "", "charlie"]) } },
  { id: "case-d", vector: [1, 1, 0], text: { body: joinTextElements(["echo", "bravo charlie", "golf"]) } },
];

const PHRASES: unknown[] = ["bravo charlie", "alpha bravo", "charlie delta", "delta echo", "golf hotel alpha", "hotel alpha", ["Echo", "foxtrot"], "bravo"];

function requests(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const phrase of PHRASES) {
    out.push({ filters: ["body", "ContainsTokenSequence", phrase], topK: 10_000 });
    out.push({ filters: ["body", "ContainsTokenSequence", phrase], aggregateBy: { count: ["Count"] } });
  }
  out.push(
    { filters: ["Not", ["body", "ContainsTokenSequence", "bravo charlie"]], topK: 10_000 },
    { filters: ["body", "ContainsAllTokens", "bravo charlie"], topK: 10_000 },
    { filters: ["body", "ContainsAnyToken", "delta hotel"], topK: 10_000 },
    { rankBy: ["body", "BM25", "bravo charlie"], filters: ["body", "ContainsTokenSequence", "charlie delta"], topK: 50 },
  );
  return out;
}

async function ids(engine: NamespaceEngine, request: Record<string, unknown>): Promise<string[]> {
  return (await engine.query(NS, request)).rows.map((r) => r.id);
}

/** Every request like the reference; the hand-made cases as stated. */
async function expectAnswers(engine: NamespaceEngine, label: string): Promise<void> {
  for (const request of requests()) await checkAgainstReference(engine, NS, request, "COSINE", `${label} ${JSON.stringify(request)}`);
  const phrase = (p: string) => ids(engine, { filters: ["And", [["body", "ContainsTokenSequence", p], ["id", "Glob", "case-*"]]], topK: 10 });
  expect(await phrase("bravo charlie"), label).toEqual(["case-b", "case-d"]);
  expect(await phrase("alpha bravo"), label).toEqual(["case-a", "case-b"]);
  expect(await phrase("charlie delta"), label).toEqual(["case-a", "case-b"]);
  expect(await ids(engine, { filters: ["And", [["body", "ContainsAllTokens", "bravo charlie"], ["id", "Glob", "case-*"]]], topK: 10 }), label).toEqual([
    "case-a",
    "case-b",
    "case-c",
    "case-d",
  ]);
}

/** The query answered cold (ranged reads) exactly as the loaded index answers it. */
async function expectColdLikeLoaded(storage: StorageProvider): Promise<void> {
  for (const request of requests()) {
    const loaded = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
    const engine = makeEngine(storage);
    expect(await engine.query(NS, request), JSON.stringify(request)).toEqual(loaded);
    expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
  }
}

describe("phrases within one element of a text of several elements", () => {
  it("on the uncompacted log", async () => {
    const storage = new MemoryStorage();
    const engine = makeEngine(storage, { compaction: { auto: false } });
    await engine.createNamespace(NS, { distanceMetric: "cosine" });
    await engine.upsert(NS, Array.from({ length: 300 }, (_, i) => doc(i)));
    await engine.upsert(NS, CASES);
    expect(await indexObjects(storage)).toEqual([]);
    await expectAnswers(engine, "log");
  });

  it("on a compacted segment, loaded and cold, and with a tail of rewrites", async () => {
    const { storage, writer } = await compactedNamespace(NS, 2500, (i) => (i < CASES.length ? CASES[i]! : doc(i)));
    const [index] = await indexObjects(storage);
    const head = (await storage.get(index!.key, { range: { offset: 0, length: 10 } })).bytes;
    // Format 9: the token order carries element boundaries.
    expect(new DataView(head.buffer, head.byteOffset).getUint16(8, true)).toBe(9);
    await expectAnswers(makeEngine(storage, { queryCache: { coldReads: false } }), "loaded");
    await expectAnswers(makeEngine(storage), "cold");
    await expectColdLikeLoaded(storage);
    // A tail: case-b becomes two elements, case-c one text, a new document spans elements.
    await writer.upsert(NS, [
      { id: "case-b", vector: [0, 1, 0], text: { body: joinTextElements(["alpha bravo charlie", "delta"]) } },
      { id: "case-c", vector: [0, 0, 1], text: { body: "bravo charlie" } },
      { id: "case-e", vector: [1, 0, 1], text: { body: joinTextElements(["golf hotel", "alpha"]) } },
    ]);
    await writer.delete(NS, ["doc-00007", "doc-00010"]);
    for (const engine of [makeEngine(storage, { queryCache: { coldReads: false } }), makeEngine(storage)]) {
      for (const request of requests()) await checkAgainstReference(engine, NS, request, "COSINE", `tail ${JSON.stringify(request)}`);
      const phrase = (p: string) => ids(engine, { filters: ["And", [["body", "ContainsTokenSequence", p], ["id", "Glob", "case-*"]]], topK: 10 });
      expect(await phrase("bravo charlie")).toEqual(["case-b", "case-c", "case-d"]);
      expect(await phrase("charlie delta")).toEqual(["case-a"]);
      expect(await phrase("hotel alpha")).toEqual([]);
    }
  });

  it("in the per-document matcher: a delete by a phrase spanning two elements deletes only where it is within one", async () => {
    const engine = makeEngine(new MemoryStorage(), { compaction: { auto: false } });
    await engine.createNamespace(NS, { distanceMetric: "cosine" });
    await engine.upsert(NS, CASES);
    await engine.deleteByFilter(NS, ["body", "ContainsTokenSequence", "bravo charlie"]);
    expect(await ids(engine, { topK: 10 })).toEqual(["case-a", "case-c"]);
  });

  it("with exact 64-bit integers in the same index (format 9 holds format 8's exact columns), cold like loaded", async () => {
    const BIG = 2n ** 63n;
    const withBig = (i: number): DocumentInput => {
      const base = i < CASES.length ? CASES[i]! : doc(i);
      return { ...base, attributes: { n: i % 3 === 0 ? BIG + BigInt(i) : i } };
    };
    const { storage } = await compactedNamespace(NS, 600, withBig);
    const [index] = await indexObjects(storage);
    const head = (await storage.get(index!.key, { range: { offset: 0, length: 10 } })).bytes;
    expect(new DataView(head.buffer, head.byteOffset).getUint16(8, true)).toBe(9);
    const asked: Record<string, unknown>[] = [
      { filters: ["And", [["body", "ContainsTokenSequence", "bravo charlie"], ["n", "Gte", BIG]]], topK: 10_000 },
      { filters: ["n", "Eq", BIG + 3n], topK: 10 },
      { rankBy: ["n", "desc"], filters: ["body", "ContainsAnyToken", "alpha"], topK: 5 },
      { filters: ["body", "ContainsTokenSequence", "alpha bravo"], aggregateBy: { total: ["Sum", "n"] } },
    ];
    for (const request of asked) {
      const loaded = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
      const engine = makeEngine(storage);
      expect(await engine.query(NS, request), String(request.filters)).toEqual(loaded);
      expect(engine.queryStats().coldQueries).toBe(1);
    }
    const engine = makeEngine(storage);
    const exact = await engine.query(NS, { filters: ["n", "Eq", BIG + 3n], topK: 10 });
    expect(exact.rows.map((r) => r.id)).toEqual(["case-d"]);
    const top = await engine.query(NS, { rankBy: ["n", "desc"], topK: 1, includeAttributes: ["n"] });
    expect(top.rows[0]!.attributes).toEqual({ n: BIG + 597n });
    // Every phrase row with n >= 2^63 is a multiple of 3 whose phrase lies inside one element.
    const both = await engine.query(NS, { filters: ["And", [["body", "ContainsTokenSequence", "bravo charlie"], ["n", "Gte", BIG]]], topK: 10_000 });
    // case-a (n = 2^63) spans "bravo | charlie" across two elements; case-d (n = 2^63+3) holds it in one.
    expect(both.rows.map((r) => r.id)).toContain("case-d");
    expect(both.rows.map((r) => r.id)).not.toContain("case-a");
  });
});
