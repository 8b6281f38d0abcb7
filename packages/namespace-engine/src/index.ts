/**
 * @skerry/namespace-engine: Skerry's durable core. Namespaces with immutable,
 * numbered manifests; a write log of framed-log batch objects with group
 * commit, conditional (`ifVersion`) and idempotent writes; reads over the
 * log at the latest or any retained version; safe for many writer processes
 * on local-fs or S3.
 */
export {
  ConflictError,
  CorruptError,
  DocumentNotFoundError,
  InvalidArgumentError,
  isConflict,
  isCorrupt,
  isDocumentNotFound,
  isInvalidArgument,
  isNamespaceEngineError,
  isNamespaceExists,
  isNamespaceNotFound,
  isStorageFailure,
  isVersionConflict,
  isVersionNotFound,
  NamespaceEngineError,
  NamespaceExistsError,
  NamespaceNotFoundError,
  SchemaChangeError,
  SchemaViolationError,
  StorageFailureError,
  UnfilterableAttributeError,
  UnsupportedLanguageError,
  VersionConflictError,
  VersionNotFoundError,
  type NamespaceEngineErrorCode,
} from "./core/errors.ts";
export { isManifestRollback, ManifestRollbackError } from "./manifest/manifest-rollback-error.ts";
export type { DocumentInput, DocumentPatch, JsonObject, JsonValue, SparseVector, StoredDocument } from "./namespace/document.ts";
export {
  formatNamespacePath,
  MAX_PATH_PART_LENGTH,
  namespacePath,
  parseNamespacePath,
  validatePathPart,
  type NamespacePath,
} from "./core/namespace-path.ts";
export type {
  CreateNamespaceOptions,
  DeleteNamespaceResult,
  DistanceMetric,
  NamespaceInfo,
  ReadOptions,
  ScanOptions,
} from "./namespace/namespace-info.ts";
export { type ListingPageOptions, MAX_LISTING_PAGE, type NamespaceNamesPage, type VersionsPage } from "./namespace/listing-pages.ts";
export type { ResolvedTextFieldOptions, TextFieldOptions } from "./namespace/text-field-options.ts";
export type {
  AttributeSchema,
  AttributeSchemaInput,
  AttributeType,
  IdType,
  NamespaceSchema,
  NamespaceSchemaInfo,
  NamespaceSchemaInput,
} from "./namespace/namespace-schema.ts";
export { type DocumentId, documentIdKey, documentIdValue, isUintIdKey, MAX_UINT_ID } from "./namespace/document-ids.ts";
export { TEXT_LANGUAGES } from "@skerry/query";
export {
  NamespaceEngine,
  type CollectWalGarbageResult,
  type FilterInput,
  type ForkNamespaceOptions,
  type StartReport,
  type WarmResult,
  type BlockCacheOptions,
  type NamespaceEngineOptions,
  type NamespaceEngineStats,
  type NamespaceRecoveryReport,
} from "./namespace-engine.ts";
export {
  DEFAULT_QUERY_CACHE_SETTINGS,
  type NamespaceQueryResult,
  type NamespaceQueryRows,
  type QueryCacheSettings,
  type QueryCacheStats,
  type TailMergeStats,
  type QueryOptions,
} from "./read/namespace-query.ts";
export type { SegmentIndexCacheStats } from "./read/segment-index-cache.ts";
export type { TailChunkIndexStoreStats } from "./tail/tail-chunk-index-store.ts";
export type { DeleteByFilterResult, PatchByFilterResult, PredicateMutationOptions } from "./write/predicate-mutation.ts";
export {
  DEFAULT_COMPACTION_SETTINGS,
  type CompactionRecoveryReport,
  type CompactionReport,
  type CompactionSettings,
} from "./compaction/compactor.ts";
export { NamespaceState, type ApplyOptions, type RowLocation } from "./state/namespace-state.ts";
export { DEFAULT_RETENTION, type GarbageReport, type RetentionPolicy } from "./maintenance/manifest-retention.ts";
export type { StateCacheStats } from "./state/state-cache.ts";
export { DEFAULT_STATE_PERSISTENCE, STATE_FILE_SUFFIX, type StatePersistenceSettings, type StatePersistenceStats } from "./state/state-persistence.ts";
export { MAX_BRIDGED_VERSIONS, type LostVersions, type RepairOptions, type RepairReport } from "./maintenance/project-repair.ts";
export { type BatchWriteResult, MAX_IDEMPOTENCY_KEY_LENGTH, type WriteOptions, type WriteResult } from "./write/write-options.ts";
export { DEFAULT_WRITE_LIMITS, MAX_DIMENSION, type WriteBatch, type WriteLimits } from "./write/write-request.ts";
export { parseWriteCondition, REF_NEW, type WriteCondition } from "./write/write-condition.ts";
export type { CarriedBatchOptions, CommitPolicy, CommitterStats, GroupCommitOptions } from "./write/write-committer.ts";
export { DEFAULT_CARRIED_BATCHES } from "./write/write-committer.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./core/storage-calls.ts";
export {
  logBatchKey,
  manifestKey,
  manifestPrefix,
  manifestVersionOf,
  MAX_MANIFEST_VERSION,
  namespaceRoot,
  projectRoot,
  compactionIntentKey,
  compactionPrefix,
  registryKey,
  refcountShardKey,
  tombstoneSnapshotKey,
  segmentIndexKey,
  segmentKey,
  tombstonesKey,
  waitingClaimKey,
  waitingPrefix,
} from "./core/storage-layout.ts";
export { CLAIM_LEASE_MS, decodeWaitingClaim, type WaitingClaim } from "./write/waiting-claims.ts";
export { decodeLogEntry, encodeLogEntry, LOG_ENTRY_EXACT_VERSION, LOG_ENTRY_VERSION, type LogEntry, type LogOp } from "./log/log-entry.ts";
// The query module's public surface (the engine's own `DistanceMetric`, lowercase, shadows the query module's wire-case one).
export {
  CorruptIndexError,
  formatPath,
  InvalidDocumentError,
  InvalidQueryError,
  isCorruptIndex,
  isInvalidDocument,
  isInvalidQuery,
  isQueryError,
  isUnsupportedIndexVersion,
  QueryError,
  UnsupportedIndexVersionError,
} from "@skerry/query";
export type { InvalidQueryReason, QueryErrorCode, QueryIssue } from "@skerry/query";
export { DISTANCE_METRICS } from "@skerry/query";
export type { QueryDocument } from "@skerry/query";
export { buildQueryIndex, QueryIndex } from "@skerry/query";
export type { BuildQueryIndexOptions } from "@skerry/query";
export type { IvfOptions } from "@skerry/query";
export { joinTextElements, joinTokens, PRE_TOKENIZED_SEPARATOR, TEXT_ELEMENT_SEPARATOR } from "@skerry/query";
export type { TokenizerConfig } from "@skerry/query";
export { DEFAULT_MAX_TOP_K, parseQueryRequest } from "@skerry/query";
export type { Aggregation, ComputeExpr, Filter, ParseQueryOptions, QueryRequest, RankBy, Scalar, SingleRankBy, TextExpr } from "@skerry/query";
export { BM25_B, BM25_K1, executeQuery } from "@skerry/query";
export type { AggregationGroup, ExecuteQueryOptions, QueryResult, QueryRowsResult } from "@skerry/query";
export { QueryRows, type QueryRow } from "@skerry/query";
export type { ComputedValue } from "@skerry/query";
export type { FragmentBy, HighlightFragment, OffsetUnits } from "@skerry/query";
export { DEFAULT_SLICE_MS, QuerySlicer, type QuerySlicerOptions, type QuerySlicerStats } from "@skerry/query";
export { prepareQuerySnapshot, QuerySnapshot } from "@skerry/query";
export { deserializeQueryIndex, QUERY_INDEX_MAGIC, QUERY_INDEX_VERSION, queryIndexEagerBytes, serializeQueryIndex } from "@skerry/query";
export type { DeserializeOptions } from "@skerry/query";
export { configureQueryThreads, warmUpQueryThreads } from "@skerry/query";
export { type MatchOptions, matchesFilter } from "@skerry/query";
