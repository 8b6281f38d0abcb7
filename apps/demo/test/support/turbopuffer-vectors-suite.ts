/**
 * Sparse vectors (`{}f16`, `SparseKNN`) and half-precision vectors (`[N]f16`)
 * through the turbopuffer API with the OFFICIAL client, on every store
 * (local-fs always, S3 when configured). Dot products and f16 roundings are
 * worked out by hand in the comments.
 */
import { BadRequestError, Turbopuffer } from "@turbopuffer/turbopuffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../../src/server/server.ts";
import { ADMIN_KEY, Client, startTestServer, type TestStore } from "./harness.ts";

const PROJECT = { org: "tpuf-vec-org", project: "tpuf-vec-proj" };
const SPARSE_SCHEMA = { terms: { type: "{}f16", sparse_knn: { distance_metric: "dot_product" as const } } };

// f16 roundings, by hand: 0.1 = 2^-4 * 1.6 -> 2^-4 * (1 + 614/1024) = 0.0999755859375;
// 0.2 -> 2^-3 * (1 + 614/1024) = 0.199951171875; 1/3 -> 2^-2 * (1 + 341/1024) = 0.333251953125;
// 1e-8 is below 2^-25 (half the smallest subnormal, 2^-24): 0.
const F16_01 = 0.0999755859375;
const F16_02 = 0.199951171875;
const F16_THIRD = 0.333251953125;

export function describeTurbopufferVectorsSuite(name: string, makeStore: () => Promise<TestStore>): void {
  describe(`turbopuffer sparse and f16 vectors on ${name}`, () => {
    let store: TestStore;
    let server: SkerryServer;
    let tpuf: Turbopuffer;

    beforeAll(async () => {
      store = await makeStore();
      server = await startTestServer(store.storage, { maxBatch: 500 });
      const http = new Client(server.url, ADMIN_KEY);
      const res = await http.post("/v1/keys", { role: "write", ...PROJECT });
      expect(res.status).toBe(201);
      tpuf = new Turbopuffer({ apiKey: res.body.key as string, baseURL: server.url, maxRetries: 0, logLevel: "off" });
      await tpuf.namespace("sparse").write({
        schema: SPARSE_SCHEMA,
        upsert_rows: [
          { id: 1, terms: { "1": 0.5, "7": 2 }, color: "red" },
          { id: 2, terms: { "3": 0.25, "1": 1 }, color: "blue" },
          { id: 3, terms: { "3": 4 }, color: "red" },
          { id: 4, terms: { "9": 1 }, color: "red" },
          { id: 5, color: "blue" },
        ],
      });
    }, 60_000);

    afterAll(async () => {
      await server?.close();
      await store?.cleanup();
    });

    it("should rank by SparseKNN: $dist the dot product, larger first, documents without a shared dimension left out", async () => {
      const ns = tpuf.namespace("sparse");
      // q = {1: 2, 3: 1}: doc 1 = 0.5*2 = 1; doc 2 = 1*2 + 0.25*1 = 2.25; doc 3 = 4*1 = 4; docs 4, 5 share nothing.
      const res = await ns.query({ rank_by: ["terms", "SparseKNN", { "1": 2, "3": 1 }], top_k: 10 });
      expect(res.rows?.map((r) => [r.id, r.$dist])).toEqual([
        [3, 4],
        [2, 2.25],
        [1, 1],
      ]);
      const top = await ns.query({ rank_by: ["terms", "SparseKNN", { "1": 2, "3": 1 }], top_k: 2 });
      expect(top.rows?.map((r) => r.id)).toEqual([3, 2]);
      // Filters alongside: red documents only.
      const red = await ns.query({ rank_by: ["terms", "SparseKNN", { "1": 2, "3": 1 }], top_k: 10, filters: ["color", "Eq", "red"] });
      expect(red.rows?.map((r) => [r.id, r.$dist])).toEqual([
        [3, 4],
        [1, 1],
      ]);
      const plan = await ns.explainQuery({ rank_by: ["terms", "SparseKNN", { "1": 2 }], top_k: 1 });
      expect(plan.plan_text).toMatch(/SparseKNN/);
    });

    it("should answer SparseKNN alike from the log, a compacted segment, and a fresh server on the same store (no loaded state)", async () => {
      const ns = tpuf.namespace("sparse");
      const query = { rank_by: ["terms", "SparseKNN", { "1": 2, "3": 1 }] as ["terms", "SparseKNN", Record<string, number>], top_k: 10, include_attributes: ["terms"] };
      const before = await ns.query(query);
      const path = `${PROJECT.org}/${PROJECT.project}/sparse`;
      const report = await server.engine.compact(path, { force: true });
      expect(report.performed).toBe(true);
      expect((await server.engine.manifest(path)).containers.every((c) => c.kind === "SEGMENT")).toBe(true);
      const compacted = await ns.query(query);
      expect(compacted.rows).toEqual(before.rows);
      // A second server on the same store starts cold: the engine has no cold sparse path, it loads the segment.
      const fresh = await startTestServer(store.storage, { maxBatch: 500 });
      try {
        const http = new Client(fresh.url, ADMIN_KEY);
        const key = await http.post("/v1/keys", { role: "read", ...PROJECT });
        const cold = new Turbopuffer({ apiKey: key.body.key as string, baseURL: fresh.url, maxRetries: 0, logLevel: "off" });
        expect((await cold.namespace("sparse").query(query)).rows).toEqual(before.rows);
      } finally {
        await fresh.close();
      }
      expect(before.rows?.map((r) => [r.id, r.$dist])).toEqual([
        [3, 4],
        [2, 2.25],
        [1, 1],
      ]);
    });

    it("should answer the sparse vector under its name (include/exclude_attributes) and in the schema", async () => {
      const ns = tpuf.namespace("sparse");
      const inc = await ns.query({ rank_by: ["id", "asc"], top_k: 2, include_attributes: ["terms"] });
      expect(inc.rows).toEqual([
        { id: 1, terms: { "1": 0.5, "7": 2 } },
        { id: 2, terms: { "1": 1, "3": 0.25 } },
      ]);
      const all = await ns.query({ rank_by: ["id", "asc"], top_k: 1, include_attributes: true });
      expect(all.rows?.[0]).toEqual({ id: 1, terms: { "1": 0.5, "7": 2 }, color: "red" });
      const excl = await ns.query({ rank_by: ["id", "asc"], top_k: 1, exclude_attributes: ["terms"] });
      expect(excl.rows?.[0]).toEqual({ id: 1, color: "red" });
      const schema = await ns.schema();
      expect(schema["terms"]).toEqual({ type: "{}f16", sparse_knn: { distance_metric: "dot_product" } });
      expect(Object.keys(schema).some((k) => k.startsWith("$"))).toBe(false);
      // A presence filter works; any other filter on a sparse vector is a 400.
      const without = await ns.query({ rank_by: ["id", "asc"], top_k: 10, filters: ["terms", "Eq", null] });
      expect(without.rows?.map((r) => r.id)).toEqual([5]);
      await expect(ns.query({ top_k: 1, filters: ["terms", "Eq", { "1": 1 }] })).rejects.toThrow(/sparse vector/);
    });

    it("should round stored weights to f16 and leave out rows scoring 0", async () => {
      const ns = tpuf.namespace("sparse-f16");
      await ns.write({
        schema: SPARSE_SCHEMA,
        upsert_rows: [
          { id: 1, terms: { "2": 0.1, "4": 1 / 3 } },
          { id: 2, terms: { "2": 1e-8, "4": 0.2 } },
          { id: 3, terms: { "5": 0 } },
        ],
      });
      const rows = await ns.query({ rank_by: ["id", "asc"], top_k: 3, include_attributes: ["terms"] });
      expect(rows.rows).toEqual([
        { id: 1, terms: { "2": F16_01, "4": F16_THIRD } },
        { id: 2, terms: { "2": 0, "4": F16_02 } },
        { id: 3, terms: { "5": 0 } },
      ]);
      // q = {2: 1, 4: 2, 5: 1}: doc 1 = 0.0999755859375 + 2 * 0.333251953125 = 0.7664794921875;
      // doc 2 = 0 + 2 * 0.199951171875 = 0.39990234375; doc 3 = 0 (left out, as turbopuffer does).
      const res = await ns.query({ rank_by: ["terms", "SparseKNN", { "2": 1, "4": 2, "5": 1 }], top_k: 10 });
      expect(res.rows?.map((r) => [r.id, r.$dist])).toEqual([
        [1, 0.7664794921875],
        [2, 0.39990234375],
      ]);
      await expect(ns.write({ upsert_rows: [{ id: 9, terms: { "1": 70_000 } }] })).rejects.toThrow(/does not fit f16/);
    });

    it("should write sparse vectors by columns, patches (null removes), patch_by_filter and conditions", async () => {
      const ns = tpuf.namespace("sparse-writes");
      await ns.write({
        schema: SPARSE_SCHEMA,
        upsert_columns: { id: [1, 2, 3], terms: [{ "1": 1 }, { "1": 2, "2": 1 }, null], n: [1, 2, 3] },
      });
      const q = async (query: Record<string, number>) =>
        (await ns.query({ rank_by: ["terms", "SparseKNN", query], top_k: 10 })).rows?.map((r) => [r.id, r.$dist]);
      expect(await q({ "1": 1 })).toEqual([
        [2, 2],
        [1, 1],
      ]);
      // patch_rows: doc 3 gains a vector, doc 2 loses its own (null), doc 1 keeps its own (not named).
      await ns.write({ patch_rows: [{ id: 3, terms: { "1": 3 } }, { id: 2, terms: null }, { id: 1, n: 10 }] });
      expect(await q({ "1": 1 })).toEqual([
        [3, 3],
        [1, 1],
      ]);
      const two = await ns.query({ rank_by: ["id", "asc"], top_k: 3, include_attributes: ["terms", "n"] });
      expect(two.rows).toEqual([
        { id: 1, terms: { "1": 1 }, n: 10 },
        { id: 2, n: 2 },
        { id: 3, terms: { "1": 3 }, n: 3 },
      ]);
      // patch_columns and patch_by_filter.
      await ns.write({ patch_columns: { id: [2], terms: [{ "2": 0.5 }] } });
      await ns.write({ patch_by_filter: { filters: ["n", "Gte", 10], patch: { terms: { "1": 0.25, "2": 4 } } } });
      // q = {1: 1, 2: 1}: doc 1 = 0.25 + 4 = 4.25; doc 3 = 3; doc 2 = 0.5.
      expect(await q({ "1": 1, "2": 1 })).toEqual([
        [1, 4.25],
        [3, 3],
        [2, 0.5],
      ]);
      // A conditional upsert: applied where the condition holds (n < 3), skipped elsewhere.
      const cond = await ns.write({
        upsert_rows: [
          { id: 2, terms: { "2": 8 }, n: 2 },
          { id: 3, terms: { "2": 8 }, n: 3 },
        ],
        upsert_condition: ["n", "Lt", 3],
      });
      expect(cond.rows_upserted).toBe(1);
      expect(await q({ "2": 1 })).toEqual([
        [2, 8],
        [1, 4],
      ]);
    });

    it("should fuse SparseKNN with BM25 in a multi-query (rerank_by RRF)", async () => {
      const ns = tpuf.namespace("sparse-hybrid");
      await ns.write({
        schema: { ...SPARSE_SCHEMA, body: { type: "string", full_text_search: true } },
        upsert_rows: [
          { id: 1, terms: { "1": 1 }, body: "red fish" },
          { id: 2, terms: { "1": 2 }, body: "blue whale" },
          { id: 3, terms: { "2": 1 }, body: "red whale" },
        ],
      });
      const res = await ns.multiQuery({
        queries: [
          { rank_by: ["terms", "SparseKNN", { "1": 1 }], top_k: 3 },
          { rank_by: ["body", "BM25", "whale"], top_k: 3 },
        ],
        rerank_by: ["RRF"],
      });
      // Sparse: 2 (2), 1 (1). BM25 "whale": 2 and 3 (same length, same tf: tie broken by id), so 2 then 3.
      // RRF (k = 60): doc 2 = 1/61 + 1/61; doc 1 = 1/62; doc 3 = 1/62: ties by id.
      expect(res.results[0]?.rows?.map((r) => r.id)).toEqual([2, 1, 3]);
      expect(res.results[0]?.rows?.[0]?.$dist).toBeCloseTo(2 / 61, 12);
      expect(res.results[0]?.rows?.[1]?.$dist).toBeCloseTo(1 / 62, 12);
    });

    it("should rank by SparseKNN inside ranking expressions (Sum with BM25 and attributes, Saturate, filters; scores by hand)", async () => {
      // "SparseKNN is compatible with FTS operators: Sum, Max, Saturate, etc." (https://turbopuffer.com/docs/query)
      const ns = tpuf.namespace("sparse-expr");
      await ns.write({
        schema: { ...SPARSE_SCHEMA, body: { type: "string", full_text_search: true }, price: "uint" },
        upsert_rows: [
          { id: 1, terms: { "1": 1 }, body: "red fish", price: 10 },
          { id: 2, terms: { "1": 2 }, body: "blue whale" },
          { id: 3, terms: { "2": 1 }, body: "red whale", price: 4 },
          { id: 4, body: "red herring", price: 100 },
        ],
      });
      const ranked = async (rank_by: unknown, extra: Record<string, unknown> = {}) =>
        ((await ns.query({ rank_by: rank_by as never, top_k: 10, ...extra })).rows ?? []).map((r) => [r.id, r.$dist]);
      // Documents sharing a dimension take part: 1 = 1 + 0.5 * 10, 2 = 2 (no price); 3 and 4 share none.
      expect(await ranked(["Sum", [["terms", "SparseKNN", { "1": 1 }], ["Product", 0.5, ["Attribute", "price"]]]])).toEqual([
        [1, 6],
        [2, 2],
      ]);
      // Saturate(dot, midpoint 2): 1 -> 1/3, 2 -> 1/2, 3 -> 1/2 (ties by id).
      expect(await ranked(["Saturate", ["terms", "SparseKNN", { "1": 1, "2": 2 }], { midpoint: 2 }])).toEqual([
        [2, 0.5],
        [3, 0.5],
        [1, 1 / 3],
      ]);
      // With BM25: the documents either clause matches; "red" scores 1, 3 and 4 alike (same lengths).
      const red = (await ranked(["body", "BM25", "red"]))[0]?.[1] as number;
      expect(await ranked(["Sum", [["body", "BM25", "red"], ["Product", 3, ["terms", "SparseKNN", { "2": 1 }]]]])).toEqual([
        [3, red + 3],
        [1, red],
        [4, red],
      ]);
      expect(await ranked(["Max", [["terms", "SparseKNN", { "1": 1 }], ["color", "Eq", "none"]]], { filters: ["price", "Gte", 5] })).toEqual([[1, 1]]);
      // As a computed attribute: the dot product of every returned row (0 without a shared dimension).
      const computed = await ns.query({ rank_by: ["body", "BM25", "whale"], top_k: 10, compute_attributes: { d: ["terms", "SparseKNN", { "1": 1 }] } as never });
      expect(computed.rows?.map((r) => [r.id, r["d"]])).toEqual([
        [2, 2],
        [3, 0],
      ]);
      await expect(ns.query({ rank_by: ["Sum", [["body", "SparseKNN", { "1": 1 }], 1]] as never })).rejects.toThrow(/sparse vector attribute is .*terms/);
    });

    it("should refuse a second sparse attribute, a SparseKNN on another attribute and non-integer dimensions", async () => {
      const ns = tpuf.namespace("sparse");
      const second = ns.write({ schema: { other: { type: "{}f16" } }, upsert_rows: [{ id: 1, other: { "1": 1 } }] });
      await expect(second).rejects.toBeInstanceOf(BadRequestError);
      await expect(ns.write({ schema: { other: { type: "{}f16" } } })).rejects.toThrow(/other.*second sparse vector attribute.*terms/);
      await expect(ns.query({ rank_by: ["color", "SparseKNN", { "1": 1 }], top_k: 1 })).rejects.toThrow(/sparse vector attribute is .*terms/);
      await expect(ns.query({ rank_by: ["terms", "SparseKNN", { dim0: 1 }], top_k: 1 })).rejects.toThrow(/dim0.* is not served/);
      await expect(ns.write({ upsert_rows: [{ id: 8, terms: { "01": 1 } }] })).rejects.toThrow(/01.* is not served/);
      await expect(ns.write({ upsert_rows: [{ id: 8, terms: [1, 2] }] })).rejects.toThrow(/object of dimension -> weight/);
      await expect(ns.query({ rank_by: ["terms", "desc"], top_k: 1 })).rejects.toThrow(/sparse vector: rank by it with SparseKNN/);
      await expect(ns.write({ schema: { terms: { type: "{}f16", sparse_knn: { distance_metric: "cosine_distance" } } } as never })).rejects.toThrow(/dot_product/);
      await expect(tpuf.namespace("sparse-none").write({ upsert_rows: [{ id: 1, x: 1 }] }).then(() => tpuf.namespace("sparse-none").query({ rank_by: ["x", "SparseKNN", { "1": 1 }] }))).rejects.toThrow(
        /no sparse vector attribute/,
      );
      // Nothing of the refused writes was applied.
      expect((await ns.query({ aggregate_by: { n: ["Count"] } })).aggregations).toEqual({ n: 5 });
      expect(Object.keys(await ns.schema())).not.toContain("other");
      // Two writers that declared different {}f16 attributes concurrently could both commit (simulated here through
      // the engine): the first by name is the sparse vector, a value for the other is a 400, never silently unindexed.
      const race = tpuf.namespace("sparse-race");
      await race.write({ schema: SPARSE_SCHEMA, upsert_rows: [{ id: 1, terms: { "1": 1 } }] });
      await server.engine.updateSchema(`${PROJECT.org}/${PROJECT.project}/sparse-race`, {
        attributes: { "$tpuf.vector:zz": { type: "string", filterable: false, options: { type: "{}f16" } } },
      });
      await expect(race.write({ upsert_rows: [{ id: 2, zz: { "1": 1 } }] })).rejects.toThrow(/second sparse vector attribute/);
      await race.write({ upsert_rows: [{ id: 2, terms: { "1": 2 } }] });
      expect((await race.query({ rank_by: ["terms", "SparseKNN", { "1": 1 }] })).rows?.map((r) => r.id)).toEqual([2, 1]);
    });

    it("should store [N]f16 vectors rounded to half precision and answer the declared type (base64: float32 bytes)", async () => {
      const ns = tpuf.namespace("half");
      await ns.write({
        distance_metric: "cosine_distance",
        schema: { vector: { type: "[3]f16", ann: { distance_metric: "cosine_distance" } } },
        upsert_rows: [
          { id: 1, vector: [0.1, 0.2, 1 / 3] },
          { id: 2, vector: [1, 0, 0] },
        ],
      });
      const rows = await ns.query({ rank_by: ["id", "asc"], top_k: 2, include_attributes: ["vector"] });
      expect(rows.rows).toEqual([
        { id: 1, vector: [F16_01, F16_02, F16_THIRD] },
        { id: 2, vector: [1, 0, 0] },
      ]);
      const b64 = await ns.query({ rank_by: ["id", "asc"], top_k: 1, include_attributes: ["vector"], vector_encoding: "base64" });
      const bytes = Buffer.from(b64.rows?.[0]?.vector as unknown as string, "base64");
      expect(bytes.byteLength).toBe(12);
      expect([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)]).toEqual([F16_01, F16_02, F16_THIRD]);
      const schema = await ns.schema();
      expect(schema["vector"]).toEqual({ type: "[3]f16", ann: { distance_metric: "cosine_distance" } });
      // kNN against the stored (rounded) vector: q = [1, 0, 0] -> doc 2 at 0, doc 1 at 1 - 0.0999755859375 / |v1|.
      const norm = Math.hypot(F16_01, F16_02, F16_THIRD);
      const knn = await ns.query({ rank_by: ["vector", "kNN", [1, 0, 0]], top_k: 2 });
      expect(knn.rows?.map((r) => r.id)).toEqual([2, 1]);
      expect(knn.rows?.[1]?.$dist).toBeCloseTo(1 - F16_01 / norm, 6);
      // Later writes are rounded too (patches and columns); a value beyond f16 and another dimension are a 400.
      await ns.write({ patch_rows: [{ id: 2, vector: [0.1, 0, 0] }], upsert_columns: { id: [3], vector: [[0.2, 0.2, 0.2]] } });
      const after = await ns.query({ rank_by: ["id", "asc"], top_k: 3, include_attributes: ["vector"] });
      expect(after.rows?.map((r) => r.vector)).toEqual([
        [F16_01, F16_02, F16_THIRD],
        [F16_01, 0, 0],
        [F16_02, F16_02, F16_02],
      ]);
      await expect(ns.write({ upsert_rows: [{ id: 4, vector: [1, 70_000, 0] }] })).rejects.toThrow(/does not fit f16/);
      await expect(ns.write({ upsert_rows: [{ id: 4, vector: [1, 0] }] })).rejects.toThrow(/3 dimensions/);
      await expect(ns.write({ schema: { vector: { type: "[3]f32" } } })).rejects.toThrow(/changing it/);
      // A namespace whose vectors are f32 cannot become f16, and a declared dimension must be the vectors'.
      const f32 = tpuf.namespace("full");
      await f32.write({ distance_metric: "cosine_distance", upsert_rows: [{ id: 1, vector: [0.1, 0.2] }] });
      await expect(f32.write({ schema: { vector: { type: "[2]f16" } } })).rejects.toThrow(/\[2\]f32/);
      await expect(f32.write({ schema: { vector: { type: "[4]f32" } }, upsert_rows: [{ id: 2, vector: [1, 2] }] })).rejects.toThrow(/declared 4/);
      expect((await f32.query({ rank_by: ["id", "asc"], top_k: 1, include_attributes: ["vector"] })).rows?.[0]?.vector).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    });
  });
}
