/**
 * Highlight computed attributes: fragments (sentence, paragraph, word, none)
 * ranked by BM25 over the row's fragments, match ranges in UTF-8, UTF-16
 * and code point offsets, []string values, the field's stemming, folding
 * and stop words, lastAsPrefix, no match, bounded work on a large value,
 * and the parse errors.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, InvalidQueryError, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { highlightValue, MAX_HIGHLIGHT_CHARS, type HighlightSpec } from "../src/highlight.ts";
import { resolveTokenizerConfig } from "../src/tokenizer.ts";

const TEXT =
  "turbopuffer is a search engine built on object storage. Writes land in a write-ahead log for durability.\n\n" +
  "Warm queries are served from an NVMe cache. Highlighting returns the most relevant fragments of an attribute.\n" +
  "A fragment can be a word, a sentence, a paragraph, or the whole attribute. Pufferfish café 🐡 naïve storage.";

const DOCS: QueryDocument[] = [
  { id: "1", text: { text: TEXT, tags: "object storage cold cache warm" }, attributes: { text: TEXT, tags: ["object storage", "cold cache", "warm"] } },
  { id: "2", text: { text: "Nothing relevant here. Just cache.", tags: "x" }, attributes: { text: "Nothing relevant here. Just cache.", tags: ["x"] } },
  { id: "3", text: { text: "unrelated words only" }, attributes: { text: "unrelated words only" } },
];
const parts = [buildQueryIndex(DOCS.slice(0, 2), { metric: "COSINE" }), buildQueryIndex(DOCS.slice(2), { metric: "COSINE" })];

async function highlight(rankBy: unknown, options: Record<string, unknown> = {}, field = "text"): Promise<Map<string, unknown>> {
  const result = await executeQuery(parts, parseQueryRequest({ rankBy, topK: 10, computeAttributes: { h: ["Highlight", field, options] } }));
  return new Map(result.rows.map((r) => [r.id, r.computed!["h"]]));
}

const QUERY = ["text", "BM25", "object storage cache"];

describe("Highlight", () => {
  it("answers the best sentences, ranked by BM25 over the row's fragments", async () => {
    const h = await highlight(QUERY);
    expect(h.get("1")).toEqual([
      { text: "turbopuffer is a search engine built on object storage." },
      { text: "Warm queries are served from an NVMe cache." },
      { text: "Pufferfish café 🐡 naïve storage." },
    ]);
    expect(h.get("2")).toEqual([{ text: "Just cache." }]);
    expect((await highlight(QUERY, { fragmentLimit: 1 })).get("1")).toEqual([{ text: "turbopuffer is a search engine built on object storage." }]);
    // Only matching fragments: a larger limit answers no more.
    expect((await highlight(QUERY, { fragmentLimit: 10 })).get("1")).toHaveLength(3);
  });

  it("gives fragment and match ranges in UTF-8 bytes, UTF-16 units or code points", async () => {
    expect((await highlight(QUERY, { includeOffsets: "utf-8" })).get("1")).toEqual([
      { text: "turbopuffer is a search engine built on object storage.", fragmentRange: [0, 55], matchRanges: [[40, 46], [47, 54]] },
      { text: "Warm queries are served from an NVMe cache.", fragmentRange: [106, 149], matchRanges: [[143, 148]] },
      { text: "Pufferfish café 🐡 naïve storage.", fragmentRange: [291, 328], matchRanges: [[320, 327]] },
    ]);
    const none = (units: string) => highlight(["text", "BM25", "naïve storage"], { fragmentBy: "none", includeOffsets: units });
    const ranges = async (units: string) => ((await none(units)).get("1") as { fragmentRange: number[]; matchRanges: number[][] }[])[0];
    expect(await ranges("utf-8")).toMatchObject({ fragmentRange: [0, 328], matchRanges: [[47, 54], [313, 319], [320, 327]] });
    expect(await ranges("utf-16")).toMatchObject({ fragmentRange: [0, 324], matchRanges: [[47, 54], [310, 315], [316, 323]] });
    expect(await ranges("codepoints")).toMatchObject({ fragmentRange: [0, 323], matchRanges: [[47, 54], [309, 314], [315, 322]] });
    // UTF-16 offsets index the JavaScript string.
    const [start, end] = (await ranges("utf-16"))!.matchRanges[1]!;
    expect(TEXT.slice(start, end)).toBe("naïve");
  });

  it("splits by word, paragraph or not at all", async () => {
    expect((await highlight(QUERY, { fragmentBy: "word", includeOffsets: "utf-8" })).get("1")).toEqual([
      { text: "object", fragmentRange: [40, 46], matchRanges: [[40, 46]] },
      { text: "cache", fragmentRange: [143, 148], matchRanges: [[143, 148]] },
      { text: "storage", fragmentRange: [47, 54], matchRanges: [[47, 54]] },
    ]);
    const paragraphs = (await highlight(QUERY, { fragmentBy: "paragraph", includeOffsets: "utf-8" })).get("1") as { fragmentRange: number[] }[];
    expect(paragraphs.map((p) => p.fragmentRange)).toEqual([
      [0, 104],
      [106, 215],
      [216, 328],
    ]);
    expect((await highlight(QUERY, { fragmentBy: "none" })).get("2")).toEqual([{ text: "Nothing relevant here. Just cache." }]);
  });

  it("answers [] without a match, and ranks by rankFragmentsBy beside any rankBy", async () => {
    const h = await highlight(["id", "asc"], { rankFragmentsBy: ["$fragment", "BM25", "durability"], includeOffsets: "utf-8" });
    expect(h.get("1")).toEqual([{ text: "Writes land in a write-ahead log for durability.", fragmentRange: [56, 104], matchRanges: [[93, 103]] }]);
    expect(h.get("2")).toEqual([]);
    expect(h.get("3")).toEqual([]);
  });

  it("highlights the elements of a []string value with their index", async () => {
    const h = await highlight(["tags", "BM25", "cache"], { includeOffsets: "utf-8" }, "tags");
    expect(h.get("1")).toEqual([{ text: "cold cache", fragmentRange: [0, 10], matchRanges: [[5, 10]], arrayIndex: 1 }]);
    // Row 2 holds no "cache" element: it is not returned.
    expect([...h.keys()]).toEqual(["1"]);
    const byId = await highlight(["id", "asc"], { rankFragmentsBy: ["$fragment", "BM25", "cache"] }, "tags");
    expect(byId.get("2")).toEqual([]);
    expect(byId.get("3")).toEqual([]);
  });

  it("matches as the field's options tokenize: stemming, folding, stop words, case, prefixes", () => {
    const spec = (query: string, lastAsPrefix = false): HighlightSpec => ({
      field: "t",
      rank: { op: "bm25", field: "$fragment", query, lastAsPrefix, path: [] },
      fragmentBy: "none",
      fragmentLimit: 3,
      includeOffsets: "utf-16",
    });
    const stemmed = resolveTokenizerConfig({ stemmer: "english", stopWords: "english", asciiFolding: true });
    const text = "The Runners were RUNNING to the Café; the run ended.";
    const ranges = (query: string, config = stemmed, lastAsPrefix = false) =>
      highlightValue(text, spec(query, lastAsPrefix), config).flatMap((f) => f.matchRanges!.map(([s, e]) => text.slice(s, e)));
    expect(ranges("run")).toEqual(["RUNNING", "run"]);
    expect(ranges("cafe")).toEqual(["Café"]);
    // A stop word is no token: it matches nothing.
    expect(ranges("the")).toEqual([]);
    // Without stemming or folding the words must be equal (case folded).
    const plain = resolveTokenizerConfig();
    expect(ranges("run", plain)).toEqual(["run"]);
    expect(ranges("cafe", plain)).toEqual([]);
    expect(ranges("café running", plain)).toEqual(["RUNNING", "Café"]);
    // lastAsPrefix: the last word matches every token it starts.
    expect(ranges("ended ru", plain, true)).toEqual(["Runners", "RUNNING", "run", "ended"]);
    const caseSensitive = resolveTokenizerConfig({ lowercase: false });
    expect(ranges("run", caseSensitive)).toEqual(["run"]);
    // A phrase's words are each highlighted where they occur.
    expect(ranges("café the run", plain)).toEqual(["The", "the", "Café", "the", "run"]);
    // Nothing for a missing value or one of another type.
    expect(highlightValue(undefined, spec("run"), plain)).toEqual([]);
    expect(highlightValue(7, spec("run"), plain)).toEqual([]);
  });

  it("examines a large value in bounded time, up to its first MAX_HIGHLIGHT_CHARS units", () => {
    const words = "lorem ipsum dolor sit amet. ".repeat(40_000);
    const text = `${words}needle.`;
    expect(text.length).toBeGreaterThan(MAX_HIGHLIGHT_CHARS);
    const spec: HighlightSpec = { field: "t", rank: { op: "bm25", field: "$fragment", query: "dolor needle", lastAsPrefix: false, path: [] }, fragmentBy: "word", fragmentLimit: 1024, includeOffsets: "utf-8" };
    const out = highlightValue(text, spec, resolveTokenizerConfig());
    expect(out).toHaveLength(1024);
    // The needle lies past the examined prefix.
    expect(out.some((f) => f.text === "needle")).toBe(false);
  });

  it("rejects malformed Highlight expressions", () => {
    const parse = (h: unknown, rankBy: unknown = QUERY) => () => parseQueryRequest({ rankBy, computeAttributes: { h } });
    expect(parse(["Highlight", "text", { fragmentBy: "line" }])).toThrow(InvalidQueryError);
    expect(parse(["Highlight", "text", { fragmentLimit: 0 }])).toThrow(/fragmentLimit/);
    expect(parse(["Highlight", "text", { fragmentLimit: 1025 }])).toThrow(/fragmentLimit/);
    expect(parse(["Highlight", "text", { includeOffsets: "bytes" }])).toThrow(/includeOffsets/);
    expect(parse(["Highlight", "text", { foo: 1 }])).toThrow(/unknown Highlight option/);
    expect(parse(["Highlight", "text"], ["id", "asc"])).toThrow(/needs rankFragmentsBy/);
    expect(parse(["Highlight", "text"], ["tags", "BM25", "x"])).toThrow(/needs rankFragmentsBy/);
    expect(parse(["Highlight", "text", { rankFragmentsBy: ["Attribute", "n"] }])).toThrow(/rankFragmentsBy/);
    expect(parse(["Highlight"])).toThrow(/Highlight is/);
  });

  it("refuses a text field whose value is not stored as an attribute", async () => {
    const unstored = [buildQueryIndex([{ id: "a", text: { body: "quick fox" }, attributes: { n: 1 } }], { metric: "COSINE" })];
    await expect(executeQuery(unstored, parseQueryRequest({ rankBy: ["body", "BM25", "fox"], computeAttributes: { h: ["Highlight", "body"] } }))).rejects.toThrow(
      /not stored as an attribute/,
    );
  });
});
