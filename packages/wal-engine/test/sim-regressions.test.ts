/**
 * Bugs found by the deterministic simulation (packages/simulation,
 * docs/testing.md), reproduced here without the simulator.
 *
 * SIM-2 (seed 61, memory): a predicate mutation (patchByFilter, an UPDATE)
 * kept re-locating targets a compaction had sealed for longer than its
 * lease; another handle's recovery took the expired lease over and drove
 * the WAL to COMPLETE; the original driver, resuming it after the
 * compaction, failed with `InvalidPreState: WAL ... is already COMPLETE`
 * although its mutation had been applied. Fixed twice over: `resume` of a
 * WAL a peer completed returns that WAL's result, and a driver waiting on a
 * sealed segment heartbeats its lease so a live driver is not taken over.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { WalStore } from "@skerry/wal-engine";
import { describe, expect, it } from "vitest";
import { LEASE_MS, makeEngine, ManualClock, newRowsFor, seededRowId, seedTable, segmentName, T0 } from "./support/fixtures.ts";

const SEAL = { compactionId: "00000000-0000-4000-8000-0000000000c1", sealedAt: T0 };
const COMPACTED = "00000000-0000-4000-8000-0000000000c2";

async function setup() {
  const storage = new MemoryStorage();
  const table = await seedTable(storage, "ns", 2, 5);
  const store = new WalStore(storage, { root: "ns" });
  const clock = new ManualClock(T0);
  // A compaction holds segment 0: its sidecar is sealed.
  await store.putTombstones(segmentName(0), null, { positions: [], seal: SEAL });
  return { storage, table, store, clock };
}

describe("SIM-2 (seed 61): a WAL completed by a peer's recovery", () => {
  it("seed 61: resume of a WAL a peer completed returns its result, not InvalidPreState", async () => {
    const { storage, table, store, clock } = await setup();
    const a = makeEngine({ storage, table, clock, seed: 1, root: "ns" });
    const targets = [seededRowId(0, 2), seededRowId(1, 3)];
    // The driver: INTENT with its lease, then re-locate rounds on the sealed segment until it gives up.
    const walId = await a.prepareUpdate({ targets, newRows: newRowsFor(targets), predicateRepr: "holder = h0" }, { holdLease: true });
    await expect(a.resume(walId)).rejects.toMatchObject({ code: "SegmentSealed" });
    // The compaction commits; the driver's lease lapses; a peer's recovery takes the WAL over and completes it.
    await table.compact(segmentName(0), COMPACTED);
    clock.advance(LEASE_MS + 1);
    const b = makeEngine({ storage, table, clock, seed: 2, root: "ns" });
    const report = await b.scanAndRecover();
    expect(report.errors).toEqual([]);
    expect((await store.read(walId)).doc.state).toBe("COMPLETE");
    // The driver resumes after finishing the compaction (predicate-mutation's `drive`): the peer's outcome.
    const result = await a.resume(walId);
    const { doc } = await store.read(walId);
    expect(result).toMatchObject({ walId, opKind: "UPDATE", tombstoned: 2, notFound: 0 });
    expect(result.segmentId).toBe(doc.opKind === "UPDATE" ? doc.preallocatedSuperfileId : undefined);
    expect(result.newRowIds).toEqual(doc.opKind === "UPDATE" ? doc.mintedIdSpans : undefined);
  });

  it("a driver waiting on a sealed segment longer than its lease heartbeats it: a peer's recovery leaves it alone", async () => {
    const { storage, table, store, clock } = await setup();
    const b = makeEngine({ storage, table, clock, seed: 2, root: "ns" });
    let rounds = 0;
    let peerReport: Awaited<ReturnType<typeof b.scanAndRecover>> | undefined;
    const a = makeEngine({
      storage,
      table,
      clock,
      seed: 1,
      root: "ns",
      extra: {
        relocatePolicy: { maxAttempts: 20, baseDelayMs: 1, maxDelayMs: 2 },
        // Each re-locate backoff lasts a third of a lease; a peer sweeps after 2 leases; the compaction commits after 3.
        sleep: async () => {
          rounds++;
          clock.advance(LEASE_MS / 3);
          if (rounds === 6) peerReport = await b.scanAndRecover();
          if (rounds === 9) await table.compact(segmentName(0), COMPACTED);
        },
      },
    });
    const targets = [seededRowId(0, 1)];
    const result = await a.update({ targets, newRows: newRowsFor(targets), predicateRepr: "x" });
    expect(rounds).toBe(9);
    expect(peerReport).toMatchObject({ scanned: 1, heldByPeer: 1, errors: [] });
    expect(result).toMatchObject({ tombstoned: 1, notFound: 0 });
    const { doc } = await store.read(result.walId);
    expect(doc.state).toBe("COMPLETE");
    expect(doc.tombstoneProgress[0]?.tombstonedInSuperfile).toBe(COMPACTED);
  });
});
