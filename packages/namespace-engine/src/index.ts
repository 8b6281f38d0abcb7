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
} from "./errors.ts";
export { isManifestRollback, ManifestRollbackError } from "./manifest-rollback-error.ts";
export type { DocumentInput, DocumentPatch, JsonObject, JsonValue, SparseVector, StoredDocument } from "./document.ts";
export {
  formatNamespacePath,
  MAX_PATH_PART_LENGTH,
  namespacePath,
  parseNamespacePath,
  validatePathPart,
  type NamespacePath,
} from "./namespace-path.ts";
export type {
  CreateNamespaceOptions,
  DeleteNamespaceResult,
  DistanceMetric,
  NamespaceInfo,
  ReadOptions,
  ScanOptions,
} from "./namespace-info.ts";
export { type ListingPageOptions, MAX_LISTING_PAGE, type NamespaceNamesPage, type VersionsPage } from "./listing-pages.ts";
export type { ResolvedTextFieldOptions, TextFieldOptions } from "./text-field-options.ts";
export type {
  AttributeSchema,
  AttributeSchemaInput,
  AttributeType,
  IdType,
  NamespaceSchema,
  NamespaceSchemaInfo,
  NamespaceSchemaInput,
} from "./namespace-schema.ts";
export { type DocumentId, documentIdKey, documentIdValue, isUintIdKey, MAX_UINT_ID } from "./document-ids.ts";
export { TEXT_LANGUAGES } from "./query/text-language.ts";
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
} from "./namespace-query.ts";
export type { SegmentIndexCacheStats } from "./segment-index-cache.ts";
export type { TailChunkIndexStoreStats } from "./tail-chunk-index-store.ts";
export type { DeleteByFilterResult, PatchByFilterResult, PredicateMutationOptions } from "./predicate-mutation.ts";
export {
  DEFAULT_COMPACTION_SETTINGS,
  type CompactionRecoveryReport,
  type CompactionReport,
  type CompactionSettings,
} from "./compactor.ts";
export { NamespaceState, type ApplyOptions, type RowLocation } from "./namespace-state.ts";
export { DEFAULT_RETENTION, type GarbageReport, type RetentionPolicy } from "./manifest-retention.ts";
export type { StateCacheStats } from "./state-cache.ts";
export { DEFAULT_STATE_PERSISTENCE, STATE_FILE_SUFFIX, type StatePersistenceSettings, type StatePersistenceStats } from "./state-persistence.ts";
export { MAX_BRIDGED_VERSIONS, type LostVersions, type RepairOptions, type RepairReport } from "./project-repair.ts";
export { type BatchWriteResult, MAX_IDEMPOTENCY_KEY_LENGTH, type WriteOptions, type WriteResult } from "./write-options.ts";
export { DEFAULT_WRITE_LIMITS, MAX_DIMENSION, type WriteBatch, type WriteLimits } from "./write-request.ts";
export { parseWriteCondition, REF_NEW, type WriteCondition } from "./write-condition.ts";
export type { CarriedBatchOptions, CommitPolicy, CommitterStats, GroupCommitOptions } from "./write-committer.ts";
export { DEFAULT_CARRIED_BATCHES } from "./write-committer.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./storage-calls.ts";
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
} from "./storage-layout.ts";
export { CLAIM_LEASE_MS, decodeWaitingClaim, type WaitingClaim } from "./waiting-claims.ts";
export { decodeLogEntry, encodeLogEntry, LOG_ENTRY_EXACT_VERSION, LOG_ENTRY_VERSION, type LogEntry, type LogOp } from "./log-entry.ts";
// The query module's public surface (the engine's own `DistanceMetric`, lowercase, shadows the query module's wire-case one).
export * from "./query/index.ts";
export { type MatchOptions, matchesFilter } from "./query/filter-match.ts";
