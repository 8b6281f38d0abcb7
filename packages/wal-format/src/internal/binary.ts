/**
 * Little helpers for fixed-layout binary formats: bounds-checked little-endian
 * reads that raise `CorruptDataError` (never RangeError), and an equality test
 * for magic values.
 */
import { CorruptDataError } from "../errors.ts";

export function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Throw `truncated` unless `bytes` holds `need` bytes from `offset`. */
export function requireBytes(format: string, bytes: Uint8Array, offset: number, need: number, what: string): void {
  if (offset + need > bytes.length) {
    throw new CorruptDataError(format, "truncated", `${what} needs ${need} bytes, ${Math.max(0, bytes.length - offset)} left`, {
      offset,
    });
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array, offset = 0): boolean {
  if (offset + b.length > a.length) return false;
  for (let i = 0; i < b.length; i++) if (a[offset + i] !== b[i]) return false;
  return true;
}

/** Coerce any binary view to a Uint8Array over the same memory. */
export function asBytes(input: unknown, format: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  throw new CorruptDataError(format, "malformed", `expected bytes, got ${input === null ? "null" : typeof input}`);
}

export const textEncoder = new TextEncoder();
/** Strict UTF-8: invalid sequences throw instead of becoming U+FFFD. */
export const strictTextDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
