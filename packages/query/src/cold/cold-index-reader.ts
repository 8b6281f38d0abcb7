/**
 * ColdIndexReader: the storage side of a cold ANN query (cold-ann.ts) over
 * a segment whose query index is not loaded: ranged reads of the index
 * object through the caller's IndexObjectSource, every block CRC-checked,
 * with the same error rules as a whole load (a short read or a damaged block
 * is CorruptStoredIndexError naming the key, a missing object the source's
 * error; the index must match the ref's row count and the namespace's
 * metric).
 *
 * Round trips of a cold query on a compacted namespace, after the manifest:
 * 1. the eager region: `index_eager_bytes` (recorded by the compactor) from
 *    the end of the object in one GET; without it, the trailer first, then
 *    the region;
 * 2. the clusters of the probed lists, in parallel (again for the next
 *    lists when too few live rows were found);
 * 3. format 4: the full-precision rows of the first pass's candidates (the
 *    vectors section's ~4 KiB blocks holding them), in parallel;
 * 4. the row store blocks of the returned rows, in parallel.
 * In 2. and 3., ranges of the same object less than `gapBytes` apart are
 * read by one GET (coalesce-ranges.ts): each range's blocks are still verified
 * on their own, the gap's bytes dropped.
 * The parsed eager region (meta, centroids, list offsets) is cached per
 * index key: index objects are immutable, so it is valid forever.
 */
import {
  type BlockFileSection,
  blockSpan,
  type ContainerRef,
  type DistanceMetric,
  sliceSpan,
  verifyBlockSpan,
} from "@skerry/wal-format";
import { CorruptStoredIndexError } from "../errors.ts";
import {
  type ColdIndexHead,
  type ListRows,
  listClusterRange,
  readColdIndexHead,
  readListRows,
  rowsFromRuns,
  vectorBlockRuns,
} from "../cold-ann.ts";
import { readIdBlock } from "../id-set.ts";
import type { ColdIndexFile } from "./cold-array-reader.ts";
import { coalesceRanges } from "./coalesce-ranges.ts";
import { decodeIndexStep, type IndexObjectSource, IndexObjectReads } from "./index-object-reads.ts";

/** Parsed eager regions kept (index objects are immutable: an entry never goes stale). */
const HEADS_KEPT = 64;

/** Default of the engine setting `queryCache.coldReadGapBytes`: ranges this close share one GET. */
export const DEFAULT_COLD_READ_GAP_BYTES = 64 * 1024;

export interface ColdIndexRequest {
  readonly ref: ContainerRef;
  readonly indexKey: string;
  /** The ref's `index_bytes`, when recorded. */
  readonly expectedBytes: number | undefined;
  readonly metric: DistanceMetric;
}

export class ColdIndexReader {
  readonly #io: IndexObjectReads;
  readonly #heads = new Map<string, Promise<ColdIndexHead | null>>();

  readonly #gapBytes: number;

  constructor(source: IndexObjectSource, gapBytes = DEFAULT_COLD_READ_GAP_BYTES) {
    this.#io = new IndexObjectReads(source);
    this.#gapBytes = gapBytes;
  }

  /** Ranged reads made and bytes they returned (cold queries only). */
  stats(): { reads: number; bytes: number } {
    return { reads: this.#io.reads, bytes: this.#io.bytes };
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

  /**
   * The parsed eager region of an index object already opened by a ColdArrayReader (a stored tail chunk,
   * ranged-tail-chunk.ts): parsed from the region `file` holds, no read; null without IVF lists. Cached like `head`.
   */
  headOf(file: ColdIndexFile, metric: DistanceMetric): Promise<ColdIndexHead | null> {
    let head = this.#heads.get(file.key);
    if (head === undefined) {
      head = (async () => {
        const parsed: ColdIndexHead | null = decodeIndexStep(file.key, () => readColdIndexHead(file.tail, file.objectBytes));
        if (parsed === null) return null;
        if (parsed.size !== file.meta.size) throw new CorruptStoredIndexError(`query index ${file.key} has ${parsed.size} rows, its meta document ${file.meta.size}`, file.key);
        if (parsed.metric !== metric) throw new CorruptStoredIndexError(`query index ${file.key} was built for ${parsed.metric}, the namespace uses ${metric}`, file.key);
        return parsed;
      })();
      this.#heads.set(file.key, head);
      head.catch(() => this.#heads.delete(file.key));
      while (this.#heads.size > HEADS_KEPT) this.#heads.delete(this.#heads.keys().next().value as string);
    }
    return head;
  }

  /** Drops the cached eager region of `key` (an object that may be written again under the same key). */
  forget(key: string): void {
    this.#heads.delete(key);
  }

  /** The rows of `lists`: their clusters' ranges, close ones read together, in parallel. */
  async lists(key: string, head: ColdIndexHead, lists: readonly number[]): Promise<ListRows[]> {
    const ranges = lists.map((list) => listClusterRange(head, list));
    const bytes = await this.#sections(key, head, head.clusters, ranges);
    return lists.map((list, i) => decodeIndexStep(key, () => readListRows(head, list, bytes[i] as Uint8Array)));
  }

  /** Format 4: the full-precision rows of `slots` (stride floats each): runs of their blocks, close ones read together, in parallel. */
  async vectorRows(key: string, head: ColdIndexHead, slots: ArrayLike<number>): Promise<Map<number, Float32Array>> {
    const runs = decodeIndexStep(key, () => vectorBlockRuns(head, slots));
    const bytes = await this.#sections(key, head, head.vectors as BlockFileSection, runs);
    return decodeIndexStep(key, () => rowsFromRuns(head, slots, runs, bytes));
  }

  /** The ids of id block `block` (id-set.ts), verified. */
  async idBlock(key: string, head: ColdIndexHead, block: number): Promise<Uint8Array[]> {
    const section = head.idSet.blocks;
    const start = section.blockStart(block);
    const bytes = await this.#section(key, head, section, start, section.blockEnd(block) - start);
    const ids = readIdBlock(bytes.byteOffset % 8 === 0 ? bytes : bytes.slice());
    if (typeof ids === "string") throw new CorruptStoredIndexError(`query index ${key} does not decode: ${ids}`, key);
    return ids;
  }

  /** Bytes [offset, offset + length) of the row store (one ranged read of the blocks covering them). */
  rowStore(key: string, head: ColdIndexHead, offset: number, length: number): Promise<Uint8Array> {
    return this.#section(key, head, head.rowStore, offset, length);
  }

  async #readHead(request: ColdIndexRequest): Promise<ColdIndexHead | null> {
    const key = request.indexKey;
    const region = await this.#io.eagerRegion(key, request.ref, request.expectedBytes);
    if (region === null) return null; // format 2: loaded whole
    const { size, tail } = region;
    const head: ColdIndexHead | null = decodeIndexStep(key, () => readColdIndexHead(tail, size));
    if (head === null) return null;
    if (head.size !== request.ref.rowCount) {
      throw new CorruptStoredIndexError(`query index ${key} has ${head.size} rows, segment ${request.ref.key} has ${request.ref.rowCount}`, key);
    }
    if (head.metric !== request.metric) {
      throw new CorruptStoredIndexError(`query index ${key} was built for ${head.metric}, the namespace uses ${request.metric}`, key);
    }
    return head;
  }

  /**
   * Section bytes of each range (section-relative), fetched as whole blocks and verified: the block spans less than
   * `gapBytes` apart are read by one GET, each span sliced out of it and verified on its own.
   */
  async #sections(key: string, head: ColdIndexHead, section: BlockFileSection, ranges: readonly { offset: number; length: number }[]): Promise<Uint8Array[]> {
    const spans = ranges.map((range) => decodeIndexStep(key, () => blockSpan(section, range.offset, range.length)));
    const out: Uint8Array[] = ranges.map(() => new Uint8Array(0));
    await Promise.all(
      coalesceRanges(spans, this.#gapBytes).map(async (read) => {
        const bytes = await this.#io.read(key, read.offset, read.length, head.objectBytes);
        for (const i of read.members) {
          const span = spans[i]!;
          const own = bytes.subarray(span.offset - read.offset, span.offset - read.offset + span.length);
          const range = ranges[i]!;
          out[i] = decodeIndexStep(key, () => sliceSpan(span, verifyBlockSpan(head.directory, span, own), range.offset, range.length));
        }
      }),
    );
    return out;
  }

  /** Section bytes [offset, offset + length), fetched as whole blocks and verified. */
  async #section(key: string, head: ColdIndexHead, section: BlockFileSection, offset: number, length: number): Promise<Uint8Array> {
    const span = decodeIndexStep(key, () => blockSpan(section, offset, length));
    const bytes = await this.#io.read(key, span.offset, span.length, head.objectBytes);
    return decodeIndexStep(key, () => sliceSpan(span, verifyBlockSpan(head.directory, span, bytes), offset, length));
  }
}
