/**
 * Tombstone objects as stored: a container's live sidecar
 * (`superfiles/<id>.tombstones`, changed by CAS) and its published snapshots
 * (`superfiles/<id>.<hash>.tsnap`, immutable).
 *
 * - `snapshotHash(bytes, etag)`: what a snapshot is named by: the BLAKE3 of
 *   the sidecar's bytes followed by the etag it had when it was copied (so
 *   every sidecar write gets its own snapshot name). The ref that publishes
 *   the snapshot records that etag (`tombstones_etag`), so a reader can
 *   check a snapshot's bytes against its name (`verifySnapshot`).
 * - `decodeTombstones(key, bytes)`: the sidecar codec, any failure as
 *   `CorruptError` naming the key.
 *
 * Errors: `CorruptError` (bytes that do not decode or do not match the
 * snapshot's name).
 */
import { type ContainerRef, contentHash, decodeTombstoneSidecar, type TombstoneSidecar } from "@skerry/wal-format";
import { tombstonesEtag, tombstonesSnapshot } from "./container-extra.ts";
import { CorruptError } from "../core/index.ts";

const encoder = new TextEncoder();

/** The hash a snapshot of sidecar bytes `bytes` with etag `etag` is named by (`tombstoneSnapshotKey`). */
export function snapshotHash(bytes: Uint8Array, etag: string): string {
  const etagBytes = encoder.encode(etag);
  const named = new Uint8Array(bytes.length + etagBytes.length);
  named.set(bytes);
  named.set(etagBytes, bytes.length);
  return contentHash(named);
}

/** `<anything>.<32 hex>.tsnap`: the name part a snapshot key carries. */
const SNAPSHOT_NAME = /\.([0-9a-f]{32})\.tsnap$/;

/**
 * Checks the bytes read from `key` when `key` is the snapshot `ref` publishes: they must hash (with the etag
 * the ref records) to the name in the key. Other keys (a live sidecar) are not checked here.
 */
export function verifySnapshot(ref: ContainerRef, key: string, bytes: Uint8Array): void {
  if (tombstonesSnapshot(ref) !== key) return;
  const etag = tombstonesEtag(ref);
  const named = SNAPSHOT_NAME.exec(key)?.[1];
  if (etag === undefined || named === undefined) return;
  const actual = snapshotHash(bytes, etag).slice(0, 32);
  if (actual !== named) throw new CorruptError(`tombstone snapshot ${key} hashes to ${actual}, its name says ${named}`, key);
}

/** Decodes tombstone bytes read from `key`. */
export function decodeTombstones(key: string, bytes: Uint8Array): TombstoneSidecar {
  try {
    return decodeTombstoneSidecar(bytes);
  } catch (cause) {
    throw new CorruptError(`tombstone object ${key} does not decode: ${(cause as Error).message}`, key, { cause });
  }
}
