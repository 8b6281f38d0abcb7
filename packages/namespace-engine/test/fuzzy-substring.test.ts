/**
 * The FuzzySubstring filter: a substring of a string value within the
 * text's edit distance (by the text's length), case-sensitive or not, string
 * values and string elements of arrays; the
 * same answer from the program, a brute-force reference, the index-based
 * plan, the per-document matcher, and a compacted namespace read cold.
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage } from "@skerry/storage-providers";
import { buildQueryIndex, executeQuery, InvalidQueryError, parseQueryRequest, type QueryDocument } from "@skerry/namespace-engine";
import { matchesFilter } from "../../query/src/filter-match.ts";
import { codePoints } from "../../query/src/fuzzy-filter.ts";
import { fuzzySubstringWithin } from "../../query/src/fuzzy-substring.ts";
import { makeEngine } from "./support/harness.ts";
import { seededRandom } from "../../query/test/support/reference.ts";

/** Brute force: every substring of the value against the text (full Levenshtein matrices). */
function reference(text: string, value: string, d: number): boolean {
  const a = [...text];
  const chars = [...value];
  const lev = (b: string[]) => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const cur = [i];
      for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
    return prev[b.length]!;
  };
  for (let s = 0; s <= chars.length; s++) for (let e = s; e <= chars.length; e++) if (lev(chars.slice(s, e)) <= d) return true;
  return false;
}

const DOCS: QueryDocument[] = [
  { id: "1", attributes: { company: "turbopuffer" } },
  { id: "2", attributes: { company: "turbopufer inc" } },
  { id: "3", attributes: { company: "The TurboPuffer Company" } },
  { id: "4", attributes: { company: "puffin" } },
  { id: "5", attributes: { company: ["turbopuffer"] } },
  { id: "6", attributes: { company: 42 } },
  { id: "7", attributes: {} },
];
const D1 = { maxEditDistance: [{ distance: 1, minQueryChars: 6 }] };

describe("FuzzySubstring", () => {
  it("finds a substring within the distance anywhere in the value (the program agrees with brute force)", () => {
    const random = seededRandom(7);
    const alphabet = "abcé😀";
    const word = (n: number) => Array.from({ length: n }, () => [...alphabet][Math.floor(random() * 5)]).join("");
    for (let round = 0; round < 600; round++) {
      const text = word(1 + Math.floor(random() * 5));
      const value = word(Math.floor(random() * 9));
      const d = Math.floor(random() * 3);
      expect(fuzzySubstringWithin(codePoints(text), codePoints(value), d), `${text} in ${value} within ${d}`).toBe(reference(text, value, d));
    }
    expect(fuzzySubstringWithin(codePoints("turbopufer"), codePoints("the turbopuffer company"), 1)).toBe(true);
    expect(fuzzySubstringWithin(codePoints("trubopuffer"), codePoints("the turbopuffer company"), 1)).toBe(false); // a transposition is two edits
    expect(fuzzySubstringWithin(codePoints("trubopuffer"), codePoints("the turbopuffer company"), 2)).toBe(true);
  });

  it("matches string values and string elements of arrays by the text's distance, case-sensitive by default; numbers and missing values never", async () => {
    const index = buildQueryIndex(DOCS, { metric: "COSINE" });
    // The index-based plan and the per-document matcher agree on every filter.
    const ids = async (filters: unknown) => {
      const request = parseQueryRequest({ filters, topK: 100 });
      const viaPlan = (await executeQuery([index], request)).rows.map((r) => r.id);
      const viaDocs = DOCS.filter((d) => matchesFilter(d, request.filters!)).map((d) => d.id);
      expect(viaPlan).toEqual(viaDocs);
      return viaDocs;
    };
    expect(await ids(["company", "FuzzySubstring", "turbopufer", D1])).toEqual(["1", "2", "5"]);
    expect(await ids(["company", "FuzzySubstring", "turbopufer", { ...D1, caseSensitive: false }])).toEqual(["1", "2", "3", "5"]);
    // Case-sensitive: "turbopuffer" is two edits from "TurboPuffer" (T, P).
    expect(await ids(["company", "FuzzySubstring", "TurboPuffer", D1])).toEqual(["3"]);
    // Shorter than every minQueryChars: nothing.
    expect(await ids(["company", "FuzzySubstring", "puff", D1])).toEqual([]);
    // Default distances: 3-5 characters exact, so "puff" is a plain substring test.
    expect(await ids(["company", "FuzzySubstring", "puff"])).toEqual(["1", "4", "5"]);
    // "puffin" is two edits from every substring of "turbopuffer" ("puffer", "puffe", "puff").
    expect(await ids(["Not", ["company", "FuzzySubstring", "puffin", D1]])).toEqual(["1", "2", "3", "5", "6", "7"]);
  });

  it("refuses bad operands and parameters with the operand's path", () => {
    const refused = (filters: unknown) => {
      try {
        parseQueryRequest({ filters });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidQueryError);
        return (error as InvalidQueryError).message;
      }
      throw new Error("accepted");
    };
    expect(refused(["company", "FuzzySubstring", 3])).toMatch(/string/);
    expect(refused(["company", "FuzzySubstring", "x".repeat(257)])).toMatch(/at most 256/);
    expect(refused(["id", "FuzzySubstring", "turbopuffer"])).toMatch(/not id/);
    expect(refused(["company", "FuzzySubstring", "turbopuffer", { maxEditDistance: [{ distance: 1, minQueryChars: 5 }] }])).toMatch(/3 \* \(distance \+ 1\)/);
    expect(refused(["company", "FuzzySubstring", "turbopuffer", { fuzz: 1 }])).toMatch(/unknown FuzzySubstring parameter/);
  });

  it("answers alike from the log, a compacted segment and a fresh engine reading it cold", async () => {
    const names = ["turbopuffer", "turbopufer inc", "The TurboPuffer Company", "puffin", "acme"];
    const doc = (i: number) => ({
      id: `d${String(i).padStart(5, "0")}`,
      vector: [1, i % 7, 2],
      attributes: { company: `${names[i % 5]} ${i}`, tags: [`t${i % 3}`, names[i % 5] as string], n: i },
    });
    const ns = "acme/fuzzy/substring";
    const query = { filters: ["company", "FuzzySubstring", "turbopufer", { ...D1, caseSensitive: false }], topK: 5000 };
    const expected = Array.from({ length: 2500 }, (_, i) => i)
      .filter((i) => i % 5 < 3)
      .map((i) => doc(i).id);
    // Array elements: FuzzySubstring and Glob test each string element.
    const onTags = { filters: ["tags", "FuzzySubstring", "turbopufer", { ...D1, caseSensitive: false }], topK: 5000 };
    const globTags = { filters: ["tags", "Glob", "*puffer*"], topK: 5000 };
    const globExpected = Array.from({ length: 2500 }, (_, i) => i)
      .filter((i) => i % 5 === 0)
      .map((i) => doc(i).id);
    const check = async (e: ReturnType<typeof makeEngine>) => {
      expect((await e.query(ns, query as never)).rows.map((r) => r.id)).toEqual(expected);
      expect((await e.query(ns, onTags as never)).rows.map((r) => r.id)).toEqual(expected);
      expect((await e.query(ns, globTags as never)).rows.map((r) => r.id)).toEqual(globExpected);
    };
    const storage = new MemoryStorage();
    const log = makeEngine(storage);
    await log.createNamespace(ns, { distanceMetric: "cosine" });
    await log.upsert(ns, Array.from({ length: 2500 }, (_, i) => doc(i)));
    await check(log);
    await log.compact(ns, { force: true });
    // Each query on an engine that has not loaded the segment is answered cold (ranged reads of its index).
    for (const [q, want] of [
      [query, expected],
      [onTags, expected],
      [globTags, globExpected],
    ] as const) {
      const fresh = makeEngine(storage);
      expect((await fresh.query(ns, q as never)).rows.map((r) => r.id)).toEqual(want);
      expect(fresh.queryStats().segmentIndexes.loads, JSON.stringify(q.filters)).toBe(0);
    }
    await check(makeEngine(storage));
    await check(log);
  });
});
