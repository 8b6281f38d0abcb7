/**
 * ExactSum: the correctly rounded sum of float64 values, whatever their
 * order (Shewchuk's exact partials, as Python's `math.fsum`). A Sum
 * aggregation gives the same answer however a namespace's documents are
 * spread over segments, the tail and worker threads.
 */
export class ExactSum {
  /** Non-overlapping partial sums, smallest magnitude first; their exact total is the sum. */
  readonly #partials: number[] = [];
  #overflow = false;

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
