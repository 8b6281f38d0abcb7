/**
 * CachingStorage in-flight sharing: concurrent reads of the same blocks (or
 * the same whole object) issue one inner call; a reader that aborts leaves
 * without failing the others, and a fetch nobody waits for any more is
 * aborted and not reused.
 */
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { CachingStorage, FaultInjectingStorage, isAborted, MemoryStorage } from "@skerry/storage-providers";

const payload = (size: number, salt = 0) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + salt) % 251;
  return bytes;
};
const equal = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function setup(latencyMs: number, when: "before" | "after" = "before") {
  const store = new MemoryStorage();
  const inner = new FaultInjectingStorage(store);
  inner.addLatency(latencyMs, (call) => call.op === "get", { when });
  const cache = new CachingStorage(inner, {
    isImmutable: (key) => key.startsWith("seg/"),
    blockBytes: 100,
    memoryBytes: 1 << 20,
    maxMemoryEntryBytes: 1 << 20,
  });
  const gets = () => inner.calls.filter((c) => c.op === "get");
  return { store, inner, cache, gets };
}

async function outcome<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

describe("CachingStorage in-flight sharing", () => {
  it("concurrent reads of the same block, or of the same whole object, make one inner call", async () => {
    const { store, cache, gets } = setup(40);
    const object = payload(1000);
    await store.put("seg/a", object);
    const reads = Array.from({ length: 10 }, (_, i) => cache.get("seg/a", { range: { offset: 120 + i, length: 50 } }));
    for (const [i, read] of reads.entries()) expect(equal((await read).bytes, object.subarray(120 + i, 170 + i))).toBe(true);
    expect(gets()).toHaveLength(1);
    expect(cache.stats()).toMatchObject({ innerFetches: 1, sharedFetches: 9, misses: 10 });

    await store.put("seg/whole", object);
    const wholes = await Promise.all(Array.from({ length: 5 }, () => cache.get("seg/whole")));
    for (const whole of wholes) expect(equal(whole.bytes, object)).toBe(true);
    expect(gets()).toHaveLength(2);
  });

  it("a read joining many fetches puts one listener on its signal, removed when it ends (no MaxListeners warning)", async () => {
    const store = new MemoryStorage();
    const inner = new FaultInjectingStorage(store);
    inner.addLatency(20, (call) => call.op === "get");
    // One block per inner fetch: a 2,000-byte read is 20 fetches, each joined with the reader's signal.
    const cache = new CachingStorage(inner, { isImmutable: (key) => key.startsWith("seg/"), blockBytes: 100, maxFetchBytes: 100, memoryBytes: 1 << 20 });
    const object = payload(2000, 5);
    await store.put("seg/many", object);
    await cache.get("seg/many", { range: { offset: 1999, length: 1 } }); // learns the size
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const controller = new AbortController();
      const read = cache.get("seg/many", { range: { offset: 0, length: 1900 }, signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(getEventListeners(controller.signal, "abort").length).toBeLessThanOrEqual(1);
      expect(equal((await read).bytes, object.subarray(0, 1900))).toBe(true);
      expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
      // Aborting such a read still stops it at once.
      await store.put("seg/many2", object);
      await cache.get("seg/many2", { range: { offset: 1999, length: 1 } });
      const aborting = new AbortController();
      const aborted = outcome(cache.get("seg/many2", { range: { offset: 0, length: 1900 }, signal: aborting.signal }));
      setTimeout(() => aborting.abort(new Error("gave up")), 5);
      const result = await aborted;
      expect("error" in result && isAborted(result.error)).toBe(true);
      expect(getEventListeners(aborting.signal, "abort")).toHaveLength(0);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
  });

  it("a read joins the blocks another read is fetching and fetches only the rest", async () => {
    const { store, cache, gets } = setup(40);
    const object = payload(1000, 3);
    await store.put("seg/b", object);
    await cache.get("seg/b", { range: { offset: 999, length: 1 } }); // learns the size
    const [a, b] = await Promise.all([
      cache.get("seg/b", { range: { offset: 0, length: 400 } }), // blocks 0..3
      cache.get("seg/b", { range: { offset: 250, length: 300 } }), // blocks 2..5: joins 2..3, fetches 4..5
    ]);
    expect(equal(a.bytes, object.subarray(0, 400))).toBe(true);
    expect(equal(b.bytes, object.subarray(250, 550))).toBe(true);
    expect(gets()).toHaveLength(3);
    expect(cache.stats().sharedFetches).toBe(2);
  });

  it("one reader aborting does not fail the others, and the shared fetch is not repeated", async () => {
    const { store, cache, gets } = setup(200);
    const object = payload(300, 5);
    await store.put("seg/c", object);
    const first = new AbortController();
    const order: string[] = [];
    const aborted = outcome(cache.get("seg/c", { range: { offset: 0, length: 300 }, signal: first.signal })).then((o) => {
      order.push("aborted reader");
      return o;
    });
    const patient = outcome(cache.get("seg/c", { range: { offset: 100, length: 100 } })).then((o) => {
      order.push("patient reader");
      return o;
    });
    setTimeout(() => first.abort(new Error("caller gave up")), 20);
    const [gaveUp, waited] = await Promise.all([aborted, patient]);
    expect("error" in gaveUp && isAborted(gaveUp.error)).toBe(true);
    expect("value" in waited && equal(waited.value.bytes, object.subarray(100, 200))).toBe(true);
    // The aborting reader left at once, not when the fetch came back.
    expect(order).toEqual(["aborted reader", "patient reader"]);
    expect(gets()).toHaveLength(1);
    expect(gets()[0]!.outcome).toBe("ok");

    // And the other way round: the reader that started the fetch stays, the joiner leaves.
    await store.put("seg/d", object);
    const joiner = new AbortController();
    const starter = cache.get("seg/d");
    const leaving = outcome(cache.get("seg/d", { signal: joiner.signal }));
    setTimeout(() => joiner.abort(), 20);
    expect(isAborted(((await leaving) as { error: unknown }).error)).toBe(true);
    expect(equal((await starter).bytes, object)).toBe(true);
    expect(gets()).toHaveLength(2);
  });

  it("a fetch every reader left is aborted, and the next read starts a fresh one", async () => {
    const { store, inner, cache, gets } = setup(200);
    const object = payload(250, 7);
    await store.put("seg/e", object);
    const controllers = [new AbortController(), new AbortController()];
    const reads = controllers.map((c) => outcome(cache.get("seg/e", { range: { offset: 10, length: 20 }, signal: c.signal })));
    setTimeout(() => {
      for (const c of controllers) c.abort();
    }, 20);
    for (const read of await Promise.all(reads)) expect("error" in read && isAborted(read.error)).toBe(true);
    await cache.flush();
    expect(gets()).toHaveLength(1);
    expect(gets()[0]).toMatchObject({ outcome: "error", errorCode: "Aborted" });

    inner.clearFaults();
    const again = await cache.get("seg/e", { range: { offset: 10, length: 20 } });
    expect(equal(again.bytes, object.subarray(10, 30))).toBe(true);
    expect(gets()).toHaveLength(2);
    expect(gets()[1]!.outcome).toBe("ok");
  });

  it("a failed fetch fails its waiters once and is not remembered", async () => {
    const { store, inner, cache, gets } = setup(30);
    const object = payload(120, 9);
    await store.put("seg/f", object);
    inner.failNth(1, (call) => call.op === "get");
    const reads = await Promise.all([outcome(cache.get("seg/f")), outcome(cache.get("seg/f", { range: { offset: 5, length: 5 } }))]);
    for (const read of reads) expect(read).toMatchObject({ error: { code: "Unavailable" } });
    expect(gets()).toHaveLength(1);
    expect(equal((await cache.get("seg/f")).bytes, object)).toBe(true);
    expect(gets()).toHaveLength(2);
  });

  it("a read that starts after a write does not join a fetch of the old bytes", async () => {
    const { cache, gets } = setup(60, "after"); // the inner read happens at once, its answer comes late
    await cache.put("seg/g", payload(150, 1));
    const old = cache.get("seg/g", { range: { offset: 0, length: 150 } });
    await new Promise((resolve) => setTimeout(resolve, 10));
    await cache.put("seg/g", payload(150, 2));
    const fresh = await cache.get("seg/g", { range: { offset: 0, length: 150 } });
    expect(equal(fresh.bytes, payload(150, 2))).toBe(true);
    expect(equal((await old).bytes, payload(150, 1))).toBe(true);
    await cache.flush();
    expect(equal((await cache.get("seg/g")).bytes, payload(150, 2))).toBe(true);
    expect(gets()).toHaveLength(2);
  });
});
