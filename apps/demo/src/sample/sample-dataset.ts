/**
 * The demo's sample dataset: deterministic (seeded PRNG), so every first
 * run makes the same documents. Each document has a 64-dimensional vector
 * near the centre of its category's cluster, a short generated title and
 * body for full-text search, and attributes of every kind a filter can
 * test: a category string, a price and a rating (numbers), a year
 * (integer), tags (an array of strings) and an in_stock flag (boolean).
 */
import type { DocumentInput } from "@skerry/namespace-engine";

export const SAMPLE_NAMESPACE = "demo/sample/products";
export const SAMPLE_DOCUMENTS = 3_000;
export const SAMPLE_DIMENSION = 64;

export const CATEGORIES = ["books", "music", "garden", "kitchen", "outdoor", "toys", "games", "tools"] as const;

const WORDS: Record<(typeof CATEGORIES)[number], readonly string[]> = {
  books: ["novel", "poetry", "history", "mystery", "biography", "atlas", "essays", "fiction"],
  music: ["vinyl", "guitar", "jazz", "symphony", "piano", "drums", "album", "concert"],
  garden: ["seeds", "shovel", "roses", "compost", "hose", "planter", "tulips", "hedge"],
  kitchen: ["kettle", "skillet", "knife", "blender", "spatula", "teapot", "oven", "whisk"],
  outdoor: ["tent", "lantern", "backpack", "compass", "kayak", "hammock", "boots", "trail"],
  toys: ["puzzle", "robot", "blocks", "doll", "kite", "marbles", "yoyo", "train"],
  games: ["chess", "cards", "dice", "strategy", "board", "trivia", "poker", "tiles"],
  tools: ["hammer", "wrench", "drill", "saw", "pliers", "level", "chisel", "clamp"],
};
const ADJECTIVES = ["small", "classic", "sturdy", "bright", "quiet", "vintage", "modern", "handmade", "compact", "deluxe"];
const TAGS = ["new", "sale", "gift", "eco", "bestseller", "limited", "imported", "local"];

/** mulberry32: a tiny, well-distributed 32-bit PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** The category centres: one random unit-ish vector per category. */
export function categoryCentres(seed = 7): number[][] {
  const random = prng(seed);
  return CATEGORIES.map(() => Array.from({ length: SAMPLE_DIMENSION }, () => random() * 2 - 1));
}

export function sampleDocuments(count = SAMPLE_DOCUMENTS, seed = 42): DocumentInput[] {
  const random = prng(seed);
  const centres = categoryCentres();
  const docs: DocumentInput[] = [];
  for (let i = 0; i < count; i++) {
    const c = i % CATEGORIES.length;
    const category = CATEGORIES[c]!;
    const words = WORDS[category];
    const noun = pick(random, words);
    const title = `${pick(random, ADJECTIVES)} ${noun}`;
    const body = Array.from({ length: 8 }, () => (random() < 0.7 ? pick(random, words) : pick(random, ADJECTIVES))).join(" ");
    const centre = centres[c]!;
    const vector = centre.map((x) => Math.round((x + (random() - 0.5) * 0.6) * 1e4) / 1e4);
    const tags = TAGS.filter(() => random() < 0.25);
    docs.push({
      id: `p${String(i).padStart(5, "0")}`,
      vector,
      text: { title, body: `${title}: ${body}` },
      attributes: {
        category,
        price: Math.round((2 + random() * 198) * 100) / 100,
        rating: Math.round((1 + random() * 4) * 10) / 10,
        year: 2000 + Math.floor(random() * 26),
        tags,
        in_stock: random() < 0.8,
      },
    });
  }
  return docs;
}
