/**
 * ContainsAllTokens / ContainsAnyToken / ContainsTokenSequence on text fields: tokenized like the
 * field (case, Unicode words), prefix matching of the last token, empty
 * operands match nothing, bad operands refused with their path; the plan
 * over an index and the per-document matcher agree.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, InvalidQueryError, joinTextElements, joinTokens, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { resolveTokenizerConfig, Tokenizer } from "../src/tokenizer.ts";
import { matchesFilter } from "../src/filter-match.ts";

const DOCS: QueryDocument[] = [
  { id: "a", text: { title: "The Quick brown fox", body: "jumps" } },
  { id: "b", text: { title: "quick thinking", body: "over the lazy dog" } },
  { id: "c", text: { title: "Straße und Brücke" } },
  { id: "d", text: { body: "quick" } },
  { id: "e", text: { title: "quicksilver fox-trot" } },
];
const PHRASE_DOCS: QueryDocument[] = [
  ...DOCS,
  { id: "f", text: { title: "fox quick brown fox; the quick, the Quick brown" } },
  { id: "g", text: { title: "brown quick fox" } },
];

async function ids(filter: unknown, docs = DOCS): Promise<string[]> {
  const request = parseQueryRequest({ filters: filter, topK: 100 });
  const viaPlan = (await executeQuery([buildQueryIndex(docs.slice(0, 2), { metric: "COSINE" }), buildQueryIndex(docs.slice(2), { metric: "COSINE" })], request)).rows
    .map((row) => row.id)
    .sort();
  const viaDocs = docs.filter((doc) => matchesFilter(doc, request.filters!)).map((doc) => doc.id);
  expect(viaPlan).toEqual(viaDocs);
  return viaDocs;
}

describe("token filters", () => {
  it("match a text field's tokens, all or any, case-folded like the field", async () => {
    expect(await ids(["title", "ContainsAllTokens", "QUICK fox"])).toEqual(["a"]);
    expect(await ids(["title", "ContainsAnyToken", "fox thinking"])).toEqual(["a", "b", "e"]);
    expect(await ids(["title", "ContainsAllTokens", ["quick", "Brown"]])).toEqual(["a"]);
    expect(await ids(["title", "ContainsAnyToken", "straße"])).toEqual(["c"]);
    expect(await ids(["title", "ContainsAllTokens", "trot fox"])).toEqual(["e"]);
    // Only the named field: "quick" in body does not match title.
    expect(await ids(["title", "ContainsAnyToken", "jumps"])).toEqual([]);
    expect(await ids(["Not", ["title", "ContainsAnyToken", "quick"]])).toEqual(["c", "d", "e"]);
  });

  it("match the last token as a prefix with lastAsPrefix", async () => {
    expect(await ids(["title", "ContainsAllTokens", "qui", { lastAsPrefix: true }])).toEqual(["a", "b", "e"]);
    expect(await ids(["title", "ContainsAllTokens", "fox qui", { lastAsPrefix: true }])).toEqual(["a", "e"]);
    expect(await ids(["title", "ContainsAnyToken", "dog br", { lastAsPrefix: true }])).toEqual(["a", "c"]);
    expect(await ids(["title", "ContainsAllTokens", "quick zz", { lastAsPrefix: true }])).toEqual([]);
    expect(await ids(["title", "ContainsAllTokens", "qui", { lastAsPrefix: false }])).toEqual([]);
  });

  it("match a phrase with ContainsTokenSequence: the tokens consecutively, in order, repeats included", async () => {
    expect(await ids(["title", "ContainsTokenSequence", "quick brown"], PHRASE_DOCS)).toEqual(["a", "f"]);
    expect(await ids(["title", "ContainsTokenSequence", "Quick, BROWN fox"], PHRASE_DOCS)).toEqual(["a", "f"]);
    expect(await ids(["title", "ContainsTokenSequence", "brown quick"], PHRASE_DOCS)).toEqual(["g"]);
    expect(await ids(["title", "ContainsTokenSequence", "quick fox"], PHRASE_DOCS)).toEqual(["g"]);
    expect(await ids(["title", "ContainsTokenSequence", "fox quick"], PHRASE_DOCS)).toEqual(["f"]);
    expect(await ids(["title", "ContainsTokenSequence", "the quick the quick"], PHRASE_DOCS)).toEqual(["f"]);
    expect(await ids(["title", "ContainsTokenSequence", "quick quick"], PHRASE_DOCS)).toEqual([]);
    expect(await ids(["title", "ContainsTokenSequence", ["the", "QUICK brown"]], PHRASE_DOCS)).toEqual(["a", "f"]);
    expect(await ids(["title", "ContainsTokenSequence", "fox"], PHRASE_DOCS)).toEqual(["a", "e", "f", "g"]);
    expect(await ids(["title", "ContainsTokenSequence", "fox trot"], PHRASE_DOCS)).toEqual(["e"]);
    expect(await ids(["title", "ContainsTokenSequence", "brown dog"], PHRASE_DOCS)).toEqual([]);
    expect(await ids(["title", "ContainsTokenSequence", ""], PHRASE_DOCS)).toEqual([]);
    expect(await ids(["body", "ContainsTokenSequence", "the lazy"], PHRASE_DOCS)).toEqual(["b"]);
    expect(await ids(["Not", ["title", "ContainsTokenSequence", "quick brown"]], PHRASE_DOCS)).toEqual(["b", "c", "d", "e", "g"]);
  });

  it("match a phrase within one element of a text of several elements, never across two; the other filters see every element", async () => {
    const docs: QueryDocument[] = [
      { id: "a", text: { title: joinTextElements(["The quick", "brown fox"]) } },
      { id: "b", text: { title: joinTextElements(["x", "quick brown", "", "Straße"]) } },
      { id: "c", text: { title: joinTextElements(["quick", "", "brown"]) } },
      { id: "d", text: { title: joinTextElements(["quick the", "brown"]) } },
      { id: "e", text: { title: "quick brown" } },
    ];
    expect(await ids(["title", "ContainsTokenSequence", "quick brown"], docs)).toEqual(["b", "e"]);
    expect(await ids(["title", "ContainsTokenSequence", "brown straße"], docs)).toEqual([]);
    expect(await ids(["title", "ContainsTokenSequence", "the quick"], docs)).toEqual(["a"]);
    expect(await ids(["title", "ContainsTokenSequence", "brown"], docs)).toEqual(["a", "b", "c", "d", "e"]);
    expect(await ids(["title", "ContainsAllTokens", "quick brown"], docs)).toEqual(["a", "b", "c", "d", "e"]);
    expect(await ids(["title", "ContainsAnyToken", "straße"], docs)).toEqual(["b"]);
    // Stop words dropped from the text and the phrase: "quick the | brown" is still two elements.
    const stop = { title: { stopWords: "english" as const } };
    const request = parseQueryRequest({ filters: ["title", "ContainsTokenSequence", "quick the brown"], topK: 10 });
    expect((await executeQuery([buildQueryIndex(docs, { metric: "COSINE", textFields: stop })], request)).rows.map((r) => r.id)).toEqual(["b", "e"]);
    // The tokens and where each element after the first starts (an empty element starts where the next does).
    const starts: number[] = [];
    expect(new Tokenizer(resolveTokenizerConfig()).tokenize(joinTextElements(["x", "quick brown", "", "Straße"]), starts)).toEqual(["x", "quick", "brown", "straße"]);
    expect(starts).toEqual([1, 3, 3]);
    expect(() => joinTextElements(["a\u001eb"])).toThrow(RangeError);
  });

  it("in a pre-tokenized field U+001E is part of a token, no element separator", async () => {
    const textFields = { tags: { preTokenized: true, lowercase: false, stopWords: [] } };
    const docs: QueryDocument[] = [{ id: "a", text: { tags: joinTokens(["x\u001ey", "z"]) } }];
    const request = parseQueryRequest({ filters: ["tags", "ContainsTokenSequence", joinTokens(["x\u001ey", "z"])], topK: 10 });
    expect((await executeQuery([buildQueryIndex(docs, { metric: "COSINE", textFields })], request)).rows.map((r) => r.id)).toEqual(["a"]);
  });

  it("match nothing for an operand without tokens or a field no document has", async () => {
    expect(await ids(["title", "ContainsAllTokens", ""])).toEqual([]);
    expect(await ids(["title", "ContainsAnyToken", " ,; "])).toEqual([]);
    expect(await ids(["title", "ContainsAllTokens", []])).toEqual([]);
    expect(await ids(["absent", "ContainsAnyToken", "fox"])).toEqual([]);
  });

  it("refuse bad operands and parameters naming them", () => {
    const issue = (filter: unknown) => {
      try {
        parseQueryRequest({ filters: filter });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidQueryError);
        return (error as InvalidQueryError).issues[0];
      }
      return undefined;
    };
    expect(issue(["title", "ContainsAllTokens", 3])).toMatchObject({ path: ["filters", 2], reason: "type_mismatch" });
    expect(issue(["title", "ContainsAnyToken", ["a", 1]])).toMatchObject({ path: ["filters", 2, 1], reason: "type_mismatch" });
    expect(issue(["title", "ContainsAllTokens", "a", { prefix: true }])).toMatchObject({ path: ["filters", 3, "prefix"] });
    expect(issue(["title", "ContainsAllTokens", "a", { lastAsPrefix: "yes" }])).toMatchObject({ path: ["filters", 3, "lastAsPrefix"] });
    expect(issue(["title", "ContainsAllTokens", "a", [true]])).toMatchObject({ path: ["filters", 3] });
    expect(issue(["title", "ContainsAllTokens"])).toMatchObject({ path: ["filters"] });
    expect(issue(["title", "ContainsAllTokens", "x".repeat(20_000)])).toMatchObject({ path: ["filters", 2] });
    expect(issue(["title", "ContainsTokenSequence", "a b", { lastAsPrefix: true }])).toMatchObject({ path: ["filters", 3], reason: "schema" });
    expect(issue(["title", "ContainsTokenSequence", 7])).toMatchObject({ path: ["filters", 2], reason: "type_mismatch" });
  });
});
