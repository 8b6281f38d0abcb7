/**
 * IndexObjectReads: ranged reads of one stored query index object, shared
 * by the cold readers (cold-index-reader.ts for ANN, cold-array-reader.ts
 * for text and filters), with the engine's error rules: a missing object is
 * CorruptError naming the key (the manifest references it), a size that
 * disagrees with the manifest or a short read is CorruptError, a bytes step
 * that fails to decode is CorruptError; transient failures are retried.
 * Counts the reads and bytes it made.
 */
import { isNotFound, type StorageProvider } from "@skerry/storage-providers";
import { blockFileTrailerRange, type ContainerRef, decodeBlockFileTrailer, isWalFormatError, type Random } from "@skerry/wal-format";
import { CorruptError } from "./errors.ts";
import { isBlockFileIndex } from "./query/cold-ann.ts";
import { isCorruptIndex, isUnsupportedIndexVersion } from "./query/errors.ts";
import { type RetryPolicy, withRetry } from "./storage-calls.ts";

/** Runs a decoding step over an index object's bytes; damage becomes CorruptError naming the key. */
export function decodeIndexStep<T>(key: string, step: () => T): T {
  try {
    return step();
  } catch (cause) {
    if (isCorruptIndex(cause) || isUnsupportedIndexVersion(cause) || isWalFormatError(cause)) {
      throw new CorruptError(`query index ${key} does not decode: ${(cause as Error).message}`, key, { cause });
    }
    throw cause;
  }
}

export class IndexObjectReads {
  reads = 0;
  bytes = 0;

  constructor(
    readonly storage: StorageProvider,
    readonly random: Random,
    readonly retry: RetryPolicy,
  ) {}

  /** The object's size (a HEAD), when the manifest did not record it. */
  size(key: string): Promise<number> {
    return withRetry(`read query index ${key}`, this.retry, this.random, async () => {
      try {
        const meta = await this.storage.head(key);
        if (meta === null) throw new CorruptError(`query index ${key} referenced by the manifest is missing`, key);
        return meta.size;
      } catch (error) {
        if (isNotFound(error)) throw new CorruptError(`query index ${key} referenced by the manifest is missing`, key, { cause: error });
        throw error;
      }
    });
  }

  /** Bytes [offset, offset + length) of the object, which must be `size` bytes. */
  async read(key: string, offset: number, length: number, size: number): Promise<Uint8Array> {
    const result = await withRetry(`read query index ${key}`, this.retry, this.random, async () => {
      try {
        return await this.storage.get(key, { range: { offset, length } });
      } catch (error) {
        if (isNotFound(error)) throw new CorruptError(`query index ${key} referenced by the manifest is missing`, key, { cause: error });
        throw error;
      }
    });
    this.reads++;
    this.bytes += result.bytes.byteLength;
    if (result.meta.size !== size) throw new CorruptError(`query index ${key} is ${result.meta.size} bytes, its manifest says ${size}`, key);
    if (result.bytes.byteLength !== length) throw new CorruptError(`query index ${key}: a read of ${length} bytes at ${offset} returned ${result.bytes.byteLength}`, key);
    return result.bytes;
  }

  /**
   * The object's eager region (everything from its eager offset to the end):
   * one read of the `index_eager_bytes` the compactor recorded, else the
   * trailer first, then the region. Null when the object is not a block file
   * (format 2: loaded whole).
   */
  async eagerRegion(key: string, ref: ContainerRef | null, expectedBytes: number | undefined): Promise<{ size: number; tail: Uint8Array } | null> {
    const size = expectedBytes ?? (await this.size(key));
    const recorded = ref?.extra?.["index_eager_bytes"];
    let tail: Uint8Array;
    if (typeof recorded === "number" && recorded >= 48 && recorded <= size) {
      tail = await this.read(key, size - recorded, recorded, size);
    } else {
      const trailerAt = decodeIndexStep(key, () => blockFileTrailerRange(size));
      const trailer = await this.read(key, trailerAt.offset, trailerAt.length, size);
      if (!isBlockFileIndex(trailer, size)) return null;
      const { eagerOffset } = decodeIndexStep(key, () => decodeBlockFileTrailer(trailer, size));
      tail = await this.read(key, eagerOffset, size - eagerOffset, size);
    }
    return isBlockFileIndex(tail, size) ? { size, tail } : null;
  }
}
