/**
 * Scenarios shared by the provider-specific test files.
 */
import type { StorageProvider } from "@skerry/storage-providers";
import type { RowId, WalId } from "@skerry/wal-format";
import { type RecoveryReport, WalStore } from "@skerry/wal-engine";
import { expect } from "vitest";
import { auditCompleteWal, makeEngine, ManualClock, newRowsFor, seededRowId, seedTable, T0 } from "./fixtures.ts";
import { TestTable } from "./test-table.ts";

/**
 * Stages `deletes` DELETE and `updates` UPDATE WALs at INTENT (no lease),
 * then lets two handles sweep them at once; checks every WAL completed,
 * each target's bit is set exactly where its doc says, no stray bits, and
 * each UPDATE segment is committed once.
 */
export async function twoHandlesSweepTheSameWals(
  storage: StorageProvider,
  options: { deletes: number; updates: number; segments: number; rows: number; concurrency: number },
): Promise<{ a: RecoveryReport; b: RecoveryReport }> {
  const root = "sweep";
  const table = await seedTable(storage, root, options.segments, options.rows);
  const clock = new ManualClock(T0);
  const stager = makeEngine({ storage, table, clock, seed: 10, root });
  const walIds: WalId[] = [];
  const allTargets = new Set<RowId>();
  const total = options.deletes + options.updates;
  for (let i = 0; i < total; i++) {
    // Each WAL hits two segments; no target is shared between WALs.
    const targets = [
      seededRowId(i % options.segments, (2 * i) % options.rows),
      seededRowId((i + 1) % options.segments, (2 * i + 1) % options.rows),
    ];
    for (const t of targets) allTargets.add(t);
    if (i < options.deletes) {
      walIds.push(await stager.prepareDelete({ targets, predicateRepr: `delete ${i}` }));
    } else {
      walIds.push(await stager.prepareUpdate({ targets, newRows: newRowsFor(targets, `u${i}`), predicateRepr: `update ${i}` }));
    }
  }
  clock.advance(1);
  const a = makeEngine({ storage, table: new TestTable(storage, root), clock, seed: 21, root });
  const b = makeEngine({ storage, table: new TestTable(storage, root), clock, seed: 22, root });
  const [ra, rb] = await Promise.all([
    a.scanAndRecover({ concurrency: options.concurrency }),
    b.scanAndRecover({ concurrency: options.concurrency }),
  ]);
  for (const report of [ra, rb]) {
    expect(report.errors).toEqual([]);
    expect(report.scanned).toBe(total);
  }
  const completed =
    ra.fullPipelineCompleted + ra.tombstoneOnlyCompleted + rb.fullPipelineCompleted + rb.tombstoneOnlyCompleted;
  expect(completed).toBe(total);
  expect(ra.fullPipelineCompleted + rb.fullPipelineCompleted).toBe(options.updates);
  expect(ra.targetsTombstoned + rb.targetsTombstoned).toBe(allTargets.size);

  const store = new WalStore(storage, { root });
  const auditTable = new TestTable(storage, root);
  for (const walId of walIds) await auditCompleteWal(store, auditTable, (await store.read(walId)).doc);
  let bits = 0;
  for (const segmentId of await store.listTombstoneIds()) {
    bits += (await store.getTombstones(segmentId))?.sidecar.positions.length ?? 0;
  }
  expect(bits).toBe(allTargets.size);
  const manifest = await auditTable.readManifest();
  expect(new Set(manifest.segments.map((s) => s.id)).size).toBe(manifest.segments.length);
  expect(manifest.segments).toHaveLength(options.segments + options.updates);
  return { a: ra, b: rb };
}
