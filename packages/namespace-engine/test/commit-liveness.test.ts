/**
 * The commit budget under contention (lost-races.ts): a busy namespace
 * delays a write for `maxCommitWaitMs` instead of failing it after a count
 * of lost races, and then fails it with the retryable Conflict, nothing
 * applied. On virtual time (deterministic, no real waiting).
 *
 * Fairness between processes is measured by the multi-process tests (8
 * writer processes x 200 writes on local-fs and S3: no Conflict) and by
 * bench/multi-writer.ts. It is not strict: writers that commit back to back
 * with no pause can starve a slower newcomer (docs/namespace-engine.md,
 * Contention), so no single-seed newcomer race is asserted here.
 */
import { describe, expect, it } from "vitest";
import { AlreadyExistsError, FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { isNamespaceEngineError, type NamespaceEngineOptions } from "@skerry/namespace-engine";
import { makeEngine } from "./support/harness.ts";
import { VirtualTime } from "./support/virtual-time.ts";

const NS = "acme/live/busy";
const CALL_MS = 2;

function processOn(shared: MemoryStorage, time: VirtualTime, options: Partial<NamespaceEngineOptions> = {}, coldLoadMs = 0) {
  const storage = new FaultInjectingStorage(shared, { sleep: time.sleep });
  storage.addLatency(CALL_MS).addLatency(CALL_MS, () => true, { when: "after" });
  if (coldLoadMs > 0) {
    let cold = true;
    storage.addLatency(coldLoadMs, (call) => {
      if (!cold || call.op !== "get" || !call.key.includes("manifest")) return false;
      cold = false;
      return true;
    });
  }
  return makeEngine(storage, {
    clock: time,
    sleep: time.sleep,
    conflictBackoff: { baseDelayMs: 1, maxDelayMs: 50 },
    compaction: { auto: false },
    carriedBatches: true,
    ...options,
  });
}

describe("a writer that keeps losing the manifest race", () => {
  it("gives up after maxCommitAttempts AND maxCommitWaitMs with the retryable Conflict", async () => {
    // Every time the blocked engine tries to put a manifest version, a rival has just committed that very
    // version (a real commit through the shared store), so the put is refused: it never wins.
    const shared = new MemoryStorage();
    const time = new VirtualTime();
    await time.run(processOn(shared, time).createNamespace(NS));
    const rival = processOn(shared, time);
    const blocked = new FaultInjectingStorage(shared, { sleep: time.sleep });
    const engine = makeEngine(blocked, { clock: time, sleep: time.sleep, conflictBackoff: { baseDelayMs: 1, maxDelayMs: 50 }, maxCommitAttempts: 4, maxCommitWaitMs: 2_000 });
    await time.run(engine.getNamespace(NS));
    let rivalWrites = 0;
    blocked.failWhen((call) => call.op === "put" && call.key.includes("/manifests/"), {
      times: Number.POSITIVE_INFINITY,
      meanwhile: async () => {
        await rival.upsert(NS, [{ id: `rival-${rivalWrites++}` }]);
      },
      error: (call) => new AlreadyExistsError(`taken: ${call.key}`, { key: call.key }),
    });
    const started = time.now();
    const error = await time.run(engine.upsert(NS, [{ id: "x" }]).then(() => undefined, (e: unknown) => e));
    expect(isNamespaceEngineError(error) && error.code === "Conflict" && error.retryable, String(error)).toBe(true);
    expect(time.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(engine.stats().racesLost).toBeGreaterThan(4);
    expect(rivalWrites).toBe(engine.stats().racesLost);
  });
});
