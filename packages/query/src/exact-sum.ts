/**
 * ExactSum: the correctly rounded sum of float64 values, whatever their
 * order (Shewchuk's exact partials, as Python's `math.fsum`). A Sum
 * aggregation gives the same answer however a namespace's documents are
 * spread over segments, the tail and worker threads.
 *
 * Bigints (integers beyond 2^53-1: i64/u64 attribute values) are added
 * exactly (`addExact`). When one was added and every value was an integer,
 * `exactValue()` is the exact integer sum: a number when it is a safe
 * integer, else a bigint. With a fraction among them, it is the sum rounded
 * to a double (the bigints' exact total taken as its double).
 */
export class ExactSum {
  /** Non-overlapping partial sums, smallest magnitude first; their exact total is the sum. */
  readonly #partials: number[] = [];
  #overflow = false;
  /** The exact total of the bigints added, and whether any was. */
  #big = 0n;
  #sawBig = false;
  #fraction = false;

  /** Adds a number or a bigint (module comment). */
  addExact(x: number | bigint): void {
    if (typeof x === "bigint") {
      this.#big += x;
      this.#sawBig = true;
      return;
    }
    if (!Number.isInteger(x)) this.#fraction = true;
    this.add(x);
  }

  /** `value()`, or with bigints added, the sum as the module comment says. */
  exactValue(): number | bigint {
    if (!this.#sawBig) return this.value();
    if (this.#fraction) {
      const rounded = new ExactSum();
      for (const p of this.#partials) rounded.add(p);
      rounded.add(Number(this.#big));
      return rounded.value();
    }
    // Every partial of integer inputs is an integer: their exact total is a bigint sum.
    let total = this.#big;
    for (const p of this.#partials) total += BigInt(p);
    const n = Number(total);
    return Number.isSafeInteger(n) ? n : total;
  }

  add(x: number): void {
    const partials = this.#partials;
    let i = 0;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j] as number;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (!Number.isFinite(hi)) {
        this.#overflow = true;
        return;
      }
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }

  /** True once a partial sum left the float64 range. */
  get overflowed(): boolean {
    return this.#overflow;
  }

  /** The sum of everything added, rounded once (round half to even). */
  value(): number {
    const partials = this.#partials;
    let n = partials.length;
    if (n === 0) return 0;
    let hi = partials[--n] as number;
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = partials[--n] as number;
      hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo !== 0) break;
    }
    // Round half to even across the remaining partials (fsum's correction).
    if (n > 0 && ((lo < 0 && (partials[n - 1] as number) < 0) || (lo > 0 && (partials[n - 1] as number) > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}
