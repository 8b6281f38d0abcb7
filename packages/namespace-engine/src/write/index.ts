/**
 * TODO room header: write
 */
export { deleteByFilter, type DeleteByFilterResult, type MutationDependencies, patchByFilter, type PatchByFilterResult, type PredicateMutationOptions } from "./predicate-mutation.ts";
export { type CarriedBatchOptions, type CommitPolicy, type CommitterStats, DEFAULT_CARRIED_BATCHES, DISABLED_CARRIED_BATCHES, type GroupCommitOptions, WriteCommitter } from "./write-committer.ts";
export { type BatchWriteResult, MAX_IDEMPOTENCY_KEY_LENGTH, type WriteOptions, type WriteResult } from "./write-options.ts";
export { DEFAULT_WRITE_LIMITS, encodeBatch, encodeDelete, type EncodedWrite, encodePatch, encodeUpsert, type WriteBatch, type WriteLimits } from "./write-request.ts";
