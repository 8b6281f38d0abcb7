/**
 * SegmentIndexCache: the deserialized query indexes of compacted segments,
 * loaded lazily from storage (one GET per index object) and kept in an LRU
 * bounded by estimated bytes.
 *
 * - Keyed by the index object's key (`index_key` on the segment's manifest
 *   ref). Index objects are create-only and immutable, so an entry never
 *   goes stale; versions and branches sharing a segment share its index.
 * - One load per key at a time: concurrent queries wait on the same load.
 * - Verified before use: the object's size against the ref's `index_bytes`
 *   (when recorded), its BLAKE3 against the ref's `index_hash` (when
 *   recorded by the compactor; the format's body CRC-32 is then skipped, as
 *   the hash already covers every byte and costs less than half as much),
 *   else the format's body CRC-32; the header CRC and structure checks
 *   (`deserializeQueryIndex`), its row count against the ref's
 *   `rowCount` and its metric against the namespace's. Any mismatch is a
 *   `CorruptError` naming the key (never a silently wrong answer); a failed
 *   load is not cached, so a repaired object is read again.
 * - Bytes: an entry costs its serialized size (the index keeps typed-array
 *   views into it) plus its vector memory (the row-major copy, the
 *   normalized copy for COSINE, IVF centroids). Least recently used entries
 *   are dropped while the total exceeds `maxBytes`; `onEvict` lets holders
 *   of a loaded index (the query snapshot cache) drop it too, so memory is
 *   actually released. One index larger than the whole budget is still
 *   served (and dropped on the next load).
 *
 * Errors: `CorruptError` (missing, wrong size, undecodable, mismatching),
 * `StorageFailureError` (reads failing after retries).
 */
import { isNotFound, type StorageProvider } from "@skerry/storage-providers";
import { type ContainerRef, contentHash, type DistanceMetric, type Random } from "@skerry/wal-format";
import { CorruptError, type RetryPolicy, withRetry } from "../core/index.ts";
import { deserializeQueryIndex, isCorruptIndex, isUnsupportedIndexVersion, type QueryIndex } from "@skerry/query";

export interface SegmentIndexCacheStats {
  readonly entries: number;
  readonly bytes: number;
  /** Index objects read from storage. */
  readonly loads: number;
  readonly hits: number;
  readonly evictions: number;
}

export interface SegmentIndexRequest {
  readonly ref: ContainerRef;
  readonly indexKey: string;
  /** `index_bytes` of the ref, when recorded. */
  readonly expectedBytes: number | undefined;
  readonly metric: DistanceMetric;
}

interface Entry {
  readonly index: QueryIndex;
  readonly bytes: number;
}

export class SegmentIndexCache {
  readonly #storage: StorageProvider;
  readonly #random: Random;
  readonly #retry: RetryPolicy;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<QueryIndex>>();
  readonly #onEvict: (key: string, index: QueryIndex) => void;
  #bytes = 0;
  #loads = 0;
  #hits = 0;
  #evictions = 0;

  constructor(storage: StorageProvider, random: Random, retry: RetryPolicy, maxBytes: number, onEvict: (key: string, index: QueryIndex) => void = () => {}) {
    this.#storage = storage;
    this.#random = random;
    this.#retry = retry;
    this.#maxBytes = maxBytes;
    this.#onEvict = onEvict;
  }

  stats(): SegmentIndexCacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, loads: this.#loads, hits: this.#hits, evictions: this.#evictions };
  }

  /** True when the index of `key` is loaded (not merely loading). */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The loaded index of `request.indexKey` (loading it once, whoever asks). */
  get(request: SegmentIndexRequest): Promise<QueryIndex> {
    const key = request.indexKey;
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#hits++;
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      return Promise.resolve(entry.index);
    }
    let loading = this.#loading.get(key);
    if (loading === undefined) {
      loading = this.#load(request).finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
    } else {
      this.#hits++;
    }
    return loading;
  }

  /** Drops every entry (tests, and callers freeing memory). */
  clear(): void {
    for (const [key, entry] of this.#entries) this.#onEvict(key, entry.index);
    this.#entries.clear();
    this.#bytes = 0;
  }

  async #load(request: SegmentIndexRequest): Promise<QueryIndex> {
    const { ref, indexKey: key, expectedBytes, metric } = request;
    const bytes = await withRetry(`read query index ${key}`, this.#retry, this.#random, async () => {
      try {
        return (await this.#storage.get(key)).bytes;
      } catch (error) {
        if (isNotFound(error)) throw new CorruptError(`query index ${key} referenced by the manifest is missing`, key, { cause: error });
        throw error;
      }
    });
    this.#loads++;
    if (expectedBytes !== undefined && bytes.length !== expectedBytes) {
      throw new CorruptError(`query index ${key} is ${bytes.length} bytes, its manifest says ${expectedBytes}`, key);
    }
    const expectedHash = ref.extra?.["index_hash"];
    if (typeof expectedHash === "string") {
      const actual = contentHash(bytes);
      if (actual !== expectedHash) throw new CorruptError(`query index ${key} hashes to ${actual}, its manifest says ${expectedHash}`, key);
    }
    let index: QueryIndex;
    try {
      index = deserializeQueryIndex(bytes, { skipChecksum: typeof expectedHash === "string" });
    } catch (cause) {
      if (isCorruptIndex(cause) || isUnsupportedIndexVersion(cause)) {
        throw new CorruptError(`query index ${key} does not decode: ${(cause as Error).message}`, key, { cause });
      }
      throw cause;
    }
    if (index.size !== ref.rowCount) {
      throw new CorruptError(`query index ${key} has ${index.size} rows, segment ${ref.key} has ${ref.rowCount}`, key);
    }
    if (index.metric !== metric) {
      throw new CorruptError(`query index ${key} was built for ${index.metric}, the namespace uses ${metric}`, key);
    }
    const size = bytes.length + (index.vectors?.memory.buffer.byteLength ?? 0);
    this.#entries.set(key, { index, bytes: size });
    this.#bytes += size;
    this.#evict(key);
    return index;
  }

  /** Drops least recently used entries (never `keep`, the one just loaded) while over budget. */
  #evict(keep: string): void {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      if (key === keep) continue;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
      this.#evictions++;
      this.#onEvict(key, entry.index);
    }
  }
}
