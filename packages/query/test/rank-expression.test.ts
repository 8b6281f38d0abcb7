/**
 * Ranking expressions beyond BM25 combinations: Attribute, numbers, filters
 * as 0/1 boosts, Saturate, Decay, Dist (numbers and date-times), Max with
 * constants; scores checked against values computed by hand, over two
 * partitions, with the query's filters, and the parse errors.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, InvalidQueryError, parseQueryRequest, type QueryDocument } from "../src/index.ts";

const DOCS: QueryDocument[] = [
  { id: "a", text: { title: "quick fox" }, attributes: { clicks: 10, delta: -5, at: "2026-02-03T00:00:00.000Z", species: "whale" } },
  { id: "b", text: { title: "quick fox" }, attributes: { clicks: 1000, delta: 5, at: "2026-01-01T00:00:00.000Z", species: "fox" } },
  { id: "c", text: { title: "slow dog" }, attributes: { delta: "x", species: "dog" } },
];
const parts = [buildQueryIndex(DOCS.slice(0, 1), { metric: "COSINE" }), buildQueryIndex(DOCS.slice(1), { metric: "COSINE" })];

async function ranked(rankBy: unknown, filters?: unknown): Promise<[string, number][]> {
  const result = await executeQuery(parts, parseQueryRequest({ rankBy, topK: 100, ...(filters === undefined ? {} : { filters }) }));
  return result.rows.map((r) => [r.id, r.score as number]);
}

function expectRanked(got: [string, number][], want: [string, number][]): void {
  expect(got.map(([id]) => id)).toEqual(want.map(([id]) => id));
  for (const [i, [, s]] of got.entries()) expect(s).toBeCloseTo(want[i]![1], 12);
}

describe("ranking expressions", () => {
  it("rank by an attribute's number value; documents without one score 0", async () => {
    expectRanked(await ranked(["Attribute", "clicks"]), [
      ["b", 1000],
      ["a", 10],
      ["c", 0],
    ]);
    expectRanked(await ranked(["Attribute", "clicks"], ["species", "NotEq", "fox"]), [
      ["a", 10],
      ["c", 0],
    ]);
  });

  it("Saturate and Decay: v^e / (v^e + m^e) and m^e / (v^e + m^e)", async () => {
    expectRanked(await ranked(["Saturate", ["Attribute", "clicks"], { midpoint: 100 }]), [
      ["b", 1000 / 1100],
      ["a", 10 / 110],
      ["c", 0],
    ]);
    expectRanked(await ranked(["Saturate", ["Attribute", "clicks"], { midpoint: 100, exponent: 2 }]), [
      ["b", 1e6 / (1e6 + 1e4)],
      ["a", 100 / (100 + 1e4)],
      ["c", 0],
    ]);
    expectRanked(await ranked(["Decay", ["Attribute", "clicks"], { midpoint: 100 }]), [
      ["a", 100 / 110],
      ["b", 100 / 1100],
      ["c", 0],
    ]);
    // Saturate takes max(x, 0): a negative delta saturates to 0, Decay of it is 1.
    expectRanked(await ranked(["Saturate", ["Attribute", "delta"], { midpoint: 5 }]), [
      ["b", 0.5],
      ["a", 0],
      ["c", 0],
    ]);
    expectRanked(await ranked(["Decay", ["Attribute", "delta"], { midpoint: 5 }]), [
      ["a", 1],
      ["b", 0.5],
      ["c", 0],
    ]);
  });

  it("Dist: numbers, and date-times in milliseconds with a duration midpoint", async () => {
    expectRanked(await ranked(["Dist", ["Attribute", "clicks"], 10]), [
      ["b", 990],
      ["a", 0],
      ["c", 0],
    ]);
    // b is 33 days from the origin: 2,851,200,000 ms; 6h = 21,600,000 ms -> 21.6e6 / 2872.8e6 = 1/133.
    const recency = ["Decay", ["Dist", ["Attribute", "at"], "2026-02-03T00:00:00Z"], { midpoint: "6h" }];
    expectRanked(await ranked(recency), [
      ["a", 1],
      ["b", 1 / 133],
      ["c", 0],
    ]);
    // The same in milliseconds, and an origin without an offset is UTC.
    expectRanked(await ranked(["Decay", ["Dist", ["Attribute", "at"], "2026-02-03T00:00:00"], { midpoint: 21_600_000 }]), [
      ["a", 1],
      ["b", 1 / 133],
      ["c", 0],
    ]);
  });

  it("Max, Sum and Product with numbers and filters as 0/1", async () => {
    expectRanked(await ranked(["Max", 0, ["Attribute", "delta"]]), [
      ["b", 5],
      ["a", 0],
      ["c", 0],
    ]);
    expectRanked(await ranked(["Max", [["Attribute", "delta"], 0]]), [
      ["b", 5],
      ["a", 0],
      ["c", 0],
    ]);
    expectRanked(await ranked(["Sum", [["Attribute", "clicks"], 5]]), [
      ["b", 1005],
      ["a", 15],
      ["c", 5],
    ]);
    expectRanked(await ranked(["Product", 2, ["species", "Eq", "whale"]]), [
      ["a", 2],
      ["b", 0],
      ["c", 0],
    ]);
    expectRanked(await ranked(["species", "Eq", "fox"]), [
      ["b", 1],
      ["a", 0],
      ["c", 0],
    ]);
    expectRanked(await ranked(["Sum", [["Not", ["species", "Eq", "fox"]], ["And", [["clicks", "Gt", 5], ["delta", "Lt", 0]]]]]), [
      ["a", 2],
      ["c", 1],
      ["b", 0],
    ]);
  });

  it("boost BM25 matches: only documents a clause matches take part", async () => {
    const fox = new Map(await ranked(["title", "BM25", "fox"]));
    const s = fox.get("a")!;
    expect(fox.get("b")).toBeCloseTo(s, 12);
    expectRanked(await ranked(["Sum", [["title", "BM25", "fox"], ["species", "Eq", "whale"]]]), [
      ["a", s + 1],
      ["b", s],
    ]);
    expectRanked(await ranked(["Sum", [["title", "BM25", "fox"], ["Product", 1.7, ["Saturate", ["Attribute", "clicks"], { midpoint: 100 }]]]]), [
      ["b", s + (1.7 * 1000) / 1100],
      ["a", s + (1.7 * 10) / 110],
    ]);
    expectRanked(await ranked(["Sum", [["title", "BM25", "fox"], ["Decay", ["Dist", ["Attribute", "at"], "2026-02-03"], { midpoint: "6h" }]]]), [
      ["a", s + 1],
      ["b", s + 1 / 133],
    ]);
  });

  it("check a filter leaf's operand types like the query's filters", async () => {
    await expect(ranked(["Sum", [["Attribute", "clicks"], ["clicks", "Eq", "ten"]]])).rejects.toBeInstanceOf(InvalidQueryError);
  });

  it("refuse malformed expressions naming them", () => {
    const issue = (rankBy: unknown) => {
      try {
        parseQueryRequest({ rankBy });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidQueryError);
        return (error as InvalidQueryError).issues[0];
      }
      return undefined;
    };
    expect(issue(["Saturate", ["Attribute", "clicks"], {}])?.message).toMatch(/midpoint/);
    expect(issue(["Saturate", ["Attribute", "clicks"], { midpoint: 0 }])).toMatchObject({ path: ["rankBy", 2, "midpoint"] });
    expect(issue(["Decay", ["Attribute", "clicks"], { midpoint: "6 hours" }])).toMatchObject({ path: ["rankBy", 2, "midpoint"] });
    expect(issue(["Decay", ["Attribute", "clicks"], { midpoint: 1, exponent: -1 }])).toMatchObject({ path: ["rankBy", 2, "exponent"] });
    expect(issue(["Decay", ["Attribute", "clicks"], { midpoint: 1, shape: 2 }])?.message).toMatch(/unknown Decay parameter/);
    expect(issue(["Dist", ["Sum", [["Attribute", "at"]]], "2026-02-03"])?.message).toMatch(/date-time Dist measures an attribute/);
    expect(issue(["Dist", ["Attribute", "at"], "yesterday"])).toMatchObject({ path: ["rankBy", 2] });
    expect(issue(["Attribute", 3])).toMatchObject({ path: ["rankBy", 1] });
    expect(issue(["Sum", [["x", "Nope", 1]]])).toBeDefined();
    expect(issue(["Sum", Array.from({ length: 70 }, () => 1)])?.message).toMatch(/at most 64 nodes/);
    // ["Attribute", "asc"] orders by a field named Attribute.
    expect(parseQueryRequest({ rankBy: ["Attribute", "asc"] }).rankBy).toMatchObject({ kind: "attribute", field: "Attribute" });
  });
});
