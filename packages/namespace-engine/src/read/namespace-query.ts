/**
 * The engine's query entry point: `NamespaceEngine.query(path, request)`
 * answers a query (docs/query.md) over one manifest version of a namespace.
 *
 * Partitions of version V, oldest first (the query module's rule: a newer
 * partition's version of an id shadows older ones):
 * - one per indexed segment: the leading SEGMENT containers whose ref has
 *   an `index_key` (compaction output), their stored query index loaded
 *   lazily through SegmentIndexCache (one GET, verified, shared by every
 *   version and branch that references it). Segment positions are row
 *   numbers, and the compactor built the index from the same rows in the
 *   same order, so a tombstone position IS an index position;
 * - one tail partition: every later container (log batches, predicate-UPDATE
 *   segments, and any segment without an index, which also ends the indexed
 *   prefix), folded by TailFold and indexed with `buildQueryIndex` (exact
 *   search, no IVF: the tail is small between compactions).
 * Excluded positions of a segment partition: its tombstones as published at
 * V (the snapshot `sidecarForRead` names), masked positions, and the rows
 * of ids the tail or a newer segment deleted (a deleted id has no newer
 * version to shadow the old one, so the delete is carried as an exclusion;
 * a newer segment carries its deletes as `deleted_ids` markers, tiered
 * compaction). Ids the tail rewrote are shadowed by the tail partition
 * itself, ids a newer segment rewrote by that segment's partition.
 *
 * Caches:
 * - prepared versions (partitions, exclusions and the QuerySnapshot with its
 *   shadow masks), keyed by namespace, incarnation and version, an LRU of
 *   `snapshotEntries` (at most 4 versions per namespace; a commit makes a
 *   new version, older ones age out) whose tail bytes count against
 *   `snapshotBytes`. One build per key at a time;
 * - the newest TailFold per namespace: the next version extends it by the
 *   containers it added (the common case: new log batches), otherwise the
 *   tail is folded afresh (after a compaction, or for an older version);
 * - the segment indexes (byte budget `segmentIndexBytes`); evicting one also
 *   drops the prepared versions holding it, so its memory is released.
 * No materialized state is needed unless a tail PATCH reaches a document
 * whose base lives in an indexed segment: then a cold query reads the base
 * by ranges from the segments' indexes (cold-tail-bases.ts), and the loaded
 * path (or a base holding a text field the patches keep: the index stores
 * text only as tokens) resolves those ids from the state cache. A cold
 * first query on a compacted namespace reads the manifest, the index
 * objects and the tail.
 *
 * Slicing: both entry points run the query with the engine's QuerySlicer
 * (@skerry/query query-slicer.ts): the work that grows with the partition or the
 * answer (exact scans, hits, their sort, rows) yields to the event loop
 * every few milliseconds, one shared budget per turn. `query` returns the
 * rows materialized; `queryRows` returns them as a QueryRows, each row (or
 * its JSON text) made when asked for, so a server can write a 10,000-row
 * answer out in slices without first building 10,000 attribute objects.
 *
 * Consistency: `consistency` and `atVersion` come from the request JSON or
 * the options (a conflict between the two is InvalidArgument); strong reads
 * the latest manifest, eventual may use the cached one up to the engine's
 * `readStalenessMs`, `atVersion` an older retained version. Results depend
 * only on the version's live documents (query module determinism), so a
 * strong read and a fresh process reading the same version agree.
 *
 * Errors: InvalidQueryError (the request), the engine's typed errors
 * (NamespaceNotFound, VersionNotFound, InvalidArgument, Corrupt for a
 * missing, damaged or mismatching index object, Storage).
 */
import type { StorageProvider } from "@skerry/storage-providers";
import type { Clock, ContainerRef, DistanceMetric, Manifest, Random } from "@skerry/wal-format";
import { StorageIndexSource } from "./storage-index-source.ts";
import { decodeTombstones, deletedIdsOf, incarnationOf, indexKeyOf, maskedPositions, mutationWalId, sidecarForRead, verifySnapshot } from "../manifest/index.ts";
import { type ReadOptions, type StoredDocument, textConfigOf, textFieldConfigs } from "../namespace/index.ts";
import { asEngineError, CorruptError, InvalidArgumentError, isCorrupt, namespaceId, type NamespacePath, readReferenced, type RetryPolicy, SerialQueue } from "../core/index.ts";
import type { NamespaceState } from "../state/index.ts";
import { type AggregationResult, blockHolds, bloomMayContain, BM25_B, BM25_K1, type Bm25ParamsOf, buildQueryIndex, candidateVector, checkFilterTypes, COLD_EXACT_BATCH_BYTES, coldAggregate, type ColdAnnFilter, coldAnnFilter, ColdAnnScan, coldAnnSelective, ColdArrayReader, coldAttributeOrder, coldBm25, type ColdCandidates, coldComputedAttributes, ColdDeadSlots, type SegmentMarks, coldDiverse, coldExactVector, coldFilteredVector, coldFilterMatches, coldFilterSlots, type ColdHit, type AnnHit, type ColdIndexFile, type ColdIndexHead, ColdIndexReader, coldListing, type ColdReturnedRow, ColdRows, coldRowsAccess, coldRrf, coldSparse, type ColdTailAnnScan, type ColdTailChunk, coldTailChunks, coldTailMatches, coldTextCombination, type ComputedValue, computeNeedsDeadSlots, type DeadSlots, DEFAULT_COLD_READ_GAP_BYTES, defaultRerank, distanceOf, evaluateFilter, executeQuery, type ExecuteQueryOptions, executeQueryRows, globalListOrder, globalProbeBudget, idBlockOf, type JsonValue, type ListRows, mergeWithTail, needsLoadedPath, ownValue, parseQueryRequest, parseStoredRow, pickRerank, probeTailAlone, type QueryIndex, type QueryRequest, type QueryResult, type QueryRow, QueryRows, type QueryRowsResult, type QuerySlicer, QuerySnapshot, type RankBy, type ResolvedTokenizerConfig, resolveTokenizerConfig, rowStoreRange, scanGlobally, setOwn, tailAnnScans, tailListRows } from "@skerry/query";
import { checkFilterable } from "./filterable-check.ts";
import { type ChunkBuild, type ChunkIndexer, chunkKey, coldTailBases, foldIdentity, isSummarizedFold, type RangedTailChunk, type TailChunk, TailChunkIndexStore, type TailChunkIndexStoreStats, TailChunks, TailFold, tailIndexPrefix } from "../tail/index.ts";
import { SegmentIndexCache, type SegmentIndexCacheStats } from "./segment-index-cache.ts";

/** Options of `NamespaceEngine.query`; the request's own `consistency` / `atVersion` take the same values. */
export interface QueryOptions extends ReadOptions {}

/** A query's result and the manifest version it was answered at. */
export interface NamespaceQueryResult extends QueryResult {
  readonly version: number;
}

/** A query's result with its rows made on demand (`NamespaceEngine.queryRows`), and the version it was answered at. */
export interface NamespaceQueryRows extends QueryRowsResult {
  readonly version: number;
}

export interface QueryCacheSettings {
  /** Estimated bytes of loaded segment indexes kept; default 2 GiB. */
  readonly segmentIndexBytes: number;
  /** Prepared versions (partitions + shadow masks) kept; default 32. */
  readonly snapshotEntries: number;
  /** Estimated bytes of prepared tails kept; default 256 MiB. */
  readonly snapshotBytes: number;
  /**
   * Answer a plain ANN query over a segment whose index is not loaded by
   * ranged reads of the probed lists (@skerry/query cold-ann.ts) instead of loading
   * the whole index first; default true. The index is then loaded in the
   * background when it fits `segmentIndexBytes`.
   */
  readonly coldReads: boolean;
  /**
   * The log tail is indexed in chunks (tail-chunks.ts): a chunk closes once
   * its containers touched `tailChunkDocs` ids or it holds
   * `tailChunkContainers` containers, and is then indexed once (with IVF
   * lists from 4,096 vectors); a new version indexes only the open chunk.
   * `tailChunkFanout` closed chunks of one level merge into one chunk of the
   * next level (LSM style: O(log n) chunks, O(log n) indexing per document).
   * Defaults 16,384, 8 and 4.
   */
  readonly tailChunkDocs: number;
  readonly tailChunkContainers: number;
  readonly tailChunkFanout: number;
  /**
   * Closed tail chunks of at least `tailIndexPersistDocs` documents have
   * their index written as an object (in the background) and read from
   * there by the next process that needs it, instead of indexing their
   * documents again (tail-chunk-index-store.ts); defaults true and 2,048.
   */
  readonly tailIndexPersist: boolean;
  readonly tailIndexPersistDocs: number;
  /**
   * Format-4 indexes: first-pass candidates per segment a cold ANN query
   * re-ranks with full-precision vectors; 0 (default) = max(4 x topK, 40).
   */
  readonly coldRerank: number;
  /**
   * ANN over several segments chooses its lists by one global ranking of
   * every segment's centroids with one probe budget (@skerry/query global-probes.ts;
   * a request's `probes` is then the total); default true. False: each
   * segment probes its own `probes` lists, the behaviour before (kept to
   * measure against, bench/global-probes.ts).
   */
  readonly globalProbes: boolean;
  /**
   * A cold ANN query reads the ranges of one index object (probed lists,
   * vector blocks) that lie less than this many bytes apart with one GET,
   * dropping the gap's bytes (cold-index-reader.ts); default 64 KiB. 0:
   * one GET per range, the behaviour before.
   */
  readonly coldReadGapBytes: number;
  /**
   * A cold exact (kNN) query streams the segments' clusters in batches of
   * about this many bytes, the next batch fetched while one is scored
   * (cold-exact-vector.ts); default 4 MiB.
   */
  readonly coldExactBatchBytes: number;
}

export const DEFAULT_QUERY_CACHE_SETTINGS: QueryCacheSettings = {
  segmentIndexBytes: 2 * 1024 ** 3,
  snapshotEntries: 32,
  snapshotBytes: 256 * 1024 ** 2,
  coldReads: true,
  tailChunkDocs: 16_384,
  tailChunkContainers: 8,
  tailChunkFanout: 4,
  tailIndexPersist: true,
  tailIndexPersistDocs: 2048,
  coldRerank: 0,
  globalProbes: true,
  coldReadGapBytes: DEFAULT_COLD_READ_GAP_BYTES,
  coldExactBatchBytes: COLD_EXACT_BATCH_BYTES,
};

export interface QueryCacheStats {
  readonly segmentIndexes: SegmentIndexCacheStats;
  /** Prepared versions cached. */
  readonly snapshots: number;
  readonly snapshotHits: number;
  readonly snapshotBuilds: number;
  /** Tail builds that extended the previous fold instead of refolding. */
  readonly tailExtensions: number;
  /** Queries answered by ranged reads of a stored index (not loaded), and those reads. */
  readonly coldQueries: number;
  /** Cold queries after which the version was not loaded in the background: its tail has chunks read by range. */
  readonly backgroundLoadsSkipped: number;
  readonly coldReads: number;
  readonly coldBytes: number;
  /** Documents indexed into log-tail chunks (each chunk once; the open chunk once per version). */
  readonly tailDocsIndexed: number;
  /**
   * Dead-slot sets of a version's indexed segments found by ranged reads (the tail's ids, newer segments'
   * deletes, tombstones): made once per version and kept with its cold tail part, not once per query.
   */
  readonly coldDeadSlotSets: number;
  /** Partitions (closed chunks and the open one) of the newest tail built. */
  readonly tailChunks: number;
  /** Persisted tail chunk indexes: read instead of built, written, rejected (tail-chunk-index-store.ts). */
  readonly tailIndexes: TailChunkIndexStoreStats;
  /** Tail chunk merges made in the background, off the query's path (#mergeTail). */
  readonly tailMerges: TailMergeStats;
}

/** A merge a query found owed (NamespaceQuery #queueMerge): the namespace's fold and what its version was built with. */
interface MergeJob {
  readonly path: NamespacePath;
  readonly manifest: Manifest;
  readonly chunks: TailChunks;
  readonly refs: readonly ContainerRef[];
  readonly build: ChunkBuild;
  readonly again: { readonly textKey: string; readonly indexer: ChunkIndexer };
}

/** Background tail chunk merges (NamespaceQuery #mergeTail). */
export interface TailMergeStats {
  /** Merges made (the next query of the namespace uses the merged layout). */
  readonly done: number;
  /** Merges queued or running (at most one per namespace). */
  readonly pending: number;
  /** Merges dropped: the namespace's tail moved on before they ran (the newer version's query queues one again). */
  readonly dropped: number;
  /** Merges that failed (reported to `onTailIndexProblem`; queued again by a later query, after a backoff). */
  readonly failed: number;
  /** Failed merges queued again by a query of their namespace (1 s after the first failure, doubling to 60 s). */
  readonly retried: number;
  /** Merges that needed a summarized fold's batches folded first (made in the background too). */
  readonly refolds: number;
  /** Documents the background merges indexed (counted in `tailDocsIndexed` too). */
  readonly indexedDocs: number;
}

export interface NamespaceQueryDependencies {
  readonly storage: StorageProvider;
  readonly random: Random;
  readonly retry: RetryPolicy;
  /** Times the retries of failed background merges (default the wall clock). */
  readonly clock?: Clock | undefined;
  readonly readManifest: (path: NamespacePath, options: ReadOptions) => Promise<Manifest>;
  readonly readState: <T>(path: NamespacePath, manifest: Manifest, fn: (state: NamespaceState) => T) => Promise<T>;
  readonly settings?: Partial<QueryCacheSettings> | undefined;
  /** Slices the work of every query (one budget per event-loop turn for all of them). */
  readonly slicer: QuerySlicer;
  /** Told of a persisted tail chunk index that could not be read, used or written (the query goes on without it). */
  readonly onTailIndexProblem?: ((error: unknown, path: NamespacePath) => void) | undefined;
}

interface Prepared {
  readonly namespace: string;
  readonly version: number;
  readonly metric: DistanceMetric;
  readonly snapshot: QuerySnapshot;
  /** Excluded positions per partition (undefined: none). */
  readonly excludes: readonly (Uint32Array | undefined)[];
  readonly indexKeys: readonly string[];
  readonly bytes: number;
  /** BM25 k1 and b of the text fields with options (the version's manifest). */
  readonly bm25: Bm25ParamsOf;
  /** The tokenizer config of a text field (the version's manifest; Highlight). */
  readonly textConfig: (field: string) => ResolvedTokenizerConfig;
}

const DEFAULT_BM25 = { k1: BM25_K1, b: BM25_B };

const DEFAULT_TEXT_CONFIG = resolveTokenizerConfig();

/** The tokenizer config of a manifest's text field (the default for a field without options). */
function textConfigFor(manifest: Manifest): (field: string) => ResolvedTokenizerConfig {
  const configs = textConfigOf(manifest.textFields);
  return (field) => configs(field) ?? DEFAULT_TEXT_CONFIG;
}

/** The k1 and b of a manifest's text fields (the defaults for a field without options). */
function bm25ParamsOf(manifest: Manifest): Bm25ParamsOf {
  const fields = manifest.textFields;
  return (field) => fields?.get(field) ?? DEFAULT_BM25;
}

/**
 * executeQuery's options for a prepared version: its exclusions, and ANN lists chosen by one global ranking over
 * every partition with IVF lists, the segments and the tail's closed chunks (the cold path ranks the same lists:
 * cold-tail-ann.ts).
 */
function executeOptions(prepared: Prepared, slicer: QuerySlicer, globalProbes: boolean): ExecuteQueryOptions {
  return { exclude: (_, i) => prepared.excludes[i], slicer, annPartitions: globalProbes ? prepared.excludes.length : 0, bm25: prepared.bm25, textConfig: prepared.textConfig };
}

interface TailPart {
  readonly deleted: readonly string[];
  /**
   * The tail's live documents in chunks (tail-chunks.ts), oldest first, each
   * with the positions later containers superseded as of this version
   * (undefined: none). Chunks are disjoint once those are excluded.
   */
  readonly chunks: readonly { readonly index: QueryIndex; readonly excluded: Uint32Array | undefined }[];
  /**
   * Closed chunks whose stored index is read by range (a tail part made for the cold paths; none in one made
   * for the loaded path), oldest first, each with its dead slots (superseded by later containers): the cold
   * paths take them as partitions after the segments (ranged-tail-chunk.ts). Disjoint from `chunks`.
   */
  readonly stored: readonly { readonly chunk: RangedTailChunk; readonly dead: DeadSlots }[];
  /**
   * A ranged read of stored chunk `key` found it damaged or gone (`error`): reports it and indexes the chunk from
   * the fold instead (run it in the namespace's lane). False when no chunk of this part is read from `key`.
   */
  readonly damaged: (key: string, error: unknown) => boolean;
  /** Every id the tail holds at this version, live or deleted: they shadow older partitions. */
  readonly ids: { has(id: string): boolean } & Iterable<string>;
  readonly bytes: number;
}

/** A tail row as the engine returns it: attributes as requested, the vector when asked. */
function tailRowInto(row: { attributes?: Record<string, JsonValue>; vector?: number[] }, index: QueryIndex, slot: number, request: QueryRequest): void {
  if (request.includeAttributes !== "none") row.attributes = index.attributesOf(slot, request.includeAttributes);
  if (request.includeVectors) {
    const v = index.vectorOf(slot);
    if (v !== undefined) row.vector = Array.from(v);
  }
}

/** The named attributes present in `all`, in the order named (as `attributesOf` returns them). */
function pickAttributes(all: Record<string, JsonValue>, names: readonly string[]): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const name of names) {
    const value = ownValue(all, name);
    if (value !== undefined) setOwn(out, name, value);
  }
  return out;
}

/** A segment of a cold ANN query: its scan, the "maybe shadowed" ids it saw and how to resolve them, its fetched lists. */
interface ProbedSegment {
  readonly scan: ColdAnnScan;
  readonly pending: Set<string>;
  readonly resolve: () => Promise<void>;
  readonly fetched: Map<number, ListRows>;
}

interface CachedPrepared {
  readonly promise: Promise<Prepared>;
  value?: Prepared;
}

const VERSIONS_PER_NAMESPACE = 4;
/** Stored tail chunks found damaged by one query's ranged reads that are rebuilt before its error is thrown. */
const MAX_TAIL_REPAIRS = 16;
/** A failed background merge is queued again by a query this long after the failure, doubling per failure. */
const MERGE_RETRY_BASE_MS = 1000;
const MERGE_RETRY_MAX_MS = 60_000;
/** Cold BM25 and filter queries (#coldTextQuery) only when the version's indexes hold more bytes than this. */
const COLD_TEXT_MIN_INDEX_BYTES = 64 * 1024;

function requestField(json: unknown, name: string): boolean {
  return typeof json === "object" && json !== null && !Array.isArray(json) && Object.hasOwn(json, name);
}

/**
 * The cold array readers of a version: `files` holds the indexed segments' (`refs`, `tombstones`), then the tail's
 * chunks read by range (`tail.stored`).
 */
interface ColdArrays {
  readonly refs: ContainerRef[];
  readonly files: ColdIndexFile[];
  readonly tail: TailPart;
  readonly tombstones: Iterable<number>[];
  readonly metric: DistanceMetric;
}

/** A cold ANN query: the request, its segments (refs, index keys, heads, tombstones), the tail and a filter's matches. */
interface ColdAnn {
  readonly request: QueryRequest;
  readonly vector: Float32Array;
  readonly metric: DistanceMetric;
  /** The indexed segments' refs; `keys` and `heads` hold theirs, then the tail's stored chunks' (`tail.stored`). */
  readonly refs: readonly ContainerRef[];
  readonly keys: readonly string[];
  readonly heads: readonly ColdIndexHead[];
  readonly tail: TailPart;
  readonly tombstones: readonly Iterable<number>[];
  readonly filtered: ColdAnnFilter | undefined;
  /** With a filter selective in some segments: the segments' files and dead slots (their exact scans). */
  readonly selective?: { readonly files: readonly ColdIndexFile[]; readonly dead: readonly DeadSlots[] } | undefined;
}

/** A cold ANN ranking's rows, and per segment its re-ranked candidates and the lists it fetched. */
interface AnnRun {
  readonly hits: AnnHit[];
  readonly candidates: { readonly found: ColdCandidates; readonly fetched: Map<number, ListRows> }[];
}

/** The fetched list of a cold ANN query's segment `s` that holds `slot` (CorruptError when none does). */
function annListOf(candidates: readonly { readonly fetched: ReadonlyMap<number, ListRows> }[], keys: readonly string[], s: number, slot: number): ListRows {
  for (const rows of candidates[s]!.fetched.values()) {
    let count = 0;
    for (const c of rows.clusters) count += c.count;
    if (slot >= rows.start && slot < rows.start + count) return rows;
  }
  throw new CorruptError(`query index ${keys[s]}: a returned row is in no fetched list`, keys[s] as string);
}

/** The leading containers with a stored query index. */
function indexedPrefix(manifest: Manifest): number {
  let n = 0;
  for (const ref of manifest.containers) {
    if (ref.kind !== "SEGMENT" || indexKeyOf(ref) === undefined || mutationWalId(ref) !== undefined) break;
    n++;
  }
  return n;
}

/** What each segment's manifest entry says of its rows, for ColdDeadSlots. */
function segmentMarks(refs: readonly ContainerRef[]): SegmentMarks[] {
  return refs.map((ref) => ({ masked: maskedPositions(ref), deletedIds: deletedIdsOf(ref) }));
}

function indexBytesOf(ref: ContainerRef): number | undefined {
  const value = ref.extra?.["index_bytes"];
  return typeof value === "number" ? value : undefined;
}

export class NamespaceQuery {
  readonly #deps: NamespaceQueryDependencies;
  readonly #settings: QueryCacheSettings;
  readonly #segments: SegmentIndexCache;
  readonly #prepared = new Map<string, CachedPrepared>();
  /** The newest tail fold per namespace, with its chunk indexes (extended while versions only append). */
  readonly #tails = new Map<string, TailChunks>();
  /** A fresh fold's stored chunks opened before it was made (`openCovered`): its first advance does not look again. */
  readonly #covered = new WeakMap<TailChunks, ReadonlyMap<string, RangedTailChunk | undefined>>();
  /** The full-text options (JSON of their tokenizer configs) each tail fold's chunks are indexed under. */
  readonly #tailTextKeys = new WeakMap<TailChunks, string>();
  readonly #lanes = new SerialQueue();
  #snapshotHits = 0;
  #snapshotBuilds = 0;
  #tailExtensions = 0;
  #coldQueries = 0;
  #backgroundLoadsSkipped = 0;
  #tailDocsIndexed = 0;
  /** The dead slots of a version's segments, per its cold tail part (one per version) and segment files. */
  readonly #segmentDead = new WeakMap<TailPart, Map<string, Promise<DeadSlots[]>>>();
  readonly #segmentIdDead = new WeakMap<TailPart, Map<string, Promise<Uint32Array[]>>>();
  #deadSlotSets = 0;
  #tailChunks = 0;
  /** The background merge queued or running per namespace (#mergeTail): one at a time. */
  readonly #merges = new Map<string, Promise<void>>();
  /** The newest merge asked for per namespace, not started yet (the queued merge runs it). */
  readonly #mergeJobs = new Map<string, MergeJob>();
  /** A merge that failed, per namespace: queued again by a query of the namespace once `retryAt` has passed. */
  readonly #owedMerges = new Map<string, { readonly job: MergeJob; readonly failures: number; readonly retryAt: number }>();
  #mergesDone = 0;
  #mergesDropped = 0;
  #mergesFailed = 0;
  #mergeRefolds = 0;
  #mergeDocs = 0;
  #mergeRetries = 0;
  readonly #tailIndexes: TailChunkIndexStore;
  readonly #cold: ColdIndexReader;
  /** Cold BM25 and filter queries (#coldTextQuery): element ranges of stored arrays, dead slots, returned rows. */
  readonly #coldArrays: ColdArrayReader;
  readonly #coldDead: ColdDeadSlots;
  readonly #coldRows: ColdRows;
  /** The newest prepared tail per namespace (shared by cold queries and #build). */
  readonly #tailParts = new Map<string, { key: string; promise: Promise<TailPart> }>();
  /**
   * The newest cold tail part per namespace (#coldTail): its chunks read by range stay valid while the loaded
   * path loads them whole in the lane, so cold queries of the version take it without waiting for that.
   */
  readonly #coldTailParts = new Map<string, { key: string; promise: Promise<TailPart | null> }>();

  constructor(deps: NamespaceQueryDependencies) {
    this.#deps = deps;
    this.#settings = { ...DEFAULT_QUERY_CACHE_SETTINGS, ...deps.settings };
    for (const [name, value] of Object.entries(this.#settings)) {
      if (name === "coldReads" || name === "globalProbes" || name === "tailIndexPersist") {
        if (typeof value !== "boolean") throw new InvalidArgumentError(`query cache setting ${name} must be a boolean`);
      } else if (typeof value !== "number" || !(value >= 0)) throw new InvalidArgumentError(`query cache setting ${name} must be a non-negative number`);
    }
    this.#segments = new SegmentIndexCache(deps.storage, deps.random, deps.retry, this.#settings.segmentIndexBytes, (key) => this.#dropHolding(key));
    // Ranged reads of stored indexes reach storage only through this source (@skerry/query's IndexObjectSource).
    const source = new StorageIndexSource(deps.storage, deps.random, deps.retry);
    this.#cold = new ColdIndexReader(source, this.#settings.coldReadGapBytes);
    this.#coldArrays = new ColdArrayReader(source);
    this.#coldDead = new ColdDeadSlots(this.#coldArrays);
    this.#coldRows = new ColdRows(this.#coldArrays);
    this.#tailIndexes = new TailChunkIndexStore(
      { ...deps, arrays: this.#coldArrays, forget: (key) => this.#cold.forget(key) },
      { persist: this.#settings.tailIndexPersist, minDocuments: this.#settings.tailIndexPersistDocs },
      (error, path) => deps.onTailIndexProblem?.(error, path),
    );
  }

  /** Resolves once the background tail merges and writes of tail chunk indexes queued so far are done. */
  async flush(): Promise<void> {
    while (this.#merges.size > 0) await Promise.all([...this.#merges.values()]);
    return this.#tailIndexes.flush();
  }

  stats(): QueryCacheStats {
    return {
      segmentIndexes: this.#segments.stats(),
      snapshots: this.#prepared.size,
      snapshotHits: this.#snapshotHits,
      snapshotBuilds: this.#snapshotBuilds,
      tailExtensions: this.#tailExtensions,
      coldQueries: this.#coldQueries,
      backgroundLoadsSkipped: this.#backgroundLoadsSkipped,
      coldReads: this.#cold.stats().reads + this.#coldArrays.stats().reads,
      coldBytes: this.#cold.stats().bytes + this.#coldArrays.stats().bytes,
      tailDocsIndexed: this.#tailDocsIndexed,
      coldDeadSlotSets: this.#deadSlotSets,
      tailChunks: this.#tailChunks,
      tailIndexes: this.#tailIndexes.stats(),
      tailMerges: { done: this.#mergesDone, pending: this.#merges.size, dropped: this.#mergesDropped, failed: this.#mergesFailed, retried: this.#mergeRetries, refolds: this.#mergeRefolds, indexedDocs: this.#mergeDocs },
    };
  }

  /** Drops everything cached for `path` (prepared versions and its tail fold). */
  invalidate(path: NamespacePath): void {
    const id = namespaceId(path);
    this.#tails.delete(id);
    this.#tailParts.delete(id);
    this.#coldTailParts.delete(id);
    this.#owedMerges.delete(id);
    for (const [key, entry] of this.#prepared) if (entry.value?.namespace === id || key.startsWith(`${id}@`)) this.#prepared.delete(key);
  }

  async query(path: NamespacePath, json: unknown, options: QueryOptions = {}): Promise<NamespaceQueryResult> {
    try {
      return await this.#query(path, json, options);
    } catch (error) {
      throw asEngineError(error);
    }
  }

  async queryRows(path: NamespacePath, json: unknown, options: QueryOptions = {}): Promise<NamespaceQueryRows> {
    try {
      return await this.#queryRows(path, json, options);
    } catch (error) {
      throw asEngineError(error);
    }
  }

  async #query(path: NamespacePath, json: unknown, options: QueryOptions): Promise<NamespaceQueryResult> {
    const plan = await this.#plan(path, json, options);
    if ("cold" in plan) return { rows: plan.cold, ...plan.aggregated, version: plan.version };
    const { prepared, request, version } = plan;
    const result = await executeQuery(prepared.snapshot, request, executeOptions(prepared, this.#deps.slicer, this.#settings.globalProbes));
    return { ...result, version };
  }

  async #queryRows(path: NamespacePath, json: unknown, options: QueryOptions): Promise<NamespaceQueryRows> {
    const plan = await this.#plan(path, json, options);
    if ("cold" in plan) return { rows: QueryRows.materialized(plan.cold), ...plan.aggregated, version: plan.version };
    const { prepared, request, version } = plan;
    const result = await executeQueryRows(prepared.snapshot, request, executeOptions(prepared, this.#deps.slicer, this.#settings.globalProbes));
    return { ...result, version };
  }

  /** The request parsed for the version it resolves to, and that version prepared. */
  async #plan(
    path: NamespacePath,
    json: unknown,
    options: QueryOptions,
  ): Promise<{ prepared: Prepared; request: QueryRequest; version: number } | { cold: QueryRow[]; aggregated?: AggregationResult; version: number }> {
    // Validate the request's shape first (InvalidQueryError), then pick the version, then check the dimension.
    const shape = parseQueryRequest(json);
    const consistency = requestField(json, "consistency") ? shape.consistency : options.consistency;
    if (requestField(json, "consistency") && options.consistency !== undefined && options.consistency !== shape.consistency) {
      throw new InvalidArgumentError(`consistency ${JSON.stringify(shape.consistency)} in the request conflicts with ${JSON.stringify(options.consistency)} in the options`);
    }
    if (shape.atVersion !== undefined && options.atVersion !== undefined && options.atVersion !== shape.atVersion) {
      throw new InvalidArgumentError(`atVersion ${shape.atVersion} in the request conflicts with ${options.atVersion} in the options`);
    }
    const atVersion = shape.atVersion ?? options.atVersion;
    const manifest = await this.#deps.readManifest(path, { consistency, atVersion });
    this.#retryMerge(namespaceId(path));
    const dimension = manifest.vector?.dimension;
    const request = dimension === undefined ? shape : parseQueryRequest(json, { dimension });
    checkFilterable(request, manifest.schema);
    // Features only the loaded executor answers never reach a cold path (loaded-only.ts).
    if (!needsLoadedPath(request)) {
      for (let attempt = 0; ; attempt++) {
        try {
          const cold = await this.#coldPlan(path, manifest, request);
          if (cold !== undefined) return cold;
          break;
        } catch (error) {
          // A stored tail chunk found damaged or gone by a ranged read: indexed from the fold, then answered again.
          const failure = asEngineError(error);
          if (attempt >= MAX_TAIL_REPAIRS || !(await this.#repairTail(path, failure))) throw failure;
        }
      }
    }
    const prepared = await this.#prepare(path, manifest);
    return {
      prepared,
      request: request.distanceMetric === undefined ? { ...request, distanceMetric: prepared.metric } : request,
      version: manifest.version,
    };
  }

  /** The request answered by a cold path (ranged reads), or undefined when none serves it (the caller loads). */
  async #coldPlan(path: NamespacePath, manifest: Manifest, request: QueryRequest): Promise<{ cold: QueryRow[]; aggregated?: AggregationResult; version: number } | undefined> {
    if (request.aggregateBy !== undefined && request.rankBy !== undefined) {
      const both = await this.#coldRankedAggregate(path, manifest, request);
      if (both !== undefined) return { cold: both.rows, aggregated: both.aggregated, version: manifest.version };
    }
    // A plain ANN query over indexes not loaded: ranged reads instead of loading them (#coldQuery).
    const cold = await this.#coldQuery(path, manifest, request);
    if (cold !== undefined) return { cold: cold.rows, version: manifest.version };
    const coldText = await this.#coldTextQuery(path, manifest, request);
    if (coldText !== undefined) return { cold: coldText.rows, version: manifest.version };
    const coldExact = await this.#coldExactQuery(path, manifest, request);
    if (coldExact !== undefined) return { cold: coldExact, version: manifest.version };
    const coldAggregated = await this.#coldAggregateQuery(path, manifest, request);
    if (coldAggregated !== undefined) return { cold: [], aggregated: coldAggregated, version: manifest.version };
    return undefined;
  }

  /**
   * After a cold path failed with `error`: when it is a CorruptError naming one of `path`'s stored tail chunks
   * read by range (damaged, or deleted behind the engine's back), that chunk is reported and indexed from the
   * fold (tail-chunk-index-store.ts `damaged`) and true returned: the query is answered again. False otherwise.
   */
  async #repairTail(path: NamespacePath, error: unknown): Promise<boolean> {
    if (!isCorrupt(error) || !error.key.startsWith(tailIndexPrefix(path))) return false;
    const id = namespaceId(path);
    return this.#lanes.run(id, async () => {
      const part = await this.#coldTailParts.get(id)?.promise.catch(() => undefined);
      return part?.damaged(error.key, error) ?? false;
    });
  }

  #prepare(path: NamespacePath, manifest: Manifest): Promise<Prepared> {
    const id = namespaceId(path);
    const key = `${id}@${incarnationOf(manifest)}@${manifest.version}`;
    const cached = this.#prepared.get(key);
    if (cached !== undefined) {
      this.#snapshotHits++;
      this.#prepared.delete(key);
      this.#prepared.set(key, cached);
      return cached.promise;
    }
    this.#snapshotBuilds++;
    const entry: CachedPrepared = {
      promise: this.#lanes.run(id, () => this.#build(path, id, manifest)),
    };
    this.#prepared.set(key, entry);
    entry.promise.then(
      (value) => {
        entry.value = value;
        this.#evict(id, key);
      },
      () => {
        if (this.#prepared.get(key) === entry) this.#prepared.delete(key);
      },
    );
    return entry.promise;
  }

  /**
   * The tail partition of `manifest`'s version: its live documents indexed
   * (exact), the ids it deleted, every id it holds (live or deleted: they
   * shadow older partitions). Cached for the namespace's newest version, so
   * a cold query and the load that follows build it once. PATCHes of
   * documents whose base lives in an indexed segment: with `resolveBases`
   * (the loaded path) the bases come from the materialized state; without
   * (a cold query) they are read by ranges (#coldBases), and when that is
   * not served the answer is null (the caller loads instead).
   * `ranged` (the cold paths): closed chunks whose index is stored are
   * opened for ranged reads (`stored`) rather than read whole; a part made
   * so is not what the loaded path takes (it loads them whole).
   */
  async #tailPart(path: NamespacePath, id: string, manifest: Manifest, resolveBases: boolean, ranged = false): Promise<TailPart | null> {
    try {
      return await this.#tailPartOnce(path, id, manifest, resolveBases, ranged, true);
    } catch (error) {
      // A fold started from stored chunk summaries needed one of their documents: fold the batches instead.
      if (!isSummarizedFold(error)) throw error;
      this.#tailIndexes.countRefold();
      this.#tails.delete(id);
      return this.#tailPartOnce(path, id, manifest, resolveBases, ranged, false);
    }
  }

  /** #tailPart; `summaries`: a fresh fold for the cold paths may start from stored chunks' fold summaries. */
  async #tailPartOnce(path: NamespacePath, id: string, manifest: Manifest, resolveBases: boolean, ranged: boolean, summaries: boolean): Promise<TailPart | null> {
    const key = `${id}@${incarnationOf(manifest)}@${manifest.version}`;
    const cached = this.#tailParts.get(id);
    if (cached?.key === key) {
      const part = await cached.promise.catch(() => undefined);
      if (part !== undefined && (ranged || part.stored.length === 0)) return part;
    }
    const metric: DistanceMetric = manifest.vector?.metric ?? "COSINE";
    const dimension = manifest.vector?.dimension;
    // The tail is indexed under the version's full-text options; a fold made under other options is not extended.
    const textFields = textFieldConfigs(manifest.textFields);
    const refs = manifest.containers.slice(indexedPrefix(manifest));
    const textKey = JSON.stringify(textFields ?? {});
    const build: ChunkBuild = { metric, dimension: dimension ?? null, textFields: textKey };
    const cover = summaries && ranged && this.#settings.coldReads ? { path, build } : undefined;
    const indexer: ChunkIndexer = (docs, closed) => buildQueryIndex(docs, { metric, ...(dimension === undefined ? {} : { dimension }), ...(closed ? { ann: true } : {}), textFields });
    const chunks = await this.#fold(id, refs, textKey, indexer, cover);
    // PATCHes of documents whose base lives in an indexed segment: read the bases cold when asked to stay cold.
    if (chunks.fold.needsBase.size > 0 && !resolveBases && !(await this.#coldBases(manifest, chunks.fold))) return null;
    const promise = this.#buildTail(path, manifest, chunks, refs, build, ranged, { textKey, indexer });
    this.#tailParts.set(id, { key, promise });
    promise.catch(() => {
      if (this.#tailParts.get(id)?.promise === promise) this.#tailParts.delete(id);
    });
    return promise;
  }

  /**
   * Resolves the fold's `needsBase` ids from the version's indexed segments by ranged reads (cold-tail-bases.ts);
   * false when that is not served (a format-2 index, an index without an id set, a base whose text the patches
   * keep): the fold is left as it was, and the caller loads.
   */
  async #coldBases(manifest: Manifest, fold: TailFold): Promise<boolean> {
    const refs = manifest.containers.slice(0, indexedPrefix(manifest));
    const [opened, tombstones] = await Promise.all([
      Promise.all(refs.map((ref) => this.#coldArrays.open({ ref, indexKey: indexKeyOf(ref) as string, expectedBytes: indexBytesOf(ref) }))),
      Promise.all(refs.map((ref) => this.#tombstones(ref))),
    ]);
    if (opened.some((file) => file === null || file.meta.idSet === undefined)) return false;
    const ids = [...fold.needsBase];
    const bases = await coldTailBases({
      reader: this.#coldArrays,
      ids: this.#coldDead,
      rows: this.#coldRows,
      files: opened as ColdIndexFile[],
      refs,
      tombstones,
      wanted: new Map(ids.map((docId) => [docId, fold.pendingTextFields(docId)])),
    });
    if (bases === undefined) return false;
    for (const [docId, base] of bases) fold.resolveBase(docId, base);
    return true;
  }

  async #buildTail(
    path: NamespacePath,
    manifest: Manifest,
    chunks: TailChunks,
    refs: readonly ContainerRef[],
    build: ChunkBuild,
    ranged: boolean,
    again: { readonly textKey: string; readonly indexer: ChunkIndexer },
  ): Promise<TailPart> {
    const { fold } = chunks;
    // PATCHes of documents whose base lives in an indexed segment: take them from the materialized state.
    if (fold.needsBase.size > 0) {
      const ids = [...fold.needsBase];
      const docs = await this.#deps.readState(path, manifest, (state) => ids.map((docId) => state.get(docId) ?? null));
      ids.forEach((docId, i) => {
        fold.resolve(docId, docs[i] as StoredDocument | null);
      });
    }
    const before = chunks.indexedDocs;
    const tried = this.#covered.get(chunks);
    this.#covered.delete(chunks);
    // A fold indexed before closes its new chunks without merging full levels: the merge runs in the background
    // (#mergeTail). A fold indexed for the first time plans the merged layout (each document indexed once).
    const defer = chunks.closed.length > 0;
    chunks.merges = !defer;
    let open: TailChunk;
    try {
      open = await this.#tailIndexes.advance(path, chunks, refs, build, ranged && this.#settings.coldReads, tried);
    } finally {
      chunks.merges = true;
    }
    if (defer && chunks.mergeDue()) this.#queueMerge({ path, manifest, chunks, refs, build, again });
    // The loaded path holds every chunk in memory: those an earlier cold query read by range are loaded whole now.
    if (!ranged) await this.#tailIndexes.materialize(path, chunks, refs, build);
    this.#tailDocsIndexed += chunks.indexedDocs - before;
    this.#tailChunks = chunks.closed.length + 1;
    const parts: { index: QueryIndex; excluded: Uint32Array | undefined }[] = [];
    const stored: { chunk: RangedTailChunk; dead: DeadSlots }[] = [];
    let bytes = open.bytes;
    for (const chunk of [...chunks.closed, open]) {
      if (chunk !== open) bytes += chunk.bytes;
      if (chunk.ranged !== undefined) {
        if (!ranged) throw new Error("unreachable: a ranged tail chunk was not loaded for the loaded path");
        // A ranged chunk's excluded positions are its slots.
        const slots = Uint32Array.from(chunk.excluded).sort();
        let mask: Uint8Array | null = null;
        if (slots.length > 0) {
          mask = new Uint8Array(chunk.ranged.size);
          for (const slot of slots) mask[slot] = 1;
        }
        stored.push({ chunk: chunk.ranged, dead: { mask, slots } });
        continue;
      }
      if (chunk.index === null) continue;
      parts.push({ index: chunk.index, excluded: chunk.excluded.size === 0 ? undefined : Uint32Array.from(chunk.excluded).sort() });
    }
    const damaged = (key: string, error: unknown): boolean => {
      const indexed = chunks.indexedDocs;
      let found: boolean;
      try {
        found = this.#tailIndexes.damaged(path, chunks, refs, build, key, error);
      } catch (failure) {
        // The damaged chunk's containers were summarized: the next answer folds the tail again (the chunk's
        // object is skipped until written again, so its batches are read and it is indexed from them).
        if (!isSummarizedFold(failure)) throw failure;
        this.#tailIndexes.countRefold();
        this.#tails.delete(namespaceId(path));
        found = true;
      }
      this.#tailDocsIndexed += chunks.indexedDocs - indexed;
      if (found) {
        this.#tailParts.delete(namespaceId(path));
        this.#coldTailParts.delete(namespaceId(path));
      }
      return found;
    };
    const containers = fold.identities.length;
    const ids = {
      has: (docId: string) => fold.heldWithin(docId, containers),
      *[Symbol.iterator]() {
        for (const docId of fold.ids()) if (fold.heldWithin(docId, containers)) yield docId;
      },
    };
    return { deleted: [...fold.deleted], chunks: parts, stored, damaged, ids, bytes };
  }

  /**
   * Queues the merge `job.chunks` owes (closed by a query without merging full levels) in the namespace's lane,
   * after the query that closed them: one at a time per namespace. A merge asked for while one is queued replaces
   * its job; while one runs, it runs next.
   */
  #queueMerge(job: MergeJob): void {
    const id = namespaceId(job.path);
    // The newest version's merge replaces one not started yet (that one would be stale when it ran).
    this.#mergeJobs.set(id, job);
    if (this.#merges.has(id)) return;
    const merge = this.#lanes
      .run(id, () => {
        const next = this.#mergeJobs.get(id) as MergeJob;
        this.#mergeJobs.delete(id);
        return this.#mergeTail(id, next).then(
          () => {
            // Done, or dropped as stale: an older failed job is owed no more.
            this.#owedMerges.delete(id);
          },
          (error: unknown) => {
            // Never surfaced to a query: reported, and queued again by a later query of the namespace (#retryMerge).
            this.#mergesFailed++;
            const failures = (this.#owedMerges.get(id)?.failures ?? 0) + 1;
            const backoff = Math.min(MERGE_RETRY_MAX_MS, MERGE_RETRY_BASE_MS * 2 ** (failures - 1));
            this.#owedMerges.set(id, { job: next, failures, retryAt: this.#now() + backoff });
            this.#deps.onTailIndexProblem?.(error, next.path);
          },
        );
      })
      .finally(() => {
        if (this.#merges.get(id) === merge) this.#merges.delete(id);
        // One queued while this one ran (a newer version's): it runs next.
        const newer = this.#mergeJobs.get(id);
        if (newer !== undefined) this.#queueMerge(newer);
      });
    this.#merges.set(id, merge);
  }

  /**
   * Queues again the merge that failed for namespace `id`, once its backoff has passed and no merge of the
   * namespace is queued or running. Without this a failed merge would stay owed until a write: the queries of a
   * version already prepared never look for one. A stale job is dropped by #mergeTail as usual.
   */
  #retryMerge(id: string): void {
    const owed = this.#owedMerges.get(id);
    if (owed === undefined || this.#merges.has(id) || this.#now() < owed.retryAt) return;
    if (this.#tails.get(id) !== owed.job.chunks) {
      // The namespace's fold moved on: its own queries queue what it owes.
      this.#owedMerges.delete(id);
      return;
    }
    this.#mergeRetries++;
    this.#queueMerge(owed.job);
  }

  #now(): number {
    return (this.#deps.clock ?? Date).now();
  }

  /**
   * Merges the full levels of `chunks` (the namespace's newest fold, of `refs`): the next query's tail part is made
   * from the merged chunks. Dropped when the namespace's fold moved on (another fold, more containers, bases to
   * resolve): that version's query queues its own. A merge that needs a summarized chunk's documents folds the
   * batches of `manifest`'s version (a new fold, its chunks read stored or built, the merged ones built) and keeps that.
   */
  async #mergeTail(id: string, { path, manifest, chunks, refs, build, again }: MergeJob): Promise<void> {
    if (this.#tails.get(id) !== chunks || chunks.fold.identities.length !== refs.length || chunks.fold.needsBase.size > 0 || !chunks.mergeDue()) {
      this.#mergesDropped++;
      return;
    }
    const before = chunks.indexedDocs;
    try {
      await this.#tailIndexes.advance(path, chunks, refs, build, this.#settings.coldReads);
      this.#countMerged(chunks.indexedDocs - before);
    } catch (error) {
      this.#countMerged(chunks.indexedDocs - before);
      if (!isSummarizedFold(error)) throw error;
      // The merge needs documents the stored chunks hold: fold the version's batches (the query's fold is kept
      // until this one is indexed, so a failure leaves it as it was).
      this.#mergeRefolds++; // not `tailIndexes.refolds`: those are the query path's
      const deps = { storage: this.#deps.storage, random: this.#deps.random, retry: this.#deps.retry };
      const fresh = new TailChunks(new TailFold(), again.indexer, chunks.limits);
      await fresh.fold.extend(deps, refs);
      if (fresh.fold.needsBase.size > 0) {
        // PATCH bases from the materialized state of the version the fold is of (as #buildTail takes them).
        const ids = [...fresh.fold.needsBase];
        const docs = await this.#deps.readState(path, manifest, (state) => ids.map((docId) => state.get(docId) ?? null));
        ids.forEach((docId, i) => {
          fresh.fold.resolve(docId, docs[i] as StoredDocument | null);
        });
      }
      const indexed = fresh.indexedDocs;
      await this.#tailIndexes.advance(path, fresh, refs, build, this.#settings.coldReads);
      this.#countMerged(fresh.indexedDocs - indexed);
      if (this.#tails.get(id) !== chunks) {
        this.#mergesDropped++;
        return;
      }
      this.#tailTextKeys.set(fresh, again.textKey);
      this.#tails.set(id, fresh);
    }
    this.#mergesDone++;
    // The version's tail parts and prepared snapshots hold the unmerged chunks: the next query makes them again.
    this.#tailParts.delete(id);
    this.#coldTailParts.delete(id);
    for (const key of [...this.#prepared.keys()]) if (key.startsWith(`${id}@`)) this.#prepared.delete(key);
  }

  #countMerged(docs: number): void {
    this.#tailDocsIndexed += docs;
    this.#mergeDocs += docs;
  }

  /**
   * The indexed segments of `manifest`'s version and their index keys, when
   * a query of it may be answered cold: the version is not prepared.
   * `loaded`: every segment index is loaded (or there is none), so the
   * query is answered cold only when its tail has chunks read by range
   * (TailPart `stored`). Undefined when warm.
   */
  #coldSegments(id: string, manifest: Manifest): { refs: ContainerRef[]; keys: string[]; loaded: boolean } | undefined {
    if (this.#prepared.get(`${id}@${incarnationOf(manifest)}@${manifest.version}`)?.value !== undefined) return undefined; // warm
    const prefix = indexedPrefix(manifest);
    const refs = manifest.containers.slice(0, prefix);
    const keys = refs.map((ref) => indexKeyOf(ref) as string);
    return { refs, keys, loaded: keys.every((key) => this.#segments.has(key)) };
  }

  /**
   * The cold tail part of `manifest`'s version (stored chunks opened for ranged reads): the cached one, else made
   * in the namespace's lane (the cached fold is extended in place, one build at a time: #fold).
   */
  #coldTail(path: NamespacePath, id: string, manifest: Manifest): Promise<TailPart | null> {
    const key = `${id}@${incarnationOf(manifest)}@${manifest.version}`;
    const cached = this.#coldTailParts.get(id);
    if (cached?.key === key) return cached.promise;
    const promise = this.#lanes.run(id, () => this.#tailPart(path, id, manifest, false, true));
    this.#coldTailParts.set(id, { key, promise });
    promise.catch(() => {
      if (this.#coldTailParts.get(id)?.promise === promise) this.#coldTailParts.delete(id);
    });
    return promise;
  }

  /**
   * A plain ANN query (dense vector, `ANN`, the namespace's metric, no
   * filter or aggregation) over a version whose indexed segments are not
   * loaded, answered by ranged reads (ColdIndexReader, @skerry/query cold-ann.ts):
   * the same rows `executeQuery` gives over the loaded indexes. A row of an
   * older segment is dead when its position is tombstoned or masked, when
   * the tail or a newer segment deleted its id (delete markers), or when a
   * newer segment or the tail holds its id (shadowed: tested through each
   * newer segment's id set, a Bloom filter and, for a "maybe", one id
   * block). The lists are chosen across the segments by one global ranking
   * of their centroids and one probe budget, as the loaded path chooses them
   * (@skerry/query global-probes.ts; `globalProbes: false`: per segment). Undefined
   * when the query or the version does not qualify (the caller loads).
   */
  async #coldQuery(path: NamespacePath, manifest: Manifest, request: QueryRequest): Promise<{ rows: QueryRow[] } | undefined> {
    if (!this.#settings.coldReads) return undefined;
    const rank = request.rankBy;
    if (
      rank === undefined ||
      rank.kind !== "vector" ||
      rank.mode !== "ANN" ||
      request.aggregateBy !== undefined
    ) {
      return undefined;
    }
    const ann = await this.#coldAnn(path, manifest, request, rank.vector);
    if (ann === undefined) return undefined;
    // Computed attributes read the returned rows' columns through the segments' cold array files.
    const arrays = request.computeAttributes === undefined ? undefined : await this.#openColdArrays(path, manifest);
    if (request.computeAttributes !== undefined && arrays === undefined) return undefined;
    const { rows, hits } = await this.#coldAnnRows(ann);
    if (arrays !== undefined && !(await this.#withComputed(manifest, request, arrays, hits, rows))) return undefined;
    this.#coldQueries++;
    this.#loadAfterCold(path, manifest, ann.heads);
    return { rows };
  }

  /** A cold ANN ranking of `vector` over `manifest`'s version (#coldQuery); undefined when it does not qualify. */
  async #coldAnn(path: NamespacePath, manifest: Manifest, request: QueryRequest, vector: Float32Array): Promise<ColdAnn | undefined> {
    const id = namespaceId(path);
    const segments = this.#coldSegments(id, manifest);
    if (segments === undefined) return undefined;
    const { refs } = segments;
    const metric: DistanceMetric = manifest.vector?.metric ?? "COSINE";
    if ((request.distanceMetric ?? metric) !== metric) return undefined;
    // Requests executeQuery rejects go there for the same error.
    if (vector.length !== manifest.vector?.dimension || (metric === "COSINE" && !vector.some((x) => x !== 0))) return undefined;
    const tailPart = this.#coldTail(path, id, manifest);
    if (segments.loaded && ((await tailPart)?.stored.length ?? 0) === 0) return undefined;
    const [segmentHeads, tail, tombstones] = await Promise.all([
      Promise.all(refs.map((ref, i) => this.#cold.head({ ref, indexKey: segments.keys[i] as string, expectedBytes: indexBytesOf(ref), metric }))),
      tailPart,
      Promise.all(refs.map((ref) => this.#tombstones(ref))),
    ]);
    if (tail === null) return undefined;
    // The tail's chunks read by range are partitions after the segments (their heads parsed from the eager regions read).
    const heads = [...segmentHeads, ...(await Promise.all(tail.stored.map(({ chunk }) => this.#cold.headOf(chunk.file, metric))))];
    const keys = [...segments.keys, ...tail.stored.map(({ chunk }) => chunk.key)];
    if (heads.some((head) => head === null)) return undefined;
    // A filter: its non-matching rows are skipped like dead ones; a segment where it is selective is an exact scan.
    let filtered: ColdAnnFilter | undefined;
    let selective: ColdAnn["selective"];
    if (request.filters !== undefined) {
      // The same tail part: its stored chunks are the files after the segments, as they are the heads after them.
      const cold = await this.#openColdArrays(path, manifest, tail);
      if (cold === undefined) return undefined;
      filtered = await coldAnnFilter({ reader: this.#coldArrays, ids: this.#coldDead }, cold.files, tail.chunks, request.filters);
      if (filtered === undefined) return undefined;
      if (filtered.selective.some((slots) => slots !== undefined)) {
        if (!ColdDeadSlots.servable(cold.files.slice(0, refs.length), segmentMarks(refs), tombstones)) return undefined;
        selective = { files: cold.files, dead: await this.#deadSlotsOf(cold) };
      }
    }
    return { request, vector, metric, refs, keys, heads: heads as ColdIndexHead[], tail, tombstones, filtered, selective };
  }

  /** The first k rows of a cold ANN ranking of `vector` as ColdHits (tail chunk c as segment -1 - c); undefined when not served cold. */
  async #coldAnnHits(path: NamespacePath, manifest: Manifest, request: QueryRequest, vector: Float32Array, k: number): Promise<ColdHit[] | undefined> {
    const ann = await this.#coldAnn(path, manifest, request, vector);
    if (ann === undefined) return undefined;
    const { hits } = await this.#coldAnnRun(ann, k);
    return hits.map((h) => ({ segment: h.fromTail ? -1 - h.segment : h.segment, slot: h.slot, score: h.score, id: h.id }));
  }

  /** The first k rows of a cold ANN ranking, with the candidates (and fetched lists) the rows are read from. */
  async #coldAnnRun(ann: ColdAnn, k: number): Promise<AnnRun> {
    const { request, vector, metric, refs, keys, heads: segmentHeads, tail, tombstones, filtered } = ann;
    const markers = refs.map((ref) => new Set(deletedIdsOf(ref)));
    const rerank = this.#settings.coldRerank > 0 ? this.#settings.coldRerank : defaultRerank(k);
    // Per segment: its dead rows, and the shadowing by newer probed (their Bloom filters, then the one id block
    // that can hold an id). Asked only for the rows the scan looks at (format 4: those whose score could be kept):
    // a "maybe" counts as live until its id block is read, then the scan runs again, until it saw no unresolved
    // "maybe".
    const segmentCount = refs.length;
    const probed: ProbedSegment[] = segmentHeads.map((head, s) => {
      const matches = filtered?.matches[s];
      if (s >= segmentCount) {
        // A stored tail chunk: its superseded slots are dead; nothing else shadows it (tail-chunks.ts).
        const dead = (tail.stored[s - segmentCount] as { dead: DeadSlots }).dead.mask;
        const scan = new ColdAnnScan(head, { vector, metric, k, probes: request.probes, rerank }, (_, __, slot) => matches?.[slot] === 0 || dead?.[slot] === 1);
        return { scan, pending: new Set<string>(), resolve: () => Promise.resolve(), fetched: new Map<number, ListRows>() };
      }
      const ref = refs[s] as ContainerRef;
      const dead = new Set<number>(tombstones[s]);
      const masked = maskedPositions(ref);
      if (masked !== undefined) for (const position of masked) dead.add(position);
      // Newer segments shadow it; the tail's ids (its stored chunks' too) are `tail.ids`.
      const newer = segmentHeads.slice(s + 1, segmentCount);
      const newerMarkers = markers.slice(s + 1);
      const shadowed = new Set<string>();
      const resolved = new Set<string>();
      const pending = new Set<string>();
      const encoder = new TextEncoder();
      const idBlocks = new Map<string, Promise<Uint8Array[]>>();
      const maybeNewer = (docId: string): boolean => {
        if (newer.length === 0 || resolved.has(docId)) return false;
        const bytes = encoder.encode(docId);
        return newer.some((other) => bloomMayContain(other.idSet.bloom, bytes) && idBlockOf(other.idSet.fence, bytes) >= 0);
      };
      const resolve = async (): Promise<void> => {
        const checks: Promise<void>[] = [];
        for (const docId of pending) {
          resolved.add(docId);
          const bytes = encoder.encode(docId);
          newer.forEach((other, o) => {
            if (!bloomMayContain(other.idSet.bloom, bytes)) return;
            const block = idBlockOf(other.idSet.fence, bytes);
            if (block < 0) return;
            const blockKey = `${o}:${block}`;
            let ids = idBlocks.get(blockKey);
            if (ids === undefined) idBlocks.set(blockKey, (ids = this.#cold.idBlock(keys[s + 1 + o] as string, other, block)));
            checks.push(
              ids.then((held) => {
                if (blockHolds(held, bytes)) shadowed.add(docId);
              }),
            );
          });
        }
        await Promise.all(checks);
      };
      const scan = new ColdAnnScan(head, { vector, metric, k, probes: request.probes, rerank }, (docId, position, slot) => {
        if (matches?.[slot] === 0 || dead.has(position) || tail.ids.has(docId) || shadowed.has(docId) || newerMarkers.some((m) => m.has(docId))) return true;
        if (maybeNewer(docId)) pending.add(docId);
        return false;
      });
      return { scan, pending, resolve, fetched: new Map<number, ListRows>() };
    });
    const tailScans = tailAnnScans(filtered?.tail ?? tail.chunks, request.filters, vector, metric, k);
    const tailFound: (ColdCandidates | undefined)[] = tailScans.map(() => undefined);
    const exact =
      ann.selective === undefined || filtered === undefined
        ? undefined
        : await coldAnnSelective({ rows: this.#coldRows, reader: this.#coldArrays, batchBytes: this.#settings.coldExactBatchBytes, ...ann.selective, selective: filtered.selective, vector, metric, k });
    const probes = segmentHeads.map((_, s) => exact?.[s] === undefined);
    const firstPasses = (
      this.#settings.globalProbes
        ? await this.#probeGlobally(keys, segmentHeads, probed, probes, tailScans, tailFound, k, request.probes)
        : await this.#probeEach(keys, segmentHeads, probed, probes)
    ).map((first, s) => exact?.[s] ?? first);
    if (!this.#settings.globalProbes) tailScans.forEach((scan, c) => { if (scan !== null) tailFound[c] = probeTailAlone(scan, k, request.probes); });
    // Format 4: the first passes read codes; the best `rerank` candidates of all segments are re-ranked
    // from their full-precision rows (one parallel round), which gives the exact scores.
    const chosen = pickRerank(firstPasses, rerank);
    const candidates = await Promise.all(
      probed.map(async ({ scan, fetched }, s) => {
        const picked = chosen[s] as ColdCandidates;
        if (picked.approximate === undefined || picked.slots.length === 0) return { found: scan.rerank(picked, new Map()), fetched };
        const rows = await this.#cold.vectorRows(keys[s] as string, segmentHeads[s] as ColdIndexHead, picked.slots);
        return { found: scan.rerank(picked, rows), fetched };
      }),
    );
    const hits = mergeWithTail(
      candidates.map((c) => c.found),
      filtered?.tail ?? tail.chunks,
      { vector, metric, k },
      tailFound,
    );
    return { hits, candidates };
  }

  /** A cold ANN query's rows: its ranking (in rounds with `limitPer`), cut at `distanceThreshold`, then read; and where they live. */
  async #coldAnnRows(ann: ColdAnn): Promise<{ rows: QueryRow[]; hits: ColdReturnedRow[] }> {
    const { request, metric, keys, heads, tail, filtered } = ann;
    const tailChunks = filtered?.tail ?? tail.chunks;
    const per = request.limitPer;
    let last: AnnRun;
    if (per === undefined) last = await this.#coldAnnRun(ann, request.topK);
    else {
      // limitPer (cold-diversity.ts): each round's rows as ColdHits (tail chunk c as -1 - c), a row's tuple
      // from its row store entry in that round's fetched lists; the rows kept all come from the last round.
      let round: AnnRun | undefined;
      const origin = new Map<ColdHit, AnnHit>();
      const kept = await coldDiverse({
        per,
        topK: request.topK,
        segmentRows: heads.reduce((n, head) => n + head.size, 0),
        attributes: async (h, names) => {
          const exactFile = ann.selective !== undefined && filtered?.selective[h.segment] !== undefined ? ann.selective.files[h.segment] : undefined;
          if (exactFile !== undefined) return this.#coldRows.attributes(exactFile, h.slot, names);
          const key = keys[h.segment] as string;
          const { offset, length } = rowStoreRange(annListOf((round as AnnRun).candidates, keys, h.segment, h.slot), h.slot);
          return pickAttributes(length === 0 ? {} : parseStoredRow(await this.#cold.rowStore(key, heads[h.segment] as ColdIndexHead, offset, length), key, (heads[h.segment] as ColdIndexHead).exact), names);
        },
        tail: coldTailChunks(tailChunks),
        run: async (k) => {
          round = await this.#coldAnnRun(ann, k);
          return round.hits.map((h) => {
            const hit = { segment: h.fromTail ? -1 - h.segment : h.segment, slot: h.slot, score: h.score, id: h.id };
            origin.set(hit, h);
            return hit;
          });
        },
      });
      last = { hits: (kept as ColdHit[]).map((h) => origin.get(h) as AnnHit), candidates: (round as AnnRun).candidates };
    }
    const { candidates } = last;
    let hits = last.hits;
    let distances = hits.map((h) => distanceOf(metric, h.score));
    if (request.distanceThreshold !== undefined) {
      const t = request.distanceThreshold;
      hits = hits.filter((_, i) => (distances[i] as number) <= t);
      distances = distances.filter((d) => d <= t);
    }
    const listOfSlot = (s: number, slot: number): ListRows => annListOf(candidates, keys, s, slot);
    const rows = await Promise.all(
      hits.map(async (h, i): Promise<QueryRow> => {
        const row: { id: string; distance: number; attributes?: Record<string, JsonValue>; vector?: number[] } = { id: h.id, distance: distances[i] as number };
        const names = request.includeAttributes;
        if (h.fromTail) {
          tailRowInto(row, (tailChunks[h.segment] as { index: QueryIndex }).index, h.slot, request);
          return row;
        }
        const exactFile = ann.selective !== undefined && filtered?.selective[h.segment] !== undefined ? ann.selective.files[h.segment] : undefined;
        if (exactFile !== undefined) {
          await this.#coldRowInto(row, exactFile, h.slot, request);
          return row;
        }
        const head = heads[h.segment] as ColdIndexHead;
        const list = listOfSlot(h.segment, h.slot);
        if (names !== "none") {
          const { offset, length } = rowStoreRange(list, h.slot);
          const key = keys[h.segment] as string;
          const all = length === 0 ? {} : parseStoredRow(await this.#cold.rowStore(key, head, offset, length), key, head.exact);
          row.attributes = names === "all" ? all : pickAttributes(all, names);
        }
        if (request.includeVectors) {
          const v = candidateVector(candidates[h.segment]!.found, list, h.slot, head);
          if (v !== undefined) row.vector = Array.from(v);
        }
        return row;
      }),
    );
    return { rows, hits: hits.map((h) => ({ segment: h.fromTail ? -1 - h.segment : h.segment, slot: h.slot })) };
  }

  /**
   * One global ranking of every segment's and IVF tail chunk's centroids and one probe budget
   * (@skerry/query global-probes.ts), as the loaded path probes them: the chosen lists of all segments are read in one
   * parallel round (again for the next ones when too few live rows were found); each segment's first-pass
   * candidates, and the probed tail chunks' candidates into `tailFound`.
   */
  async #probeGlobally(
    keys: readonly string[],
    heads: readonly ColdIndexHead[],
    probed: readonly ProbedSegment[],
    probes: readonly boolean[],
    tailScans: readonly (ColdTailAnnScan | null)[],
    tailFound: (ColdCandidates | undefined)[],
    k: number,
    requested: number | undefined,
  ): Promise<ColdCandidates[]> {
    // A segment scanned exactly (a selective filter) takes no part in the order or the budget, as loaded.
    const chunks = tailScans.flatMap((scan, c) => (scan === null ? [] : [{ scan, c }]));
    const order = globalListOrder([...probed.map((seg, s) => (probes[s] ? seg.scan.scores : new Float64Array(0))), ...chunks.map(({ scan }) => scan.scores)]);
    const budget = globalProbeBudget(
      [...heads.filter((_, s) => probes[s]).map((head) => ({ size: head.size, lists: head.lists, probes: head.probes })), ...chunks.map(({ scan }) => scan)],
      requested,
    );
    const scans = [...probed.map((seg) => seg.scan), ...chunks.map(({ scan }) => scan)];
    const n = probed.length;
    let prefix = Math.min(order.list.length, budget);
    for (;;) {
      const missing: number[][] = probed.map(() => []);
      for (let i = 0; i < prefix; i++) {
        const s = order.partition[i] as number;
        const list = order.list[i] as number;
        if (s < n && !probed[s]!.fetched.has(list)) missing[s]!.push(list);
      }
      await Promise.all(
        missing.map(async (lists, s) => {
          if (lists.length === 0) return;
          const { fetched } = probed[s]!;
          for (const rows of await this.#cold.lists(keys[s] as string, heads[s] as ColdIndexHead, lists)) fetched.set(rows.list, rows);
        }),
      );
      let scanned: ReturnType<typeof scanGlobally>;
      for (;;) {
        for (const seg of probed) seg.pending.clear();
        scanned = scanGlobally(scans, order, prefix, budget, k, (s, list) => (s < n ? (probed[s]!.fetched.get(list) as ListRows) : tailListRows(s, list)));
        if (probed.every((seg) => seg.pending.size === 0)) break;
        await Promise.all(probed.map((seg) => seg.resolve()));
      }
      if ("candidates" in scanned) {
        chunks.forEach(({ c }, i) => {
          tailFound[c] = scanned.candidates[n + i];
        });
        return scanned.candidates.slice(0, n);
      }
      prefix = scanned.more;
    }
  }

  /** Each segment probing its own lists (`globalProbes: false`, the behaviour before): its first-pass candidates. */
  #probeEach(keys: readonly string[], heads: readonly ColdIndexHead[], probed: readonly ProbedSegment[], probes: readonly boolean[]): Promise<ColdCandidates[]> {
    return Promise.all(
      probed.map(async (seg, s) => {
        if (!probes[s]) return { slots: new Uint32Array(0), scores: new Float64Array(0), ids: [] };
        const head = heads[s] as ColdIndexHead;
        let lists = seg.scan.initialLists();
        for (;;) {
          const missing = lists.filter((list) => !seg.fetched.has(list));
          for (const rows of await this.#cold.lists(keys[s] as string, head, missing)) seg.fetched.set(rows.list, rows);
          let first: ColdCandidates | undefined;
          for (;;) {
            seg.pending.clear();
            first = seg.scan.run(lists.map((list) => seg.fetched.get(list) as ListRows));
            if (seg.pending.size === 0) break;
            await seg.resolve();
          }
          if (first !== undefined) return first;
          lists = Array.from(seg.scan.order.subarray(0, Math.min(head.lists, lists.length + seg.scan.want)));
        }
      }),
    );
  }

  /**
   * A BM25 query (`[field, "BM25", text]`, optionally filtered), a filter
   * listing (`filters` without `rankBy`) or a dense ranking with a selective
   * filter (cold-vector-filter.ts), without aggregation, over a
   * version whose indexed segments are not loaded, answered by ranged reads
   * of the stored arrays they need (ColdArrayReader): the vocabulary, the
   * terms' postings and the matched rows' lengths (cold-bm25.ts), the
   * filter's postings (cold-filter.ts), `idOrder` for a listing
   * (cold-listing.ts), the returned rows' clusters and row store entries.
   * Dead rows as the loaded path has them (cold-dead-slots.ts). Undefined
   * when the query or the version does not qualify (the caller loads).
   */
  async #coldTextQuery(path: NamespacePath, manifest: Manifest, request: QueryRequest): Promise<{ rows: QueryRow[] } | undefined> {
    if (!this.#settings.coldReads) return undefined;
    const rank = request.rankBy;
    const filters = request.filters;
    if (request.aggregateBy !== undefined) return undefined;
    const byAttribute = rank?.kind === "attribute";
    const fused = rank?.kind === "rrf" && rank.queries.every((q) => q.kind === "bm25" || q.kind === "text" || q.kind === "vector" || q.kind === "attribute" || q.kind === "sparse");
    if (rank === undefined ? filters === undefined : rank.kind !== "bm25" && rank.kind !== "text" && rank.kind !== "sparse" && !byAttribute && !fused && !(rank.kind === "vector" && filters !== undefined)) return undefined;
    const cold = await this.#openColdArrays(path, manifest);
    if (cold === undefined) return undefined;
    const { refs, files, tail, tombstones, metric } = cold;
    const chunks = coldTailChunks(tail.chunks);
    if (rank?.kind === "vector") {
      // Requests executeQuery rejects go there for the same error.
      const v = rank.vector;
      if (v.length !== manifest.vector?.dimension || ((request.distanceMetric ?? metric) === "COSINE" && !v.some((x) => x !== 0))) return undefined;
    }
    if (!ColdDeadSlots.servable(files.slice(0, refs.length), segmentMarks(refs), tombstones)) return undefined;
    // Dead rows are resolved while the filter and the terms are read.
    const deadSlots = this.#deadSlotsOf(cold);
    deadSlots.catch(() => undefined);
    const filtered = await coldFilterMatches({ reader: this.#coldArrays, ids: this.#coldDead }, files, chunks, filters);
    const segmentMatches = filtered.matches;
    const tailMatches = filtered.tailMatches ?? chunks.map(() => []);
    const tailSets = tailMatches.map((slots) => new Set(slots));
    const segmentMasks = segmentMatches?.map((slots, s) => {
      const mask = new Uint8Array((files[s] as ColdIndexFile).meta.size);
      for (const slot of slots) mask[slot] = 1;
      return mask;
    });
    const rankMetric = request.distanceMetric ?? metric;
    // The ranking's first k rows (undefined: not served cold); `limitPer` asks for more while its cut leaves too few.
    const run = (k: number) => rankRun(rank, k);
    const rankRun = async (rank: RankBy | undefined, k: number): Promise<ColdHit[] | undefined> => {
      const matches = { rows: this.#coldRows, files, dead: await deadSlots, matches: segmentMatches as Uint32Array[], tail: chunks, tailMatches, k };
      const streamed = { reader: this.#coldArrays, batchBytes: this.#settings.coldExactBatchBytes, slicer: this.#deps.slicer };
      if (rank?.kind === "rrf") return coldRrf({ rank, topK: k, run: rankRun });
      if (rank?.kind === "vector" && request.rankBy?.kind === "rrf") {
        // A dense sub-ranking of a fusion: as its own query would be answered cold (#coldQuery, else the filtered path).
        const v = rank.vector;
        if (v.length !== manifest.vector?.dimension || (rankMetric === "COSINE" && !v.some((x) => x !== 0))) return undefined;
        const selective = filters === undefined ? undefined : await coldFilteredVector({ ...matches, ...streamed, vector: v, metric: rankMetric, ann: rank.mode === "ANN" });
        if (selective !== undefined) return selective;
        if (rank.mode === "ANN") {
          const ann = await this.#coldAnnHits(path, manifest, request, v, k);
          if (ann !== undefined) return ann;
          // No partition the loaded path would probe (no IVF lists, or another metric): its ANN is an exact scan.
          const probed = rankMetric === metric && (files.some((file) => file.meta.ann !== null) || tail.chunks.some((chunk) => chunk.index.ann !== null));
          if (probed) return undefined;
        }
        // An exact scan of every live (matching) row, as the loaded path scans it (cold-exact-vector.ts).
        return coldExactVector({
          reader: this.#coldArrays,
          files,
          // Every dead slot (by position too: the version is servable, ColdDeadSlots.of) is dead by slot here.
          deadPositions: files.map(() => new Set<number>()),
          deadSlots: (await deadSlots).map((d) => d.slots),
          tail: tail.chunks,
          vector: v,
          metric: rankMetric,
          k,
          matches: segmentMatches,
          tailMatches: filters === undefined ? undefined : tailMatches,
          batchBytes: this.#settings.coldExactBatchBytes,
          slicer: this.#deps.slicer,
        });
      }
      if (rank?.kind === "vector") return coldFilteredVector({ ...matches, ...streamed, vector: rank.vector, metric: rankMetric, ann: rank.mode === "ANN" });
      if (rank === undefined) return coldListing({ ...matches, reader: this.#coldArrays });
      if (rank.kind === "sparse") {
        const everyLive = filters === undefined ? chunks.map((chunk) => coldTailMatches(chunk, undefined)) : tailMatches;
        return coldSparse({ ...matches, reader: this.#coldArrays, matches: segmentMasks, tailMatches: everyLive, indices: rank.indices, values: rank.values });
      }
      if (rank.kind === "attribute") return coldAttributeOrder({ ...matches, matches: segmentMatches, reader: this.#coldArrays, field: rank.field, desc: rank.order === "desc", ...(rank.missing === undefined ? {} : { missing: rank.missing }), further: rank.then ?? [] });
      if (rank.kind !== "bm25" && rank.kind !== "text") return undefined;
      const context = {
        reader: this.#coldArrays,
        rows: this.#coldRows,
        files,
        dead: deadSlots,
        tail: chunks,
        k,
        segmentMatches: segmentMasks,
        tailMatches: filters === undefined ? undefined : (c: number, slot: number) => tailSets[c]!.has(slot),
      };
      const params = bm25ParamsOf(manifest);
      return rank.kind === "bm25"
        ? coldBm25({ ...context, field: rank.field, query: rank.query, params: params(rank.field), lastAsPrefix: rank.lastAsPrefix })
        : coldTextCombination({ ...context, expr: rank.expr, params, filters: { reader: this.#coldArrays, ids: this.#coldDead } });
    };
    const per = request.limitPer;
    let hits = per === undefined ? await run(request.topK) : await coldDiverse({ per, topK: request.topK, ...coldRowsAccess(this.#coldRows, files), tail: chunks, run });
    if (hits === undefined) return undefined;
    let distances: number[] | undefined;
    if (rank?.kind === "vector") {
      distances = hits.map((h) => distanceOf(rankMetric, h.score));
      if (request.distanceThreshold !== undefined) {
        const t = request.distanceThreshold;
        hits = hits.filter((_, i) => (distances as number[])[i]! <= t);
        distances = distances.filter((d) => d <= t);
      }
    }
    const rows = await Promise.all(
      hits.map(async (h, i): Promise<QueryRow> => {
        const row: { id: string; distance?: number; score?: number; attributes?: Record<string, JsonValue>; vector?: number[] } = { id: h.id };
        if (distances !== undefined) row.distance = distances[i] as number;
        else if (rank !== undefined && rank.kind !== "attribute") row.score = h.score;
        if (h.segment < 0) tailRowInto(row, (chunks[-1 - h.segment] as ColdTailChunk).index, h.slot, request);
        else await this.#coldRowInto(row, files[h.segment] as ColdIndexFile, h.slot, request);
        return row;
      }),
    );
    if (!(await this.#withComputed(manifest, request, { ...cold, dead: deadSlots }, hits, rows))) return undefined;
    this.#coldQueries++;
    this.#loadAfterCold(path, manifest, files);
    return { rows };
  }

  /**
   * Aggregations without a ranking (`aggregateBy`, optionally `groupBy`, group
   * functions and a filter) over a version whose indexed
   * segments are not loaded (and hold more than 64 KiB together): the live
   * matching slots' columns the aggregations name, read by range
   * (cold-aggregate.ts), with the tail's chunks in memory. Undefined when
   * the query or the version does not qualify (the caller loads).
   */
  async #coldAggregateQuery(path: NamespacePath, manifest: Manifest, request: QueryRequest): Promise<AggregationResult | undefined> {
    if (!this.#settings.coldReads || request.aggregateBy === undefined || request.rankBy !== undefined || request.limitPer !== undefined) return undefined;
    const cold = await this.#openColdArrays(path, manifest);
    if (cold === undefined) return undefined;
    const { refs, files, tail, tombstones } = cold;
    if (!ColdDeadSlots.servable(files.slice(0, refs.length), segmentMarks(refs), tombstones)) return undefined;
    const deadSlots = this.#deadSlotsOf(cold);
    deadSlots.catch(() => undefined);
    const filters = request.filters;
    let matches: Uint32Array[] | undefined;
    if (filters !== undefined) {
      const typed = files.map(
        (file) => ({ attributeColumns: new Map(file.meta.attributes.map((a) => [a.name, { typeMask: a.typeMask, elementTypeMask: a.elementTypeMask }])) }) as unknown as QueryIndex,
      );
      checkFilterTypes(filters, [...typed, ...tail.chunks.map((chunk) => chunk.index)]);
      matches = await Promise.all(files.map((file) => coldFilterSlots({ reader: this.#coldArrays, ids: this.#coldDead }, file, filters)));
    }
    const result = await coldAggregate({
      reader: this.#coldArrays,
      files,
      dead: await deadSlots,
      matches,
      tail: tail.chunks.map((chunk) => ({ ...chunk, matches: evaluateFilter(chunk.index, filters) })),
      request,
      slicer: this.#deps.slicer,
    });
    this.#coldQueries++;
    this.#loadAfterCold(path, manifest, files);
    return result;
  }

  /**
   * Aggregations beside a ranking: the loaded path computes them over every matching row, independent of the
   * ranking, so the aggregations of the request without its ranking (#coldAggregateQuery) and the rows of the
   * request without its aggregations (the cold ranking paths), when both are served cold; counted as one cold
   * query. Undefined otherwise (the caller loads).
   */
  async #coldRankedAggregate(path: NamespacePath, manifest: Manifest, request: QueryRequest): Promise<{ rows: QueryRow[]; aggregated: AggregationResult } | undefined> {
    const { rankBy: _rankBy, limitPer: _limitPer, ...unranked } = request;
    const aggregated = await this.#coldAggregateQuery(path, manifest, unranked);
    if (aggregated === undefined) return undefined;
    this.#coldQueries--; // counted again with the rows (or not cold: the query loads)
    const { aggregateBy: _aggregateBy, ...ranked } = request;
    const rows =
      (await this.#coldQuery(path, manifest, ranked))?.rows ?? (await this.#coldTextQuery(path, manifest, ranked))?.rows ?? (await this.#coldExactQuery(path, manifest, ranked));
    return rows === undefined ? undefined : { rows, aggregated };
  }

  /**
   * An exact dense ranking (`kNN`, optionally filtered and diversified by
   * `limitPer`, no aggregation) over a version whose indexed segments are
   * not loaded (and hold more than 64 KiB together): every live (matching)
   * row scored once from the segments' clusters streamed in bounded batches
   * (cold-exact-vector.ts; with a filter, only the clusters holding a match,
   * cold-filter.ts), the tail's chunks in memory; the returned rows'
   * attributes and vectors by range. Undefined when the query or the
   * version does not qualify (the caller loads).
   */
  async #coldExactQuery(path: NamespacePath, manifest: Manifest, request: QueryRequest): Promise<QueryRow[] | undefined> {
    const rank = request.rankBy;
    if (!this.#settings.coldReads || rank?.kind !== "vector" || rank.mode !== "kNN") return undefined;
    if (request.aggregateBy !== undefined) return undefined;
    const metric: DistanceMetric = manifest.vector?.metric ?? "COSINE";
    const rankMetric = request.distanceMetric ?? metric;
    // Requests executeQuery rejects go there for the same error.
    if (rank.vector.length !== manifest.vector?.dimension || (rankMetric === "COSINE" && !rank.vector.some((x) => x !== 0))) return undefined;
    const cold = await this.#openColdArrays(path, manifest);
    if (cold === undefined) return undefined;
    const { refs, files, tail, tombstones } = cold;
    const chunks = coldTailChunks(tail.chunks);
    const filtered = await coldFilterMatches({ reader: this.#coldArrays, ids: this.#coldDead }, files, chunks, request.filters);
    // A stored tail chunk (a file after the segments) has no dead positions: its superseded slots are dead by id.
    const deadPositions = files.map((_, s) => {
      const ref = refs[s];
      const out = new Set<number>(ref === undefined ? [] : tombstones[s]);
      const masked = ref === undefined ? undefined : maskedPositions(ref);
      if (masked !== undefined) for (const position of masked) out.add(position);
      return out;
    });
    const deadSlots = await this.#idDeadSlotsOf(cold);
    const run = (k: number) =>
      coldExactVector({
        reader: this.#coldArrays,
        files,
        deadPositions,
        deadSlots,
        tail: tail.chunks,
        vector: rank.vector,
        metric: rankMetric,
        k,
        ...filtered,
        batchBytes: this.#settings.coldExactBatchBytes,
        slicer: this.#deps.slicer,
      });
    const per = request.limitPer;
    const hits = (per === undefined ? await run(request.topK) : await coldDiverse({ per, topK: request.topK, ...coldRowsAccess(this.#coldRows, files), tail: chunks, run })) as ColdHit[];
    let distances = hits.map((h) => distanceOf(rankMetric, h.score));
    let kept = hits;
    if (request.distanceThreshold !== undefined) {
      const t = request.distanceThreshold;
      kept = hits.filter((_, i) => (distances[i] as number) <= t);
      distances = distances.filter((d) => d <= t);
    }
    const rows = await Promise.all(
      kept.map(async (h, i): Promise<QueryRow> => {
        const row: { id: string; distance: number; attributes?: Record<string, JsonValue>; vector?: number[] } = { id: h.id, distance: distances[i] as number };
        if (h.segment < 0) tailRowInto(row, (tail.chunks[-1 - h.segment] as { index: QueryIndex }).index, h.slot, request);
        else await this.#coldRowInto(row, files[h.segment] as ColdIndexFile, h.slot, request);
        return row;
      }),
    );
    if (!(await this.#withComputed(manifest, request, cold, kept, rows))) return undefined;
    this.#coldQueries++;
    this.#loadAfterCold(path, manifest, files);
    return rows;
  }

  async #build(path: NamespacePath, id: string, manifest: Manifest): Promise<Prepared> {
    const metric: DistanceMetric = manifest.vector?.metric ?? "COSINE";
    const prefix = indexedPrefix(manifest);
    const segmentRefs = manifest.containers.slice(0, prefix);
    const [segments, tombstones, tail] = await Promise.all([
      Promise.all(
        segmentRefs.map((ref) =>
          this.#segments.get({ ref, indexKey: indexKeyOf(ref) as string, expectedBytes: indexBytesOf(ref), metric }),
        ),
      ),
      Promise.all(segmentRefs.map((ref) => this.#tombstones(ref))),
      this.#tailPart(path, id, manifest, true) as Promise<TailPart>,
    ]);
    const { deleted } = tail;
    const partitions: QueryIndex[] = [...segments];
    const excludes: (Uint32Array | undefined)[] = segments.map((index, i) => {
      const out = new Set<number>(tombstones[i]);
      const masked = maskedPositions(segmentRefs[i] as ContainerRef);
      if (masked !== undefined) for (const position of masked) out.add(position);
      for (const docId of deleted) {
        const slot = index.slotOfId(docId);
        if (slot >= 0) out.add(index.positionOf(slot));
      }
      for (let newer = i + 1; newer < segmentRefs.length; newer++) {
        for (const docId of deletedIdsOf(segmentRefs[newer] as ContainerRef)) {
          const slot = index.slotOfId(docId);
          if (slot >= 0) out.add(index.positionOf(slot));
        }
      }
      return out.size === 0 ? undefined : Uint32Array.from(out).sort();
    });
    for (const chunk of tail.chunks) {
      partitions.push(chunk.index);
      excludes.push(chunk.excluded);
    }
    // Held by this cache (not prepareQuerySnapshot's, which would keep old tails alive beside it). The tail's
    // chunks are disjoint once their exclusions apply: shadow masks only over the segments.
    const snapshot = new QuerySnapshot(partitions, { disjointFrom: segments.length });
    let bytes = tail.bytes;
    for (const e of excludes) bytes += e?.byteLength ?? 0;
    for (const s of snapshot.shadows) bytes += (s.mask?.byteLength ?? 0) + s.slots.byteLength;
    return {
      namespace: id,
      version: manifest.version,
      metric,
      snapshot,
      excludes,
      indexKeys: segmentRefs.map((ref) => indexKeyOf(ref) as string),
      bytes,
      bm25: bm25ParamsOf(manifest),
      textConfig: textConfigFor(manifest),
    };
  }

  /**
   * The tail fold of `refs` with its chunks: the namespace's cached one
   * extended when its containers are a prefix of `refs`, else a fresh one
   * (whose chunks index with `indexer`).
   */
  async #fold(
    id: string,
    refs: readonly ContainerRef[],
    textKey: string,
    indexer: ChunkIndexer,
    cover?: { readonly path: NamespacePath; readonly build: ChunkBuild },
  ): Promise<TailChunks> {
    const identities = refs.map(foldIdentity);
    const cached = this.#tails.get(id);
    const deps = { storage: this.#deps.storage, random: this.#deps.random, retry: this.#deps.retry };
    if (cached !== undefined && this.#tailTextKeys.get(cached) === textKey && cached.fold.isPrefixOf(identities)) {
      // Builds of one namespace run one at a time (#lanes), so nobody else extends it meanwhile.
      if (cached.fold.identities.length < identities.length) {
        this.#tailExtensions++;
        this.#tails.delete(id); // a failed load must not leave a half-known fold behind
        await cached.fold.extend(deps, refs.slice(cached.fold.identities.length));
        this.#tails.set(id, cached);
      }
      return cached;
    }
    const limits = { docs: this.#settings.tailChunkDocs, containers: this.#settings.tailChunkContainers, fanout: this.#settings.tailChunkFanout };
    let fresh = new TailChunks(new TailFold(), indexer, limits);
    if (cover === undefined) await fresh.fold.extend(deps, refs);
    else {
      // Stored chunks with fold summaries cover the tail's first containers: only the batches after them are read.
      const covered = await this.#tailIndexes.openCovered(cover.path, refs, cover.build, limits);
      for (const { start, end, chunk } of covered.chunks) {
        fresh.fold.applySummary(
          refs.slice(start, end).map(foldIdentity),
          chunk,
          chunk.summary as NonNullable<typeof chunk.summary>,
        );
      }
      const at = covered.chunks.at(-1)?.end ?? 0;
      await fresh.fold.extend(deps, refs.slice(at));
      // The chunks this fold cuts must be the summarized ones (counts the estimate did not see can move a cut).
      const planned = new Set(fresh.pending().map((p) => chunkKey(p.start, p.end)));
      if (covered.chunks.some((c) => !planned.has(chunkKey(c.start, c.end)))) {
        fresh = new TailChunks(new TailFold(), indexer, limits);
        await fresh.fold.extend(deps, refs);
      } else this.#tailIndexes.countSummarized(covered.chunks.length);
      this.#covered.set(fresh, covered.tried);
    }
    this.#tailTextKeys.set(fresh, textKey);
    // Keep the newest fold (an older version's fold is not extended by later commits).
    if (cached === undefined || this.#tailTextKeys.get(cached) !== textKey || !fresh.fold.isPrefixOf(cached.fold.identities)) {
      this.#tails.delete(id);
      this.#tails.set(id, fresh);
      while (this.#tails.size > this.#settings.snapshotEntries) {
        const oldest = this.#tails.keys().next().value as string;
        this.#tails.delete(oldest);
      }
    }
    return fresh;
  }

  /**
   * The request's computed attributes (cold-compute-attributes.ts) set on a cold query's returned rows (`hits`: where
   * each row lives, in row order), as the loaded path makes them: `computed` after the row's other fields. True when
   * done (or none asked), false when not served cold (the caller loads; so does a zero VectorDist vector under
   * cosine, for the loaded path's error).
   */
  async #withComputed(
    manifest: Manifest,
    request: QueryRequest,
    cold: {
      readonly refs: readonly ContainerRef[];
      readonly files: readonly ColdIndexFile[];
      readonly tail: TailPart;
      readonly tombstones: readonly Iterable<number>[];
      readonly dead?: Promise<readonly DeadSlots[]>;
    },
    hits: readonly ColdReturnedRow[],
    rows: QueryRow[],
  ): Promise<boolean> {
    const compute = request.computeAttributes;
    if (compute === undefined) return true;
    const metric: DistanceMetric = request.distanceMetric ?? manifest.vector?.metric ?? "COSINE";
    for (const spec of compute.values()) if (spec.kind === "vectorDist" && metric === "COSINE" && !spec.vector.some((x) => x !== 0)) return false;
    const { refs, files, tail, tombstones } = cold;
    let dead = cold.dead;
    if (dead === undefined) {
      // Only BM25 clauses need the dead slots (their corpus statistics).
      if (!computeNeedsDeadSlots(compute)) dead = Promise.resolve([]);
      else if (ColdDeadSlots.servable(files, segmentMarks(refs), tombstones)) dead = this.#segmentDeadSlots(files, refs, tombstones, tail);
      else return false;
    }
    const computed = await coldComputedAttributes(
      {
        reader: this.#coldArrays,
        rows: this.#coldRows,
        files,
        dead,
        tail: coldTailChunks(tail.chunks),
        params: bm25ParamsOf(manifest),
        filters: { reader: this.#coldArrays, ids: this.#coldDead },
        compute,
        metric,
        textConfig: textConfigFor(manifest),
      },
      hits,
    );
    if (computed === undefined) return false;
    rows.forEach((row, i) => {
      (row as { computed?: Record<string, ComputedValue> }).computed = computed[i] as Record<string, ComputedValue>;
    });
    return true;
  }

  /** A cold row's attributes (those the request includes) and vector (if asked), by ranged reads of its segment. */
  async #coldRowInto(
    row: { attributes?: Record<string, JsonValue>; vector?: number[] },
    file: ColdIndexFile,
    slot: number,
    request: QueryRequest,
  ): Promise<void> {
    const names = request.includeAttributes;
    if (names !== "none") row.attributes = await this.#coldRows.attributes(file, slot, names);
    if (request.includeVectors) {
      const v = await this.#coldRows.vector(file, slot);
      if (v !== undefined) row.vector = v;
    }
  }

  /** After a cold query: later queries of this version load the indexes in the background when they fit half the budget. */
  #loadAfterCold(path: NamespacePath, manifest: Manifest, files: readonly { objectBytes: number }[]): void {
    const objectBytes = files.reduce((n, file) => n + file.objectBytes, 0);
    if (objectBytes * 2 > this.#settings.segmentIndexBytes) return;
    const load = () => {
      this.#prepare(path, manifest).catch(() => undefined);
    };
    // Not when the version's tail has stored chunks read by range: loading them whole (decoding every object on
    // the event loop) would stall the queries that follow for seconds, and the cold paths serve them. A query no
    // cold path serves loads the version, as before.
    const id = namespaceId(path);
    const tail = this.#coldTailParts.get(id);
    if (tail?.key !== `${id}@${incarnationOf(manifest)}@${manifest.version}`) {
      load();
      return;
    }
    tail.promise.then(
      (part) => {
        if (part === null || part.stored.length === 0) load();
        else this.#backgroundLoadsSkipped++;
      },
      () => undefined,
    );
  }

  /**
   * The cold array readers of a version's indexed segments, when a query of it would be answered cold and they
   * hold more than 64 KiB together (indexes this small are one GET each, verified whole: cheaper than ranged
   * reads) and are not all loaded, or its tail has chunks read by range (`part`, else the cold tail part; their
   * files follow the segments'), with its tail partition and the segments' tombstones. Undefined when the
   * version does not qualify (the caller loads). An index built for another metric than the namespace's is
   * CorruptError.
   */
  async #openColdArrays(path: NamespacePath, manifest: Manifest, part?: TailPart): Promise<ColdArrays | undefined> {
    const id = namespaceId(path);
    const segments = this.#coldSegments(id, manifest);
    if (segments === undefined) return undefined;
    const { refs, keys } = segments;
    const recorded = refs.map(indexBytesOf);
    const tailPart = part === undefined ? this.#coldTail(path, id, manifest) : Promise.resolve(part);
    // Segments this small (or loaded) are read cold only beside tail chunks read by range.
    const small = recorded.every((bytes) => bytes !== undefined) && recorded.reduce((n: number, bytes) => n + (bytes as number), 0) <= COLD_TEXT_MIN_INDEX_BYTES;
    if ((segments.loaded || small) && ((await tailPart)?.stored.length ?? 0) === 0) return undefined;
    const [opened, tail, tombstones] = await Promise.all([
      Promise.all(refs.map((ref, i) => this.#coldArrays.open({ ref, indexKey: keys[i] as string, expectedBytes: indexBytesOf(ref) }))),
      tailPart,
      Promise.all(refs.map((ref) => this.#tombstones(ref))),
    ]);
    if (tail === null || opened.some((file) => file === null)) return undefined;
    // The tail's chunks read by range are files after the segments.
    const files = [...(opened as ColdIndexFile[]), ...tail.stored.map(({ chunk }) => chunk.file)];
    const metric: DistanceMetric = manifest.vector?.metric ?? "COSINE";
    for (const file of files) {
      if (file.meta.metric !== metric) throw new CorruptError(`query index ${file.key} was built for ${file.meta.metric}, the namespace uses ${metric}`, file.key);
    }
    return { refs, files, tail, tombstones, metric };
  }

  /**
   * The dead slots of every file of `cold` (oldest first): a segment's as ColdDeadSlots finds them (the tail's ids,
   * its stored chunks' too, shadow it), a stored tail chunk's its superseded slots. The segments must be servable.
   */
  async #deadSlotsOf(cold: ColdArrays): Promise<DeadSlots[]> {
    const { refs, files, tail, tombstones } = cold;
    const segments = await this.#segmentDeadSlots(files.slice(0, refs.length), refs, tombstones, tail);
    return [...segments, ...tail.stored.map(({ dead }) => dead)];
  }

  /** The slots of every file of `cold` dead by id alone (ColdDeadSlots `idDead`), a stored tail chunk's superseded slots. */
  async #idDeadSlotsOf(cold: ColdArrays): Promise<Uint32Array[]> {
    const { refs, files, tail } = cold;
    const segmentFiles = files.slice(0, refs.length);
    const segments = await this.#perVersion(this.#segmentIdDead, tail, segmentFiles, () => this.#coldDead.idDead(segmentFiles, segmentMarks(refs), tail.ids));
    return [...segments, ...tail.stored.map(({ dead }) => dead.slots)];
  }

  /**
   * The dead slots of a version's segments (ColdDeadSlots `of`): every id the tail holds is looked up in each
   * segment, so they are made once per version (its cold tail part) and shared by its queries.
   */
  #segmentDeadSlots(files: readonly ColdIndexFile[], refs: readonly ContainerRef[], tombstones: readonly Iterable<number>[], tail: TailPart): Promise<DeadSlots[]> {
    return this.#perVersion(this.#segmentDead, tail, files, () => this.#coldDead.of(files, segmentMarks(refs), tombstones, tail.ids));
  }

  /** `make()` once per tail part (one per version) and set of segment files; a failure is not kept. */
  #perVersion<T>(cache: WeakMap<TailPart, Map<string, Promise<T>>>, tail: TailPart, files: readonly ColdIndexFile[], make: () => Promise<T>): Promise<T> {
    if (files.length === 0) return make();
    let byFiles = cache.get(tail);
    if (byFiles === undefined) {
      byFiles = new Map();
      cache.set(tail, byFiles);
    }
    const key = files.map((file) => file.key).join("\n");
    const cached = byFiles.get(key);
    if (cached !== undefined) return cached;
    this.#deadSlotSets++;
    const made = make();
    byFiles.set(key, made);
    made.catch(() => {
      if (byFiles.get(key) === made) byFiles.delete(key);
    });
    return made;
  }

  /** Positions hidden by the tombstones `ref` publishes at this version (the object must exist: the manifest names it). */
  async #tombstones(ref: ContainerRef): Promise<Iterable<number>> {
    const key = sidecarForRead(ref);
    if (key === undefined) return [];
    const bytes = await readReferenced(this.#deps, key, `tombstone object ${key} referenced by container ${ref.id}`);
    verifySnapshot(ref, key, bytes);
    return decodeTombstones(key, bytes).positions;
  }

  /** Drops prepared versions that hold the evicted segment index. */
  #dropHolding(indexKey: string): void {
    for (const [key, entry] of this.#prepared) if (entry.value?.indexKeys.includes(indexKey) === true) this.#prepared.delete(key);
  }

  /**
   * LRU eviction: at most VERSIONS_PER_NAMESPACE versions of `namespace`,
   * then the global entry and byte budgets. `built`, the version just
   * prepared, is never evicted here even when it alone exceeds the byte
   * budget: dropping it made every query of a large uncompacted tail
   * rebuild the tail index (seconds per query; issue 13 "no cliff on the
   * tail"). It ages out when a newer entry is built.
   */
  #evict(namespace: string, built: string): void {
    let mine = 0;
    for (const entry of this.#prepared.values()) if (entry.value?.namespace === namespace) mine++;
    for (const [key, entry] of this.#prepared) {
      if (mine <= VERSIONS_PER_NAMESPACE) break;
      if (entry.value?.namespace !== namespace) continue;
      this.#prepared.delete(key);
      mine--;
    }
    let bytes = 0;
    for (const entry of this.#prepared.values()) bytes += entry.value?.bytes ?? 0;
    for (const [key, entry] of this.#prepared) {
      if (this.#prepared.size <= this.#settings.snapshotEntries && bytes <= this.#settings.snapshotBytes) break;
      if (entry.value === undefined || key === built) continue; // still building, or just built
      this.#prepared.delete(key);
      bytes -= entry.value.bytes;
    }
  }
}
