/**
 * AbortSignal plumbing shared by the providers: turn an aborted signal into
 * the typed AbortedError, and sleep in a way that an abort cuts short.
 */
import { AbortedError } from "../errors.ts";

/** Throws AbortedError when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, key?: string): void {
  if (signal?.aborted) {
    throw new AbortedError(key === undefined ? "call aborted" : `call on ${JSON.stringify(key)} aborted`, {
      key,
      cause: signal.reason,
    });
  }
}

/** Resolves after `ms`, or rejects with AbortedError as soon as `signal` fires. */
export function abortableSleep(ms: number, signal?: AbortSignal, key?: string): Promise<void> {
  throwIfAborted(signal, key);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      try {
        throwIfAborted(signal, key);
      } catch (error) {
        reject(error);
      }
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Yields one event-loop turn (setImmediate), then honours `signal`. */
export function yieldTurn(signal?: AbortSignal, key?: string): Promise<void> {
  throwIfAborted(signal, key);
  return new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        throwIfAborted(signal, key);
        resolve();
      } catch (error) {
        reject(error);
      }
    });
  });
}
