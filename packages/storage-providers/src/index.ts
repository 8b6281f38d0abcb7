/**
 * @skerry/storage-providers: one StorageProvider interface over memory, the
 * local filesystem and S3, with typed errors, fault injection and caching.
 */
export {
  AbortedError,
  AlreadyExistsError,
  ConflictError,
  CorruptError,
  InternalError,
  InvalidKeyError,
  isAborted,
  isAlreadyExists,
  isConflict,
  isCorrupt,
  isInternal,
  isInvalidKey,
  isNotFound,
  isNotImplemented,
  isOutcomeUnknown,
  isPreconditionFailed,
  isRetryable,
  isStorageError,
  isUnavailable,
  NotFoundError,
  NotImplementedError,
  OutcomeUnknownError,
  PreconditionFailedError,
  StorageError,
  UnavailableError,
  type StorageErrorCode,
  type StorageErrorOptions,
} from "./errors.ts";
export { CachingStorage, type CacheStats, type CachingStorageOptions } from "./caching-storage.ts";
export { compareKeys, MAX_KEY_BYTES, validateKey, validatePrefix } from "./keys.ts";
export {
  FaultInjectingStorage,
  type CallMatcher,
  type CallOutcome,
  type FaultInjectingStorageOptions,
  type FaultOptions,
  type RandomFaultOptions,
  type RecordedCall,
  type StorageCall,
  type StorageOperation,
} from "./fault-injecting-storage.ts";
export { LocalFsStorage, type LocalFsStorageOptions } from "./local-fs-storage.ts";
export { MemoryStorage, type MemoryStorageOptions } from "./memory-storage.ts";
export {
  PutModes,
  type ByteRange,
  type CallOptions,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ObjectMeta,
  type PutMode,
  type PutOptions,
  type PutResult,
  type StorageProvider,
} from "./storage-provider.ts";
export { S3Storage, type RetryPolicy, type S3RetryEvent, type S3StorageOptions } from "./s3-storage.ts";
