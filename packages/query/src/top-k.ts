/**
 * TopK: keeps the k best (slot, score) pairs seen, higher score first,
 * in a binary min-heap over typed arrays (no per-candidate objects).
 *
 * Ties: results are ordered by (score desc, id asc) in the end, but ids are
 * not available everywhere candidates are scored (worker threads see only
 * vectors). So a TopK without a tie-breaker also keeps every candidate whose
 * score equals the current k-th best score (the "ties" list); the caller then
 * sorts the at-least-k survivors by (score, id). A TopK with a tie-breaker
 * orders equal scores by it directly and keeps exactly k.
 *
 * `accepts(score)` is the cheap test kernels run before anything else: a
 * candidate that does not beat the current threshold is never looked at again,
 * which is also where the (rarely hit) exclusion checks are made.
 */

export interface Candidates {
  readonly slots: Uint32Array;
  readonly scores: Float64Array;
}

export class TopK {
  size = 0;
  private readonly heapScores: Float64Array;
  private readonly heapSlots: Uint32Array;
  private tieSlots: number[] = [];
  private tieScore = Number.NaN;

  constructor(
    readonly k: number,
    /** Negative when slot a ranks before slot b (e.g. a's id < b's id). */
    private readonly tieBreak?: (a: number, b: number) => number,
  ) {
    this.heapScores = new Float64Array(Math.max(1, k));
    this.heapSlots = new Uint32Array(Math.max(1, k));
  }

  /** The worst score still kept once full, -Infinity before. */
  threshold(): number {
    return this.size < this.k ? Number.NEGATIVE_INFINITY : this.heapScores[0]!;
  }

  /** True if a candidate with this score might be kept. */
  accepts(score: number): boolean {
    return this.size < this.k || score >= this.heapScores[0]!;
  }

  push(score: number, slot: number): void {
    if (this.k <= 0) return;
    if (this.size < this.k) {
      this.siftUp(this.size++, score, slot);
      return;
    }
    const minScore = this.heapScores[0]!;
    if (score < minScore) return;
    if (score === minScore) {
      if (this.tieBreak === undefined) {
        this.tieSlots.push(slot);
        this.tieScore = score;
        return;
      }
      // With a tie-breaker: replace the root only if the candidate ranks before it.
      if (this.tieBreak(slot, this.heapSlots[0]!) >= 0) return;
    }
    const oldSlot = this.heapSlots[0]!;
    this.siftDown(0, score, slot);
    if (this.tieBreak === undefined) {
      const newMin = this.heapScores[0]!;
      if (newMin === minScore) {
        this.tieSlots.push(oldSlot);
        this.tieScore = minScore;
      } else if (this.tieSlots.length > 0) {
        this.tieSlots = [];
      }
    }
  }

  /** Every kept candidate (heap plus ties), unordered. */
  drain(): Candidates {
    const ties = this.tieSlots;
    const n = this.size + ties.length;
    const slots = new Uint32Array(n);
    const scores = new Float64Array(n);
    slots.set(this.heapSlots.subarray(0, this.size));
    scores.set(this.heapScores.subarray(0, this.size));
    for (let i = 0; i < ties.length; i++) {
      slots[this.size + i] = ties[i]!;
      scores[this.size + i] = this.tieScore;
    }
    return { slots, scores };
  }

  // Min-heap on (score asc, then tie-break desc: the worst candidate at the root).
  private worse(sa: number, slotA: number, sb: number, slotB: number): boolean {
    if (sa !== sb) return sa < sb;
    return this.tieBreak !== undefined && this.tieBreak(slotA, slotB) > 0;
  }

  private siftUp(pos: number, score: number, slot: number): void {
    const hs = this.heapScores;
    const hl = this.heapSlots;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!this.worse(score, slot, hs[parent]!, hl[parent]!)) break;
      hs[pos] = hs[parent]!;
      hl[pos] = hl[parent]!;
      pos = parent;
    }
    hs[pos] = score;
    hl[pos] = slot;
  }

  private siftDown(pos: number, score: number, slot: number): void {
    const hs = this.heapScores;
    const hl = this.heapSlots;
    const n = this.size;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.worse(hs[right]!, hl[right]!, hs[child]!, hl[child]!)) child = right;
      if (!this.worse(hs[child]!, hl[child]!, score, slot)) break;
      hs[pos] = hs[child]!;
      hl[pos] = hl[child]!;
      pos = child;
    }
    hs[pos] = score;
    hl[pos] = slot;
  }
}
