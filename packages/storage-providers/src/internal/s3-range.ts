/**
 * Byte ranges on the S3 wire.
 *
 * `toHttpRange` turns a ByteRange into an HTTP `Range` header value
 * (`bytes=first-last`, both inclusive, or `bytes=first-` to the end).
 * HTTP cannot ask for zero bytes, so a range of length 0 comes back as
 * "empty" and S3Storage answers it with a HEAD. Nonsense ranges (negative,
 * fractional) are rejected with InternalError before any I/O, as the other
 * providers do.
 *
 * `parseContentRange` reads the object's full size from a `Content-Range`
 * answer (`bytes 2-6/10` or `bytes *\/10`), because `meta.size` is the size
 * of the whole object, not of the slice.
 */
import { InternalError } from "../errors.ts";
import type { ByteRange } from "../storage-provider.ts";

export function toHttpRange(range: ByteRange | undefined, key: string): string | "empty" | undefined {
  if (range === undefined) return undefined;
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InternalError(`range offset must be a non-negative integer, got ${offset}`, { key });
  }
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    throw new InternalError(`range length must be a non-negative integer, got ${length}`, { key });
  }
  if (length === 0) return "empty";
  return length === undefined ? `bytes=${offset}-` : `bytes=${offset}-${offset + length - 1}`;
}

/** Total size from a Content-Range header, or undefined when absent or unparsable. */
export function parseContentRange(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s+(?:\d+-\d+|\*)\/(\d+)\s*$/i.exec(header);
  if (match === null) return undefined;
  const total = Number(match[1]);
  return Number.isSafeInteger(total) ? total : undefined;
}
