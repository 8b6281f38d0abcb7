/**
 * QuerySlicer: cooperative time-slicing of query work that grows with the
 * size of the answer (scanning and ranking many candidates, sorting
 * thousands of hits, producing thousands of rows), so that one large query
 * never holds the event loop for long and other requests keep flowing.
 *
 * Work asks `due()` at cheap checkpoints (every few hundred items); when it
 * answers true the current slice has used its budget and the work awaits
 * `pause()` before going on.
 *
 * The budget is shared, per event-loop turn: every task of one slicer (all
 * queries of an engine, and whatever else the owner hands it to, e.g. a
 * server's response serialization) draws on the same slice. The first
 * checkpoint in a turn opens a slice; it stays open, whoever works in it,
 * until the next turn (`yieldTurn` closes it). Paused tasks wait in one
 * queue and are resumed one per turn, first paused first resumed, each into
 * a fresh slice. So a turn holds at most one slice of resumed work plus one
 * slice of work that fresh arrivals began in it (their first checkpoint
 * finds the slice spent and pauses them), whatever the number of tasks:
 * ten large queries at once do not add up their slices in one turn, as ten
 * independent `setImmediate` loops would (Node runs every immediate queued
 * before a turn's check phase in that one phase).
 *
 * Time and turns are injected: `now` (monotonic milliseconds; default
 * `performance.now`) and `yieldTurn` (resolves on the next event-loop turn;
 * default `setImmediate`), so tests drive it deterministically.
 */

export interface QuerySlicerOptions {
  /** Longest stretch of sliced work per event-loop turn, ms; default 6. */
  readonly budgetMs?: number | undefined;
  /** Monotonic time in milliseconds; default `performance.now`. */
  readonly now?: (() => number) | undefined;
  /** Resolves on a later event-loop turn; default `setImmediate`. */
  readonly yieldTurn?: (() => Promise<void>) | undefined;
}

/** Default budget of one slice, ms. */
export const DEFAULT_SLICE_MS = 6;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface QuerySlicerStats {
  /** Slices opened (turns in which sliced work ran). */
  readonly slices: number;
  /** Pauses (a task gave up the rest of a turn). */
  readonly pauses: number;
}

export class QuerySlicer {
  readonly budgetMs: number;
  readonly #now: () => number;
  readonly #yieldTurn: () => Promise<void>;
  #open = false;
  #closing = false;
  #start = 0;
  readonly #waiting: (() => void)[] = [];
  #pumping = false;
  #slices = 0;
  #pauses = 0;

  constructor(options: QuerySlicerOptions = {}) {
    const budget = options.budgetMs ?? DEFAULT_SLICE_MS;
    if (typeof budget !== "number" || !(budget >= 0) || !Number.isFinite(budget)) throw new RangeError(`budgetMs must be a non-negative finite number; got ${String(budget)}`);
    this.budgetMs = budget;
    this.#now = options.now ?? (() => performance.now());
    this.#yieldTurn = options.yieldTurn ?? nextTurn;
  }

  stats(): QuerySlicerStats {
    return { slices: this.#slices, pauses: this.#pauses };
  }

  /** Paused tasks not resumed yet. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * True when this turn's slice has used its budget: the caller should
   * `await pause()` before more work. The first call in a turn opens the slice.
   */
  due(): boolean {
    if (!this.#open) {
      this.#begin();
      return false;
    }
    return this.#now() - this.#start >= this.budgetMs;
  }

  /** Resolves on a later turn, when this task's turn has come (FIFO, one task per turn). */
  pause(): Promise<void> {
    this.#pauses++;
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#pump();
    });
  }

  /** `pause()` when `due()`: `await slicer.checkpoint()` in code that is not hot enough to inline the test. */
  async checkpoint(): Promise<void> {
    if (this.due()) await this.pause();
  }

  #begin(): void {
    this.#open = true;
    this.#start = this.#now();
    this.#slices++;
    if (this.#closing) return;
    this.#closing = true;
    void this.#yieldTurn().then(() => {
      this.#closing = false;
      this.#open = false;
    });
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void this.#yieldTurn().then(() => {
      this.#pumping = false;
      const next = this.#waiting.shift();
      if (next === undefined) return;
      // The resumed task gets a fresh slice (closed again on the next turn).
      this.#open = false;
      this.#begin();
      next();
      if (this.#waiting.length > 0) this.#pump();
    });
  }
}
