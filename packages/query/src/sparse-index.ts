/**
 * Sparse vectors of a partition: rows in CSR form (offsets per slot, strictly
 * increasing u32 indices, float32 values), plus an inverted view (postings
 * per dimension with the value beside each slot) built on first use, which
 * is what a sparse dot-product query walks: it touches only the slots that
 * share a dimension with the query.
 */

export interface SparseRows {
  readonly rowOffsets: Uint32Array;
  readonly indices: Uint32Array;
  readonly values: Float32Array;
}

export interface SparseInverted {
  /** Distinct dimensions, ascending. */
  readonly dims: Uint32Array;
  readonly offsets: Uint32Array;
  readonly slots: Uint32Array;
  readonly values: Float32Array;
}

const invertedCache = new WeakMap<SparseRows, SparseInverted>();

export function sparseInverted(rows: SparseRows): SparseInverted {
  let inv = invertedCache.get(rows);
  if (inv !== undefined) return inv;
  const distinct = Uint32Array.from(new Set(rows.indices)).sort();
  const dimRank = new Map<number, number>();
  for (let i = 0; i < distinct.length; i++) dimRank.set(distinct[i]!, i);
  const offsets = new Uint32Array(distinct.length + 1);
  const rankOf = new Uint32Array(rows.indices.length);
  for (let e = 0; e < rows.indices.length; e++) {
    const r = dimRank.get(rows.indices[e]!)!;
    rankOf[e] = r;
    offsets[r + 1]!++;
  }
  for (let i = 0; i < distinct.length; i++) offsets[i + 1]! += offsets[i]!;
  const cursor = offsets.slice(0, distinct.length);
  const slots = new Uint32Array(rows.indices.length);
  const values = new Float32Array(rows.indices.length);
  const n = rows.rowOffsets.length - 1;
  for (let s = 0; s < n; s++) {
    for (let e = rows.rowOffsets[s]!; e < rows.rowOffsets[s + 1]!; e++) {
      const at = cursor[rankOf[e]!]!++;
      slots[at] = s;
      values[at] = rows.values[e]!;
    }
  }
  inv = { dims: distinct, offsets, slots, values };
  invertedCache.set(rows, inv);
  return inv;
}

/** Position of `dim` in the sorted `dims`, or -1. */
export function findDim(dims: Uint32Array, dim: number): number {
  let lo = 0;
  let hi = dims.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = dims[mid]!;
    if (v === dim) return mid;
    if (v < dim) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
