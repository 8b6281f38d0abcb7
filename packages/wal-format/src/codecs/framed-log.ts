/**
 * The framed log: an append-only stream of opaque, checksummed entries after
 * a small header. Used for write-log batch objects (written whole) and for
 * local persistence of materialized state (appended to a file, where a crash
 * can tear the last write).
 *
 * Layout, format version 1 (all integers little-endian):
 *
 *   header
 *   offset  size  field
 *   0       8     magic "SKRYFLOG"
 *   8       2     format_version (1)
 *   10      2     flags (0; other values are rejected)
 *   12      4     header_length: bytes of the whole header, CRC included
 *                 (28 in v1; readers skip extra bytes up to the cap, so a
 *                 later minor revision can add header fields)
 *   16      8     base_revision (u64): the snapshot revision this log extends
 *   24      h-28  header extension (none in v1)
 *   h-4     4     CRC-32 of header bytes [0, h-4)
 *
 *   entry, repeated until the end
 *   0       4     CRC-32 of the next 4 + n bytes (length field and payload)
 *   4       4     n: payload length
 *   8       n     payload
 *
 * A broken header is an error (the object is not a framed log). A broken
 * entry is where the readable log ends: `readFramedLog` returns the entries
 * before it and reports the offset and reason (`truncated`, `too-large`,
 * `checksum-mismatch`); truncating a local file to that offset makes it
 * appendable again. `decodeFramedLog` is the strict variant for objects that
 * were written whole, where any torn tail is corruption.
 *
 * Length fields are checked against caps and against the bytes present before
 * anything is sliced; payloads are returned as zero-copy subarrays.
 *
 * Errors: `CorruptDataError` and `UnsupportedVersionError` from the header
 * (and from `decodeFramedLog` for a torn tail); `InvalidInputError` from the
 * encoders for oversize payloads or an out-of-range base revision.
 */
import { CorruptDataError, InvalidInputError, UnsupportedVersionError } from "../errors.ts";
import { asBytes, bytesEqual, dataView } from "../internal/binary.ts";
import { crc32 } from "../internal/crc32.ts";

export const FRAMED_LOG_FORMAT = "framed-log";
export const FRAMED_LOG_MAGIC: Uint8Array = new TextEncoder().encode("SKRYFLOG");
export const FRAMED_LOG_VERSION = 1;
/** Header bytes written by this version. */
export const FRAMED_LOG_HEADER_BYTES = 28;
/** Bytes of framing before each entry's payload. */
export const FRAMED_LOG_ENTRY_OVERHEAD = 8;
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
export const DEFAULT_MAX_ENTRY_BYTES = 64 * 1024 * 1024;
const U64_MAX = (1n << 64n) - 1n;

export interface FramedLogHeader {
  readonly formatVersion: number;
  readonly baseRevision: bigint;
  /** Bytes the header occupies; entries start here. */
  readonly headerLength: number;
}

export interface FramedLogLimits {
  /** Largest header accepted (default 64 KiB). */
  maxHeaderBytes?: number;
  /** Largest entry payload accepted or written (default 64 MiB). */
  maxEntryBytes?: number;
}

export type FramedLogTornReason = "truncated" | "too-large" | "checksum-mismatch";

export interface FramedLogTorn {
  /** Offset of the first frame that could not be read. */
  readonly offset: number;
  readonly reason: FramedLogTornReason;
  readonly detail: string;
}

export interface FramedLogEntry {
  /** Offset of the entry's frame in the log. */
  readonly offset: number;
  readonly payload: Uint8Array;
}

export interface FramedLogEnd {
  /** Bytes of the log that hold a valid header and valid entries. */
  readonly validLength: number;
  readonly torn: FramedLogTorn | null;
}

export interface FramedLog extends FramedLogEnd {
  readonly header: FramedLogHeader;
  readonly entries: Uint8Array[];
}

function revision(value: bigint | number): bigint {
  const big = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (big < 0n || big > U64_MAX) throw new InvalidInputError(`base revision ${String(value)} is not a u64`);
  return big;
}

/** The header that starts a log. */
export function encodeFramedLogHeader(header: { baseRevision: bigint | number }): Uint8Array {
  const out = new Uint8Array(FRAMED_LOG_HEADER_BYTES);
  const view = dataView(out);
  out.set(FRAMED_LOG_MAGIC, 0);
  view.setUint16(8, FRAMED_LOG_VERSION, true);
  view.setUint16(10, 0, true);
  view.setUint32(12, FRAMED_LOG_HEADER_BYTES, true);
  view.setBigUint64(16, revision(header.baseRevision), true);
  view.setUint32(24, crc32(out.subarray(0, 24)), true);
  return out;
}

function writeFrame(out: Uint8Array, view: DataView, at: number, payload: Uint8Array): number {
  view.setUint32(at + 4, payload.length, true);
  out.set(payload, at + 8);
  view.setUint32(at, crc32(out.subarray(at + 4, at + 8 + payload.length)), true);
  return at + 8 + payload.length;
}

function checkPayload(payload: Uint8Array, index: number, max: number): void {
  if (!(payload instanceof Uint8Array)) throw new InvalidInputError(`entry ${index} is not a Uint8Array`);
  if (payload.length > max) throw new InvalidInputError(`entry ${index} of ${payload.length} bytes exceeds the ${max}-byte cap`);
}

/** One framed entry, ready to append after a header or other entries. */
export function encodeFramedLogEntry(payload: Uint8Array, limits: FramedLogLimits = {}): Uint8Array {
  checkPayload(payload, 0, limits.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES);
  const out = new Uint8Array(FRAMED_LOG_ENTRY_OVERHEAD + payload.length);
  writeFrame(out, dataView(out), 0, payload);
  return out;
}

/** A whole log (header and entries) in one allocation. */
export function encodeFramedLog(
  log: { baseRevision: bigint | number; entries: readonly Uint8Array[] },
  limits: FramedLogLimits = {},
): Uint8Array {
  const max = limits.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  let total = FRAMED_LOG_HEADER_BYTES;
  for (let i = 0; i < log.entries.length; i++) {
    const payload = log.entries[i] as Uint8Array;
    checkPayload(payload, i, max);
    total += FRAMED_LOG_ENTRY_OVERHEAD + payload.length;
  }
  const out = new Uint8Array(total);
  out.set(encodeFramedLogHeader(log), 0);
  const view = dataView(out);
  let at = FRAMED_LOG_HEADER_BYTES;
  for (const payload of log.entries) at = writeFrame(out, view, at, payload);
  return out;
}

/** Parse and verify the header; throws if the bytes are not a framed log. */
export function readFramedLogHeader(input: Uint8Array, limits: FramedLogLimits = {}): FramedLogHeader {
  const F = FRAMED_LOG_FORMAT;
  const bytes = asBytes(input, F);
  const magicLength = FRAMED_LOG_MAGIC.length;
  if (!bytesEqual(bytes.subarray(0, magicLength), FRAMED_LOG_MAGIC.subarray(0, Math.min(magicLength, bytes.length)))) {
    throw new CorruptDataError(F, "bad-magic", "not a framed log", { offset: 0 });
  }
  if (bytes.length < 16) throw new CorruptDataError(F, "truncated", `header needs at least 16 bytes, got ${bytes.length}`, { offset: bytes.length });
  const view = dataView(bytes);
  const version = view.getUint16(8, true);
  if (version > FRAMED_LOG_VERSION) throw new UnsupportedVersionError(F, version, FRAMED_LOG_VERSION);
  if (version === 0) throw new CorruptDataError(F, "malformed", "format version 0", { offset: 8 });
  const flags = view.getUint16(10, true);
  if (flags !== 0) throw new CorruptDataError(F, "malformed", `unknown flags 0x${flags.toString(16)}`, { offset: 10 });
  const headerLength = view.getUint32(12, true);
  const maxHeader = limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (headerLength < FRAMED_LOG_HEADER_BYTES) {
    throw new CorruptDataError(F, "malformed", `header_length ${headerLength} is below the minimum ${FRAMED_LOG_HEADER_BYTES}`, { offset: 12 });
  }
  if (headerLength > maxHeader) throw new CorruptDataError(F, "too-large", `header_length ${headerLength} exceeds ${maxHeader}`, { offset: 12 });
  if (headerLength > bytes.length) {
    throw new CorruptDataError(F, "truncated", `header_length ${headerLength}, only ${bytes.length} bytes present`, { offset: bytes.length });
  }
  const stored = view.getUint32(headerLength - 4, true);
  const actual = crc32(bytes.subarray(0, headerLength - 4));
  if (stored !== actual) {
    throw new CorruptDataError(F, "checksum-mismatch", `header CRC-32 ${stored.toString(16)}, computed ${actual.toString(16)}`, {
      offset: headerLength - 4,
    });
  }
  return { formatVersion: version, baseRevision: view.getBigUint64(16, true), headerLength };
}

/**
 * Yield the entries after a verified header, stopping at the first frame that
 * is truncated, oversized or fails its checksum; the generator's return value
 * says where the valid log ends and why.
 */
export function* iterateFramedLogEntries(
  input: Uint8Array,
  header: FramedLogHeader,
  limits: FramedLogLimits = {},
): Generator<FramedLogEntry, FramedLogEnd, undefined> {
  const bytes = asBytes(input, FRAMED_LOG_FORMAT);
  const view = dataView(bytes);
  const max = limits.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  let at = header.headerLength;
  const end = bytes.length;
  while (at < end) {
    if (end - at < FRAMED_LOG_ENTRY_OVERHEAD) {
      return { validLength: at, torn: { offset: at, reason: "truncated", detail: `${end - at} bytes left, a frame needs 8` } };
    }
    const length = view.getUint32(at + 4, true);
    if (length > max) {
      return { validLength: at, torn: { offset: at, reason: "too-large", detail: `entry length ${length} exceeds ${max}` } };
    }
    if (length > end - at - FRAMED_LOG_ENTRY_OVERHEAD) {
      return {
        validLength: at,
        torn: { offset: at, reason: "truncated", detail: `entry of ${length} bytes, ${end - at - FRAMED_LOG_ENTRY_OVERHEAD} present` },
      };
    }
    const stored = view.getUint32(at, true);
    const actual = crc32(bytes.subarray(at + 4, at + 8 + length));
    if (stored !== actual) {
      return {
        validLength: at,
        torn: { offset: at, reason: "checksum-mismatch", detail: `stored CRC-32 ${stored.toString(16)}, computed ${actual.toString(16)}` },
      };
    }
    yield { offset: at, payload: bytes.subarray(at + 8, at + 8 + length) };
    at += FRAMED_LOG_ENTRY_OVERHEAD + length;
  }
  return { validLength: at, torn: null };
}

/** Read a log, tolerating a torn tail (reported in `torn`). */
export function readFramedLog(input: Uint8Array, limits: FramedLogLimits = {}): FramedLog {
  const header = readFramedLogHeader(input, limits);
  const entries: Uint8Array[] = [];
  const iterator = iterateFramedLogEntries(input, header, limits);
  for (;;) {
    const step = iterator.next();
    if (step.done === true) return { header, entries, validLength: step.value.validLength, torn: step.value.torn };
    entries.push(step.value.payload);
  }
}

/** Read a log that must be complete (an object written whole): a torn tail is corruption. */
export function decodeFramedLog(input: Uint8Array, limits: FramedLogLimits = {}): FramedLog {
  const log = readFramedLog(input, limits);
  if (log.torn !== null) {
    throw new CorruptDataError(FRAMED_LOG_FORMAT, log.torn.reason, log.torn.detail, { offset: log.torn.offset });
  }
  return log;
}
