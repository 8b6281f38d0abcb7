/**
 * Compare-and-swap objects: the one read-modify-write loop every mutable
 * object in Skerry goes through (WAL state documents, tombstone sidecars,
 * and later the namespace engine's mutable documents). Free of WAL logic.
 *
 * Core calls:
 * - `readVersioned(storage, key, decode)` -> `{ value, etag, bytes }` or
 *   null when absent.
 * - `casUpdate(storage, key, { decode, encode, mutate })`: read with etag,
 *   compute the next value with `mutate(current)`, write it with `update`
 *   (or `create` when absent), and on losing the race re-read and run
 *   `mutate` again, up to `policy.maxAttempts` attempts with capped
 *   exponential backoff and full jitter. `mutate` returns `CAS_NOOP` when no
 *   write is needed, and throws to abort (the error reaches the caller
 *   unchanged). Because `mutate` may run several times against different
 *   snapshots, it must derive the next value from what it is given, never
 *   from an earlier attempt.
 * - `createOnce(storage, key, bytes)`: an idempotent create-only put.
 * - `updateIfMatch(storage, key, etag, bytes)`: one conditional write, no
 *   mutate loop.
 *
 * Unknown outcomes: a put that fails with a retryable error (Unavailable,
 * Conflict: a lost answer, a 5xx, an S3 409) or with OutcomeUnknown (the
 * provider re-read and could not decide) may or may not have landed. The
 * helpers re-read the key: when the stored bytes are exactly the bytes this
 * call wrote, the write landed and the call succeeds with the stored etag.
 * Otherwise it may still have landed and been replaced by another writer
 * before the re-read, so it is never taken for a definite loss:
 * - `casUpdate` runs `mutate` again on what it read. `mutate` must therefore
 *   be idempotent: given a snapshot that already holds this call's change
 *   (ours landed, then another writer built on it), it returns `CAS_NOOP` or
 *   an equivalent value (add-to-set, set-state-if-not-yet, ...), never
 *   applies the change a second time (no blind increments).
 * - `createOnce` and `updateIfMatch` cannot decide for their caller: when the
 *   key holds other bytes (or, for an update, another etag or nothing) after
 *   an unknown outcome, they throw `WalStorageError` with `storageCode:
 *   "OutcomeUnknown"` (retryable: re-read and decide), never a lost race
 *   (`CasFailedError`) or `WalAlreadyExistsError`.
 * The same re-read runs after a PreconditionFailed/AlreadyExists that
 * follows an unknown outcome, because an earlier attempt whose answer was
 * lost can be the writer we lost to. Limitation: two writers sending
 * identical bytes are indistinguishable, which is harmless here since the
 * object then holds exactly the value the caller wanted.
 *
 * Errors: `CasFailedError` when the policy runs out on lost races;
 * `WalStorageError` for provider failures (retryable ones only after the
 * policy ran out) and for an aborted signal (`storageCode: "Aborted"`);
 * whatever `decode`, `encode` or `mutate` throw, unchanged.
 */
import {
  isAlreadyExists,
  isNotFound,
  isOutcomeUnknown,
  isPreconditionFailed,
  isRetryable,
  isStorageError,
  type StorageProvider,
} from "@skerry/storage-providers";
import { cryptoRandom, type Random } from "@skerry/wal-format";
import { CasFailedError, WalAlreadyExistsError, WalStorageError, wrapStorageError } from "./errors.ts";

/** Bounded retry policy: attempts and capped exponential backoff with full jitter. */
export interface RetryPolicy {
  /** Attempts in total, the first included; at least 1. */
  maxAttempts: number;
  /** Backoff ceiling of the first retry, in ms; doubles per retry. */
  baseDelayMs: number;
  /** Largest backoff ceiling, in ms. */
  maxDelayMs: number;
  /** How this policy's backoffs wait when the runtime names no `sleep` (default `timerSleep`). */
  sleep?: Sleep | undefined;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 12, baseDelayMs: 5, maxDelayMs: 1_000 };

/** Waits `ms`; resolves early (never rejects) when `signal` fires. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** `setTimeout`-based sleep that ends early on abort. */
export const timerSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

/** What a retry loop needs besides the call itself; everything injectable for replay. */
export interface CasRuntime {
  policy?: RetryPolicy | undefined;
  /** Jitter source; defaults to crypto randomness. */
  random?: Random | undefined;
  sleep?: Sleep | undefined;
  signal?: AbortSignal | undefined;
}

/** A decoded object with the etag and bytes it was read at. */
export interface Versioned<T> {
  value: T;
  etag: string;
  bytes: Uint8Array;
}

/** Returned by `mutate` when the current value needs no write. */
export const CAS_NOOP: unique symbol = Symbol.for("@skerry/wal-engine/cas-noop");
export type CasNoop = typeof CAS_NOOP;

export type CasMutate<T> = (current: Versioned<T> | null, attempt: number) => T | CasNoop;

export interface CasUpdateOptions<T> extends CasRuntime {
  decode: (bytes: Uint8Array, key: string) => T;
  encode: (value: T) => Uint8Array;
  mutate: CasMutate<T>;
  /**
   * A snapshot the caller already holds (e.g. from its last write), used
   * instead of the first read. `null` means "known absent". If it is stale,
   * the first write loses and the loop re-reads, so this only saves a call.
   */
  known?: Versioned<T> | null | undefined;
}

export type CasUpdateResult<T> =
  | { written: true; value: T; etag: string; bytes: Uint8Array; attempts: number }
  | { written: false; current: Versioned<T> | null; attempts: number };

function policyOf(runtime: CasRuntime): RetryPolicy {
  return runtime.policy ?? DEFAULT_RETRY_POLICY;
}

/** Full-jitter backoff before retry number `retry` (1-based). */
export function backoffDelay(policy: RetryPolicy, retry: number, random: Random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry - 1, 30));
  return Math.floor((random.nextUint32() / 2 ** 32) * ceiling);
}

function throwIfAborted(signal: AbortSignal | undefined, key: string): void {
  if (signal?.aborted) {
    throw new WalStorageError(`aborted while working on ${JSON.stringify(key)}`, {
      key,
      cause: signal.reason,
      storageCode: "Aborted",
      retryable: false,
    });
  }
}

async function pause(runtime: CasRuntime, retry: number, key: string): Promise<void> {
  const policy = policyOf(runtime);
  const delay = backoffDelay(policy, retry, runtime.random ?? cryptoRandom);
  await (runtime.sleep ?? policy.sleep ?? timerSleep)(delay, runtime.signal);
  throwIfAborted(runtime.signal, key);
}

/** True for a failed put that may have landed: retryable (a lost answer) or OutcomeUnknown. */
function mayHaveLanded(error: unknown): boolean {
  return isRetryable(error) || isOutcomeUnknown(error);
}

/** The error of a write whose outcome stayed unknown: retryable, re-read and decide. */
function outcomeUnknown(key: string, action: string, detail: string, cause: unknown): WalStorageError {
  return new WalStorageError(
    `${action} ${JSON.stringify(key)}: outcome unknown: ${detail}; it may have landed and been replaced by another writer. Re-read and decide`,
    { key, cause, storageCode: "OutcomeUnknown", retryable: true },
  );
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Runs `call`, retrying retryable storage errors under the policy. Used for
 * reads and deletes, whose repetition is harmless.
 */
export async function withStorageRetry<R>(
  key: string,
  action: string,
  runtime: CasRuntime,
  call: () => Promise<R>,
): Promise<R> {
  const policy = policyOf(runtime);
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(runtime.signal, key);
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error) || attempt >= policy.maxAttempts) throw wrapStorageError(error, key, action);
    }
    await pause(runtime, attempt, key);
  }
}

/** Reads and decodes `key` with its etag; null when absent. */
export async function readVersioned<T>(
  storage: StorageProvider,
  key: string,
  decode: (bytes: Uint8Array, key: string) => T,
  runtime: CasRuntime = {},
): Promise<Versioned<T> | null> {
  const raw = await readRaw(storage, key, runtime);
  if (raw === null) return null;
  return { value: decode(raw.bytes, key), etag: raw.etag, bytes: raw.bytes };
}

/** Reads raw bytes and etag; null when absent. */
export async function readRaw(
  storage: StorageProvider,
  key: string,
  runtime: CasRuntime = {},
): Promise<{ bytes: Uint8Array; etag: string } | null> {
  return withStorageRetry(key, "read", runtime, async () => {
    try {
      const { bytes, meta } = await storage.get(key, { signal: runtime.signal });
      return { bytes, etag: meta.etag };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  });
}

/**
 * Read-modify-write of one object under compare-and-swap, retried under the
 * policy. See the module header for the contract of `mutate`.
 */
export async function casUpdate<T>(
  storage: StorageProvider,
  key: string,
  options: CasUpdateOptions<T>,
): Promise<CasUpdateResult<T>> {
  const policy = policyOf(options);
  let current: Versioned<T> | null =
    options.known !== undefined ? options.known : await readVersioned(storage, key, options.decode, options);
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal, key);
    const next = options.mutate(current, attempt);
    if (next === CAS_NOOP) return { written: false, current, attempts: attempt };
    const bytes = options.encode(next);
    try {
      const mode = current === null ? ({ kind: "create" } as const) : ({ kind: "update", etag: current.etag } as const);
      const { etag } = await storage.put(key, bytes, { mode, signal: options.signal });
      return { written: true, value: next, etag, bytes, attempts: attempt };
    } catch (error) {
      const lost = isPreconditionFailed(error) || isAlreadyExists(error);
      if (!lost && !mayHaveLanded(error)) throw wrapStorageError(error, key, "conditional write of");
      lastError = error;
    }
    // Lost or unknown: look at what is stored now. If it is exactly what we
    // sent, our write (or an identical one) landed. Otherwise `mutate` runs
    // again on what is there: if ours landed and another writer built on it,
    // the (idempotent) mutate finds its change already made.
    if (attempt < policy.maxAttempts) await pause(options, attempt, key);
    const raw = await readRaw(storage, key, options);
    if (raw !== null && bytesEqual(raw.bytes, bytes)) {
      return { written: true, value: next, etag: raw.etag, bytes: raw.bytes, attempts: attempt };
    }
    if (attempt >= policy.maxAttempts) break;
    current = raw === null ? null : { value: options.decode(raw.bytes, key), etag: raw.etag, bytes: raw.bytes };
  }
  if (isOutcomeUnknown(lastError)) {
    throw outcomeUnknown(key, `conditional write (${policy.maxAttempts} attempts) of`, lastError.message, lastError);
  }
  if (isStorageError(lastError) && lastError.retryable) {
    throw wrapStorageError(lastError, key, `conditional write (${policy.maxAttempts} attempts) of`);
  }
  throw new CasFailedError(`compare-and-swap of ${JSON.stringify(key)} lost ${policy.maxAttempts} times`, {
    key,
    cause: lastError,
    attempts: policy.maxAttempts,
  });
}

/**
 * Create-only put that is idempotent for identical bytes: succeeds when the
 * object is created, or already holds exactly `bytes` (a replay, or an
 * earlier attempt whose answer was lost). Other bytes under the key ->
 * `WalAlreadyExistsError`, or `WalStorageError` "OutcomeUnknown" when an
 * attempt's outcome was unknown (ours may have landed and been replaced). With `exclusive`, a plain AlreadyExists is a lost
 * race (`CasFailedError`) even for identical bytes; only an attempt whose
 * outcome was unknown may still be recognised as ours. Returns the etag.
 */
export async function createOnce(
  storage: StorageProvider,
  key: string,
  bytes: Uint8Array,
  runtime: CasRuntime & { exclusive?: boolean } = {},
): Promise<{ etag: string; created: boolean }> {
  const policy = policyOf(runtime);
  let ambiguous = false;
  let unknown: unknown;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(runtime.signal, key);
    try {
      const { etag } = await storage.put(key, bytes, { mode: { kind: "create" }, signal: runtime.signal });
      return { etag, created: true };
    } catch (error) {
      if (!isAlreadyExists(error) && !mayHaveLanded(error)) throw wrapStorageError(error, key, "create of");
      if (isAlreadyExists(error) && runtime.exclusive === true && !ambiguous) {
        throw new CasFailedError(`${JSON.stringify(key)} already exists (create-only write)`, { key, cause: error });
      }
      if (!isAlreadyExists(error)) {
        unknown = error;
        ambiguous = true;
      }
    }
    const raw = await readRaw(storage, key, runtime);
    if (raw !== null) {
      if (bytesEqual(raw.bytes, bytes)) return { etag: raw.etag, created: false };
      // Other bytes after an unknown outcome: ours may have landed and been replaced.
      if (ambiguous) throw outcomeUnknown(key, "create of", "the key now holds other bytes", unknown);
      if (runtime.exclusive === true) {
        throw new CasFailedError(`${JSON.stringify(key)} already exists (create-only write)`, { key });
      }
      throw new WalAlreadyExistsError(`${JSON.stringify(key)} already exists with other bytes`, { key });
    }
    // Absent after an unknown outcome: the write did not land; try again.
    if (attempt >= policy.maxAttempts) {
      throw isOutcomeUnknown(unknown)
        ? outcomeUnknown(key, `create (${attempt} attempts) of`, "the key stayed absent", unknown)
        : wrapStorageError(unknown, key, `create (${attempt} attempts) of`);
    }
    await pause(runtime, attempt, key);
  }
}

/**
 * One conditional write of `bytes` over `etag`, with unknown outcomes
 * resolved by re-reading: landed -> the stored etag; unchanged -> retried;
 * changed by someone else (or gone) -> `WalStorageError` "OutcomeUnknown"
 * (ours may have landed first). A PreconditionFailed with no unknown outcome
 * before it is a lost race: `CasFailedError`.
 */
export async function updateIfMatch(
  storage: StorageProvider,
  key: string,
  etag: string,
  bytes: Uint8Array,
  runtime: CasRuntime = {},
): Promise<string> {
  const policy = policyOf(runtime);
  let ambiguous = false;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(runtime.signal, key);
    let failure: unknown;
    try {
      return (await storage.put(key, bytes, { mode: { kind: "update", etag }, signal: runtime.signal })).etag;
    } catch (error) {
      if (isPreconditionFailed(error) && !ambiguous) {
        throw new CasFailedError(`${JSON.stringify(key)} changed since etag ${etag}`, { key, cause: error });
      }
      if (!isPreconditionFailed(error) && !mayHaveLanded(error)) throw wrapStorageError(error, key, "conditional write of");
      failure = error;
      ambiguous = true;
    }
    const raw = await readRaw(storage, key, runtime);
    if (raw !== null && bytesEqual(raw.bytes, bytes)) return raw.etag;
    if (raw === null || raw.etag !== etag) {
      // Ours may have landed and then been replaced (or deleted): never a lost race.
      throw outcomeUnknown(key, "conditional write of", raw === null ? "the key is now gone" : `the key is now at etag ${raw.etag}`, failure);
    }
    if (attempt >= policy.maxAttempts) throw wrapStorageError(failure, key, `conditional write (${attempt} attempts) of`);
    await pause(runtime, attempt, key);
  }
}
