/**
 * Pre-tokenized text fields (`tokenizer: "pre_tokenized_array"`,
 * text-field-options.ts): the value is its tokens joined by U+001F, used as
 * they are (case, punctuation and spaces kept, no stop words or stemming);
 * BM25 and token filters (phrases too) split their operands alike, over the
 * log tail, a compacted segment loaded and cold (the cold answers equal the
 * loaded ones); conflicting options are typed errors; switching a field
 * between tokenizers re-indexes it on a forced compaction.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import { type DocumentInput, isInvalidArgument, joinTokens, type NamespaceEngine, PRE_TOKENIZED_SEPARATOR } from "@skerry/namespace-engine";
import { errorOf, makeEngine } from "./support/harness.ts";

const NS = "acme/pretok/docs";

const DOCS: Record<string, string[]> = {
  a: ["New York", "pizza", "The"],
  b: ["new york", "bagel", "bagel"],
  c: ["the", "New York", "pizza", "café"],
  d: ["San Francisco", "sourdough", "pizza", ""],
  e: [],
};

async function bm25(engine: NamespaceEngine, tokens: string[]): Promise<Map<string, number>> {
  const { rows } = await engine.query(NS, { rankBy: ["tags", "BM25", joinTokens(tokens)], topK: 100 });
  return new Map(rows.map((r) => [r.id, r.score as number]));
}

async function ids(engine: NamespaceEngine, filters: unknown): Promise<string[]> {
  return (await engine.query(NS, { filters, topK: 100 })).rows.map((r) => r.id).sort();
}

/** BM25 by hand over the documents' tokens (empty ones dropped). */
function handBm25(terms: string[]): Map<string, number> {
  const all = Object.entries(DOCS).map(([id, t]) => [id, t.filter((x) => x.length > 0)] as const);
  const n = all.length;
  const avgdl = all.reduce((s, [, t]) => s + t.length, 0) / n;
  const out = new Map<string, number>();
  for (const term of new Set(terms)) {
    const df = all.filter(([, t]) => t.includes(term)).length;
    if (df === 0) continue;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    for (const [id, tokens] of all) {
      const tf = tokens.filter((t) => t === term).length;
      if (tf === 0) continue;
      out.set(id, (out.get(id) ?? 0) + (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * tokens.length) / avgdl)));
    }
  }
  return out;
}

function expectScores(got: Map<string, number>, expected: Map<string, number>): void {
  expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [id, score] of expected) expect(got.get(id), id).toBeCloseTo(score, 12);
}

const FILTERS: [unknown, string[]][] = [
  [["tags", "ContainsAnyToken", ["New York"]], ["a", "c"]],
  [["tags", "ContainsAnyToken", ["new york", "sourdough"]], ["b", "d"]],
  [["tags", "ContainsAllTokens", ["New York", "pizza"]], ["a", "c"]],
  [["tags", "ContainsAllTokens", joinTokens(["pizza", "The"])], ["a"]],
  [["tags", "ContainsAnyToken", ["New"]], []],
  [["tags", "ContainsAnyToken", ["cafe"]], []],
  [["tags", "ContainsAnyToken", ["café"]], ["c"]],
  [["tags", "ContainsTokenSequence", ["New York", "pizza"]], ["a", "c"]],
  [["tags", "ContainsTokenSequence", ["pizza", "New York"]], []],
  [["tags", "ContainsTokenSequence", ["bagel", "bagel"]], ["b"]],
  [["tags", "ContainsAnyToken", ["San"], { lastAsPrefix: true }], ["d"]],
  [["tags", "ContainsAllTokens", ["pizza", "New"], { lastAsPrefix: true }], ["a", "c"]],
  [["tags", "ContainsAnyToken", [""]], []],
];

async function expectAnswers(engine: NamespaceEngine): Promise<void> {
  expectScores(await bm25(engine, ["New York", "bagel"]), handBm25(["New York", "bagel"]));
  expectScores(await bm25(engine, ["pizza", "the"]), handBm25(["pizza", "the"]));
  expect((await bm25(engine, ["york"])).size).toBe(0);
  for (const [filter, expected] of FILTERS) expect(await ids(engine, filter), JSON.stringify(filter)).toEqual(expected);
}

describe("pre-tokenized text fields", () => {
  it("index the tokens as they are: BM25 and token filters over the tail, a loaded segment and cold reads agree", async () => {
    const storage = new MemoryStorage();
    const engine = makeEngine(storage, { compaction: { auto: false } });
    await engine.createNamespace(NS, { textFields: { tags: { tokenizer: "pre_tokenized_array" } } });
    expect((await engine.getNamespace(NS)).textFields["tags"]).toEqual({
      language: "english",
      stemming: false,
      removeStopwords: false,
      caseSensitive: true,
      asciiFolding: false,
      maxTokenLength: 64,
      k1: 1.2,
      b: 0.75,
      tokenizer: "pre_tokenized_array",
    });
    await engine.upsert(NS, Object.entries(DOCS).map(([id, t]): DocumentInput => ({ id, text: { tags: joinTokens(t) } })));
    await expectAnswers(engine); // the log tail
    // Enough other documents for the segment's text index to be read by ranges when cold.
    await engine.upsert(NS, Array.from({ length: 3000 }, (_, i) => ({ id: `f${String(i).padStart(5, "0")}`, text: { other: `w${i} x${i % 97}` } })));
    await engine.compact(NS, { force: true });
    await expectAnswers(engine); // loaded segment
    const warm = makeEngine(storage, { queryCache: { coldReads: false } });
    const requests = [
      { rankBy: ["tags", "BM25", joinTokens(["New York", "bagel"])], topK: 10 },
      ...FILTERS.map(([filters]) => ({ filters, topK: 100 })),
      { rankBy: ["tags", "BM25", "pizza"], filters: ["tags", "ContainsTokenSequence", ["New York", "pizza"]], topK: 10 },
    ];
    for (const request of requests) {
      const cold = makeEngine(storage);
      expect(await cold.query(NS, request), JSON.stringify(request)).toEqual(await warm.query(NS, request));
      expect(cold.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
    }
    await expectAnswers(makeEngine(storage));
  });

  it("drop tokens longer than maxTokenLength; a word field's value is one token after switching, re-indexed on a forced compaction", async () => {
    const storage = new MemoryStorage();
    const engine = makeEngine(storage, { compaction: { auto: false } });
    await engine.createNamespace(NS, { textFields: { tags: { tokenizer: "pre_tokenized_array", maxTokenLength: 5 } } });
    await engine.upsert(NS, [
      { id: "x", text: { tags: joinTokens(["short", "toolong"]) } },
      { id: "y", text: { tags: "plain words" } },
    ]);
    expect(await ids(engine, ["tags", "ContainsAnyToken", ["toolong"]])).toEqual([]);
    expect(await ids(engine, ["tags", "ContainsAnyToken", ["short"]])).toEqual(["x"]);
    await engine.updateTextFields(NS, { tags: { tokenizer: "pre_tokenized_array" } });
    expect(await ids(engine, ["tags", "ContainsAnyToken", ["plain words"]])).toEqual(["y"]);
    await engine.compact(NS, { force: true });
    await engine.updateTextFields(NS, { tags: {} });
    expect((await engine.compact(NS, { force: true })).performed).toBe(true);
    expect(await ids(engine, ["tags", "ContainsAllTokens", "plain words"])).toEqual(["y"]);
    expect(await ids(engine, ["tags", "ContainsAnyToken", "toolong"])).toEqual(["x"]);
  });

  it("a query over a segment indexed with words and a tail pre-tokenized looks each partition's own tokens up, loaded and cold", async () => {
    const storage = new MemoryStorage();
    const engine = makeEngine(storage, { compaction: { auto: false } });
    await engine.createNamespace(NS, {});
    await engine.upsert(NS, [
      { id: "w1", text: { tags: "new york pizza" } },
      { id: "w2", text: { tags: "old york" } },
      ...Array.from({ length: 3000 }, (_, i) => ({ id: `f${String(i).padStart(5, "0")}`, text: { other: `w${i} x${i % 97}` } })),
    ]);
    await engine.compact(NS, { force: true }); // the segment: word tokens
    await engine.updateTextFields(NS, { tags: { tokenizer: "pre_tokenized_array" } });
    await engine.upsert(NS, [
      { id: "p1", text: { tags: joinTokens(["new york", "pizza"]) } },
      { id: "p2", text: { tags: joinTokens(["york"]) } },
    ]); // the tail: pre-tokenized
    const request = { rankBy: ["tags", "BM25", "new york"], topK: 10 };
    const loaded = await engine.query(NS, request);
    // Words "new", "york" in the segment; the one token "new york" in the tail.
    expect(loaded.rows.map((r) => r.id).sort()).toEqual(["p1", "w1", "w2"]);
    const prefixed = await engine.query(NS, { rankBy: ["tags", "BM25", "piz", { lastAsPrefix: true }], topK: 10 });
    expect(prefixed.rows.map((r) => r.id).sort()).toEqual(["p1", "w1"]); // a prefix of "pizza" in both partitions
    const cold = makeEngine(storage);
    expect(await cold.query(NS, request)).toEqual(loaded);
    expect(cold.queryStats().coldQueries).toBe(1);
  });

  it("refuse options that would change the tokens, and joinTokens a token holding the separator", async () => {
    const engine = makeEngine(new MemoryStorage());
    for (const bad of [{ stemming: true }, { removeStopwords: true }, { asciiFolding: true }, { caseSensitive: false }]) {
      const error = await errorOf(engine.createNamespace(NS, { textFields: { tags: { tokenizer: "pre_tokenized_array", ...bad } } }));
      expect(isInvalidArgument(error), JSON.stringify(bad)).toBe(true);
      expect((error as Error).message).toContain(Object.keys(bad)[0]);
    }
    expect(() => joinTokens(["a", `b${PRE_TOKENIZED_SEPARATOR}c`])).toThrow(RangeError);
  });
});
