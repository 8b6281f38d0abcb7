/**
 * AnyLt / AnyLte / AnyGt / AnyGte: some element of an array value compares
 * (numbers by value, strings by code units; other types never), the same
 * from the plan and the per-document matcher; non-array attributes and
 * operands of a type the elements never have are type mismatches.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { matchesFilter } from "../src/filter-match.ts";

const DOCS: QueryDocument[] = [
  { id: "a", attributes: { scores: [1, 5, 9], names: ["kim", "lee"], n: 3 } },
  { id: "b", attributes: { scores: [10, 20], names: ["ada"] } },
  { id: "c", attributes: { scores: [], names: [] } },
  { id: "d", attributes: { scores: [-2.5, "x", true], names: ["zoe", 4] } },
  { id: "e", attributes: {} },
];

async function ids(filter: unknown): Promise<string[]> {
  const request = parseQueryRequest({ filters: filter, topK: 100 });
  const parts = [buildQueryIndex(DOCS.slice(0, 3), { metric: "COSINE" }), buildQueryIndex(DOCS.slice(3), { metric: "COSINE" })];
  const viaPlan = (await executeQuery(parts, request)).rows.map((row) => row.id).sort();
  expect(viaPlan).toEqual(DOCS.filter((doc) => matchesFilter(doc, request.filters!)).map((doc) => doc.id));
  return viaPlan;
}

describe("element comparisons", () => {
  it("match arrays with an element that compares", async () => {
    expect(await ids(["scores", "AnyLt", 2])).toEqual(["a", "d"]);
    expect(await ids(["scores", "AnyLte", 1])).toEqual(["a", "d"]);
    expect(await ids(["scores", "AnyGt", 9])).toEqual(["b"]);
    expect(await ids(["scores", "AnyGte", 9])).toEqual(["a", "b"]);
    expect(await ids(["names", "AnyGte", "l"])).toEqual(["a", "d"]);
    expect(await ids(["names", "AnyLt", "b"])).toEqual(["b"]);
    expect(await ids(["Not", ["scores", "AnyGt", 0]])).toEqual(["c", "d", "e"]);
  });

  it("refuse non-array attributes, mismatched operands and bad operands", async () => {
    const index = buildQueryIndex(DOCS, { metric: "COSINE" });
    await expect(executeQuery([index], parseQueryRequest({ filters: ["n", "AnyLt", 4] }))).rejects.toMatchObject({ reason: "type_mismatch", path: ["filters", 1] });
    const strings = buildQueryIndex([{ id: "s", attributes: { names: ["a"] } }], { metric: "COSINE" });
    await expect(executeQuery([strings], parseQueryRequest({ filters: ["names", "AnyLt", 4] }))).rejects.toMatchObject({ reason: "type_mismatch", path: ["filters", 2] });
    expect(() => parseQueryRequest({ filters: ["scores", "AnyLt", true] })).toThrow(/number or a string/);
    expect(() => parseQueryRequest({ filters: ["scores", "AnyLt", [1]] })).toThrow(/number or a string/);
  });
});
