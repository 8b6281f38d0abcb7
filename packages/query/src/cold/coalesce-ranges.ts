/**
 * coalesceRanges: byte ranges of one object grouped into fewer reads. Ranges
 * less than `maxGap` bytes apart (overlapping and touching ones included)
 * are read as one range covering them (the gap's bytes are read and
 * dropped), so a cold query pays one request, not one per range, for
 * neighbouring lists or vector blocks. On object storage a request costs far more than a few KiB
 * more of its answer (the client's and server's per-request CPU, a round
 * trip when requests queue), so a small gap is worth reading.
 *
 * Each input range is a member of exactly one group, which covers it; the
 * caller slices each member's bytes out of its group's bytes and verifies
 * them as before, so the answer is byte for byte the one separate reads give.
 */

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface CoalescedRead extends ByteRange {
  /** Indexes (into the input) of the ranges this read covers, ascending by offset. */
  readonly members: readonly number[];
}

/**
 * The reads covering `ranges` (ascending by offset): ranges less than `maxGap` bytes apart share one; `maxGap` 0: each
 * range is its own read. Empty ranges get no read and no group.
 */
export function coalesceRanges(ranges: readonly ByteRange[], maxGap: number): CoalescedRead[] {
  if (!(maxGap >= 0)) throw new RangeError(`coalesceRanges: maxGap must be a non-negative number, got ${maxGap}`);
  const order: number[] = [];
  ranges.forEach((range, i) => {
    if (!Number.isSafeInteger(range.offset) || !Number.isSafeInteger(range.length) || range.offset < 0 || range.length < 0) {
      throw new RangeError(`coalesceRanges: bad range [${range.offset}, +${range.length})`);
    }
    if (range.length > 0) order.push(i);
  });
  order.sort((a, b) => ranges[a]!.offset - ranges[b]!.offset || a - b);
  const reads: CoalescedRead[] = [];
  let start = 0;
  let end = -1;
  let members: number[] = [];
  for (const i of order) {
    const { offset, length } = ranges[i]!;
    if (members.length > 0 && maxGap > 0 && offset - end < maxGap) {
      end = Math.max(end, offset + length);
      members.push(i);
      continue;
    }
    if (members.length > 0) reads.push({ offset: start, length: end - start, members });
    start = offset;
    end = offset + length;
    members = [i];
  }
  if (members.length > 0) reads.push({ offset: start, length: end - start, members });
  return reads;
}
