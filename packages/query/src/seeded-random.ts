/**
 * A small seeded PRNG (SplitMix32 feeding Mulberry32) so k-means
 * initialisation, training samples and generated test data are the same on
 * every run and every machine. Not for anything secret.
 */

/** A source of uniform floats in [0, 1). */
export type RandomSource = () => number;

export function seededRandom(seed: number): RandomSource {
  let state = (seed ^ 0x9e3779b9) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller) from a uniform source. */
export function gaussian(random: RandomSource): number {
  let u = random();
  if (u < 1e-12) u = 1e-12;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
