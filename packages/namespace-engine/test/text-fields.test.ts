/**
 * Full-text options of text fields (text-field-options.ts): stemming, stop
 * words, case sensitivity, ASCII folding, k1 and b, stored in the manifest,
 * applied to the log tail, compaction, BM25 (loaded and cold), token
 * filters and predicate mutations; a query over partitions indexed under
 * different options tokenizes per partition.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import { type DocumentInput, isInvalidArgument, type NamespaceEngine, type TextFieldOptions, UnsupportedLanguageError } from "@skerry/namespace-engine";
import { errorOf, makeEngine } from "./support/harness.ts";

const NS = "acme/fts/docs";

async function namespaceWith(body: TextFieldOptions | undefined, docs: Record<string, string>): Promise<{ storage: MemoryStorage; engine: NamespaceEngine }> {
  const storage = new MemoryStorage();
  const engine = makeEngine(storage, { compaction: { auto: false } });
  await engine.createNamespace(NS, body === undefined ? {} : { textFields: { body } });
  await engine.upsert(NS, Object.entries(docs).map(([id, text]): DocumentInput => ({ id, text: { body: text } })));
  return { storage, engine };
}

async function bm25(engine: NamespaceEngine, query: string, topK = 100): Promise<Map<string, number>> {
  const { rows } = await engine.query(NS, { rankBy: ["body", "BM25", query], topK });
  return new Map(rows.map((r) => [r.id, r.score as number]));
}

async function ids(engine: NamespaceEngine, request: Record<string, unknown>): Promise<string[]> {
  return (await engine.query(NS, { topK: 100, ...request })).rows.map((r) => r.id).sort();
}

/** BM25 by hand: `docs` are the token lists of every document with the field. */
function handBm25(docs: Record<string, string[]>, terms: string[], k1: number, b: number): Map<string, number> {
  const all = Object.entries(docs);
  const n = all.length;
  const avgdl = all.reduce((s, [, t]) => s + t.length, 0) / n;
  const out = new Map<string, number>();
  for (const term of terms) {
    const df = all.filter(([, t]) => t.includes(term)).length;
    if (df === 0) continue;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    for (const [id, tokens] of all) {
      const tf = tokens.filter((t) => t === term).length;
      if (tf === 0) continue;
      const score = (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * tokens.length) / avgdl));
      out.set(id, (out.get(id) ?? 0) + score);
    }
  }
  return out;
}

function expectScores(got: Map<string, number>, expected: Map<string, number>): void {
  expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [id, score] of expected) expect(got.get(id), id).toBeCloseTo(score, 12);
}

/** Documents without the body field, so the segment index is large enough for cold (ranged) reads. */
function filler(): DocumentInput[] {
  return Array.from({ length: 3000 }, (_, i) => ({ id: `f${String(i).padStart(5, "0")}`, text: { other: `w${i} x${i % 97} y${i % 13} z${(i * 7) % 1009}` } }));
}

const RUNNERS = { a: "Running fast", b: "a run in the park", c: "she runs daily", d: "walking slowly" };

describe("text field options", () => {
  it("stemming makes running match run when on, and not when off", async () => {
    const { engine: stemmed } = await namespaceWith({ stemming: true }, RUNNERS);
    expect([...(await bm25(stemmed, "run")).keys()].sort()).toEqual(["a", "b", "c"]);
    expect([...(await bm25(stemmed, "running")).keys()].sort()).toEqual(["a", "b", "c"]);
    expect(await ids(stemmed, { filters: ["body", "ContainsAllTokens", "runs"] })).toEqual(["a", "b", "c"]);
    const { engine: plain } = await namespaceWith({ stemming: false }, RUNNERS);
    expect([...(await bm25(plain, "run")).keys()]).toEqual(["b"]);
    expect(await ids(plain, { filters: ["body", "ContainsAllTokens", "runs"] })).toEqual(["c"]);
    // Stemmed under the field's language.
    const { engine: french } = await namespaceWith({ language: "french", stemming: true }, { x: "nous mangeons", y: "il mange" });
    expect(await ids(french, { filters: ["body", "ContainsAnyToken", "mangeons"] })).toEqual(["x"]);
    expect([...(await bm25(french, "mangeons")).keys()]).toEqual(["x"]);
  });

  it("stop words are dropped from documents and queries when removeStopwords is on", async () => {
    const docs = { a: "the cat and the hat", b: "a cat", c: "the end" };
    const { engine: removed } = await namespaceWith({ removeStopwords: true }, docs);
    expect((await bm25(removed, "the")).size).toBe(0);
    expect(await ids(removed, { filters: ["body", "ContainsAnyToken", "the and"] })).toEqual([]);
    // Document lengths no longer count them: a scores as a two-token document.
    expectScores(await bm25(removed, "the cat"), handBm25({ a: ["cat", "hat"], b: ["cat"], c: ["end"] }, ["cat"], 1.2, 0.75));
    const { engine: kept } = await namespaceWith({}, docs);
    expect([...(await bm25(kept, "the")).keys()].sort()).toEqual(["a", "c"]);
    // German stop words.
    const { engine: german } = await namespaceWith({ language: "german", removeStopwords: true }, { x: "der Hund und die Katze" });
    expect(await ids(german, { filters: ["body", "ContainsAnyToken", "und"] })).toEqual([]);
    expect(await ids(german, { filters: ["body", "ContainsAnyToken", "Katze"] })).toEqual(["x"]);
  });

  it("caseSensitive keeps case in tokens, queries and filters", async () => {
    const docs = { a: "Apple pie", b: "apple tree", c: "APPLE" };
    const { engine: sensitive } = await namespaceWith({ caseSensitive: true }, docs);
    expect([...(await bm25(sensitive, "Apple")).keys()]).toEqual(["a"]);
    expect(await ids(sensitive, { filters: ["body", "ContainsAnyToken", "apple"] })).toEqual(["b"]);
    const { engine: insensitive } = await namespaceWith({}, docs);
    expect([...(await bm25(insensitive, "Apple")).keys()].sort()).toEqual(["a", "b", "c"]);
  });

  it("asciiFolding makes café match cafe", async () => {
    const docs = { a: "un café noir", b: "the cafe", c: "Straße naïve" };
    const { engine: folded } = await namespaceWith({ asciiFolding: true }, docs);
    expect([...(await bm25(folded, "cafe")).keys()].sort()).toEqual(["a", "b"]);
    expect([...(await bm25(folded, "CAFÉ")).keys()].sort()).toEqual(["a", "b"]);
    expect(await ids(folded, { filters: ["body", "ContainsAllTokens", "strasse naive"] })).toEqual(["c"]);
    const { engine: plain } = await namespaceWith({}, docs);
    expect([...(await bm25(plain, "cafe")).keys()]).toEqual(["b"]);
  });

  it("k1 and b change scores as hand-computed BM25 says, at once for data already indexed, loaded and cold", async () => {
    const docs = { a: "fox fox fox dog", b: "fox", c: "dog cat bird fish fox", d: "cat" };
    const tokens = Object.fromEntries(Object.entries(docs).map(([id, t]) => [id, t.split(" ")]));
    const { storage, engine } = await namespaceWith({ k1: 2, b: 0.3 }, docs);
    expectScores(await bm25(engine, "fox dog"), handBm25(tokens, ["dog", "fox"], 2, 0.3));
    await engine.upsert(NS, filler());
    await engine.compact(NS, { force: true });
    expectScores(await bm25(engine, "fox dog"), handBm25(tokens, ["dog", "fox"], 2, 0.3));
    await engine.updateTextFields(NS, { body: { k1: 0.5, b: 1 } });
    const expected = handBm25(tokens, ["dog", "fox"], 0.5, 1);
    expectScores(await bm25(engine, "fox dog"), expected);
    const cold = makeEngine(storage);
    expectScores(await bm25(cold, "fox dog"), expected);
    expect(cold.queryStats().coldQueries).toBe(1);
    // Defaults: 1.2 and 0.75.
    await engine.updateTextFields(NS, {});
    expectScores(await bm25(engine, "fox dog"), handBm25(tokens, ["dog", "fox"], 1.2, 0.75));
  });

  it("options survive a reopen and are answered by getNamespace; bad ones are typed errors", async () => {
    const { storage, engine } = await namespaceWith({ stemming: true, removeStopwords: true, language: "english" }, RUNNERS);
    const reopened = makeEngine(storage);
    const info = await reopened.getNamespace(NS);
    expect(info.textFields).toEqual({
      body: { language: "english", stemming: true, removeStopwords: true, caseSensitive: false, asciiFolding: false, maxTokenLength: 64, k1: 1.2, b: 0.75 },
    });
    expect([...(await bm25(reopened, "runner running")).keys()].sort()).toEqual(["a", "b", "c"]);
    const klingon = await errorOf(engine.updateTextFields(NS, { body: { language: "klingon" } }));
    expect(klingon).toBeInstanceOf(UnsupportedLanguageError);
    expect(isInvalidArgument(klingon)).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.createNamespace("acme/fts/other", { textFields: { body: { tokenizer: "ngram" as "word" } } })))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.updateTextFields(NS, { body: { b: 1.5 } })))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.updateTextFields(NS, { body: { stemming: "yes" as unknown as boolean } })))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.updateTextFields(NS, { body: { maxTokenLength: 0 } })))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.updateTextFields(NS, { body: { colour: 1 } as TextFieldOptions })))).toBe(true);
    // Branches carry them.
    await engine.branchNamespace(NS, "acme/fts/branch");
    expect((await engine.getNamespace("acme/fts/branch")).textFields).toEqual(info.textFields);
  });

  it("a query over partitions indexed under different options tokenizes per partition, loaded and cold alike", async () => {
    const old = { s1: "running shoes", s2: "the run", s3: "runs and running", s4: "walking" };
    const { storage, engine } = await namespaceWith({}, old);
    await engine.upsert(NS, filler());
    await engine.compact(NS, { force: true }); // a segment indexed without stemming
    await engine.updateTextFields(NS, { body: { stemming: true } });
    await engine.upsert(NS, [
      { id: "t1", text: { body: "he runs" } },
      { id: "t2", text: { body: "running late" } },
      { id: "t3", text: { body: "nothing here" } },
    ]); // the tail, indexed with stemming
    // "running": "running" in the segment, "run" in the tail; one document frequency over both.
    const segment = { s1: ["running", "shoes"], s2: ["the", "run"], s3: ["runs", "and", "running"], s4: ["walking"] };
    const tail = { t1: ["he", "run"], t2: ["run", "late"], t3: ["noth", "here"] };
    const k1 = 1.2;
    const b = 0.75;
    const all = { ...segment, ...tail };
    const n = 7;
    const avgdl = Object.values(all).reduce((s, t) => s + t.length, 0) / n;
    const df = 2 + 2; // s1, s3 hold "running"; t1, t2 hold "run"
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    const score = (tokens: string[], term: string) => {
      const tf = tokens.filter((t) => t === term).length;
      return (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * tokens.length) / avgdl));
    };
    const expected = new Map([
      ["s1", score(segment.s1, "running")],
      ["s3", score(segment.s3, "running")],
      ["t1", score(tail.t1, "run")],
      ["t2", score(tail.t2, "run")],
    ]);
    expectScores(await bm25(engine, "running"), expected);
    const cold = makeEngine(storage);
    expectScores(await bm25(cold, "running"), expected);
    expect(cold.queryStats().coldQueries).toBe(1);
    // Token filters too: per partition.
    expect(await ids(engine, { filters: ["body", "ContainsAnyToken", "running"] })).toEqual(["s1", "s3", "t1", "t2"]);
    // Compaction re-indexes everything under the new options: now every form of "run" matches.
    await engine.compact(NS, { force: true });
    expect([...(await bm25(engine, "running")).keys()].sort()).toEqual(["s1", "s2", "s3", "t1", "t2"]);
    expect([...(await bm25(makeEngine(storage), "running")).keys()].sort()).toEqual(["s1", "s2", "s3", "t1", "t2"]);
  });

  it("a forced compaction re-indexes a segment indexed under other options (not for a k1/b change)", async () => {
    const { engine } = await namespaceWith({}, RUNNERS);
    expect((await engine.compact(NS, { force: true })).performed).toBe(true);
    expect((await engine.compact(NS, { force: true })).performed).toBe(false); // already compact
    await engine.updateTextFields(NS, { body: { stemming: true } });
    expect([...(await bm25(engine, "run")).keys()]).toEqual(["b"]); // the segment keeps its tokenization
    expect((await engine.compact(NS, { force: true })).performed).toBe(true);
    expect([...(await bm25(engine, "run")).keys()].sort()).toEqual(["a", "b", "c"]);
    expect((await engine.compact(NS, { force: true })).performed).toBe(false);
    await engine.updateTextFields(NS, { body: { stemming: true, k1: 2 } });
    expect((await engine.compact(NS, { force: true })).performed).toBe(false);
  });

  it("predicate mutations match token filters under the namespace's options", async () => {
    const { engine } = await namespaceWith({ stemming: true, asciiFolding: true }, { a: "Running café", b: "walking", c: "the runs" });
    const result = await engine.deleteByFilter(NS, ["body", "ContainsAnyToken", "run"]);
    expect(result.deleted).toBe(2);
    expect(await ids(engine, {})).toEqual(["b"]);
  });
});
