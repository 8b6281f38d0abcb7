/**
 * A namespace deleted while an operation reads it: the deletion purges the
 * objects the operation's manifest references, so the operation finds one
 * missing. That is the namespace gone (`NamespaceNotFound`), not corruption:
 * the engine confirms a `CorruptError` against a fresh latest manifest
 * before reporting it. (Found by the simulation: seed 61 as found, a forced
 * compaction racing the lifecycle actor's deleteNamespace.) A missing object
 * in a live namespace stays `Corrupt` (missing-objects.test.ts).
 */
import { describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage, NotFoundError } from "@skerry/storage-providers";
import { isCorrupt, isNamespaceNotFound, type NamespaceEngine } from "@skerry/namespace-engine";
import { makeEngine } from "./support/harness.ts";

const NS = "acme/race/docs";

async function fixture(): Promise<{ memory: MemoryStorage; ids: string[] }> {
  const memory = new MemoryStorage();
  const engine = makeEngine(memory, { carriedBatches: false });
  await engine.createNamespace(NS);
  const ids: string[] = [];
  for (let b = 0; b < 2; b++) {
    const docs = Array.from({ length: 5 }, (_, i) => ({ id: `d${b}${i}`, vector: [b + 1, i + 1], attributes: { n: i } }));
    ids.push(...docs.map((d) => d.id));
    await engine.upsert(NS, docs);
  }
  return { memory, ids };
}

/** Storage whose first read of a log batch first lets `other` delete the namespace, then finds it gone. */
function deletedAtFirstBatchRead(memory: MemoryStorage): FaultInjectingStorage {
  const other = makeEngine(memory, { carriedBatches: false });
  return new FaultInjectingStorage(memory).failWhen((call) => call.op === "get" && call.key.includes("/log/"), {
    times: 1,
    meanwhile: async () => {
      await other.deleteNamespace(NS);
    },
    error: (call) => new NotFoundError(`no such key: ${call.key}`, { key: call.key }),
  });
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the operation to fail");
}

const OPS: readonly [string, (engine: NamespaceEngine, ids: string[]) => Promise<unknown>][] = [
  ["compact", (engine) => engine.compact(NS, { force: true })],
  ["get", (engine, ids) => engine.get(NS, ids)],
  ["scan", (engine) => engine.scan(NS)],
  ["query", (engine) => engine.query(NS, { topK: 10, filters: ["n", "Gte", 0] })],
  ["queryRows", (engine) => engine.queryRows(NS, { topK: 10, filters: ["n", "Gte", 0] })],
  ["docCount", (engine) => engine.getNamespace(NS)],
];

describe("an operation racing the namespace's deletion", () => {
  for (const [name, op] of OPS) {
    it(`${name}: fails with NamespaceNotFound, not Corrupt`, async () => {
      const { memory, ids } = await fixture();
      const error = await outcome(op(makeEngine(deletedAtFirstBatchRead(memory), { carriedBatches: false }), ids));
      expect(isCorrupt(error), String(error)).toBe(false);
      expect(isNamespaceNotFound(error), String(error)).toBe(true);
    });
  }

  it("the same missing batch in a live namespace is still Corrupt", async () => {
    const { memory, ids } = await fixture();
    const storage = new FaultInjectingStorage(memory).failWhen((call) => call.op === "get" && call.key.includes("/log/"), {
      times: 1,
      error: (call) => new NotFoundError(`no such key: ${call.key}`, { key: call.key }),
    });
    const error = await outcome(makeEngine(storage, { carriedBatches: false }).get(NS, ids));
    expect(isCorrupt(error), String(error)).toBe(true);
  });
});
