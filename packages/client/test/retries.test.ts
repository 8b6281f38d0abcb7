import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY, isSkerryError, SkerryError } from "../src/index.ts";
import { parseRetryAfter, retryDelay, retryOptions } from "../src/retry-policy.ts";
import { apiError, FakeServer, json } from "./support/fake-server.ts";

const ns = (server: FakeServer, options = {}) => server.client(options).namespace("acme", "search", "docs");
const INFO = { namespaces: ["a"] };

describe("retries", () => {
  it("waits at least Retry-After after a 429, then succeeds", async () => {
    const server = new FakeServer().answer(apiError(429, "TooManyRequests", "busy", { "retry-after": "2" }), json(200, INFO));
    const names = await server.client().project("acme", "search").listNamespaces();
    expect(names).toEqual(["a"]);
    expect(server.calls).toHaveLength(2);
    expect(server.sleeps).toHaveLength(1);
    expect(server.sleeps[0]).toBe(2000);
  });

  it("reads an HTTP-date Retry-After against the injected clock", async () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const server = new FakeServer().answer(apiError(503, "Overloaded", "full", { "retry-after": "Thu, 01 Jan 2026 00:00:03 GMT" }), json(200, INFO));
    await server.client({ now: () => now }).project("acme", "search").listNamespaces();
    expect(server.sleeps).toEqual([3000]);
  });

  it("backs off exponentially with jitter, bounded by maxDelayMs, and gives up after maxRetries", async () => {
    const server = new FakeServer();
    for (let i = 0; i < 6; i++) server.answer(apiError(503, "Unavailable"));
    let r = 0;
    const randoms = [0, 0.999, 0, 0.999, 0.5];
    const client = server.client({ random: () => randoms[r++] ?? 0, retry: { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 500 } });
    const error = await client.project("acme", "search").listNamespaces().catch((e: unknown) => e);
    expect(isSkerryError(error, "Unavailable")).toBe(true);
    expect((error as SkerryError).attempts).toBe(6);
    expect(server.calls).toHaveLength(6);
    // steps 100, 200, 400, 500 (cap), 500: half of each plus a random share of the other half
    expect(server.sleeps.map(Math.round)).toEqual([50, 200, 200, 500, 375]);
  });

  it("does not retry errors the server marks final", async () => {
    for (const [status, code] of [
      [400, "InvalidQuery"],
      [404, "NamespaceNotFound"],
      [409, "NamespaceExists"],
      [412, "VersionConflict"],
      [500, "Internal"],
      [500, "Corrupt"],
    ] as const) {
      const server = new FakeServer().answer(apiError(status, code));
      const error = await ns(server).info().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SkerryError);
      expect((error as SkerryError).code).toBe(code);
      expect((error as SkerryError).retryable).toBe(false);
      expect(server.calls).toHaveLength(1);
    }
  });

  it("retries a 409 Conflict (nothing applied) even for a write without an idempotency key", async () => {
    const server = new FakeServer().answer(apiError(409, "Conflict", "lost the manifest race"), json(200, { matched: 1, deleted: 1, skipped: 0, version: 3 }));
    const result = await ns(server).deleteByFilter(["a", "Eq", 1]);
    expect(result.deleted).toBe(1);
    expect(server.calls).toHaveLength(2);
  });

  it("does not retry an unknown outcome (503 Unavailable, network error) of a write without an idempotency key", async () => {
    const server = new FakeServer().answer(apiError(503, "Unavailable", "store down", { "retry-after": "1" }));
    const error = await ns(server).deleteByFilter(["a", "Eq", 1]).catch((e: unknown) => e);
    expect(isSkerryError(error, "Unavailable")).toBe(true);
    expect((error as SkerryError).retryable).toBe(true);
    expect((error as SkerryError).retryAfterMs).toBe(1000);
    expect(server.calls).toHaveLength(1);

    const again = new FakeServer().answer(new TypeError("fetch failed"));
    const network = await again.client().namespace("acme", "search", "docs").create().catch((e: unknown) => e);
    expect(isSkerryError(network, "NetworkError")).toBe(true);
    expect(again.calls).toHaveLength(1);
  });

  it("retries an unknown outcome of a read, and rejections before any work (ShuttingDown, Overloaded) of any call", async () => {
    const server = new FakeServer().answer(new TypeError("fetch failed"), apiError(503, "Timeout"), json(200, INFO));
    expect(await server.client().project("acme", "search").listNamespaces()).toEqual(["a"]);
    expect(server.calls).toHaveLength(3);

    const create = new FakeServer().answer(apiError(503, "ShuttingDown"), apiError(503, "Overloaded"), json(201, { path: "acme/search/docs" }));
    await create.client().namespace("acme", "search", "docs").create();
    expect(create.calls).toHaveLength(3);
  });

  it("throws instead of waiting a Retry-After longer than maxRetryAfterMs", async () => {
    const server = new FakeServer().answer(apiError(429, "TooManyRequests", "busy", { "retry-after": "120" }));
    const error = await ns(server).info().catch((e: unknown) => e);
    expect(isSkerryError(error, "TooManyRequests")).toBe(true);
    expect(server.sleeps).toEqual([]);
  });

  it("maxRetries 0 turns retries off", async () => {
    const server = new FakeServer().answer(apiError(429, "TooManyRequests", "busy", { "retry-after": "1" }));
    await expect(ns(server, { retry: { maxRetries: 0 } }).info()).rejects.toMatchObject({ code: "TooManyRequests", status: 429, attempts: 1 });
  });

  it("treats a proxy's non-JSON 502 as an unknown outcome and a 200 that is not JSON as final", async () => {
    const server = new FakeServer().answer(new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }), json(200, INFO));
    expect(await server.client().project("acme", "search").listNamespaces()).toEqual(["a"]);
    const broken = new FakeServer().answer(new Response("not json", { status: 200 }));
    await expect(broken.client().project("acme", "search").listNamespaces()).rejects.toMatchObject({ code: "UnexpectedResponse", status: 200, retryable: false });
    expect(broken.calls).toHaveLength(1);
  });

  it("validates its options", () => {
    expect(() => retryOptions({ maxRetries: -1 })).toThrow(RangeError);
    expect(() => retryOptions({ baseDelayMs: Number.NaN })).toThrow(RangeError);
    expect(() => retryOptions({ maxRetries: 1.5 })).toThrow(RangeError);
    expect(retryOptions(undefined)).toEqual(DEFAULT_RETRY);
    expect(parseRetryAfter(null, 0)).toBeUndefined();
    expect(parseRetryAfter("soon", 0)).toBeUndefined();
    expect(parseRetryAfter(" 3 ", 0)).toBe(3000);
    const error = new SkerryError("Unavailable", "x", { status: 503 });
    expect(retryDelay(error, 0, false, DEFAULT_RETRY, () => 0)).toBeUndefined();
    expect(retryDelay(error, 0, true, DEFAULT_RETRY, () => 0)).toBe(50);
  });
});
