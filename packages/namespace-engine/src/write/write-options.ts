/**
 * Options and result of `upsert`, `patch` and `delete`.
 */

export interface WriteOptions {
  /**
   * Conditional write: commit only if the namespace's latest manifest version
   * equals this, else `VersionConflictError` (checked again after every
   * rebase). A conditional write commits in a group of its own.
   */
  readonly ifVersion?: number | undefined;
  /**
   * Idempotency key (1-256 characters). A write whose key is among the
   * namespace's recent writes is not applied again: it returns the first
   * write's result with `deduplicated: true`, also from another process and
   * after a lost answer. The window is the manifest's bounded recent-writes
   * list (`recentWritesLimit`, default 1,000 keys).
   */
  readonly idempotencyKey?: string | undefined;
}

export interface WriteResult {
  /** Manifest version the write committed as (for a deduplicated write: the first write's). */
  readonly version: number;
  /** Operations applied (documents, patches or ids; for a batch `write`, the ones whose conditions held). */
  readonly count: number;
  /** True when an earlier write with the same idempotency key was found and nothing was applied. */
  readonly deduplicated: boolean;
}

/** Longest idempotency key in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

/** Result of a batch `write`: which documents each kind of operation affected. */
export interface BatchWriteResult extends WriteResult {
  /** Ids upserted (an upsert whose condition failed is not here), in request order. */
  readonly upserted: readonly string[];
  /** Ids patched (patches of missing documents and failed conditions are not here). */
  readonly patched: readonly string[];
  /** Ids deleted (deletes of missing documents and failed conditions are not here). */
  readonly deleted: readonly string[];
}
