/**
 * IVF (inverted file) ANN index: k-means centroids partition the vectors
 * into lists; a query ranks the centroids, then scans exactly the rows of the
 * `probes` closest lists. The partition's rows are stored sorted by list, so
 * every list is one contiguous range of the vector memory that the SIMD
 * kernel streams through; nothing but the centroids and the list boundaries
 * is stored besides the vectors themselves.
 *
 * Training (deterministic: the sample and the initial centroids come from a
 * seeded PRNG): Lloyd's k-means over a sample (32 rows per list by default).
 * Above 256 lists it is two-level: a coarse k-means into ~sqrt(lists)
 * clusters, then each coarse cluster is split in proportion to its size;
 * every row is then assigned coarse-then-fine. This keeps building 1M rows
 * into ~1000 lists to seconds instead of the ~minutes a flat assignment
 * would take in a single thread.
 *
 * Distances: k-means and centroid ranking use squared L2 (over the
 * normalized vectors for COSINE); for DOT the centroids are ranked by inner
 * product (the usual maximum-inner-product heuristic).
 */
import { type RandomSource, seededRandom } from "./seeded-random.ts";
import { CHUNK, type VectorKernel } from "./vector-kernel.ts";

export interface IvfOptions {
  /** Number of lists (default round(sqrt(n)), at most 4096). */
  readonly lists?: number;
  /** Lists scanned per query unless the request says otherwise (default: see `defaultProbes`). */
  readonly probes?: number;
  /** Partitions with fewer rows get no ANN index (default 4096). */
  readonly minDocuments?: number;
  /** k-means seed (default 1). */
  readonly seed?: number;
  /** Training rows per list (default 32). */
  readonly samplePerList?: number;
  /** Lloyd iterations (default 10). */
  readonly iterations?: number;
}

export interface IvfIndex {
  readonly lists: number;
  /** lists + 1 slot boundaries: list l is slots [listOffsets[l], listOffsets[l+1]). */
  readonly listOffsets: Uint32Array;
  readonly probes: number;
  /** How centroids are ranked against a query. */
  readonly rank: "l2" | "dot";
}

export function defaultListCount(n: number): number {
  return Math.max(1, Math.min(4096, Math.round(Math.sqrt(n))));
}

export function defaultProbes(lists: number): number {
  return Math.min(lists, Math.max(8, Math.ceil(lists * 0.03)));
}

/** Rows of centroid memory training needs for `lists` lists (fine + coarse + slack). */
export function centroidCapacity(lists: number): number {
  return lists + Math.ceil(Math.sqrt(lists)) + 2 * Math.ceil(Math.sqrt(lists)) + 8;
}

interface Trained {
  readonly lists: number;
  readonly assignment: Uint32Array;
}

/**
 * Train on the rows at `base` (input order, `n` rows) and assign every row
 * to a list. Centroids end up in rows [0, lists) of the centroid area.
 */
export function trainIvf(
  kernel: VectorKernel,
  base: number,
  n: number,
  /** Rows that have a vector (ascending); the others are assigned list `lists`, never probed. */
  withVector: Uint32Array,
  requestedLists: number,
  options: IvfOptions,
): Trained {
  const random = seededRandom(options.seed ?? 1);
  const iterations = options.iterations ?? 10;
  const lists = Math.max(1, Math.min(requestedLists, withVector.length, CHUNK));
  const sampleSize = Math.min(withVector.length, lists * (options.samplePerList ?? 32));
  const sample = sampleRows(withVector.length, sampleSize, random).map((i) => withVector[i]!);
  const cBase = kernel.layout.centroidsPtr;
  const rowBytes = kernel.strideBytes;
  if (lists <= 256) {
    kmeans(kernel, base, sample, lists, iterations, random, cBase);
    const assignment = new Uint32Array(n).fill(lists);
    for (const r of withVector) assignment[r] = nearest(kernel, base + r * rowBytes, cBase, lists);
    return { lists, assignment };
  }
  // Two-level: coarse centroids live after the fine ones.
  const coarseCount = Math.ceil(Math.sqrt(lists));
  const coarseBase = cBase + (kernel.layout.centroidCapacity - coarseCount) * rowBytes;
  kmeans(kernel, base, sample, coarseCount, iterations, random, coarseBase);
  const members: number[][] = Array.from({ length: coarseCount }, () => []);
  for (const r of sample) members[nearest(kernel, base + r * rowBytes, coarseBase, coarseCount)]!.push(r);
  const fineStart = new Uint32Array(coarseCount + 1);
  let total = 0;
  for (let c = 0; c < coarseCount; c++) {
    const m = members[c]!;
    const room = kernel.layout.centroidCapacity - coarseCount - total;
    const want = m.length === 0 ? 0 : Math.max(1, Math.min(m.length, Math.round((lists * m.length) / sample.length)));
    const k = Math.min(want, room);
    fineStart[c] = total;
    if (k > 0) kmeans(kernel, base, Uint32Array.from(m), k, iterations, random, cBase + total * rowBytes);
    total += k;
  }
  fineStart[coarseCount] = total;
  const assignment = new Uint32Array(n).fill(total);
  for (const r of withVector) {
    const row = base + r * rowBytes;
    let c = nearest(kernel, row, coarseBase, coarseCount);
    // A coarse cluster with no sample rows has no fine lists: use the nearest that has.
    if (fineStart[c + 1]! === fineStart[c]!) c = firstNonEmpty(fineStart, c);
    const from = fineStart[c]!;
    assignment[r] = from + nearest(kernel, row, cBase + from * rowBytes, fineStart[c + 1]! - from);
  }
  // The coarse area may overlap rows past `total`; nothing reads them after this.
  return { lists: total, assignment };
}

function firstNonEmpty(fineStart: Uint32Array, c: number): number {
  const n = fineStart.length - 1;
  for (let d = 1; d < n; d++) {
    if (c + d < n && fineStart[c + d + 1]! > fineStart[c + d]!) return c + d;
    if (c - d >= 0 && fineStart[c - d + 1]! > fineStart[c - d]!) return c - d;
  }
  return c;
}

function sampleRows(n: number, size: number, random: RandomSource): Uint32Array {
  if (size >= n) return Uint32Array.from({ length: n }, (_, i) => i);
  // Partial Fisher-Yates over a virtual identity permutation.
  const swapped = new Map<number, number>();
  const out = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (n - i));
    const vj = swapped.get(j) ?? j;
    const vi = swapped.get(i) ?? i;
    swapped.set(j, vi);
    out[i] = vj;
  }
  return out.sort();
}

/** Index of the nearest of `count` centroid rows at `centroids` to the row at `row` (squared L2). */
export function nearest(kernel: VectorKernel, row: number, centroids: number, count: number): number {
  const { out } = kernel.scratch(0);
  kernel.range(true, row, centroids, count, out);
  const f = kernel.f32;
  const o = out >> 2;
  let best = 0;
  let bestD = f[o]!;
  for (let i = 1; i < count; i++) {
    const d = f[o + i]!;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

function kmeans(
  kernel: VectorKernel,
  base: number,
  rows: Uint32Array,
  k: number,
  iterations: number,
  random: RandomSource,
  centroidsPtr: number,
): void {
  const stride = kernel.layout.stride;
  const rowBytes = kernel.strideBytes;
  const f = kernel.f32;
  const c0 = centroidsPtr >> 2;
  // init: k distinct sample rows chosen by the seeded PRNG
  const picks = sampleRows(rows.length, k, random);
  for (let i = 0; i < k; i++) f.copyWithin(c0 + i * stride, (base >> 2) + rows[picks[i]!]! * stride, (base >> 2) + (rows[picks[i]!]! + 1) * stride);
  const sums = new Float64Array(k * stride);
  const counts = new Uint32Array(k);
  const assign = new Uint32Array(rows.length);
  for (let it = 0; it < iterations; it++) {
    sums.fill(0);
    counts.fill(0);
    let changed = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const c = nearest(kernel, base + r * rowBytes, centroidsPtr, k);
      if (c !== assign[i] || it === 0) changed++;
      assign[i] = c;
      counts[c]!++;
      const v = (base >> 2) + r * stride;
      const s = c * stride;
      for (let d = 0; d < stride; d++) sums[s + d]! += f[v + d]!;
    }
    for (let c = 0; c < k; c++) {
      const dst = c0 + c * stride;
      if (counts[c] === 0) {
        // empty cluster: restart it at a random sample row
        const r = rows[Math.floor(random() * rows.length)]!;
        f.copyWithin(dst, (base >> 2) + r * stride, (base >> 2) + (r + 1) * stride);
        continue;
      }
      const inv = 1 / counts[c]!;
      for (let d = 0; d < stride; d++) f[dst + d] = sums[c * stride + d]! * inv;
    }
    if (it > 0 && changed === 0) break;
  }
}
