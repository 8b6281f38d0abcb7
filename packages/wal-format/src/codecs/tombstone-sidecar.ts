/**
 * The tombstone sidecar: a row container's deletion vector. A set of row
 * positions (u32, the row's index inside its container) that readers must
 * skip, plus an optional `SealRecord` saying a compaction has sealed it.
 * Stored at `superfiles/<segment_id>.tombstones` and rewritten by etag CAS.
 *
 * Layout, format version 1 (all integers little-endian):
 *
 *   offset  size  field
 *   0       8     magic "SKRYTOMB"
 *   8       2     format_version (1)
 *   10      2     flags: bit 0 = seal present; other bits must be 0
 *   12      4     seal_length: bytes of seal JSON (0 without a seal)
 *   16      4     bitmap_length: bytes of the roaring bitmap
 *   20      4     position_count: number of positions in the bitmap
 *   24      S     seal record as UTF-8 JSON (`SealRecord` wire form)
 *   24+S    B     positions, roaring portable serialization
 *   24+S+B  4     CRC-32 (IEEE) of every preceding byte
 *
 * The object is exactly 28 + S + B bytes; trailing bytes are corruption.
 * Positions are written through roaring-wasm (sorted first: its bulk add is
 * fast only on sorted input) and read by a strict portable-format reader.
 *
 * Errors: decode throws `CorruptDataError` (truncated, bad-magic, too-large,
 * checksum-mismatch, malformed) or `UnsupportedVersionError`; encode throws
 * `InvalidInputError` for positions outside u32 and `SchemaError` for a bad
 * seal record. Nothing else escapes.
 */
import { createRequire } from "node:module";
import type * as Roaring from "roaring-wasm";
import { CorruptDataError, InvalidInputError, isWalFormatError, UnsupportedVersionError } from "../errors.ts";
import { asBytes, bytesEqual, dataView } from "../internal/binary.ts";
import { crc32 } from "../internal/crc32.ts";
import { decodePortableRoaring, sortPositions } from "../internal/roaring-portable.ts";
import { decodeDocument, encodeDocument } from "../schemas/json-document.ts";
import type { SealRecord } from "../schemas/seal-record.ts";
import { sealRecordSpec } from "../schemas/seal-record.ts";

/**
 * roaring-wasm, loaded on the first sidecar that is encoded: it compiles its
 * WebAssembly when loaded, and readers (decodePortableRoaring) never need
 * it, so a process that only queries does not pay for it. Loaded
 * synchronously (Node's require of the CommonJS package), so encoding stays
 * synchronous.
 */
let roaring: typeof Roaring | undefined;
function roaringBitmap(): InstanceType<typeof Roaring.RoaringBitmap32> {
  roaring ??= createRequire(import.meta.url)("roaring-wasm") as typeof Roaring;
  return new roaring.RoaringBitmap32();
}

export const TOMBSTONE_SIDECAR_FORMAT = "tombstone-sidecar";
export const TOMBSTONE_SIDECAR_MAGIC: Uint8Array = new TextEncoder().encode("SKRYTOMB");
export const TOMBSTONE_SIDECAR_VERSION = 1;
const HEADER_BYTES = 24;
const TRAILER_BYTES = 4;
const FLAG_SEAL = 1;
/** Seal records are tiny; anything bigger than this is garbage. */
export const MAX_SEAL_BYTES = 64 * 1024;

export interface TombstoneSidecar {
  readonly seal?: SealRecord;
  /** Tombstoned positions, strictly ascending. */
  readonly positions: Uint32Array;
}

export interface TombstoneSidecarInput {
  readonly seal?: SealRecord;
  /** Positions in any order; duplicates are collapsed. */
  readonly positions: Uint32Array | readonly number[] | Iterable<number>;
}

export interface DecodeTombstoneSidecarOptions {
  /** Most positions to materialize (default 2^27); checked before allocating. */
  maxPositions?: number;
  /** Largest bitmap accepted, in bytes (default 512 MiB). */
  maxBitmapBytes?: number;
}

export const DEFAULT_MAX_TOMBSTONE_POSITIONS = 2 ** 27;
export const DEFAULT_MAX_TOMBSTONE_BITMAP_BYTES = 512 * 1024 * 1024;

function toUint32Positions(input: TombstoneSidecarInput["positions"]): Uint32Array {
  if (input instanceof Uint32Array) return input;
  const values = Array.isArray(input) ? (input as readonly number[]) : Array.from(input as Iterable<number>);
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new InvalidInputError(`tombstone position ${String(value)} at index ${i} is not a u32`);
    }
    out[i] = value;
  }
  return out;
}

/** Encode a sidecar. Positions are sorted and de-duplicated. */
export function encodeTombstoneSidecar(input: TombstoneSidecarInput): Uint8Array {
  const sealBytes = input.seal === undefined ? new Uint8Array(0) : encodeDocument(sealRecordSpec, input.seal);
  if (sealBytes.length > MAX_SEAL_BYTES) throw new InvalidInputError(`seal record of ${sealBytes.length} bytes exceeds ${MAX_SEAL_BYTES}`);
  const sorted = sortPositions(toUint32Positions(input.positions));
  const bitmap = roaringBitmap();
  let serialized: Uint8Array;
  let count: number;
  try {
    bitmap.addMany(sorted);
    bitmap.runOptimize();
    count = bitmap.size;
    serialized = bitmap.serialize("portable");
  } finally {
    bitmap.dispose();
  }
  const total = HEADER_BYTES + sealBytes.length + serialized.length + TRAILER_BYTES;
  const out = new Uint8Array(total);
  const view = dataView(out);
  out.set(TOMBSTONE_SIDECAR_MAGIC, 0);
  view.setUint16(8, TOMBSTONE_SIDECAR_VERSION, true);
  view.setUint16(10, input.seal === undefined ? 0 : FLAG_SEAL, true);
  view.setUint32(12, sealBytes.length, true);
  view.setUint32(16, serialized.length, true);
  view.setUint32(20, count, true);
  out.set(sealBytes, HEADER_BYTES);
  out.set(serialized, HEADER_BYTES + sealBytes.length);
  view.setUint32(total - TRAILER_BYTES, crc32(out.subarray(0, total - TRAILER_BYTES)), true);
  return out;
}

/** Decode and fully verify a sidecar. */
export function decodeTombstoneSidecar(input: Uint8Array, options: DecodeTombstoneSidecarOptions = {}): TombstoneSidecar {
  const F = TOMBSTONE_SIDECAR_FORMAT;
  const bytes = asBytes(input, F);
  const magicLength = TOMBSTONE_SIDECAR_MAGIC.length;
  if (!bytesEqual(bytes.subarray(0, magicLength), TOMBSTONE_SIDECAR_MAGIC.subarray(0, Math.min(magicLength, bytes.length)))) {
    throw new CorruptDataError(F, "bad-magic", "not a tombstone sidecar", { offset: 0 });
  }
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES) {
    throw new CorruptDataError(F, "truncated", `${bytes.length} bytes is shorter than the ${HEADER_BYTES + TRAILER_BYTES}-byte minimum`, {
      offset: bytes.length,
    });
  }
  const view = dataView(bytes);
  const version = view.getUint16(8, true);
  if (version > TOMBSTONE_SIDECAR_VERSION) throw new UnsupportedVersionError(F, version, TOMBSTONE_SIDECAR_VERSION);
  if (version === 0) throw new CorruptDataError(F, "malformed", "format version 0", { offset: 8 });
  const flags = view.getUint16(10, true);
  if ((flags & ~FLAG_SEAL) !== 0) throw new CorruptDataError(F, "malformed", `unknown flags 0x${flags.toString(16)}`, { offset: 10 });
  const sealLength = view.getUint32(12, true);
  const bitmapLength = view.getUint32(16, true);
  const count = view.getUint32(20, true);
  const maxBitmap = options.maxBitmapBytes ?? DEFAULT_MAX_TOMBSTONE_BITMAP_BYTES;
  const maxPositions = options.maxPositions ?? DEFAULT_MAX_TOMBSTONE_POSITIONS;
  if (sealLength > MAX_SEAL_BYTES) throw new CorruptDataError(F, "too-large", `seal_length ${sealLength} exceeds ${MAX_SEAL_BYTES}`, { offset: 12 });
  if (bitmapLength > maxBitmap) throw new CorruptDataError(F, "too-large", `bitmap_length ${bitmapLength} exceeds ${maxBitmap}`, { offset: 16 });
  if (count > maxPositions) throw new CorruptDataError(F, "too-large", `position_count ${count} exceeds ${maxPositions}`, { offset: 20 });
  if (((flags & FLAG_SEAL) !== 0) !== sealLength > 0) {
    throw new CorruptDataError(F, "malformed", "seal flag and seal_length disagree", { offset: 10 });
  }
  const total = HEADER_BYTES + sealLength + bitmapLength + TRAILER_BYTES;
  if (total > bytes.length) {
    throw new CorruptDataError(F, "truncated", `lengths describe ${total} bytes, only ${bytes.length} present`, { offset: bytes.length });
  }
  if (total < bytes.length) {
    throw new CorruptDataError(F, "malformed", `${bytes.length - total} unexpected bytes after the checksum`, { offset: total });
  }
  const expected = view.getUint32(total - TRAILER_BYTES, true);
  const actual = crc32(bytes.subarray(0, total - TRAILER_BYTES));
  if (expected !== actual) {
    throw new CorruptDataError(F, "checksum-mismatch", `stored CRC-32 ${expected.toString(16)}, computed ${actual.toString(16)}`, {
      offset: total - TRAILER_BYTES,
    });
  }
  let seal: SealRecord | undefined;
  if (sealLength > 0) {
    try {
      seal = decodeDocument(sealRecordSpec, bytes.subarray(HEADER_BYTES, HEADER_BYTES + sealLength));
    } catch (error) {
      throw new CorruptDataError(F, "malformed", `invalid seal record: ${(error as Error).message}`, { offset: HEADER_BYTES, cause: error });
    }
  }
  const bitmapAt = HEADER_BYTES + sealLength;
  let positions: Uint32Array;
  try {
    positions = decodePortableRoaring(bytes.subarray(bitmapAt, bitmapAt + bitmapLength), F, bitmapAt, Math.min(count, maxPositions));
  } catch (error) {
    if (isWalFormatError(error)) throw error;
    throw new CorruptDataError(F, "malformed", `unreadable bitmap: ${String(error)}`, { offset: bitmapAt, cause: error });
  }
  if (positions.length !== count) {
    throw new CorruptDataError(F, "malformed", `bitmap holds ${positions.length} positions, header says ${count}`, { offset: 20 });
  }
  return seal === undefined ? { positions } : { seal, positions };
}

/** True when a strictly ascending position array contains `position` (binary search). */
export function hasPosition(positions: Uint32Array, position: number): boolean {
  let lo = 0;
  let hi = positions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const value = positions[mid] as number;
    if (value === position) return true;
    if (value < position) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
