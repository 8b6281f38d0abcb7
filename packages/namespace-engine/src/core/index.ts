/**
 * core: what every room stands on, and nothing else of the engine. The closed set of typed errors (and
 * `asEngineError`, which turns @skerry/query's damaged-index error into the engine's CorruptError);
 * namespace paths and their validation; the storage layout (where every object of a namespace lives)
 * and which keys the engine writes; storage calls with the engine's retry rule (and that rule in the
 * wal-engine's shape); the per-key SerialQueue; UUIDs from the injected Random.
 *
 * Other rooms import this room through this file only.
 */
export { isEngineObjectKey, isImmutableEngineKey } from "./engine-key.ts";
export { asEngineError, ConflictError, CorruptError, DocumentNotFoundError, InvalidArgumentError, isCorrupt, isNamespaceEngineError, NamespaceExistsError, NamespaceNotFoundError, SchemaChangeError, SchemaViolationError, StorageFailureError, UnfilterableAttributeError, UnsupportedLanguageError, VersionConflictError, VersionNotFoundError } from "./errors.ts";
export { formatNamespacePath, type NamespacePath, toNamespacePath, validatePathPart } from "./namespace-path.ts";
export { randomUuid } from "./random-uuid.ts";
export { SerialQueue } from "./serial-queue.ts";
export { backoffMs, createImmutable, DEFAULT_RETRY_POLICY, getReferenced, pause, readReferenced, type RetryPolicy, sleep, toEngineError, withRetry } from "./storage-calls.ts";
export { carrierManifestKey, compactionIntentKey, compactionPrefix, logBatchKey, manifestKey, manifestPrefix, manifestVersionOf, namespaceId, namespaceRoot, namespacesPrefix, PINS_KEY, REFCOUNT_SHARDS, refcountShardKey, registryKey, registryPrefix, segmentIndexKey, segmentKey, tombstonesKey, tombstoneSnapshotKey, waitingClaimKey, waitingPrefix } from "./storage-layout.ts";
export { toWalRetryPolicy } from "./wal-retry.ts";
