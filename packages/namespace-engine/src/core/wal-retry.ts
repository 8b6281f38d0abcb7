/**
 * The engine's retry policy in the wal-engine's shape. Compare-and-swap
 * loops need more attempts than single storage calls (a lost race is not a
 * failure), so at least 12. The injected sleep rides along, so the
 * wal-engine's compare-and-swap loops (pins, refcount shards, intents,
 * segments) wait on the same clock as the engine's own retries.
 */
import type { RetryPolicy as WalRetryPolicy } from "@skerry/wal-engine";
import type { RetryPolicy } from "./storage-calls.ts";

export function toWalRetryPolicy(retry: RetryPolicy): WalRetryPolicy {
  return {
    maxAttempts: Math.max(12, retry.attempts),
    baseDelayMs: retry.baseDelayMs,
    maxDelayMs: retry.maxDelayMs,
    ...(retry.sleep === undefined ? {} : { sleep: retry.sleep }),
  };
}
