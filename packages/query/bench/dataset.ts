/**
 * The benchmark dataset, generated deterministically from a seed (nothing is
 * cached on disk): `count` documents with a 128-dim float32 vector drawn
 * around one of 1,000 cluster centres, a short text (4-9 words, Zipf over a
 * 2,000-word vocabulary), and attributes: `category` (one of 100 strings),
 * `price` (number), `bucket` (i % 100, so `bucket Eq 7` matches 1%).
 */
import type { QueryDocument } from "../src/index.ts";
import { gaussian, seededRandom } from "../src/seeded-random.ts";

export const DIM = 128;
const CENTERS = 1000;
const VOCABULARY = 2000;

const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "do", "fi", "gu", "ha", "je"];
export const WORDS: string[] = Array.from({ length: VOCABULARY }, (_, i) => {
  let w = "";
  let x = i + 16;
  while (x > 0) {
    w += SYLLABLES[x % 16];
    x = Math.floor(x / 16);
  }
  return w;
});

export interface Dataset {
  documents(): Iterable<QueryDocument>;
  /** A query vector near a random cluster centre (deterministic per index). */
  query(i: number): number[];
}

export function dataset(count: number, seed = 2026): Dataset {
  const random = seededRandom(seed);
  const centers = Array.from({ length: CENTERS }, () => Float32Array.from({ length: DIM }, () => gaussian(random)));
  const cumulative = new Float64Array(VOCABULARY);
  let acc = 0;
  for (let r = 0; r < VOCABULARY; r++) cumulative[r] = acc += 1 / (r + 1);
  const zipf = (u: number) => {
    const target = u * acc;
    let lo = 0;
    let hi = VOCABULARY - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const noise = 0.35;
  return {
    *documents() {
      const r = seededRandom(seed + 1);
      for (let i = 0; i < count; i++) {
        const c = centers[Math.floor(r() * CENTERS)]!;
        const vector = new Float32Array(DIM);
        // cheap bell-shaped noise (sum of three uniforms)
        for (let d = 0; d < DIM; d++) vector[d] = c[d]! + noise * (r() + r() + r() - 1.5) * 2;
        const words = 4 + Math.floor(r() * 6);
        let text = "";
        for (let w = 0; w < words; w++) text += (w === 0 ? "" : " ") + WORDS[zipf(r())];
        yield {
          id: `doc-${String(i).padStart(7, "0")}`,
          vector,
          text: { title: text },
          attributes: { category: `cat-${Math.floor(r() * 100)}`, price: Math.round(r() * 100_000) / 100, bucket: i % 100 },
        };
      }
    },
    query(i: number) {
      const r = seededRandom(seed * 31 + i);
      const c = centers[Math.floor(r() * CENTERS)]!;
      return Array.from(c, (x) => x + noise * (r() + r() + r() - 1.5) * 2);
    },
  };
}
