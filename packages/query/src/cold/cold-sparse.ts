/**
 * coldSparse: a sparse dot-product ranking (`rankBy: ["sparse", "Dot",
 * {indices, values}]`, optionally filtered) over indexed segments that are
 * not loaded, from the postings by dimension that format 7 stores beside
 * the sparse rows (../index-codec.ts `sparse.postings`): per segment the
 * distinct dimensions (read whole: 4 bytes each), then for each of the
 * query's dimensions the segment holds its two offsets and the range of
 * its postings (slots and values), nothing else of the rows.
 *
 * Scores are summed as the loaded path sums them (execute-query.ts
 * sparseCandidates over sparse-index.ts `sparseInverted`, which orders the
 * stored postings too): in float64, the query's dimensions in query order,
 * each dimension's postings by slot, dead rows skipped; only matching rows
 * are ranked. A segment's best k by (score desc, id asc) are taken with
 * every row tied with the k-th score, whose ids are read (ColdRows), and
 * merged with the tail chunks' (in memory, the loaded way) by score, then
 * id. Undefined when a segment with sparse rows predates format 7 (no
 * postings: the caller loads).
 */
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import type { ColdHit } from "./cold-bm25.ts";
import type { DeadSlots } from "./cold-dead-slots.ts";
import type { ColdRows } from "./cold-rows.ts";
import type { ColdTailChunk } from "./cold-tail.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { compareStrings } from "../attribute-columns.ts";
import { findDim, sparseInverted } from "../sparse-index.ts";

export interface ColdSparseInput {
  readonly reader: ColdArrayReader;
  readonly rows: ColdRows;
  readonly files: readonly ColdIndexFile[];
  readonly dead: readonly DeadSlots[];
  /** With a filter: per segment, 1 = the slot matches; undefined without one. */
  readonly matches: readonly Uint8Array[] | undefined;
  /** The tail's chunks, oldest first. */
  readonly tail: readonly ColdTailChunk[];
  /** Per tail chunk: its live matching slots (every live slot without a filter). */
  readonly tailMatches: readonly (readonly number[])[];
  /** The query's dimensions (strictly increasing) and weights. */
  readonly indices: Uint32Array;
  readonly values: Float32Array;
  readonly k: number;
}

const byScore = (a: ColdHit, b: ColdHit): number => (a.score !== b.score ? b.score - a.score : compareStrings(a.id, b.id));

/** The first k rows of the ranking; undefined when a segment stores no postings (an older format). */
export async function coldSparse(input: ColdSparseInput): Promise<ColdHit[] | undefined> {
  const { k } = input;
  if (k <= 0) return [];
  if (input.files.some((file) => file.meta.sparse !== null && file.meta.sparse.postings === undefined)) return undefined;
  const perSegment = await Promise.all(input.files.map((file, s) => segmentHits(input, file, s)));
  const all = perSegment.flat();
  input.tail.forEach((chunk, c) => {
    for (const hit of chunkHits(input, chunk, c)) all.push(hit);
  });
  return all.sort(byScore).slice(0, k);
}

/** A segment's best k rows (and those tied with the k-th), read by range. */
async function segmentHits(input: ColdSparseInput, file: ColdIndexFile, s: number): Promise<ColdHit[]> {
  const { reader, k } = input;
  const postings = file.meta.sparse?.postings;
  if (postings === undefined) return [];
  const n = file.meta.size;
  const corrupt = (what: string) => new CorruptStoredIndexError(`query index ${file.key}: sparse postings ${what}`, file.key);
  const dims = await reader.array(file, postings.dims, "u32", 0, reader.length(file, postings.dims, "u32"));
  const total = reader.length(file, postings.slots, "u32");
  if (reader.length(file, postings.offsets, "u32") !== dims.length + 1 || reader.length(file, postings.values, "f32") !== total) throw corrupt("disagree in length");
  // Each query dimension's postings, read in parallel, summed below in query order.
  const lists = await Promise.all(
    Array.from(input.indices, async (dim) => {
      const d = findDim(dims, dim);
      if (d < 0) return null;
      const bounds = await reader.array(file, postings.offsets, "u32", d, d + 2);
      const [from, to] = [bounds[0] as number, bounds[1] as number];
      if (to < from || to > total) throw corrupt(`offsets out of range at dimension ${dim}`);
      const [slots, values] = await Promise.all([reader.array(file, postings.slots, "u32", from, to), reader.array(file, postings.values, "f32", from, to)]);
      return { slots, values };
    }),
  );
  const deadMask = (input.dead[s] as DeadSlots).mask;
  const scores = new Map<number, number>();
  lists.forEach((list, i) => {
    if (list === null) return;
    const w = input.values[i] as number;
    for (let e = 0; e < list.slots.length; e++) {
      const slot = list.slots[e] as number;
      if (slot >= n) throw corrupt(`hold slot ${slot}, out of range`);
      if (deadMask !== null && deadMask[slot] === 1) continue;
      scores.set(slot, (scores.get(slot) ?? 0) + w * (list.values[e] as number));
    }
  });
  const mask = input.matches?.[s];
  const ranked: { slot: number; score: number }[] = [];
  for (const [slot, score] of scores) if (mask === undefined || mask[slot] === 1) ranked.push({ slot, score });
  ranked.sort((a, b) => b.score - a.score);
  // The rows up to the k-th and every row tied with it: the id decides among them.
  let cut = Math.min(k, ranked.length);
  while (cut > 0 && cut < ranked.length && (ranked[cut] as { score: number }).score === (ranked[cut - 1] as { score: number }).score) cut++;
  const kept = ranked.slice(0, cut);
  const ids = await input.rows.ids(file, kept.map((h) => h.slot));
  return kept
    .map((h) => ({ segment: s, slot: h.slot, score: h.score, id: ids.get(h.slot) as string }))
    .sort(byScore)
    .slice(0, k);
}

/** A tail chunk's best k rows (its rows in memory, inverted as the loaded path inverts them). */
function chunkHits(input: ColdSparseInput, chunk: ColdTailChunk, c: number): ColdHit[] {
  const rows = chunk.index.sparse;
  const live = input.tailMatches[c] ?? [];
  if (rows === null || live.length === 0) return [];
  const keep = new Uint8Array(chunk.index.size);
  for (const slot of live) keep[slot] = 1;
  const inv = sparseInverted(rows);
  const scores = new Map<number, number>();
  for (let i = 0; i < input.indices.length; i++) {
    const d = findDim(inv.dims, input.indices[i] as number);
    if (d < 0) continue;
    const w = input.values[i] as number;
    for (let e = inv.offsets[d] as number; e < (inv.offsets[d + 1] as number); e++) {
      const slot = inv.slots[e] as number;
      if (keep[slot] === 1) scores.set(slot, (scores.get(slot) ?? 0) + w * (inv.values[e] as number));
    }
  }
  const hits = [...scores].map(([slot, score]) => ({ segment: -1 - c, slot, score, id: chunk.index.ids.get(slot) }));
  return hits.sort(byScore).slice(0, input.k);
}
