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
 * Byte order and UTF-16 order agree unless an id holds a character in
 * U+E000..U+FFFF (beside one above U+FFFF); when a segment's k-th pick could
 * be such a case (a chosen id with such a character), the listing is not
 * served (undefined: the caller loads), so the answer is always exactly
 * `executeQuery`'s. Descending (`desc`): `idOrder` from its end, merged by
 * id descending; refused when a chosen id holds any such character.
 */
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import type { ColdHit } from "./cold-bm25.ts";
import type { DeadSlots } from "./cold-dead-slots.ts";
import type { ColdRows } from "./cold-rows.ts";
import type { ColdTailChunk } from "./cold-tail.ts";
import { CorruptError } from "./errors.ts";
import { compareStrings } from "./query/attribute-columns.ts";

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
/**
 * Ids whose byte order may differ from their UTF-16 order against an id
 * not picked: ascending, a picked id holding U+E000..U+FFFF (an id holding a
 * character above U+FFFF may belong before it); descending, a picked id
 * holding either (conservatively).
 */
const RISKY = /[\uE000-\uFFFF]/;
const RISKY_DESC = /[\uD800-\uDFFF\uE000-\uFFFF]/;

/** The first k live matching rows by id; undefined when the byte order may not be the id order. */
export async function coldListing(input: ColdListingInput): Promise<ColdHit[] | undefined> {
  const { reader, rows, files, dead, k } = input;
  const desc = input.desc === true;
  const order = desc ? byIdDesc : byId;
  if (k <= 0) return [];
  const perSegment = await Promise.all(
    files.map(async (file, s): Promise<ColdHit[] | undefined> => {
      const mask = (dead[s] as DeadSlots).mask;
      const live = (input.matches[s] as Uint32Array).filter((slot) => mask === null || mask[slot] === 0);
      if (live.length === 0) return [];
      let chosen: Uint32Array = live;
      const truncated = live.length > k;
      if (truncated) {
        const n = file.meta.size;
        const wanted = new Uint8Array(n);
        for (const slot of live) wanted[slot] = 1;
        const idOrder = await reader.array(file, file.meta.idOrder, "u32", 0, n);
        const picked: number[] = [];
        for (let r = 0; r < idOrder.length && picked.length < k; r++) {
          const slot = idOrder[desc ? idOrder.length - 1 - r : r] as number;
          if (slot >= n) throw new CorruptError(`query index ${file.key}: idOrder holds ${slot}, out of range`, file.key);
          if (wanted[slot] === 1) picked.push(slot);
        }
        chosen = Uint32Array.from(picked);
      }
      const ids = await rows.ids(file, chosen);
      const hits = Array.from(chosen, (slot) => ({ segment: s, slot, score: 0, id: ids.get(slot) as string }));
      if (truncated && hits.some((h) => (desc ? RISKY_DESC : RISKY).test(h.id))) return undefined;
      return hits.sort(order);
    }),
  );
  if (perSegment.some((hits) => hits === undefined)) return undefined;
  const all = (perSegment as ColdHit[][]).flat();
  input.tail.forEach((chunk, c) => {
    for (const slot of input.tailMatches[c] ?? []) all.push({ segment: -1 - c, slot, score: 0, id: chunk.index.ids.get(slot) });
  });
  return all.sort(order).slice(0, k);
}
