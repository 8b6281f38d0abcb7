/**
 * Write-log batch objects: a wal-format framed log (written whole) whose
 * entries are log entries (log-entry.ts), one per operation.
 *
 * The framed log's `base_revision` holds the manifest version the batch was
 * first built on; it is informational only (a batch can commit at a later
 * version after a rebase), the manifest's container list is authoritative.
 *
 * Reading verifies the object against its manifest ContainerRef (size and
 * BLAKE3) before decoding, and the entry count against `row_count`.
 * Errors: `CorruptError`.
 */
import {
  type ContainerRef,
  contentHash,
  decodeFramedLog,
  encodeFramedLog,
  type FramedLog,
} from "@skerry/wal-format";
import { CorruptError } from "../core/index.ts";
import { decodeLogEntry, type LogEntry } from "./log-entry.ts";

/** Encodes a batch of already-encoded entries. */
export function encodeLogBatch(baseVersion: number, entries: readonly Uint8Array[]): Uint8Array {
  return encodeFramedLog({ baseRevision: baseVersion, entries });
}

/** Verifies and decodes a batch object read for `ref`. */
export function decodeLogBatch(bytes: Uint8Array, ref: ContainerRef): LogEntry[] {
  return logBatchPayloads(bytes, ref).map((payload) => decodeLogEntry(payload, ref.key));
}

/** Verifies a batch object read for `ref` and returns its entries' payloads, not decoded. */
export function logBatchPayloads(bytes: Uint8Array, ref: ContainerRef): Uint8Array[] {
  if (bytes.length !== ref.byteSize) {
    throw new CorruptError(`log batch ${ref.key} is ${bytes.length} bytes, its manifest says ${ref.byteSize}`, ref.key);
  }
  const hash = contentHash(bytes);
  if (hash !== ref.contentHash) {
    throw new CorruptError(`log batch ${ref.key} hashes to ${hash}, its manifest says ${ref.contentHash}`, ref.key);
  }
  let log: FramedLog;
  try {
    log = decodeFramedLog(bytes);
  } catch (cause) {
    throw new CorruptError(`log batch ${ref.key} does not decode: ${(cause as Error).message}`, ref.key, { cause });
  }
  if (log.entries.length !== ref.rowCount) {
    throw new CorruptError(`log batch ${ref.key} has ${log.entries.length} entries, its manifest says ${ref.rowCount}`, ref.key);
  }
  return log.entries;
}
