/**
 * NamespaceEngine.queryRows: the same answer as `query` (version,
 * aggregations, and row for row: `row(i)` equal, `json(i)` the row's
 * JSON.stringify to the byte) over a compacted segment plus a tail of
 * upserts, patches and deletes; and every query of an engine runs in the
 * slices of the engine's QuerySlicer (`querySlicer`), pausing when due.
 */
import { describe, expect, it } from "vitest";
import { type DocumentInput, QuerySlicer } from "@skerry/namespace-engine";
import { memoryEngine } from "./support/harness.ts";

const NS = "acme/rows/docs";

function doc(i: number): DocumentInput {
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7],
    text: { body: `word${i % 5} word${i % 3} common` },
    attributes: { n: i % 17, color: ["red", "green", "blue"][i % 3]!, tags: [`t${i % 4}`, "all"], meta: { i, odd: i % 2 === 1 }, "7": i },
  };
}

const QUERIES: Record<string, unknown>[] = [
  { rankBy: ["vector", "kNN", [1, 0.5, 0.25]], topK: 3_000, includeAttributes: true, includeVectors: true },
  { rankBy: ["vector", "ANN", [0.2, 1, 0]], topK: 50, includeAttributes: ["meta", "7", "absent"], filters: ["n", "Lt", 9] },
  { rankBy: ["body", "BM25", "word1 common"], topK: 1_000, includeAttributes: ["color"] },
  { rankBy: ["n", "desc"], topK: 2_500, includeAttributes: true },
  { topK: 10_000, filters: ["color", "Eq", "green"] },
  { aggregateBy: { count: ["Count"] }, groupBy: ["color"], topK: 10 },
  { aggregateBy: { count: ["Count"] }, filters: ["tags", "ContainsAny", ["t1"]] },
];

describe("NamespaceEngine.queryRows", () => {
  it("answers as query does, row for row and byte for byte, over a segment and a tail", async () => {
    const { engine } = memoryEngine();
    await engine.createNamespace(NS);
    for (let from = 0; from < 3_000; from += 1_000) await engine.upsert(NS, Array.from({ length: 1_000 }, (_, k) => doc(from + k)));
    await engine.compact(NS, { force: true });
    await engine.upsert(NS, Array.from({ length: 200 }, (_, k) => doc(2_900 + k))); // overwrites and new ids
    await engine.patch(NS, [{ id: "doc-00010", attributes: { n: 99, color: "violet" } }]);
    await engine.delete(NS, ["doc-00011", "doc-00012"]);
    for (const json of QUERIES) {
      const expected = await engine.query(NS, json);
      const answer = await engine.queryRows(NS, json);
      expect(answer.version).toBe(expected.version);
      expect(answer.aggregations).toEqual(expected.aggregations);
      expect(answer.aggregationGroups).toEqual(expected.aggregationGroups);
      expect(answer.rows.length, JSON.stringify(json)).toBe(expected.rows.length);
      for (let i = 0; i < answer.rows.length; i++) {
        expect(answer.rows.row(i)).toEqual(expected.rows[i]);
        expect(answer.rows.json(i)).toBe(JSON.stringify(expected.rows[i]));
      }
    }
  });

  it("runs every query in the slices of the engine's slicer", async () => {
    let now = 0;
    const slicer = new QuerySlicer({ budgetMs: 1, now: () => now++, yieldTurn: () => Promise.resolve() });
    const sliced = memoryEngine({ querySlicer: slicer }).engine;
    const plain = memoryEngine({ querySlicer: new QuerySlicer({ budgetMs: 1e9 }) }).engine;
    for (const engine of [sliced, plain]) {
      await engine.createNamespace(NS);
      await engine.upsert(NS, Array.from({ length: 3_000 }, (_, k) => doc(k)));
      await engine.compact(NS, { force: true });
    }
    const json = QUERIES[0]!;
    const before = slicer.stats().pauses;
    const rows = await sliced.queryRows(NS, json);
    expect(slicer.stats().pauses).toBeGreaterThan(before);
    const expected = await plain.query(NS, json);
    expect(await rows.rows.toArray()).toEqual(expected.rows);
    const again = slicer.stats().pauses;
    expect((await sliced.query(NS, json)).rows).toEqual(expected.rows);
    expect(slicer.stats().pauses).toBeGreaterThan(again);
  });
});
