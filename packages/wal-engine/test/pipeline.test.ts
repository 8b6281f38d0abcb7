/**
 * The UPDATE and DELETE pipelines through WalEngine against a real test
 * table: state transitions, bit-identical segments, per-segment-group
 * writes, NOT_FOUND, the target cap, sealed segments and events.
 */
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { contentHash, decodeRowBatch, flattenIdSpans, hasPosition, idToHex, rowId } from "@skerry/wal-format";
import {
  isSegmentSealed,
  isTargetCapExceeded,
  isWalInvalidInput,
  type WalEvent,
  WalStore,
} from "@skerry/wal-engine";
import { describe, expect, it } from "vitest";
import {
  auditCompleteWal,
  listKeys,
  makeEngine,
  ManualClock,
  newRowsFor,
  seededRowId,
  seedTable,
  segmentName,
  T0,
} from "./support/fixtures.ts";
import { TestTable } from "./support/test-table.ts";

async function setup(segments = 3, rows = 10) {
  const inner = new MemoryStorage();
  const table = await seedTable(inner, "ns", segments, rows);
  const storage = new FaultInjectingStorage(inner);
  const clock = new ManualClock(T0);
  const events: WalEvent[] = [];
  const engine = makeEngine({ storage, table: new TestTable(storage, "ns"), clock, seed: 1, root: "ns", events });
  return { inner, storage, table, clock, events, engine, store: new WalStore(inner, { root: "ns" }) };
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("DELETE pipeline", () => {
  it("tombstones every target and ends COMPLETE without a lease", async () => {
    const { engine, store, table } = await setup();
    const targets = [seededRowId(0, 1), seededRowId(0, 4), seededRowId(2, 9)];
    const result = await engine.delete({ targets, predicateRepr: "x in (...)" });
    expect(result).toMatchObject({ opKind: "DELETE", tombstoned: 3, notFound: 0 });
    const { doc } = await store.read(result.walId);
    await auditCompleteWal(store, table, doc);
    expect([...((await store.getTombstones(segmentName(0)))?.sidecar.positions ?? [])]).toEqual([1, 4]);
    expect([...((await store.getTombstones(segmentName(2)))?.sidecar.positions ?? [])]).toEqual([9]);
    expect(await store.getTombstones(segmentName(1))).toBeNull();
  });

  it("writes one sidecar CAS and one state-doc CAS per touched segment, not per row", async () => {
    const { engine, storage } = await setup();
    const targets = [0, 1, 2, 3, 4].flatMap((i) => [seededRowId(0, i), seededRowId(1, i)]);
    const before = storage.callCount;
    await engine.delete({ targets, predicateRepr: "many" });
    const puts = storage.calls.slice(before).filter((c) => c.op === "put");
    const docPuts = puts.filter((c) => c.key.endsWith(".json") && c.key.includes("/wal/"));
    const sidecarPuts = puts.filter((c) => c.key.endsWith(".tombstones"));
    // INTENT create, group 1 CAS, group 2 CAS (which also writes COMPLETE).
    expect(docPuts).toHaveLength(3);
    expect(sidecarPuts).toHaveLength(2);
  });

  it("targets no segment holds end NOT_FOUND; duplicates are recorded once", async () => {
    const { engine, store } = await setup();
    const missing = rowId(999_999_999n);
    const result = await engine.delete({ targets: [missing, seededRowId(1, 0), missing], predicateRepr: "x" });
    expect(result).toMatchObject({ tombstoned: 1, notFound: 1 });
    const { doc } = await store.read(result.walId);
    expect(doc.targetIds).toEqual([missing, seededRowId(1, 0)]);
    expect(doc.tombstoneProgress.map((e) => e.outcome)).toEqual(["NOT_FOUND", "TOMBSTONED"]);
  });

  it("a target whose bit is already set is recorded TOMBSTONED without rewriting the sidecar", async () => {
    const { engine, storage, store } = await setup();
    await store.putTombstones(segmentName(1), null, { positions: [3] });
    const before = storage.callCount;
    const result = await engine.delete({ targets: [seededRowId(1, 3)], predicateRepr: "x" });
    expect(result.tombstoned).toBe(1);
    expect(storage.calls.slice(before).filter((c) => c.op === "put" && c.key.endsWith(".tombstones"))).toHaveLength(0);
  });

  it("more targets than the cap fail with TargetCapExceeded before anything is written", async () => {
    const inner = new MemoryStorage();
    const table = new TestTable(inner, "");
    const engine = makeEngine({ storage: inner, table, clock: new ManualClock(T0), seed: 2, extra: { maxTargets: 5 } });
    const targets = Array.from({ length: 6 }, (_, i) => rowId(BigInt(i + 1)));
    const error = await errorOf(engine.delete({ targets, predicateRepr: "x" }));
    expect(isTargetCapExceeded(error)).toBe(true);
    expect((error as { count: number; cap: number }).cap).toBe(5);
    expect(isTargetCapExceeded(await errorOf(engine.update({ targets: [], newRows: newRowsFor(targets), predicateRepr: "x" })))).toBe(true);
    expect(await listKeys(inner)).toEqual([]);
  });
});

describe("UPDATE pipeline", () => {
  it("walks INTENT -> APPENDED -> COMPLETE and writes the segment bit-identical to the sidecar", async () => {
    const { engine, store, table, inner, events } = await setup();
    const targets = [seededRowId(0, 2), seededRowId(1, 5)];
    const result = await engine.update({ targets, newRows: newRowsFor(targets), predicateRepr: "x = 1" });
    expect(result).toMatchObject({ opKind: "UPDATE", tombstoned: 2, notFound: 0 });
    const { doc } = await store.read(result.walId);
    await auditCompleteWal(store, table, doc);
    if (doc.opKind !== "UPDATE") throw new Error("expected UPDATE");
    const sidecar = await store.getArrow(result.walId, doc.newRowContentHash);
    const segment = (await inner.get(table.segmentKey(doc.preallocatedSuperfileId))).bytes;
    expect(segment).toEqual(sidecar);
    expect(contentHash(segment)).toBe(doc.newRowContentHash);
    const rows = decodeRowBatch(segment);
    expect(rows.map((r) => r.rowId)).toEqual(flattenIdSpans(doc.mintedIdSpans));
    expect(rows.map((r) => r.id)).toEqual(newRowsFor(targets).map((r) => r.id));
    expect(result.newRowIds).toEqual(doc.mintedIdSpans);
    const phases = events.filter((e) => e.type === "phase-completed").map((e) => (e as { phase: string }).phase);
    expect(phases).toEqual(["intent", "append", "tombstone"]);
    expect(events.at(-1)).toMatchObject({ type: "wal-completed", walId: idToHex(result.walId), byThisHandle: true });
  });

  it("the new rows are locatable in the table and the replaced rows are tombstoned", async () => {
    const { engine, store, table } = await setup();
    const targets = [seededRowId(2, 0)];
    const result = await engine.update({ targets, newRows: newRowsFor(targets), predicateRepr: "x" });
    const newIds = flattenIdSpans(result.newRowIds ?? []);
    const located = await table.locateRows([...newIds, ...targets]);
    expect(located.get(newIds[0] as never)).toEqual({ segmentId: result.segmentId, position: 0 });
    const old = located.get(targets[0] as never);
    const sidecar = await store.getTombstones(old?.segmentId ?? "");
    expect(hasPosition(sidecar?.sidecar.positions ?? new Uint32Array(), old?.position ?? -1)).toBe(true);
  });

  it("rows the row-batch encoder refuses fail with InvalidInput before anything is written", async () => {
    const inner = new MemoryStorage();
    const engine = makeEngine({ storage: inner, table: new TestTable(inner), clock: new ManualClock(T0), seed: 3 });
    const newRows = [{ id: "a", vector: [1, 2] }, { id: "b", vector: [1, 2, 3] }];
    expect(isWalInvalidInput(await errorOf(engine.update({ targets: [], newRows, predicateRepr: "x" })))).toBe(true);
    expect(await listKeys(inner)).toEqual([]);
  });
});

describe("sealed segments", () => {
  it("targets in a sealed segment are re-located after the compaction commits and tombstoned there", async () => {
    const { engine, store, table, events } = await setup(2, 5);
    const sealedAt = store.layout.tombstonesKey(segmentName(0));
    await store.putTombstones(segmentName(0), null, {
      positions: [],
      seal: { compactionId: "00000000-0000-4000-8000-0000000000c1", sealedAt: T0 },
    });
    const compacted = "00000000-0000-4000-8000-0000000000c2";
    let compactedOnce = false;
    const originalLocate = table.locateRows.bind(table);
    // The "compactor" finishes after the pipeline first sees the seal.
    engine.table.locateRows = async (ids, options) => {
      if (events.some((e) => e.type === "segment-sealed") && !compactedOnce) {
        compactedOnce = true;
        await table.compact(segmentName(0), compacted);
      }
      return originalLocate(ids, options);
    };
    const target = seededRowId(0, 3);
    const result = await engine.delete({ targets: [target], predicateRepr: "x" });
    expect(result.tombstoned).toBe(1);
    const { doc } = await store.read(result.walId);
    expect(doc.tombstoneProgress[0]?.tombstonedInSuperfile).toBe(compacted);
    expect([...((await store.getTombstones(compacted))?.sidecar.positions ?? [])]).toEqual([3]);
    expect(sealedAt).toContain(segmentName(0));
  });

  it("a segment that stays sealed fails with SegmentSealed and leaves the WAL for recovery", async () => {
    const { engine, store } = await setup(1, 3);
    await store.putTombstones(segmentName(0), null, {
      positions: [],
      seal: { compactionId: "00000000-0000-4000-8000-0000000000c1", sealedAt: T0 },
    });
    const error = await errorOf(engine.delete({ targets: [seededRowId(0, 1)], predicateRepr: "x" }));
    expect(isSegmentSealed(error)).toBe(true);
    const [walId] = await store.listWalIds();
    const { doc } = await store.read(walId as never);
    expect(doc.state).toBe("INTENT");
    expect(doc.tombstoneProgress[0]?.outcome).toBe("PENDING");
  });
});
