/**
 * The file format of one disk-cache entry: one aligned block of one object.
 *
 *     offset size
 *          0    8  magic "SKCBLOCK"
 *          8    2  u16 LE format version (1)
 *         10    2  u16 LE reserved (0)
 *         12    4  u32 LE header length H
 *         16    4  u32 LE payload length P
 *         20   32  SHA-256 of (header ‖ payload)
 *         52    H  header: JSON {key, block, blockBytes, etag, size, lastModified}
 *       52+H    P  payload: bytes [block * blockBytes, + P) of the object
 *
 * A file is accepted only if all of it checks: its length is exactly
 * 52 + H + P, magic and version match, the hash matches, the header names the
 * key, block index and block size asked for, and P is the length that block
 * has in an object of `size` bytes. Anything else (torn, truncated, padded,
 * bit-flipped, written by another format or block size) is rejected.
 */
import { createHash } from "node:crypto";
import type { ObjectMeta } from "../storage-provider.ts";
import { blockLength } from "./block-runs.ts";

export const BLOCK_FILE_MAGIC = Buffer.from("SKCBLOCK", "latin1");
export const BLOCK_FILE_VERSION = 1;
export const BLOCK_FILE_FIXED_BYTES = 52;
/** Upper bound of a header: a key is at most 1,024 bytes, the rest is small. */
export const BLOCK_FILE_MAX_HEADER_BYTES = 8 * 1024;

export interface BlockFileEntry {
  key: string;
  block: number;
  blockBytes: number;
  /** Meta of the whole object the block belongs to. */
  meta: ObjectMeta;
  bytes: Uint8Array;
}

export function encodeBlockFile(entry: BlockFileEntry): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      key: entry.key,
      block: entry.block,
      blockBytes: entry.blockBytes,
      etag: entry.meta.etag,
      size: entry.meta.size,
      lastModified: entry.meta.lastModified.toISOString(),
    }),
    "utf8",
  );
  const fixed = Buffer.alloc(BLOCK_FILE_FIXED_BYTES);
  BLOCK_FILE_MAGIC.copy(fixed, 0);
  fixed.writeUInt16LE(BLOCK_FILE_VERSION, 8);
  fixed.writeUInt16LE(0, 10);
  fixed.writeUInt32LE(header.byteLength, 12);
  fixed.writeUInt32LE(entry.bytes.byteLength, 16);
  createHash("sha256").update(header).update(entry.bytes).digest().copy(fixed, 20);
  return Buffer.concat([fixed, header, entry.bytes]);
}

/**
 * Decodes and verifies a block file read for (key, block, blockBytes);
 * null when it is not a complete, intact entry for exactly that block.
 */
export function decodeBlockFile(file: Buffer, key: string, block: number, blockBytes: number): BlockFileEntry | null {
  if (file.byteLength < BLOCK_FILE_FIXED_BYTES) return null;
  if (!file.subarray(0, 8).equals(BLOCK_FILE_MAGIC)) return null;
  if (file.readUInt16LE(8) !== BLOCK_FILE_VERSION || file.readUInt16LE(10) !== 0) return null;
  const headerLength = file.readUInt32LE(12);
  const payloadLength = file.readUInt32LE(16);
  if (headerLength > BLOCK_FILE_MAX_HEADER_BYTES || payloadLength > blockBytes) return null;
  if (file.byteLength !== BLOCK_FILE_FIXED_BYTES + headerLength + payloadLength) return null;
  const header = file.subarray(BLOCK_FILE_FIXED_BYTES, BLOCK_FILE_FIXED_BYTES + headerLength);
  const payload = file.subarray(BLOCK_FILE_FIXED_BYTES + headerLength);
  if (!createHash("sha256").update(header).update(payload).digest().equals(file.subarray(20, 52))) return null;
  let parsed: { key?: unknown; block?: unknown; blockBytes?: unknown; etag?: unknown; size?: unknown; lastModified?: unknown };
  try {
    parsed = JSON.parse(header.toString("utf8")) as typeof parsed;
  } catch {
    return null;
  }
  if (parsed.key !== key || parsed.block !== block || parsed.blockBytes !== blockBytes) return null;
  if (typeof parsed.etag !== "string" || typeof parsed.lastModified !== "string") return null;
  if (typeof parsed.size !== "number" || !Number.isSafeInteger(parsed.size) || parsed.size < 0) return null;
  if (payloadLength === 0 || payloadLength !== blockLength(block, parsed.size, blockBytes)) return null;
  const lastModified = new Date(parsed.lastModified);
  if (Number.isNaN(lastModified.getTime())) return null;
  return {
    key,
    block,
    blockBytes,
    meta: { key, etag: parsed.etag, size: parsed.size, lastModified },
    bytes: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
  };
}
