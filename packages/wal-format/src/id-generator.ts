/**
 * `IdGenerator`: mints strictly increasing 128-bit ids within a process.
 *
 * Layout (see id-layout.ts): 64-bit ms timestamp | 40-bit worker id | 24-bit
 * sequence. The worker id is drawn once from the injected `Random` (or given),
 * the time comes from the injected `Clock`.
 *
 * Monotonicity does not trust the clock: the generator keeps the last
 * millisecond it used and never goes below it. If the clock stands still or
 * steps back, the sequence keeps counting within the last millisecond; when
 * the 24-bit sequence runs out, the generator moves its own notion of time one
 * millisecond ahead rather than wait or repeat. So ids are unique and ordered
 * per generator even across clock steps, and stay time-ordered to within the
 * step.
 *
 * `reserveRange(n)` hands out n ids as contiguous `IdSpan`s whose lengths add
 * up to n: one span normally, a new span whenever a millisecond's sequence
 * space is exhausted.
 *
 * `advancePast(id)` moves the generator so every later id is greater than
 * `id` (an id minted by another process, e.g. a manifest's
 * `row_id_high_water`): when `id` is not already below the last id made, the
 * generator's notion of time moves to the millisecond after `id`'s. Ids
 * therefore stay monotonic across processes that read each other's high
 * water marks, whatever their clocks say.
 *
 * Errors: `InvalidInputError` for a bad worker id, a non-finite or negative
 * clock reading, or a bad count.
 */
import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import { InvalidInputError } from "./errors.ts";
import type { IdSpan } from "./id-span.ts";
import { composeId, decomposeId, MAX_SEQUENCE, MAX_TIMESTAMP_MS, MAX_WORKER_ID } from "./id-layout.ts";
import type { RowId } from "./ids.ts";
import type { Random } from "./random.ts";
import { cryptoRandom } from "./random.ts";

export interface IdGeneratorOptions {
  clock?: Clock;
  random?: Random;
  /** Fixed 40-bit worker id; drawn from `random` when omitted. */
  workerId?: number;
}

/** Largest number of ids one `reserveRange` call may hand out. */
export const MAX_RESERVE = 2 ** 32;

export class IdGenerator {
  readonly workerId: number;
  readonly #clock: Clock;
  /** Last millisecond used; -1 before the first id. */
  #lastMs = -1;
  #sequence = 0;
  /** Set by `advancePast`: sequence 0 of `#lastMs` is still unused. */
  #pendingFirst = false;

  constructor(options: IdGeneratorOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    const random = options.random ?? cryptoRandom;
    const workerId = options.workerId ?? (random.nextUint32() & 0xff) * 2 ** 32 + random.nextUint32();
    if (!Number.isInteger(workerId) || workerId < 0 || workerId > MAX_WORKER_ID) {
      throw new InvalidInputError(`worker id must be an integer in [0, 2^40 - 1]; got ${workerId}`);
    }
    this.workerId = workerId;
  }

  /** The next id; strictly greater than every id this generator made before. */
  next(): bigint {
    this.#advance();
    return composeId({ timestampMs: BigInt(this.#lastMs), workerId: this.workerId, sequence: this.#sequence });
  }

  /** Convenience: the next id branded as a RowId. */
  nextRowId(): RowId {
    return this.next() as RowId;
  }

  /**
   * Reserve `count` ids as contiguous spans (ascending, non-overlapping, all
   * greater than any earlier id of this generator).
   */
  reserveRange(count: number): IdSpan[] {
    if (!Number.isSafeInteger(count) || count < 0 || count > MAX_RESERVE) {
      throw new InvalidInputError(`reserveRange count must be an integer in [0, ${MAX_RESERVE}]; got ${count}`);
    }
    const spans: IdSpan[] = [];
    let remaining = count;
    while (remaining > 0) {
      const first = this.next();
      // Take the rest of this millisecond's sequence space in one stride.
      const extra = Math.min(remaining - 1, MAX_SEQUENCE - this.#sequence);
      this.#sequence += extra;
      spans.push({ first: first as RowId, last: (first + BigInt(extra)) as RowId });
      remaining -= extra + 1;
    }
    return spans;
  }

  /**
   * Makes every later id of this generator greater than `id`. A no-op when
   * the generator is already past it. `InvalidInputError` for a value that
   * is not a 128-bit id or whose millisecond is the last representable one.
   */
  advancePast(id: bigint): void {
    if (typeof id !== "bigint" || id < 0n || id >> 128n !== 0n) {
      throw new InvalidInputError(`advancePast takes a 128-bit id; got ${String(id)}`);
    }
    if (this.#lastMs >= 0) {
      const last = composeId({ timestampMs: BigInt(this.#lastMs), workerId: this.workerId, sequence: this.#sequence });
      if (last >= id) return;
    }
    const { timestampMs } = decomposeId(id);
    if (timestampMs >= MAX_TIMESTAMP_MS) throw new InvalidInputError(`cannot advance past an id in the last representable millisecond`);
    // The next id lands in the millisecond after `id`'s (or later, if the clock is there already),
    // so it is greater whatever the two worker ids are.
    this.#lastMs = Number(timestampMs) + 1;
    this.#sequence = 0;
    this.#pendingFirst = true;
  }

  #advance(): void {
    const reading = this.#clock.now();
    if (!Number.isFinite(reading) || reading < 0) {
      throw new InvalidInputError(`clock returned ${reading}; expected milliseconds since the epoch`);
    }
    const now = Math.floor(reading);
    if (this.#pendingFirst) {
      this.#pendingFirst = false;
      if (now <= this.#lastMs) return; // use (lastMs, sequence 0)
    }
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#sequence = 0;
    } else if (this.#sequence < MAX_SEQUENCE) {
      this.#sequence += 1;
    } else {
      // Sequence exhausted within the last millisecond (clock stood still or
      // went back): run ahead by one millisecond instead of repeating.
      this.#lastMs += 1;
      this.#sequence = 0;
    }
  }
}
