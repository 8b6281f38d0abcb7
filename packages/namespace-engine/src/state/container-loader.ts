/**
 * Reading one row container for a fold: its rows as log entries plus the
 * positions its tombstone sidecar hides.
 *
 * - LOG_BATCH: a framed log of log entries (log-batch.ts): the ref's own
 *   bytes, its carrier manifest's, or its object (carried-batch.ts).
 * - SEGMENT: a wal-format row batch (Arrow IPC); every row is a whole
 *   document with its RowId in `_id`, applied like an UPSERT. Segments come
 *   from compaction and from predicate UPDATEs (whose segment is the
 *   mutation's `.arrow` sidecar, byte for byte).
 * Both are verified against the ref (size and BLAKE3) before decoding.
 * A segment's delete markers (`deleted_ids` on its ref, tiered compaction)
 * follow its rows as DELETE entries, at positions past the last row (no
 * tombstone names them).
 *
 * The tombstone object is read when `sidecarKey` is given: for reads the
 * one the ref publishes (`sidecarForRead`: its snapshot, or the live sidecar
 * of a ref published before snapshots), for compaction the live sidecar it
 * has just sealed. Either way the manifest (or the seal) says it exists, so
 * a missing one is `CorruptError` naming it, never "no tombstones" (that
 * would resurrect every deleted row). A snapshot is also verified against
 * its name (`verifySnapshot`).
 *
 * Errors: `CorruptError` (missing or mismatching objects, undecodable
 * bytes), `StorageFailureError`.
 */
import type { StorageProvider } from "@skerry/storage-providers";
import { type ContainerRef, contentHash, decodeRowBatch, type Random, type RowDocument } from "@skerry/wal-format";
import { decodeTombstones, deletedIdsOf, readContainerBytes, verifySnapshot } from "../manifest/index.ts";
import { CorruptError, readReferenced, type RetryPolicy } from "../core/index.ts";
import { decodeLazily, decodeLogBatch, type FoldEntry, logBatchPayloads, type LogEntry } from "../log/index.ts";

export interface LoadedContainer<E = LogEntry> {
  readonly entries: E[];
  readonly tombstoned?: ReadonlySet<number>;
  /** The sidecar's seal, when it has one (compaction checks it). */
  readonly sealedBy?: string;
}

export interface LoadDependencies {
  readonly storage: StorageProvider;
  readonly random: Random;
  readonly retry: RetryPolicy;
}

/** A segment row as a log entry (an UPSERT of the whole document). */
export function segmentRowEntry(row: RowDocument): LogEntry {
  return {
    op: "UPSERT",
    id: row.id,
    rowId: row.rowId,
    ...(row.vector === undefined ? {} : { vector: row.vector }),
    ...(row.sparse === undefined ? {} : { sparse: row.sparse }),
    ...(row.text === undefined ? {} : { text: row.text }),
    ...(row.attributes === undefined ? {} : { attributes: row.attributes as NonNullable<LogEntry["attributes"]> }),
  };
}

/** Verifies and decodes a segment object read for `ref`. */
export function decodeSegment(bytes: Uint8Array, ref: ContainerRef): LogEntry[] {
  if (bytes.length !== ref.byteSize) throw new CorruptError(`segment ${ref.key} is ${bytes.length} bytes, its manifest says ${ref.byteSize}`, ref.key);
  const hash = contentHash(bytes);
  if (hash !== ref.contentHash) throw new CorruptError(`segment ${ref.key} hashes to ${hash}, its manifest says ${ref.contentHash}`, ref.key);
  let rows: RowDocument[];
  try {
    rows = decodeRowBatch(bytes);
  } catch (cause) {
    throw new CorruptError(`segment ${ref.key} does not decode: ${(cause as Error).message}`, ref.key, { cause });
  }
  if (rows.length !== ref.rowCount) throw new CorruptError(`segment ${ref.key} has ${rows.length} rows, its manifest says ${ref.rowCount}`, ref.key);
  return rows.map(segmentRowEntry);
}

export function loadContainer(deps: LoadDependencies, ref: ContainerRef, sidecarKey: string | undefined): Promise<LoadedContainer> {
  return load(deps, ref, sidecarKey, decodeLogBatch);
}

/** Entries of a log batch the fold decodes between event loop turns (each ~3-5 us: its header and id). */
export const FOLD_DECODE_SLICE = 1024;

/**
 * `loadContainer` for the query tail's fold: a log batch's UPSERTs decoded on first use (lazy-upsert.ts), the
 * entries' headers decoded `FOLD_DECODE_SLICE` at a time with a turn of the event loop (`pause`) between slices,
 * so a 10,000-entry batch does not hold the loop for its whole decode (~50 ms). The batch is verified whole
 * (size, BLAKE3, framing) before the first entry is read.
 */
export function loadFoldContainer(
  deps: LoadDependencies,
  ref: ContainerRef,
  sidecarKey: string | undefined,
  pause: () => Promise<void>,
): Promise<LoadedContainer<FoldEntry>> {
  return load<FoldEntry>(deps, ref, sidecarKey, async (bytes, batch) => {
    const payloads = logBatchPayloads(bytes, batch);
    const entries: FoldEntry[] = new Array(payloads.length);
    for (let i = 0; i < payloads.length; i++) {
      if (i > 0 && i % FOLD_DECODE_SLICE === 0) await pause();
      entries[i] = decodeLazily(payloads[i] as Uint8Array, batch.key);
    }
    return entries;
  });
}

async function load<E>(
  deps: LoadDependencies,
  ref: ContainerRef,
  sidecarKey: string | undefined,
  decodeBatch: (bytes: Uint8Array, ref: ContainerRef) => E[] | Promise<E[]>,
): Promise<LoadedContainer<E | LogEntry>> {
  const { storage, random, retry } = deps;
  // The object's bytes, or a carried batch's from its manifest (carried-batch.ts); verified below.
  const bytes = await readContainerBytes(deps, ref);
  const entries: (E | LogEntry)[] = ref.kind === "LOG_BATCH" ? await decodeBatch(bytes, ref) : decodeSegment(bytes, ref);
  if (ref.kind === "SEGMENT") for (const id of deletedIdsOf(ref)) entries.push({ op: "DELETE", id });
  if (sidecarKey === undefined) return { entries };
  const sidecar = await readReferenced({ storage, random, retry }, sidecarKey, `tombstone object ${sidecarKey} referenced by container ${ref.id}`);
  verifySnapshot(ref, sidecarKey, sidecar);
  const decoded = decodeTombstones(sidecarKey, sidecar);
  return {
    entries,
    ...(decoded.positions.length === 0 ? {} : { tombstoned: new Set(decoded.positions) }),
    ...(decoded.seal === undefined ? {} : { sealedBy: decoded.seal.compactionId }),
  };
}
