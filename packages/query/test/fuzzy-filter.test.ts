/**
 * The Fuzzy filter: the banded edit-distance test against a full-matrix
 * Levenshtein on random strings (astral code points included); matches by
 * hand on a small corpus (distances by query token length, AND over the
 * operand's tokens, a token shorter than every threshold matching nothing,
 * case sensitivity); the index plan, the per-document matcher and a rank
 * expression agreeing on random corpora; and the parse errors.
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "@skerry/wal-format";
import { buildQueryIndex, executeQuery, InvalidQueryError, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { matchesFilter } from "../src/filter-match.ts";
import { evaluateFilter } from "../src/filter-plan.ts";
import { codePoints, forEachFuzzyTerm, withinDistance } from "../src/fuzzy-filter.ts";
import { StringTable } from "../src/string-table.ts";

function levenshtein(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
  }
  return d[x.length]![y.length]!;
}

const DOCS: QueryDocument[] = [
  { id: "a", text: { body: "the quick brown fox" } },
  { id: "b", text: { body: "quack brawn fix" } },
  { id: "c", text: { body: "kitten sitting" } },
  { id: "d", text: { body: "Turbopuffer search engine" } },
  { id: "e", text: {} },
];

async function ids(filters: unknown, docs = DOCS, textFields?: Record<string, { lowercase: boolean }>): Promise<string[]> {
  const index = buildQueryIndex(docs, { metric: "COSINE", ...(textFields === undefined ? {} : { textFields }) });
  const request = parseQueryRequest({ filters, topK: 100 });
  const rows = (await executeQuery([index], request)).rows.map((r) => r.id);
  // The per-document matcher agrees.
  const config = textFields === undefined ? undefined : buildQueryIndex([], { metric: "COSINE", textFields }).textFields.get("body")?.config;
  const matched = docs.filter((d) => matchesFilter(d, request.filters!, { textConfig: () => config })).map((d) => d.id);
  expect(matched).toEqual(rows);
  return rows;
}

const D1 = { maxEditDistance: [{ distance: 1, minQueryChars: 6 }, { distance: 2, minQueryChars: 9 }] };

describe("Fuzzy filter", () => {
  it("decides edit distances like a full-matrix Levenshtein", () => {
    const random = seededRandom(7);
    const alphabet = ["a", "b", "c", "ä", "😀", "𝔸"];
    const word = () => Array.from({ length: random.nextUint32() % 9 }, () => alphabet[random.nextUint32() % alphabet.length]).join("");
    let near = 0;
    for (let i = 0; i < 4000; i++) {
      const a = word();
      const b = random.nextUint32() % 3 === 0 ? a.slice(0, -1) + alphabet[random.nextUint32() % 6] : word();
      const d = random.nextUint32() % 5;
      const expected = levenshtein(a, b) <= d;
      if (expected) near++;
      expect(withinDistance(codePoints(a), codePoints(b), d), `${a} ~ ${b} within ${d}`).toBe(expected);
    }
    expect(near).toBeGreaterThan(500);
  });

  it("walks a sorted vocabulary (shared prefixes, pruned subtrees) to exactly the terms a full scan finds", () => {
    const random = seededRandom(13);
    const alphabet = ["a", "b", "c", "d", "é", "😀", "\uffff", "\ue000"];
    const word = (max: number) => Array.from({ length: 1 + (random.nextUint32() % max) }, () => alphabet[random.nextUint32() % alphabet.length]).join("");
    for (let round = 0; round < 60; round++) {
      const vocabulary = [...new Set(Array.from({ length: 1 + (random.nextUint32() % 400) }, () => word(9)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const terms = StringTable.fromStrings(vocabulary);
      const query = word(7);
      const distance = random.nextUint32() % 4;
      const token = { codes: codePoints(query), distance };
      const walked: number[] = [];
      forEachFuzzyTerm(terms, token, (t) => walked.push(t));
      const scanned = vocabulary.map((_, t) => t).filter((t) => levenshtein(query, vocabulary[t]!) <= distance);
      expect(walked, `${query} within ${distance}`).toEqual(scanned);
    }
  });

  it("matches by hand: the distance by query token length, every token, short tokens nothing", async () => {
    expect(await ids(["body", "Fuzzy", "brawny", D1])).toEqual(["b"]); // brawn: 1 deletion; brown: 2
    expect(await ids(["body", "Fuzzy", "sittin", D1])).toEqual(["c"]);
    expect(await ids(["body", "Fuzzy", "sittin kittens", D1])).toEqual(["c"]);
    expect(await ids(["body", "Fuzzy", "sittin brawny", D1])).toEqual([]);
    expect(await ids(["body", "Fuzzy", "turbopufer", D1])).toEqual(["d"]); // 10 chars: distance 2
    expect(await ids(["body", "Fuzzy", "trubopuffer", D1])).toEqual(["d"]); // a swap is 2 edits
    expect(await ids(["body", "Fuzzy", "trubopufer", D1])).toEqual([]); // and a deletion: 3
    expect(await ids(["body", "Fuzzy", "trubopuffr", { maxEditDistance: [{ distance: 1, minQueryChars: 6 }] }])).toEqual([]); // 3 edits
    expect(await ids(["body", "Fuzzy", "fox", D1])).toEqual([]); // shorter than 6: nothing
    // The default thresholds: 3-5 exact, 6-8 one edit, 9+ two.
    expect(await ids(["body", "Fuzzy", "fox"])).toEqual(["a"]);
    expect(await ids(["body", "Fuzzy", "fix"])).toEqual(["b"]);
    expect(await ids(["body", "Fuzzy", "kittem"])).toEqual(["c"]);
    expect(await ids(["body", "Fuzzy", "the"])).toEqual(["a"]);
    expect(await ids(["body", "Fuzzy", ""])).toEqual([]);
    expect(await ids(["missing", "Fuzzy", "kitten"])).toEqual([]);
    expect(await ids(["Not", ["body", "Fuzzy", "kittem"]])).toEqual(["a", "b", "d", "e"]);
  });

  it("compares case as asked when the field keeps it", async () => {
    const cased = { body: { lowercase: false } };
    const exact = { maxEditDistance: [{ distance: 0, minQueryChars: 3 }] };
    expect(await ids(["body", "Fuzzy", "turbopuffer", exact], DOCS, cased)).toEqual([]);
    expect(await ids(["body", "Fuzzy", "turbopuffer", { ...exact, caseSensitive: false }], DOCS, cased)).toEqual(["d"]);
    expect(await ids(["body", "Fuzzy", "Turbopuffer", { ...exact, caseSensitive: true }], DOCS, cased)).toEqual(["d"]);
    expect(await ids(["body", "Fuzzy", "turbopuffer"], DOCS, cased)).toEqual(["d"]); // 11 chars: 2 edits by default
  });

  it("agrees between the index plan and the per-document matcher on random corpora, and boosts in rank expressions", async () => {
    const random = seededRandom(11);
    const syllables = ["ka", "ki", "ko", "ta", "ti", "ra", "ru", "n"];
    const word = () => Array.from({ length: 1 + (random.nextUint32() % 5) }, () => syllables[random.nextUint32() % syllables.length]).join("");
    for (let round = 0; round < 20; round++) {
      const docs: QueryDocument[] = Array.from({ length: 40 }, (_, i) => ({
        id: `d${String(i).padStart(2, "0")}`,
        ...(i % 9 === 0 ? {} : { text: { body: Array.from({ length: 1 + (random.nextUint32() % 6) }, word).join(" ") } }),
      }));
      const query = Array.from({ length: 1 + (random.nextUint32() % 2) }, word).join(" ");
      const filter = ["body", "Fuzzy", query, { maxEditDistance: [{ distance: 0, minQueryChars: 3 }, { distance: 1, minQueryChars: 6 }, { distance: 2, minQueryChars: 9 }] }];
      const index = buildQueryIndex(docs, { metric: "COSINE" });
      const parsed = parseQueryRequest({ filters: filter }).filters!;
      const m = evaluateFilter(index, parsed);
      const planned = m.kind === "list" ? [...m.slots] : m.kind === "mask" ? [...m.mask.keys()].filter((s) => m.mask[s] === 1) : docs.map((_, i) => i);
      const expected = docs.map((d, i) => [d, i] as const).filter(([d]) => matchesFilter(d, parsed)).map(([, i]) => i);
      expect(planned.map((s) => index.ids.get(s)).sort(), query).toEqual(expected.map((i) => docs[i]!.id));
      const boosted = await executeQuery([index], parseQueryRequest({ rankBy: ["Product", 3, filter], topK: 100 }));
      expect(boosted.rows.filter((r) => r.score === 3).map((r) => r.id)).toEqual(expected.map((i) => docs[i]!.id));
    }
  });

  it("refuses malformed parameters naming them", () => {
    const issue = (filters: unknown) => {
      try {
        parseQueryRequest({ filters });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidQueryError);
        return (error as InvalidQueryError).issues[0];
      }
      return undefined;
    };
    expect(issue(["body", "Fuzzy", "kitten", { maxEditDistance: [{ distance: 1, minQueryChars: 5 }] }])).toMatchObject({ path: ["filters", 3, "maxEditDistance", 0] });
    expect(issue(["body", "Fuzzy", "kitten", { maxEditDistance: [{ distance: 5, minQueryChars: 30 }] }])).toBeDefined();
    expect(issue(["body", "Fuzzy", "kitten", { maxEditDistance: [] }])).toBeDefined();
    expect(issue(["body", "Fuzzy", "kitten", { fuzziness: 2 }])?.message).toMatch(/unknown Fuzzy parameter/);
    expect(issue(["body", "Fuzzy", "kitten", { caseSensitive: "no" }])).toMatchObject({ path: ["filters", 3, "caseSensitive"] });
    expect(issue(["body", "Fuzzy", ["kitten"]])).toMatchObject({ path: ["filters", 2] });
    const many = Array.from({ length: 17 }, (_, i) => `word${String.fromCharCode(97 + i)}`).join(" ");
    expect(() => evaluateFilter(buildQueryIndex(DOCS, { metric: "COSINE" }), parseQueryRequest({ filters: ["body", "Fuzzy", many] }).filters!)).toThrow(/at most 16/);
  });
});
