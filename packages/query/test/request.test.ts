import { describe, expect, it } from "vitest";
import {
  buildQueryIndex,
  executeQuery,
  type InvalidQueryError,
  isInvalidDocument,
  isInvalidQuery,
  parseQueryRequest,
} from "../src/index.ts";

function parseError(json: unknown, options = {}): InvalidQueryError {
  try {
    parseQueryRequest(json, options);
  } catch (error) {
    expect(isInvalidQuery(error)).toBe(true);
    return error as InvalidQueryError;
  }
  throw new Error("expected InvalidQueryError");
}

describe("query requests", () => {
  it("applies defaults to a minimal request", () => {
    expect(parseQueryRequest({})).toEqual({ topK: 10, includeAttributes: "none", includeVectors: false, consistency: "strong" });
  });

  it("an unknown filter or rankBy operator is an unknown_operator error naming its path", () => {
    expect(parseError({ filters: ["And", [["a", "Eq", 1], ["b", "Like", "x"]]] })).toMatchObject({ reason: "unknown_operator", path: ["filters", 1, 1, 1] });
    expect(parseError({ rankBy: ["vector", "Nearest", [1]] })).toMatchObject({ reason: "unknown_operator", path: ["rankBy", 1] });
  });

  it("NaN and infinities are not_finite errors", () => {
    expect(parseError({ rankBy: ["vector", "kNN", [1, Number.NaN]] })).toMatchObject({ reason: "not_finite", path: ["rankBy", 2, 1] });
    expect(parseError({ filters: ["price", "Lt", Number.POSITIVE_INFINITY] })).toMatchObject({ reason: "not_finite", path: ["filters", 2] });
    expect(parseError({ distanceThreshold: Number.NaN, rankBy: ["vector", "kNN", [1]] })).toMatchObject({ reason: "not_finite", path: ["distanceThreshold"] });
  });

  it("topK above the cap is a top_k_cap error", () => {
    expect(parseError({ topK: 10_001 })).toMatchObject({ reason: "top_k_cap", path: ["topK"] });
    expect(parseError({ topK: 101 }, { maxTopK: 100 })).toMatchObject({ reason: "top_k_cap" });
    expect(parseQueryRequest({ topK: 100 }, { maxTopK: 100 }).topK).toBe(100);
  });

  it("a vector of the wrong dimension is a dimension_mismatch error, at parse time or at execution", async () => {
    expect(parseError({ rankBy: ["vector", "kNN", [1, 2]] }, { dimension: 3 })).toMatchObject({ reason: "dimension_mismatch", path: ["rankBy", 2] });
    const index = buildQueryIndex([{ id: "a", vector: [1, 2, 3] }], { metric: "COSINE" });
    const error = await executeQuery([index], parseQueryRequest({ rankBy: ["vector", "kNN", [1, 2]] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "InvalidQuery", reason: "dimension_mismatch", path: ["rankBy", 2] });
  });

  it("malformed shapes and unknown keys are rejected with their paths", () => {
    expect(parseError({ topk: 3 })).toMatchObject({ reason: "unknown_field" });
    expect(parseError({ filters: ["a", "In", "x"] })).toMatchObject({ path: ["filters", 2] });
    expect(parseError({ filters: ["a", "Gt", true] })).toMatchObject({ reason: "type_mismatch", path: ["filters", 2] });
    expect(parseError({ filters: ["a", "Glob", 3] })).toMatchObject({ reason: "type_mismatch", path: ["filters", 2] });
    expect(parseError({ filters: ["a", "Eq", { x: 1 }] })).toMatchObject({ path: ["filters", 2] });
    expect(parseError({ rankBy: ["RRF", [["RRF", []]]] })).toMatchObject({ reason: "unsupported" });
    expect(parseError({ groupBy: ["a"] })).toMatchObject({ path: ["groupBy"] });
    expect(parseError({ distanceThreshold: 1, rankBy: ["t", "BM25", "x"] })).toMatchObject({ reason: "unsupported" });
    expect(parseError({ rankBy: ["t", "BM25", "x", { prefix: true }] })).toMatchObject({ reason: "schema", path: ["rankBy", 3, "prefix"] });
    expect(parseError({ rankBy: ["t", "BM25", "x", { lastAsPrefix: 1 }] })).toMatchObject({ reason: "type_mismatch", path: ["rankBy", 3, "lastAsPrefix"] });
    expect(parseError({ rankBy: ["t", "BM25", "x", true] })).toMatchObject({ path: ["rankBy", 3] });
    expect(parseError({ rankBy: ["Sum", [["t", "BM25", "x", { lastAsPrefix: "no" }]]] })).toMatchObject({ path: ["rankBy", 1, 0, 3, "lastAsPrefix"] });
    expect(parseQueryRequest({ rankBy: ["t", "BM25", "x", { lastAsPrefix: true }] }).rankBy).toMatchObject({ kind: "bm25", lastAsPrefix: true });
    expect(parseQueryRequest({ rankBy: ["t", "BM25", "x"] }).rankBy).toMatchObject({ kind: "bm25", lastAsPrefix: false });
    expect(parseError({ consistency: "sometimes" })).toMatchObject({ path: ["consistency"] });
    expect(parseError({ rankBy: ["sparse", "Dot", { indices: [2, 1], values: [1, 1] }] })).toMatchObject({ path: ["rankBy", 2, "indices", 1] });
  });

  it("accepts every documented form", () => {
    const r = parseQueryRequest({
      rankBy: ["RRF", [["vector", "ANN", [1, 0]], ["title", "BM25", "hello"], ["sparse", "Dot", { indices: [1], values: [0.5] }], ["price", "desc"]], { k: 30, window: 50 }],
      filters: ["Or", [["id", "In", ["a"]], ["Not", ["tags", "ContainsAll", ["x"]]], ["c", "Exists"], ["d", "IGlob", "A*"]]],
      topK: 5,
      includeAttributes: ["c"],
      includeVectors: true,
      distanceMetric: "EUCLIDEAN",
      aggregateBy: { n: ["Count"] },
      groupBy: ["c"],
      consistency: "eventual",
      atVersion: 3,
      probes: 4,
    });
    expect(r.rankBy?.kind).toBe("rrf");
    expect(r.consistency).toBe("eventual");
    expect(r.atVersion).toBe(3);
  });

  it("documents that cannot be indexed are InvalidDocument errors", () => {
    const bad = [
      [{ id: "a", vector: [1, 2] }, { id: "b", vector: [1] }],
      [{ id: "a" }, { id: "a" }],
      [{ id: "a", vector: [Number.NaN] }],
      [{ id: "a", sparse: { indices: [2, 1], values: [1, 1] } }],
      [{ id: "a", attributes: { x: Number.POSITIVE_INFINITY } }],
    ];
    for (const docs of bad) {
      let error: unknown;
      try {
        buildQueryIndex(docs, { metric: "DOT" });
      } catch (e) {
        error = e;
      }
      expect(isInvalidDocument(error), JSON.stringify(docs)).toBe(true);
    }
  });
});
