/**
 * write: the write path. NamespaceWrites (the engine's `upsert`, `patch`, `delete`, `write`,
 * `deleteByFilter`, `patchByFilter`); validating writes into encoded log entries against the typed
 * schema; per-document write conditions; WriteCommitter, the commit protocol with group commit, lost
 * races and waiting claims; predicate mutations through the wal-engine pipeline. Depends on core, log,
 * manifest, namespace, state (and mutation's types).
 *
 * Other rooms import this room through this file only.
 */
export { type FilterInput, NamespaceWrites, validateWriteOptions } from "./namespace-writes.ts";
export type { DeleteByFilterResult, PatchByFilterResult, PredicateMutationOptions } from "./predicate-mutation.ts";
export { type CarriedBatchOptions, type CommitPolicy, type CommitterStats, DEFAULT_CARRIED_BATCHES, DISABLED_CARRIED_BATCHES, type GroupCommitOptions, WriteCommitter } from "./write-committer.ts";
export type { BatchWriteResult, WriteOptions, WriteResult } from "./write-options.ts";
export { DEFAULT_WRITE_LIMITS, type WriteBatch, type WriteLimits } from "./write-request.ts";
