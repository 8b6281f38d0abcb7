/**
 * Liveness of the write commit under contention (lost-races.ts): a writer
 * that keeps losing the manifest race eventually wins, and a busy namespace
 * delays a write instead of failing it.
 *
 * Several engines (processes) share one MemoryStorage, each through its own
 * FaultInjectingStorage with a few ms of latency per call, on virtual time
 * (deterministic, no real waiting). The fast writers write single documents
 * back to back; a newcomer whose cold load is slow (its first manifest read
 * takes 300 ms) joins and writes once.
 */
import { describe, expect, it } from "vitest";
import { AlreadyExistsError, FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { isNamespaceEngineError, type NamespaceEngine, type NamespaceEngineOptions } from "@skerry/namespace-engine";
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

/**
 * `fast` engines write until `until` settles (at most `max` writes each); resolves with their write counts.
 * A write that fails (with a lost race budget, `Conflict`) is recorded in `failures` and the writer stops.
 */
async function keepWriting(fast: NamespaceEngine[], until: Promise<unknown>, max: number, failures: unknown[]): Promise<number[]> {
  let stop = false;
  until.then(
    () => (stop = true),
    () => (stop = true),
  );
  return Promise.all(
    fast.map(async (engine, w) => {
      let n = 0;
      while (!stop && n < max) {
        try {
          await engine.upsert(NS, [{ id: `f${w}-${n}`, attributes: { n } }]);
        } catch (error) {
          failures.push(error);
          break;
        }
        n++;
      }
      return n;
    }),
  );
}

async function newcomerRace(options: Partial<NamespaceEngineOptions>) {
  const shared = new MemoryStorage();
  const time = new VirtualTime();
  const setup = processOn(shared, time);
  await time.run(setup.createNamespace(NS));
  const fast = [0, 1, 2].map(() => processOn(shared, time, options));
  // The fast writers are warm: each has committed once before the newcomer starts.
  await time.run(Promise.all(fast.map((engine, w) => engine.upsert(NS, [{ id: `warm-${w}` }]))));
  const newcomer = processOn(shared, time, options, 300);
  const started = time.now();
  const write = newcomer.upsert(NS, [{ id: "newcomer" }]);
  const settled = write.then(
    (result) => ({ result, error: undefined }),
    (error: unknown) => ({ result: undefined, error }),
  );
  const failures: unknown[] = [];
  const [outcome, written] = await time.run(Promise.all([settled, keepWriting(fast, write, 2_000, failures)]));
  const waitedMs = (await write.then(() => time.now(), () => time.now())) - started;
  return { shared, time, outcome, written, failures, newcomer, waitedMs };
}

describe("a writer that keeps losing the manifest race", () => {
  it("a new writer with a slow cold load wins against busy warm writers within the attempt budget", async () => {
    // maxCommitWaitMs 0: only a count budget (16 lost races) applies, so fairness alone must let it win. (Before
    // the fix it lost all 16: its base, read before each backoff, was stale by the time of its put, and the warm
    // writers committed back to back on their cached bases.)
    const { shared, time, outcome, written, failures, newcomer, waitedMs } = await newcomerRace({ maxCommitAttempts: 16, maxCommitWaitMs: 0 });
    expect(outcome.error, String(outcome.error)).toBeUndefined();
    expect(failures.map(String)).toEqual([]);
    expect(newcomer.stats().racesLost).toBeLessThan(16);
    expect(waitedMs).toBeLessThan(5_000); // virtual time: before the fix it gave up after 8 s
    // The fast writers were still writing while the newcomer waited: it won a busy namespace, not an idle one.
    expect(written.reduce((a, b) => a + b, 0)).toBeGreaterThan(5);
    const reader = processOn(shared, time);
    const docs = await time.run(reader.get(NS, ["newcomer"], { atVersion: outcome.result!.version }));
    expect(docs[0]?.id).toBe("newcomer");
  });

  it("keeps trying for maxCommitWaitMs, not only maxCommitAttempts, and then fails with the retryable Conflict", async () => {
    // A budget of 2 races but 5 s: the newcomer loses more than 2 races and still commits.
    const patient = await newcomerRace({ maxCommitAttempts: 2, maxCommitWaitMs: 5_000 });
    expect(patient.outcome.error, String(patient.outcome.error)).toBeUndefined();
    expect(patient.failures.map(String)).toEqual([]);

    // Nobody ever wins here (every manifest put is refused as taken): the commit gives up after both budgets.
    const shared = new MemoryStorage();
    const time = new VirtualTime();
    await time.run(processOn(shared, time).createNamespace(NS));
    const blocked = new FaultInjectingStorage(shared, { sleep: time.sleep });
    const engine = makeEngine(blocked, { clock: time, sleep: time.sleep, conflictBackoff: { baseDelayMs: 1, maxDelayMs: 50 }, maxCommitAttempts: 4, maxCommitWaitMs: 2_000 });
    await time.run(engine.getNamespace(NS));
    blocked.failWhen((call) => call.op === "put" && call.key.includes("manifest"), {
      times: Number.POSITIVE_INFINITY,
      error: (call) => new AlreadyExistsError(`taken: ${call.key}`, { key: call.key }),
    });
    const started = time.now();
    const error = await time.run(engine.upsert(NS, [{ id: "x" }]).then(() => undefined, (e: unknown) => e));
    expect(isNamespaceEngineError(error) && error.code === "Conflict" && error.retryable, String(error)).toBe(true);
    expect(time.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(engine.stats().racesLost).toBeGreaterThan(4);
  });
});
