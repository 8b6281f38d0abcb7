/**
 * Crash at every step: each UPDATE and DELETE is run with the k-th storage
 * call failing and the process "dying" there (every later call fails too),
 * for every k the fault-free run makes, both before the call takes effect
 * and after (the write landed, the answer was lost). A fresh handle then
 * runs recovery and WAL GC, and the store must equal, byte for byte, the
 * store a fault-free run leaves behind after GC: same manifest, same new
 * segment bytes, same tombstone sidecars, no leftover objects. When the
 * crash came before the INTENT doc was durable, the mutation never happened
 * and the store must equal the untouched table instead.
 */
import { FaultInjectingStorage, type StorageProvider } from "@skerry/storage-providers";
import { type RowId, rowId } from "@skerry/wal-format";
import { WalStore } from "@skerry/wal-engine";
import { afterAll, describe, expect, it } from "vitest";
import {
  LEASE_MS,
  localFsProvider,
  memoryProvider,
  type ProviderTarget,
  makeEngine,   ManualClock,
  newRowsFor,
  seededRowId,
  seedTable,
  T0,
} from "./support/fixtures.ts";
import { TestTable } from "./support/test-table.ts";

const ROOT = "acme/proj/ns";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function pristineOn(provider: ProviderTarget): Promise<StorageProvider> {
  const { storage, cleanup } = await provider.create();
  cleanups.push(cleanup);
  await seedTable(storage, ROOT, 3, 8);
  return storage;
}

async function snapshot(storage: StorageProvider): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const meta of storage.list("")) {
    out.set(meta.key, Buffer.from((await storage.get(meta.key)).bytes).toString("base64"));
  }
  return out;
}

type Kind = "UPDATE" | "DELETE";
const deleteTargets: RowId[] = [seededRowId(0, 1), seededRowId(0, 5), seededRowId(2, 3), rowId(123_456_789n)];
const updateTargets: RowId[] = [seededRowId(1, 2), seededRowId(2, 7), seededRowId(1, 6)];

function mutate(kind: Kind, storage: StorageProvider) {
  const engine = makeEngine({ storage, table: new TestTable(storage, ROOT), clock: new ManualClock(T0), seed: 7, root: ROOT });
  return kind === "DELETE"
    ? engine.delete({ targets: deleteTargets, predicateRepr: "crash test delete" })
    : engine.update({ targets: updateTargets, newRows: newRowsFor(updateTargets), predicateRepr: "crash test update" });
}

/** Recovery and GC by a fresh handle after the lease expired; returns the sweep report. */
async function recoverAndCollect(storage: StorageProvider) {
  const clock = new ManualClock(T0 + LEASE_MS + 1);
  const engine = makeEngine({ storage, table: new TestTable(storage, ROOT), clock, seed: 99, root: ROOT });
  const report = await engine.scanAndRecover();
  clock.t = Math.max(Date.now(), T0) + 86_400_000;
  const gc = await engine.collectGarbage({ graceMs: 0 });
  return { report, gc };
}

async function crashSweep(provider: ProviderTarget, kind: Kind): Promise<number> {
  const pristine = () => pristineOn(provider);
  // The fault-free run: its call count bounds k, its end state is the reference.
  const reference = await pristine();
  const counting = new FaultInjectingStorage(reference);
  const expected = await mutate(kind, counting);
  const calls = counting.callCount;
  await recoverAndCollect(reference);
  const done = await snapshot(reference);
  const untouched = await snapshot(await pristine());
  expect(done).not.toEqual(untouched);

  for (const when of ["before", "after"] as const) {
    for (let k = 1; k <= calls; k++) {
      const inner = await pristine();
      const faulty = new FaultInjectingStorage(inner).failCall(k, { when, crash: true });
      const outcome = await mutate(kind, faulty).then(
        () => "finished",
        () => "crashed",
      );
      // An "after" fault cannot fire on a call that failed by itself (a get of
      // an absent sidecar answers NotFound): that run simply finishes.
      expect(outcome, `${kind} ${when} k=${k}`).toBe(faulty.crashed ? "crashed" : "finished");
      const walIds = await new WalStore(inner, { root: ROOT }).listWalIds();
      const durable = walIds.length === 1;
      if (durable) expect(walIds[0]).toBe(expected.walId);
      const { report, gc } = await recoverAndCollect(inner);
      expect(report.errors, `${kind} ${when} k=${k}`).toEqual([]);
      expect(gc.errors).toEqual([]);
      const after = await snapshot(inner);
      // Same objects with the same bytes as the fault-free run (or as the
      // untouched table when the INTENT doc never became durable).
      expect(after, `${kind} ${when} k=${k} (durable: ${durable})`).toEqual(durable ? done : untouched);
    }
  }
  return calls;
}

for (const provider of [memoryProvider, localFsProvider]) {
  describe(`crash at every step on ${provider.name}`, () => {
    it("an UPDATE or DELETE crashed at any storage call ends, after recovery and GC, exactly as a fault-free run", async () => {
      const update = await crashSweep(provider, "UPDATE");
      const del = await crashSweep(provider, "DELETE");
      console.log(
        `[crash-points] ${provider.name}: UPDATE: 2 x ${update} points, DELETE: 2 x ${del} points (${2 * (update + del)} crash points covered)`,
      );
      expect(update).toBeGreaterThan(8);
      expect(del).toBeGreaterThan(5);
    });
  });
}
