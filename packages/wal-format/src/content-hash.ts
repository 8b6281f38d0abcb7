/**
 * BLAKE3 content hashes of stored objects.
 *
 * A content hash is the lowercase hex BLAKE3-256 of an object's exact bytes.
 * The mutation state document pins the hash of its `.arrow` row-batch sidecar
 * so replay can prove it is consuming the bytes the mutation was planned
 * with; manifests pin the hash of every row container.
 *
 * Implementation: `@napi-rs/blake-hash` (prebuilt Rust BLAKE3 with SIMD,
 * about 5 GB/s on large buffers on our machines, 10x hash-wasm), which loads
 * without install scripts. Its per-call overhead (~2 us) makes it a poor fit
 * for tiny inputs, which is why framed-log entries use CRC-32 instead.
 *
 * Errors: `verifyContentHash` throws `ContentHashMismatchError`.
 */
import { createRequire } from "node:module";
import type * as BlakeHash from "@napi-rs/blake-hash";
import { ContentHashMismatchError } from "./errors.ts";

/**
 * The native module, loaded on the first hash (synchronously, through
 * Node's require of its CommonJS loader): importing this package does not
 * load a native addon, so a process starts sooner.
 */
let native: typeof BlakeHash | undefined;
function blake3(bytes: Uint8Array): Buffer {
  native ??= createRequire(import.meta.url)("@napi-rs/blake-hash") as typeof BlakeHash;
  return native.blake3(bytes);
}

/** Hex characters in a content hash. */
export const CONTENT_HASH_HEX_LENGTH = 64;

/** The raw 32-byte BLAKE3 digest of `bytes`. */
export function contentDigest(bytes: Uint8Array): Uint8Array {
  const digest = blake3(bytes);
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/** Lowercase hex BLAKE3-256 of `bytes`. */
export function contentHash(bytes: Uint8Array): string {
  return blake3(bytes).toString("hex");
}

/** Throw `ContentHashMismatchError` unless `bytes` hashes to `expected`. */
export function verifyContentHash(bytes: Uint8Array, expected: string): void {
  const actual = contentHash(bytes);
  if (actual !== expected) throw new ContentHashMismatchError(expected, actual);
}
