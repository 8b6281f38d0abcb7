/**
 * slicedSort: for random inputs full of ties, the sliced sort (runs sorted,
 * then merged, pausing at the slicer's checkpoints) gives exactly the items,
 * in exactly the order, of a plain stable `Array.prototype.sort` truncated
 * to the limit; and it does pause when the input is large.
 */
import { describe, expect, it } from "vitest";
import { QuerySlicer } from "../src/index.ts";
import { RUN, slicedSort } from "../src/sliced-sort.ts";
import { seededRandom } from "./support/reference.ts";

interface Item {
  readonly key: number;
  readonly name: string;
  /** Its position in the input: tells equal items apart. */
  readonly tag: number;
}

const byKeyThenName = (a: Item, b: Item): number => a.key - b.key || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** A slicer on a clock that advances 1 ms per reading, turns as resolved promises: deterministic, and due often. */
function steppingSlicer(): { slicer: QuerySlicer; turns: () => number } {
  let now = 0;
  let turns = 0;
  const slicer = new QuerySlicer({
    budgetMs: 1,
    now: () => now++,
    yieldTurn: () => {
      turns++;
      return Promise.resolve();
    },
  });
  return { slicer, turns: () => turns };
}

describe("slicedSort", () => {
  it("equals a plain stable sort, truncated to the limit, for random inputs with ties", async () => {
    const random = seededRandom(7);
    const sizes = [0, 1, 2, RUN - 1, RUN, RUN + 1, 2 * RUN, 3 * RUN + 17, 10_000];
    for (const n of sizes) {
      for (const keys of [3, 50, 1e9]) {
        const items: Item[] = Array.from({ length: n }, (_, tag) => ({
          key: Math.floor(random() * keys),
          name: String.fromCharCode(97 + Math.floor(random() * 3)),
          tag,
        }));
        for (const limit of [n, Math.floor(random() * (n + 1)), 0, n + 5, 1]) {
          const expected = items.slice().sort(byKeyThenName).slice(0, limit);
          const { slicer } = steppingSlicer();
          const got = await slicedSort(items.slice(), byKeyThenName, slicer, limit);
          expect(got.map((x) => x.tag), `n ${n}, ${keys} keys, limit ${limit}`).toEqual(expected.map((x) => x.tag));
          const plain = await slicedSort(items.slice(), byKeyThenName, undefined, limit);
          expect(plain.map((x) => x.tag)).toEqual(expected.map((x) => x.tag));
        }
      }
    }
  });

  it("pauses between runs and merge steps of a large input, and not for a small one", async () => {
    const random = seededRandom(11);
    const items: Item[] = Array.from({ length: 10_000 }, (_, tag) => ({ key: Math.floor(random() * 100), name: "x", tag }));
    const large = steppingSlicer();
    await slicedSort(items.slice(), byKeyThenName, large.slicer);
    expect(large.slicer.stats().pauses).toBeGreaterThan(5);
    expect(large.turns()).toBeGreaterThan(5);
    const small = steppingSlicer();
    await slicedSort(items.slice(0, RUN), byKeyThenName, small.slicer);
    expect(small.slicer.stats().pauses).toBe(0);
  });

  it("sorts a small input (or any input without a slicer) in place, as Array.prototype.sort", async () => {
    const items: Item[] = [3, 1, 2, 1].map((key, tag) => ({ key, name: "x", tag }));
    const got = await slicedSort(items, byKeyThenName);
    expect(got).toBe(items);
    expect(items.map((x) => x.tag)).toEqual([1, 3, 2, 0]);
  });
});
