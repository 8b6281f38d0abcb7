/**
 * The filter and rankBy builders write the server's JSON tuples, and the
 * types check them against a namespace's attribute type (the
 * `@ts-expect-error` lines fail `pnpm typecheck` if they ever compile).
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import { filter as f, type Filter, type QueryRequest, type RankBy, rankBy } from "../src/index.ts";
import { FakeServer, json } from "./support/fake-server.ts";

interface Product {
  category: string;
  price: number;
  year?: number | null;
  tags: string[];
  in_stock: boolean;
}

describe("filter builder", () => {
  it("writes the server's tuples", () => {
    expect(f.and(f.eq("category", "books"), f.lt("price", 20), f.not(f.exists("year")))).toEqual([
      "And",
      [
        ["category", "Eq", "books"],
        ["price", "Lt", 20],
        ["Not", ["year", "Exists"]],
      ],
    ]);
    expect(f.or(f.in("category", ["a", "b"]), f.notIn("id", ["x"]), f.notEq("in_stock", false))).toEqual([
      "Or",
      [
        ["category", "In", ["a", "b"]],
        ["id", "NotIn", ["x"]],
        ["in_stock", "NotEq", false],
      ],
    ]);
    expect([f.lte("price", 1), f.gt("price", 2), f.gte("category", "m")]).toEqual([
      ["price", "Lte", 1],
      ["price", "Gt", 2],
      ["category", "Gte", "m"],
    ]);
    expect([f.containsAny("tags", ["a"]), f.containsAll("tags", ["a", "b"]), f.anyLt("tags", "m"), f.anyLte("tags", "m"), f.anyGt("tags", "m"), f.anyGte("tags", "m")]).toEqual([
      ["tags", "ContainsAny", ["a"]],
      ["tags", "ContainsAll", ["a", "b"]],
      ["tags", "AnyLt", "m"],
      ["tags", "AnyLte", "m"],
      ["tags", "AnyGt", "m"],
      ["tags", "AnyGte", "m"],
    ]);
    expect([f.glob("category", "bo*"), f.iglob("category", "BO*"), f.regex("category", "^b")]).toEqual([
      ["category", "Glob", "bo*"],
      ["category", "IGlob", "BO*"],
      ["category", "Regex", "^b"],
    ]);
    expect(f.containsAllTokens("title", "quick fox")).toEqual(["title", "ContainsAllTokens", "quick fox"]);
    expect(f.containsTokenSequence("title", "quick fox")).toEqual(["title", "ContainsTokenSequence", "quick fox"]);
    expect(f.fuzzy("title", "turbopufer")).toEqual(["title", "Fuzzy", "turbopufer"]);
    const typo: Filter = f.fuzzy("title", "kittem", { maxEditDistance: [{ distance: 1, minQueryChars: 6 }], caseSensitive: false });
    expect(typo).toEqual(["title", "Fuzzy", "kittem", { maxEditDistance: [{ distance: 1, minQueryChars: 6 }], caseSensitive: false }]);
    expect(f.fuzzySubstring("company", "turbopufer")).toEqual(["company", "FuzzySubstring", "turbopufer"]);
    const contains: Filter = f.fuzzySubstring("company", "turbopufer", { maxEditDistance: [{ distance: 1, minQueryChars: 6 }] });
    expect(contains).toEqual(["company", "FuzzySubstring", "turbopufer", { maxEditDistance: [{ distance: 1, minQueryChars: 6 }] }]);
    expect(f.containsAnyToken("title", ["fox", "qu"], { lastAsPrefix: true })).toEqual(["title", "ContainsAnyToken", ["fox", "qu"], { lastAsPrefix: true }]);
  });

  it("types operands by the namespace's attributes", () => {
    const ok: Filter<Product> = f.and(f.eq("category", "books"), f.lt("price", 20), f.containsAny("tags", ["x"]), f.eq("id", "p1"), f.gte("year", 2000));
    expect(ok[0]).toBe("And");
    const raw: Filter<Product> = ["Or", [["price", "Gt", 5], ["in_stock", "Eq", true], ["body", "ContainsAllTokens", "fox"]]];
    expect(raw[0]).toBe("Or");
    // @ts-expect-error price holds numbers, not strings
    const wrongType: Filter<Product> = f.eq("price", "10");
    // @ts-expect-error no attribute colour
    const unknownField: Filter<Product> = f.eq("colour", "red");
    // @ts-expect-error Lt compares numbers or strings, not booleans
    const boolOrder: Filter<Product> = ["in_stock", "Lt", true];
    // @ts-expect-error Exists takes no operand
    const extra: Filter<Product> = ["price", "Exists", 1];
    // @ts-expect-error not a filter operator
    const badOp: Filter<Product> = ["price", "Between", 1];
    // Without a type, any attribute name and scalar is accepted.
    const loose: Filter = f.and(f.eq("anything", 1), f.lt("else", "x"));
    expect([wrongType, unknownField, boolOrder, extra, badOp, loose]).toHaveLength(6);
  });
});

describe("rankBy builder", () => {
  it("writes the server's tuples", () => {
    expect(rankBy.vector([0.1, 0.2])).toEqual(["vector", "kNN", [0.1, 0.2]]);
    expect(rankBy.ann([1])).toEqual(["vector", "ANN", [1]]);
    expect(rankBy.sparse({ indices: [3, 17], values: [0.5, 1.2] })).toEqual(["sparse", "Dot", { indices: [3, 17], values: [0.5, 1.2] }]);
    expect(rankBy.bm25("title", "fox")).toEqual(["title", "BM25", "fox"]);
    expect(rankBy.bm25("title", "qu", { lastAsPrefix: true })).toEqual(["title", "BM25", "qu", { lastAsPrefix: true }]);
    expect(rankBy.sum(rankBy.product(2, rankBy.bm25("title", "fox")), rankBy.max(rankBy.bm25("body", "fox")))).toEqual([
      "Sum",
      [
        ["Product", 2, ["title", "BM25", "fox"]],
        ["Max", [["body", "BM25", "fox"]]],
      ],
    ]);
    expect(rankBy.desc("price")).toEqual(["price", "desc"]);
    expect(rankBy.asc("price", { missing: "first" })).toEqual(["price", "asc", { missing: "first" }]);
    expect(rankBy.order(["category", "asc", { missing: "first" }], ["price", "desc"])).toEqual([
      ["category", "asc", { missing: "first" }],
      ["price", "desc"],
    ]);
    expect(rankBy.order(["category", "asc"], ["price", "desc"])).toEqual([
      ["category", "asc"],
      ["price", "desc"],
    ]);
    expect(
      rankBy.sum(
        rankBy.bm25("title", "fox"),
        rankBy.product(1.7, rankBy.saturate(rankBy.attribute("clicks"), { midpoint: 100, exponent: 2 })),
        rankBy.decay(rankBy.dist(rankBy.attribute("at"), "2026-02-03T00:00:00Z"), { midpoint: "6h" }),
        f.eq("species", "whale"),
        1,
      ),
    ).toEqual([
      "Sum",
      [
        ["title", "BM25", "fox"],
        ["Product", 1.7, ["Saturate", ["Attribute", "clicks"], { midpoint: 100, exponent: 2 }]],
        ["Decay", ["Dist", ["Attribute", "at"], "2026-02-03T00:00:00Z"], { midpoint: "6h" }],
        ["species", "Eq", "whale"],
        1,
      ],
    ]);
    const floor: RankBy = rankBy.max(0, rankBy.attribute("delta"));
    expect(floor).toEqual(["Max", [0, ["Attribute", "delta"]]]);
    expect(rankBy.rrf([rankBy.vector([1]), rankBy.bm25("body", "x")], { k: 10, weights: [2, 1] })).toEqual([
      "RRF",
      [
        ["vector", "kNN", [1]],
        ["body", "BM25", "x"],
      ],
      { k: 10, weights: [2, 1] },
    ]);
    expect(rankBy.rrf([rankBy.asc("id")])).toEqual(["RRF", [["id", "asc"]]]);
  });

  it("types orderings by the namespace's attributes", () => {
    const ok: RankBy<Product> = rankBy.rrf([rankBy.desc("price"), rankBy.order(["category", "asc"], ["id", "desc"]), rankBy.bm25("any_text_field", "x")]);
    expect(ok[0]).toBe("RRF");
    // @ts-expect-error no attribute nope
    const unknown: RankBy<Product> = rankBy.desc("nope");
    // @ts-expect-error RRF does not nest
    const nested: RankBy<Product> = rankBy.rrf([rankBy.rrf([rankBy.desc("price")])]);
    // @ts-expect-error kNN ranks by "vector"
    const wrongField: RankBy<Product> = ["embedding", "kNN", [1]];
    expect([unknown, nested, wrongField]).toHaveLength(3);
  });
});

describe("typed queries", () => {
  it("sends the request as built, with atVersion and consistency from the options", async () => {
    const server = new FakeServer().answer(json(200, { version: 4, rows: [{ id: "p1", score: 1.5, attributes: { price: 3 } }] }));
    const ns = server.client().namespace<Product>("acme", "shop", "products");
    const result = await ns.query(
      {
        rankBy: rankBy.bm25("title", "kettle"),
        filters: f.and(f.eq("in_stock", true), f.lt("price", 20)),
        topK: 3,
        includeAttributes: ["price"],
        aggregateBy: { n: ["Count"], total: ["Sum", "price"] },
        limitPer: { attributes: ["category"], limit: 1 },
      },
      { atVersion: 4, consistency: "strong" },
    );
    expectTypeOf(result.rows[0]?.attributes?.price).toEqualTypeOf<number | undefined>();
    expect(result.rows[0]?.attributes?.price).toBe(3);
    expect(server.calls[0]?.body).toEqual({
      rankBy: ["title", "BM25", "kettle"],
      filters: [
        "And",
        [
          ["in_stock", "Eq", true],
          ["price", "Lt", 20],
        ],
      ],
      topK: 3,
      includeAttributes: ["price"],
      aggregateBy: { n: ["Count"], total: ["Sum", "price"] },
      limitPer: { attributes: ["category"], limit: 1 },
      atVersion: 4,
      consistency: "strong",
    });
    const bad: QueryRequest<Product> = {
      // @ts-expect-error Sum of an attribute that does not exist
      aggregateBy: { total: ["Sum", "weight"] },
      // @ts-expect-error includeAttributes names attributes
      includeAttributes: ["weight"],
    };
    expect(bad).toBeDefined();
    const grouped: QueryRequest<Product> = { aggregateBy: { n: ["Count"] }, groupBy: ["category", { tag: ["ForEachUnique", "tags"] }] };
    expect(grouped.groupBy).toHaveLength(2);
    // @ts-expect-error ForEachUnique names an attribute
    const badGroup: QueryRequest<Product> = { aggregateBy: { n: ["Count"] }, groupBy: [{ tag: ["ForEachUnique", "labels"] }] };
    expect(badGroup).toBeDefined();
    const computed: QueryRequest<Product> = {
      computeAttributes: { d: ["vector", "VectorDist", [1, 2]], boost: rankBy.saturate(rankBy.attribute("price"), { midpoint: 10 }), hit: f.fuzzy("title", "kettel") },
    };
    expect(Object.keys(computed.computeAttributes ?? {})).toEqual(["d", "boost", "hit"]);
  });
});
