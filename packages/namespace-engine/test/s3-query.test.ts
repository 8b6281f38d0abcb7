/**
 * NamespaceEngine.query on the real S3 server: a compacted segment (its
 * query index loaded from S3) plus a tail of upserts, patches, deletes and a
 * deleteByFilter answers like the reference, and a fresh engine gives
 * identical results. Runs when S3_ENDPOINT is set; under CI without it the
 * suite fails loudly (the configuration check lives in multi-process.test.ts).
 */
import { afterAll, describe, expect, it } from "vitest";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { checkAgainstReference } from "./namespace-query-reference.ts";
import { gaussian, seededRandom } from "../../query/test/support/reference.ts";

const s3 = s3TestTarget("namespace-engine-query");
const NS = "acme/s3/query";

afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("NamespaceEngine.query on the real S3 server", () => {
  it("a compacted segment plus a tail answers like the reference, identically from a fresh engine", async () => {
    const storage = s3.open();
    const engine = new NamespaceEngine({ storage });
    await engine.createNamespace(NS);
    const random = seededRandom(17);
    const doc = (i: number): DocumentInput => ({
      id: `d${String(i).padStart(3, "0")}`,
      vector: Array.from({ length: 4 }, () => gaussian(random)),
      text: { body: ["alpha beta", "beta gamma", "gamma delta alpha"][i % 3] as string },
      attributes: { n: i % 7, color: ["red", "blue", "green"][i % 3] as string },
    });
    for (let b = 0; b < 3; b++) await engine.upsert(NS, Array.from({ length: 30 }, (_, i) => doc(b * 30 + i)));
    await engine.compact(NS, { force: true });
    await engine.upsert(NS, [doc(5), doc(100), doc(101)]);
    await engine.patch(NS, [{ id: "d006", attributes: { color: "violet" } }]);
    await engine.delete(NS, ["d007", "d101"]);
    await engine.deleteByFilter(NS, ["n", "Eq", 3]);
    const queries: Record<string, unknown>[] = [
      { topK: 200, filters: ["color", "In", ["red", "violet"]] },
      { rankBy: ["vector", "kNN", [1, 0.5, -0.5, 0.25]], topK: 10, includeAttributes: true },
      { rankBy: ["body", "BM25", "alpha gamma"], topK: 10 },
      { rankBy: ["RRF", [["vector", "kNN", [0, 1, 0, 1]], ["body", "BM25", "delta"]]], topK: 10 },
      { aggregateBy: { count: ["Count"] }, filters: ["n", "Gte", 2] },
    ];
    const warm = [];
    for (const [i, json] of queries.entries()) warm.push(await checkAgainstReference(engine, NS, json, "COSINE", `s3 query ${i}`));
    const fresh = new NamespaceEngine({ storage });
    const cold = [];
    for (const json of queries) cold.push(await fresh.query(NS, json));
    expect(cold).toEqual(warm);
    expect(fresh.queryStats().segmentIndexes.loads).toBe(1);
    expect(warm[0]?.rows.some((r) => r.id === "d007")).toBe(false);
  });
});
