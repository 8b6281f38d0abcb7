import { describe, expect, it } from "vitest";
import { isSkerryError, SkerryClient, type SkerryError } from "../src/index.ts";
import { apiError, FakeServer, hang, json } from "./support/fake-server.ts";

describe("abort and timeout", () => {
  it("rejects with the signal's reason before sending when already aborted", async () => {
    const server = new FakeServer();
    const controller = new AbortController();
    const reason = new Error("stop");
    controller.abort(reason);
    await expect(server.client().namespace("a", "b", "c").info({ signal: controller.signal })).rejects.toBe(reason);
  });

  it("aborts a request in flight", async () => {
    const server = new FakeServer().answer(hang);
    const controller = new AbortController();
    const pending = server.client().namespace("a", "b", "c").query({ topK: 1 }, { signal: controller.signal });
    await Promise.resolve();
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    expect(server.calls).toHaveLength(1);
  });

  it("aborts the wait before a retry, with no further attempt", async () => {
    const controller = new AbortController();
    const server = new FakeServer().answer(apiError(429, "TooManyRequests", "busy", { "retry-after": "1" }), json(200, { version: 1 }));
    const client = new SkerryClient({
      baseUrl: "http://skerry.test",
      fetch: server.fetch,
      sleep: (ms, signal) => {
        controller.abort(new Error("user gave up"));
        return server.sleep(ms, signal);
      },
    });
    await expect(client.namespace("a", "b", "c").info({ signal: controller.signal })).rejects.toThrow("user gave up");
    expect(server.calls).toHaveLength(1);
  });

  it("a per-call timeout bounds the call and rejects with RequestTimeout", async () => {
    const server = new FakeServer().answer(hang);
    const error = await server
      .client()
      .namespace("a", "b", "c")
      .info({ timeoutMs: 20 })
      .catch((e: unknown) => e);
    expect(isSkerryError(error, "RequestTimeout")).toBe(true);
    expect((error as SkerryError).status).toBeUndefined();
    expect(server.calls[0]?.signal?.aborted).toBe(true);
  });

  it("a timeout during retries keeps the last failure as its cause", async () => {
    const server = new FakeServer().answer(apiError(503, "Unavailable", "store down", { "retry-after": "1" }));
    const client = new SkerryClient({ baseUrl: "http://skerry.test", fetch: server.fetch, timeoutMs: 30 }); // the real sleep: 1 s > 30 ms
    const error = await client
      .namespace("a", "b", "c")
      .info()
      .catch((e: unknown) => e);
    expect(isSkerryError(error, "RequestTimeout")).toBe(true);
    expect(isSkerryError((error as Error).cause, "Unavailable")).toBe(true);
  });

  it("passes one signal to fetch and leaves no listener on the caller's signal", async () => {
    const server = new FakeServer().answer(json(200, { version: 1 }));
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof signal.removeEventListener;
    await server.client().namespace("a", "b", "c").info({ signal, timeoutMs: 1000 });
    expect(added).toBe(1);
    expect(removed).toBe(1);
    expect(server.calls[0]?.signal).toBeInstanceOf(AbortSignal);
  });

  it("refuses a timeout that is not a positive number", async () => {
    const server = new FakeServer();
    expect(() => server.client({ timeoutMs: 0 })).toThrow(RangeError);
    await expect(server.client().namespace("a", "b", "c").info({ timeoutMs: -1 })).rejects.toThrow(RangeError);
  });
});
