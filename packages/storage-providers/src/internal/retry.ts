/**
 * Retry with capped exponential backoff and full jitter.
 *
 * `retry(operation, options)` runs `operation(attempt)` (attempt counts from
 * 1) until it succeeds, throws an error that `isRetryable` rejects, or
 * `policy.maxAttempts` attempts have been made; the last error is rethrown
 * unchanged. Between attempts it sleeps a "full jitter" delay:
 *
 *     delay(n) = random() * min(maxDelayMs, baseDelayMs * 2^(n-1))
 *
 * where n is the number of the attempt that just failed. Full jitter (rather
 * than a fixed exponential delay) spreads out clients that failed together,
 * e.g. the losers of a compare-and-swap race or a throttled burst, so their
 * retries do not collide again.
 *
 * Nothing here knows about S3: the caller decides what is retryable. Time
 * and randomness are injected (`sleep`, `random`) so tests are deterministic.
 * The AbortSignal is checked before every attempt and after every sleep, and
 * handed to `sleep`, which should end early when it fires; an abort surfaces
 * as AbortedError.
 */
import { abortableSleep, throwIfAborted } from "./abort.ts";

export interface RetryPolicy {
  /** Total attempts, the first one included (1 = never retry). */
  maxAttempts: number;
  /** Delay cap of the first retry, in ms; doubles per attempt. */
  baseDelayMs: number;
  /** Upper bound of any single delay, in ms. */
  maxDelayMs: number;
}

/** Five attempts, 50 ms doubling to at most 5 s: ~1.5 s of waiting in the worst ordinary case. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
});

/** What `onRetry` is told before each sleep. */
export interface RetryEvent {
  /** The attempt that just failed (1-based). */
  attempt: number;
  /** How long the retry will wait before attempt `attempt + 1`. */
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  policy?: RetryPolicy | undefined;
  /** Decides whether a failure may be retried. */
  isRetryable: (error: unknown) => boolean;
  /** Waits `ms`; should reject when `signal` fires. Defaults to a timer. */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** Uniform in [0, 1). Defaults to Math.random. */
  random?: (() => number) | undefined;
  signal?: AbortSignal | undefined;
  /** Key named by an AbortedError raised between attempts. */
  key?: string | undefined;
  /** Observes each retry (for logs and metrics). */
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

/** The full-jitter delay after failed attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * Math.max(cap, 0));
}

/** Throws a TypeError when a policy's numbers make no sense. */
export function checkRetryPolicy(policy: RetryPolicy): void {
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new TypeError(`retry maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  }
  for (const field of ["baseDelayMs", "maxDelayMs"] as const) {
    const value = policy[field];
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`retry ${field} must be >= 0, got ${value}`);
  }
}

export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => abortableSleep(ms, signal, options.key));
  const random = options.random ?? Math.random;
  const { signal, key } = options;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal, key);
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.maxAttempts || !options.isRetryable(error)) throw error;
      const delayMs = backoffDelay(attempt, policy, random);
      options.onRetry?.({ attempt, delayMs, error });
      try {
        await sleep(delayMs, signal);
      } catch (sleepError) {
        // An injected sleep may reject with its own abort error: report ours.
        throwIfAborted(signal, key);
        throw sleepError;
      }
    }
  }
}
