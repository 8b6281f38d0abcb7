/**
 * coldTextCombination: a ranking expression (`rankBy` of BM25 clauses,
 * numbers, `Attribute` operands, filters as 1/0 operands, Sum, Max,
 * Product, Saturate, Decay, Dist: ../text-combination.ts) over indexed
 * segments that are not loaded, with exactly the hits `executeQuery` gives
 * over the loaded partitions:
 * - which rows take part: with BM25 clauses, the live rows matching at
 *   least one of them (each clause scored as the single cold BM25 ranking
 *   scores it: cold-bm25.ts coldBm25Scores); without, every live row (the
 *   dead slots of cold-dead-slots.ts left out); with a filter, of those
 *   only the matching ones;
 * - each such row's value (cold-expression.ts: filter operands by their
 *   postings, `Attribute` operands from the tags and numbers of exactly
 *   those rows: the whole column when they are many, else the blocks
 *   holding them), the same float64 evaluation as loaded, no value
 *   scoring 0;
 * - top-k by (score desc, id asc), per segment as the single ranking picks
 *   them (cold-bm25.ts topOfSegment), the tail's chunks in memory.
 * Undefined when a filter operand is not served cold (the caller loads).
 */
import type { ColdIndexFile } from "./cold-array-reader.ts";
import { byScoreThenId, type ColdHit, topOfSegment } from "./cold-bm25.ts";
import { checkExpressionFilters, type ColdExpressionContext, coldClauseScores, coldExpressionValues } from "./cold-expression.ts";
import type { ColdTailChunk } from "./cold-tail.ts";
import type { TextExpr } from "../query-request.ts";

export interface ColdTextCombinationInput extends ColdExpressionContext {
  readonly expr: TextExpr;
  readonly k: number;
  /** With a filter: per segment, 1 = the slot matches. */
  readonly segmentMatches?: readonly Uint8Array[] | undefined;
  /** With a filter: whether a slot of tail chunk `c` matches. */
  readonly tailMatches?: ((c: number, slot: number) => boolean) | undefined;
}

/** The best k rows of the expression; undefined when it is not served cold. */
export async function coldTextCombination(input: ColdTextCombinationInput): Promise<ColdHit[] | undefined> {
  const { reader, rows, files, tail, expr, k } = input;
  checkExpressionFilters(expr, files, tail);
  const clauses = await coldClauseScores(input, expr);
  const dead = await input.dead;
  // The rows that take part, per segment (ascending) and per tail chunk.
  const bm25 = clauses.size > 0;
  const ranked = files.map((file, s) => {
    const matches = input.segmentMatches?.[s];
    const keep = (slot: number) => matches === undefined || matches[slot] === 1;
    const out: number[] = [];
    if (bm25) {
      const matched = new Set<number>();
      for (const scores of clauses.values()) for (const slot of scores?.segments[s]?.touched ?? []) matched.add(slot);
      for (const slot of matched) if (keep(slot)) out.push(slot);
      return Uint32Array.from(out).sort();
    }
    const mask = dead[s]?.mask ?? null;
    for (let slot = 0; slot < file.meta.size; slot++) if ((mask === null || mask[slot] === 0) && keep(slot)) out.push(slot);
    return Uint32Array.from(out);
  });
  const tailRanked = tail.map((chunk: ColdTailChunk, c) => {
    const keep = (slot: number) => input.tailMatches === undefined || input.tailMatches(c, slot);
    const out: number[] = [];
    if (bm25) {
      const matched = new Set<number>();
      for (const scores of clauses.values()) for (const slot of scores?.tail[c]?.keys() ?? []) matched.add(slot);
      for (const slot of matched) if (keep(slot)) out.push(slot);
      return out;
    }
    for (let slot = 0; slot < chunk.index.size; slot++) if ((chunk.dead === null || chunk.dead[slot] === 0) && keep(slot)) out.push(slot);
    return out;
  });
  const values = await coldExpressionValues(input, expr, clauses, ranked);
  if (values === undefined) return undefined;
  const score = (v: number): number => (Number.isNaN(v) ? 0 : v);
  const hits: ColdHit[] = [];
  await Promise.all(
    files.map(async (file: ColdIndexFile, s) => {
      const slots = ranked[s] as Uint32Array;
      if (slots.length === 0) return;
      const scores = new Float64Array(file.meta.size);
      for (const slot of slots) scores[slot] = score(values.segment(s, slot));
      for (const hit of await topOfSegment(reader, rows, file, s, Array.from(slots), scores, k)) hits.push(hit);
    }),
  );
  tailRanked.forEach((slots, c) => {
    const ids = (tail[c] as ColdTailChunk).index.ids;
    for (const slot of slots) hits.push({ segment: -1 - c, slot, score: score(values.tail(c, slot)), id: ids.get(slot) });
  });
  return hits.sort(byScoreThenId).slice(0, k);
}
