/**
 * Crash at every storage call (before and after) of branch, copy,
 * namespace delete (of a branched source and of a branch), manifest GC and
 * repair; then a fresh engine on the surviving storage checks:
 * - every acknowledged operation is visible, nothing is half-applied (a
 *   target namespace is absent or complete);
 * - no retained manifest references a missing object;
 * - refcounts are never below the true count;
 * - branches stay isolated (a write to the source does not reach them);
 * - repair (with a sweep past the grace period) restores exact counts and
 *   leaves every read as it was.
 */
import { afterAll, describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { isNamespaceExists, isNamespaceNotFound, type NamespaceEngine, type StoredDocument } from "@skerry/namespace-engine";
import { makeEngine, steppingClock } from "./support/harness.ts";
import { expectCountsNotBelowTruth, expectExactCounts, expectNoMissingObjects } from "./support/references.ts";

const SRC = "acme/search/docs";
const BR = "acme/search/branch";
const NEW = "acme/search/fork";
const START = Date.parse("2026-06-01T00:00:00Z");

let covered = 0;
const perOp: string[] = [];
afterAll(() => {
  console.log(`[sharing-crash-points] ${covered} crash points covered (${perOp.join(", ")}; every storage call, before and after)`);
});

function snapshot(docs: StoredDocument[]): string {
  return JSON.stringify(docs, (_, value) => (value instanceof Float32Array ? Array.from(value) : value));
}

async function read(engine: NamespaceEngine, path: string): Promise<string> {
  return engine.documents(path).then(snapshot, (error) => (isNamespaceNotFound(error) ? "absent" : Promise.reject(error)));
}

/** Source with log batches, a compacted segment with an index, published tombstones, and a branch. */
async function seeded(): Promise<MemoryStorage> {
  const clock = steppingClock(START);
  const inner = new MemoryStorage({ now: () => clock.now() });
  const engine = makeEngine(inner, { clock, retention: { keepVersions: 2, keepForMs: 0 } });
  await engine.createNamespace(SRC);
  await engine.upsert(SRC, [
    { id: "a", vector: [1, 0], attributes: { k: "keep" } },
    { id: "b", vector: [0, 1], attributes: { k: "drop" } },
  ]);
  await engine.compact(SRC, { force: true });
  await engine.upsert(SRC, [{ id: "c", vector: [1, 1], attributes: { k: "drop" } }, { id: "d", attributes: { k: "keep" } }]);
  await engine.deleteByFilter(SRC, ["k", "Eq", "drop"]);
  await engine.branchNamespace(SRC, BR);
  await engine.upsert(BR, [{ id: "br" }]);
  return inner;
}

interface Scenario {
  name: string;
  op: (engine: NamespaceEngine) => Promise<unknown>;
  /** Checks after the crash (before any retry), given whether the op was acknowledged. */
  check: (verifier: NamespaceEngine, acked: boolean, baseline: Record<string, string>, at: string) => Promise<void>;
  /** Finishes the operation after the crash. */
  finish: (engine: NamespaceEngine) => Promise<unknown>;
}

const forkCheck = async (verifier: NamespaceEngine, acked: boolean, baseline: Record<string, string>, at: string) => {
  const fork = await read(verifier, NEW);
  expect(["absent", baseline[SRC]], at).toContain(fork);
  if (acked) expect(fork, at).toBe(baseline[SRC]);
};
const forkFinish = (mode: "branch" | "copy") => async (engine: NamespaceEngine) => {
  const run = mode === "branch" ? engine.branchNamespace(SRC, NEW) : engine.copyNamespace(SRC, NEW);
  await run.catch((error) => (isNamespaceExists(error) ? undefined : Promise.reject(error)));
};

const scenarios: Scenario[] = [
  { name: "branch", op: (e) => e.branchNamespace(SRC, NEW), check: forkCheck, finish: forkFinish("branch") },
  { name: "copy", op: (e) => e.copyNamespace(SRC, NEW), check: forkCheck, finish: forkFinish("copy") },
  {
    name: "delete of a branched source",
    op: (e) => e.deleteNamespace(SRC),
    check: async (verifier, acked, baseline, at) => {
      const source = await read(verifier, SRC);
      expect(["absent", baseline[SRC]], at).toContain(source);
      if (acked) expect(source, at).toBe("absent");
    },
    finish: (e) => e.deleteNamespace(SRC),
  },
  {
    name: "delete of a branch",
    op: (e) => e.deleteNamespace(BR),
    check: async (verifier, acked, baseline, at) => {
      const branch = await read(verifier, BR);
      expect(["absent", baseline[BR]], at).toContain(branch);
      if (acked) expect(branch, at).toBe("absent");
    },
    finish: (e) => e.deleteNamespace(BR),
  },
  {
    name: "manifest GC",
    op: (e) => e.collectGarbage(SRC, { retention: { keepVersions: 1, keepForMs: 0 } }),
    check: async () => {},
    finish: (e) => e.collectGarbage(SRC, { retention: { keepVersions: 1, keepForMs: 0 } }),
  },
  {
    name: "repair",
    op: (e) => e.repair("acme", "search", { sweep: true, graceMs: 0 }),
    check: async () => {},
    finish: (e) => e.repair("acme", "search", { sweep: true, graceMs: 0 }),
  },
];

/** A later engine: its clock is past every object's grace period. */
const later = (storage: MemoryStorage) => makeEngine(storage, { clock: steppingClock(START + 3_600_000) });

describe("crash at every storage call of sharing, deletion, GC and repair", () => {
  for (const scenario of scenarios) {
    it(`${scenario.name}: acknowledged work visible, nothing half-applied, no missing object, counts never below the truth, repair exact`, async () => {
      const clean = await seeded();
      const baselineEngine = makeEngine(clean);
      const baseline: Record<string, string> = { [SRC]: await read(baselineEngine, SRC), [BR]: await read(baselineEngine, BR) };
      const counter = new FaultInjectingStorage(clean);
      await scenario.op(makeEngine(counter, { clock: steppingClock(START + 60_000) }));
      const calls = counter.callCount;
      expect(calls).toBeGreaterThanOrEqual(3);
      perOp.push(`${scenario.name}: ${calls * 2}`);

      for (let k = 1; k <= calls; k++) {
        for (const when of ["before", "after"] as const) {
          const at = `${scenario.name} crash at call ${k} ${when}`;
          const inner = await seeded();
          const faulty = new FaultInjectingStorage(inner);
          faulty.failCall(k, { when, crash: true });
          const acked = await scenario.op(makeEngine(faulty, { clock: steppingClock(START + 60_000) })).then(
            () => true,
            () => false,
          );
          const verifier = makeEngine(inner, { clock: steppingClock(START + 120_000) });
          await scenario.check(verifier, acked, baseline, at);
          await expectNoMissingObjects(verifier, inner, "acme", "search", at);
          await expectCountsNotBelowTruth(verifier, "acme", "search", at);
          // Branch isolation survives the crash: a write to the source never reaches the branch.
          const branchBefore = await read(verifier, BR);
          if ((await read(verifier, SRC)) !== "absent") await verifier.upsert(SRC, [{ id: "after-crash" }]);
          expect(await read(makeEngine(inner), BR), at).toBe(branchBefore);
          // Finish the operation, then repair past the grace period.
          await scenario.finish(verifier);
          const repairer = later(inner);
          const readsBefore = { src: await read(repairer, SRC), br: await read(repairer, BR), fork: await read(repairer, NEW) };
          await repairer.repair("acme", "search", { sweep: true, graceMs: 60_000 });
          await expectExactCounts(repairer, "acme", "search", at);
          await expectNoMissingObjects(repairer, inner, "acme", "search", at);
          const fresh = later(inner);
          expect({ src: await read(fresh, SRC), br: await read(fresh, BR), fork: await read(fresh, NEW) }, at).toEqual(readsBefore);
          covered++;
        }
      }
    });
  }
});
