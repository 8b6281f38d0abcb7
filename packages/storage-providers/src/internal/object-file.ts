/**
 * The on-disk form of one LocalFsStorage object: a fixed-size ASCII header
 * line followed by the object's bytes.
 *
 *     SKERRY-OBJECT 1 <etag: 32 hex> <crc32: 8 hex> <size: 16 hex>\n<bytes>
 *
 * The header gives every write a fresh random etag (so compare-and-swap can
 * never be fooled by an inode or timestamp that repeats), records the size
 * (a short file is detected) and a CRC-32 of the bytes (a full read verifies
 * it, so a flipped bit is reported instead of returned). It is plain text,
 * so `tail -c +77 FILE` shows an object and `head -1 FILE` its etag.
 */
import { crc32 } from "node:zlib";

const MAGIC = "SKERRY-OBJECT";
const FORMAT_VERSION = "1";

/** Bytes in the header line, newline included. */
export const OBJECT_HEADER_BYTES = MAGIC.length + 1 + FORMAT_VERSION.length + 1 + 32 + 1 + 8 + 1 + 16 + 1;

export interface ObjectHeader {
  etag: string;
  crc32: number;
  size: number;
}

export function checksumOf(bytes: Uint8Array): number {
  return crc32(bytes);
}

export function encodeObjectHeader(header: ObjectHeader): Buffer {
  const line =
    `${MAGIC} ${FORMAT_VERSION} ${header.etag} ` +
    `${header.crc32.toString(16).padStart(8, "0")} ${header.size.toString(16).padStart(16, "0")}\n`;
  return Buffer.from(line, "latin1");
}

const HEX = /^[0-9a-f]+$/;

/** Parses a header, or returns a reason it is not one. */
export function decodeObjectHeader(bytes: Uint8Array): ObjectHeader | string {
  if (bytes.byteLength < OBJECT_HEADER_BYTES) return `header is truncated (${bytes.byteLength} bytes)`;
  const line = Buffer.from(bytes.buffer, bytes.byteOffset, OBJECT_HEADER_BYTES).toString("latin1");
  if (!line.endsWith("\n")) return "header does not end with a newline";
  const parts = line.slice(0, -1).split(" ");
  if (parts.length !== 5 || parts[0] !== MAGIC) return "not a Skerry object file (bad magic)";
  const [, version, etag, crc, size] = parts as [string, string, string, string, string];
  if (version !== FORMAT_VERSION) return `unknown object format version ${JSON.stringify(version)}`;
  if (etag.length !== 32 || !HEX.test(etag)) return "malformed etag in header";
  if (crc.length !== 8 || !HEX.test(crc)) return "malformed checksum in header";
  if (size.length !== 16 || !HEX.test(size)) return "malformed size in header";
  const sizeValue = Number.parseInt(size, 16);
  if (!Number.isSafeInteger(sizeValue)) return "size in header is out of range";
  return { etag, crc32: Number.parseInt(crc, 16), size: sizeValue };
}
