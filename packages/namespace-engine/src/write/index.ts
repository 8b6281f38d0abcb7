/**
 * TODO room header: write
 */
export { type FilterInput, NamespaceWrites, validateWriteOptions } from "./namespace-writes.ts";
export type { DeleteByFilterResult, PatchByFilterResult, PredicateMutationOptions } from "./predicate-mutation.ts";
export { type CarriedBatchOptions, type CommitPolicy, type CommitterStats, DEFAULT_CARRIED_BATCHES, DISABLED_CARRIED_BATCHES, type GroupCommitOptions, WriteCommitter } from "./write-committer.ts";
export type { BatchWriteResult, WriteOptions, WriteResult } from "./write-options.ts";
export { DEFAULT_WRITE_LIMITS, type WriteBatch, type WriteLimits } from "./write-request.ts";
