import { describe, expect, it } from "vitest";
import { isAborted, UnavailableError, InternalError, isRetryable } from "@skerry/storage-providers";
import { backoffDelay, checkRetryPolicy, DEFAULT_RETRY_POLICY, retry, type RetryEvent } from "../src/internal/retry.ts";

const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

/** An operation that fails with the given errors, then returns "ok". */
function failing(...errors: unknown[]) {
  const attempts: number[] = [];
  const operation = async (attempt: number) => {
    attempts.push(attempt);
    const error = errors.shift();
    if (error !== undefined) throw error;
    return "ok";
  };
  return { operation, attempts };
}

function recorder() {
  const sleeps: number[] = [];
  const events: RetryEvent[] = [];
  return {
    sleeps,
    events,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
    onRetry: (event: RetryEvent) => events.push(event),
  };
}

const unavailable = () => new UnavailableError("try later");

describe("backoffDelay", () => {
  it("should cap base * 2^(attempt-1) at maxDelayMs and scale it by random (full jitter)", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0.5))).toEqual([50, 100, 200, 400]);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });

  it("should stay within [0, cap] for out-of-range random values and huge attempt numbers", () => {
    expect(backoffDelay(1, policy, () => -3)).toBe(0);
    expect(backoffDelay(1, policy, () => 7)).toBe(100);
    expect(backoffDelay(10_000, policy, () => 1)).toBe(1000);
  });
});

describe("checkRetryPolicy", () => {
  it("should accept the default policy and reject nonsense", () => {
    expect(() => checkRetryPolicy(DEFAULT_RETRY_POLICY)).not.toThrow();
    expect(() => checkRetryPolicy({ ...policy, maxAttempts: 0 })).toThrow(TypeError);
    expect(() => checkRetryPolicy({ ...policy, maxAttempts: 1.5 })).toThrow(TypeError);
    expect(() => checkRetryPolicy({ ...policy, baseDelayMs: -1 })).toThrow(TypeError);
    expect(() => checkRetryPolicy({ ...policy, maxDelayMs: Number.NaN })).toThrow(TypeError);
  });
});

describe("retry", () => {
  it("should return the first success without sleeping", async () => {
    const { operation, attempts } = failing();
    const r = recorder();
    expect(await retry(operation, { policy, isRetryable, sleep: r.sleep, random: () => 0.5 })).toBe("ok");
    expect(attempts).toEqual([1]);
    expect(r.sleeps).toEqual([]);
  });

  it("should retry retryable failures with jittered exponential delays and report each retry", async () => {
    const errors = [unavailable(), unavailable(), unavailable()];
    const { operation, attempts } = failing(...errors);
    const r = recorder();
    const result = await retry(operation, {
      policy,
      isRetryable,
      sleep: r.sleep,
      random: () => 0.5,
      onRetry: r.onRetry,
    });
    expect(result).toBe("ok");
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(r.sleeps).toEqual([50, 100, 200]);
    expect(r.events.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 50],
      [2, 100],
      [3, 200],
    ]);
    expect(r.events[0]!.error).toBe(errors[0]);
  });

  it("should give up after maxAttempts and rethrow the last error unchanged", async () => {
    const last = unavailable();
    const { operation, attempts } = failing(unavailable(), unavailable(), last, "unused");
    const r = recorder();
    const error = await retry(operation, { policy: { ...policy, maxAttempts: 3 }, isRetryable, sleep: r.sleep }).catch(
      (e: unknown) => e,
    );
    expect(error).toBe(last);
    expect(attempts).toEqual([1, 2, 3]);
    expect(r.sleeps).toHaveLength(2);
  });

  it("should never retry an error the predicate rejects", async () => {
    const fatal = new InternalError("bug");
    const { operation, attempts } = failing(fatal);
    const r = recorder();
    await expect(retry(operation, { policy, isRetryable, sleep: r.sleep })).rejects.toBe(fatal);
    expect(attempts).toEqual([1]);
    expect(r.sleeps).toEqual([]);
  });

  it("should make exactly one attempt when maxAttempts is 1", async () => {
    const { operation, attempts } = failing(unavailable());
    await expect(retry(operation, { policy: { ...policy, maxAttempts: 1 }, isRetryable })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(attempts).toEqual([1]);
  });

  it("should fail with Aborted before the first attempt when the signal already fired", async () => {
    const { operation, attempts } = failing();
    const error = await retry(operation, { policy, isRetryable, signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isAborted(error)).toBe(true);
    expect(attempts).toEqual([]);
  });

  it("should fail with Aborted and stop retrying when the signal fires between attempts", async () => {
    const controller = new AbortController();
    const { operation, attempts } = failing(unavailable(), unavailable(), unavailable());
    const error = await retry(operation, {
      policy,
      isRetryable,
      signal: controller.signal,
      key: "k",
      sleep: async () => {
        controller.abort(new Error("stop"));
      },
    }).catch((e: unknown) => e);
    expect(isAborted(error)).toBe(true);
    expect((error as { key?: string }).key).toBe("k");
    expect(attempts).toEqual([1]);
  });

  it("should cut a real backoff sleep short when the signal fires", async () => {
    const controller = new AbortController();
    const { operation } = failing(unavailable(), unavailable());
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    const error = await retry(operation, {
      policy: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      isRetryable,
      random: () => 1,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(isAborted(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("should report Aborted even when an injected sleep rejects with its own error", async () => {
    const controller = new AbortController();
    const { operation } = failing(unavailable());
    const error = await retry(operation, {
      policy,
      isRetryable,
      signal: controller.signal,
      sleep: async () => {
        controller.abort();
        throw new DOMException("aborted", "AbortError");
      },
    }).catch((e: unknown) => e);
    expect(isAborted(error)).toBe(true);
  });
});
