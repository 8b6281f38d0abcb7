/**
 * The engine's retry policy in the wal-engine's shape. Compare-and-swap
 * loops need more attempts than single storage calls (a lost race is not a
 * failure), so at least 12.
 */
import type { RetryPolicy as WalRetryPolicy } from "@skerry/wal-engine";
import type { RetryPolicy } from "./storage-calls.ts";

export function toWalRetryPolicy(retry: RetryPolicy): WalRetryPolicy {
  return { maxAttempts: Math.max(12, retry.attempts), baseDelayMs: retry.baseDelayMs, maxDelayMs: retry.maxDelayMs };
}
