/**
 * StorageIndexSource: the engine's side of @skerry/query's block-reading
 * interface (`IndexObjectSource`): sizes and byte ranges of stored query
 * index objects from the storage provider, with the engine's retry rule
 * (transient failures retried) and error rule (an index a manifest
 * references that is missing is CorruptError naming its key).
 */
import type { IndexObjectSource } from "@skerry/query";
import { isNotFound, type StorageProvider } from "@skerry/storage-providers";
import type { Random } from "@skerry/wal-format";
import { CorruptError, getReferenced, type RetryPolicy, withRetry } from "../core/index.ts";

export class StorageIndexSource implements IndexObjectSource {
  constructor(
    readonly storage: StorageProvider,
    readonly random: Random,
    readonly retry: RetryPolicy,
  ) {}

  size(key: string): Promise<number> {
    return withRetry(`read query index ${key}`, this.retry, this.random, async () => {
      try {
        const meta = await this.storage.head(key);
        if (meta === null) throw missing(key);
        return meta.size;
      } catch (error) {
        if (isNotFound(error)) throw missing(key, error);
        throw error;
      }
    });
  }

  async read(key: string, offset: number, length: number): Promise<{ bytes: Uint8Array; size: number }> {
    const result = await getReferenced(this, key, referenced(key), { range: { offset, length } });
    return { bytes: result.bytes, size: result.meta.size };
  }
}

/** How the engine names an index object in errors: the manifest references it, so missing is corruption. */
function referenced(key: string): string {
  return `query index ${key} referenced by the manifest`;
}

function missing(key: string, cause?: unknown): CorruptError {
  return new CorruptError(`${referenced(key)} is missing`, key, cause === undefined ? {} : { cause });
}
