/**
 * coldListing: a filter without ranking (`filters`, no `rankBy`) lists the
 * matching live documents in id order, topK of them; over indexed
 * segments that are not loaded, from the filter's matching slots
 * (cold-filter.ts) less the dead ones (cold-dead-slots.ts):
 * - a segment with at most k live matches returns them all;
 * - otherwise its first k live matches in id order, walking `idOrder` (the
 *   slots in id byte order, read whole: 4 bytes a row);
 * - the chosen rows' ids come from their clusters (ColdRows), and every
 *   partition's are merged by id (compareStrings: UTF-16 code units) with
 *   the tail's chunks', which are in memory.
 * Byte order and UTF-16 order agree except where two ids first differ by a
 * character in U+E000..U+FFFF against one above U+FFFF (UTF-16 puts the
 * latter, a surrogate pair, first). So the walk goes on past the k-th pick
 * while an id not yet read could still come before the k-th id in UTF-16
 * order (byteOrderSettled): ascending, when the k-th holds a U+E000..U+FFFF
 * character at some place and the last id read shares everything before it
 * (descending, the same for a character above U+FFFF), further picks'
 * ids are read, in growing batches, and the picks are ordered by
 * compareStrings; the answer is always exactly `executeQuery`'s.
 * Descending (`desc`): `idOrder` from its end, merged by id descending.
 */
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import type { ColdHit } from "./cold-bm25.ts";
import type { DeadSlots } from "./cold-dead-slots.ts";
import type { ColdRows } from "./cold-rows.ts";
import type { ColdTailChunk } from "./cold-tail.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { compareStrings } from "../attribute-columns.ts";

/** A filter's matches over a cold version: the segments (slots) and the tail, with each segment's dead slots. */
export interface ColdMatches {
  readonly rows: ColdRows;
  readonly files: readonly ColdIndexFile[];
  readonly dead: readonly DeadSlots[];
  /** Per segment: the matching slots, ascending. */
  readonly matches: readonly Uint32Array[];
  /** The tail's chunks, oldest first. */
  readonly tail: readonly ColdTailChunk[];
  /** Per tail chunk: its live matching slots, ascending. */
  readonly tailMatches: readonly (readonly number[])[];
  readonly k: number;
}

export interface ColdListingInput extends ColdMatches {
  readonly reader: ColdArrayReader;
  /** Descending id order (`rankBy: ["id", "desc"]`): `idOrder` walked from its end. */
  readonly desc?: boolean;
}

const byId = (a: ColdHit, b: ColdHit): number => compareStrings(a.id, b.id);
const byIdDesc = (a: ColdHit, b: ColdHit): number => compareStrings(b.id, a.id);

/** Picks read after the first k while the order is not settled: this many first, then twice as many each time. */
const FIRST_EXTRA = 64;

/**
 * True when no id after `last` in the walk (byte order; descending: before it) can come before `kth` in UTF-16
 * order (descending: after it). Such an id shares a prefix with `kth` and then has, ascending, a character above
 * U+FFFF where `kth` has one in U+E000..U+FFFF (descending, the reverse); the ids sharing that prefix are one run
 * of the byte order, which holds `kth` and is left behind once `last` does not start with the prefix.
 */
export function byteOrderSettled(kth: string, last: string, desc: boolean): boolean {
  for (let p = 0; p < kth.length; p++) {
    const unit = kth.charCodeAt(p);
    const risky = desc ? unit >= 0xd800 && unit <= 0xdbff : unit >= 0xe000;
    if (risky && last.startsWith(kth.slice(0, p))) return false;
  }
  return true;
}

/** The first k live matching rows by id (UTF-16 order, as the loaded path orders them). */
export async function coldListing(input: ColdListingInput): Promise<ColdHit[]> {
  const { reader, rows, files, dead, k } = input;
  const desc = input.desc === true;
  const order = desc ? byIdDesc : byId;
  if (k <= 0) return [];
  const perSegment = await Promise.all(
    files.map(async (file, s): Promise<ColdHit[]> => {
      const mask = (dead[s] as DeadSlots).mask;
      const live = (input.matches[s] as Uint32Array).filter((slot) => mask === null || mask[slot] === 0);
      if (live.length === 0) return [];
      const toHits = (slots: readonly number[] | Uint32Array, ids: Map<number, string>): ColdHit[] =>
        Array.from(slots, (slot) => ({ segment: s, slot, score: 0, id: ids.get(slot) as string }));
      if (live.length <= k) return toHits(live, await rows.ids(file, live)).sort(order);
      const n = file.meta.size;
      const wanted = new Uint8Array(n);
      for (const slot of live) wanted[slot] = 1;
      const idOrder = await reader.array(file, file.meta.idOrder, "u32", 0, n);
      let r = 0;
      /** The next `count` live matching slots of the walk. */
      const pick = (count: number): number[] => {
        const picked: number[] = [];
        for (; r < idOrder.length && picked.length < count; r++) {
          const slot = idOrder[desc ? idOrder.length - 1 - r : r] as number;
          if (slot >= n) throw new CorruptStoredIndexError(`query index ${file.key}: idOrder holds ${slot}, out of range`, file.key);
          if (wanted[slot] === 1) picked.push(slot);
        }
        return picked;
      };
      let batch = pick(k);
      const hits = toHits(batch, await rows.ids(file, batch));
      for (let extra = FIRST_EXTRA; ; extra *= 2) {
        const last = (hits[hits.length - 1] as ColdHit).id;
        hits.sort(order);
        if (byteOrderSettled((hits[k - 1] as ColdHit).id, last, desc)) break;
        batch = pick(extra);
        if (batch.length === 0) break;
        for (const hit of toHits(batch, await rows.ids(file, batch))) hits.push(hit);
      }
      return hits.slice(0, k);
    }),
  );
  const all = perSegment.flat();
  input.tail.forEach((chunk, c) => {
    for (const slot of input.tailMatches[c] ?? []) all.push({ segment: -1 - c, slot, score: 0, id: chunk.index.ids.get(slot) });
  });
  return all.sort(order).slice(0, k);
}
