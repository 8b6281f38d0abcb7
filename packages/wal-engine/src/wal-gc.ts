/**
 * collectWalGarbage: removes finished WAL objects after a grace period.
 *
 * Rules:
 * - A state doc is deleted only when it is COMPLETE (terminal: no state
 *   leaves COMPLETE, so the read-then-delete race is harmless) and its age,
 *   measured from the later of its `created_at` and its last write (the
 *   store's `lastModified`, i.e. when it became COMPLETE), is at least
 *   `graceMs`. Its `.arrow` sidecar is deleted first, then the doc, so a
 *   crash in between leaves a COMPLETE doc without sidecar (recovery skips
 *   COMPLETE docs), never an orphan sidecar.
 * - A doc that is not COMPLETE is never touched, nor its sidecar.
 * - An orphan `.arrow` (no state doc: the writer crashed between the sidecar
 *   and the INTENT doc) is deleted once older than `graceMs` and after a
 *   fresh check that no doc appeared. The grace period must exceed the time
 *   a writer takes between those two writes.
 * - A doc that cannot be read (schema error, storage error) is reported and
 *   kept.
 * The grace period also keeps completed docs around for inspection, and
 * covers the skew between the injected clock and the store's clock.
 *
 * Errors thrown: only a failure to list; per-object failures are reported.
 */
import { idToHex, type WalId } from "@skerry/wal-format";
import { withStorageRetry } from "./cas-object.ts";
import { runBounded } from "./bounded-pool.ts";
import type { WalEventListener } from "./events.ts";
import { isWalEngineError } from "./errors.ts";
import type { WalObject, WalStore } from "./wal-store.ts";
import type { Clock } from "@skerry/wal-format";

export interface WalGcOptions {
  /** Minimum age before a COMPLETE doc or an orphan sidecar is deleted. */
  graceMs: number;
  /** Objects examined at once; default 8. */
  concurrency?: number;
  signal?: AbortSignal | undefined;
}

export interface WalGcReport {
  /** State docs examined. */
  scanned: number;
  /** COMPLETE docs deleted. */
  deletedStates: number;
  /** Sidecars of COMPLETE docs deleted. */
  deletedArrows: number;
  /** Sidecars without a doc deleted. */
  orphanArrowsDeleted: number;
  /** Docs kept because they are not COMPLETE. */
  keptIncomplete: number;
  /** COMPLETE docs or orphan sidecars kept because they are younger than the grace period. */
  keptWithinGrace: number;
  errors: { walId: string; code: string; message: string }[];
}

interface Entry {
  walId: WalId;
  state?: WalObject;
  arrow?: WalObject;
}

export async function collectWalGarbage(
  store: WalStore,
  clock: Clock,
  emit: WalEventListener,
  options: WalGcOptions,
): Promise<WalGcReport> {
  const started = clock.now();
  const report: WalGcReport = {
    scanned: 0,
    deletedStates: 0,
    deletedArrows: 0,
    orphanArrowsDeleted: 0,
    keptIncomplete: 0,
    keptWithinGrace: 0,
    errors: [],
  };
  const call = { signal: options.signal };
  const byWal = new Map<WalId, Entry>();
  for (const object of await store.listObjects(call)) {
    let entry = byWal.get(object.walId);
    if (entry === undefined) byWal.set(object.walId, (entry = { walId: object.walId }));
    entry[object.kind] = object;
  }
  const now = clock.now();
  await runBounded([...byWal.values()], options.concurrency ?? 8, async (entry) => {
    try {
      if (entry.state !== undefined) {
        report.scanned++;
        const found = await store.tryRead(entry.walId, call);
        if (found === null) return;
        const doc = found.value;
        if (doc.state !== "COMPLETE") {
          report.keptIncomplete++;
          return;
        }
        const age = now - Math.max(doc.createdAt, entry.state.meta.lastModified.getTime());
        if (age < options.graceMs) {
          report.keptWithinGrace++;
          return;
        }
        if (entry.arrow !== undefined || doc.opKind === "UPDATE") {
          await store.deleteArrow(entry.walId, call);
          if (entry.arrow !== undefined) {
            report.deletedArrows++;
            emit({ type: "gc-deleted", key: store.layout.arrowKey(entry.walId), kind: "arrow" });
          }
        }
        await store.deleteState(entry.walId, call);
        report.deletedStates++;
        emit({ type: "gc-deleted", key: store.layout.stateKey(entry.walId), kind: "state" });
        return;
      }
      const arrow = entry.arrow;
      if (arrow === undefined) return;
      if (now - arrow.meta.lastModified.getTime() < options.graceMs) {
        report.keptWithinGrace++;
        return;
      }
      const stateKey = store.layout.stateKey(entry.walId);
      const doc = await withStorageRetry(stateKey, "head", { signal: options.signal }, () =>
        store.storage.head(stateKey, call),
      );
      if (doc !== null) return;
      await store.deleteArrow(entry.walId, call);
      report.orphanArrowsDeleted++;
      emit({ type: "gc-deleted", key: arrow.meta.key, kind: "orphan-arrow" });
    } catch (error) {
      report.errors.push({
        walId: idToHex(entry.walId),
        code: isWalEngineError(error) ? error.code : "Internal",
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
  emit({
    type: "gc-completed",
    durationMs: clock.now() - started,
    deleted: report.deletedStates + report.deletedArrows + report.orphanArrowsDeleted,
    errors: report.errors.length,
  });
  return report;
}
