/**
 * slicedSort: a stable sort (optionally keeping only the first `limit`
 * items) of many items in slices of a QuerySlicer's budget, for rankings of
 * thousands of hits (a topK of 10,000 sorts 10,000+ objects by score, then
 * id: tens of milliseconds in one piece on a slow machine).
 *
 * Runs of RUN items are sorted with `Array.prototype.sort` (stable), then
 * merged pairwise, bottom up, taking the left item on ties, with a
 * checkpoint after every run and every MERGE_STEP merged items. Left runs
 * hold earlier items, so the result is exactly what a stable sort of the
 * whole array gives (then truncated to `limit`); a merge never keeps more
 * than `limit` items, as the first `limit` of a merge only depend on the
 * first `limit` of each side.
 *
 * Small inputs, or no slicer, are sorted in one piece, in place, as before.
 */
import type { QuerySlicer } from "./query-slicer.ts";

/** Items per initially sorted run. */
export const RUN = 1_024;
/** Merged items between two checkpoints. */
const MERGE_STEP = 2_048;

/**
 * The items sorted by `compare` (stable), at most `limit` of them. Without
 * a slicer, or for at most RUN items, `items` itself is sorted in place.
 */
export async function slicedSort<T>(items: T[], compare: (a: T, b: T) => number, slicer?: QuerySlicer, limit = items.length): Promise<T[]> {
  const n = items.length;
  if (slicer === undefined || n <= RUN) {
    items.sort(compare);
    return n > limit ? items.slice(0, Math.max(0, limit)) : items;
  }
  const keep = Math.max(0, Math.min(limit, n));
  let runs: T[][] = [];
  for (let from = 0; from < n; from += RUN) {
    const run = items.slice(from, from + RUN).sort(compare);
    runs.push(run.length > keep ? run.slice(0, keep) : run);
    if (slicer.due()) await slicer.pause();
  }
  while (runs.length > 1) {
    const next: T[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const left = runs[r]!;
      const right = runs[r + 1];
      next.push(right === undefined ? left : await merge(left, right, compare, keep, slicer));
    }
    runs = next;
  }
  return runs[0] ?? [];
}

async function merge<T>(left: T[], right: T[], compare: (a: T, b: T) => number, keep: number, slicer: QuerySlicer): Promise<T[]> {
  const total = Math.min(keep, left.length + right.length);
  const out = new Array<T>(total);
  let i = 0;
  let j = 0;
  let k = 0;
  while (k < total) {
    const stop = Math.min(total, k + MERGE_STEP);
    while (k < stop) {
      if (j >= right.length || (i < left.length && compare(left[i]!, right[j]!) <= 0)) out[k++] = left[i++]!;
      else out[k++] = right[j++]!;
    }
    if (k < total && slicer.due()) await slicer.pause();
  }
  return out;
}
