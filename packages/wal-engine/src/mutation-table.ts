/**
 * MutationTable: what the pipeline needs from the table it mutates. The
 * namespace engine implements it over its manifests and segments; the tests
 * implement a small real one over a StorageProvider.
 *
 * Contract, and why the pipeline depends on each part:
 * - `locateRows` resolves row ids against the table's latest manifest. It
 *   reports a row whose position is already tombstoned too (the pipeline
 *   then finds the bit set and records the target TOMBSTONED, which is what
 *   makes a replay after a crash between the sidecar write and the state-doc
 *   write end the same as a run without the crash). It may say that a
 *   segment's tombstone sidecar has been written (`sidecarWritten`, e.g.
 *   because the table's manifest records it as published): the pipeline
 *   creates sidecars lazily, so without that it cannot tell a sidecar never
 *   written from one that was lost, and would recreate a lost one with only
 *   the new bits (every row the lost one hid would come back).
 * - `writeSegment` stores exactly the given bytes under the segment id and
 *   is idempotent for identical bytes: recovery writes the same bytes again.
 * - `commitSegment` adds the segment to the manifest and is idempotent: a
 *   segment committed before, even one a compaction has since folded away,
 *   must not be committed again (keep the ids of committed segments, or the
 *   WAL ids they came from, in the manifest), or a late replay would
 *   resurrect rows.
 * Errors thrown by an implementation reach the caller (or the recovery
 * report) unchanged; wal-engine or storage-providers typed errors are best.
 */
import type { RowId, WalId } from "@skerry/wal-format";

/** Where a row lives: its segment and its position (row index) inside it. */
export interface RowLocation {
  segmentId: string;
  position: number;
  /**
   * True when the segment's tombstone sidecar is known to exist (it was written and published): an absent
   * one is then lost, and the tombstone phase fails with `WalCorruptError` naming it instead of creating it.
   */
  sidecarWritten?: boolean | undefined;
}

export interface SegmentCommitInfo {
  walId: WalId;
  rowCount: number;
  /** BLAKE3 hex of the segment bytes. */
  contentHash: string;
}

export interface MutationTable {
  /** Current location of each row id in the table's latest manifest (absent = not found). */
  locateRows(rowIds: readonly RowId[], options?: { signal?: AbortSignal | undefined }): Promise<Map<RowId, RowLocation>>;
  /** Writes a segment object with exactly these bytes; idempotent for identical bytes. */
  writeSegment(segmentId: string, bytes: Uint8Array, options?: { signal?: AbortSignal | undefined }): Promise<void>;
  /** Commits the written segment into the manifest; idempotent: a segment already committed is a no-op. */
  commitSegment(segmentId: string, info: SegmentCommitInfo, options?: { signal?: AbortSignal | undefined }): Promise<void>;
}
