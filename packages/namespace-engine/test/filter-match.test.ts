/**
 * `matchesFilter` (per document) agrees with the query module's index-based
 * filter plan on random documents and random filters, and states the edge
 * rules it shares with it.
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "@skerry/wal-format";
import { buildQueryIndex, type Filter, parseQueryRequest, type QueryDocument } from "@skerry/namespace-engine";
import { matchesFilter } from "../../query/src/filter-match.ts";
import { evaluateFilter } from "../../query/src/filter-plan.ts";

function parse(raw: unknown): Filter {
  const filter = parseQueryRequest({ filters: raw, topK: 1 }).filters;
  if (filter === undefined) throw new Error("no filter");
  return filter;
}

function slotsOf(docs: QueryDocument[], filter: Filter): number[] {
  const index = buildQueryIndex(docs, { metric: "COSINE" });
  const matches = evaluateFilter(index, filter);
  if (matches.kind === "all") return docs.map((_, i) => i);
  if (matches.kind === "list") return [...matches.slots];
  const out: number[] = [];
  matches.mask.forEach((m, i) => {
    if (m === 1) out.push(i);
  });
  return out;
}

const VALUES = ["a", "b", "ab", "B", "", 0, 1, 1.5, -2, true, false, null, [1, "a"], ["b", true], [], { x: 1 }];

function randomDocs(seed: number, n: number): QueryDocument[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[random.nextUint32() % list.length] as T;
  return Array.from({ length: n }, (_, i) => {
    const attributes: Record<string, unknown> = {};
    for (const field of ["x", "y", "tags"]) if (random.nextUint32() % 4 !== 0) attributes[field] = pick(VALUES);
    const text = random.nextUint32() % 3 === 0 ? {} : { x: pick(["a b", "B c", "ab", "", "c c a", "Ä b"]) };
    return { id: `d${i % 7}${i}`, attributes, text } as QueryDocument;
  });
}

function randomFilter(seed: number, depth = 0): unknown {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[random.nextUint32() % list.length] as T;
  const scalars = ["a", "b", "ab", "", 0, 1, 1.5, -2, true, false];
  const field = pick(["x", "y", "tags", "id", "missing"]);
  const roll = random.nextUint32() % 10;
  if (depth < 2 && roll === 0) return ["And", [randomFilter(seed * 3 + 1, depth + 1), randomFilter(seed * 3 + 2, depth + 1)]];
  if (depth < 2 && roll === 1) return ["Or", [randomFilter(seed * 5 + 1, depth + 1), randomFilter(seed * 5 + 2, depth + 1)]];
  if (depth < 2 && roll === 2) return ["Not", randomFilter(seed * 7 + 1, depth + 1)];
  const op = pick(["Eq", "NotEq", "Lt", "Lte", "Gt", "Gte", "In", "NotIn", "ContainsAny", "ContainsAll", "Glob", "IGlob", "Regex", "ContainsAllTokens", "ContainsAnyToken", "AnyLt", "AnyGte", "Exists"]);
  if (op === "Exists") return [field, op];
  if (op === "AnyLt" || op === "AnyGte") return [field, op, pick(["a", "b", 0, 1, 1.5])];
  if (op === "Regex") return [field, op, pick(["^a", "b$", "a|b", "^$", "(?i)^A", "a+b", "[^a]"])];
  if (op === "ContainsAllTokens" || op === "ContainsAnyToken") {
    const params = random.nextUint32() % 3 === 0 ? [{ lastAsPrefix: true }] : [];
    return [field, op, pick<unknown>(["a", "b c", "A b", "", ["c", "a"], "ä", "zz a"]), ...params];
  }
  if (op === "Glob" || op === "IGlob") return [field, op, pick(["a*", "?", "[ab]*", "*B", "[!a]b"])];
  if (op === "In" || op === "NotIn" || op === "ContainsAny" || op === "ContainsAll") {
    return [field, op, Array.from({ length: random.nextUint32() % 3 }, () => pick(scalars))];
  }
  const value = pick(scalars);
  if (typeof value === "boolean" && op !== "Eq" && op !== "NotEq") return [field, "Eq", value];
  return [field, op, value];
}

describe("matchesFilter", () => {
  it("agrees with the index-based filter plan on random documents and filters", () => {
    let checked = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const docs = randomDocs(seed, 60);
      for (let f = 0; f < 25; f++) {
        const filter = parse(randomFilter(seed * 1_000 + f));
        const expected = slotsOf(docs, filter);
        const actual = docs.flatMap((doc, i) => (matchesFilter(doc, filter) ? [i] : []));
        expect(actual, JSON.stringify(filter, (k, v) => (k === "path" ? undefined : v))).toEqual(expected);
        checked++;
      }
    }
    expect(checked).toBe(1_000);
  });

  it("treats a missing attribute as matching NotEq, NotIn and Not, and nothing else", () => {
    const doc: QueryDocument = { id: "a", attributes: { n: null } };
    expect(matchesFilter(doc, parse(["x", "NotEq", 1]))).toBe(true);
    expect(matchesFilter(doc, parse(["x", "NotIn", [1]]))).toBe(true);
    expect(matchesFilter(doc, parse(["Not", ["x", "Eq", 1]]))).toBe(true);
    expect(matchesFilter(doc, parse(["x", "Lt", 1]))).toBe(false);
    expect(matchesFilter(doc, parse(["n", "Exists"]))).toBe(false);
    expect(matchesFilter(doc, parse(["id", "Exists"]))).toBe(true);
  });

  it("never matches across types: an array is not a scalar, a string is not a number", () => {
    const doc: QueryDocument = { id: "a", attributes: { tags: ["x", 1], n: "1" } };
    expect(matchesFilter(doc, parse(["tags", "Eq", "x"]))).toBe(false);
    expect(matchesFilter(doc, parse(["tags", "ContainsAll", ["x", 1.0]]))).toBe(true);
    expect(matchesFilter(doc, parse(["tags", "ContainsAny", []]))).toBe(false);
    expect(matchesFilter(doc, parse(["tags", "ContainsAll", []]))).toBe(true);
    expect(matchesFilter(doc, parse(["n", "Eq", 1]))).toBe(false);
    expect(matchesFilter(doc, parse(["n", "Gte", "0"]))).toBe(true);
  });
});
