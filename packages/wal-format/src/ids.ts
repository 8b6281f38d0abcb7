/**
 * 128-bit identifiers: `WalId`, `RowId` and `HandleId`.
 *
 * All three are unsigned 128-bit integers carried as `bigint` behind distinct
 * brands, so the compiler refuses a `RowId` where a `WalId` is expected even
 * though both are bigints at runtime. They share one wire form: exactly 32
 * lowercase hex characters of the big-endian 16 bytes, zero-padded. Fixed
 * width and big-endian order make string order equal numeric order, so an
 * object listing of `wal/mutations/<hex>.json` comes back oldest first.
 *
 * Only lowercase is accepted when parsing: one id has exactly one spelling,
 * which keeps object keys and string comparisons unambiguous.
 *
 * Errors: every parser and constructor throws `IdParseError` with a `reason`
 * (`wrong-length` with the length, `invalid-hex` with the character position
 * of the first bad byte, `out-of-range`, `not-a-string`).
 */
import { IdParseError } from "./errors.ts";

export type WalId = bigint & { readonly __brand: "WalId" };
export type RowId = bigint & { readonly __brand: "RowId" };
export type HandleId = bigint & { readonly __brand: "HandleId" };
/** Any of the three id kinds. */
export type AnyId = WalId | RowId | HandleId;

/** Bytes in an id. */
export const ID_BYTES = 16;
/** Characters in an id's hex wire form. */
export const ID_HEX_LENGTH = 32;
/** The largest representable id, 2^128 - 1. */
export const MAX_ID = (1n << 128n) - 1n;

const HEX_PAIR = /^[0-9a-f]{2}$/;
const CANONICAL = /^[0-9a-f]{32}$/;
const U64_MASK = (1n << 64n) - 1n;

function checkRange(value: bigint, kind: string): void {
  if (typeof value !== "bigint" || value < 0n || value > MAX_ID) {
    throw new IdParseError("out-of-range", `${kind} must be an integer in [0, 2^128 - 1]; got ${String(value)}`);
  }
}

/** Brand a bigint as a WalId after checking it fits in 128 unsigned bits. */
export function walId(value: bigint): WalId {
  checkRange(value, "WalId");
  return value as WalId;
}

/** Brand a bigint as a RowId after checking it fits in 128 unsigned bits. */
export function rowId(value: bigint): RowId {
  checkRange(value, "RowId");
  return value as RowId;
}

/** Brand a bigint as a HandleId after checking it fits in 128 unsigned bits. */
export function handleId(value: bigint): HandleId {
  checkRange(value, "HandleId");
  return value as HandleId;
}

/** The 32-character lowercase hex wire form of any id. */
export function idToHex(id: AnyId | bigint): string {
  checkRange(id, "id");
  return id.toString(16).padStart(ID_HEX_LENGTH, "0");
}

/** Parse the 32-character wire form into an unbranded bigint. */
function parseIdHex(text: unknown, kind: string): bigint {
  if (typeof text !== "string") {
    throw new IdParseError("not-a-string", `${kind} hex must be a string; got ${typeof text}`);
  }
  if (text.length !== ID_HEX_LENGTH) {
    throw new IdParseError("wrong-length", `${kind} hex must be exactly ${ID_HEX_LENGTH} characters; got ${text.length}`, {
      length: text.length,
    });
  }
  if (!CANONICAL.test(text)) {
    // Report the first offending byte the way a byte-wise parser would see
    // it: the even character position where its hex pair starts.
    for (let position = 0; position < ID_HEX_LENGTH; position += 2) {
      const pair = text.slice(position, position + 2);
      if (!HEX_PAIR.test(pair)) {
        throw new IdParseError(
          "invalid-hex",
          `${kind} hex has a non-lowercase-hex byte at position ${position}: ${JSON.stringify(pair)}`,
          { position },
        );
      }
    }
  }
  return BigInt(`0x${text}`);
}

export function walIdFromHex(text: string): WalId {
  return parseIdHex(text, "WalId") as WalId;
}

export function rowIdFromHex(text: string): RowId {
  return parseIdHex(text, "RowId") as RowId;
}

export function handleIdFromHex(text: string): HandleId {
  return parseIdHex(text, "HandleId") as HandleId;
}

/** True when `text` is a valid id wire form (32 lowercase hex characters). */
export function isIdHex(text: unknown): text is string {
  return typeof text === "string" && CANONICAL.test(text);
}

/**
 * Write an id as 16 big-endian bytes into `target` at `offset` (the layout
 * of the `_id` column in row batches). Returns `target`.
 */
export function writeIdBytes(id: AnyId | bigint, target: Uint8Array, offset = 0): Uint8Array {
  checkRange(id, "id");
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  view.setBigUint64(offset, id >> 64n);
  view.setBigUint64(offset + 8, id & U64_MASK);
  return target;
}

/** The 16 big-endian bytes of an id. */
export function idToBytes(id: AnyId | bigint): Uint8Array {
  return writeIdBytes(id, new Uint8Array(ID_BYTES));
}

/** Read 16 big-endian bytes at `offset` as an unbranded 128-bit value. */
export function readIdBytes(source: Uint8Array, offset = 0): bigint {
  if (offset < 0 || offset + ID_BYTES > source.length) {
    throw new IdParseError("wrong-length", `an id needs ${ID_BYTES} bytes at offset ${offset}; only ${Math.max(0, source.length - offset)} available`, {
      length: Math.max(0, source.length - offset),
    });
  }
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  return (view.getBigUint64(offset) << 64n) | view.getBigUint64(offset + 8);
}

/** Numeric (and therefore wire-string) order of two ids. */
export function compareIds(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
