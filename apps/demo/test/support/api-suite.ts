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
          "/health",
          "/ready",
        ]) {
          expect(paths).toContain(p);
        }
        expect(doc.paths["/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/upsert"].post.responses["412"]).toBeDefined();
        expect(doc.components.schemas.Error).toBeDefined();
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
        expect(deleted.body).toMatchObject({ matched: 5, deleted: 5, skipped: 0 });
        const patched = await writer.post(`${OPS}/patchByFilter`, { filter: ["kind", "Eq", "odd"], patch: { attributes: { flagged: true } } });
        expect(patched.status).toBe(200);
        expect(patched.body).toMatchObject({ matched: 8, patched: 8 });
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
