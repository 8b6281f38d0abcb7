/**
 * Combinations of BM25 clauses: parsing (nesting, weights either side,
 * limits, a text field named "Sum"), and scores equal to the clauses'
 * single BM25 rankings combined, with filters and over partitions.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, InvalidQueryError, parseQueryRequest, type QueryDocument } from "../src/index.ts";

const DOCS: QueryDocument[] = [
  { id: "a", text: { title: "fox", body: "the dog sleeps" }, attributes: { k: 1 } },
  { id: "b", text: { title: "dog", body: "fox fox fox" }, attributes: { k: 2 } },
  { id: "c", text: { title: "cat", body: "nothing" }, attributes: { k: 1 } },
  { id: "d", text: { title: "fox den", body: "a fox" }, attributes: { k: 2 } },
  { id: "e", text: { title: "red fox", Sum: "fox" }, attributes: { k: 1 } },
];
const parts = [buildQueryIndex(DOCS.slice(0, 2), { metric: "COSINE" }), buildQueryIndex(DOCS.slice(2), { metric: "COSINE" })];

async function scores(rankBy: unknown, filters?: unknown): Promise<Map<string, number>> {
  const result = await executeQuery(parts, parseQueryRequest({ rankBy, topK: 100, ...(filters === undefined ? {} : { filters }) }));
  return new Map(result.rows.map((r) => [r.id, r.score as number]));
}

describe("BM25 clause combinations", () => {
  it("combine the clauses' own BM25 scores: Sum, Max, Product, nested", async () => {
    const title = await scores(["title", "BM25", "fox"]);
    const body = await scores(["body", "BM25", "fox"]);
    const t = (id: string) => title.get(id) ?? 0;
    const b = (id: string) => body.get(id) ?? 0;
    const check = async (rankBy: unknown, f: (id: string) => number) => {
      const got = await scores(rankBy);
      expect([...got.keys()].sort()).toEqual(["a", "b", "d", "e"]);
      const order = [...got.keys()];
      const expected = [...got.keys()].sort((x, y) => f(y) - f(x) || (x < y ? -1 : 1));
      expect(order).toEqual(expected);
      for (const [id, s] of got) expect(s).toBeCloseTo(f(id), 12);
    };
    await check(["Sum", [["title", "BM25", "fox"], ["body", "BM25", "fox"]]], (id) => t(id) + b(id));
    await check(["Max", [["title", "BM25", "fox"], ["body", "BM25", "fox"]]], (id) => Math.max(t(id), b(id)));
    await check(["Sum", [["Product", 3, ["title", "BM25", "fox"]], ["Product", ["body", "BM25", "fox"], 0.5]]], (id) => 3 * t(id) + 0.5 * b(id));
    await check(["Max", [["Sum", [["title", "BM25", "fox"], ["body", "BM25", "fox"]]], ["Product", 2, ["title", "BM25", "fox"]]]], (id) =>
      Math.max(t(id) + b(id), 2 * t(id)),
    );
    // Filters select rows; they do not change the statistics.
    const filtered = await scores(["Sum", [["title", "BM25", "fox"], ["body", "BM25", "fox"]]], ["k", "Eq", 2]);
    expect([...filtered.entries()]).toEqual(
      ["b", "d"].map((id) => [id, t(id) + b(id)] as const).sort((x, y) => y[1] - x[1]),
    );
  });

  it("read ['Sum', 'BM25', text] as a clause on a field named Sum", async () => {
    expect([...(await scores(["Sum", "BM25", "fox"])).keys()]).toEqual(["e"]);
    expect([...(await scores(["Max", [["Sum", "BM25", "fox"]]])).keys()]).toEqual(["e"]);
  });

  it("refuse malformed combinations naming them", () => {
    const issue = (rankBy: unknown) => {
      try {
        parseQueryRequest({ rankBy });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidQueryError);
        return (error as InvalidQueryError).issues[0];
      }
      return undefined;
    };
    expect(issue(["Sum", []])).toMatchObject({ path: ["rankBy"] });
    expect(issue(["Sum", [["title", "asc"]]])).toMatchObject({ path: ["rankBy", 1, 0] });
    expect(issue(["Product", "x", ["title", "BM25", "a"]])).toMatchObject({ path: ["rankBy", 2] });
    expect(issue(["Product", Number.POSITIVE_INFINITY, ["title", "BM25", "a"]])).toBeDefined();
    expect(issue(["Sum", Array.from({ length: 17 }, () => ["title", "BM25", "a"])])?.message).toMatch(/at most 16/);
    let deep: unknown = ["title", "BM25", "a"];
    for (let i = 0; i < 10; i++) deep = ["Sum", [deep]];
    expect(issue(deep)?.message).toMatch(/nest at most/);
  });
});
