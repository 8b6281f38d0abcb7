/**
 * Bugs found by the deterministic simulation (packages/simulation,
 * docs/testing.md), reproduced here call for call with FaultInjectingStorage
 * rules, without the simulator. The simulation's own regression tests
 * (packages/simulation/test/seed-<n>.test.ts) replay the seeds.
 *
 * SIM-1 (seed 9, memory): a manifest create whose put landed with its
 * answer lost, then a failed read-back, then AlreadyExists on the retry,
 * then a second failed read-back, was taken for another writer's version
 * ("exists"); the write rebased onto that version, which already held its
 * own batch, and failed with `Schema: duplicate container id` although it
 * had committed.
 */
import { FaultInjectingStorage, MemoryStorage, type StorageCall } from "@skerry/storage-providers";
import { isStorageFailure, manifestKey, parseNamespacePath } from "@skerry/namespace-engine";
import { describe, expect, it } from "vitest";
import { errorOf, makeEngine } from "./support/harness.ts";

const NS = "acme/sim/kv";

async function setup() {
  const inner = new MemoryStorage();
  const faulty = new FaultInjectingStorage(inner);
  const engine = makeEngine(faulty);
  await engine.createNamespace(NS);
  const first = await engine.upsert(NS, [{ id: "a", attributes: { w: "1" } }]);
  const next = manifestKey(parseNamespacePath(NS), first.version + 1);
  const isPut = (call: StorageCall) => call.op === "put" && call.mode === "create" && call.key === next;
  const isGet = (call: StorageCall) => call.op === "get" && call.key === next;
  return { inner, faulty, engine, next, isPut, isGet, version: first.version + 1 };
}

describe("SIM-1 (seed 9): a manifest create whose read-back fails", () => {
  it("seed 9: reports the landed commit as committed (put answer lost, read-back fails, AlreadyExists, read-back fails)", async () => {
    const { faulty, engine, isPut, isGet, version } = await setup();
    faulty.failWhen(isPut, { when: "after", times: 1 }); // lands, answer lost
    faulty.failWhen(isGet, { when: "before", times: 2 }); // the first two reads of it fail
    const result = await engine.upsert(NS, [{ id: "b", attributes: { w: "2" } }]);
    expect(result).toMatchObject({ version, count: 1, deduplicated: false });
    // The version holds the batch once, and a fresh engine reads both documents at it.
    const manifest = await makeEngine(faulty).manifest(NS);
    expect(manifest.version).toBe(version);
    expect(new Set(manifest.containers.map((c) => c.id)).size).toBe(manifest.containers.length);
    expect((await makeEngine(faulty).documents(NS)).map((d) => d.id)).toEqual(["a", "b"]);
    const puts = faulty.calls.filter((c) => isPut(c));
    expect(puts.map((c) => c.outcome)).toEqual(["failed-after"]);
  });

  it("seed 9: after an ambiguous put, AlreadyExists plus a failed read-back is an unknown outcome, never another writer's version", async () => {
    const { faulty, engine, isPut, isGet, version } = await setup();
    // The exact sequence of the seed: put lands (answer lost); read-back fails; the retried put
    // gets AlreadyExists; its read-back fails too, as does every read until the budget is spent.
    faulty.failWhen(isPut, { when: "after", times: 1 });
    faulty.failWhen(isGet, { when: "before", times: 1_000 });
    const error = await errorOf(engine.upsert(NS, [{ id: "b", attributes: { w: "2" } }], { idempotencyKey: "k-b" }));
    expect(isStorageFailure(error), String(error)).toBe(true);
    expect(String(error)).not.toMatch(/duplicate container id|Schema/);
    expect(faulty.calls.filter((c) => isPut(c)).map((c) => c.outcome)).toContain("error"); // the AlreadyExists
    // It did commit: a retry with the same key is deduplicated at that version.
    faulty.clearFaults();
    const retried = await engine.upsert(NS, [{ id: "b", attributes: { w: "2" } }], { idempotencyKey: "k-b" });
    expect(retried).toMatchObject({ version, deduplicated: true });
    const manifest = await makeEngine(faulty).manifest(NS);
    expect(manifest.version).toBe(version);
    expect(new Set(manifest.containers.map((c) => c.id)).size).toBe(manifest.containers.length);
  });

  it("still reports another writer's version (read back, other bytes) as lost, and rebases", async () => {
    const { inner, faulty, engine, isPut } = await setup();
    const other = makeEngine(inner);
    // Our put fails before landing (unknown to us); another writer commits that version meanwhile.
    let raced = false;
    faulty.failWhen(
      (call) => {
        if (!isPut(call) || raced) return false;
        raced = true;
        return true;
      },
      { when: "before", times: 1 },
    );
    const [ours] = await Promise.all([
      engine.upsert(NS, [{ id: "b", attributes: { w: "2" } }]),
      other.upsert(NS, [{ id: "c", attributes: { w: "3" } }]),
    ]);
    expect((await makeEngine(inner).documents(NS)).map((d) => d.id)).toEqual(["a", "b", "c"]);
    expect(ours.version).toBeGreaterThan(2);
  });
});
