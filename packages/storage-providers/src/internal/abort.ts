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

/**
 * One abort listener on `signal` for many waits: `promise` rejects with
 * AbortedError when it fires (never resolves). A read that joins many
 * fetches races each against this one promise instead of adding a listener
 * per fetch (Node warns past 10 listeners on one signal). `dispose` removes
 * the listener; call it when the waits are over.
 */
export class AbortWatch {
  readonly promise: Promise<never>;
  readonly #dispose: () => void;

  constructor(signal: AbortSignal, key?: string) {
    let onAbort: () => void = () => undefined;
    this.promise = new Promise<never>((_, reject) => {
      onAbort = () =>
        reject(
          new AbortedError(key === undefined ? "read aborted" : `read of ${JSON.stringify(key)} aborted`, {
            key,
            cause: signal.reason,
          }),
        );
      signal.addEventListener("abort", onAbort, { once: true });
    });
    this.promise.catch(() => undefined); // nobody may be racing it when it fires
    this.#dispose = () => signal.removeEventListener("abort", onAbort);
  }

  dispose(): void {
    this.#dispose();
  }
}
