import { describe, expect, it } from "vitest";
import { randomIdempotencyKey } from "../src/idempotency-key.ts";
import { SkerryClient } from "../src/index.ts";
import { apiError, FakeServer, json, WRITE_OK } from "./support/fake-server.ts";

describe("idempotency keys", () => {
  it("sends one key per logical write and the same key on every retry of it", async () => {
    const server = new FakeServer().answer(
      new TypeError("fetch failed"),
      apiError(503, "Unavailable", "store", { "retry-after": "1" }),
      json(200, WRITE_OK),
      json(200, { ...WRITE_OK, version: 3 }),
    );
    const ns = server.client().namespace("acme", "search", "docs");
    await ns.upsert([{ id: "a", attributes: { n: 1 } }], { ifVersion: 1 });
    await ns.delete(["a"]);
    const keys = server.calls.map((c) => c.headers.get("idempotency-key"));
    expect(keys).toEqual(["key-1", "key-1", "key-1", "key-2"]);
    expect(server.calls[0]?.body).toEqual({ documents: [{ id: "a", attributes: { n: 1 } }], ifVersion: 1 });
    expect(server.calls[3]?.body).toEqual({ ids: ["a"] });
    expect(server.calls.map((c) => c.url.pathname)).toEqual([
      "/v1/orgs/acme/projects/search/namespaces/docs/upsert",
      "/v1/orgs/acme/projects/search/namespaces/docs/upsert",
      "/v1/orgs/acme/projects/search/namespaces/docs/upsert",
      "/v1/orgs/acme/projects/search/namespaces/docs/delete",
    ]);
  });

  it("uses the caller's key when given", async () => {
    const server = new FakeServer().answer(apiError(429, "TooManyRequests"), json(200, { ...WRITE_OK, deduplicated: true }));
    const result = await server.client().namespace("acme", "search", "docs").patch([{ id: "a", attributes: { n: null } }], { idempotencyKey: "import-42" });
    expect(result.deduplicated).toBe(true);
    expect(server.calls.map((c) => c.headers.get("idempotency-key"))).toEqual(["import-42", "import-42"]);
    expect(server.keysMade).toBe(0);
  });

  it("defaults to a random UUID per write", async () => {
    const server = new FakeServer().answer(json(200, WRITE_OK), json(200, WRITE_OK));
    const real = new SkerryClient({ baseUrl: "http://skerry.test/", fetch: server.fetch, sleep: server.sleep }).namespace("acme", "search", "docs");
    await real.upsert([{ id: "a" }]);
    await real.upsert([{ id: "a" }]);
    const [k1, k2] = server.calls.map((c) => c.headers.get("idempotency-key"));
    expect(k1).toMatch(/^[0-9a-f-]{36}$/);
    expect(k2).toMatch(/^[0-9a-f-]{36}$/);
    expect(k1).not.toBe(k2);
    expect(real.path).toBe("acme/search/docs");
  });

  it("makes a version 4 UUID also where crypto.randomUUID is missing (a browser page over plain http)", () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(randomIdempotencyKey()).toMatch(uuid);
    const original = globalThis.crypto.randomUUID;
    Object.defineProperty(globalThis.crypto, "randomUUID", { value: undefined, configurable: true });
    try {
      const keys = new Set(Array.from({ length: 100 }, () => randomIdempotencyKey()));
      expect(keys.size).toBe(100);
      for (const key of keys) expect(key).toMatch(uuid);
    } finally {
      Object.defineProperty(globalThis.crypto, "randomUUID", { value: original, configurable: true });
    }
    expect(globalThis.crypto.randomUUID()).toMatch(uuid);
  });

  it("sends no key on reads and on writes that take none", async () => {
    const server = new FakeServer().answer(json(200, { version: 1, rows: [] }), json(200, { matched: 0, deleted: 0, skipped: 0, version: 1 }));
    const ns = server.client().namespace("acme", "search", "docs");
    await ns.query({ topK: 1 });
    await ns.deleteByFilter(["a", "Exists"], { ifVersion: 1 });
    expect(server.calls.map((c) => c.headers.get("idempotency-key"))).toEqual([null, null]);
    expect(server.calls[1]?.body).toEqual({ filter: ["a", "Exists"], ifVersion: 1 });
    expect(server.calls[0]?.headers.get("authorization")).toBe("Bearer sk_test");
    expect(server.calls[0]?.headers.get("content-type")).toBe("application/json");
  });
});
