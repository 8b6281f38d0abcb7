/**
 * SharedFetch: one inner call awaited by every caller that wants its answer
 * (single flight), with per-caller aborts.
 *
 * Each caller `join`s with its own AbortSignal. A caller whose signal fires
 * stops waiting at once (it gets AbortedError) without disturbing the
 * others; the call itself goes on while at least one caller still waits.
 * When the last waiter leaves before the answer, the call is aborted through
 * its own signal and `onAbandoned` runs, so the owner can forget it and a
 * later caller starts a fresh call instead of joining a dying one.
 */
import { AbortWatch, throwIfAborted } from "./abort.ts";

export class SharedFetch<T> {
  readonly #controller = new AbortController();
  readonly #promise: Promise<T>;
  readonly #onAbandoned: () => void;
  #waiters = 0;
  #settled = false;
  #abandoned = false;

  constructor(run: (signal: AbortSignal) => Promise<T>, onAbandoned: () => void = () => undefined) {
    this.#onAbandoned = onAbandoned;
    this.#promise = run(this.#controller.signal).finally(() => {
      this.#settled = true;
    });
    // Nobody may be waiting when it fails (all left): that is not unhandled.
    this.#promise.catch(() => undefined);
  }

  /** The answer, for whoever consumes it regardless of waiters (fills). */
  get promise(): Promise<T> {
    return this.#promise;
  }

  /** True once every waiter left before the answer and the call was aborted. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /** Number of callers waiting now. */
  get waiters(): number {
    return this.#waiters;
  }

  /**
   * Waits for the answer on behalf of one caller. Counts the caller as a
   * waiter synchronously, before the first await, so a fetch started and
   * joined in one turn is never seen without waiters. A caller joining many
   * fetches with one signal passes one `watch` of it (one listener in all).
   */
  async join(signal?: AbortSignal, key?: string, watch?: AbortWatch): Promise<T> {
    throwIfAborted(signal, key);
    this.#waiters++;
    const own = signal !== undefined && watch === undefined ? new AbortWatch(signal, key) : undefined;
    try {
      const aborted = watch ?? own;
      if (aborted === undefined) return await this.#promise;
      return await Promise.race([this.#promise, aborted.promise]);
    } finally {
      own?.dispose();
      this.#waiters--;
      if (this.#waiters === 0 && !this.#settled && !this.#abandoned) {
        this.#abandoned = true;
        this.#onAbandoned();
        this.#controller.abort(new Error("every waiter of a shared fetch left"));
      }
    }
  }
}
