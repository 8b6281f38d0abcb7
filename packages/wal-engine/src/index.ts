/**
 * @skerry/wal-engine: crash-safe multi-object mutations over object storage.
 *
 * - cas-object: the generic compare-and-swap helper (read with etag, mutate,
 *   conditional write, bounded retries, unknown-outcome resolution);
 * - WalStore: state docs, `.arrow` sidecars and tombstone sidecars under a
 *   root prefix;
 * - leases, the UPDATE/DELETE pipeline against a `MutationTable`, the
 *   recovery sweep, WAL GC, and progress events;
 * - WalEngine: the facade that bundles them for one handle.
 */
export {
  backoffDelay,
  bytesEqual,
  CAS_NOOP,
  casUpdate,
  createOnce,
  DEFAULT_RETRY_POLICY,
  readRaw,
  readVersioned,
  timerSleep,
  updateIfMatch,
  withStorageRetry,
  type CasMutate,
  type CasNoop,
  type CasRuntime,
  type CasUpdateOptions,
  type CasUpdateResult,
  type RetryPolicy,
  type Sleep,
  type Versioned,
} from "./cas-object.ts";
export {
  CasFailedError,
  HashMismatchError,
  InvalidPreStateError,
  isCasFailed,
  isHashMismatch,
  isInvalidPreState,
  isLeaseConflict,
  isSegmentSealed,
  isTargetCapExceeded,
  isWalAlreadyExists,
  isWalCodecError,
  isWalCorrupt,
  isWalEngineError,
  isWalInvalidInput,
  isWalNotFound,
  isWalSchemaError,
  isWalStorageError,
  LeaseConflictError,
  SegmentSealedError,
  TargetCapExceededError,
  WalAlreadyExistsError,
  WalCodecError,
  WalCorruptError,
  WalEngineError,
  WalInvalidInputError,
  WalNotFoundError,
  WalSchemaError,
  WalStorageError,
  wrapStorageError,
  type WalEngineErrorCode,
  type WalEngineErrorOptions,
} from "./errors.ts";
export { safeEmitter, type RecoveryOutcome, type WalEvent, type WalEventListener } from "./events.ts";
export {
  ARROW_SUFFIX,
  normalizeRoot,
  STATE_SUFFIX,
  SUPERFILES_DIR,
  TOMBSTONES_SUFFIX,
  WAL_MUTATIONS_DIR,
  WalLayout,
} from "./wal-layout.ts";
export {
  decodeStateDoc,
  encodeStateDoc,
  WalStore,
  type CallSignal,
  type VersionedState,
  type WalObject,
  type WalStoreOptions,
} from "./wal-store.ts";
export {
  heartbeatLease,
  leaseBlocks,
  releaseLease,
  tryAcquireLease,
  withLease,
  withoutLease,
  type LeaseCallOptions,
} from "./lease.ts";
export type { MutationTable, RowLocation, SegmentCommitInfo } from "./mutation-table.ts";
export { randomSegmentId } from "./segment-id.ts";
export type { PipelineContext } from "./pipeline-context.ts";
export { advanceState, type AdvancedState, type StateTransform } from "./state-transition.ts";
export {
  beginMutation,
  type BeginDependencies,
  type BegunMutation,
  type DeleteInput,
  type NewRow,
  type UpdateInput,
} from "./begin-mutation.ts";
export { runAppendPhase } from "./append-phase.ts";
export { runTombstonePhase, type TombstonePhaseResult } from "./tombstone-phase.ts";
export { driveMutation, outcomeCounts, type DriveOutcome } from "./drive-mutation.ts";
export { runBounded } from "./bounded-pool.ts";
export {
  emptyRecoveryReport,
  scanAndRecover,
  type RecoveryError,
  type RecoveryOptions,
  type RecoveryReport,
} from "./recovery.ts";
export { collectWalGarbage, type WalGcOptions, type WalGcReport } from "./wal-gc.ts";
export {
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_TARGETS,
  DEFAULT_RELOCATE_POLICY,
  WalEngine,
  type CallOptions,
  type MutationResult,
  type WalEngineOptions,
} from "./wal-engine.ts";
