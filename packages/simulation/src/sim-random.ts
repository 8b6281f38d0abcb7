/**
 * SimRandom: the one seeded PRNG of a simulation run, and its sub-streams.
 *
 * Every concern (actor choice, op arguments, storage faults, each engine
 * handle's ids and UUIDs) draws from its own stream derived from the run's
 * seed and a label, so adding draws to one concern does not shift the
 * others, and a run replays exactly from its seed. Implements wal-format's
 * `Random`, so a stream can be injected into engines as is.
 */
import type { Random } from "@skerry/wal-format";

/** FNV-1a over a label, mixed with the parent seed: the seed of a sub-stream. */
function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

export class SimRandom implements Random {
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** mulberry32. */
  nextUint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** A distinct subset of 1..max items (order of `items` kept). */
  subset<T>(items: readonly T[], max: number): T[] {
    const n = this.int(1, Math.min(max, items.length));
    const chosen = new Set<number>();
    while (chosen.size < n) chosen.add(this.int(0, items.length - 1));
    return [...chosen].sort((a, b) => a - b).map((i) => items[i] as T);
  }

  /** An independent stream for `label`, fixed by this stream's seed (not its position). */
  derive(label: string): SimRandom {
    return new SimRandom(deriveSeed(this.seed, label));
  }
}
