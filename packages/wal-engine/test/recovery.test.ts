/**
 * The recovery sweep: the reference sweep's scenarios, interrupted UPDATEs
 * at each state, corrupted inputs, ordering and concurrency, and two
 * handles sweeping the same WALs on memory and local-fs.
 */
import { FaultInjectingStorage, MemoryStorage, NotFoundError, type StorageProvider } from "@skerry/storage-providers";
import {
  type DeleteMutationState,
  encodeTombstoneSidecar,
  handleId,
  idToHex,
  rowId,
  walId,
} from "@skerry/wal-format";
import { emptyRecoveryReport, type WalEvent, WalStore } from "@skerry/wal-engine";
import { describe, expect, it } from "vitest";
import {
  auditCompleteWal,
  LEASE_MS,
  listKeys,
  localFsProvider,
  makeEngine,
  ManualClock,
  memoryProvider,
  newRowsFor,
  seededRowId,
  seedTable,
  segmentName,
  T0,
} from "./support/fixtures.ts";
import { twoHandlesSweepTheSameWals } from "./support/scenarios.ts";
import { TestTable } from "./support/test-table.ts";

function deleteDoc(id: bigint, extra: Partial<DeleteMutationState> = {}): DeleteMutationState {
  return {
    walId: walId(id),
    schemaVersion: 1,
    opKind: "DELETE",
    state: "INTENT",
    createdAt: T0,
    predicateRepr: "test",
    targetIds: [rowId(99n)],
    tombstoneProgress: [{ targetId: rowId(99n), outcome: "PENDING" }],
    ...extra,
  };
}

function engineOn(storage: StorageProvider, clock = new ManualClock(T0), events?: WalEvent[], seed = 5) {
  return makeEngine({ storage, table: new TestTable(storage), clock, seed, ...(events ? { events } : {}) });
}

describe("scanAndRecover", () => {
  it("a sweep of an empty store reports zero work", async () => {
    const report = await engineOn(new MemoryStorage()).scanAndRecover();
    expect(report).toEqual(emptyRecoveryReport());
  });

  it("an INTENT DELETE whose target is gone ends NOT_FOUND and COMPLETE", async () => {
    const storage = new MemoryStorage();
    const store = new WalStore(storage);
    await store.create(deleteDoc(1234n));
    const report = await engineOn(storage).scanAndRecover();
    expect(report).toEqual({
      ...emptyRecoveryReport(),
      scanned: 1,
      tombstoneOnlyCompleted: 1,
      targetsNotFound: 1,
    });
    const { doc } = await store.read(walId(1234n));
    expect(doc.state).toBe("COMPLETE");
    expect(doc.tombstoneProgress[0]?.outcome).toBe("NOT_FOUND");
  });

  it("COMPLETE documents are not touched: their etag is unchanged", async () => {
    const storage = new MemoryStorage();
    const store = new WalStore(storage);
    const etag = await store.create(
      deleteDoc(5678n, {
        state: "COMPLETE",
        tombstoneProgress: [{ targetId: rowId(99n), outcome: "TOMBSTONED", tombstonedInSuperfile: segmentName(0) }],
      }),
    );
    const report = await engineOn(storage).scanAndRecover();
    expect(report).toEqual({ ...emptyRecoveryReport(), scanned: 1, alreadyComplete: 1 });
    expect((await store.read(walId(5678n))).etag).toBe(etag);
  });

  it("a WAL leased by a live peer is skipped and left untouched", async () => {
    const storage = new MemoryStorage();
    const store = new WalStore(storage);
    const etag = await store.create(
      deleteDoc(9999n, { lease: { owner: handleId(0xdeaddeadn), acquiredAt: T0, expiresAt: T0 + 120_000 } }),
    );
    const report = await engineOn(storage).scanAndRecover();
    expect(report).toEqual({ ...emptyRecoveryReport(), scanned: 1, heldByPeer: 1 });
    expect((await store.read(walId(9999n))).etag).toBe(etag);
  });

  it("a WAL whose lease expired is preempted and completed", async () => {
    const storage = new MemoryStorage();
    const store = new WalStore(storage);
    await store.create(deleteDoc(77n, { lease: { owner: handleId(0xdeadn), acquiredAt: T0 - 2, expiresAt: T0 - 1 } }));
    const report = await engineOn(storage).scanAndRecover();
    expect(report.tombstoneOnlyCompleted).toBe(1);
    expect((await store.read(walId(77n))).doc.state).toBe("COMPLETE");
  });

  it("an UPDATE at INTENT runs the full pipeline; one at APPENDED runs the tombstone phase only", async () => {
    const storage = new MemoryStorage();
    const table = await seedTable(storage, "", 2, 5);
    const clock = new ManualClock(T0);
    const stager = makeEngine({ storage, table, clock, seed: 1 });
    const t1 = [seededRowId(0, 0)];
    const t2 = [seededRowId(1, 1)];
    const w1 = await stager.prepareUpdate({ targets: t1, newRows: newRowsFor(t1), predicateRepr: "a" });
    const w2 = await stager.prepareUpdate({ targets: t2, newRows: newRowsFor(t2), predicateRepr: "b" });
    // Drive w2 through its append phase only, as a crash after APPENDED would leave it.
    const faulty = new FaultInjectingStorage(storage);
    faulty.failWhen((c) => c.op === "get" && c.key.endsWith(".tombstones"), { crash: true });
    await expect(makeEngine({ storage: faulty, table: new TestTable(faulty), clock, seed: 2 }).resume(w2)).rejects.toThrow();
    const store = new WalStore(storage);
    expect((await store.read(w2)).doc.state).toBe("APPENDED");
    clock.advance(LEASE_MS);
    const report = await engineOn(storage, clock).scanAndRecover();
    expect(report).toMatchObject({ scanned: 2, fullPipelineCompleted: 1, tombstoneOnlyCompleted: 1, targetsTombstoned: 2 });
    for (const w of [w1, w2]) await auditCompleteWal(store, new TestTable(storage), (await store.read(w)).doc);
  });

  it("WALs are started oldest first", async () => {
    const storage = new MemoryStorage();
    const store = new WalStore(storage);
    for (const id of [30n, 10n, 20n]) await store.create(deleteDoc(id));
    const events: WalEvent[] = [];
    await engineOn(storage, undefined, events).scanAndRecover({ concurrency: 1 });
    const order = events.filter((e) => e.type === "wal-started").map((e) => BigInt(`0x${(e as { walId: string }).walId}`));
    expect(order).toEqual([10n, 20n, 30n]);
    const progress = events.filter((e) => e.type === "sweep-progress");
    expect(progress.map((e) => (e as { done: number }).done)).toEqual([1, 2, 3]);
  });

  it("a WAL that vanishes between the listing and the read is counted as vanished", async () => {
    const inner = new MemoryStorage();
    await new WalStore(inner).create(deleteDoc(1n));
    const faulty = new FaultInjectingStorage(inner);
    faulty.failWhen((c) => c.op === "get" && c.key.includes("/mutations/"), { error: (c) => new NotFoundError("gone", { key: c.key }) });
    const report = await engineOn(faulty).scanAndRecover();
    expect(report).toEqual({ ...emptyRecoveryReport(), scanned: 1, vanishedDuringScan: 1 });
  });

  it("runs at most `concurrency` WALs at once", async () => {
    const storage = new MemoryStorage();
    const store = new WalStore(storage);
    for (let i = 1n; i <= 12n; i++) await store.create(deleteDoc(i));
    const table = new TestTable(storage);
    let inFlight = 0;
    let peak = 0;
    const locate = table.locateRows.bind(table);
    table.locateRows = async (ids, options) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return locate(ids, options);
    };
    const engine = makeEngine({ storage, table, clock: new ManualClock(T0), seed: 9 });
    const report = await engine.scanAndRecover({ concurrency: 3 });
    expect(report.tombstoneOnlyCompleted).toBe(12);
    expect(peak).toBe(3);
  });
});

describe("corrupted inputs", () => {
  it("a schema-failing doc, a hash-mismatched sidecar and a truncated tombstone sidecar are reported; other WALs recover; nothing is deleted", async () => {
    const storage = new MemoryStorage();
    const table = await seedTable(storage, "", 3, 5);
    const clock = new ManualClock(T0);
    const stager = makeEngine({ storage, table, clock, seed: 1 });
    const store = new WalStore(storage);
    // 1. a doc that fails its schema
    const bad = walId(1n);
    await storage.put(store.layout.stateKey(bad), new TextEncoder().encode('{"schema_version":1,"op_kind":"MERGE"}'));
    // 2. an UPDATE whose sidecar no longer matches its hash
    const tU = [seededRowId(0, 0)];
    const wU = await stager.prepareUpdate({ targets: tU, newRows: newRowsFor(tU), predicateRepr: "u" });
    await storage.put(store.layout.arrowKey(wU), new TextEncoder().encode("tampered"));
    // 3. a DELETE whose target segment has a truncated tombstone sidecar
    const good = encodeTombstoneSidecar({ positions: [4] });
    await storage.put(store.layout.tombstonesKey(segmentName(1)), good.subarray(0, good.length - 5));
    const wT = await stager.prepareDelete({ targets: [seededRowId(1, 0)], predicateRepr: "t" });
    // 4. a healthy DELETE elsewhere
    const wOk = await stager.prepareDelete({ targets: [seededRowId(2, 2)], predicateRepr: "ok" });
    const keysBefore = await listKeys(storage);

    clock.advance(1);
    const report = await engineOn(storage, clock).scanAndRecover();
    expect(report.scanned).toBe(4);
    expect(report.tombstoneOnlyCompleted).toBe(1);
    // One code for "the bytes are wrong", each naming its object.
    expect(report.errors.map((e) => e.code)).toEqual(["Corrupt", "Corrupt", "Corrupt"]);
    const byWal = new Map(report.errors.map((e) => [e.walId, e.message]));
    expect(byWal.get("0".repeat(31) + "1")).toContain(store.layout.stateKey(bad));
    expect(byWal.get(idToHex(wU))).toContain(store.layout.arrowKey(wU));
    expect(byWal.get(idToHex(wT))).toContain(store.layout.tombstonesKey(segmentName(1)));
    await auditCompleteWal(store, new TestTable(storage), (await store.read(wOk)).doc);
    expect((await store.read(wU)).doc.state).toBe("INTENT");
    expect((await store.read(wT)).doc.state).toBe("INTENT");
    // Nothing deleted; failed WALs' leases were released for the next sweep.
    const keysAfter = await listKeys(storage);
    for (const key of keysBefore) expect(keysAfter).toContain(key);
    expect((await store.read(wU)).doc.lease).toBeUndefined();
    // And the engine refuses the same inputs to a direct caller with typed errors.
    await expect(engineOn(storage, clock).resume(wU)).rejects.toMatchObject({ code: "Corrupt", key: store.layout.arrowKey(wU) });
  });
});

for (const provider of [memoryProvider, localFsProvider]) {
  describe(`two handles on ${provider.name}`, () => {
    it("two handles sweeping the same WALs at once complete every WAL and corrupt nothing", async () => {
      const { storage, cleanup } = await provider.create();
      try {
        const { a, b } = await twoHandlesSweepTheSameWals(storage, {
          deletes: 16,
          updates: 8,
          segments: 4,
          rows: 64,
          concurrency: 4,
        });
        expect(a.heldByPeer + b.heldByPeer + a.casLost + b.casLost + a.alreadyComplete + b.alreadyComplete).toBe(24);
      } finally {
        await cleanup();
      }
    });
  });
}
