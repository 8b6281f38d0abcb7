/**
 * Request limits and lifecycle over real HTTP, made deterministic with a
 * gated store (requests stay in flight until the gate opens): per-key
 * concurrency (429 + Retry-After), request timeout (503 Timeout), and
 * graceful shutdown (new requests refused, in-flight writes finish and are
 * durable).
 */
import { NamespaceEngine } from "@skerry/namespace-engine";
import { MemoryStorage } from "@skerry/storage-providers";
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, Client, GatedStorage, nsUrl, startTestServer, until } from "./support/harness.ts";

const NS = nsUrl("acme", "search", "docs");

async function setup(limits: Parameters<typeof startTestServer>[1]) {
  const memory = new MemoryStorage();
  const gated = new GatedStorage(memory);
  const server = await startTestServer(gated.storage, limits);
  const admin = new Client(server.url, ADMIN_KEY);
  expect((await admin.post(nsUrl("acme", "search"), { name: "docs" })).status).toBe(201);
  return { memory, gated, server, admin };
}

describe("request limits", () => {
  it("should answer 429 with Retry-After when a key has too many requests in flight, and not limit other keys", async () => {
    const { gated, server, admin } = await setup({ maxInFlightPerKey: 2 });
    const minted = await admin.post("/v1/keys", { role: "read", org: "acme", project: "search" });
    const otherKey = admin.withKey(minted.body.key);
    await otherKey.get(NS); // caches the key record before the gate closes
    gated.close();
    const held = [admin.get(NS), admin.get(NS)];
    await until(() => gated.waiting >= 2);
    const refused = await admin.get(NS);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("TooManyRequests");
    expect(refused.headers.get("retry-after")).toBe("1");
    const otherPending = otherKey.get(NS);
    gated.open();
    for (const res of await Promise.all([...held, otherPending])) expect(res.status).toBe(200);
    expect((await admin.get(NS)).status).toBe(200);
    await server.close();
  });

  it("should answer 503 Timeout with Retry-After when a request takes longer than the timeout", async () => {
    const { gated, server, admin } = await setup({ requestTimeoutMs: 150 });
    gated.close();
    const res = await admin.post(`${NS}/upsert`, { documents: [{ id: "slow" }] });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("Timeout");
    expect(res.body.error.message).toContain("Idempotency-Key");
    expect(res.headers.get("retry-after")).toBe("1");
    gated.open();
    await server.close();
  });

  it("should count rejected requests and latencies in /metrics", async () => {
    const { server, admin } = await setup({});
    await admin.withKey(undefined).get(NS);
    await admin.get(NS);
    const text = (await admin.withKey(undefined).get("/metrics")).body as string;
    expect(text).toMatch(/skerry_rejected_requests_total\{reason="unauthorized"\} 1/);
    expect(text).toMatch(/skerry_http_request_duration_seconds_count\{method="GET",route="\/v1\/orgs\/:org\/projects\/:project\/namespaces\/:namespace",status="200"\} 1/);
    await server.close();
  });
});

describe("graceful shutdown", () => {
  it("should refuse new requests, finish the in-flight write, and leave it durable", async () => {
    const { memory, gated, server, admin } = await setup({});
    gated.close();
    const write = admin.post(`${NS}/upsert`, { documents: [{ id: "in-flight", attributes: { n: 1 } }] });
    await until(() => gated.waiting >= 1);
    const closed = server.close();
    await until(() => server.deps.lifecycle.shuttingDown);
    const late = await admin.get(NS).catch((error: Error) => error);
    if (late instanceof Error) expect(String((late.cause as Error | undefined)?.message ?? late.message)).toMatch(/ECONNREFUSED|other side closed|fetch failed/);
    else {
      expect(late.status).toBe(503);
      expect(late.body.error.code).toBe("ShuttingDown");
    }
    gated.open();
    const done = await write;
    expect(done.status).toBe(200);
    await closed;
    const [doc] = await new NamespaceEngine({ storage: memory }).get("acme/search/docs", ["in-flight"]);
    expect(doc?.attributes).toEqual({ n: 1 });
  });
});
