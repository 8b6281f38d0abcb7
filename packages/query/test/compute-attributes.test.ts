/**
 * computeAttributes: ranking expressions and VectorDist computed for the
 * returned rows, by hand; null where there is no value; names as data (own
 * properties, in row(i) and json(i) alike); the parse errors.
 */
import { describe, expect, it } from "vitest";
import { buildQueryIndex, executeQuery, InvalidQueryError, parseQueryRequest, type QueryDocument } from "../src/index.ts";
import { executeQueryRows } from "../src/execute-query.ts";

const DOCS: QueryDocument[] = [
  { id: "a", vector: [1, 0], text: { title: "quick fox" }, attributes: { clicks: 10, species: "whale" } },
  { id: "b", vector: [0, 2], text: { title: "quick fox" }, attributes: { clicks: 1000, species: "fox" } },
  { id: "c", text: { title: "slow dog" }, attributes: { species: "dog" } },
];
const parts = [buildQueryIndex(DOCS.slice(0, 1), { metric: "COSINE" }), buildQueryIndex(DOCS.slice(1), { metric: "COSINE" })];

describe("computeAttributes", () => {
  it("computes expressions and vector distances for the returned rows", async () => {
    const result = await executeQuery(
      parts,
      parseQueryRequest({
        rankBy: ["id", "asc"],
        topK: 10,
        computeAttributes: {
          sat: ["Saturate", ["Attribute", "clicks"], { midpoint: 100 }],
          whale: ["species", "Eq", "whale"],
          d: ["vector", "VectorDist", [1, 1]],
          fox: ["title", "BM25", "fox"],
        },
      }),
    );
    const fox = new Map((await executeQuery(parts, parseQueryRequest({ rankBy: ["title", "BM25", "fox"] }))).rows.map((r) => [r.id, r.score]));
    const c = (id: string) => result.rows.find((r) => r.id === id)!.computed!;
    expect(c("a")["sat"]).toBeCloseTo(10 / 110, 12);
    expect(c("b")["sat"]).toBeCloseTo(1000 / 1100, 12);
    expect(c("c")["sat"]).toBeNull();
    expect([c("a")["whale"], c("b")["whale"], c("c")["whale"]]).toEqual([1, 0, 0]);
    expect(c("a")["d"]).toBeCloseTo(1 - 1 / Math.SQRT2, 12);
    expect(c("b")["d"]).toBeCloseTo(1 - 1 / Math.SQRT2, 12);
    expect(c("c")["d"]).toBeNull();
    expect(c("a")["fox"]).toBeCloseTo(fox.get("a")!, 12);
    expect(c("c")["fox"]).toBe(0);
    expect(Object.keys(c("a"))).toEqual(["sat", "whale", "d", "fox"]);
    // Under the query's metric.
    const euclid = await executeQuery(parts, parseQueryRequest({ rankBy: ["vector", "kNN", [1, 0]], distanceMetric: "EUCLIDEAN", computeAttributes: { d: ["vector", "VectorDist", [1, 1]] } }));
    expect(euclid.rows.map((r) => r.id)).toEqual(["a", "b"]);
    expect(euclid.rows[0]!.computed!["d"]).toBeCloseTo(1, 12);
    expect(euclid.rows[1]!.computed!["d"]).toBeCloseTo(Math.SQRT2, 12);
  });

  it("keeps names as data and makes json(i) the JSON of row(i)", async () => {
    const request = parseQueryRequest(JSON.parse('{"topK": 3, "computeAttributes": {"__proto__": ["Attribute", "clicks"], "1": 2, "constructor": ["Max", 0, ["Attribute", "clicks"]]}}'));
    const { rows } = await executeQueryRows(parts, request);
    for (let i = 0; i < rows.length; i++) expect(rows.json(i)).toBe(JSON.stringify(rows.row(i)));
    const a = rows.row(0).computed!;
    expect(Object.hasOwn(a, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(a, "__proto__")?.value).toBe(10);
    expect(a["constructor"]).toBe(10);
    expect(rows.row(2).computed!["constructor"]).toBe(0);
  });

  it("refuses malformed entries naming them", async () => {
    const issue = (computeAttributes: unknown, dimension?: number) => {
      try {
        parseQueryRequest({ computeAttributes }, dimension === undefined ? {} : { dimension });
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidQueryError);
        return (error as InvalidQueryError).issues[0];
      }
      return undefined;
    };
    expect(issue({ d: ["embedding", "VectorDist", [1, 2]] })).toMatchObject({ path: ["computeAttributes", "d"] });
    expect(issue({ d: ["vector", "VectorDist", [1, 2, 3]] }, 2)).toMatchObject({ reason: "dimension_mismatch" });
    expect(issue({ d: ["Highlight", "title"] })).toMatchObject({ path: ["computeAttributes", "d"] });
    expect(issue([])).toBeDefined();
    expect(issue({})).toBeDefined();
    await expect(executeQuery(parts, parseQueryRequest({ computeAttributes: { d: ["vector", "VectorDist", [1, 2, 3]] } }))).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(executeQuery(parts, parseQueryRequest({ computeAttributes: { d: ["clicks", "Eq", "ten"] } }))).rejects.toBeInstanceOf(InvalidQueryError);
  });
});
