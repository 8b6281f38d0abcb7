/**
 * QuerySnapshot: the partitions of one namespace version, oldest first, with
 * the rule that makes duplicate ids resolve to their newest version: a slot
 * whose id also occurs in a newer partition is "shadowed" and never
 * returned, scored or counted, even when the newer version does not match
 * the query (a newer version that no longer matches must hide the old one).
 *
 * Computing the shadow masks costs one id lookup per document of every
 * newer partition, so a snapshot is cached: `prepareQuerySnapshot` returns
 * the same object for the same partitions (by identity) while they live.
 * The engine may also hold the snapshot itself per manifest version.
 */
import { InvalidQueryError } from "./errors.ts";
import type { QueryIndex } from "./query-index.ts";

export interface ShadowSet {
  /** 1 = shadowed by a newer partition; null when none is. */
  readonly mask: Uint8Array | null;
  /** The shadowed slots, ascending. */
  readonly slots: Uint32Array;
}

export class QuerySnapshot {
  readonly shadows: readonly ShadowSet[];

  constructor(readonly partitions: readonly QueryIndex[]) {
    const shadows: ShadowSet[] = new Array(partitions.length);
    for (let i = 0; i < partitions.length; i++) {
      const older = partitions[i]!;
      let mask: Uint8Array | null = null;
      const slots: number[] = [];
      for (let j = i + 1; j < partitions.length; j++) {
        const newer = partitions[j]!;
        // Look up the smaller side in the larger side's id map.
        if (newer.size <= older.size) {
          for (let s = 0; s < newer.size; s++) {
            const hit = older.slotOfId(newer.ids.get(s));
            if (hit >= 0) {
              mask ??= new Uint8Array(older.size);
              if (mask[hit] === 0) {
                mask[hit] = 1;
                slots.push(hit);
              }
            }
          }
        } else {
          for (let s = 0; s < older.size; s++) {
            if (newer.slotOfId(older.ids.get(s)) >= 0) {
              mask ??= new Uint8Array(older.size);
              if (mask[s] === 0) {
                mask[s] = 1;
                slots.push(s);
              }
            }
          }
        }
      }
      shadows[i] = { mask, slots: Uint32Array.from(slots).sort() };
    }
    this.shadows = shadows;
  }

  /** The common dense dimension (0 if no partition has vectors). */
  dimension(): number {
    let dim = 0;
    for (const p of this.partitions) {
      if (p.dimension === 0) continue;
      if (dim !== 0 && p.dimension !== dim) {
        throw InvalidQueryError.at([], "dimension_mismatch", `partitions disagree on the vector dimension (${dim} vs ${p.dimension})`);
      }
      dim = p.dimension;
    }
    return dim;
  }
}

const cache = new WeakMap<QueryIndex, { key: readonly QueryIndex[]; snapshot: QuerySnapshot }[]>();

/** The snapshot of these partitions (oldest first), cached while they live. */
export function prepareQuerySnapshot(partitions: readonly QueryIndex[]): QuerySnapshot {
  const first = partitions[0];
  if (first === undefined) return new QuerySnapshot([]);
  let entries = cache.get(first);
  if (entries === undefined) cache.set(first, (entries = []));
  for (const e of entries) {
    if (e.key.length === partitions.length && e.key.every((p, i) => p === partitions[i])) return e.snapshot;
  }
  const snapshot = new QuerySnapshot([...partitions]);
  entries.push({ key: snapshot.partitions, snapshot });
  if (entries.length > 8) entries.shift();
  return snapshot;
}
