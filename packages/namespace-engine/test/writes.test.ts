import { describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage, OutcomeUnknownError } from "@skerry/storage-providers";
import {
  DEFAULT_WRITE_LIMITS,
  isDocumentNotFound,
  isInvalidArgument,
  isStorageFailure,
  isVersionConflict,
} from "@skerry/namespace-engine";
import { allKeys, errorOf, makeEngine, memoryEngine, vec } from "./support/harness.ts";

const NS = "acme/search/docs";

async function fresh(options: Parameters<typeof memoryEngine>[0] = {}) {
  const env = memoryEngine(options);
  await env.engine.createNamespace(NS);
  return env;
}

describe("upsert, patch and delete", () => {
  it("upsert replaces whole documents; the latest write of an id wins", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [{ id: "a", vector: vec(1, 2), text: { title: "one" }, attributes: { n: 1, tag: "x" } }]);
    await engine.upsert(NS, [
      { id: "a", vector: vec(3, 4), attributes: { n: 2 } },
      { id: "b", sparse: { indices: [1, 5], values: [0.5, 0.25] } },
      { id: "b", attributes: { second: true } },
    ]);
    const [a, b, c] = await engine.get(NS, ["a", "b", "c"]);
    expect(a).toEqual({ id: "a", vector: vec(3, 4), attributes: { n: 2 } });
    expect(b).toEqual({ id: "b", attributes: { second: true } });
    expect(c).toBeNull();
  });

  it("patch merges fields, and null removes a vector, a text field or an attribute", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [{ id: "a", vector: vec(1, 2), text: { t: "x", u: "y" }, attributes: { keep: 1, drop: 2, obj: { a: 1 } } }]);
    const result = await engine.patch(NS, [{ id: "a", text: { u: null, v: "z" }, attributes: { drop: null, obj: { b: 2 }, added: [1] } }]);
    expect(result).toEqual({ version: 3, count: 1, deduplicated: false });
    expect((await engine.get(NS, ["a"]))[0]).toEqual({
      id: "a",
      vector: vec(1, 2),
      text: { t: "x", v: "z" },
      attributes: { keep: 1, obj: { b: 2 }, added: [1] },
    });
    await engine.patch(NS, [{ id: "a", vector: null, text: { t: null, v: null } }]);
    expect((await engine.get(NS, ["a"]))[0]).toEqual({ id: "a", attributes: { keep: 1, obj: { b: 2 }, added: [1] } });
  });

  it("patch of a missing document fails with DocumentNotFound and applies nothing", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [{ id: "a" }]);
    await engine.delete(NS, ["gone"]);
    const error = await errorOf(engine.patch(NS, [{ id: "a", attributes: { x: 1 } }, { id: "missing", attributes: { x: 1 } }]));
    expect(isDocumentNotFound(error)).toBe(true);
    expect(error).toMatchObject({ ids: ["missing"] });
    expect((await engine.get(NS, ["a"]))[0]).toEqual({ id: "a" });
    expect((await engine.manifest(NS)).version).toBe(3);
  });

  it("delete removes documents; deleting a missing id is a counted no-op", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, [{ id: "a" }, { id: "b" }]);
    expect(await engine.delete(NS, ["a", "nope"])).toEqual({ version: 3, count: 2, deduplicated: false });
    expect((await engine.documents(NS)).map((d) => d.id)).toEqual(["b"]);
    await engine.upsert(NS, [{ id: "a", attributes: { back: true } }]);
    expect((await engine.get(NS, ["a"]))[0]).toEqual({ id: "a", attributes: { back: true } });
  });

  it("scan pages through documents in id order", async () => {
    const { engine } = await fresh();
    await engine.upsert(NS, Array.from({ length: 25 }, (_, i) => ({ id: `d${String(i).padStart(2, "0")}` })));
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await engine.scan(NS, { limit: 10, ...(after === undefined ? {} : { after }) });
      seen.push(...page.documents.map((d) => d.id));
      if (page.next === undefined) break;
      after = page.next;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `d${String(i).padStart(2, "0")}`));
  });
});

describe("write validation", () => {
  it("refuses empty batches and batches over the operation cap", async () => {
    const { engine } = await fresh({ limits: { maxBatchOps: 5 } });
    expect(isInvalidArgument(await errorOf(engine.upsert(NS, [])))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.delete(NS, [])))).toBe(true);
    const six = Array.from({ length: 6 }, (_, i) => ({ id: `d${i}` }));
    expect(isInvalidArgument(await errorOf(engine.upsert(NS, six)))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.delete(NS, six.map((d) => d.id))))).toBe(true);
    expect(await engine.upsert(NS, six.slice(0, 5))).toMatchObject({ count: 5 });
  });

  it("uses a default cap of 10,000 operations and refuses a write over the byte cap", async () => {
    expect(DEFAULT_WRITE_LIMITS.maxBatchOps).toBe(10_000);
    const { engine } = await fresh({ limits: { maxBatchBytes: 4096 } });
    const big = Array.from({ length: 4 }, (_, i) => ({ id: `d${i}`, vector: new Float32Array(256) }));
    expect(isInvalidArgument(await errorOf(engine.upsert(NS, big)))).toBe(true);
  });

  it("refuses empty, non-string, over-long and ill-formed ids (integers only as uint ids, typed-schema.test.ts)", async () => {
    const { engine } = await fresh();
    for (const id of ["", true, -7, 1.5, "x".repeat(513), "bad\uD800"]) {
      expect(isInvalidArgument(await errorOf(engine.upsert(NS, [{ id: id as string }])))).toBe(true);
    }
    expect(await engine.upsert(NS, [{ id: "é".repeat(256) }])).toMatchObject({ count: 1 });
  });

  it("accepts only finite numbers, in vectors, sparse vectors and attributes", async () => {
    const { engine } = await fresh();
    const bad = [
      { id: "a", vector: [1, Number.NaN] },
      { id: "a", vector: [1, Number.POSITIVE_INFINITY] },
      { id: "a", vector: [1e39] },
      { id: "a", vector: [] },
      { id: "a", sparse: { indices: [2, 1], values: [1, 1] } },
      { id: "a", sparse: { indices: [1], values: [Number.NaN] } },
      { id: "a", attributes: { x: Number.NaN } },
      { id: "a", attributes: { nested: { deep: [Number.NEGATIVE_INFINITY] } } },
      { id: "a", attributes: { when: new Date() } },
      { id: "a", text: { t: 5 } },
    ];
    for (const doc of bad) expect(isInvalidArgument(await errorOf(engine.upsert(NS, [doc as never])))).toBe(true);
    expect((await engine.manifest(NS)).version).toBe(1);
  });

  it("fixes the vector dimension with the first vector ever written", async () => {
    const { storage, engine } = await fresh();
    expect(isInvalidArgument(await errorOf(engine.upsert(NS, [{ id: "a", vector: vec(1, 2) }, { id: "b", vector: vec(1, 2, 3) }])))).toBe(true);
    await engine.upsert(NS, [{ id: "a", vector: vec(1, 2) }]);
    expect((await engine.getNamespace(NS)).vectorDimension).toBe(2);
    expect(isInvalidArgument(await errorOf(engine.upsert(NS, [{ id: "b", vector: vec(1, 2, 3) }])))).toBe(true);
    expect(isInvalidArgument(await errorOf(engine.patch(NS, [{ id: "a", vector: vec(1) }])))).toBe(true);
    // Also for another process that has not seen the first vector yet.
    expect(isInvalidArgument(await errorOf(makeEngine(storage).upsert(NS, [{ id: "c", vector: vec(1, 2, 3) }])))).toBe(true);
  });
});

describe("conditional writes", () => {
  it("commit only when the latest version equals ifVersion, else VersionConflict naming both", async () => {
    const { storage, engine } = await fresh();
    expect(await engine.upsert(NS, [{ id: "a" }], { ifVersion: 1 })).toMatchObject({ version: 2 });
    const error = await errorOf(engine.upsert(NS, [{ id: "b" }], { ifVersion: 1 }));
    expect(isVersionConflict(error)).toBe(true);
    expect(error).toMatchObject({ expected: 1, actual: 2 });
    // Another process moves the namespace on: checked against the store, not a stale cache.
    await makeEngine(storage).upsert(NS, [{ id: "c" }]);
    expect(await engine.delete(NS, ["a"], { ifVersion: 3 })).toMatchObject({ version: 4 });
    expect(isInvalidArgument(await errorOf(engine.upsert(NS, [{ id: "x" }], { ifVersion: 0 })))).toBe(true);
  });

  it("let exactly one of several writers conditioned on the same version win", async () => {
    const { storage, engine } = await fresh();
    const others = [engine, makeEngine(storage), makeEngine(storage)];
    const outcomes = await Promise.allSettled(
      [0, 1, 2, 3, 4, 5].map((i) => (others[i % 3] ?? engine).upsert(NS, [{ id: `w${i}` }], { ifVersion: 1 })),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "rejected").every((o) => isVersionConflict((o as PromiseRejectedResult).reason))).toBe(true);
    expect(await engine.documents(NS)).toHaveLength(1);
  });
});

describe("idempotent writes", () => {
  it("return the first result marked deduplicated and never apply twice", async () => {
    const { storage, engine } = await fresh();
    const first = await engine.upsert(NS, [{ id: "a", attributes: { n: 1 } }, { id: "b" }], { idempotencyKey: "k1" });
    expect(first).toEqual({ version: 2, count: 2, deduplicated: false });
    await engine.delete(NS, ["a"]);
    const again = await engine.upsert(NS, [{ id: "a", attributes: { n: 1 } }, { id: "b" }], { idempotencyKey: "k1" });
    expect(again).toEqual({ version: 2, count: 2, deduplicated: true });
    expect((await engine.get(NS, ["a"]))[0]).toBeNull();
    // From another process too.
    expect(await makeEngine(storage).upsert(NS, [{ id: "a" }], { idempotencyKey: "k1" })).toEqual({ version: 2, count: 2, deduplicated: true });
    expect((await engine.manifest(NS)).version).toBe(3);
  });

  it("dedupe concurrent duplicates in one process: one applies, the others report it", async () => {
    const { engine } = await fresh();
    const results = await Promise.all([1, 2, 3].map(() => engine.patch(NS, [{ id: "a", attributes: { x: 1 } }], { idempotencyKey: "p" }).catch((e) => e)));
    // The namespace has no "a" yet: the first fails on its own, and nothing was recorded, so all fail.
    expect(results.every(isDocumentNotFound)).toBe(true);
    await engine.upsert(NS, [{ id: "a" }]);
    const ok = await Promise.all([1, 2, 3].map(() => engine.patch(NS, [{ id: "a", attributes: { x: 1 } }], { idempotencyKey: "p" })));
    expect(ok.filter((r) => !r.deduplicated)).toHaveLength(1);
    expect(new Set(ok.map((r) => r.version))).toEqual(new Set([3]));
    expect((await engine.manifest(NS)).containers).toHaveLength(2);
  });

  it("return deduplicated for a retry after an answer lost once the manifest landed", async () => {
    const inner = new MemoryStorage();
    await makeEngine(inner).createNamespace(NS);
    const faulty = new FaultInjectingStorage(inner);
    const engine = makeEngine(faulty);
    // The manifest create lands, then the process loses its answer and every later call (a crash).
    faulty.failWhen((call) => call.op === "put" && call.key.includes("/manifests/"), { when: "after", crash: true });
    const lost = await errorOf(engine.upsert(NS, [{ id: "a", attributes: { v: 1 } }], { idempotencyKey: "once" }));
    expect(isStorageFailure(lost)).toBe(true);
    faulty.revive();
    // The same engine (its cache still at version 1) and a restarted process both see the write landed.
    expect(await engine.upsert(NS, [{ id: "a", attributes: { v: 1 } }], { idempotencyKey: "once" })).toEqual({
      version: 2,
      count: 1,
      deduplicated: true,
    });
    const restarted = makeEngine(inner);
    expect(await restarted.upsert(NS, [{ id: "a", attributes: { v: 1 } }], { idempotencyKey: "once" })).toEqual({
      version: 2,
      count: 1,
      deduplicated: true,
    });
    const manifest = await restarted.manifest(NS);
    expect(manifest.version).toBe(2);
    expect(manifest.containers).toHaveLength(1);
    // The retry's own batch was never committed: a stored one was removed, a carried one never written.
    const stored = manifest.containers[0]?.carrierVersion === undefined;
    expect(await allKeys(inner, "acme/search/ns/docs/log/")).toEqual(stored ? [manifest.containers[0]?.key] : []);
  });

  it("resolve an unknown manifest outcome by reading it back when retries are allowed", async () => {
    const inner = new MemoryStorage();
    await makeEngine(inner).createNamespace(NS);
    const faulty = new FaultInjectingStorage(inner);
    const engine = makeEngine(faulty);
    faulty.failWhen((call) => call.op === "put" && call.key.includes("/manifests/"), { when: "after", times: 1 });
    expect(await engine.upsert(NS, [{ id: "a" }])).toEqual({ version: 2, count: 1, deduplicated: false });
    expect(await engine.listVersions(NS)).toEqual([1, 2]);
  });

  it("forget the oldest keys beyond recentWritesLimit", async () => {
    const { engine } = await fresh({ recentWritesLimit: 2 });
    for (const key of ["k1", "k2", "k3"]) await engine.upsert(NS, [{ id: key }], { idempotencyKey: key });
    expect((await engine.manifest(NS)).recentWrites.map((w) => w.idempotencyKey)).toEqual(["k2", "k3"]);
    expect(await engine.upsert(NS, [{ id: "k1" }], { idempotencyKey: "k1" })).toMatchObject({ deduplicated: false });
    expect(await engine.upsert(NS, [{ id: "k3" }], { idempotencyKey: "k3" })).toMatchObject({ deduplicated: true });
  });
});

describe("a manifest commit whose outcome is unknown (the provider re-read and could not decide)", () => {
  const unknown = (call: { key: string }) => new OutcomeUnknownError(`injected: outcome of ${call.key} unknown`, { key: call.key });
  const isManifestPut = (call: { op: string; key: string }) => call.op === "put" && call.key.includes("/manifests/");

  it("succeeds when the manifest landed: it is read back, not reported as a failure or a lost race", async () => {
    const inner = new MemoryStorage();
    await makeEngine(inner).createNamespace(NS);
    const faulty = new FaultInjectingStorage(inner);
    const engine = makeEngine(faulty);
    faulty.failWhen(isManifestPut, { when: "after", error: unknown });
    expect(await engine.upsert(NS, [{ id: "a", attributes: { v: 1 } }], { idempotencyKey: "k" })).toEqual({
      version: 2,
      count: 1,
      deduplicated: false,
    });
    expect(await engine.listVersions(NS)).toEqual([1, 2]);
  });

  it("rebases onto another writer's manifest when that version holds other bytes, and commits once", async () => {
    const inner = new MemoryStorage();
    await makeEngine(inner).createNamespace(NS);
    const other = makeEngine(inner);
    const faulty = new FaultInjectingStorage(inner);
    const engine = makeEngine(faulty);
    await engine.manifest(NS); // cache version 1
    // Our create of version 2 does not land; another writer commits version 2 meanwhile; our answer: unknown.
    faulty.failWhen(isManifestPut, {
      when: "before",
      error: unknown,
      meanwhile: async () => {
        await other.upsert(NS, [{ id: "b" }]);
      },
    });
    expect(await engine.upsert(NS, [{ id: "a" }], { idempotencyKey: "mine" })).toMatchObject({ version: 3, deduplicated: false });
    const restarted = makeEngine(inner);
    expect((await restarted.get(NS, ["a", "b"])).map((d) => d?.id)).toEqual(["a", "b"]);
    expect((await restarted.manifest(NS)).recentWrites.filter((w) => w.idempotencyKey === "mine")).toHaveLength(1);
  });

  it("reports a retryable Storage error, never a definite failure, while the outcome stays unknown", async () => {
    const inner = new MemoryStorage();
    await makeEngine(inner).createNamespace(NS);
    const faulty = new FaultInjectingStorage(inner);
    const engine = makeEngine(faulty);
    // Every manifest create lands, its answer is lost, and every read-back fails: nothing can decide.
    let committing = false;
    faulty.failWhen(isManifestPut, {
      when: "after",
      error: unknown,
      times: Number.POSITIVE_INFINITY,
      meanwhile: async () => {
        committing = true;
      },
    });
    faulty.failWhen((call) => committing && call.op === "get" && call.key.includes("/manifests/"), { times: Number.POSITIVE_INFINITY });
    const error = await errorOf(engine.upsert(NS, [{ id: "a" }], { idempotencyKey: "u" }));
    expect(isStorageFailure(error), String(error)).toBe(true);
    expect((error as { retryable: boolean }).retryable).toBe(true);
    expect(String((error as Error).message)).toMatch(/unknown outcome|outcome unknown/);
    faulty.clearFaults();
    // The retry with the same idempotency key finds it committed.
    expect(await engine.upsert(NS, [{ id: "a" }], { idempotencyKey: "u" })).toMatchObject({ version: 2, deduplicated: true });
  });
});
