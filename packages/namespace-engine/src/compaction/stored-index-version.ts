/**
 * storedIndexVersion: the format version of a segment's stored query index,
 * from its first 10 bytes (one ranged read): every format starts with the
 * magic `SKRYQIDX` and the version as a u16 (little-endian) at offset 8
 * (format 2's header, and the `header` section at offset 0 of the block
 * files, formats 3 on; docs/query.md, "Stored index format"). The compactor
 * asks it of a segment it would otherwise leave alone, to re-index one
 * whose format the cold paths cannot read by ranges (loaded-only.ts
 * `coldReadableIndexFormat`).
 *
 * A missing object, a short read or a wrong magic is CorruptError naming
 * the index (the manifest references it).
 */
import { isNotFound, type StorageProvider } from "@skerry/storage-providers";
import type { Random } from "@skerry/wal-format";
import { CorruptError, type RetryPolicy, withRetry } from "../core/index.ts";
import { QUERY_INDEX_MAGIC } from "@skerry/query";

const HEAD_BYTES = 10;

export async function storedIndexVersion(
  deps: { readonly storage: StorageProvider; readonly retry: RetryPolicy; readonly random: Random },
  key: string,
): Promise<number> {
  const bytes = await withRetry(`read the header of query index ${key}`, deps.retry, deps.random, async () => {
    try {
      return (await deps.storage.get(key, { range: { offset: 0, length: HEAD_BYTES } })).bytes;
    } catch (error) {
      if (isNotFound(error)) throw new CorruptError(`query index ${key} is missing`, key, { cause: error });
      throw error;
    }
  });
  if (bytes.byteLength < HEAD_BYTES) throw new CorruptError(`query index ${key}: ${bytes.byteLength} bytes is shorter than its header`, key);
  for (let i = 0; i < QUERY_INDEX_MAGIC.length; i++) {
    if (bytes[i] !== QUERY_INDEX_MAGIC[i]) throw new CorruptError(`query index ${key}: bad magic`, key);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(8, true);
}
