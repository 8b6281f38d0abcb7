/**
 * ColdIndexReader: the storage side of a cold ANN query (query/cold-ann.ts)
 * over a segment whose query index is not loaded: ranged reads of the
 * index object, every block CRC-checked, with the same error rules as a
 * whole load (a missing object, a short read or a damaged block is the
 * engine's CorruptError naming the key; the index must match the ref's row
 * count and the namespace's metric).
 *
 * Round trips of a cold query on a compacted namespace, after the manifest:
 * 1. the eager region: `index_eager_bytes` (recorded by the compactor) from
 *    the end of the object in one GET; without it, the trailer first, then
 *    the region;
 * 2. the clusters of the probed lists, one GET per list, in parallel (again
 *    for the next lists when too few live rows were found);
 * 3. format 4: the full-precision rows of the first pass's candidates (the
 *    vectors section's ~4 KiB blocks holding them, adjacent blocks merged),
 *    in parallel;
 * 4. the row store blocks of the returned rows, in parallel.
 * The parsed eager region (meta, centroids, list offsets) is cached per
 * index key: index objects are immutable, so it is valid forever.
 */
import { isNotFound, type StorageProvider } from "@skerry/storage-providers";
import {
  type BlockFileSection,
  blockFileTrailerRange,
  blockSpan,
  type ContainerRef,
  type DistanceMetric,
  decodeBlockFileTrailer,
  isWalFormatError,
  type Random,
  sliceSpan,
  verifyBlockSpan,
} from "@skerry/wal-format";
import { CorruptError } from "./errors.ts";
import {
  type ColdIndexHead,
  isBlockFileIndex,
  type ListRows,
  listClusterRange,
  readColdIndexHead,
  readListRows,
  rowsFromRuns,
  vectorBlockRuns,
} from "./query/cold-ann.ts";
import { isCorruptIndex, isUnsupportedIndexVersion } from "./query/errors.ts";
import { readIdBlock } from "./query/id-set.ts";
import { type RetryPolicy, withRetry } from "./storage-calls.ts";

/** Parsed eager regions kept (index objects are immutable: an entry never goes stale). */
const HEADS_KEPT = 64;

export interface ColdIndexRequest {
  readonly ref: ContainerRef;
  readonly indexKey: string;
  /** The ref's `index_bytes`, when recorded. */
  readonly expectedBytes: number | undefined;
  readonly metric: DistanceMetric;
}

export class ColdIndexReader {
  readonly #storage: StorageProvider;
  readonly #retry: RetryPolicy;
  readonly #random: Random;
  readonly #heads = new Map<string, Promise<ColdIndexHead | null>>();
  #bytesRead = 0;
  #reads = 0;

  constructor(storage: StorageProvider, random: Random, retry: RetryPolicy) {
    this.#storage = storage;
    this.#random = random;
    this.#retry = retry;
  }

  /** Ranged reads made and bytes they returned (cold queries only). */
  stats(): { reads: number; bytes: number } {
    return { reads: this.#reads, bytes: this.#bytesRead };
  }

  /** The index's parsed eager region; null when it cannot be read cold (format 2, or no IVF lists). */
  head(request: ColdIndexRequest): Promise<ColdIndexHead | null> {
    let head = this.#heads.get(request.indexKey);
    if (head === undefined) {
      head = this.#readHead(request);
      this.#heads.set(request.indexKey, head);
      head.catch(() => this.#heads.delete(request.indexKey));
      while (this.#heads.size > HEADS_KEPT) this.#heads.delete(this.#heads.keys().next().value as string);
    } else {
      this.#heads.delete(request.indexKey);
      this.#heads.set(request.indexKey, head);
    }
    return head;
  }

  /** The rows of `lists`, one ranged read per list, in parallel. */
  async lists(key: string, head: ColdIndexHead, lists: readonly number[]): Promise<ListRows[]> {
    return Promise.all(
      lists.map(async (list) => {
        const range = listClusterRange(head, list);
        const bytes = range.length === 0 ? new Uint8Array(0) : await this.#section(key, head, head.clusters, range.offset, range.length);
        return this.#decode(key, () => readListRows(head, list, bytes));
      }),
    );
  }

  /** Format 4: the full-precision rows of `slots` (stride floats each), one ranged read per run of adjacent blocks, in parallel. */
  async vectorRows(key: string, head: ColdIndexHead, slots: ArrayLike<number>): Promise<Map<number, Float32Array>> {
    const runs = this.#decode(key, () => vectorBlockRuns(head, slots));
    const section = head.vectors as BlockFileSection;
    const bytes = await Promise.all(runs.map((run) => this.#section(key, head, section, run.offset, run.length)));
    return this.#decode(key, () => rowsFromRuns(head, slots, runs, bytes));
  }

  /** The ids of id block `block` (id-set.ts), verified. */
  async idBlock(key: string, head: ColdIndexHead, block: number): Promise<Uint8Array[]> {
    const section = head.idSet.blocks;
    const start = section.blockStart(block);
    const bytes = await this.#section(key, head, section, start, section.blockEnd(block) - start);
    const ids = readIdBlock(bytes.byteOffset % 8 === 0 ? bytes : bytes.slice());
    if (typeof ids === "string") throw new CorruptError(`query index ${key} does not decode: ${ids}`, key);
    return ids;
  }

  /** Bytes [offset, offset + length) of the row store (one ranged read of the blocks covering them). */
  rowStore(key: string, head: ColdIndexHead, offset: number, length: number): Promise<Uint8Array> {
    return this.#section(key, head, head.rowStore, offset, length);
  }

  async #readHead(request: ColdIndexRequest): Promise<ColdIndexHead | null> {
    const key = request.indexKey;
    const size = request.expectedBytes ?? (await this.#size(key));
    const recorded = request.ref.extra?.["index_eager_bytes"];
    let tail: Uint8Array;
    if (typeof recorded === "number" && recorded >= 48 && recorded <= size) {
      tail = await this.#read(key, size - recorded, recorded, size);
    } else {
      const trailerAt = this.#decode(key, () => blockFileTrailerRange(size));
      const trailer = await this.#read(key, trailerAt.offset, trailerAt.length, size);
      if (!isBlockFileIndex(trailer, size)) return null; // format 2: loaded whole
      const { eagerOffset } = this.#decode(key, () => decodeBlockFileTrailer(trailer, size));
      tail = await this.#read(key, eagerOffset, size - eagerOffset, size);
    }
    if (!isBlockFileIndex(tail, size)) return null;
    const head: ColdIndexHead | null = this.#decode(key, () => readColdIndexHead(tail, size));
    if (head === null) return null;
    if (head.size !== request.ref.rowCount) {
      throw new CorruptError(`query index ${key} has ${head.size} rows, segment ${request.ref.key} has ${request.ref.rowCount}`, key);
    }
    if (head.metric !== request.metric) {
      throw new CorruptError(`query index ${key} was built for ${head.metric}, the namespace uses ${request.metric}`, key);
    }
    return head;
  }

  /** Section bytes [offset, offset + length), fetched as whole blocks and verified. */
  async #section(key: string, head: ColdIndexHead, section: BlockFileSection, offset: number, length: number): Promise<Uint8Array> {
    const span = this.#decode(key, () => blockSpan(section, offset, length));
    const bytes = await this.#read(key, span.offset, span.length, head.objectBytes);
    return this.#decode(key, () => sliceSpan(span, verifyBlockSpan(head.directory, span, bytes), offset, length));
  }

  async #size(key: string): Promise<number> {
    return withRetry(`read query index ${key}`, this.#retry, this.#random, async () => {
      try {
        const meta = await this.#storage.head(key);
        if (meta === null) throw new CorruptError(`query index ${key} referenced by the manifest is missing`, key);
        return meta.size;
      } catch (error) {
        if (isNotFound(error)) throw new CorruptError(`query index ${key} referenced by the manifest is missing`, key, { cause: error });
        throw error;
      }
    });
  }

  /** Bytes [offset, offset + length) of the object, which must be `size` bytes. */
  async #read(key: string, offset: number, length: number, size: number): Promise<Uint8Array> {
    const result = await withRetry(`read query index ${key}`, this.#retry, this.#random, async () => {
      try {
        return await this.#storage.get(key, { range: { offset, length } });
      } catch (error) {
        if (isNotFound(error)) throw new CorruptError(`query index ${key} referenced by the manifest is missing`, key, { cause: error });
        throw error;
      }
    });
    this.#reads++;
    this.#bytesRead += result.bytes.byteLength;
    if (result.meta.size !== size) throw new CorruptError(`query index ${key} is ${result.meta.size} bytes, its manifest says ${size}`, key);
    if (result.bytes.byteLength !== length) throw new CorruptError(`query index ${key}: a read of ${length} bytes at ${offset} returned ${result.bytes.byteLength}`, key);
    return result.bytes;
  }

  /** Runs a decoding step; damage becomes CorruptError naming the key. */
  #decode<T>(key: string, step: () => T): T {
    try {
      return step();
    } catch (cause) {
      if (isCorruptIndex(cause) || isUnsupportedIndexVersion(cause) || isWalFormatError(cause)) {
        throw new CorruptError(`query index ${key} does not decode: ${(cause as Error).message}`, key, { cause });
      }
      throw cause;
    }
  }
}
