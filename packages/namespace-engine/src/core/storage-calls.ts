/**
 * Storage calls with the engine's retry rule, and the mapping of storage
 * errors to the engine's typed errors.
 *
 * A call that fails with a retryable storage error (Unavailable, Conflict)
 * is tried again up to `attempts` times with jittered exponential backoff;
 * anything else, or the last failure, becomes a `StorageFailureError` whose
 * `cause` is the storage error. Callers that must know whether a write
 * landed (manifest creates) do not use this blindly: see manifest-store.ts.
 *
 * Corruption has one code: a storage `Corrupt` error (a provider's checksum
 * or header check) and a wal-engine `Corrupt` error (a state document,
 * tombstone sidecar or `.arrow` sidecar whose bytes are wrong) both become
 * the engine's `CorruptError` naming the key (`toEngineError`). A read of an
 * object a manifest references (`readReferenced`) treats a missing object
 * as corruption too: a manifest never names an object before it is durable.
 */
import { type GetOptions, type GetResult, isAlreadyExists, isNotFound, isOutcomeUnknown, isRetryable, isStorageError, type StorageProvider } from "@skerry/storage-providers";
import { isWalEngineError, isWalStorageError } from "@skerry/wal-engine";
import type { Random } from "@skerry/wal-format";
import { CorruptError, isNamespaceEngineError, StorageFailureError } from "./errors.ts";

/** Waits `ms` (simulated or real time); resolves early, never rejects, when `signal` fires. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryPolicy {
  /** Tries per call, including the first; default 4. */
  readonly attempts: number;
  /** First backoff in ms, doubled per try, jittered; default 10 (0 in deterministic tests). */
  readonly baseDelayMs: number;
  /** Largest backoff in ms; default 500. */
  readonly maxDelayMs: number;
  /**
   * How the backoff waits; default `setTimeout`. Set from `NamespaceEngineOptions.sleep` (a simulated
   * clock's sleep, so deterministic runs never wait on a real timer), and carried to the wal-engine.
   */
  readonly sleep?: Sleep | undefined;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 10, maxDelayMs: 500 };

/** Sleeps `ms` (skipped when 0) with `policy`'s sleep when it has one, else a timer. */
export function sleep(ms: number, policy?: Pick<RetryPolicy, "sleep">): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  if (policy?.sleep !== undefined) return policy.sleep(ms);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits the backoff of try number `attempt` (1-based) by `policy`, with its sleep. */
export function pause(policy: RetryPolicy, attempt: number, random: Random): Promise<void> {
  return sleep(backoffMs(policy, attempt, random), policy);
}

/** A backoff for try number `attempt` (1-based): uniform in [0, min(max, base * 2^(attempt-1))]. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: Random): number {
  if (policy.baseDelayMs <= 0) return 0;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 20));
  return Math.floor((random.nextUint32() / 2 ** 32) * ceiling);
}

/**
 * Wraps any failure as an engine error (engine errors pass through): storage and wal-engine `Corrupt` errors
 * become `CorruptError` with their key; a write whose outcome is unknown (the provider's OutcomeUnknown, or the
 * wal-engine's Storage error coded so) becomes a retryable `Storage` error: it may have landed, so it is never
 * reported as a definite failure, and retrying with the same idempotency key either finds it committed
 * (deduplicated) or commits it; other storage errors and wal-engine storage errors become
 * `StorageFailureError`; other wal-engine errors pass through.
 */
export function toEngineError(error: unknown, what: string): Error {
  if (isNamespaceEngineError(error)) return error;
  if (isOutcomeUnknown(error) || (isWalStorageError(error) && error.storageCode === "OutcomeUnknown")) {
    return new StorageFailureError(
      `${what}: outcome unknown (the write may have landed); retry with the same idempotency key: ${(error as Error).message}`,
      { cause: error, retryable: true },
    );
  }
  if (isStorageError(error) || isWalEngineError(error)) {
    if (error.code === "Corrupt") {
      const key = error.key ?? what;
      return new CorruptError(`${what}: ${error.message}`, key, { cause: error });
    }
    if (isStorageError(error) || error.code === "Storage") {
      return new StorageFailureError(`${what}: ${error.message}`, { cause: error, retryable: error.retryable });
    }
  }
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The bytes of `key`, an object a manifest references (`what` says which, for messages): read with `policy`'s
 * retries; a missing object is `CorruptError` naming the key, never an empty value.
 */
export async function readReferenced(
  deps: { readonly storage: StorageProvider; readonly retry: RetryPolicy; readonly random: Random },
  key: string,
  what: string,
): Promise<Uint8Array> {
  return (await getReferenced(deps, key, what)).bytes;
}

/** `readReferenced` with the storage `get`'s options (a byte range) and its whole answer (the object's size too). */
export async function getReferenced(
  deps: { readonly storage: StorageProvider; readonly retry: RetryPolicy; readonly random: Random },
  key: string,
  what: string,
  options: GetOptions = {},
): Promise<GetResult> {
  return withRetry(`read ${what}`, deps.retry, deps.random, async () => {
    try {
      return await deps.storage.get(key, options);
    } catch (error) {
      if (isNotFound(error)) throw new CorruptError(`${what} is missing`, key, { cause: error });
      throw error;
    }
  });
}

/**
 * Writes `bytes` at `key` with a create-only put, retried by `policy`. An existing object counts as written:
 * callers use it only for keys whose content is fixed by the key (a fresh UUID, a content hash, a batch id), so
 * whatever is there is an earlier attempt's identical copy (readers verify hashes anyway). An unknown outcome
 * (OutcomeUnknown) is retried like a lost answer: sending the create again decides it (it lands, or finds the
 * object there), and once the policy runs out the error stays a retryable unknown outcome (`toEngineError`).
 */
export async function createImmutable(
  deps: { readonly storage: StorageProvider; readonly retry: RetryPolicy; readonly random: Random },
  key: string,
  bytes: Uint8Array,
  what = `write ${key}`,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.storage.put(key, bytes, { mode: { kind: "create" } });
      return;
    } catch (error) {
      if (isAlreadyExists(error)) return;
      if (!(isRetryable(error) || isOutcomeUnknown(error)) || attempt >= deps.retry.attempts) throw toEngineError(error, what);
    }
    await pause(deps.retry, attempt, deps.random);
  }
}

/** Runs `call`, retrying retryable storage errors by `policy`. */
export async function withRetry<T>(what: string, policy: RetryPolicy, random: Random, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error) || attempt >= policy.attempts) throw toEngineError(error, what);
      await pause(policy, attempt, random);
    }
  }
}
