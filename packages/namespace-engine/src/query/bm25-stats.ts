/**
 * `bm25Stats(parts, field, query)`: what a BM25 clause needs before it
 * scores: the query's distinct terms (tokenized with the newest partition's
 * configuration for the field; with `lastAsPrefix` the last token expanded
 * to the vocabulary terms starting with it, bm25-terms.ts), each term's id
 * per partition, and the
 * corpus statistics over the live documents of every partition (document
 * count, average length, each term's idf). `bm25Score` is one posting's
 * contribution. Shared by the single BM25 ranking and the combinations of
 * BM25 clauses (text-combination.ts).
 */
import { bm25QueryTerms, bm25QueryTokens, prefixRange } from "./bm25-terms.ts";
import type { QueryIndex } from "./query-index.ts";
import { Tokenizer } from "./tokenizer.ts";

export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

/** What the statistics need of a partition. */
export interface Bm25Partition {
  readonly index: QueryIndex;
  /** 1 = dead; null when nothing is. */
  readonly dead: Uint8Array | null;
  readonly deadSlots: Uint32Array;
}

export interface Bm25Stats {
  readonly field: string;
  readonly terms: readonly string[];
  /** Per partition: each term's id in the field's vocabulary (-1: absent), or null without the field. */
  readonly termIds: readonly (readonly number[] | null)[];
  readonly idf: readonly number[];
  /** Live documents containing each term. */
  readonly df: Float64Array;
  readonly avgdl: number;
}

/** The statistics of `query` on `field`, or undefined when it cannot match (no field, no terms, no live document). */
export function bm25Stats(parts: readonly Bm25Partition[], field: string, query: string, lastAsPrefix = false): Bm25Stats | undefined {
  let tokenizer: Tokenizer | undefined;
  for (let i = parts.length - 1; i >= 0 && tokenizer === undefined; i--) {
    const f = parts[i]!.index.textFields.get(field);
    if (f !== undefined) tokenizer = new Tokenizer(f.config);
  }
  if (tokenizer === undefined) return undefined;
  const { exact, prefix } = bm25QueryTokens(tokenizer, query, lastAsPrefix);
  const expansions: string[][] = [];
  if (prefix !== undefined) {
    for (const part of parts) {
      const f = part.index.textFields.get(field);
      if (f !== undefined) expansions.push(prefixRange(f.terms, prefix));
    }
  }
  const terms = bm25QueryTerms(exact, expansions);
  if (terms.length === 0) return undefined;
  let docCount = 0;
  let totalLength = 0;
  const df = new Float64Array(terms.length);
  const termIds = parts.map((part) => {
    const f = part.index.textFields.get(field);
    if (f === undefined) return null;
    docCount += f.docCount;
    totalLength += f.totalLength;
    for (const s of part.deadSlots) {
      if (f.present[s] === 1) {
        docCount--;
        totalLength -= f.docLengths[s]!;
      }
    }
    return terms.map((t, i) => {
      const id = f.terms.indexOf(t);
      if (id < 0) return -1;
      const from = f.termOffsets[id]!;
      const to = f.termOffsets[id + 1]!;
      let count = to - from;
      if (part.dead !== null) for (let e = from; e < to; e++) if (part.dead[f.postings[e]!] !== 0) count--;
      df[i]! += count;
      return id;
    });
  });
  if (docCount <= 0) return undefined;
  const idf = Array.from(df, (d) => Math.log(1 + (docCount - d + 0.5) / (d + 0.5)));
  return { field, terms, termIds, idf, df, avgdl: totalLength / docCount };
}

/**
 * Calls `add(slot, score)` for every live posting of the clause's terms in
 * partition `p` (a slot once per term it holds; the caller sums).
 */
export function forEachBm25Posting(stats: Bm25Stats, part: Bm25Partition, p: number, add: (slot: number, score: number) => void): void {
  const f = part.index.textFields.get(stats.field);
  const ids = stats.termIds[p];
  if (f === undefined || ids === null || ids === undefined) return;
  const norm = BM25_K1 * (1 - BM25_B);
  const lenFactor = (BM25_K1 * BM25_B) / stats.avgdl;
  for (let i = 0; i < stats.terms.length; i++) {
    const id = ids[i]!;
    if (id < 0 || stats.df[i] === 0) continue;
    const w = stats.idf[i]!;
    for (let e = f.termOffsets[id]!; e < f.termOffsets[id + 1]!; e++) {
      const slot = f.postings[e]!;
      if (part.dead !== null && part.dead[slot] !== 0) continue;
      const tf = f.frequencies[e]!;
      add(slot, (w * tf * (BM25_K1 + 1)) / (tf + norm + lenFactor * f.docLengths[slot]!));
    }
  }
}
