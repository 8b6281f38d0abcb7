/**
 * The turbopuffer-compatible API driven by the OFFICIAL client
 * (`@turbopuffer/turbopuffer`, baseURL = the test server, no region), on
 * every store (local-fs always, S3 when configured). Cases follow
 * turbopuffer's documented examples: writes (rows, columns, patches,
 * deletes, by filter, copy, branch), queries (ANN, kNN, BM25, order,
 * filters, aggregations, multi-query, base64 vectors), metadata, schema,
 * pinning, listing, recall, and the errors the client types.
 */
import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  Turbopuffer,
} from "@turbopuffer/turbopuffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../../src/server/server.ts";
import { ADMIN_KEY, Client, startTestServer, type TestStore } from "./harness.ts";

const PROJECT = { org: "tpuf-org", project: "tpuf-proj" };

function cosineDistance(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return 1 - dot / Math.sqrt(na * nb);
}

function squared(a: readonly number[], b: readonly number[]): number {
  return a.reduce((s, x, i) => s + (x - (b[i] as number)) ** 2, 0);
}

/** Eight documents: uint ids, 3-dim vectors, a few typed attributes (turbopuffer's examples, extended). */
const DOCS = [
  { id: 1, vector: [0.1, 0.1, 0.9], name: "foo", color: "red", price: 10, tags: ["a", "b"], text: "the quick brown fox" },
  { id: 2, vector: [0.9, 0.1, 0.1], name: "bar", color: "blue", price: 20, tags: ["b"], text: "jumped over the lazy dog" },
  { id: 3, vector: [0.2, 0.8, 0.1], name: "baz", color: "red", price: 30, tags: ["c"], text: "quick thinking fox" },
  { id: 4, vector: [0.5, 0.5, 0.5], name: "qux", color: "green", price: 40, tags: [], text: "a dog and a fox" },
  { id: 5, vector: [0.1, 0.9, 0.9], name: "quux", color: "blue", price: 50, tags: ["a"], text: "nothing to see" },
  { id: 6, vector: [0.3, 0.2, 0.7], name: "corge", color: "red", price: 60, tags: ["a", "c"], text: "brown bread" },
  { id: 10, vector: [0.7, 0.6, 0.2], name: "grault", color: "green", price: 70, tags: ["b", "c"], text: "lazy afternoon" },
  { id: 11, vector: [0.4, 0.1, 0.3], name: "garply", color: "blue", price: 80, tags: ["a"], text: "the fox again, quick" },
];

export function describeTurbopufferSuite(name: string, makeStore: () => Promise<TestStore>): void {
  describe(`turbopuffer client on ${name}`, () => {
    let store: TestStore;
    let server: SkerryServer;
    let tpuf: Turbopuffer; // a write key of tpuf-org/tpuf-proj
    let readOnly: Turbopuffer;
    let admin: Turbopuffer;
    let writeKey: string;
    const client = (apiKey: string) => new Turbopuffer({ apiKey, baseURL: server.url, maxRetries: 0, logLevel: "off" });

    beforeAll(async () => {
      store = await makeStore();
      server = await startTestServer(store.storage, { maxBatch: 500 });
      const http = new Client(server.url, ADMIN_KEY);
      const mint = async (role: string) => {
        const res = await http.post("/v1/keys", { role, ...PROJECT });
        expect(res.status).toBe(201);
        return res.body.key as string;
      };
      writeKey = await mint("write");
      tpuf = client(writeKey);
      readOnly = client(await mint("read"));
      admin = client(ADMIN_KEY);
      const ns = tpuf.namespace("docs");
      const written = await ns.write({
        upsert_rows: DOCS,
        distance_metric: "cosine_distance",
        schema: { text: { type: "string", full_text_search: true } },
        return_affected_ids: true,
      });
      expect(written.status).toBe("OK");
      expect(written.rows_affected).toBe(DOCS.length);
      expect(written.upserted_ids).toEqual(DOCS.map((d) => d.id));
    }, 60_000);

    afterAll(async () => {
      await server?.close();
      await store?.cleanup();
    });

    it("should report exists() false for a missing namespace and true for a written one, in the key's project", async () => {
      expect(await tpuf.namespace("never-written").exists()).toBe(false);
      expect(await tpuf.namespace("docs").exists()).toBe(true);
      expect(await server.engine.listNamespaces(PROJECT.org, PROJECT.project)).toContain("docs");
      // The admin key acts on the default project, where "docs" does not exist.
      expect(await admin.namespace("docs").exists()).toBe(false);
    });

    it("should answer ANN and kNN queries nearest first with $dist = cosine distance and flattened attributes", async () => {
      const q = [0.15, 0.1, 0.85];
      const expected = DOCS.map((d) => ({ id: d.id, dist: cosineDistance(q, d.vector) })).sort((a, b) => a.dist - b.dist);
      for (const op of ["ANN", "kNN"] as const) {
        const res = await tpuf.namespace("docs").query({ rank_by: ["vector", op, q] as ["vector", "ANN", number[]], top_k: 3, include_attributes: ["name", "price"] });
        expect(res.rows?.map((r) => r.id)).toEqual(expected.slice(0, 3).map((e) => e.id));
        res.rows?.forEach((row, i) => {
          expect(row.$dist).toBeCloseTo(expected[i]?.dist as number, 5);
          const doc = DOCS.find((d) => d.id === row.id);
          expect(row).toEqual({ id: doc?.id, $dist: row.$dist, name: doc?.name, price: doc?.price });
        });
        expect(res.performance.approx_namespace_size).toBe(DOCS.length);
        expect(typeof res.billing.billable_logical_bytes_queried).toBe("number");
      }
    });

    it("should return only id and $dist by default, every attribute with include_attributes true, all but some with exclude_attributes", async () => {
      const ns = tpuf.namespace("docs");
      const bare = await ns.query({ rank_by: ["vector", "ANN", [1, 0, 0]], top_k: 1 });
      expect(Object.keys(bare.rows?.[0] ?? {}).sort()).toEqual(["$dist", "id"]);
      expect(bare.rows?.[0]?.id).toBe(2);
      const all = await ns.query({ rank_by: ["vector", "ANN", [1, 0, 0]], top_k: 1, include_attributes: true });
      expect(all.rows?.[0]).toMatchObject({ id: 2, name: "bar", color: "blue", price: 20, tags: ["b"], text: "jumped over the lazy dog" });
      expect(all.rows?.[0]?.vector).toHaveLength(3);
      const some = await ns.query({ rank_by: ["vector", "ANN", [1, 0, 0]], top_k: 1, exclude_attributes: ["text", "vector", "tags"] });
      expect(Object.keys(some.rows?.[0] ?? {}).sort()).toEqual(["$dist", "color", "id", "name", "price"]);
    });

    it("should encode vectors as base64 little-endian f32 with vector_encoding base64", async () => {
      const res = await tpuf.namespace("docs").query({ rank_by: ["vector", "kNN", [0.9, 0.1, 0.1]], top_k: 1, include_attributes: ["vector"], vector_encoding: "base64" });
      const b64 = res.rows?.[0]?.vector as unknown as string;
      expect(typeof b64).toBe("string");
      const bytes = Buffer.from(b64, "base64");
      expect([0, 1, 2].map((i) => bytes.readFloatLE(i * 4))).toEqual([0.9, 0.1, 0.1].map((x) => Math.fround(x)));
    });

    it("should filter with turbopuffer's operators (And, Or, Not, Eq, In, Gte, Lt, Contains, ContainsAny, Glob, NotGlob, Regex, token filters, Eq null, id ranges)", async () => {
      const ns = tpuf.namespace("docs");
      const ids = async (filters: unknown) => (await ns.query({ filters: filters as never, rank_by: ["id", "asc"], top_k: 100 })).rows?.map((r) => r.id);
      expect(await ids(["And", [["color", "Eq", "red"], ["price", "Gte", 20]]])).toEqual([3, 6]);
      expect(await ids(["Or", [["color", "Eq", "green"], ["price", "Lt", 15]]])).toEqual([1, 4, 10]);
      expect(await ids(["Not", ["color", "In", ["red", "blue"]]])).toEqual([4, 10]);
      expect(await ids(["tags", "Contains", "c"])).toEqual([3, 6, 10]);
      expect(await ids(["tags", "NotContains", "a"])).toEqual([2, 3, 4, 10]);
      expect(await ids(["tags", "ContainsAny", ["b", "c"]])).toEqual([1, 2, 3, 6, 10]);
      expect(await ids(["name", "Glob", "qu*"])).toEqual([4, 5]);
      expect(await ids(["name", "NotGlob", "*r*"])).toEqual([1, 3, 4, 5]);
      expect(await ids(["name", "Regex", "^(ba|gr)"])).toEqual([2, 3, 10]);
      expect(await ids(["Not", ["name", "Regex", "(?i)U"]])).toEqual([1, 2, 3, 6, 11]);
      expect(await ids(["text", "ContainsAllTokens", "Quick fox"])).toEqual([1, 3, 11]);
      expect(await ids(["tags", "AnyGte", "c"])).toEqual([3, 6, 10]);
      expect(await ids(["tags", "AnyLt", "b"])).toEqual([1, 5, 6, 11]);
      expect(await ids(["text", "ContainsAnyToken", ["bread", "afternoon"]])).toEqual([6, 10]);
      expect(await ids(["text", "ContainsAllTokens", "fox qu", { last_as_prefix: true }])).toEqual([1, 3, 11]);
      await expect(ids(["name", "ContainsAllTokens", "foo"])).rejects.toThrow(/full_text_search/);
      // Phrases: the tokens consecutively, in order.
      expect(await ids(["text", "ContainsTokenSequence", "Quick brown FOX"])).toEqual([1]);
      expect(await ids(["text", "ContainsTokenSequence", "quick fox"])).toEqual([]);
      expect(await ids(["text", "ContainsTokenSequence", "lazy dog"])).toEqual([2]);
      expect(await ids(["text", "ContainsTokenSequence", ["thinking", "fox"]])).toEqual([3]);
      expect(await ids(["Not", ["text", "ContainsTokenSequence", "brown fox"]])).toEqual([2, 3, 4, 5, 6, 10, 11]);
      // Stop words are kept (turbopuffer's default for a new declaration, remove_stopwords: false): "the" is a token.
      expect(await ids(["text", "ContainsTokenSequence", "the lazy"])).toEqual([2]);
      expect(await ids(["text", "ContainsTokenSequence", ["the", "fox"]])).toEqual([11]);
      expect(await ids(["text", "ContainsTokenSequence", "the"])).toEqual([1, 2, 11]);
      await expect(ids(["text", "ContainsTokenSequence", "quick br", { last_as_prefix: true }])).rejects.toThrow(/ContainsTokenSequence with parameters/);
      await expect(ids(["name", "ContainsTokenSequence", "foo"])).rejects.toThrow(/full_text_search/);
      expect(await ids(["missing", "Eq", null])).toHaveLength(DOCS.length);
      expect(await ids(["color", "NotEq", null])).toHaveLength(DOCS.length);
      // uint ids compare as numbers (10 and 11 after 6), also in id ranges.
      expect(await ids(["id", "Gte", 6])).toEqual([6, 10, 11]);
      expect(await ids(["id", "In", [11, 2]])).toEqual([2, 11]);
      // Lt and Lte match null (missing) values; Gt and Gte do not (https://turbopuffer.com/docs/query, "Lt", "Lte").
      const nulls = tpuf.namespace("lt-null");
      await nulls.write({ upsert_rows: [{ id: 1, n: 1 }, { id: 2 }, { id: 3, n: 5 }, { id: 4, n: null }] });
      const nullIds = async (filters: unknown) => (await nulls.query({ filters: filters as never, top_k: 10 })).rows?.map((r) => r.id);
      expect(await nullIds(["n", "Lt", 3])).toEqual([1, 2, 4]);
      expect(await nullIds(["n", "Lte", 5])).toEqual([1, 2, 3, 4]);
      expect(await nullIds(["n", "Gt", 0])).toEqual([1, 3]);
      expect(await nullIds(["n", "Gte", 1])).toEqual([1, 3]);
      expect(await nullIds(["Not", ["n", "Lt", 3]])).toEqual([3]);
    });

    it("should order by an attribute and list by id without rank_by, honouring top_k and limit", async () => {
      const ns = tpuf.namespace("docs");
      const desc = await ns.query({ rank_by: ["price", "desc"], top_k: 3, include_attributes: ["price"] });
      expect(desc.rows).toEqual([
        { id: 11, price: 80 },
        { id: 10, price: 70 },
        { id: 6, price: 60 },
      ]);
      const byId = await ns.query({ limit: 4 });
      expect(byId.rows?.map((r) => r.id)).toEqual([1, 2, 3, 4]);
      // Several keys: color ascending, then price descending within a color.
      const multi = await ns.query({ rank_by: [["color", "asc"], ["price", "desc"]] as never, top_k: 5 });
      expect(multi.rows?.map((r) => r.id)).toEqual([11, 5, 2, 10, 4]);
    });

    it("should sort documents without a value for the rank_by attribute first ascending and last descending", async () => {
      // "Documents with a missing or null value for the rank_by attribute are sorted first in ascending order and
      // last in descending order" (https://turbopuffer.com/docs/query, "Ordering by attributes"); ties by id.
      const ns = tpuf.namespace("order-missing");
      await ns.write({
        upsert_rows: [
          { id: 1, price: 30, color: "red" },
          { id: 2, color: "blue" },
          { id: 3, price: 10, color: "red" },
          { id: 4, price: null, color: "red" },
          { id: 5, price: 20 },
          { id: 6, color: "blue" },
        ],
      });
      const order = async (rank_by: unknown, top_k = 10) => (await ns.query({ rank_by: rank_by as never, top_k })).rows?.map((r) => r.id);
      expect(await order(["price", "asc"])).toEqual([2, 4, 6, 3, 5, 1]);
      expect(await order(["price", "desc"])).toEqual([1, 5, 3, 2, 4, 6]);
      expect(await order(["price", "asc"], 2)).toEqual([2, 4]);
      expect(await order(["price", "asc"], 4)).toEqual([2, 4, 6, 3]);
      // Several keys: each key by the same rule (color missing on 5: first ascending).
      expect(await order([["color", "asc"], ["price", "desc"]])).toEqual([5, 2, 6, 1, 3, 4]);
      expect(await order([["color", "desc"], ["price", "asc"]])).toEqual([4, 3, 1, 2, 6, 5]);
      expect(await order([["price", "asc"], ["color", "desc"]])).toEqual([4, 2, 6, 3, 5, 1]);
      // Filtered: the same rule among the matching documents.
      expect((await ns.query({ rank_by: ["price", "asc"], filters: ["color", "Eq", "red"], top_k: 10 })).rows?.map((r) => r.id)).toEqual([4, 3, 1]);
    });

    it("should rank full_text_search attributes by BM25, $dist being the score, best first", async () => {
      const res = await tpuf.namespace("docs").query({ rank_by: ["text", "BM25", "quick fox"], top_k: 10, include_attributes: ["text"] });
      const ids = res.rows?.map((r) => r.id) ?? [];
      expect(new Set(ids)).toEqual(new Set([1, 3, 4, 11]));
      const scores = res.rows?.map((r) => r.$dist as number) ?? [];
      for (let i = 1; i < scores.length; i++) expect(scores[i - 1]).toBeGreaterThanOrEqual(scores[i] as number);
      expect(ids.slice(-1)).toEqual([4]); // the one document with "fox" and not "quick"
      // An attribute that is not full-text searchable is a 400 naming it.
      await expect(tpuf.namespace("docs").query({ rank_by: ["name", "BM25", "foo"] })).rejects.toThrow(/not full-text searchable/);
      // last_as_prefix: the last token matches the terms starting with it (type-ahead); "BM25 prefix matches are
      // assigned a score of 1.0" (https://turbopuffer.com/docs/query), once per document.
      const prefixed = async (q: string, last_as_prefix: boolean) =>
        (await tpuf.namespace("docs").query({ rank_by: ["text", "BM25", q, { last_as_prefix }], top_k: 10 })).rows?.map((r) => [r.id, r.$dist]);
      expect((await prefixed("la", true))?.map(([id]) => id).sort()).toEqual([10, 2]);
      expect(await prefixed("la", false)).toEqual([]);
      expect(await prefixed("la", true)).toEqual([
        [2, 1],
        [10, 1],
      ]);
      // "quick f": quick's BM25 score plus 1.0 where a term starts with f (fox); 4 holds fox only.
      const quick = new Map((await tpuf.namespace("docs").query({ rank_by: ["text", "BM25", "quick"], top_k: 10 })).rows?.map((r) => [r.id, r.$dist as number]));
      const withPrefix = await prefixed("quick f", true);
      expect(new Map(withPrefix?.map(([id, d]) => [id, d]))).toEqual(new Map([1, 3, 4, 11].map((id) => [id, (quick.get(id) ?? 0) + 1])));
      const summed = await tpuf.namespace("docs").query({ rank_by: ["Sum", [["text", "BM25", "dog la", { last_as_prefix: true }], ["text", "BM25", "bread"]]], top_k: 10 });
      expect(summed.rows?.map((r) => r.id).sort()).toEqual([10, 2, 4, 6]);
      await expect(tpuf.namespace("docs").query({ rank_by: ["text", "BM25", "la", { boost: 2 } as never] })).rejects.toThrow(/BM25 clause parameter boost/);
    });

    it("should default remove_stopwords to false for new full-text declarations and keep what existing ones have", async () => {
      // "remove_stopwords ... Defaults to false" (https://turbopuffer.com/docs/write, "Schema"): recorded in the stored
      // declaration, so the namespace keeps it whatever later defaults are.
      const fresh = tpuf.namespace("stopwords-new");
      await fresh.write({ upsert_rows: [{ id: 1, body: "the fox" }, { id: 2, body: "a dog" }], schema: { body: { type: "string", full_text_search: true } } });
      expect((await fresh.schema())["body"]).toEqual({ type: "string", full_text_search: { remove_stopwords: false } });
      const phrase = async (ns: ReturnType<Turbopuffer["namespace"]>, q: string) => (await ns.query({ filters: ["body", "ContainsTokenSequence", q], top_k: 10 })).rows?.map((r) => r.id);
      expect(await phrase(fresh, "the")).toEqual([1]);
      // An explicit value is kept as given.
      await fresh.updateSchema({ schema: { title: { type: "string", full_text_search: { remove_stopwords: true, stemming: true } } } });
      expect((await fresh.schema())["title"]).toEqual({ type: "string", full_text_search: { remove_stopwords: true, stemming: true } });
      // A namespace whose stored declaration predates the rule (full_text_search: true, indexed without stop words)
      // keeps removing them, also when a write declares the attribute the same way again.
      const old = tpuf.namespace("stopwords-old");
      const oldPath = `${PROJECT.org}/${PROJECT.project}/stopwords-old`;
      await old.write({ upsert_rows: [{ id: 1, body: "the fox" }], schema: { body: { type: "string", full_text_search: { remove_stopwords: true } } } });
      await server.engine.updateSchema(oldPath, { attributes: { body: { type: "string", options: { full_text_search: true } } } });
      await old.write({ upsert_rows: [{ id: 2, body: "the dog" }] });
      expect((await old.schema())["body"]).toMatchObject({ type: "string", full_text_search: true });
      expect(await phrase(old, "the")).toEqual([]);
      expect(await phrase(old, "the dog")).toEqual([2]);
      await old.write({ upsert_rows: [{ id: 3, body: "the cat" }], schema: { body: { type: "string", full_text_search: true } } });
      expect((await old.schema())["body"]).toMatchObject({ type: "string", full_text_search: { remove_stopwords: true } });
      expect(await phrase(old, "the")).toEqual([]);
      expect((await server.engine.manifest(oldPath)).textFields?.get("body")?.removeStopwords).toBe(true);
    });

    it("should apply full_text_search options: stemming, stop words, case sensitivity, ASCII folding, k1 and b", async () => {
      const ns = tpuf.namespace("fts-options");
      const body = { type: "string", full_text_search: { language: "english", stemming: true, remove_stopwords: true, ascii_folding: true, k1: 1.5, b: 0.5 } } as const;
      await ns.write({
        upsert_rows: [
          { id: 1, body: "Running shoes", title: "Apple" },
          { id: 2, body: "the run", title: "apple" },
          { id: 3, body: "Café au lait", title: "pear" },
          { id: 4, body: "cafe racer", title: "APPLE pie" },
        ],
        schema: { body, title: { type: "string", full_text_search: { case_sensitive: true } } },
      });
      const bm25 = async (field: string, query: string) => {
        const res = await ns.query({ rank_by: [field, "BM25", query], top_k: 10 });
        return new Map(res.rows?.map((r) => [r.id as number, r.$dist as number]));
      };
      // Tokens: 1 [run, shoe], 2 [run] ("the" is a stop word), 3 [cafe, au, lait], 4 [cafe, racer]: avgdl 2.
      const score = (tf: number, dl: number, df: number, k1: number, b: number) =>
        (Math.log(1 + (4 - df + 0.5) / (df + 0.5)) * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * dl) / 2));
      const run = await bm25("body", "runs");
      expect([...run.keys()].sort()).toEqual([1, 2]);
      expect(run.get(1)).toBeCloseTo(score(1, 2, 2, 1.5, 0.5), 9);
      expect(run.get(2)).toBeCloseTo(score(1, 1, 2, 1.5, 0.5), 9);
      expect((await bm25("body", "the")).size).toBe(0);
      expect([...(await bm25("body", "CAFÉ")).keys()].sort()).toEqual([3, 4]);
      expect([...(await bm25("title", "Apple")).keys()]).toEqual([1]);
      const filtered = await ns.query({ filters: ["body", "ContainsAllTokens", "running"], top_k: 10 });
      expect(filtered.rows?.map((r) => r.id).sort()).toEqual([1, 2]);
      // The options are answered back, and a schema update applies new ones (k1 and b at once).
      expect((await ns.schema())["body"]).toMatchObject(body);
      await ns.updateSchema({ schema: { body: { ...body, full_text_search: { ...body.full_text_search, k1: 1.2, b: 0.75 } } } });
      const rescored = await bm25("body", "runs");
      expect(rescored.get(1)).toBeCloseTo(score(1, 2, 2, 1.2, 0.75), 9);
      expect(rescored.get(2)).toBeCloseTo(score(1, 1, 2, 1.2, 0.75), 9);
      // Unsupported languages and tokenizers are 400s.
      await expect(ns.updateSchema({ schema: { other: { type: "string", full_text_search: { language: "klingon" as never } } } })).rejects.toThrow(BadRequestError);
      await expect(ns.updateSchema({ schema: { other: { type: "string", full_text_search: { tokenizer: "pre_tokenized_array" } } } })).rejects.toThrow(/pre_tokenized_array/);
      await expect(ns.updateSchema({ schema: { other: { type: "string", full_text_search: { b: 2 } } } })).rejects.toThrow(BadRequestError);
    });

    it("should index pre_tokenized_array attributes token for token: BM25 and token filters take arrays of tokens", async () => {
      const ns = tpuf.namespace("fts-pretokenized");
      const tags = { type: "[]string", full_text_search: { tokenizer: "pre_tokenized_array" } } as const;
      await ns.write({
        upsert_rows: [
          { id: 1, tags: ["New York", "pizza", "The"] },
          { id: 2, tags: ["new york", "bagel", "bagel"] },
          { id: 3, tags: ["the", "New York", "pizza"] },
          { id: 4, tags: ["San Francisco", "sourdough"] },
        ],
        schema: { tags },
      });
      // Tokens as they are: case kept, no splitting, no stop words. avgdl 2.75.
      const score = (tf: number, dl: number, df: number) => (Math.log(1 + (4 - df + 0.5) / (df + 0.5)) * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * dl) / 2.75));
      const res = await ns.query({ rank_by: ["tags", "BM25", ["New York", "bagel"]] as never, top_k: 10 });
      const got = new Map(res.rows?.map((r) => [r.id as number, r.$dist as number]));
      expect([...got.keys()].sort()).toEqual([1, 2, 3]);
      expect(got.get(1)).toBeCloseTo(score(1, 3, 2), 9);
      expect(got.get(2)).toBeCloseTo(score(2, 3, 1), 9);
      expect(got.get(3)).toBeCloseTo(score(1, 3, 2), 9);
      expect((await ns.query({ rank_by: ["tags", "BM25", ["york"]] as never, top_k: 10 })).rows).toEqual([]);
      const ids = async (filters: unknown) => (await ns.query({ filters: filters as never, top_k: 10 })).rows?.map((r) => r.id as number).sort();
      expect(await ids(["tags", "ContainsAllTokens", ["New York", "pizza"]])).toEqual([1, 3]);
      expect(await ids(["tags", "ContainsAnyToken", ["the", "sourdough"]])).toEqual([3, 4]);
      expect(await ids(["tags", "ContainsTokenSequence", ["pizza", "The"]])).toEqual([1]);
      expect(await ids(["tags", "ContainsAnyToken", ["San"], { last_as_prefix: true }])).toEqual([4]);
      // Fuzzy is a filter of fuzzy: true string attributes (turbopuffer's docs), not of a pre-tokenized one.
      await expect(ns.query({ filters: ["tags", "Fuzzy", "New Yorc", { max_edit_distance: [{ distance: 1, min_query_chars: 6 }] }] as never, top_k: 10 })).rejects.toThrow(/fuzzy: true/);
      // A patch re-indexes the tokens.
      await ns.write({ patch_rows: [{ id: 4, tags: ["pizza"] }] });
      expect(await ids(["tags", "ContainsAnyToken", ["pizza"]])).toEqual([1, 3, 4]);
      // The schema answers the tokenizer back; a string operand or value, or a string attribute, is a 400.
      expect((await ns.schema())["tags"]).toMatchObject(tags);
      await expect(ns.query({ rank_by: ["tags", "BM25", "New York"], top_k: 10 })).rejects.toThrow(/array of strings/);
      await expect(ns.query({ filters: ["tags", "ContainsAllTokens", "pizza"], top_k: 10 })).rejects.toThrow(/array of strings/);
      await expect(ns.write({ upsert_rows: [{ id: 5, tags: ["a\u001fb"] }] })).rejects.toThrow(/U\+001F/);
      await expect(ns.updateSchema({ schema: { other: { type: "string", full_text_search: { tokenizer: "pre_tokenized_array" } } } })).rejects.toThrow(/needs type \[\]string/);
      // "You cannot specify language, stemming: true, remove_stopwords: true, or case_sensitive: false" (docs/fts).
      for (const option of [{ language: "english" }, { stemming: true }, { remove_stopwords: true }, { case_sensitive: false }]) {
        const fts = { tokenizer: "pre_tokenized_array", ...option } as never;
        await expect(ns.updateSchema({ schema: { more: { type: "[]string", full_text_search: fts } } }), JSON.stringify(option)).rejects.toThrow(/pre_tokenized_array tokenizer takes no/);
      }
      // Their neutral values are taken.
      await ns.updateSchema({ schema: { more: { type: "[]string", full_text_search: { tokenizer: "pre_tokenized_array", stemming: false, remove_stopwords: false, case_sensitive: true } } } });
    });

    it("should rank by Sum, Max and Product of BM25 clauses over several fields (ranked by the engine)", async () => {
      const ns = tpuf.namespace("articles");
      await ns.write({
        upsert_rows: [
          { id: 1, title: "fox", content: "the dog sleeps", kind: "a" },
          { id: 2, title: "dog", content: "fox fox fox", kind: "b" },
          { id: 3, title: "cat", content: "nothing here", kind: "a" },
          { id: 4, title: "fox den", content: "a fox", kind: "b" },
          { id: 5, title: "red fox", content: "", kind: "a" },
        ],
        schema: { title: { type: "string", full_text_search: true }, content: { type: "string", full_text_search: true } },
      });
      const clause = async (field: string, filters?: unknown) => {
        const res = await ns.query({ rank_by: [field, "BM25", "fox"], top_k: 100, ...(filters === undefined ? {} : { filters: filters as never }) });
        return new Map(res.rows?.map((r) => [r.id as number, r.$dist as number]));
      };
      const title = await clause("title");
      const content = await clause("content");
      const ids = [1, 2, 3, 4, 5];
      const expectRanking = async (rankBy: unknown, score: (id: number) => number, topK = 10, filters?: unknown) => {
        const res = await ns.query({ rank_by: rankBy as never, top_k: topK, include_attributes: ["kind"], ...(filters === undefined ? {} : { filters: filters as never }) });
        const expected = ids
          .filter((id) => title.has(id) || content.has(id))
          .map((id) => ({ id, s: score(id) }))
          .sort((x, y) => y.s - x.s || x.id - y.id)
          .slice(0, topK);
        expect(res.rows?.map((r) => r.id)).toEqual(expected.map((e) => e.id));
        res.rows?.forEach((r, i) => {
          expect(r.$dist).toBeCloseTo(expected[i]?.s as number, 9);
        });
        return res.rows ?? [];
      };
      const t = (id: number) => title.get(id) ?? 0;
      const c = (id: number) => content.get(id) ?? 0;
      const sum = await expectRanking(["Sum", [["title", "BM25", "fox"], ["content", "BM25", "fox"]]], (id) => t(id) + c(id));
      expect(sum.map((r) => r.id).sort()).toEqual([1, 2, 4, 5]);
      expect(sum[0]?.kind).toBeDefined();
      await expectRanking(["Max", [["title", "BM25", "fox"], ["content", "BM25", "fox"]]], (id) => Math.max(t(id), c(id)));
      await expectRanking(["Sum", [["Product", 3, ["title", "BM25", "fox"]], ["content", "BM25", "fox"]]], (id) => 3 * t(id) + c(id), 2);
      // Filters apply to every clause.
      const ft = await clause("title", ["kind", "Eq", "b"]);
      const fc = await clause("content", ["kind", "Eq", "b"]);
      const filtered = await ns.query({ rank_by: ["Sum", [["title", "BM25", "fox"], ["content", "BM25", "fox"]]], filters: ["kind", "Eq", "b"], top_k: 10 });
      expect(filtered.rows?.map((r) => [r.id, r.$dist])).toEqual(
        [2, 4].map((id) => [id, (ft.get(id) ?? 0) + (fc.get(id) ?? 0)]).sort((x, y) => (y[1] as number) - (x[1] as number)),
      );
      await expect(ns.query({ rank_by: ["Sum", [["title", "BM25", "fox"], ["kind", "asc"]]] as never })).rejects.toThrow(/not a ranking clause/);
    });

    it("should rank by expressions: Attribute, Saturate, Decay, Dist over datetimes, filters as boosts (scores computed by hand)", async () => {
      const ns = tpuf.namespace("boosts");
      await ns.write({
        upsert_rows: [
          { id: 1, title: "quick fox", clicks: 10, delta: -5, species: "whale", at: "2026-02-03T00:00:00Z" },
          { id: 2, title: "quick fox", clicks: 1000, delta: 5, species: "fox", at: "2026-01-01T00:00:00Z" },
          { id: 3, title: "slow dog", species: "dog" },
        ],
        schema: { title: { type: "string", full_text_search: true }, at: "datetime", clicks: "uint" },
      });
      const ranked = async (rank_by: unknown, filters?: unknown) => {
        const res = await ns.query({ rank_by: rank_by as never, top_k: 10, ...(filters === undefined ? {} : { filters: filters as never }) });
        return (res.rows ?? []).map((r) => [r.id, r.$dist as number] as const);
      };
      const expectRanked = (got: readonly (readonly [unknown, number])[], want: [number, number][]) => {
        expect(got.map(([id]) => id)).toEqual(want.map(([id]) => id));
        for (const [i, [, s]] of got.entries()) expect(s).toBeCloseTo(want[i]![1], 9);
      };
      // Documents scoring 0 are left out ("Documents with a score of zero are excluded from results", docs/query).
      expectRanked(await ranked(["Attribute", "clicks"]), [[2, 1000], [1, 10]]);
      expectRanked(await ranked(["Saturate", ["Attribute", "clicks"], { midpoint: 100 }]), [[2, 1000 / 1100], [1, 10 / 110]]);
      expectRanked(await ranked(["Saturate", ["Attribute", "clicks"], { midpoint: 100, exponent: 2 }]), [[2, 1e6 / 1.01e6], [1, 100 / 10_100]]);
      expectRanked(await ranked(["Decay", ["Attribute", "clicks"], { midpoint: 100 }]), [[1, 100 / 110], [2, 100 / 1100]]);
      expectRanked(await ranked(["Max", 0, ["Attribute", "delta"]]), [[2, 5]]);
      // delta is a signed type (int, inferred): turbopuffer takes it only where it cannot be negative: under Max
      // with 0, under Saturate (and Decay), which take the max with 0 themselves, or under Dist.
      expectRanked(await ranked(["Max", [["Attribute", "delta"], 0]]), [[2, 5]]);
      expectRanked(await ranked(["Saturate", ["Attribute", "delta"], { midpoint: 1 }]), [[2, 5 / 6]]);
      // Decay(max(-5, 0)) = 1 for doc 1; doc 3 has no delta (the whole expression has no value: 0, left out).
      expectRanked(await ranked(["Decay", ["Attribute", "delta"], { midpoint: 5 }]), [[1, 1], [2, 0.5]]);
      expectRanked(await ranked(["Dist", ["Attribute", "delta"], 0]), [[1, 5], [2, 5]]);
      for (const bare of [
        ["Attribute", "delta"],
        ["Max", -1, ["Attribute", "delta"]],
        ["Max", ["Attribute", "clicks"], ["Attribute", "delta"]],
        ["Saturate", ["Sum", [["Attribute", "delta"], 1]], { midpoint: 1 }],
        ["Sum", [["title", "BM25", "fox"], ["Product", 2, ["Attribute", "delta"]]]],
        ["Max", 0, ["Product", 2, ["Attribute", "delta"]]],
      ]) {
        await expect(ns.query({ rank_by: bare as never, top_k: 10 }), JSON.stringify(bare)).rejects.toThrow(/signed type int/);
      }
      // "the weight must be non-negative".
      await expect(ns.query({ rank_by: ["Product", -2, ["title", "BM25", "fox"]] as never })).rejects.toThrow(/non-negative/);
      // A computed attribute is not a ranking score: it may be signed.
      const computed = await ns.query({ rank_by: ["title", "BM25", "fox"], compute_attributes: { d: ["Attribute", "delta"] } as never, top_k: 10 });
      expect(new Map(computed.rows?.map((r) => [r.id, r["d"]]))).toEqual(new Map([[1, -5], [2, 5]]));
      expectRanked(await ranked(["Product", 2.0, ["species", "Eq", "whale"]]), [[1, 2]]);
      // 33 days from the origin, midpoint 6 h: 21.6e6 / (2851.2e6 + 21.6e6) = 1/133.
      expectRanked(await ranked(["Decay", ["Dist", ["Attribute", "at"], "2026-02-03T00:00:00"], { midpoint: "6h" }]), [[1, 1], [2, 1 / 133]]);
      expectRanked(await ranked(["Decay", ["Dist", ["Attribute", "at"], "2026-02-03T00:00:00Z"], { midpoint: 21_600_000 }]), [[1, 1], [2, 1 / 133]]);
      expectRanked(await ranked(["Dist", ["Attribute", "clicks"], 10]), [[2, 990]]);
      // Boosting BM25: only the documents a BM25 clause matches take part.
      const s = (await ranked(["title", "BM25", "fox"]))[0]![1];
      expectRanked(await ranked(["Sum", [["title", "BM25", "fox"], ["species", "Eq", "whale"]]]), [[1, s + 1], [2, s]]);
      expectRanked(await ranked(["Sum", [["title", "BM25", "quick fox"], ["Product", 1.7, ["Saturate", ["Attribute", "clicks"], { midpoint: 100 }]]]]), [
        [2, 2 * s + (1.7 * 1000) / 1100],
        [1, 2 * s + (1.7 * 10) / 110],
      ]);
      // The query's filters still select the rows.
      expectRanked(await ranked(["Attribute", "clicks"], ["species", "NotEq", "fox"]), [[1, 10]]);
      await expect(ns.query({ rank_by: ["Saturate", ["Attribute", "clicks"], { midpoint: -1 }] as never })).rejects.toThrow(/midpoint/);
      await expect(ns.query({ rank_by: ["Dist", ["Attribute", "at"], "not a date"] as never })).rejects.toBeInstanceOf(BadRequestError);
    });

    it("should compute attributes of the returned rows (expressions, VectorDist) and refuse Embed, $ref_new, Highlight without a text ranking", async () => {
      const ns = tpuf.namespace("docs");
      const q = [0.1, 0.1, 0.9];
      const res = await ns.query({
        rank_by: ["vector", "ANN", q],
        top_k: 4,
        include_attributes: ["price"],
        compute_attributes: {
          d: ["vector", "VectorDist", q],
          p: ["Saturate", ["Attribute", "price"], { midpoint: 20 }],
          red: ["color", "Eq", "red"],
          fox: ["text", "BM25", "fox"],
        } as never,
      });
      const fox = new Map((await ns.query({ rank_by: ["text", "BM25", "fox"], top_k: 10 })).rows?.map((r) => [r.id, r.$dist as number]));
      expect(res.rows).toHaveLength(4);
      for (const row of res.rows ?? []) {
        const doc = DOCS.find((d) => d.id === row.id)!;
        expect(row["d"] as number).toBeCloseTo(row.$dist as number, 5);
        expect(row["d"] as number).toBeCloseTo(cosineDistance(doc.vector, q), 6); // stored as float32
        expect(row["p"] as number).toBeCloseTo(doc.price / (doc.price + 20), 12);
        expect(row["red"]).toBe(doc.color === "red" ? 1 : 0);
        expect(row["fox"] as number).toBeCloseTo(fox.get(row.id) ?? 0, 9);
      }
      const refuse = (compute_attributes: unknown) => ns.query({ rank_by: ["id", "asc"], top_k: 1, compute_attributes: compute_attributes as never });
      await expect(refuse({ e: ["vector", "VectorDist", ["Embed", "photosynthesis"]] })).rejects.toThrow(/embedding model/);
      await expect(refuse({ e: ["Embed", "photosynthesis"] })).rejects.toThrow(/embedding model/);
      await expect(refuse({ h: ["Highlight", "text"] })).rejects.toThrow(/Highlight of .*text.* needs rankFragmentsBy/);
      await expect(refuse({ r: { $ref_new: "price" } })).rejects.toThrow(/\$ref_new/);
      await expect(refuse({ id: ["Attribute", "price"] })).rejects.toBeInstanceOf(BadRequestError);
    });

    it("should highlight a full-text attribute's best fragments with their offsets (Highlight in compute_attributes)", async () => {
      // The client's HighlightConfigParams (fragment_by, fragment_limit, include_offsets, rank_fragments_by); the
      // answer as the service gives it: [{text, fragment_range?, match_ranges?, array_index?}], best first.
      const ns = tpuf.namespace("highlight");
      const text =
        "turbopuffer is a search engine built on object storage. Writes land in a write-ahead log for durability.\n\n" +
        "Warm queries are served from an NVMe cache. Highlighting returns the most relevant fragments of an attribute.\n" +
        "A fragment can be a word, a sentence, a paragraph, or the whole attribute. Pufferfish café 🐡 naïve storage.";
      await ns.write({
        upsert_rows: [
          { id: 1, text, tags: ["object storage", "cold cache", "warm"], plain: "object storage" },
          { id: 2, text: "Nothing relevant here. Just cache.", tags: ["x"], plain: "x" },
          { id: 3, text: "unrelated words only", tags: ["y"], plain: "y" },
        ],
        schema: { id: "uint", text: { type: "string", full_text_search: true }, tags: { type: "[]string", full_text_search: true }, plain: "string" },
      });
      const highlight = async (rank_by: unknown, h: unknown) =>
        new Map((await ns.query({ rank_by: rank_by as never, top_k: 10, compute_attributes: { h } as never })).rows?.map((r) => [r.id, r["h"]]));
      const q = ["text", "BM25", "object storage cache"];
      const sentences = await highlight(q, ["Highlight", "text"]);
      expect(sentences.get(1)).toEqual([
        { text: "turbopuffer is a search engine built on object storage." },
        { text: "Warm queries are served from an NVMe cache." },
        { text: "Pufferfish café 🐡 naïve storage." },
      ]);
      expect(sentences.get(2)).toEqual([{ text: "Just cache." }]);
      expect((await highlight(q, ["Highlight", "text", { include_offsets: "utf-8", fragment_limit: 1 }])).get(1)).toEqual([
        { text: "turbopuffer is a search engine built on object storage.", fragment_range: [0, 55], match_ranges: [[40, 46], [47, 54]] },
      ]);
      expect((await highlight(q, ["Highlight", "text", { fragment_by: "word", include_offsets: "utf-8" }])).get(2)).toEqual([
        { text: "cache", fragment_range: [28, 33], match_ranges: [[28, 33]] },
      ]);
      const whole = await highlight(["text", "BM25", "naïve storage"], ["Highlight", "text", { fragment_by: "none", include_offsets: "utf-16" }]);
      expect(whole.get(1)).toEqual([{ text, fragment_range: [0, 324], match_ranges: [[47, 54], [310, 315], [316, 323]] }]);
      const byFragment = await highlight(["id", "asc"], ["Highlight", "text", { rank_fragments_by: ["$fragment", "BM25", "durability"], include_offsets: "codepoints" }]);
      expect([...byFragment.values()]).toEqual([[{ text: "Writes land in a write-ahead log for durability.", fragment_range: [56, 104], match_ranges: [[93, 103]] }], [], []]);
      expect((await highlight(["tags", "BM25", "cache"], ["Highlight", "tags", { include_offsets: "utf-8" }])).get(1)).toEqual([
        { text: "cold cache", fragment_range: [0, 10], match_ranges: [[5, 10]], array_index: 1 },
      ]);
      const refuse = (rank_by: unknown, h: unknown) => ns.query({ rank_by: rank_by as never, top_k: 1, compute_attributes: { h } as never });
      await expect(refuse(q, ["Highlight", "plain"])).rejects.toThrow(/not enabled for full-text search/);
      await expect(refuse(["tags", "BM25", "cache"], ["Highlight", "text"])).rejects.toThrow(/needs rankFragmentsBy/);
      await expect(refuse(q, ["Highlight", "text", { fragment_by: "line" }])).rejects.toBeInstanceOf(BadRequestError);
      await expect(refuse(q, ["Highlight", "text", { fragment_limit: 1025 }])).rejects.toThrow(/fragmentLimit/);
      await expect(refuse(q, ["Highlight", "text", { foo: 1 }])).rejects.toThrow(/unknown Highlight option/);
    });

    it("should match ContainsTokenSequence on a []string full-text attribute per array element, never across two", async () => {
      // "evaluated independently per array element" (https://turbopuffer.com/docs/query, ContainsTokenSequence).
      const ns = tpuf.namespace("phrase-elements");
      await ns.write({
        upsert_rows: [
          { id: 1, tags: ["New York", "City hall"] },
          { id: 2, tags: ["new york city", "hall"] },
          { id: 3, tags: ["York", "", "city"] },
          { id: 4, tags: ["york\u001ecity"] },
          { id: 5, title: "york\u001ecity" },
        ],
        schema: { id: "uint", tags: { type: "[]string", full_text_search: true }, title: { type: "string", full_text_search: true } },
      });
      const ids = async (filters: unknown) => (await ns.query({ filters: filters as never, top_k: 10 })).rows?.map((r) => r.id);
      // A U+001E inside a string separates words, not elements (id 4, and a string attribute: id 5).
      expect(await ids(["tags", "ContainsTokenSequence", "york city"])).toEqual([2, 4]);
      expect(await ids(["title", "ContainsTokenSequence", "york city"])).toEqual([5]);
      expect(await ids(["tags", "ContainsTokenSequence", "city hall"])).toEqual([1]);
      expect(await ids(["tags", "ContainsTokenSequence", "new york"])).toEqual([1, 2]);
      expect(await ids(["tags", "ContainsTokenSequence", ["New", "York City"]])).toEqual([2]);
      expect(await ids(["Not", ["tags", "ContainsTokenSequence", "york city"]])).toEqual([1, 3, 5]);
      // ContainsAllTokens and ContainsAnyToken look at the tokens of every element together.
      expect(await ids(["tags", "ContainsAllTokens", "york city"])).toEqual([1, 2, 3, 4]);
      expect(await ids(["tags", "ContainsAnyToken", "hall"])).toEqual([1, 2]);
      // Patches (by id and by filter) write elements the same way.
      await ns.write({ patch_rows: [{ id: 1, tags: ["new", "york city hall"] }] });
      await ns.write({ patch_by_filter: { filters: ["id", "Eq", 2], patch: { tags: ["new york", "city hall"] } } });
      expect(await ids(["tags", "ContainsTokenSequence", "york city"])).toEqual([1, 4]);
      expect(await ids(["tags", "ContainsTokenSequence", "new york"])).toEqual([2]);
      expect(await ids(["tags", "ContainsTokenSequence", "city hall"])).toEqual([1, 2]);
      // BM25 scores the tokens of all the elements: 1 and 2 hold "new york city hall", split differently, and tie.
      const ranked = await ns.query({ rank_by: ["tags", "BM25", "hall"], top_k: 10 });
      expect(ranked.rows?.map((r) => r.id)).toEqual([1, 2]);
      expect(ranked.rows?.[0]?.$dist).toBeGreaterThan(0);
      expect(ranked.rows?.[0]?.$dist).toBe(ranked.rows?.[1]?.$dist);
    });

    it("should filter with Fuzzy as turbopuffer documents it: a substring within the text's edit distance, on attributes declared fuzzy: true", async () => {
      // https://turbopuffer.com/docs/query ("Fuzzy") and https://turbopuffer.com/docs/fts ("Fuzzy matching").
      const ns = tpuf.namespace("fuzzy");
      await ns.write({
        upsert_rows: [
          { id: 1, company_name: "turbopuffer", tags: ["turbopuffer"], plain: "turbopuffer" },
          { id: 2, company_name: "turbopufer inc" },
          { id: 3, company_name: "The TurboPuffer Company" },
          { id: 4, company_name: "puffin" },
        ],
        schema: { company_name: { type: "string", fuzzy: true, glob: true }, tags: { type: "[]string", fuzzy: true } },
      });
      const d1 = { max_edit_distance: [{ min_query_chars: 3, distance: 0 }, { min_query_chars: 6, distance: 1 }] };
      const ids = async (filters: unknown) => (await ns.query({ filters: filters as never, top_k: 10 })).rows?.map((r) => r.id);
      // Case-sensitive by default: "TurboPuffer" is three edits from "turbopufer".
      expect(await ids(["company_name", "Fuzzy", "turbopufer", d1])).toEqual([1, 2]);
      expect(await ids(["company_name", "Fuzzy", "turbopufer", { ...d1, case_sensitive: false }])).toEqual([1, 2, 3]);
      // 3-5 characters: distance 0, a plain substring ("Puf" differs in case); shorter than 3: nothing.
      expect(await ids(["company_name", "Fuzzy", "puf", d1])).toEqual([1, 2, 4]);
      expect(await ids(["company_name", "Fuzzy", "pu", d1])).toEqual([]);
      expect(await ids(["Not", ["company_name", "Fuzzy", "puffin", d1]])).toEqual([1, 2, 3]);
      // The documented ranking: exact substrings (Glob) first, substrings within one edit (Fuzzy) returned too.
      const ranked = await ns.query({
        rank_by: ["Sum", [["Product", 3, ["company_name", "Glob", "*turbopufer*"]], ["company_name", "Fuzzy", "turbopufer", { max_edit_distance: [{ min_query_chars: 6, distance: 1 }], case_sensitive: false }]]] as never,
        include_attributes: ["company_name"],
        limit: 10,
      });
      expect(ranked.rows?.map((r) => [r.id, r.$dist])).toEqual([
        [2, 4],
        [1, 1],
        [3, 1],
      ]);
      await expect(ns.query({ filters: ["plain", "Fuzzy", "turbopuffer", d1] as never })).rejects.toThrow(/fuzzy: true/);
      await expect(ns.query({ filters: ["company_name", "Fuzzy", "turbopuffer"] as never })).rejects.toThrow(/max_edit_distance/);
      await expect(ns.query({ filters: ["company_name", "Fuzzy", "turbopuffer", { max_edit_distance: [{ distance: 3, min_query_chars: 12 }] }] as never })).rejects.toThrow(/0, 1 or 2/);
      await expect(ns.query({ filters: ["company_name", "Fuzzy", "turbopuffer", { max_edit_distance: [{ distance: 2, min_query_chars: 4 }] }] as never })).rejects.toBeInstanceOf(BadRequestError);
      // On a []string attribute each element is tested.
      expect(await ids(["tags", "Fuzzy", "turbopufer", d1])).toEqual([1]);
      // fuzzy, regex, glob: "If set, filterable defaults to false" (https://turbopuffer.com/docs/write, "Schema"):
      // such an attribute takes the filters its options enable (Fuzzy; Glob and IGlob; Regex), no other filter, no order.
      const schema = await ns.schema();
      expect(schema["company_name"]).toEqual({ type: "string", fuzzy: true, glob: true, filterable: false });
      expect(schema["tags"]).toEqual({ type: "[]string", fuzzy: true, filterable: false });
      expect(await ids(["company_name", "Glob", "turbo*"])).toEqual([1, 2]);
      expect(await ids(["company_name", "NotIGlob", "*TURBO*"])).toEqual([4]);
      await expect(ids(["tags", "Glob", "turbo*"])).rejects.toThrow(/tags.. is not filterable.*takes Fuzzy;/);
      await expect(ids(["company_name", "Eq", "puffin"])).rejects.toThrow(/not filterable/);
      await expect(ids(["Or", [["plain", "Eq", "x"], ["company_name", "Eq", null]]])).rejects.toBeInstanceOf(BadRequestError);
      await expect(ns.query({ rank_by: ["company_name", "asc"], top_k: 10 })).rejects.toThrow(/not filterable/);
      // Declared filterable: true explicitly, every filter again; regex: true takes Regex.
      await ns.write({
        upsert_rows: [{ id: 5, note: "abc-123", code: "x1" }],
        schema: { tags: { type: "[]string", fuzzy: true, filterable: true }, note: { type: "string", regex: true }, code: { type: "string", regex: true, filterable: false } },
      });
      expect((await ns.schema())["tags"]).toEqual({ type: "[]string", fuzzy: true }); // filterable (true is not answered)
      expect(await ids(["tags", "Glob", "turbo*"])).toEqual([1]);
      expect(await ids(["note", "Regex", "[0-9]+$"])).toEqual([5]);
      expect(await ids(["code", "Regex", "^x"])).toEqual([5]);
      await expect(ids(["note", "Glob", "abc*"])).rejects.toThrow(/takes Regex/);
      await expect(ids(["code", "In", ["x1"]])).rejects.toThrow(/not filterable/);
    });

    it("should cut to limit.per rows per limit key and limit.total rows, in rank order", async () => {
      const ns = tpuf.namespace("docs");
      const q = [0.15, 0.1, 0.85];
      const ranked = DOCS.map((d) => ({ ...d, dist: cosineDistance(q, d.vector) })).sort((a, b) => a.dist - b.dist);
      const seen = new Map<string, number>();
      const expected = ranked.filter((d) => {
        const n = seen.get(d.color) ?? 0;
        seen.set(d.color, n + 1);
        return n < 1;
      });
      const res = await ns.query({ rank_by: ["vector", "kNN", q], limit: { total: 10, per: { attributes: ["color"], limit: 1 } } });
      expect(res.rows?.map((r) => r.id)).toEqual(expected.map((d) => d.id));
      expect(Object.keys(res.rows?.[0] ?? {}).sort()).toEqual(["$dist", "id"]); // color was fetched for the key only
      const two = await ns.query({ rank_by: ["price", "desc"], limit: { total: 4, per: { attributes: ["color"], limit: 2 } }, include_attributes: ["color"] });
      expect(two.rows).toEqual([
        { id: 11, color: "blue" },
        { id: 10, color: "green" },
        { id: 6, color: "red" },
        { id: 5, color: "blue" },
      ]);
    });

    it("should keep attribute names that are Object.prototype names as data (__proto__, constructor)", async () => {
      const ns = tpuf.namespace("proto-names");
      // JSON.parse makes "__proto__" an own key (an object literal would set the prototype instead).
      await ns.write({ upsert_rows: JSON.parse('[{"id":1,"__proto__":"p","constructor":"c","toString":3},{"id":2,"constructor":"d"}]') });
      await ns.write({ patch_rows: JSON.parse('[{"id":2,"__proto__":"q"}]') });
      const rows = (await ns.query({ include_attributes: true, filters: ["constructor", "In", ["c", "d"]] })).rows ?? [];
      expect(rows.map((r) => ({ ...r }))).toEqual([JSON.parse('{"id":1,"__proto__":"p","constructor":"c","toString":3}'), JSON.parse('{"id":2,"constructor":"d","__proto__":"q"}')]);
      expect(Object.keys((await ns.schema()) as object)).toEqual(expect.arrayContaining(["__proto__", "constructor", "toString"]));
    });

    it("should count, and count per group", async () => {
      const ns = tpuf.namespace("docs");
      const total = await ns.query({ aggregate_by: { n: ["Count"] }, filters: ["price", "Gt", 25] });
      expect(total.aggregations).toEqual({ n: 6 });
      expect(total.rows).toBeUndefined();
      // "Up to limit.total groups are returned, ordered by group key" (https://turbopuffer.com/docs/query, group_by).
      const grouped = await ns.query({ aggregate_by: { n: ["Count"] }, group_by: ["color"] });
      expect(grouped.aggregation_groups).toEqual([
        { color: "blue", n: 3 },
        { color: "green", n: 2 },
        { color: "red", n: 3 },
      ]);
      const firstTwo = await ns.query({ aggregate_by: { n: ["Count"] }, group_by: ["color"], limit: 2 });
      expect(firstTwo.aggregation_groups).toEqual([
        { color: "blue", n: 3 },
        { color: "green", n: 2 },
      ]);
    });

    it("should group by each unique element of an array attribute (ForEachUnique), alone and beside attributes", async () => {
      const ns = tpuf.namespace("docs");
      const byTag = await ns.query({ aggregate_by: { n: ["Count"], total: ["Sum", "price"] }, group_by: [{ tag: ["ForEachUnique", "tags"] }] });
      // Ordered by key, null first.
      expect(byTag.aggregation_groups).toEqual([
        { tag: null, n: 1, total: 40 },
        { tag: "a", n: 4, total: 200 },
        { tag: "b", n: 3, total: 100 },
        { tag: "c", n: 3, total: 160 },
      ]);
      const both = await ns.query({ aggregate_by: { n: ["Count"] }, group_by: ["color", { tag: ["ForEachUnique", "tags"] }], filters: ["price", "Gt", 45] });
      expect(both.aggregation_groups).toEqual([
        { color: "blue", tag: "a", n: 2 },
        { color: "green", tag: "b", n: 1 },
        { color: "green", tag: "c", n: 1 },
        { color: "red", tag: "a", n: 1 },
        { color: "red", tag: "c", n: 1 },
      ]);
      await expect(ns.query({ aggregate_by: { n: ["Count"] }, group_by: [{ tag: ["ForEachDistinct", "tags"] }] as never })).rejects.toThrow(/ForEachDistinct/);
    });

    it("should sum and count an attribute, whole and per group", async () => {
      const ns = tpuf.namespace("docs");
      const total = await ns.query({ aggregate_by: { total: ["Sum", "price"], named: ["Count", "name"] }, filters: ["price", "Gt", 25] });
      expect(total.aggregations).toEqual({ total: 330, named: 6 });
      const grouped = await ns.query({ aggregate_by: { total: ["Sum", "price"], n: ["Count"] }, group_by: ["color"] });
      expect(grouped.aggregation_groups).toEqual([
        { color: "blue", n: 3, total: 150 },
        { color: "green", n: 2, total: 110 },
        { color: "red", n: 3, total: 100 },
      ]);
      await expect(ns.query({ aggregate_by: { s: ["Sum", "name"] } })).rejects.toThrow(/Sum needs numbers/);
    });

    it("should answer a multi-query at one version", async () => {
      const res = await tpuf.namespace("docs").multiQuery({
        queries: [
          { rank_by: ["vector", "ANN", [0.9, 0.1, 0.1]], top_k: 2 },
          { rank_by: ["text", "BM25", "lazy"], top_k: 5 },
          { aggregate_by: { n: ["Count"] } },
        ],
      });
      expect(res.results).toHaveLength(3);
      expect(res.results[0]?.rows?.[0]?.id).toBe(2);
      expect(new Set(res.results[1]?.rows?.map((r) => r.id))).toEqual(new Set([2, 10]));
      expect(res.results[2]?.aggregations).toEqual({ n: DOCS.length });
    });

    it("should fuse a multi-query with rerank_by RRF, weights and rank_constant", async () => {
      const ns = tpuf.namespace("docs");
      const queries = [
        { rank_by: ["vector", "kNN", [0.9, 0.1, 0.1]], top_k: 4, include_attributes: ["name"] },
        { rank_by: ["text", "BM25", "quick fox"], top_k: 3, include_attributes: ["name"] },
      ] as const;
      const separate = await ns.multiQuery({ queries: queries as never });
      const fused = await ns.multiQuery({ queries: queries as never, rerank_by: ["RRF", { rank_constant: 1, weights: [1, 2] }] });
      expect(fused.results).toHaveLength(1);
      const expected = new Map<unknown, number>();
      separate.results.forEach((result, q) => {
        result.rows?.forEach((row, r) => {
          expected.set(row.id, (expected.get(row.id) ?? 0) + [1, 2][q]! / (1 + r + 1));
        });
      });
      const want = [...expected.entries()].sort((a, b) => b[1] - a[1] || (a[0] as number) - (b[0] as number)).slice(0, 4);
      expect(fused.results[0]?.rows?.map((r) => [r.id, r.$dist])).toEqual(want);
      expect(fused.results[0]?.rows?.every((r) => typeof r["name"] === "string")).toBe(true);
      const plain = await ns.multiQuery({ queries: queries as never, rerank_by: ["RRF"] });
      expect(plain.results[0]?.rows?.[0]?.$dist).toBeCloseTo(Math.max(...plain.results[0]!.rows!.map((r) => r.$dist!)), 12);
      await expect(ns.multiQuery({ queries: queries as never, rerank_by: ["RRF", { weights: [1] }] })).rejects.toThrow(/weights/);
      await expect(ns.multiQuery({ queries: queries as never, rerank_by: ["RRF", { rank_constant: 0 }] })).rejects.toThrow(/rank_constant/);
      await expect(ns.multiQuery({ queries: queries as never, rerank_by: ["RRF", { rank_constant: 1.5 }] })).rejects.toThrow(/rank_constant must be an integer/);
      // "RRF reranking requires at least two subqueries".
      await expect(ns.multiQuery({ queries: [queries[0]] as never, rerank_by: ["RRF"] })).rejects.toThrow(/at least two sub-queries/);
    });

    it("should apply upserts, patches and deletes of one request as one commit, skipping patches of missing ids", async () => {
      const ns = tpuf.namespace("mixed");
      // The attributes exist beforehand: a write that introduces one commits the schema first (its own version).
      await ns.write({ upsert_rows: [{ id: "a", v: 1, note: "", w: false }, { id: "b", v: 2 }, { id: "c", v: 3 }] });
      const before = await server.engine.listVersions(`${PROJECT.org}/${PROJECT.project}/mixed`);
      const res = await ns.write({
        upsert_rows: [{ id: "d", v: 4, w: true }],
        patch_rows: [{ id: "a", v: 10, note: "patched" }, { id: "zzz", v: 0 }],
        deletes: ["b", "nope"],
        return_affected_ids: true,
      });
      const after = await server.engine.listVersions(`${PROJECT.org}/${PROJECT.project}/mixed`);
      expect(after.length - before.length).toBe(1);
      expect(res).toMatchObject({ rows_upserted: 1, rows_patched: 1, rows_deleted: 1, rows_affected: 3, upserted_ids: ["d"], patched_ids: ["a"], deleted_ids: ["b"] });
      const rows = (await ns.query({ include_attributes: true, top_k: 10 })).rows;
      expect(rows).toEqual([
        { id: "a", v: 10, note: "patched", w: false },
        { id: "c", v: 3 },
        { id: "d", v: 4, w: true },
      ]);
      // "If the same document ID appears multiple times in the request, the request will fail with an HTTP 400 error"
      // (https://turbopuffer.com/docs/write): nothing of it is applied.
      const duplicates = [
        { upsert_rows: [{ id: "e", v: 1 }], patch_rows: [{ id: "e", v: 2 }] },
        { upsert_rows: [{ id: "e", v: 1 }, { id: "e", v: 2 }] },
        { patch_rows: [{ id: "a", v: 1 }], deletes: ["a"] },
        { upsert_columns: { id: ["e", "f"], v: [1, 2] }, deletes: ["f"] },
      ];
      for (const write of duplicates) await expect(ns.write(write as never), JSON.stringify(write)).rejects.toThrow(/appears more than once/);
      expect((await ns.query({ include_attributes: true, top_k: 10 })).rows).toEqual(rows);
    });

    it("should apply conditional writes per document ($ref_new, a missing document's null attributes)", async () => {
      const ns = tpuf.namespace("conditional");
      await ns.write({ upsert_rows: [{ id: 1, version: 1, v: "old" }, { id: 2, version: 5, v: "old" }] });
      const newer = ["Or", [["version", "Lt", { $ref_new: "version" }], ["version", "Eq", null]]];
      const up = await ns.write({
        upsert_rows: [{ id: 1, version: 2, v: "new" }, { id: 2, version: 3, v: "new" }, { id: 3, version: 1, v: "new" }],
        upsert_condition: newer as never,
        return_affected_ids: true,
      });
      expect(up).toMatchObject({ rows_upserted: 2, upserted_ids: [1, 3] });
      const patch = await ns.write({ patch_rows: [{ id: 1, tag: "x" }, { id: 2, tag: "x" }, { id: 9, tag: "x" }], patch_condition: ["version", "Gte", 3], return_affected_ids: true });
      expect(patch).toMatchObject({ rows_patched: 1, patched_ids: [2] });
      const del = await ns.write({ deletes: [1, 2, 3], delete_condition: ["tag", "Eq", "x"], return_affected_ids: true });
      expect(del).toMatchObject({ rows_deleted: 1, deleted_ids: [2] });
      const rows = (await ns.query({ include_attributes: true, top_k: 10 })).rows;
      expect(rows).toEqual([
        { id: 1, version: 2, v: "new" },
        { id: 3, version: 1, v: "new" },
      ]);
      await expect(ns.write({ upsert_rows: [{ id: 1 }], upsert_condition: ["version", "Fuzzy", "x"] as never })).rejects.toThrow(/Fuzzy/);
    });

    it("should bind $ref_new elements of In / NotIn / ContainsAny lists and Contains operands in conditions; refuse them in patterns", async () => {
      const ns = tpuf.namespace("conditional-lists");
      await ns.write({
        upsert_rows: [
          { id: 1, owner: "ann", tags: ["x", "y"] },
          { id: 2, owner: "bob", tags: ["z"] },
          { id: 3, owner: "cid", tags: ["w"] },
        ],
      });
      // The stored owner must be "root" or one of the new row's editors.
      const up = await ns.write({
        upsert_rows: [
          { id: 1, owner: "ann", editors: ["ann", "bob"], tags: ["x"] },
          { id: 2, owner: "eve", editors: ["ann"], tags: ["z"] },
          { id: 3, owner: "cid", editors: ["root", "cid"], tags: ["w"] },
        ],
        upsert_condition: ["owner", "In", ["root", { $ref_new: "editors" }]] as never,
        return_affected_ids: true,
      });
      expect(up).toMatchObject({ rows_upserted: 2, upserted_ids: [1, 3] });
      const notIn = await ns.write({
        patch_rows: [{ id: 1, banned: "ann" }, { id: 2, banned: "eve" }],
        patch_condition: ["owner", "NotIn", [{ $ref_new: "banned" }, "nobody"]] as never,
        return_affected_ids: true,
      });
      expect(notIn).toMatchObject({ rows_patched: 1, patched_ids: [2] });
      const contains = await ns.write({
        patch_rows: [{ id: 1, want: "x" }, { id: 2, want: "x" }, { id: 3, want: "w" }],
        patch_condition: ["Or", [["tags", "Contains", { $ref_new: "want" }], ["tags", "ContainsAny", ["q", { $ref_new: "want" }]]]] as never,
        return_affected_ids: true,
      });
      expect(contains).toMatchObject({ rows_patched: 2, patched_ids: [1, 3] });
      const notContains = await ns.write({ patch_rows: [{ id: 2, want: "z" }, { id: 3, want: "z" }], patch_condition: ["tags", "NotContainsAny", [{ $ref_new: "want" }]] as never, return_affected_ids: true });
      expect(notContains).toMatchObject({ rows_patched: 1, patched_ids: [3] });
      await expect(ns.write({ upsert_rows: [{ id: 1 }], upsert_condition: ["owner", "Glob", { $ref_new: "owner" }] as never })).rejects.toThrow(/upsert_condition: .*ref_new.* is not a pattern: Glob/);
      await expect(ns.write({ upsert_rows: [{ id: 1 }], upsert_condition: ["And", [["owner", "Eq", "x"], ["owner", "Lt", [{ $ref_new: "owner" }]]]] as never })).rejects.toThrow(
        /upsert_condition\.And\[1\]\[2\]\[0\]: .*ref_new.* may be a list element only of In/,
      );
    });

    it("should make conditional writes atomic: concurrent compare-and-set increments lose no update", async () => {
      const ns = tpuf.namespace("counter");
      await ns.write({ upsert_rows: [{ id: "c", n: 0 }] });
      const writers = 6;
      const attempts: number[] = new Array(writers).fill(0);
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (;;) {
            attempts[w] = (attempts[w] ?? 0) + 1;
            if ((attempts[w] ?? 0) > 200) throw new Error("a writer never won");
            const n = (await ns.query({ filters: ["id", "Eq", "c"], include_attributes: ["n"] })).rows?.[0]?.n as number;
            const res = await ns.write({ upsert_rows: [{ id: "c", n: n + 1 }], upsert_condition: ["n", "Eq", n] });
            if (res.rows_affected === 1) return;
          }
        }),
      );
      expect((await ns.query({ include_attributes: ["n"] })).rows).toEqual([{ id: "c", n: writers }]);
    });

    it("should evaluate conditions inside the commit: of concurrent claims exactly one wins, a delete finds its document gone", async () => {
      const ns = tpuf.namespace("claims");
      await ns.write({ upsert_rows: [{ id: "job", state: "open" }, { id: "stale", state: "open" }] });
      const writers = 5;
      const results = await Promise.all(
        Array.from({ length: writers }, (_, w) =>
          ns.write({
            upsert_rows: [{ id: `attempt-${w}`, w }],
            patch_rows: [{ id: "job", owner: `w${w}`, state: "taken" }],
            patch_condition: ["owner", "Eq", null],
            deletes: ["stale"],
            delete_condition: ["state", "Eq", "open"],
            return_affected_ids: true,
          }),
        ),
      );
      const winners = results.filter((r) => r.patched_ids?.length === 1);
      expect(winners).toHaveLength(1);
      expect(results.every((r) => r.rows_upserted === 1)).toBe(true);
      // The stale document is deleted by exactly one request (the others find it gone at their commit).
      expect(results.filter((r) => r.deleted_ids?.length === 1)).toHaveLength(1);
      const winner = results.indexOf(winners[0] as (typeof results)[number]);
      const rows = (await ns.query({ filters: ["id", "In", ["job", "stale"]], include_attributes: ["owner", "state"] })).rows;
      expect(rows).toEqual([{ id: "job", owner: `w${winner}`, state: "taken" }]);
      // A condition naming the new value ($ref_new) on the id.
      const self = await ns.write({ patch_rows: [{ id: "job", state: "done" }], patch_condition: ["id", "Eq", { $ref_new: "id" }] as never, return_affected_ids: true });
      expect(self).toMatchObject({ rows_patched: 1, patched_ids: ["job"] });
    });

    it("should take columns (upsert_columns, patch_columns with null removing an attribute)", async () => {
      const ns = tpuf.namespace("columns");
      await ns.write({ upsert_columns: { id: [1, 2, 3], vector: [[1, 0], [0, 1], [1, 1]], name: ["x", "y", null] }, distance_metric: "euclidean_squared" });
      await ns.write({ patch_columns: { id: [1, 2], name: [null, "yy"] } });
      const res = await ns.query({ rank_by: ["vector", "kNN", [1, 0.2]], top_k: 3, include_attributes: ["name"] });
      expect(res.rows?.map((r) => r.id)).toEqual([1, 3, 2]);
      expect(res.rows?.[0]).toEqual({ id: 1, $dist: expect.any(Number) });
      expect(res.rows?.[1]?.name).toBeUndefined();
      expect(res.rows?.[2]?.name).toBe("yy");
      // euclidean_squared: $dist is the squared L2 distance.
      expect(res.rows?.[0]?.$dist).toBeCloseTo(squared([1, 0.2], [1, 0]), 5);
      expect(res.rows?.[2]?.$dist).toBeCloseTo(squared([1, 0.2], [0, 1]), 5);
    });

    it("should delete and patch by filter", async () => {
      const ns = tpuf.namespace("by-filter");
      await ns.write({ upsert_rows: DOCS.map(({ vector: _v, text: _t, ...d }) => d) });
      const deleted = await ns.write({ delete_by_filter: ["color", "Eq", "red"], return_affected_ids: true });
      expect(deleted).toMatchObject({ rows_affected: 3, rows_deleted: 3, rows_remaining: false, deleted_ids: [1, 3, 6] });
      expect(deleted.rows_patched).toBeUndefined();
      const patched = await ns.write({ patch_by_filter: { filters: ["price", "Gte", 70], patch: { sale: true } }, return_affected_ids: true });
      expect(patched).toMatchObject({ rows_affected: 2, rows_patched: 2, rows_remaining: false, patched_ids: [10, 11] });
      // A filter matching nothing: the counts of the operations used are answered, 0 included.
      const none = await ns.write({ delete_by_filter: ["color", "Eq", "purple"], return_affected_ids: true });
      expect(none).toMatchObject({ rows_affected: 0, rows_deleted: 0, rows_remaining: false });
      expect(none.deleted_ids).toBeUndefined();
      const rows = (await ns.query({ include_attributes: ["sale"], top_k: 100 })).rows;
      expect(rows?.map((r) => r.id)).toEqual([2, 4, 5, 10, 11]);
      expect(rows?.filter((r) => r.sale === true).map((r) => r.id)).toEqual([10, 11]);
    });

    it("should follow turbopuffer's documented examples of conditional writes, delete_by_filter and patch_by_filter", async () => {
      // https://turbopuffer.com/docs/write, "Conditional writes": a missing document is upserted unconditionally.
      const cond = tpuf.namespace("docs-example-conditional");
      await cond.write({
        upsert_rows: [
          { id: 101, vector: [0.2, 0.8], title: "LISP Guide for Beginners (draft_v2)", version: 2 },
          { id: 102, vector: [0.4, 0.4], title: "AI for Practitioners (final)", version: 5 },
        ],
        distance_metric: "cosine_distance",
      });
      const conditional = await cond.write({
        upsert_rows: [
          { id: 101, vector: [0.2, 0.8], title: "LISP Guide for Beginners (final)", version: 3 },
          { id: 102, vector: [0.4, 0.4], title: "AI for Practitioners (draft_v4)", version: 4 },
          { id: 103, vector: [0.6, 0.8], title: "Database Internals (draft_v1)", version: 1 },
        ],
        upsert_condition: ["version", "Lt", { $ref_new: "version" }],
        distance_metric: "cosine_distance",
        return_affected_ids: true,
      });
      expect(conditional).toMatchObject({ rows_affected: 2, rows_upserted: 2, upserted_ids: [101, 103] });
      const titles = (await cond.query({ rank_by: ["id", "asc"], limit: 10, include_attributes: ["title"] })).rows;
      expect(titles?.map((r) => r.title)).toEqual(["LISP Guide for Beginners (final)", "AI for Practitioners (final)", "Database Internals (draft_v1)"]);
      // "Insert if not exists": existing documents always have an id, so ["id", "Eq", null] fails for them only.
      const insert = await cond.write({ upsert_rows: [{ id: 101, vector: [1, 0], version: 9 }, { id: 104, vector: [1, 0], version: 1 }], upsert_condition: ["id", "Eq", null], return_affected_ids: true });
      expect(insert).toMatchObject({ rows_upserted: 1, upserted_ids: [104] });
      // Patches and deletes of missing documents are skipped without evaluating the condition.
      const skipped = await cond.write({ patch_rows: [{ id: 999, version: 1 }], patch_condition: ["id", "Eq", null], deletes: [998], delete_condition: ["id", "Eq", null] });
      expect(skipped).toMatchObject({ rows_affected: 0, rows_patched: 0, rows_deleted: 0 });

      // "Delete by filter": titles including "guide" with 1000 or less views.
      const del = tpuf.namespace("docs-example-delete-by-filter");
      await del.write({
        upsert_rows: [
          { id: 101, vector: [0.2, 0.8], title: "LISP Guide for Beginners", views: 10 },
          { id: 102, vector: [0.4, 0.4], title: "AI for Practitioners", views: 2500 },
        ],
        distance_metric: "cosine_distance",
      });
      const deleted = await del.write({ delete_by_filter: ["And", [["title", "IGlob", "*guide*"], ["views", "Lte", 1000]]] });
      expect(deleted.rows_affected).toBe(1);
      expect((await del.query({ rank_by: ["id", "asc"], limit: 10 })).rows?.map((r) => r.id)).toEqual([102]);

      // "Patch by filter": archive published posts with 100 or fewer views.
      const patch = tpuf.namespace("docs-example-patch-by-filter");
      await patch.write({
        upsert_rows: [
          { id: 101, vector: [0.2, 0.8], title: "LISP Guide for Beginners", views: 10, status: "published" },
          { id: 102, vector: [0.4, 0.4], title: "AI for Practitioners", views: 2500, status: "published" },
          { id: 103, vector: [0.6, 0.3], title: "Rust Basics", views: 50, status: "published" },
        ],
        distance_metric: "cosine_distance",
      });
      const patched = await patch.write({
        patch_by_filter: { filters: ["And", [["status", "Eq", "published"], ["views", "Lte", 100]]], patch: { status: "archived" } },
      });
      expect(patched.rows_affected).toBe(2);
      const statuses = (await patch.query({ rank_by: ["id", "asc"], limit: 10, include_attributes: ["status"] })).rows;
      expect(statuses?.map((r) => [r.id, r.status])).toEqual([
        [101, "archived"],
        [102, "published"],
        [103, "archived"],
      ]);
    });

    it("should bound delete_by_filter and patch_by_filter: over the limit a 400 changing nothing, with *_allow_partial the first matches and rows_remaining", async () => {
      // A server whose filter-write limits are 2 (turbopuffer's are 5M and 50k), on the same store and keys.
      const limited = await startTestServer(store.storage, { maxBatch: 500, maxDeleteByFilter: 2, maxPatchByFilter: 2 });
      try {
        const ns = new Turbopuffer({ apiKey: writeKey, baseURL: limited.url, maxRetries: 0, logLevel: "off" }).namespace("by-filter-partial");
        await ns.write({ upsert_rows: [1, 2, 3, 4, 5].map((id) => ({ id, kind: id % 2 === 1 ? "odd" : "even", n: id })) });
        await expect(ns.write({ delete_by_filter: ["kind", "Eq", "odd"] })).rejects.toBeInstanceOf(BadRequestError);
        await expect(ns.write({ patch_by_filter: { filters: ["n", "Gte", 1], patch: { seen: true } } })).rejects.toThrow(/matches 5 documents; at most 2/);
        expect((await ns.query({ rank_by: ["id", "asc"], limit: 10, include_attributes: true })).rows).toEqual(
          [1, 2, 3, 4, 5].map((id) => ({ id, kind: id % 2 === 1 ? "odd" : "even", n: id })),
        );
        // Partial: the first matches in id order, then the rest on the next (potentially duplicate) request.
        const first = await ns.write({ delete_by_filter: ["kind", "Eq", "odd"], delete_by_filter_allow_partial: true, return_affected_ids: true });
        expect(first).toMatchObject({ rows_affected: 2, rows_deleted: 2, rows_remaining: true, deleted_ids: [1, 3] });
        const second = await ns.write({ delete_by_filter: ["kind", "Eq", "odd"], delete_by_filter_allow_partial: true, return_affected_ids: true });
        expect(second).toMatchObject({ rows_deleted: 1, rows_remaining: false, deleted_ids: [5] });
        const patchAll = { filters: ["seen", "Eq", null], patch: { seen: true } } as const;
        const p1 = await ns.write({ patch_by_filter: patchAll as never, patch_by_filter_allow_partial: true, return_affected_ids: true });
        expect(p1).toMatchObject({ rows_patched: 2, rows_remaining: false, patched_ids: [2, 4] });
        await ns.write({ upsert_rows: [{ id: 6 }, { id: 7 }, { id: 8 }] });
        const p2 = await ns.write({ patch_by_filter: patchAll as never, patch_by_filter_allow_partial: true, return_affected_ids: true });
        expect(p2).toMatchObject({ rows_patched: 2, rows_remaining: true, patched_ids: [6, 7] });
        const p3 = await ns.write({ patch_by_filter: patchAll as never, patch_by_filter_allow_partial: true, return_affected_ids: true });
        expect(p3).toMatchObject({ rows_patched: 1, rows_remaining: false, patched_ids: [8] });
        expect((await ns.query({ rank_by: ["id", "asc"], limit: 10, include_attributes: ["seen"] })).rows?.map((r) => [r.id, r.seen])).toEqual([
          [2, true],
          [4, true],
          [6, true],
          [7, true],
          [8, true],
        ]);
      } finally {
        await limited.close();
      }
    });

    it("should branch and copy from a namespace", async () => {
      const branch = await tpuf.namespace("docs-branch").branchFrom({ source_namespace: "docs" });
      expect(branch.status).toBe("OK");
      const copy = await tpuf.namespace("docs-copy").copyFrom({ source_namespace: "docs" });
      expect(copy).toMatchObject({ status: "OK", rows_affected: DOCS.length });
      await expect(tpuf.namespace("docs-copy2").write({ copy_from_namespace: "docs", deletes: [1] })).rejects.toThrow(/only operation/);
      await tpuf.namespace("docs-branch").write({ deletes: [1] });
      for (const [name, n] of [["docs", DOCS.length], ["docs-branch", DOCS.length - 1], ["docs-copy", DOCS.length]] as const) {
        expect((await tpuf.namespace(name).query({ aggregate_by: { n: ["Count"] } })).aggregations).toEqual({ n });
      }
      const hit = await tpuf.namespace("docs-copy").query({ rank_by: ["text", "BM25", "lazy"], top_k: 5 });
      expect(hit.rows?.length).toBe(2);
    });

    it("should answer metadata, schema and schema updates, pinning, cache warming, explain and recall", async () => {
      const ns = tpuf.namespace("docs");
      const meta = await ns.metadata();
      expect(meta.approx_row_count).toBe(DOCS.length);
      expect(meta.encryption).toEqual({ mode: "default" });
      expect(["up-to-date", "updating"]).toContain(meta.index.status);
      expect(Date.parse(meta.created_at)).toBeGreaterThan(0);
      // full_text_search: true is stored with remove_stopwords: false recorded (turbopuffer's newest default).
      expect(meta.schema["text"]).toMatchObject({ type: "string", full_text_search: { remove_stopwords: false } });
      expect(meta.schema["price"]).toEqual({ type: "int" });
      expect(meta.schema["tags"]).toEqual({ type: "[]string" });
      expect(meta.schema["vector"]).toMatchObject({ type: "[3]f32" });
      expect(meta.pinning).toBeUndefined();

      const schema = await ns.schema();
      expect(schema["id"]).toEqual({ type: "uint" });
      const updated = await ns.updateSchema({ schema: { name: { type: "string", full_text_search: true } } });
      expect(updated["name"]).toMatchObject({ type: "string", full_text_search: { remove_stopwords: false } });
      await expect(ns.updateSchema({ schema: { price: "string" } })).rejects.toBeInstanceOf(BadRequestError);

      const pinned = await ns.updateMetadata({ pinning: true });
      expect(pinned.pinning?.replicas).toBe(1);
      expect(await server.engine.pinnedNamespaces()).toContain(`${PROJECT.org}/${PROJECT.project}/docs`);
      const unpinned = await ns.updateMetadata({ pinning: false });
      expect(unpinned.pinning).toBeUndefined();

      expect((await ns.hintCacheWarm()).status).toBe("ACCEPTED");
      const plan = await ns.explainQuery({ rank_by: ["vector", "ANN", [1, 0, 0]], filters: ["color", "Eq", "red"] });
      expect(plan.plan_text).toContain("ANN");
      const recall = await ns.recall({ num: 4, top_k: 3 });
      expect(recall.avg_recall).toBe(1);
      expect(recall.avg_ann_count).toBe(3);
      expect(recall.avg_exhaustive_count).toBe(3);
    });

    it("should list the key's namespaces by prefix, page by page", async () => {
      for (const n of ["list-a", "list-b", "list-c"]) await tpuf.namespace(n).write({ upsert_rows: [{ id: 1, x: 1 }] });
      const first = await tpuf.namespaces({ prefix: "list-", page_size: 2 });
      expect(first.namespaces.map((n) => n.id)).toEqual(["list-a", "list-b"]);
      expect(first.next_cursor).not.toBe("");
      const all: string[] = [];
      for await (const n of tpuf.namespaces({ prefix: "list-", page_size: 2 })) all.push(n.id);
      expect(all).toEqual(["list-a", "list-b", "list-c"]);
      expect((await admin.namespaces({ prefix: "list-" })).namespaces).toEqual([]);
    });

    it("should delete a namespace (deleteAll), then answer 404 NotFoundError", async () => {
      const ns = tpuf.namespace("to-delete");
      await ns.write({ upsert_rows: [{ id: 1, x: 1 }] });
      await ns.updateMetadata({ pinning: true });
      expect((await ns.deleteAll()).status).toBe("OK");
      expect(await server.engine.pinnedNamespaces()).not.toContain(`${PROJECT.org}/${PROJECT.project}/to-delete`);
      expect(await ns.exists()).toBe(false);
      await expect(ns.deleteAll()).rejects.toBeInstanceOf(NotFoundError);
      await expect(ns.query({ top_k: 1 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(ns.metadata()).rejects.toBeInstanceOf(NotFoundError);
    });

    it("should raise the client's typed errors: 400 naming an unsupported operator, 401, 403, 404", async () => {
      const ns = tpuf.namespace("docs");
      const fuzzy = ns.query({ filters: ["color", "Fuzzy", "fo"] as never, top_k: 1 }); // color is not declared fuzzy: true
      await expect(fuzzy).rejects.toBeInstanceOf(BadRequestError);
      await expect(ns.query({ filters: ["color", "Fuzzy", "fo"] as never, top_k: 1 })).rejects.toThrow(/Fuzzy needs fuzzy: true/);
      await expect(ns.query({ filters: ["name", "Regex", "(a"], top_k: 1 })).rejects.toThrow(/invalid Regex pattern/);
      await expect(ns.query({ rank_by: ["Saturate", ["text", "BM25", "fox"], {}] as never })).rejects.toThrow(/Saturate/);
      await expect(ns.query({ aggregate_by: { s: ["Avg", "price"] } as never })).rejects.toThrow(/Avg/);
      await expect(ns.write({ upsert_rows: [{ id: 1, price: "ten" }] })).rejects.toThrow(/price/);
      await expect(ns.write({ upsert_rows: [{ id: "one" }] })).rejects.toBeInstanceOf(BadRequestError);
      await expect(ns.write({ upsert_rows: [{ id: 99, vector: [1, 2] }] })).rejects.toThrow(/3 dimensions/);
      await expect(ns.write({ sharding: { num_shards: 2 }, deletes: [1] } as never)).rejects.toThrow(/sharding/);
      await expect(client("sk_not_a_key").namespace("docs").query({ top_k: 1 })).rejects.toBeInstanceOf(AuthenticationError);
      await expect(readOnly.namespace("docs").write({ deletes: [1] })).rejects.toBeInstanceOf(PermissionDeniedError);
      expect((await readOnly.namespace("docs").query({ top_k: 1 })).rows).toHaveLength(1);
      await expect(tpuf.namespace("missing").query({ top_k: 1 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(tpuf.namespace("docs-branch").branchFrom({ source_namespace: "docs" })).rejects.toBeInstanceOf(BadRequestError);
      // Nothing of a refused write was applied.
      expect((await ns.query({ aggregate_by: { n: ["Count"] } })).aggregations).toEqual({ n: DOCS.length });
    });

    it("should keep uuid ids and datetime attributes in their declared types (lower-case UUIDs, time-ordered datetimes)", async () => {
      const ns = tpuf.namespace("typed");
      const A = "3D7A7296-3D6A-4796-8FB0-F90406B1F621";
      const B = "92ef7c95-a212-43a4-ae4e-0ebc96a65764";
      const C = "00000000-0000-4000-8000-000000000001";
      await ns.write({
        upsert_rows: [
          { id: A, at: "2024-03-15T10:30:45Z", owner: B },
          { id: B, at: "2024-03-15T08:00:00-05:00", owner: A }, // 13:00Z: later than A though it sorts earlier as text
          { id: C, at: "2023-12-31", owner: A },
        ],
        schema: { id: "uuid", at: "datetime", owner: { type: "uuid" } },
      });
      const ordered = await ns.query({ rank_by: ["at", "asc"], top_k: 10, include_attributes: ["at", "owner"] });
      expect(ordered.rows?.map((r) => r.id)).toEqual([C, A.toLowerCase(), B]);
      expect(ordered.rows?.[2]?.at).toBe("2024-03-15T13:00:00.000Z");
      expect(ordered.rows?.[2]?.owner).toBe(A.toLowerCase());
      const after = await ns.query({ filters: ["And", [["at", "Gt", "2024-03-15T12:00:00+01:00"], ["owner", "Eq", A]]], top_k: 10 });
      expect(after.rows?.map((r) => r.id)).toEqual([B]);
      expect((await ns.query({ filters: ["id", "Eq", A], top_k: 10 })).rows?.map((r) => r.id)).toEqual([A.toLowerCase()]);
      await expect(ns.write({ upsert_rows: [{ id: "not-a-uuid" }] })).rejects.toBeInstanceOf(BadRequestError);
      await expect(ns.write({ upsert_rows: [{ id: C, at: "yesterday" }] })).rejects.toThrow(/datetime/);
      expect((await ns.schema())["at"]).toEqual({ type: "datetime" });
    });

    it("should round-trip uint ids up to 2^64-1 exactly (raw JSON: the JS client's ids are numbers) and u64 / i64 attribute values exactly", async () => {
      const raw = async (route: string, body: string) => {
        const res = await fetch(`${server.url}/v2/namespaces/big${route}`, {
          method: "POST",
          headers: { authorization: `Bearer ${tpuf.apiKey}`, "content-type": "application/json" },
          body,
        });
        return { status: res.status, text: await res.text() };
      };
      const ns0 = tpuf.namespace("big");
      const MAX = "18446744073709551615";
      const ABOVE_2_53 = "9007199254740993"; // 2^53 + 1: a JavaScript number would read it as 2^53
      const written = await raw("", `{"upsert_rows":[{"id":${MAX},"n":1},{"id":${ABOVE_2_53},"n":2},{"id":7,"n":3}],"return_affected_ids":true}`);
      expect(written.status, written.text).toBe(200);
      expect(written.text).toContain(`"upserted_ids":[${MAX},${ABOVE_2_53},7]`);
      const all = await raw("/query", `{"rank_by":["id","asc"],"top_k":10,"include_attributes":["n"]}`);
      expect(all.status, all.text).toBe(200);
      expect(all.text).toContain(`"rows":[{"id":7,"n":3},{"id":${ABOVE_2_53},"n":2},{"id":${MAX},"n":1}]`);
      const one = await raw("/query", `{"filters":["id","Eq",${MAX}],"top_k":10}`);
      expect(one.text).toContain(`"rows":[{"id":${MAX}}]`);
      const range = await raw("/query", `{"filters":["id","Gt",9007199254740992],"rank_by":["id","desc"],"top_k":10}`);
      expect(range.text).toContain(`"rows":[{"id":${MAX}},{"id":${ABOVE_2_53}}]`);
      expect((await raw("", `{"upsert_rows":[{"id":18446744073709551616}]}`)).status).toBe(400); // 2^64
      // u64 / i64 attribute values are stored and answered exactly (docs/turbopuffer-compat.md).
      const u64 = await raw("", `{"upsert_rows":[{"id":8,"u":${MAX},"tags":[${MAX},1]},{"id":9,"u":${ABOVE_2_53},"i":-9223372036854775808}]}`);
      expect(u64.status, u64.text).toBe(200);
      const exact = await raw("/query", `{"filters":["u","Eq",${MAX}],"top_k":10,"include_attributes":["u","tags"]}`);
      expect(exact.text).toContain(`"rows":[{"id":8,"u":${MAX},"tags":[${MAX},1]}]`);
      const above = await raw("/query", `{"filters":["u","Gt",9007199254740992],"rank_by":["u","desc"],"top_k":10,"include_attributes":["u"]}`);
      expect(above.text).toContain(`"rows":[{"id":8,"u":${MAX}},{"id":9,"u":${ABOVE_2_53}}]`);
      expect((await raw("/query", `{"filters":["tags","Contains",${MAX}],"top_k":10}`)).text).toContain(`"rows":[{"id":8}]`);
      expect((await raw("/query", `{"filters":["i","Eq",-9223372036854775808],"top_k":10,"include_attributes":["i"]}`)).text).toContain(`"rows":[{"id":9,"i":-9223372036854775808}]`);
      expect((await raw("", `{"upsert_rows":[{"id":10,"u":18446744073709551616}]}`)).status).toBe(400); // 2^64: beyond u64
      expect((await raw("", `{"upsert_rows":[{"id":10,"n":${MAX}}]}`)).status).toBe(400); // n is int (inferred from 1): 2^64-1 is beyond i64
      expect((await ns0.schema())["u"]).toEqual({ type: "uint" });
      expect((await raw("/explain_query", `{"filters":["u","Eq",${MAX}],"top_k":10}`)).status).not.toBe(500);
      await ns0.write({ deletes: [8, 9] });
      // The official client reads the same namespace: its ids are numbers (exact up to 2^53-1).
      const ns = tpuf.namespace("big");
      expect((await ns.schema())["id"]).toEqual({ type: "uint" });
      expect((await ns.query({ filters: ["id", "Lt", 100], top_k: 10 })).rows?.map((r) => r.id)).toEqual([7]);
      await ns.write({ deletes: [7] });
      expect((await raw("/query", `{"rank_by":["id","asc"],"top_k":10}`)).text).toContain(`"rows":[{"id":${ABOVE_2_53}},{"id":${MAX}}]`);
    });

    it("should enforce filterable: false (a filter on it is a 400; its values are still returned)", async () => {
      const ns = tpuf.namespace("unfilterable");
      await ns.write({
        upsert_rows: [
          { id: 1, secret: "s1", kind: "a" },
          { id: 2, secret: "s2", kind: "b" },
        ],
        schema: { secret: { type: "string", filterable: false } },
      });
      expect((await ns.schema())["secret"]).toEqual({ type: "string", filterable: false });
      await expect(ns.query({ filters: ["secret", "Eq", "s1"], top_k: 10 })).rejects.toBeInstanceOf(BadRequestError);
      await expect(ns.query({ filters: ["secret", "Eq", "s1"], top_k: 10 })).rejects.toThrow(/not filterable/);
      const res = await ns.query({ filters: ["kind", "Eq", "b"], top_k: 10, include_attributes: ["secret"] });
      expect(res.rows).toEqual([{ id: 2, secret: "s2" }]);
      // Turning it back on is refused (compacted segments have no index for it).
      await expect(ns.updateSchema({ schema: { secret: { type: "string", filterable: true } } })).rejects.toBeInstanceOf(BadRequestError);
    });

    it("should move a schema kept in labels (written before the engine had schemas) into the engine's schema", async () => {
      const http = new Client(server.url, ADMIN_KEY);
      const base = `/v1/orgs/${PROJECT.org}/projects/${PROJECT.project}/namespaces`;
      expect((await http.post(base, { name: "legacy" })).status).toBe(201);
      // What the layer wrote before: 20-digit keys for uint ids, the schema in tpuf.schema.* labels.
      const docs = [
        { id: "00000000000000000003", attributes: { price: 3 } },
        { id: "00000000000000000012", attributes: { price: 12 } },
      ];
      expect((await http.post(`${base}/legacy/upsert`, { documents: docs })).status).toBe(200);
      const labels = { keep: "me", "tpuf.schema.0": JSON.stringify({ id: { type: "uint" }, price: { type: "int" }, note: { type: "string", regex: true } }) };
      expect((await http.put(`${base}/legacy/labels`, { labels })).status).toBe(200);
      const ns = tpuf.namespace("legacy");
      expect((await ns.schema())["note"]).toEqual({ type: "string", regex: true }); // read from the labels
      await ns.write({ upsert_rows: [{ id: 20, price: 20 }] });
      const info = await http.get(`${base}/legacy`);
      expect(info.body.labels).toEqual({ keep: "me" });
      expect(info.body.schema).toEqual({
        idType: "uint",
        attributes: { note: { type: "string", filterable: true, options: { regex: true } }, price: { type: "int", filterable: true } },
      });
      expect((await ns.query({ rank_by: ["id", "asc"], top_k: 10, include_attributes: ["price"] })).rows).toEqual([
        { id: 3, price: 3 },
        { id: 12, price: 12 },
        { id: 20, price: 20 },
      ]);
      await expect(ns.write({ upsert_rows: [{ id: 21, price: "x" }] })).rejects.toBeInstanceOf(BadRequestError);
    });

    it("should accept gzip-compressed requests (the client's compression: true)", async () => {
      const gz = new Turbopuffer({ apiKey: tpuf.apiKey, baseURL: server.url, maxRetries: 0, logLevel: "off", compression: true });
      const ns = gz.namespace("compressed");
      const rows = Array.from({ length: 200 }, (_, i) => ({ id: i, vector: [i % 7, (i * 3) % 11, 1], label: `row ${i}` }));
      const res = await ns.write({ upsert_rows: rows, distance_metric: "euclidean_squared" });
      expect(res.rows_affected).toBe(200);
      const q = await ns.query({ rank_by: ["vector", "kNN", [3, 9, 1]], top_k: 200, include_attributes: ["label"], filters: ["label", "Glob", "row 1*"] });
      const expected = rows.filter((r) => r.label.startsWith("row 1")).map((r) => ({ id: r.id, d: squared([3, 9, 1], r.vector) }));
      expected.sort((a, b) => a.d - b.d || a.id - b.id);
      expect(q.rows?.map((r) => r.$dist)).toEqual(expected.map((e) => expect.closeTo(e.d, 4)));
    });

    it("should copy from a namespace of another project given that project's API key", async () => {
      const http = new Client(server.url, ADMIN_KEY);
      const res = await http.post("/v1/keys", { role: "read", org: "tpuf-org", project: "elsewhere" });
      const otherKey = res.body.key as string;
      const writer = await http.post("/v1/keys", { role: "write", org: "tpuf-org", project: "elsewhere" });
      await client(writer.body.key as string).namespace("source").write({ upsert_rows: [{ id: 7, x: "from elsewhere" }] });
      expect(await tpuf.namespace("source").exists()).toBe(false);
      await tpuf.namespace("copied").copyFrom({ source_namespace: "source", source_api_key: otherKey });
      expect((await tpuf.namespace("copied").query({ include_attributes: true })).rows).toEqual([{ id: 7, x: "from elsewhere" }]);
    });

    it("should serve namespaces written through Skerry's own API (string ids, text fields)", async () => {
      const http = new Client(server.url, ADMIN_KEY);
      const base = `/v1/orgs/${PROJECT.org}/projects/${PROJECT.project}/namespaces`;
      expect((await http.post(base, { name: "native" })).status).toBe(201);
      const docs = [
        { id: "n1", text: { body: "red kettle" }, attributes: { price: 5 } },
        { id: "n2", text: { body: "blue kettle kettle" }, attributes: { price: 9 } },
        { id: "n3", text: { body: "teapot" }, attributes: { price: 7 } },
      ];
      expect((await http.post(`${base}/native/upsert`, { documents: docs })).status).toBe(200);
      const res = await tpuf.namespace("native").query({ rank_by: ["body", "BM25", "kettle"], top_k: 5, include_attributes: ["price"] });
      expect(res.rows?.map((r) => [r.id, r.price])).toEqual([
        ["n2", 9],
        ["n1", 5],
      ]);
      await tpuf.namespace("native").write({ patch_rows: [{ id: "n3", price: 8 }] });
      const [doc] = await server.engine.get(`${PROJECT.org}/${PROJECT.project}/native`, ["n3"]);
      expect(doc?.attributes).toEqual({ price: 8 });
      expect(doc?.text).toEqual({ body: "teapot" });
    });

    it("should read with eventual consistency", async () => {
      const res = await tpuf.namespace("docs").query({ rank_by: ["id", "desc"], top_k: 1, consistency: { level: "eventual" } });
      expect(res.rows?.[0]?.id).toBe(11);
    });
  });
}
