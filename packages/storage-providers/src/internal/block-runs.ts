/**
 * Block arithmetic of the block cache: an object of `size` bytes is cut into
 * aligned blocks of `blockBytes` (the last one may be shorter), and the
 * missing blocks of a read are grouped into runs of consecutive blocks, each
 * fetched with one ranged GET of at most `maxBlocks` blocks.
 */

/** A run of consecutive blocks [first, first + count). */
export interface BlockRun {
  first: number;
  count: number;
}

/** Number of bytes of block `index` in an object of `size` bytes (0 past the end). */
export function blockLength(index: number, size: number, blockBytes: number): number {
  return Math.max(0, Math.min(blockBytes, size - index * blockBytes));
}

/** Number of blocks of an object of `size` bytes. */
export function blockCount(size: number, blockBytes: number): number {
  return Math.ceil(size / blockBytes);
}

/** First and last (inclusive) block holding bytes [start, end); requires end > start. */
export function blocksOf(start: number, end: number, blockBytes: number): [number, number] {
  return [Math.floor(start / blockBytes), Math.floor((end - 1) / blockBytes)];
}

/**
 * Groups block indexes (ascending, no duplicates) into runs of consecutive
 * blocks of at most `maxBlocks` each.
 */
export function coalesceRuns(missing: readonly number[], maxBlocks: number): BlockRun[] {
  const runs: BlockRun[] = [];
  for (const index of missing) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.first + last.count === index && last.count < maxBlocks) last.count++;
    else runs.push({ first: index, count: 1 });
  }
  return runs;
}
