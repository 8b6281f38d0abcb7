/**
 * Group functions: `{"<name>": ["ForEachUnique", "attr"]}` puts a document in
 * one group per distinct element of its array value (scalars: themselves;
 * missing, null, empty: the null group), beside plain keys, with counts and
 * sums per group computed by hand, over two partitions; names are data; the
 * parse errors.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, InvalidQueryError, parseQueryRequest, type QueryDocument } from "../src/index.ts";

const DOCS: QueryDocument[] = [
  { id: "a", attributes: { tags: ["red", "blue", "red"], kind: "x", price: 1 } },
  { id: "b", attributes: { tags: ["blue"], kind: "y", price: 2 } },
  { id: "c", attributes: { tags: [], kind: "x", price: 4 } },
  { id: "d", attributes: { tags: "green", kind: "x", price: 8 } },
  { id: "e", attributes: { kind: "y", price: 16 } },
  { id: "f", attributes: { tags: ["blue", "green"], kind: "x", price: 32 } },
];
const parts = [buildQueryIndex(DOCS.slice(0, 3), { metric: "COSINE" }), buildQueryIndex(DOCS.slice(3), { metric: "COSINE" })];

async function groups(request: Record<string, unknown>) {
  return (await executeQuery(parts, parseQueryRequest({ aggregateBy: { n: ["Count"], total: ["Sum", "price"] }, ...request }))).aggregationGroups;
}

describe("group functions", () => {
  it("ForEachUnique: one group per distinct element, counted and summed per group", async () => {
    expect(await groups({ groupBy: [{ tag: ["ForEachUnique", "tags"] }] })).toEqual([
      { group: { tag: "blue" }, aggregations: { n: 3, total: 35 } },
      // Ties by the key's JSON: ["green"] before [null].
      { group: { tag: "green" }, aggregations: { n: 2, total: 40 } },
      { group: { tag: null }, aggregations: { n: 2, total: 20 } },
      { group: { tag: "red" }, aggregations: { n: 1, total: 1 } },
    ]);
  });

  it("beside plain keys, every combination; with filters and topK", async () => {
    expect(await groups({ groupBy: ["kind", { tag: ["ForEachUnique", "tags"] }], filters: ["price", "Lt", 30] })).toEqual([
      { group: { kind: "x", tag: "blue" }, aggregations: { n: 1, total: 1 } },
      { group: { kind: "x", tag: "green" }, aggregations: { n: 1, total: 8 } },
      { group: { kind: "x", tag: "red" }, aggregations: { n: 1, total: 1 } },
      { group: { kind: "x", tag: null }, aggregations: { n: 1, total: 4 } },
      { group: { kind: "y", tag: "blue" }, aggregations: { n: 1, total: 2 } },
      { group: { kind: "y", tag: null }, aggregations: { n: 1, total: 16 } },
    ]);
    expect(await groups({ groupBy: [{ tag: ["ForEachUnique", "tags"], k: ["ForEachUnique", "kind"] }], topK: 2 })).toEqual([
      { group: { tag: "blue", k: "x" }, aggregations: { n: 2, total: 33 } },
      { group: { tag: "green", k: "x" }, aggregations: { n: 2, total: 40 } },
    ]);
  });

  it("keeps key names as data", async () => {
    const got = await groups({ groupBy: [JSON.parse('{"__proto__": ["ForEachUnique", "tags"]}')] });
    expect(got?.[0]?.group).toEqual(JSON.parse('{"__proto__": "blue"}'));
    expect(Object.hasOwn(got![0]!.group, "__proto__")).toBe(true);
  });

  it("refuses malformed group keys naming them", () => {
    const issue = (groupBy: unknown) => {
      try {
        parseQueryRequest({ aggregateBy: { n: ["Count"] }, groupBy });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidQueryError);
        return (error as InvalidQueryError).issues[0];
      }
      return undefined;
    };
    expect(issue([{ tag: ["ForEachDistinct", "tags"] }])).toMatchObject({ path: ["groupBy", 0, "tag", 0], reason: "unknown_operator" });
    expect(issue([{ tag: ["ForEachUnique"] }])).toMatchObject({ path: ["groupBy", 0, "tag"] });
    expect(issue(["tag", { tag: ["ForEachUnique", "tags"] }])?.message).toMatch(/appears twice/);
    expect(issue([{}])).toMatchObject({ path: ["groupBy", 0] });
    expect(issue([])).toBeDefined();
    expect(issue([3])).toBeDefined();
    expect(() => parseQueryRequest({ groupBy: [{ tag: ["ForEachUnique", "tags"] }] })).toThrow(/needs aggregateBy/);
  });
});
