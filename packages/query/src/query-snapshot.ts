/**
 * QuerySnapshot: the partitions of one namespace version, oldest first, with
 * the rule that makes duplicate ids resolve to their newest version: a slot
 * whose id also occurs in a newer partition is "shadowed" and never
 * returned, scored or counted, even when the newer version does not match
 * the query (a newer version that no longer matches must hide the old one).
 *
 * Computing the shadow masks costs one id lookup per document of every
 * newer partition (of the smaller of each pair), so the slots each pair of
 * partitions shares are cached while both live (partitions are immutable),
 * and a snapshot is cached too: `prepareQuerySnapshot` returns the same
 * object for the same partitions (by identity) while they live. The engine
 * holds its snapshots per manifest version; a version that adds one
 * partition computes only that partition's pairs.
 */
import { InvalidQueryError } from "./errors.ts";
import type { QueryIndex } from "./query-index.ts";

export interface ShadowSet {
  /** 1 = shadowed by a newer partition; null when none is. */
  readonly mask: Uint8Array | null;
  /** The shadowed slots, ascending. */
  readonly slots: Uint32Array;
}

export interface QuerySnapshotOptions {
  /**
   * Partitions from this index on are disjoint among themselves: the caller
   * already excludes every row a newer one of them supersedes (the engine's
   * tail chunks), so no shadow masks are computed between them. Partitions
   * before it are shadowed by every newer partition as usual.
   */
  readonly disjointFrom?: number | undefined;
}

/** Slots of `older` whose ids `newer` holds, per pair of (immutable) partitions, computed once while both live. */
const pairs = new WeakMap<QueryIndex, WeakMap<QueryIndex, Uint32Array>>();

function shadowedSlots(older: QueryIndex, newer: QueryIndex): Uint32Array {
  let byNewer = pairs.get(older);
  if (byNewer === undefined) pairs.set(older, (byNewer = new WeakMap()));
  const cached = byNewer.get(newer);
  if (cached !== undefined) return cached;
  const hits: number[] = [];
  // Look up the smaller side in the larger side's id map.
  if (newer.size <= older.size) {
    for (let s = 0; s < newer.size; s++) {
      const hit = older.slotOfId(newer.ids.get(s));
      if (hit >= 0) hits.push(hit);
    }
  } else {
    for (let s = 0; s < older.size; s++) if (newer.slotOfId(older.ids.get(s)) >= 0) hits.push(s);
  }
  const slots = Uint32Array.from(hits);
  byNewer.set(newer, slots);
  return slots;
}

export class QuerySnapshot {
  readonly shadows: readonly ShadowSet[];

  constructor(
    readonly partitions: readonly QueryIndex[],
    options: QuerySnapshotOptions = {},
  ) {
    const disjointFrom = options.disjointFrom ?? partitions.length;
    const shadows: ShadowSet[] = new Array(partitions.length);
    for (let i = 0; i < partitions.length; i++) {
      const older = partitions[i]!;
      let mask: Uint8Array | null = null;
      const slots: number[] = [];
      if (i < disjointFrom) {
        for (let j = i + 1; j < partitions.length; j++) {
          for (const hit of shadowedSlots(older, partitions[j]!)) {
            mask ??= new Uint8Array(older.size);
            if (mask[hit] === 0) {
              mask[hit] = 1;
              slots.push(hit);
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
