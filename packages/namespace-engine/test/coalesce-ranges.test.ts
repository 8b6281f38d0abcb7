/**
 * coalesceRanges (src/coalesce-ranges.ts): ranges less than `maxGap` bytes
 * apart share one read covering them; every non-empty range is a member of
 * exactly one read that covers it; 0 keeps one read per range.
 */
import { describe, expect, it } from "vitest";
import { type ByteRange, coalesceRanges } from "../../query/src/cold/coalesce-ranges.ts";

describe("coalesceRanges", () => {
  const ranges: ByteRange[] = [
    { offset: 1000, length: 100 }, // 0: [1000, 1100)
    { offset: 0, length: 100 }, // 1: [0, 100)
    { offset: 100, length: 50 }, // 2: touches 1
    { offset: 1050, length: 10 }, // 3: inside 0
    { offset: 1300, length: 0 }, // 4: empty
    { offset: 1200, length: 100 }, // 5: 100 bytes after 0
  ];

  it("merges overlapping, touching and close ranges; 0 keeps one read per range", () => {
    expect(coalesceRanges(ranges, 0)).toEqual([
      { offset: 0, length: 100, members: [1] },
      { offset: 100, length: 50, members: [2] },
      { offset: 1000, length: 100, members: [0] },
      { offset: 1050, length: 10, members: [3] },
      { offset: 1200, length: 100, members: [5] },
    ]);
    expect(coalesceRanges(ranges, 1)).toEqual([
      { offset: 0, length: 150, members: [1, 2] },
      { offset: 1000, length: 100, members: [0, 3] },
      { offset: 1200, length: 100, members: [5] },
    ]);
    // A gap of exactly maxGap bytes is not merged; one byte more of maxGap is.
    expect(coalesceRanges(ranges, 100).map((r) => r.members)).toEqual([[1, 2], [0, 3], [5]]);
    expect(coalesceRanges(ranges, 101).map((r) => r.members)).toEqual([[1, 2], [0, 3, 5]]);
    expect(coalesceRanges(ranges, Number.POSITIVE_INFINITY)).toEqual([{ offset: 0, length: 1300, members: [1, 2, 0, 3, 5] }]);
  });

  it("covers every non-empty range exactly once, for random inputs", () => {
    let x = 7;
    const random = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return Math.floor((x / 2 ** 32) * n);
    };
    for (let round = 0; round < 200; round++) {
      const input = Array.from({ length: 1 + random(30) }, () => ({ offset: random(10_000), length: random(500) }));
      const gap = random(3) === 0 ? 0 : random(2000);
      const reads = coalesceRanges(input, gap);
      const seen = new Map<number, number>();
      let lastEnd = Number.NEGATIVE_INFINITY;
      for (const read of reads) {
        expect(read.offset - lastEnd >= gap || gap === 0).toBe(true);
        lastEnd = read.offset + read.length;
        for (const i of read.members) {
          seen.set(i, (seen.get(i) ?? 0) + 1);
          expect(input[i]!.offset).toBeGreaterThanOrEqual(read.offset);
          expect(input[i]!.offset + input[i]!.length).toBeLessThanOrEqual(read.offset + read.length);
        }
      }
      input.forEach((range, i) => {
        expect(seen.get(i)).toBe(range.length === 0 ? undefined : 1);
      });
    }
  });

  it("rejects a negative gap or a bad range", () => {
    expect(() => coalesceRanges([], -1)).toThrow(RangeError);
    expect(() => coalesceRanges([{ offset: -1, length: 2 }], 0)).toThrow(RangeError);
    expect(() => coalesceRanges([{ offset: 1.5, length: 2 }], 0)).toThrow(RangeError);
  });
});
