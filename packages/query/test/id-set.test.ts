import { describe, expect, it } from "vitest";
import { blockHolds, bloomMayContain, buildBloom, buildIdBlocks, compareBytes, idBlockOf, idBytes, readIdBlock } from "../src/id-set.ts";

describe("id set", () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => idBytes(i % 3 === 0 ? `doc-${i}` : i % 3 === 1 ? `ü-${i}-\u{1F600}` : `${i}`)).sort(compareBytes);

  it("the Bloom filter never misses a member and has about 1% false positives", () => {
    const bloom = buildBloom(ids, ids.length);
    for (const id of ids) expect(bloomMayContain(bloom, id)).toBe(true);
    let positives = 0;
    for (let i = 0; i < 20_000; i++) if (bloomMayContain(bloom, `absent-${i}`)) positives++;
    expect(positives / 20_000).toBeLessThan(0.02);
  });

  it("blocks hold every id once, in order, found through the fence; absent ids are not found", () => {
    const { bytes, ends, fence } = buildIdBlocks(ids);
    const blocks = ends.map((end, i) => readIdBlock(bytes.subarray(i === 0 ? 0 : ends[i - 1], end)) as Uint8Array[]);
    expect(blocks.flat().map((b) => Buffer.from(b).toString())).toEqual(ids.map((b) => Buffer.from(b).toString()));
    for (const [i, block] of blocks.entries()) {
      expect(ends[i]! - (i === 0 ? 0 : ends[i - 1]!)).toBeLessThanOrEqual(4096 + 8);
      expect(Buffer.compare(fence[i]!, block[0]!)).toBe(0);
    }
    for (const id of ids.filter((_, i) => i % 37 === 0)) expect(blockHolds(blocks[idBlockOf(fence, id)]!, id)).toBe(true);
    for (const absent of ["", "doc-", "zzzz", "doc-1x", "\u{10FFFF}"]) {
      const b = idBlockOf(fence, idBytes(absent));
      expect(b < 0 ? false : blockHolds(blocks[b]!, idBytes(absent))).toBe(false);
    }
  });

  it("a block whose structure is damaged reads as a reason (its CRC catches the rest before this)", () => {
    const { bytes, ends } = buildIdBlocks(ids);
    const block = bytes.slice(0, ends[0]);
    expect(typeof readIdBlock(block.subarray(0, 5))).toBe("string");
    const badCount = block.slice();
    new DataView(badCount.buffer).setUint32(0, 1_000_000, true);
    expect(typeof readIdBlock(badCount)).toBe("string");
    // The second id made empty: the first swallows its bytes, and "" sorts before it.
    const unsorted = block.slice();
    const view = new DataView(unsorted.buffer);
    view.setUint32(8, view.getUint32(12, true), true);
    expect(typeof readIdBlock(unsorted)).toBe("string");
  });
});
