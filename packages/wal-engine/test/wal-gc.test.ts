/**
 * WAL GC: COMPLETE docs and their sidecars go after the grace period;
 * documents that are not COMPLETE are never touched; orphan sidecars go
 * after the grace period; unreadable docs are reported and kept.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { walId } from "@skerry/wal-format";
import { type WalEvent, WalStore } from "@skerry/wal-engine";
import { describe, expect, it } from "vitest";
import { listKeys, makeEngine, ManualClock, newRowsFor, seededRowId, seedTable, T0 } from "./support/fixtures.ts";

const DAY = 86_400_000;

async function world() {
  const storage = new MemoryStorage();
  const table = await seedTable(storage, "", 2, 6);
  const clock = new ManualClock(T0);
  const events: WalEvent[] = [];
  const engine = makeEngine({ storage, table, clock, seed: 3, events });
  return { storage, table, clock, engine, events, store: new WalStore(storage) };
}

const future = () => Math.max(Date.now(), T0) + DAY;

describe("collectGarbage", () => {
  it("deletes COMPLETE docs and their arrow sidecars once older than the grace period", async () => {
    const { engine, clock, store, storage, events } = await world();
    const t = [seededRowId(0, 1)];
    const u = await engine.update({ targets: t, newRows: newRowsFor(t), predicateRepr: "u" });
    const d = await engine.delete({ targets: [seededRowId(1, 1)], predicateRepr: "d" });
    clock.t = future();
    const report = await engine.collectGarbage({ graceMs: 60_000 });
    expect(report).toMatchObject({ scanned: 2, deletedStates: 2, deletedArrows: 1, keptIncomplete: 0, errors: [] });
    expect(await store.tryRead(u.walId)).toBeNull();
    expect(await store.tryRead(d.walId)).toBeNull();
    expect((await listKeys(storage)).filter((k) => k.startsWith("wal/"))).toEqual([]);
    expect(events.filter((e) => e.type === "gc-deleted")).toHaveLength(3);
  });

  it("keeps COMPLETE docs younger than the grace period", async () => {
    const { engine, clock, store } = await world();
    const d = await engine.delete({ targets: [seededRowId(1, 1)], predicateRepr: "d" });
    clock.t = future();
    const report = await engine.collectGarbage({ graceMs: 10 * DAY });
    expect(report).toMatchObject({ scanned: 1, deletedStates: 0, keptWithinGrace: 1 });
    expect((await store.read(d.walId)).doc.state).toBe("COMPLETE");
  });

  it("never touches a document that is not COMPLETE, nor its sidecar", async () => {
    const { engine, clock, storage } = await world();
    const t = [seededRowId(0, 2)];
    await engine.prepareUpdate({ targets: t, newRows: newRowsFor(t), predicateRepr: "u" });
    await engine.prepareDelete({ targets: [seededRowId(1, 2)], predicateRepr: "d" });
    const before = await listKeys(storage);
    const etags = await Promise.all(before.map(async (k) => (await storage.head(k))?.etag));
    clock.t = future();
    const report = await engine.collectGarbage({ graceMs: 0 });
    expect(report).toMatchObject({ scanned: 2, keptIncomplete: 2, deletedStates: 0, deletedArrows: 0 });
    expect(await listKeys(storage)).toEqual(before);
    expect(await Promise.all(before.map(async (k) => (await storage.head(k))?.etag))).toEqual(etags);
  });

  it("deletes an orphan arrow sidecar once older than the grace period, and keeps a young one", async () => {
    const { engine, clock, store } = await world();
    await store.putArrow(walId(42n), new TextEncoder().encode("orphan"));
    clock.t = Date.now() - 1;
    expect(await engine.collectGarbage({ graceMs: 60_000 })).toMatchObject({ orphanArrowsDeleted: 0, keptWithinGrace: 1 });
    clock.t = future();
    expect(await engine.collectGarbage({ graceMs: 60_000 })).toMatchObject({ orphanArrowsDeleted: 1 });
    await expect(store.getArrow(walId(42n))).rejects.toMatchObject({ code: "NotFound" });
  });

  it("an unreadable doc is reported and kept", async () => {
    const { engine, clock, store, storage } = await world();
    const key = store.layout.stateKey(walId(7n));
    await storage.put(key, new TextEncoder().encode("{not json"));
    clock.t = future();
    const report = await engine.collectGarbage({ graceMs: 0 });
    expect(report.errors).toEqual([expect.objectContaining({ code: "Corrupt", walId: "0".repeat(31) + "7", message: expect.stringContaining(key) })]);
    expect(await storage.head(key)).not.toBeNull();
  });
});
