/**
 * Randomness as an injected dependency.
 *
 * Generators draw worker ids through `Random`, so tests can use a seeded
 * source and reproduce ids exactly, while production uses the platform's
 * cryptographic generator (collision resistance of worker ids depends on it).
 */

export interface Random {
  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
}

/** Web Crypto's `getRandomValues`, available in Node >= 19 and browsers. */
export const cryptoRandom: Random = {
  nextUint32(): number {
    const word = new Uint32Array(1);
    globalThis.crypto.getRandomValues(word);
    return word[0] ?? 0;
  },
};

/**
 * A small deterministic generator (mulberry32) for tests and simulations.
 * Not for production worker ids.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    nextUint32(): number {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (t ^ (t >>> 14)) >>> 0;
    },
  };
}
