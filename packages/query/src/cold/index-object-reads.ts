/**
 * IndexObjectReads: ranged reads of one stored query index object, shared
 * by the cold readers (cold-index-reader.ts for ANN, cold-array-reader.ts
 * for text and filters), over the block source the engine provides
 * (`IndexObjectSource`: its sizes and byte ranges, with the engine's own
 * retries and its own error for a missing object). Here: a size that
 * disagrees with the one recorded, a short read, or a bytes step that fails
 * to decode is CorruptStoredIndexError naming the key. Counts the reads and
 * bytes it made.
 */
import { blockFileTrailerRange, type ContainerRef, decodeBlockFileTrailer, isWalFormatError } from "@skerry/wal-format";
import { isBlockFileIndex } from "../cold-ann.ts";
import { CorruptStoredIndexError, isCorruptIndex, isUnsupportedIndexVersion } from "../errors.ts";

/**
 * The narrow interface through which the cold readers reach storage: stored
 * query index objects (immutable, named by key), read whole-object size and
 * byte ranges. The engine implements it over its storage provider, with its
 * retry policy; a missing object is the engine's error (the object is
 * referenced, so missing means corrupt), raised as the engine chooses.
 */
export interface IndexObjectSource {
  /** The object's size in bytes. */
  size(key: string): Promise<number>;
  /** Bytes [offset, offset + length) of the object, and the object's whole size as the store reports it. */
  read(key: string, offset: number, length: number): Promise<{ readonly bytes: Uint8Array; readonly size: number }>;
}

/** Runs a decoding step over an index object's bytes; damage becomes CorruptStoredIndexError naming the key. */
export function decodeIndexStep<T>(key: string, step: () => T): T {
  try {
    return step();
  } catch (cause) {
    if (isCorruptIndex(cause) || isUnsupportedIndexVersion(cause) || isWalFormatError(cause)) {
      throw new CorruptStoredIndexError(`query index ${key} does not decode: ${(cause as Error).message}`, key, { cause });
    }
    throw cause;
  }
}

export class IndexObjectReads {
  reads = 0;
  bytes = 0;

  constructor(readonly source: IndexObjectSource) {}

  /** The object's size, when the manifest did not record it. */
  size(key: string): Promise<number> {
    return this.source.size(key);
  }

  /** Bytes [offset, offset + length) of the object, which must be `size` bytes. */
  async read(key: string, offset: number, length: number, size: number): Promise<Uint8Array> {
    const result = await this.source.read(key, offset, length);
    this.reads++;
    this.bytes += result.bytes.byteLength;
    if (result.size !== size) throw new CorruptStoredIndexError(`query index ${key} is ${result.size} bytes, its manifest says ${size}`, key);
    if (result.bytes.byteLength !== length) throw new CorruptStoredIndexError(`query index ${key}: a read of ${length} bytes at ${offset} returned ${result.bytes.byteLength}`, key);
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
