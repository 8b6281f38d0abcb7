/**
 * SimScheduler: the simulated clock and the scheduler of a run.
 *
 * It implements wal-format's `Clock` (time only moves when the scheduler
 * moves it) and provides the `sleep` that FaultInjectingStorage uses for
 * latency: a sleep registers a timer, and the driver resolves timers one at
 * a time, earliest deadline first (ties by registration order), waiting
 * after each for the whole process to go quiet (`settle`). Every storage
 * call sleeps at least 1 ms of simulated time before it reaches the store,
 * so the order in which concurrent calls reach the store is fixed by the
 * seeded latencies, and at most one call is inside the real provider at a
 * time: local-fs I/O stays deterministic too.
 *
 * Quiescence: `settle` yields to the event loop (setImmediate, which also
 * lets the engines' own one-turn waits run) until no inner storage call is
 * in flight and a full round passed with no activity (no timer registered,
 * no storage call started or finished). Nothing here reads the wall clock.
 */
import type { Clock } from "@skerry/wal-format";

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimScheduler implements Clock {
  #now: number;
  #seq = 0;
  /** Sorted by (at, seq). */
  readonly #timers: Timer[] = [];
  /** Bumped by every timer registration and storage call boundary. */
  activity = 0;
  /** Storage calls currently inside the real (inner) provider. */
  inflight = 0;

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Waits `ms` of simulated time (resolved by the driver); resolves early when `signal` fires. */
  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    this.activity++;
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer: Timer = { at: this.#now + ms, seq: ++this.#seq, resolve };
      let lo = 0;
      let hi = this.#timers.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const t = this.#timers[mid] as Timer;
        if (t.at < timer.at || (t.at === timer.at && t.seq < timer.seq)) lo = mid + 1;
        else hi = mid;
      }
      this.#timers.splice(lo, 0, timer);
      signal?.addEventListener(
        "abort",
        () => {
          const i = this.#timers.indexOf(timer);
          if (i >= 0) this.#timers.splice(i, 1);
          resolve();
        },
        { once: true },
      );
    });
  };

  /** Yields until nothing runs: no inner call in flight and a quiet round. */
  async settle(): Promise<void> {
    for (let rounds = 0; ; rounds++) {
      const before = this.activity;
      await immediate();
      await immediate();
      if (this.inflight === 0 && this.activity === before) return;
      if (rounds > 5_000_000) throw new Error("simulation never settled");
    }
  }

  /** Resolves the earliest timer (moving the clock to it) and settles; false when none is pending. */
  async fireNext(): Promise<boolean> {
    const timer = this.#timers.shift();
    if (timer === undefined) return false;
    if (timer.at > this.#now) this.#now = timer.at;
    timer.resolve();
    await this.settle();
    return true;
  }

  /** Moves the clock forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    while (this.#timers.length > 0 && (this.#timers[0] as Timer).at <= target) await this.fireNext();
    if (target > this.#now) this.#now = target;
    await this.settle();
  }
}
