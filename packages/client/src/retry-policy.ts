/**
 * When and how long to wait before sending a failed request again:
 * bounded exponential backoff with jitter, never shorter than the server's
 * Retry-After, and never for a request whose outcome is unknown unless it
 * is idempotent (a read, or a write carrying an Idempotency-Key).
 */
import { retrySafety, type SkerryError } from "./skerry-error.ts";

export interface RetryOptions {
  /** Retries after the first attempt (default 4; 0 turns retries off). */
  readonly maxRetries?: number;
  /** The first backoff step (default 100 ms); each retry doubles it. */
  readonly baseDelayMs?: number;
  /** The largest backoff step (default 5,000 ms). */
  readonly maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown (default 60,000 ms). */
  readonly maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = { maxRetries: 4, baseDelayMs: 100, maxDelayMs: 5_000, maxRetryAfterMs: 60_000 };

export function retryOptions(options: RetryOptions | undefined): Required<RetryOptions> {
  const merged = { ...DEFAULT_RETRY, ...options };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`retry.${name} must be a finite number >= 0, got ${value}`);
  }
  if (!Number.isInteger(merged.maxRetries)) throw new RangeError(`retry.maxRetries must be an integer, got ${merged.maxRetries}`);
  return merged;
}

/**
 * The wait before retry number `retry` (0 for the first retry), or
 * undefined when the error must be thrown instead. `random` returns a
 * number in [0, 1).
 */
export function retryDelay(
  error: SkerryError,
  retry: number,
  idempotent: boolean,
  options: Required<RetryOptions>,
  random: () => number,
): number | undefined {
  if (retry >= options.maxRetries) return undefined;
  const safety = retrySafety(error.code, error.status);
  if (safety === "never" || (safety === "if-idempotent" && !idempotent)) return undefined;
  if (error.retryAfterMs !== undefined && error.retryAfterMs > options.maxRetryAfterMs) return undefined;
  // "Equal jitter": half the step plus a random part of the other half, so
  // clients that failed together spread out but never retry at once.
  const step = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  const backoff = step / 2 + (step / 2) * random();
  return Math.max(error.retryAfterMs ?? 0, backoff);
}

/** Retry-After: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
