/**
 * Byte-range arithmetic shared by the providers that slice objects
 * themselves (memory, local-fs, cache): clamp a requested range to an
 * object's size, rejecting nonsense ranges with a typed error.
 */
import { InternalError } from "../errors.ts";
import type { ByteRange } from "../storage-provider.ts";

/** [start, end) of `range` within an object of `size` bytes. */
export function resolveRange(range: ByteRange | undefined, size: number, key: string): [number, number] {
  if (range === undefined) return [0, size];
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InternalError(`range offset must be a non-negative integer, got ${offset}`, { key });
  }
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    throw new InternalError(`range length must be a non-negative integer, got ${length}`, { key });
  }
  const start = Math.min(offset, size);
  const end = length === undefined ? size : Math.min(size, offset + length);
  return [start, Math.max(start, end)];
}
