/**
 * The HTTP API suite, run against every store (local-fs always, S3 when
 * configured): every route over real HTTP on loopback, authentication and
 * scoping, and bad input giving the documented error while writing nothing.
 */
import type { StorageProvider } from "@skerry/storage-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../../src/server/server.ts";
import { ADMIN_KEY, type Answer, Client, nsUrl, startTestServer, type TestStore } from "./harness.ts";


export function describeApiSuite(name: string, makeStore: () => Promise<TestStore>): void {
  describe(`HTTP API on ${name}`, () => {
    let store: TestStore;
    let server: SkerryServer;
    let admin: Client;
    let writer: Client; // write key for acme/search
    let reader: Client; // read key for acme/search
    let other: Client; // write key for globex/web
    const NS = nsUrl("acme", "search", "docs");

    async function allKeys(storage: StorageProvider): Promise<string[]> {
      const keys: string[] = [];
      for await (const meta of storage.list("")) keys.push(meta.key);
      return keys.sort();
    }

    /** Runs `fn`, and asserts it changed no object in the store. */
    async function writesNothing(fn: () => Promise<void>): Promise<void> {
      const before = await allKeys(store.storage);
      await fn();
      expect(await allKeys(store.storage)).toEqual(before);
    }

    beforeAll(async () => {
      store = await makeStore();
      server = await startTestServer(store.storage, { bodyBytes: 256 * 1024, maxBatch: 500 });
      admin = new Client(server.url, ADMIN_KEY);
      const mint = async (body: object) => {
        const res = await admin.post("/v1/keys", body);
        expect(res.status).toBe(201);
        return new Client(server.url, res.body.key as string);
      };
      writer = await mint({ role: "write", org: "acme", project: "search", name: "writer" });
      reader = await mint({ role: "read", org: "acme", project: "search" });
      other = await mint({ role: "write", org: "globex", project: "web" });
      const created = await writer.post(nsUrl("acme", "search"), { name: "docs", labels: { team: "search" } });
      expect(created.status).toBe(201);
    });

    afterAll(async () => {
      await server?.close();
      await store?.cleanup();
    });

    describe("operations routes", () => {
      it("should answer health, readiness and metrics without a key", async () => {
        const anon = admin.withKey(undefined);
        expect((await anon.get("/health")).body).toEqual({ status: "ok" });
        expect((await anon.get("/ready")).body).toEqual({ status: "ready" });
        const metrics = await anon.get("/metrics");
        expect(metrics.status).toBe(200);
        expect(metrics.body).toContain("skerry_http_request_duration_seconds_bucket");
        expect(metrics.body).toContain("skerry_engine_commits");
      });

      it("should serve an OpenAPI document naming every route with its error responses", async () => {
        const doc = (await admin.withKey(undefined).get("/openapi.json")).body;
        expect(doc.openapi).toBe("3.0.3");
        const paths = Object.keys(doc.paths);
        for (const p of [
          "/v1/keys",
          "/v1/keys/{id}",
          "/v1/orgs/{org}/projects/{project}/namespaces",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/labels",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/text-fields",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/schema",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/versions",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/manifest",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/upsert",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/patch",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/delete",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/documents",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/documents/get",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/documents/{id}",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/query",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/deleteByFilter",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/patchByFilter",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/compact",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/recover",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/wal",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/wal/gc",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/branch",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/copy",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/pin",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/warm",
          "/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/gc",
          "/v1/orgs/{org}/projects/{project}/repair",
          "/v1/stats",
          "/health",
          "/ready",
        ]) {
          expect(paths).toContain(p);
        }
        expect(doc.paths["/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/upsert"].post.responses["412"]).toBeDefined();
        expect(doc.components.schemas.Error).toBeDefined();
        expect(doc.components.schemas.NamespaceInfo.properties.pinned).toBeDefined();
        expect(doc.paths["/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/pin"].delete).toBeDefined();
      });

      it("should answer an unknown route with 404 NotFound in the error shape", async () => {
        const res = await admin.get("/v1/nothing-here");
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ error: { code: "NotFound", message: expect.any(String) } });
      });
    });

    describe("authentication and scope", () => {
      it("should refuse a request without a key with 401 Unauthorized", async () => {
        const res = await admin.withKey(undefined).get(NS);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe("Unauthorized");
      });

      it("should refuse a wrong key with 401 Unauthorized", async () => {
        const res = await admin.withKey("sk_not_a_real_key").get(NS);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe("Unauthorized");
      });

      it("should never let a key of one project read or write another (403 Forbidden, nothing written)", async () => {
        await writesNothing(async () => {
          for (const res of [
            await other.get(NS),
            await other.get(nsUrl("acme", "search")),
            await other.post(`${NS}/query`, { topK: 1 }),
            await other.post(`${NS}/upsert`, { documents: [{ id: "intruder" }] }),
            await other.post(nsUrl("acme", "search"), { name: "planted" }),
            await other.delete(NS),
          ]) {
            expect(res.status).toBe(403);
            expect(res.body.error.code).toBe("Forbidden");
          }
        });
      });

      it("should let a read key read but not write", async () => {
        expect((await reader.get(NS)).status).toBe(200);
        expect((await reader.post(`${NS}/query`, { topK: 1 })).status).toBe(200);
        await writesNothing(async () => {
          const res = await reader.post(`${NS}/upsert`, { documents: [{ id: "r" }] });
          expect(res.status).toBe(403);
          expect(res.body.error.code).toBe("Forbidden");
        });
      });

      it("should keep key management to admin keys, list keys without secrets, and revoke", async () => {
        expect((await writer.post("/v1/keys", { role: "admin" })).status).toBe(403);
        expect((await writer.get("/v1/keys")).status).toBe(403);
        const listed = await admin.get("/v1/keys");
        expect(listed.status).toBe(200);
        expect(listed.body.keys.length).toBeGreaterThanOrEqual(3);
        expect(JSON.stringify(listed.body)).not.toContain("sk_");
        const minted = await admin.post("/v1/keys", { role: "read", org: "acme", project: "search" });
        const temp = admin.withKey(minted.body.key);
        expect((await temp.get(NS)).status).toBe(200);
        expect((await admin.delete(`/v1/keys/${minted.body.id}`)).status).toBe(204);
        expect((await temp.get(NS)).status).toBe(401);
        expect((await admin.delete(`/v1/keys/${minted.body.id}`)).body.error.code).toBe("KeyNotFound");
      });

      it("should store keys only as hashes", async () => {
        const keys = await allKeys(store.storage);
        const records = keys.filter((k) => k.startsWith("_skerry/keys/"));
        expect(records.length).toBeGreaterThan(0);
        for (const k of records) {
          const text = new TextDecoder().decode((await store.storage.get(k)).bytes);
          expect(text).not.toContain("sk_");
        }
      });
    });

    describe("namespaces", () => {
      it("should create a namespace with text field options, apply them to BM25 and replace them", async () => {
        const base = nsUrl("acme", "search");
        const created = await writer.post(base, { name: "fts", textFields: { body: { stemming: true, asciiFolding: true } } });
        expect(created.status).toBe(201);
        expect(created.body.textFields).toEqual({
          body: { language: "english", stemming: true, removeStopwords: false, caseSensitive: false, asciiFolding: true, maxTokenLength: 64, k1: 1.2, b: 0.75 },
        });
        const docs = [
          { id: "a", text: { body: "Running cafés" } },
          { id: "b", text: { body: "a run" } },
          { id: "c", text: { body: "walking" } },
        ];
        expect((await writer.post(`${base}/fts/upsert`, { documents: docs })).status).toBe(200);
        const ranked = async (query: string) => (await reader.post(`${base}/fts/query`, { rankBy: ["body", "BM25", query], topK: 10 })).body.rows.map((r: { id: string }) => r.id).sort();
        expect(await ranked("runs cafe")).toEqual(["a", "b"]);
        const replaced = await writer.put(`${base}/fts/text-fields`, { textFields: { body: { language: "german", removeStopwords: true } }, ifVersion: 2 });
        expect(replaced.status).toBe(200);
        expect(replaced.body.textFields.body).toMatchObject({ language: "german", stemming: false, removeStopwords: true });
        expect(await ranked("runs")).toEqual([]);
        const bad = await writer.put(`${base}/fts/text-fields`, { textFields: { body: { language: "klingon" } } });
        expect(bad.status).toBe(400);
        expect(bad.body.error.code).toBe("InvalidArgument");
        expect((await writer.put(`${base}/fts/text-fields`, { textFields: { body: { b: 3 } } })).status).toBe(400);
        expect((await writer.delete(`${base}/fts`)).status).toBe(200);
      });

      it("should create a namespace with a typed schema, check writes against it, extend it, and refuse filters on unfilterable attributes", async () => {
        const base = nsUrl("acme", "search");
        const created = await writer.post(base, { name: "typed", schema: { attributes: { price: "int", note: { type: "string", filterable: false } } } });
        expect(created.status).toBe(201);
        expect(created.body.schema).toEqual({ attributes: { note: { type: "string", filterable: false }, price: { type: "int", filterable: true } } });
        const docs = [
          { id: "a", attributes: { price: 3, note: "x", tag: "red" } },
          { id: "b", attributes: { price: 5, note: "y", tag: "blue" } },
        ];
        expect((await writer.post(`${base}/typed/upsert`, { documents: docs })).status).toBe(200);
        const read = await reader.get(`${base}/typed/schema`);
        expect(read.status).toBe(200);
        expect(read.body.schema).toEqual({
          idType: "string",
          attributes: { note: { type: "string", filterable: false }, price: { type: "int", filterable: true }, tag: { type: "string", filterable: true } },
        });
        const wrong = await writer.post(`${base}/typed/upsert`, { documents: [{ id: "c", attributes: { price: "cheap" } }] });
        expect(wrong.status).toBe(400);
        expect(wrong.body.error.code).toBe("InvalidArgument");
        expect(wrong.body.error.message).toContain('document "c": attribute "price"');
        const filtered = await reader.post(`${base}/typed/query`, { filters: ["note", "Eq", "x"], topK: 5 });
        expect(filtered.status).toBe(400);
        expect(filtered.body.error.message).toContain("not filterable");
        const rows = (await reader.post(`${base}/typed/query`, { filters: ["tag", "Eq", "red"], topK: 5, includeAttributes: ["note"] })).body.rows;
        expect(rows).toEqual([{ id: "a", attributes: { note: "x" } }]);
        const extended = await writer.put(`${base}/typed/schema`, { schema: { attributes: { when: "datetime", price: "float" } } });
        expect(extended.status).toBe(200);
        expect(extended.body.schema.attributes.price).toEqual({ type: "float", filterable: true });
        const changed = await writer.put(`${base}/typed/schema`, { schema: { attributes: { tag: "int" } } });
        expect(changed.status).toBe(400);
        expect((await reader.put(`${base}/typed/schema`, { schema: { attributes: { x: "bool" } } })).status).toBe(403);
        expect((await reader.get(`${base}/docs/schema`)).body).toMatchObject({ schema: null }); // schemaless
        expect((await writer.delete(`${base}/typed`)).status).toBe(200);
      });

      it("should take uint ids up to 2^64-1 exactly (JSON integers beyond 2^53-1 are read losslessly)", async () => {
        const base = nsUrl("acme", "search");
        expect((await writer.post(base, { name: "uints", schema: {} })).status).toBe(201);
        const body = '{"documents":[{"id":18446744073709551615,"attributes":{"n":1}},{"id":9007199254740993,"attributes":{"n":2}},{"id":7}]}';
        expect((await writer.post(`${base}/uints/upsert`, body)).status).toBe(200);
        expect((await reader.get(`${base}/uints/schema`)).body.schema.idType).toBe("uint");
        const page = await reader.get(`${base}/uints/documents`);
        expect(page.body.documents.map((d: { id: string }) => d.id)).toEqual(["00000000000000000007", "00009007199254740993", "18446744073709551615"]);
        const got = await reader.post(`${base}/uints/documents/get`, '{"ids":[18446744073709551615,9007199254740993,8]}');
        expect(got.body.documents.map((d: { attributes?: { n: number } } | null) => d?.attributes?.n ?? null)).toEqual([1, 2, null]);
        expect((await writer.post(`${base}/uints/upsert`, '{"documents":[{"id":18446744073709551616}]}')).status).toBe(400); // 2^64
        expect((await writer.post(`${base}/uints/upsert`, { documents: [{ id: "abc" }] })).status).toBe(400);
        expect((await writer.post(`${base}/uints/delete`, '{"ids":[18446744073709551615]}')).status).toBe(200);
        expect((await reader.get(`${base}/uints`)).body.docCount).toBe(2);
        expect((await writer.delete(`${base}/uints`)).status).toBe(200);
      });

      it("should create, get, list, relabel, version and delete a namespace", async () => {
        const base = nsUrl("acme", "search");
        const created = await writer.post(base, { name: "temp", distanceMetric: "euclidean", labels: { a: "1" } });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({ path: "acme/search/temp", version: 1, docCount: 0, distanceMetric: "euclidean", labels: { a: "1" } });
        expect((await writer.post(base, { name: "temp" })).body.error.code).toBe("NamespaceExists");
        expect((await writer.post(base, { name: "temp" })).status).toBe(409);
        expect((await reader.get(base)).body.namespaces).toEqual(["docs", "temp"]);
        const relabeled = await writer.put(`${base}/temp/labels`, { labels: { b: "2" }, ifVersion: 1 });
        expect(relabeled.status).toBe(200);
        expect(relabeled.body).toMatchObject({ version: 2, labels: { b: "2" } });
        const stale = await writer.put(`${base}/temp/labels`, { labels: { c: "3" }, ifVersion: 1 });
        expect(stale.status).toBe(412);
        expect(stale.body.error).toMatchObject({ code: "VersionConflict", details: { expected: 1, actual: 2 } });
        expect((await reader.get(`${base}/temp/versions`)).body.versions).toEqual([1, 2]);
        expect((await reader.get(`${base}/temp?atVersion=1`)).body.labels).toEqual({ a: "1" });
        const deleted = await writer.delete(`${base}/temp`);
        expect(deleted.status).toBe(200);
        expect(deleted.body.alreadyDeleted).toBe(false);
        expect((await reader.get(`${base}/temp`)).status).toBe(404);
        expect((await reader.get(`${base}/temp`)).body.error.code).toBe("NamespaceNotFound");
        expect((await reader.get(base)).body.namespaces).toEqual(["docs"]);
      });
    });

    describe("writes and reads", () => {
      it("should upsert, read back (at the latest and an older version), patch and delete", async () => {
        const up = await writer.post(`${NS}/upsert`, {
          documents: [
            { id: "a", vector: [1, 0, 0, 0], text: { body: "red fox jumps" }, attributes: { kind: "animal", n: 1 } },
            { id: "b", vector: [0, 1, 0, 0], text: { body: "blue whale swims" }, attributes: { kind: "animal", n: 2 } },
            { id: "c", vector: [0, 0, 1, 0], text: { body: "green tree grows" }, attributes: { kind: "plant", n: 3 } },
          ],
        });
        expect(up.status).toBe(200);
        expect(up.body).toMatchObject({ count: 3, deduplicated: false });
        const v1 = up.body.version as number;
        const patched = await writer.post(`${NS}/patch`, { patches: [{ id: "a", attributes: { n: 10, kind: null } }] });
        expect(patched.status).toBe(200);
        const one = await reader.get(`${NS}/documents/a`);
        expect(one.body).toMatchObject({ id: "a", vector: [1, 0, 0, 0], attributes: { n: 10 } });
        expect(one.body.attributes.kind).toBeUndefined();
        const old = await reader.get(`${NS}/documents/a?atVersion=${v1}`);
        expect(old.body.attributes).toEqual({ kind: "animal", n: 1 });
        const got = await reader.post(`${NS}/documents/get`, { ids: ["b", "zzz"] });
        expect(got.body.documents[0].id).toBe("b");
        expect(got.body.documents[1]).toBeNull();
        expect((await reader.get(`${NS}/documents/zzz`)).body.error.code).toBe("DocumentNotFound");
        const page1 = await reader.get(`${NS}/documents?limit=2`);
        expect(page1.body.documents.map((d: { id: string }) => d.id)).toEqual(["a", "b"]);
        expect(page1.body.next).toBe("b");
        const page2 = await reader.get(`${NS}/documents?limit=2&after=b`);
        expect(page2.body.documents.map((d: { id: string }) => d.id)).toEqual(["c"]);
        expect(page2.body.next).toBeUndefined();
        const del = await writer.post(`${NS}/delete`, { ids: ["c"] });
        expect(del.body.count).toBe(1);
        expect((await reader.get(`${NS}/documents/c`)).status).toBe(404);
        expect((await reader.get(`${NS}/documents/c?atVersion=${v1}`)).status).toBe(200);
        expect((await reader.get(`${NS}/documents?atVersion=99999`)).body.error.code).toBe("VersionNotFound");
        // Restore c for the query tests.
        await writer.post(`${NS}/upsert`, { documents: [{ id: "c", vector: [0, 0, 1, 0], text: { body: "green tree grows" }, attributes: { kind: "plant", n: 3 } }] });
      });

      it("should apply a write with an Idempotency-Key once and answer a retry as deduplicated", async () => {
        const body = { documents: [{ id: "idem", vector: [0, 0, 0, 1], attributes: { kind: "idem" } }] };
        const first = await writer.post(`${NS}/upsert`, body, { "Idempotency-Key": "retry-me-1" });
        const again = await writer.post(`${NS}/upsert`, body, { "Idempotency-Key": "retry-me-1" });
        expect(first.body.deduplicated).toBe(false);
        expect(again.body).toEqual({ ...first.body, deduplicated: true });
        const info = await reader.get(NS);
        expect(info.body.version).toBe(first.body.version);
      });

      it("should refuse a write whose ifVersion is stale with 412 and apply nothing", async () => {
        const { version } = (await reader.get(NS)).body;
        const ok = await writer.post(`${NS}/upsert`, { documents: [{ id: "cond", vector: [1, 1, 0, 0] }], ifVersion: version });
        expect(ok.status).toBe(200);
        await writesNothing(async () => {
          const stale = await writer.post(`${NS}/upsert`, { documents: [{ id: "cond2", vector: [1, 1, 0, 0] }], ifVersion: version });
          expect(stale.status).toBe(412);
          expect(stale.body.error).toMatchObject({ code: "VersionConflict", details: { expected: version, actual: version + 1 } });
        });
      });

      it("should write upserts, patches and deletes in one commit with per-document conditions (/write)", async () => {
        const { version } = (await reader.get(NS)).body;
        const seeded = await writer.post(`${NS}/write`, {
          upserts: [
            { id: "w1", vector: [0, 1, 1, 0], attributes: { kind: "cas", rev: 1 } },
            { id: "w2", vector: [0, 1, 1, 0], attributes: { kind: "cas", rev: 5 } },
          ],
        });
        expect(seeded.body).toEqual({ version: version + 1, count: 2, deduplicated: false, upserted: ["w1", "w2"], patched: [], deleted: [] });
        const res = await writer.post(`${NS}/write`, {
          upserts: [
            { id: "w1", vector: [0, 1, 1, 0], attributes: { kind: "cas", rev: 2 } },
            { id: "w2", vector: [0, 1, 1, 0], attributes: { kind: "cas", rev: 3 } },
          ],
          patches: [{ id: "w2", attributes: { seen: true } }, { id: "ghost", attributes: { seen: true } }],
          deletes: ["w1", "ghost"],
          upsertCondition: ["rev", "Lt", { $ref_new: "rev" }],
          deleteCondition: ["rev", "Gte", 2],
        });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ version: version + 2, count: 3, deduplicated: false, upserted: ["w1"], patched: ["w2"], deleted: ["w1"] });
        expect((await reader.get(`${NS}/documents/w2`)).body.attributes).toEqual({ kind: "cas", rev: 5, seen: true });
        expect((await reader.get(`${NS}/documents/w1`)).status).toBe(404);
        await writesNothing(async () => {
          const bad = await writer.post(`${NS}/write`, { deletes: ["w2"], deleteCondition: ["rev", "Regex", { $ref_new: "rev" }] });
          expect(bad.status).toBe(400);
          expect(bad.body.error.code).toBe("InvalidArgument");
        });
        expect((await writer.post(`${NS}/write`, { deletes: ["w2"] })).body).toMatchObject({ deleted: ["w2"] });
      });

      it("should refuse a patch of a missing document with 404 DocumentNotFound", async () => {
        await writesNothing(async () => {
          const res = await writer.post(`${NS}/patch`, { patches: [{ id: "ghost", attributes: { x: 1 } }] });
          expect(res.status).toBe(404);
          expect(res.body.error.code).toBe("DocumentNotFound");
        });
      });

      it("should refuse writes to a namespace that does not exist with 404", async () => {
        const res = await writer.post(`${nsUrl("acme", "search", "nope")}/upsert`, { documents: [{ id: "x" }] });
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe("NamespaceNotFound");
      });
    });

    describe("query", () => {
      it("should rank by vector, by BM25, filter, and fuse (RRF)", async () => {
        const knn = await reader.post(`${NS}/query`, { rankBy: ["vector", "kNN", [0.9, 0.1, 0, 0]], topK: 2, includeAttributes: ["n"] });
        expect(knn.status).toBe(200);
        expect(knn.body.rows.map((r: { id: string }) => r.id)).toEqual(["a", "cond"]);
        expect(knn.body.rows[0].distance).toBeCloseTo(1 - 0.9 / Math.hypot(0.9, 0.1), 5);
        const bm25 = await reader.post(`${NS}/query`, { rankBy: ["body", "BM25", "whale"], topK: 5 });
        expect(bm25.body.rows.map((r: { id: string }) => r.id)).toEqual(["b"]);
        const filtered = await reader.post(`${NS}/query`, { filters: ["kind", "Eq", "plant"], topK: 10 });
        expect(filtered.body.rows.map((r: { id: string }) => r.id)).toEqual(["c"]);
        const rrf = await reader.post(`${NS}/query`, {
          rankBy: ["RRF", [["vector", "kNN", [0, 0, 1, 0]], ["body", "BM25", "green"]]],
          topK: 1,
        });
        expect(rrf.body.rows[0].id).toBe("c");
        const at = await reader.post(`${NS}/query`, { filters: ["id", "Eq", "idem"], topK: 5, atVersion: 2 });
        expect(at.body).toMatchObject({ version: 2, rows: [] });
      });

      it("should refuse a query vector of the wrong dimension with 400 InvalidQuery", async () => {
        const res = await reader.post(`${NS}/query`, { rankBy: ["vector", "kNN", [1, 2, 3]], topK: 1 });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("InvalidQuery");
      });

      it("should answer from a compacted segment's stored index plus the log tail, and at an older version", async () => {
        const Q = nsUrl("acme", "search", "qeng");
        expect((await writer.post(nsUrl("acme", "search"), { name: "qeng" })).status).toBe(201);
        const docs = Array.from({ length: 40 }, (_, i) => ({ id: `q${String(i).padStart(2, "0")}`, vector: [1, i / 40], text: { body: i % 4 === 0 ? "amber harbour" : "plain" }, attributes: { n: i } }));
        await writer.post(`${Q}/upsert`, { documents: docs.slice(0, 30) });
        expect((await writer.post(`${Q}/compact`, { force: true })).body.performed).toBe(true);
        const compacted = (await reader.get(Q)).body.version as number;
        await writer.post(`${Q}/upsert`, { documents: docs.slice(30) });
        await writer.post(`${Q}/delete`, { ids: ["q00"] });
        await writer.post(`${Q}/patch`, { patches: [{ id: "q04", attributes: { n: 1000 } }] });
        const info = (await reader.get(Q)).body;
        expect(info).toMatchObject({ segments: 1, logBatches: 3, docCount: 39 });
        const text = await reader.post(`${Q}/query`, { rankBy: ["body", "BM25", "amber"], topK: 20, includeAttributes: ["n"] });
        expect(text.status).toBe(200);
        expect(text.body.version).toBe(info.version);
        const ids = text.body.rows.map((r: { id: string }) => r.id).sort();
        expect(ids).toEqual(["q04", "q08", "q12", "q16", "q20", "q24", "q28", "q32", "q36"]);
        expect(text.body.rows.find((r: { id: string }) => r.id === "q04").attributes).toEqual({ n: 1000 });
        const filtered = await reader.post(`${Q}/query`, { filters: ["n", "Gte", 28], rankBy: ["n", "asc"], topK: 100 });
        expect(filtered.body.rows.map((r: { id: string }) => r.id)).toEqual(["q28", "q29", "q30", "q31", "q32", "q33", "q34", "q35", "q36", "q37", "q38", "q39", "q04"]);
        const old = await reader.post(`${Q}/query`, { filters: ["n", "Lt", 2], topK: 10, atVersion: compacted, consistency: "strong" });
        expect(old.body).toMatchObject({ version: compacted });
        expect(old.body.rows.map((r: { id: string }) => r.id).sort()).toEqual(["q00", "q01"]);
        const agg = await reader.post(`${Q}/query`, { aggregateBy: { count: ["Count"] }, topK: 1 });
        expect(agg.status).toBe(200);
        expect(agg.body.aggregations).toEqual({ count: 39 });
        expect((await reader.post(`${Q}/query`, { topK: 1, atVersion: 9999 })).body.error.code).toBe("VersionNotFound");
      });

      it("should name the offending path of an invalid query in details.issues", async () => {
        const bad = await reader.post(`${NS}/query`, { rankBy: ["vector", "kNN", [1, 2]], topK: 1 });
        expect(bad.status).toBe(400);
        expect(bad.body.error.code).toBe("InvalidQuery");
        expect(bad.body.error.details.issues[0]).toMatchObject({ path: expect.any(Array), message: expect.any(String) });
        expect((await reader.post(`${nsUrl("acme", "search", "nope")}/query`, { topK: 1 })).status).toBe(404);
      });

      it("should refuse unknown query keys and malformed filters with 400", async () => {
        expect((await reader.post(`${NS}/query`, { topK: 1, bogus: true })).status).toBe(400);
        const bad = await reader.post(`${NS}/query`, { filters: ["kind", "Eqq", "x"], topK: 1 });
        expect(bad.status).toBe(400);
        expect(bad.body.error.code).toBe("InvalidQuery");
      });
    });

    describe("predicate mutations and maintenance", () => {
      const OPS = nsUrl("acme", "search", "ops");

      it("should delete and patch by filter, compact, recover, list WAL state and collect WAL garbage", async () => {
        expect((await writer.post(nsUrl("acme", "search"), { name: "ops" })).status).toBe(201);
        const docs = Array.from({ length: 20 }, (_, i) => ({ id: `o${i}`, vector: [i + 1, 1], attributes: { n: i, kind: i % 2 === 0 ? "even" : "odd" } }));
        expect((await writer.post(`${OPS}/upsert`, { documents: docs })).status).toBe(200);
        const deleted = await writer.post(`${OPS}/deleteByFilter`, { filter: ["n", "Lt", 5] });
        expect(deleted.status).toBe(200);
        expect(deleted.body).toMatchObject({ matched: 5, deleted: 5, deletedIds: ["o0", "o1", "o2", "o3", "o4"], skipped: 0, remaining: false });
        // A partial mutation: at most maxTargets, the first in id order, the rest reported remaining.
        const tooMany = await writer.post(`${OPS}/deleteByFilter`, { filter: ["n", "Gte", 18], maxTargets: 1 });
        expect(tooMany.status).toBe(400);
        const partial = await writer.post(`${OPS}/deleteByFilter`, { filter: ["n", "Gte", 18], maxTargets: 1, allowPartial: true });
        expect(partial.body).toMatchObject({ matched: 1, deleted: 1, deletedIds: ["o18"], remaining: true });
        const rest = await writer.post(`${OPS}/deleteByFilter`, { filter: ["n", "Gte", 18], maxTargets: 1, allowPartial: true });
        expect(rest.body).toMatchObject({ deletedIds: ["o19"], remaining: false });
        expect((await writer.post(`${OPS}/upsert`, { documents: docs.slice(18) })).status).toBe(200);
        const patched = await writer.post(`${OPS}/patchByFilter`, { filter: ["kind", "Eq", "odd"], patch: { attributes: { flagged: true } } });
        expect(patched.status).toBe(200);
        expect(patched.body).toMatchObject({ matched: 8, patched: 8, patchedIds: ["o11", "o13", "o15", "o17", "o19", "o5", "o7", "o9"], remaining: false });
        const flagged = await reader.post(`${OPS}/query`, { filters: ["flagged", "Eq", true], topK: 100 });
        expect(flagged.body.rows).toHaveLength(8);
        expect((await reader.get(OPS)).body.docCount).toBe(15);
        const stale = await writer.post(`${OPS}/deleteByFilter`, { filter: ["n", "Gt", 0], ifVersion: 1 });
        expect(stale.status).toBe(412);
        expect(stale.body.error.code).toBe("VersionConflict");
        const wal = await reader.get(`${OPS}/wal`);
        expect(wal.status).toBe(200);
        expect(wal.body.entries.length).toBeGreaterThanOrEqual(2);
        expect(wal.body.entries.every((e: { state: string }) => e.state === "COMPLETE")).toBe(true);
        const compacted = await writer.post(`${OPS}/compact`, { force: true });
        expect(compacted.status).toBe(200);
        expect(compacted.body.performed).toBe(true);
        expect(compacted.body.liveDocuments).toBe(15);
        const recovered = await writer.post(`${OPS}/recover`);
        expect(recovered.status).toBe(200);
        expect(recovered.body.wal.scanned).toBeGreaterThanOrEqual(2);
        const gc = await writer.post(`${OPS}/wal/gc`, { graceMs: 0 });
        expect(gc.status).toBe(200);
        expect(gc.body.wal.deletedStates).toBeGreaterThanOrEqual(2);
        expect((await reader.get(`${OPS}/wal`)).body.entries).toEqual([]);
        const after = await reader.post(`${OPS}/query`, { filters: ["flagged", "Eq", true], topK: 100 });
        expect(after.body.rows).toHaveLength(8);
        expect((await reader.post(`${OPS}/compact`, {})).status).toBe(403);
        expect((await writer.post(`${OPS}/deleteByFilter`, { filter: ["n", "Frob", 1] })).status).toBe(400);
      });
      it("should show a manifest's containers in fold order with rows, bytes and tombstoned rows, at the latest or a given version", async () => {
        const PIC = nsUrl("acme", "search", "pic");
        expect((await writer.post(nsUrl("acme", "search"), { name: "pic" })).status).toBe(201);
        const docs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: `d${from + i}`, attributes: { n: from + i } }));
        expect((await writer.post(`${PIC}/upsert`, { documents: docs(0, 10) })).body.version).toBe(2);
        expect((await writer.post(`${PIC}/upsert`, { documents: docs(10, 5) })).body.version).toBe(3);
        expect((await writer.post(`${PIC}/deleteByFilter`, { filter: ["n", "Lt", 3] })).body).toMatchObject({ deleted: 3 });

        const latest = await reader.get(`${PIC}/manifest`);
        expect(latest.status).toBe(200);
        expect(latest.body).toMatchObject({ namespace: "acme/search/pic", labels: {}, rowIdHighWater: expect.stringMatching(/^[0-9a-f]{32}$/) });
        const containers = latest.body.containers as { kind: string; rowCount: number; byteSize: number; tombstonedRows?: number }[];
        expect(containers.map((c) => [c.kind, c.rowCount])).toEqual([
          ["LOG_BATCH", 10],
          ["LOG_BATCH", 5],
        ]);
        expect(containers.every((c) => c.byteSize > 0)).toBe(true);
        expect(containers[0]!.tombstonedRows).toBe(3);
        expect(containers[1]!.tombstonedRows ?? 0).toBe(0);
        const info = (await reader.get(PIC)).body;
        expect(latest.body.version).toBe(info.version);
        expect(containers.reduce((sum, c) => sum + c.byteSize, 0)).toBe(info.bytes);

        const v2 = await reader.get(`${PIC}/manifest?atVersion=2`);
        expect(v2.body.version).toBe(2);
        expect(v2.body.containers).toHaveLength(1);
        expect(v2.body.containers[0].tombstonedRows).toBeUndefined();
        expect((await reader.get(`${PIC}/manifest?atVersion=999`)).status).toBe(404);
        expect((await reader.get(`${nsUrl("acme", "search", "nope")}/manifest`)).status).toBe(404);
        expect((await other.get(`${PIC}/manifest`)).status).toBe(403);
        expect((await reader.withKey(undefined).get(`${PIC}/manifest`)).status).toBe(401);
      });
    });

    describe("branches, copies, pins, warming, GC, repair and stats", () => {
      const SRC = nsUrl("acme", "search", "src");
      let v2 = 0;

      beforeAll(async () => {
        expect((await writer.post(nsUrl("acme", "search"), { name: "src", labels: { origin: "src" } })).status).toBe(201);
        const docs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: `s${from + i}`, vector: [1, from + i], text: { body: "shared words" }, attributes: { n: from + i } }));
        v2 = (await writer.post(`${SRC}/upsert`, { documents: docs(0, 10) })).body.version;
        await writer.post(`${SRC}/upsert`, { documents: docs(10, 5) });
      });

      it("should branch from the latest or an atVersion version, isolated from the source", async () => {
        const latest = await writer.post(`${SRC}/branch`, { target: "src-branch" });
        expect(latest.status).toBe(201);
        expect(latest.body).toMatchObject({ path: "acme/search/src-branch", docCount: 15, pinned: false, labels: { origin: "src" }, parent: { namespace: "acme/search/src" } });
        const old = await writer.post(`${SRC}/branch`, { target: "acme/search/src-v2", atVersion: v2, labels: { at: "v2" } });
        expect(old.status).toBe(201);
        expect(old.body).toMatchObject({ docCount: 10, labels: { at: "v2" }, parent: { namespace: "acme/search/src", version: v2 } });
        const BR = nsUrl("acme", "search", "src-v2");
        await writer.post(`${BR}/upsert`, { documents: [{ id: "only-in-branch", vector: [0, 1] }] });
        expect((await reader.get(`${SRC}/documents/only-in-branch`)).status).toBe(404);
        const q = await reader.post(`${BR}/query`, { rankBy: ["body", "BM25", "shared"], topK: 100 });
        expect(q.body.rows).toHaveLength(10);
        expect((await reader.get(SRC)).body.docCount).toBe(15);
      });

      it("should refuse a branch across projects: 403 for a key that does not cover the target, 400 even for admin", async () => {
        await writesNothing(async () => {
          const forbidden = await writer.post(`${SRC}/branch`, { target: "globex/web/stolen" });
          expect(forbidden.status).toBe(403);
          expect(forbidden.body.error.code).toBe("Forbidden");
          const fromOther = await other.post(`${SRC}/branch`, { target: "globex/web/stolen" });
          expect(fromOther.status).toBe(403);
          const cross = await admin.post(`${SRC}/branch`, { target: "globex/web/branched" });
          expect(cross.status).toBe(400);
          expect(cross.body.error.code).toBe("InvalidArgument");
          expect((await reader.post(`${SRC}/branch`, { target: "by-reader" })).status).toBe(403);
        });
      });

      it("should refuse bad branch and copy requests with the documented error, writing nothing", async () => {
        await writesNothing(async () => {
          for (const [path, body, status, code] of [
            [`${SRC}/branch`, { target: "../escape" }, 400, "InvalidArgument"],
            [`${SRC}/branch`, { target: "a/b" }, 400, "InvalidArgument"],
            [`${SRC}/branch`, { target: "x", atVersion: "2" }, 400, "InvalidArgument"],
            [`${SRC}/branch`, { target: "x", colour: "red" }, 400, "InvalidArgument"],
            [`${SRC}/branch`, {}, 400, "InvalidArgument"],
            [`${SRC}/copy`, { target: "src" }, 400, "InvalidArgument"],
            [`${SRC}/branch`, { target: "x", atVersion: 9999 }, 404, "VersionNotFound"],
            [`${nsUrl("acme", "search", "nope")}/branch`, { target: "x" }, 404, "NamespaceNotFound"],
            [`${SRC}/branch`, { target: "src-branch" }, 409, "NamespaceExists"],
            [`${SRC}/copy`, { target: "docs" }, 409, "NamespaceExists"],
          ] as const) {
            const res = await writer.post(path, body);
            expect([path, res.status, res.body.error?.code]).toEqual([path, status, code]);
          }
        });
      });

      it("should copy within a project, and across projects only with a key covering both (admin)", async () => {
        const inProject = await writer.post(`${SRC}/copy`, { target: "src-copy", atVersion: v2 });
        expect(inProject.status).toBe(201);
        expect(inProject.body).toMatchObject({ path: "acme/search/src-copy", docCount: 10 });
        await writesNothing(async () => {
          const res = await writer.post(`${SRC}/copy`, { target: "globex/web/copied" });
          expect(res.status).toBe(403);
          expect(res.body.error.code).toBe("Forbidden");
          expect((await other.post(`${SRC}/copy`, { target: "globex/web/copied" })).status).toBe(403);
        });
        const cross = await admin.post(`${SRC}/copy`, { target: "globex/web/copied" });
        expect(cross.status).toBe(201);
        expect(cross.body).toMatchObject({ path: "globex/web/copied", docCount: 15 });
        const theirs = nsUrl("globex", "web", "copied");
        expect((await other.get(theirs)).body.docCount).toBe(15);
        expect((await other.post(`${theirs}/query`, { filters: ["n", "Lt", 3], topK: 10 })).body.rows).toHaveLength(3);
        expect((await writer.get(theirs)).status).toBe(403);
      });

      it("should pin, report pinned, warm and unpin; scoped like writes", async () => {
        const pinned = await writer.post(`${SRC}/pin`);
        expect(pinned.status).toBe(200);
        expect(pinned.body).toMatchObject({ path: "acme/search/src", docCount: 15, pinned: true, version: expect.any(Number), bytes: expect.any(Number) });
        expect((await reader.get(SRC)).body.pinned).toBe(true);
        expect((await admin.get("/v1/stats")).body.pinned).toContain("acme/search/src");
        const warmed = await writer.post(`${nsUrl("acme", "search", "src-branch")}/warm`);
        expect(warmed.status).toBe(200);
        expect(warmed.body).toMatchObject({ path: "acme/search/src-branch", docCount: 15, pinned: false });
        await writesNothing(async () => {
          expect((await reader.post(`${SRC}/pin`)).status).toBe(403);
          expect((await other.post(`${SRC}/pin`)).status).toBe(403);
          expect((await other.post(`${SRC}/warm`)).status).toBe(403);
          expect((await reader.delete(`${SRC}/pin`)).status).toBe(403);
          const missing = await writer.post(`${nsUrl("acme", "search", "nope")}/pin`);
          expect(missing.status).toBe(404);
          expect(missing.body.error.code).toBe("NamespaceNotFound");
          expect((await writer.delete(`${nsUrl("acme", "search", "nope")}/pin`)).status).toBe(404);
          expect((await writer.post(`${nsUrl("acme", "search", "nope")}/warm`)).status).toBe(404);
          expect((await writer.post(`${SRC}/pin`, { extra: 1 })).status).toBe(200); // no body schema: ignored, already pinned
        });
        const unpinned = await writer.delete(`${SRC}/pin`);
        expect(unpinned.body).toEqual({ path: "acme/search/src", pinned: false, wasPinned: true });
        expect((await writer.delete(`${SRC}/pin`)).body.wasPinned).toBe(false);
        expect((await reader.get(SRC)).body.pinned).toBe(false);
      });

      it("should apply manifest retention (gc) with the given policy, and refuse bad input", async () => {
        const G = nsUrl("acme", "search", "gcme");
        expect((await writer.post(nsUrl("acme", "search"), { name: "gcme" })).status).toBe(201);
        for (let i = 0; i < 5; i++) await writer.post(`${G}/upsert`, { documents: [{ id: `g${i}`, attributes: { i } }] });
        await writer.post(`${G}/compact`, { force: true });
        const kept = await writer.post(`${G}/gc`, {});
        expect(kept.status).toBe(200);
        expect(kept.body).toMatchObject({ versionsDeleted: 0, objectsDeleted: 0, oldestVersion: 1 });
        await writesNothing(async () => {
          for (const body of [{ keepVersions: 0 }, { keepForMs: -1 }, { keepVersions: "2" }, { grace: 1 }]) {
            const res = await writer.post(`${G}/gc`, body);
            expect(res.status).toBe(400);
            expect(res.body.error.code).toBe("InvalidArgument");
          }
          expect((await reader.post(`${G}/gc`, {})).status).toBe(403);
          expect((await other.post(`${G}/gc`, {})).status).toBe(403);
          expect((await writer.post(`${nsUrl("acme", "search", "nope")}/gc`, {})).status).toBe(404);
        });
        const gc = await writer.post(`${G}/gc`, { keepVersions: 1, keepForMs: 0 });
        expect(gc.status).toBe(200);
        expect(gc.body.versionsDeleted).toBeGreaterThanOrEqual(6);
        expect(gc.body.objectsDeleted).toBeGreaterThanOrEqual(5); // the log batches the compaction replaced
        expect(gc.body.oldestVersion).toBe(gc.body.latestVersion);
        expect((await reader.get(`${G}/versions`)).body.versions).toEqual([gc.body.latestVersion]);
        expect((await reader.get(`${G}/documents/g1?atVersion=2`)).body.error.code).toBe("VersionNotFound");
        expect((await reader.post(`${G}/query`, { topK: 10 })).body.rows).toHaveLength(5);
      });

      it("should repair a project with an admin key only, leaving every namespace readable", async () => {
        const REPAIR = "/v1/orgs/acme/projects/search/repair";
        await writesNothing(async () => {
          for (const client of [writer, reader, other]) {
            const res = await client.post(REPAIR, {});
            expect(res.status).toBe(403);
            expect(res.body.error.code).toBe("Forbidden");
          }
          expect((await admin.withKey(undefined).post(REPAIR, {})).status).toBe(401);
          expect((await admin.post(REPAIR, { sweep: "yes" })).status).toBe(400);
          expect((await admin.post(REPAIR, { graceMs: -5 })).status).toBe(400);
          expect((await admin.post("/v1/orgs/..%2Fx/projects/search/repair", {})).status).toBe(400);
        });
        const repaired = await admin.post(REPAIR, { sweep: true });
        expect(repaired.status).toBe(200);
        expect(repaired.body).toMatchObject({ swept: 0, purged: expect.any(Number) });
        expect(repaired.body.live).toBeGreaterThanOrEqual(6);
        expect((await admin.post(REPAIR)).status).toBe(200); // the body is optional
        for (const ns of ["src", "src-branch", "src-v2", "src-copy"]) {
          expect((await reader.post(`${nsUrl("acme", "search", ns)}/query`, { topK: 100 })).status).toBe(200);
        }
        expect((await reader.get(nsUrl("acme", "search", "src-branch"))).body.docCount).toBe(15);
      });

      it("should serve the engine's stats to admin keys only", async () => {
        const stats = await admin.get("/v1/stats");
        expect(stats.status).toBe(200);
        expect(stats.body).toMatchObject({
          writes: { commits: expect.any(Number), containersFolded: expect.any(Number) },
          stateCache: { hits: expect.any(Number), builds: expect.any(Number), entries: expect.any(Number) },
          queryCache: { segmentIndexes: { loads: expect.any(Number), hits: expect.any(Number) }, snapshotHits: expect.any(Number) },
          pinned: expect.any(Array),
        });
        expect(stats.body.queryCache.segmentIndexes.loads).toBeGreaterThanOrEqual(1);
        expect((await writer.get("/v1/stats")).status).toBe(403);
        expect((await admin.withKey(undefined).get("/v1/stats")).status).toBe(401);
      });

      it("should expose recovery counters and cache hits on /metrics without namespace names or contents", async () => {
        await writer.post(`${SRC}/recover`);
        const metrics = (await admin.withKey(undefined).get("/metrics")).body as string;
        expect(metrics).toMatch(/^skerry_recovery_runs_total [1-9]/m);
        expect(metrics).toContain('skerry_recovery_wals_total{outcome="completed_full"}');
        expect(metrics).toMatch(/^skerry_cache_hits\{cache="state"\} \d+/m);
        expect(metrics).toMatch(/^skerry_cache_misses\{cache="segment_index"\} [1-9]/m);
        expect(metrics).toMatch(/^skerry_cache_hits\{cache="query_version"\} \d+/m);
        for (const secret of ["acme", "globex", "src-branch", "shared words", "only-in-branch", ADMIN_KEY]) expect(metrics).not.toContain(secret);
      });
    });

    describe("background compaction", () => {
      it("should compact a namespace in the background once it crosses the thresholds, and drain on close", async () => {
        const second = await startTestServer(store.storage, {}, { compaction: { maxLogBatches: 4, delayMs: 0 } });
        try {
          const c = new Client(second.url, ADMIN_KEY);
          const AUTO = nsUrl("acme", "search", "auto");
          expect((await c.post(nsUrl("acme", "search"), { name: "auto" })).status).toBe(201);
          for (let i = 0; i < 5; i++) await c.post(`${AUTO}/upsert`, { documents: [{ id: `a${i}`, text: { body: "tide pool" } }] });
          const deadline = Date.now() + 20_000;
          let info = (await c.get(AUTO)).body;
          while (info.segments === 0 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
            info = (await c.get(AUTO)).body;
          }
          expect(info.segments).toBe(1);
          expect(info.docCount).toBe(5);
          expect((await c.post(`${AUTO}/query`, { rankBy: ["body", "BM25", "tide"], topK: 10 })).body.rows).toHaveLength(5);
          for (let i = 5; i < 9; i++) await c.post(`${AUTO}/upsert`, { documents: [{ id: `a${i}` }] }); // schedules another run
        } finally {
          await second.close(); // cancels or waits for the background run
        }
        expect((await reader.get(nsUrl("acme", "search", "auto"))).body.docCount).toBe(9);
      });
    });

    describe("bad input gives the documented error and writes nothing", () => {
      const cases: [string, () => Promise<Answer>, number, string][] = [
        ["malformed JSON", () => writer.post(`${NS}/upsert`, '{"documents": [{"id": "x",'), 400, "MalformedJson"],
        ["a number where the id belongs", () => writer.post(`${NS}/upsert`, { documents: [{ id: 7 }] }), 400, "InvalidArgument"],
        ["a string in a vector", () => writer.post(`${NS}/upsert`, { documents: [{ id: "x", vector: [1, "2", 3, 4] }] }), 400, "InvalidArgument"],
        ["1e999 (Infinity) in a vector", () => writer.post(`${NS}/upsert`, '{"documents":[{"id":"x","vector":[1e999,0,0,0]}]}'), 400, "InvalidArgument"],
        ["-1e999 in an attribute", () => writer.post(`${NS}/upsert`, '{"documents":[{"id":"x","attributes":{"n":-1e999}}]}'), 400, "InvalidArgument"],
        ["NaN spelled as a string where a number belongs", () => writer.post(`${NS}/upsert`, { documents: [{ id: "x", vector: ["NaN", 0, 0, 0] }] }), 400, "InvalidArgument"],
        ["a vector of the wrong dimension", () => writer.post(`${NS}/upsert`, { documents: [{ id: "x", vector: [1, 2, 3] }] }), 400, "InvalidArgument"],
        ["mixed dimensions in one write", () => writer.post(`${NS}/upsert`, { documents: [{ id: "x", vector: [1, 2, 3, 4] }, { id: "y", vector: [1] }] }), 400, "InvalidArgument"],
        ["an unknown document field", () => writer.post(`${NS}/upsert`, { documents: [{ id: "x", colour: "red" }] }), 400, "InvalidArgument"],
        ["an empty batch", () => writer.post(`${NS}/upsert`, { documents: [] }), 400, "InvalidArgument"],
        ["ifVersion of the wrong type", () => writer.post(`${NS}/upsert`, { documents: [{ id: "x" }], ifVersion: "3" }), 400, "InvalidArgument"],
        ["an oversized body", () => writer.post(`${NS}/upsert`, { documents: [{ id: "x", text: { body: "x".repeat(300 * 1024) } }] }), 413, "PayloadTooLarge"],
        ["a batch over the cap", () => writer.post(`${NS}/delete`, { ids: Array.from({ length: 501 }, (_, i) => `id${i}`) }), 413, "BatchTooLarge"],
        ["path traversal in a namespace name (encoded slash)", () => writer.post(`${nsUrl("acme", "search", "..%2F..%2Fescape")}/upsert`, { documents: [{ id: "x" }] }), 400, "InvalidArgument"],
        ["path traversal in a namespace name (dots)", () => writer.get(nsUrl("acme", "search", "..")), 404, "NotFound"],
        ["path traversal in a created name", () => writer.post(nsUrl("acme", "search"), { name: "../../escape" }), 400, "InvalidArgument"],
        ["a reserved name", () => writer.post(nsUrl("acme", "search"), { name: "_project" }), 400, "InvalidArgument"],
        ["path traversal in the org (admin key)", () => admin.post(`${nsUrl("%2E%2E%2Fx", "search", "docs")}/upsert`, { documents: [{ id: "x" }] }), 400, "InvalidArgument"],
      ];
      for (const [what, send, status, code] of cases) {
        it(`should refuse ${what} with ${status} ${code}`, async () => {
          const before = (await reader.get(NS)).body.version;
          await writesNothing(async () => {
            const res = await send();
            expect(res.status).toBe(status);
            expect(res.body.error.code).toBe(code);
            expect(typeof res.body.error.message).toBe("string");
            expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at /); // never a stack trace
          });
          expect((await reader.get(NS)).body.version).toBe(before);
        });
      }
    });
  });
}
