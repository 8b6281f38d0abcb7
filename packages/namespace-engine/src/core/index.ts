/**
 * TODO room header: core
 */
export { isEngineObjectKey, isImmutableEngineKey } from "./engine-key.ts";
export { asEngineError, ConflictError, CorruptError, DocumentNotFoundError, InvalidArgumentError, isCorrupt, isNamespaceEngineError, NamespaceExistsError, NamespaceNotFoundError, SchemaChangeError, SchemaViolationError, StorageFailureError, UnfilterableAttributeError, UnsupportedLanguageError, VersionConflictError, VersionNotFoundError } from "./errors.ts";
export { formatNamespacePath, type NamespacePath, toNamespacePath, validatePathPart } from "./namespace-path.ts";
export { randomUuid } from "./random-uuid.ts";
export { SerialQueue } from "./serial-queue.ts";
export { backoffMs, createImmutable, DEFAULT_RETRY_POLICY, pause, readReferenced, type RetryPolicy, sleep, toEngineError, withRetry } from "./storage-calls.ts";
export { carrierManifestKey, compactionIntentKey, compactionPrefix, logBatchKey, manifestKey, manifestPrefix, manifestVersionOf, namespaceId, namespaceRoot, namespacesPrefix, PINS_KEY, REFCOUNT_SHARDS, refcountShardKey, registryKey, registryPrefix, segmentIndexKey, segmentKey, tombstonesKey, tombstoneSnapshotKey, waitingClaimKey, waitingPrefix } from "./storage-layout.ts";
export { toWalRetryPolicy } from "./wal-retry.ts";
