/**
 * Global probing: an ANN query over several IVF partitions (the segments of
 * a namespace) chooses its lists by ONE ranking of every partition's
 * centroids, not `probes` lists in each partition. Both the loaded path
 * (`executeQuery`) and the cold path (ranged reads, cold-ann.ts) walk the
 * same order with the same rule, so they probe the same lists:
 *
 * - the order (`globalListOrder`): every (partition, list) pair, best
 *   centroid score first (the kernel's score of the query against the
 *   centroid, as each partition ranks its own lists), ties by partition
 *   (oldest first), then list number. Restricted to one partition it is
 *   that partition's own probe order;
 * - the budget (`globalProbeBudget`): the lists probed before stopping is
 *   allowed, sized as if the partitions were ONE index of their total rows
 *   (`defaultListCount(rows)` lists, probed at the partitions' own ratio of
 *   probes to lists), so 46 segments cost about what one segment of the
 *   same rows would, not 46 times a segment's probes. Never fewer than the
 *   largest partition's own `probes`; one partition alone probes exactly
 *   its `probes`. A request's explicit `probes` is this budget: the total
 *   number of lists probed over all the partitions (at most all of them);
 * - the rule: lists are scanned in order; before each one, the scan stops
 *   when at least `budget` lists were scanned and the partitions together
 *   found at least `k` live (matching) rows (each partition's top-k size
 *   summed), as one index keeps probing until its top-k is full.
 */
import { defaultListCount } from "./ivf-index.ts";

/** What the budget needs of one partition's IVF index. */
export interface ProbedPartition {
  /** Rows of the partition (its index's size). */
  readonly size: number;
  readonly lists: number;
  /** The index's own probes (min(lists, stored probes)). */
  readonly probes: number;
}

/** Lists probed over `parts` before the scan may stop (see the module comment); `requested` is a request's `probes`. */
export function globalProbeBudget(parts: readonly ProbedPartition[], requested?: number): number {
  let lists = 0;
  let probes = 0;
  let rows = 0;
  let largest = 0;
  for (const p of parts) {
    lists += p.lists;
    probes += p.probes;
    rows += p.size;
    largest = Math.max(largest, p.probes);
  }
  if (requested !== undefined) return Math.min(lists, requested);
  if (parts.length === 1) return Math.min(lists, largest);
  if (lists === 0) return 0;
  const asOne = Math.ceil((defaultListCount(rows) * probes) / lists);
  return Math.min(lists, Math.max(largest, asOne));
}

/** Every (partition, list) pair in probe order: `partition[i]`, `list[i]` is the i-th list to scan. */
export interface GlobalListOrder {
  readonly partition: Uint32Array;
  readonly list: Uint32Array;
}

/** The global probe order of the partitions' lists, from each partition's centroid scores (higher is better). */
export function globalListOrder(scores: readonly Float64Array[]): GlobalListOrder {
  let total = 0;
  for (const s of scores) total += s.length;
  const partition = new Uint32Array(total);
  const list = new Uint32Array(total);
  const score = new Float64Array(total);
  let at = 0;
  scores.forEach((s, p) => {
    for (let j = 0; j < s.length; j++, at++) {
      partition[at] = p;
      list[at] = j;
      score[at] = s[j]!;
    }
  });
  // Entries are laid out by (partition, list), so the entry number breaks score ties in that order.
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => score[b]! - score[a]! || a - b);
  return { partition: Uint32Array.from(order, (i) => partition[i]!), list: Uint32Array.from(order, (i) => list[i]!) };
}
