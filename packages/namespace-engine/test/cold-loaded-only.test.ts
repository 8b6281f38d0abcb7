/**
 * Request features that only the loaded executor used to answer (before
 * loaded-only.ts registered them as cold): on a compacted namespace whose
 * segment indexes are not loaded, each is answered by a cold path (one cold
 * query counted, no index loaded) exactly as an engine with cold reads off.
 */
import { describe, expect, it } from "vitest";
import type { DocumentInput } from "@skerry/namespace-engine";
import { compactedNamespace, makeEngine } from "./support/harness.ts";

const NS = "acme/loadedonly/docs";
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];

function doc(i: number): DocumentInput {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    text: { body: Array.from({ length: 2 + (i % 5) }, (_, j) => WORDS[(i * (j + 3)) % WORDS.length]).join(" ") },
    attributes: { n: i, color: ["red", "green", "blue"][i % 3]!, at: new Date(Date.UTC(2026, 0, 1 + (i % 60))).toISOString(), tags: [`t${i % 4}`, `t${i % 7}`] },
  };
}

const ONCE_LOADED_ONLY_REQUESTS: Record<string, unknown>[] = [
  // Fuzzy filters: a listing, under BM25, under a selective dense ranking, negated, in an aggregation, as a ranking
  // expression's operand.
  { filters: ["body", "Fuzzy", "foxtrat"], topK: 20 },
  { rankBy: ["body", "BM25", "alpha"], filters: ["Or", [["body", "Fuzzy", "hotle"], ["n", "Lt", 3]]], topK: 20 },
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], filters: ["And", [["n", "Lt", 100], ["body", "Fuzzy", "charlee"]]], topK: 5 },
  { filters: ["Not", ["body", "Fuzzy", "golf"]], topK: 5 },
  { filters: ["body", "Fuzzy", "deltta"], aggregateBy: { c: ["Count"] } },
  { rankBy: ["Sum", [["Attribute", "n"], ["Product", 5000, ["body", "Fuzzy", "hotle"]]]], topK: 5 },
  // Group functions: the cold aggregation would group by an attribute named "t".
  { aggregateBy: { c: ["Count"] }, groupBy: [{ t: ["ForEachUnique", "tags"] }], filters: ["n", "Lt", 500] },
  { aggregateBy: { c: ["Count"], s: ["Sum", "n"] }, groupBy: ["color", { t: ["ForEachUnique", "tags"] }] },
  // A computed attribute with a Fuzzy operand.
  { rankBy: ["body", "BM25", "alpha"], topK: 5, computeAttributes: { near: ["body", "Fuzzy", "golph"] } },
  // Ranking expressions and computed attributes.
  { rankBy: ["Sum", [["body", "BM25", "alpha"], ["Saturate", ["Attribute", "n"], { midpoint: 100 }]]], topK: 10, includeAttributes: ["n"] },
  { rankBy: ["Decay", ["Dist", ["Attribute", "at"], "2026-01-20"], { midpoint: "3d" }], topK: 10 },
  { rankBy: ["color", "Eq", "red"], filters: ["n", "Lt", 50], topK: 5 },
  { rankBy: ["RRF", [["vector", "ANN", [0.3, 0.2, 0.1, 1]], ["Attribute", "n"]]], topK: 5 },
  // Computed attributes (on a kNN, BM25 or listing answer; a cold ANN over indexes this small loads them).
  { rankBy: ["vector", "kNN", [0.3, 0.2, 0.1, 1]], topK: 5, computeAttributes: { d: ["vector", "VectorDist", [1, 0, 0, 1]] } },
  { rankBy: ["body", "BM25", "alpha"], topK: 5, computeAttributes: { boost: ["Saturate", ["Attribute", "n"], { midpoint: 50 }] } },
  { filters: ["color", "Eq", "red"], topK: 5, computeAttributes: { red: ["color", "Eq", "red"] } },
];

describe("request features that once needed the loaded path", () => {
  it("are answered cold, equal to the loaded executor", async () => {
    const { storage } = await compactedNamespace(NS, 1200, doc);
    for (const request of ONCE_LOADED_ONLY_REQUESTS) {
      const expected = await makeEngine(storage, { queryCache: { coldReads: false } }).query(NS, request);
      const engine = makeEngine(storage, { queryCache: { segmentIndexBytes: 0 } });
      const got = await engine.query(NS, request);
      expect(got, JSON.stringify(request)).toEqual(expected);
      if (request["aggregateBy"] === undefined) expect(got.rows.length, JSON.stringify(request)).toBeGreaterThan(0);
      else if (request["groupBy"] === undefined) expect(got.aggregations?.["c"], JSON.stringify(request)).toBeGreaterThan(0);
      else expect(got.aggregationGroups?.length, JSON.stringify(request)).toBeGreaterThan(1);
      expect(engine.queryStats().coldQueries, JSON.stringify(request)).toBe(1);
      expect(engine.queryStats().segmentIndexes.loads, JSON.stringify(request)).toBe(0);
    }
  });
});
