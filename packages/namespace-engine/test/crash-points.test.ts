/**
 * Crash at every storage call of a write, before and after the call: the
 * process dies there (every later call fails). Then a fresh engine on the
 * surviving storage checks the invariants:
 * - an acknowledged write is visible;
 * - the state is exactly "before" or exactly "after" (nothing half-applied);
 * - no manifest references a missing object;
 * - a retry with the same idempotency key applies the write exactly once,
 *   and reports `deduplicated` when the crashed attempt had landed.
 * Namespace deletion: after a crash the namespace is either intact or gone,
 * and a second deleteNamespace finishes the cleanup.
 */
import { afterAll, describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { isNamespaceNotFound, type NamespaceEngine, type StoredDocument, type WriteResult } from "@skerry/namespace-engine";
import { allKeys, makeEngine, steppingClock } from "./support/harness.ts";
import { containerIsReachable } from "./support/references.ts";

const NS = "acme/search/docs";
const ROOT = "acme/search/ns/docs/";
const KEY = "retry-me";

interface WriteScenario {
  name: string;
  op: (engine: NamespaceEngine) => Promise<WriteResult>;
}

const scenarios: WriteScenario[] = [
  { name: "upsert", op: (e) => e.upsert(NS, [{ id: "c", vector: [1, 2] }, { id: "a", attributes: { v: 2 } }], { idempotencyKey: KEY }) },
  { name: "patch", op: (e) => e.patch(NS, [{ id: "a", attributes: { v: 3, n: null } }, { id: "b", vector: null }], { idempotencyKey: KEY }) },
  { name: "delete", op: (e) => e.delete(NS, ["a", "zz"], { idempotencyKey: KEY }) },
];

let covered = 0;
afterAll(() => {
  console.log(`[crash-points] ${covered} crash points covered (every storage call of upsert, patch, delete and namespace delete, before and after)`);
});

async function seeded(): Promise<MemoryStorage> {
  // Strictly increasing object timestamps, as a real store's clock would give across these steps.
  const clock = steppingClock();
  const inner = new MemoryStorage({ now: () => clock.now() });
  const engine = makeEngine(inner);
  await engine.createNamespace(NS);
  await engine.upsert(NS, [
    { id: "a", vector: [1, 1], attributes: { v: 1, n: 1 } },
    { id: "b", vector: [2, 2] },
  ]);
  return inner;
}

function snapshot(docs: StoredDocument[]): string {
  return JSON.stringify(docs, (_, value) => (value instanceof Float32Array ? Array.from(value) : value));
}

/** Every container of every stored manifest can be read (a carried batch: its carrier or its object). */
async function expectNoDanglingReferences(engine: NamespaceEngine, inner: MemoryStorage): Promise<void> {
  for (const version of await engine.listVersions(NS)) {
    const manifest = await engine.manifest(NS, { atVersion: version }).catch((error) => {
      if (isNamespaceNotFound(error)) return undefined; // the final version of a deleted namespace
      throw error;
    });
    for (const container of manifest?.containers ?? []) {
      expect(await containerIsReachable(inner, container), container.key).toBe(true);
    }
  }
}

async function crashRun(k: number, when: "before" | "after", op: (engine: NamespaceEngine) => Promise<unknown>) {
  const inner = await seeded();
  const faulty = new FaultInjectingStorage(inner);
  faulty.failCall(k, { when, crash: true });
  const acked = await op(makeEngine(faulty)).then(
    () => true,
    () => false,
  );
  return { inner, acked };
}

describe("crash at every storage call", () => {
  for (const scenario of scenarios) {
    it(`${scenario.name}: an acknowledged write survives, nothing is half-applied, and a retry applies it exactly once`, async () => {
      // A clean run gives the call count and the two legal outcomes.
      const clean = await seeded();
      const before = snapshot(await makeEngine(clean).documents(NS));
      const containersBefore = (await makeEngine(clean).manifest(NS)).containers.length;
      const counter = new FaultInjectingStorage(clean);
      await scenario.op(makeEngine(counter));
      const calls = counter.callCount;
      const after = snapshot(await makeEngine(clean).documents(NS));
      expect(after).not.toBe(before);
      expect(calls).toBeGreaterThanOrEqual(3);

      for (let k = 1; k <= calls; k++) {
        for (const when of ["before", "after"] as const) {
          const { inner, acked } = await crashRun(k, when, scenario.op);
          const at = `${scenario.name} crash at call ${k} ${when}`;
          const verifier = makeEngine(inner);
          const state = snapshot(await verifier.documents(NS));
          expect([before, after], at).toContain(state);
          if (acked) expect(state, at).toBe(after);
          await expectNoDanglingReferences(verifier, inner);
          const landed = state === after;
          const retry = await scenario.op(makeEngine(inner));
          expect(retry.deduplicated, at).toBe(landed);
          expect(snapshot(await verifier.documents(NS)), at).toBe(after);
          const manifest = await verifier.manifest(NS);
          expect(manifest.containers.length, at).toBe(containersBefore + 1);
          expect(manifest.recentWrites.filter((w) => w.idempotencyKey === KEY), at).toHaveLength(1);
          covered++;
        }
      }
    });
  }

  it("namespace delete: the namespace is intact or gone, and deleting again finishes the cleanup", async () => {
    const clean = await seeded();
    const counter = new FaultInjectingStorage(clean);
    await makeEngine(counter).deleteNamespace(NS);
    const calls = counter.callCount;
    expect(calls).toBeGreaterThanOrEqual(5);
    const intact = snapshot(await makeEngine(await seeded()).documents(NS));

    for (let k = 1; k <= calls; k++) {
      for (const when of ["before", "after"] as const) {
        const { inner, acked } = await crashRun(k, when, (e) => e.deleteNamespace(NS));
        const at = `namespace delete crash at call ${k} ${when}`;
        const verifier = makeEngine(inner);
        const read = await verifier.documents(NS).then(snapshot, (error) => (isNamespaceNotFound(error) ? "gone" : Promise.reject(error)));
        expect([intact, "gone"], at).toContain(read);
        if (acked) expect(read, at).toBe("gone");
        await expectNoDanglingReferences(verifier, inner);
        // A writer after the crash never resurrects a deleted namespace.
        if (read === "gone") expect(isNamespaceNotFound(await verifier.upsert(NS, [{ id: "x" }]).catch((e) => e)), at).toBe(true);
        const result = await makeEngine(inner).deleteNamespace(NS);
        expect(result.alreadyDeleted, at).toBe(read === "gone");
        const versions = await verifier.listVersions(NS);
        expect(versions, at).toEqual([versions[versions.length - 1]]);
        expect(await allKeys(inner, ROOT), at).toEqual(await allKeys(inner, `${ROOT}manifests/`));
        expect(await verifier.listNamespaces("acme", "search"), at).toEqual([]);
        expect((await verifier.createNamespace(NS)).docCount, at).toBe(0);
        covered++;
      }
    }
  });
});
