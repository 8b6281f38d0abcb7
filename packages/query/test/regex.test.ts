/**
 * The Regex filter: RE2 syntax found anywhere in a string value, linear
 * time (a pattern that sends a backtracking engine into exponential time
 * answers at once), invalid patterns refused with the operand's path, and
 * the same answer from the index-based plan and the per-document matcher.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, InvalidQueryError, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { matchesFilter } from "../src/filter-match.ts";
import { evaluateFilter } from "../src/filter-plan.ts";
import { MAX_REGEX_PATTERN_LENGTH, regexMatcher } from "../src/regex.ts";

const DOCS: QueryDocument[] = [
  { id: "a-1", attributes: { name: "Grey heron", code: "AB-12", n: 1, tags: ["heron"] } },
  { id: "a-2", attributes: { name: "grey wagtail", code: "AB-7", n: 2 } },
  { id: "b-1", attributes: { name: "Blue tit", code: "XY-123", n: 3 } },
  { id: "b-2", attributes: { name: "Straße", n: 4 } },
  { id: "c-1", attributes: { name: null, code: "", n: 5 } },
];

async function ids(filter: unknown): Promise<string[]> {
  const request = parseQueryRequest({ filters: filter, topK: 100 });
  const index = buildQueryIndex(DOCS, { metric: "COSINE" });
  const viaPlan = (await executeQuery([index], request)).rows.map((row) => row.id);
  const viaDocs = DOCS.filter((doc) => matchesFilter(doc, request.filters!)).map((doc) => doc.id);
  expect(viaPlan.sort()).toEqual(viaDocs.sort());
  return viaDocs;
}

function problem(filter: unknown): InvalidQueryError {
  try {
    parseQueryRequest({ filters: filter });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidQueryError);
    return error as InvalidQueryError;
  }
  throw new Error("expected InvalidQueryError");
}

describe("Regex filter", () => {
  it("matches where the pattern is found, anchors and inline flags included", async () => {
    expect(await ids(["name", "Regex", "grey"])).toEqual(["a-2"]);
    expect(await ids(["name", "Regex", "(?i)^grey"])).toEqual(["a-1", "a-2"]);
    expect(await ids(["code", "Regex", "^[A-Z]{2}-\\d{2,3}$"])).toEqual(["a-1", "b-1"]);
    expect(await ids(["code", "Regex", "^$"])).toEqual(["c-1"]);
    expect(await ids(["name", "Regex", "ß"])).toEqual(["b-2"]);
    expect(await ids(["id", "Regex", "^b-"])).toEqual(["b-1", "b-2"]);
    // Null and missing values never match; Not matches them.
    expect(await ids(["Not", ["name", "Regex", "(?i)^g"]])).toEqual(["b-1", "b-2", "c-1"]);
  });

  it("runs in linear time where a backtracking engine takes exponential time", () => {
    // JavaScript's RegExp needs about 2^40 steps for this value; RE2 answers in one pass.
    const value = `${"a".repeat(40)}!`;
    expect(regexMatcher("^(a+)+$").test(value)).toBe(false);
    expect(regexMatcher("(a|aa)*c").test("a".repeat(100_000))).toBe(false);
    const doc = { id: "d", attributes: { s: value } } as QueryDocument;
    const filter = parseQueryRequest({ filters: ["s", "Regex", "^(a|a?)+$"] }).filters!;
    expect(matchesFilter(doc, filter)).toBe(false);
    expect(evaluateFilter(buildQueryIndex([doc], { metric: "COSINE" }), filter)).toMatchObject({ kind: "list", slots: new Uint32Array(0) });
  });

  it("refuses invalid patterns naming the operand", () => {
    for (const pattern of ["a(", "(?<=a)b", "(a)\\1", "x{1001}", "[z-a]", "a".repeat(MAX_REGEX_PATTERN_LENGTH + 1)]) {
      const error = problem(["name", "Regex", pattern]);
      expect(error.issues[0], pattern).toMatchObject({ path: ["filters", 2], reason: "schema" });
      expect(error.issues[0]!.message).toMatch(/invalid Regex pattern/);
    }
    expect(problem(["name", "Regex", 3]).issues[0]).toMatchObject({ path: ["filters", 2], reason: "type_mismatch" });
    expect(problem(["name", "Regex"]).issues[0]).toMatchObject({ reason: "schema" });
  });

  it("is a type mismatch on an attribute that holds no strings; arrays are tested element by element", async () => {
    const index = buildQueryIndex(DOCS, { metric: "COSINE" });
    await expect(executeQuery([index], parseQueryRequest({ filters: ["n", "Regex", "1"] }))).rejects.toThrow(/holds numbers/);
    // String elements of arrays match (turbopuffer's patterns apply to string and []string values).
    expect(await ids(["tags", "Regex", "^her"])).toEqual(["a-1"]);
    const numbers = buildQueryIndex([{ id: "x", attributes: { scores: [1, 2] } }], { metric: "COSINE" });
    await expect(executeQuery([numbers], parseQueryRequest({ filters: ["scores", "Regex", "1"] }))).rejects.toThrow(/holds arrays/);
  });
});
