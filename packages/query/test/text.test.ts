import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { foldToAscii, resolveTokenizerConfig, segmenterWords, Tokenizer } from "../src/tokenizer.ts";
import { queryTerms, termTokens } from "../src/query-terms.ts";
import { expandedQueryTerms } from "../src/bm25-stats.ts";
import { StringTable } from "../src/string-table.ts";
import { deserializeQueryIndex, serializeQueryIndex } from "../src/index-codec.ts";
import { liveDocuments, randomDocuments, referenceBm25, seededRandom } from "./support/reference.ts";

describe("BM25 full-text ranking", () => {
  it("scores equal a hand-computed example (k1 = 1.2, b = 0.75)", async () => {
    const docs: QueryDocument[] = [
      { id: "a", text: { body: "The quick brown fox" } },
      { id: "b", text: { body: "quick QUICK fox" } },
      { id: "c", text: { body: "lazy dog" } },
    ];
    // N = 3, avgdl = 3; "quick" and "fox" each have df = 2, idf = ln(1 + 1.5 / 2.5) = ln 1.6.
    // a: dl 4, tf 1 + 1 -> 2 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 4 / 3)) = 1.76 idf
    // b: dl 3, quick tf 2 -> 4.4 / 3.2 = 1.375, fox tf 1 -> 2.2 / 2.2 = 1; 2.375 idf
    const idf = Math.log(1.6);
    const index = buildQueryIndex(docs, { metric: "COSINE" });
    const result = await executeQuery([index], parseQueryRequest({ rankBy: ["body", "BM25", "quick fox"] }));
    expect(result.rows.map((r) => r.id)).toEqual(["b", "a"]);
    expect(result.rows[0]!.score).toBeCloseTo(2.375 * idf, 12);
    expect(result.rows[1]!.score).toBeCloseTo(1.76 * idf, 12);
  });

  it("corpus statistics are summed over the live documents of every partition", async () => {
    const random = seededRandom(21);
    const raw = [randomDocuments(random, 400, { dimension: 2, ids: 500 }), randomDocuments(random, 150, { dimension: 2, ids: 500 }), randomDocuments(random, 20, { dimension: 2, ids: 500 })];
    const excluded = [new Set([1, 2, 3, 50]), new Set([7]), new Set<number>()];
    const indexes = raw.map((d) => buildQueryIndex(d, { metric: "DOT" }));
    const live = liveDocuments(raw, excluded);
    for (const query of ["alpha", "beta gamma", "omega tau phi sigma", "nothing here", "ALPHA alpha"]) {
      const result = await executeQuery(indexes, parseQueryRequest({ rankBy: ["body", "BM25", query], topK: 1000 }), { exclude: (_, p) => excluded[p] });
      const expected = [...referenceBm25(live, "body", query).entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      expect(result.rows.map((r) => r.id)).toEqual(expected.map((e) => e[0]));
      result.rows.forEach((row, i) => {
        expect(row.score).toBeCloseTo(expected[i]![1], 9);
      });
    }
  });

  it("BM25 honours filters without changing the statistics", async () => {
    const random = seededRandom(22);
    const docs = randomDocuments(random, 300, { dimension: 2 });
    const index = buildQueryIndex(docs, { metric: "DOT" });
    const all = await executeQuery([index], parseQueryRequest({ rankBy: ["body", "BM25", "beta"], topK: 1000 }));
    const filtered = await executeQuery([index], parseQueryRequest({ rankBy: ["body", "BM25", "beta"], topK: 1000, filters: ["color", "Eq", "red"] }));
    const red = new Set(docs.filter((d) => d.attributes?.["color"] === "red").map((d) => d.id));
    expect(filtered.rows).toEqual(all.rows.filter((r) => red.has(r.id)));
  });

  it("the ASCII fast path splits words exactly like Intl.Segmenter (UAX #29)", () => {
    const tokenizer = new Tokenizer(resolveTokenizerConfig({ lowercase: false }));
    const random = seededRandom(23);
    const alphabet = "aZ19_ .,;:'\"-$@\n\t!?()/x";
    for (let i = 0; i < 5000; i++) {
      let s = "";
      const len = 1 + Math.floor(random() * 14);
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(random() * alphabet.length)];
      expect(tokenizer.tokenize(s), JSON.stringify(s)).toEqual(segmenterWords(s));
    }
  });

  it("non-ASCII text is split by Unicode word boundaries and lowercased", () => {
    const tokenizer = new Tokenizer(resolveTokenizerConfig({}));
    expect(tokenizer.tokenize("Grüße aus Köln, déjà vu! ΑΒΓ")).toEqual(["grüße", "aus", "köln", "déjà", "vu", "αβγ"]);
  });

  it("stop words and lowercasing are configured per field", async () => {
    const docs: QueryDocument[] = [
      { id: "1", text: { a: "The Cat", b: "The Cat" } },
      { id: "2", text: { a: "the dog", b: "the dog" } },
    ];
    const index = buildQueryIndex(docs, { metric: "DOT", textFields: { a: { stopWords: "english" }, b: { lowercase: false } } });
    expect((await executeQuery([index], parseQueryRequest({ rankBy: ["a", "BM25", "the"] }))).rows).toEqual([]);
    expect((await executeQuery([index], parseQueryRequest({ rankBy: ["b", "BM25", "The"] }))).rows.map((r) => r.id)).toEqual(["1"]);
    expect((await executeQuery([index], parseQueryRequest({ rankBy: ["a", "BM25", "CAT"] }))).rows.map((r) => r.id)).toEqual(["1"]);
  });

  it("ASCII folding, stemming and language stop words normalize each word; a config round-trips through the codec", () => {
    expect(foldToAscii("Crème Brûlée Straße Øresund naïve ΑΒΓ")).toBe("Creme Brulee Strasse Oresund naive ΑΒΓ");
    const tokenizer = new Tokenizer(resolveTokenizerConfig({ asciiFolding: true, stemmer: "english", stopWords: { language: "english" } }));
    expect(tokenizer.tokenize("The cafés are running, THE Running")).toEqual(["cafe", "run", "run"]);
    const sensitive = new Tokenizer(resolveTokenizerConfig({ lowercase: false, stopWords: "english" }));
    expect(sensitive.tokenize("The Cat the cat")).toEqual(["Cat", "cat"]);
    expect(() => resolveTokenizerConfig({ stemmer: "klingon" })).toThrow(RangeError);
    const index = buildQueryIndex([{ id: "1", text: { a: "Running cafés" } }], { metric: "DOT", textFields: { a: { stemmer: "english", asciiFolding: true, k1: 2, b: 0.5 } } });
    const loaded = deserializeQueryIndex(serializeQueryIndex(index));
    expect(loaded.textFields.get("a")!.config).toEqual(index.textFields.get("a")!.config);
    expect(loaded.textFields.get("a")!.config).toMatchObject({ stemmer: "english", asciiFolding: true, k1: 2, b: 0.5 });
  });

  it("query terms: one term per distinct combination of each config's token, sorted; with one config its distinct tokens", () => {
    const plain = resolveTokenizerConfig({});
    const stemmed = resolveTokenizerConfig({ stemmer: "english" });
    expect(queryTerms("b a b", [plain]).terms).toEqual([["a"], ["b"]]);
    const mixed = queryTerms("Running runs run the", [stemmed, plain, stemmed]);
    expect(mixed.keys).toHaveLength(2);
    expect(termTokens(mixed, plain)).toEqual(["run", "running", "runs", "the"]);
    expect(termTokens(mixed, stemmed)).toEqual(["run", "run", "run", "the"]);
    expect(queryTerms("the", [resolveTokenizerConfig({ stopWords: "english" })]).terms).toEqual([]);
  });

  it("lastAsPrefix over partitions indexed under different options: each vocabulary is searched for the last word's own token", () => {
    const stemmed = resolveTokenizerConfig({ stemmer: "english" });
    const plain = resolveTokenizerConfig({});
    const qt = expandedQueryTerms("Fast RUNN", [
      { config: stemmed, terms: StringTable.fromStrings(["fast", "run", "runner"]) },
      { config: plain, terms: StringTable.fromStrings(["fast", "runner", "running", "runs"]) },
    ]);
    // "fast" under both; "runner" expanded under both; "running" only in the plain vocabulary.
    const pairs = termTokens(qt, plain).map((token, i) => [token, termTokens(qt, stemmed)[i]]);
    expect(pairs.sort()).toEqual([
      ["fast", "fast"],
      ["runner", "runner"],
      ["running", null],
    ]);
    // One config: the prefix's expansion plus the whole words, each once.
    const one = expandedQueryTerms("runs ru", [{ config: plain, terms: StringTable.fromStrings(["rub", "runs", "sun"]) }]);
    expect(termTokens(one, plain)).toEqual(["rub", "runs"]);
    expect(expandedQueryTerms("zz", [{ config: plain, terms: StringTable.fromStrings(["a"]) }]).terms).toEqual([]);
  });

  it("lastAsPrefix: the last token stands for the vocabulary terms starting with it, the first 64 of every partition's in code-unit order; a match scores 1.0", async () => {
    const docs: QueryDocument[] = Array.from({ length: 100 }, (_, i) => ({ id: `d${String(i).padStart(3, "0")}`, text: { body: `p${String(99 - i).padStart(3, "0")} filler` } }));
    docs.push({ id: "q", text: { body: "pa pb quick" } });
    const parts = [buildQueryIndex(docs.slice(0, 40), { metric: "COSINE" }), buildQueryIndex(docs.slice(40), { metric: "COSINE" })];
    const rank = async (query: string, lastAsPrefix: boolean) =>
      (await executeQuery(parts, parseQueryRequest({ rankBy: ["body", "BM25", query, { lastAsPrefix }], topK: 200 }))).rows;
    // "p" matches p000..p099, pa, pb: the first 64 are p000..p063 (digits sort before letters).
    const rows = await rank("p", true);
    expect(rows.map((r) => r.id).sort()).toEqual(docs.filter((d) => /^p0[0-5]\d|^p06[0-3]/.test(d.text!["body"]!)).map((d) => d.id).sort());
    // A prefix match scores 1.0 (turbopuffer's rule), not the expanded terms' BM25 scores; ties by id.
    expect(rows.every((r) => r.score === 1)).toBe(true);
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort());
    // Words before the prefix score as BM25 terms, the prefix match adds 1.0 once (however many terms it holds).
    const both = await rank("quick pa", true);
    const quick = (await rank("quick", false))[0]!;
    expect(both[0]).toEqual({ ...quick, score: quick.score! + 1 });
    // With whole tokens before the prefix; a prefix that is a whole term matches it too; no expansion, no match.
    expect((await rank("quick pb", true)).map((r) => r.id)).toEqual(["q"]);
    expect((await rank("filler p099", true)).map((r) => r.id)[0]).toBe("d000");
    expect(await rank("zz", true)).toEqual([]);
    expect(await rank("p", false)).toEqual([]);
    // Reference: the expansion over the live documents (here under the cap).
    const small = docs.slice(0, 10);
    const index = buildQueryIndex(small, { metric: "COSINE" });
    const got = (await executeQuery([index], parseQueryRequest({ rankBy: ["body", "BM25", "filler p09", { lastAsPrefix: true }], topK: 50 }))).rows;
    const want = referenceBm25(small, "body", "filler p09", {}, true);
    expect(got.length).toBe(want.size);
    for (const row of got) expect(row.score).toBeCloseTo(want.get(row.id)!, 9);
  });
});
