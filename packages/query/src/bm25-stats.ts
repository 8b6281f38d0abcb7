/**
 * `bm25Stats(parts, field, query)`: what a BM25 clause needs before it
 * scores: the query's distinct terms (query-terms.ts: tokenized under each
 * partition's own configuration for the field; with `lastAsPrefix` the last
 * word expanded to the vocabulary terms starting with its token,
 * bm25-terms.ts), each term's id per partition, k1 and b (given, else the
 * newest partition's), and the
 * corpus statistics over the live documents of every partition (document
 * count, average length, each term's idf). `bm25Score` is one posting's
 * contribution. Shared by the single BM25 ranking and the combinations of
 * BM25 clauses (text-combination.ts).
 */
import { MAX_PREFIX_TERMS, prefixRange } from "./bm25-terms.ts";
import type { QueryIndex } from "./query-index.ts";
import { PREFIX_MATCH_SCORE, prefixQueryTerms, type QueryTerms, queryTerms, TERM_PREFIX, TERM_WORD, termKind, termTokens, withExpansions } from "./query-terms.ts";
import type { StringTable } from "./string-table.ts";
import { DEFAULT_B, DEFAULT_K1, type ResolvedTokenizerConfig, tokenizationKey } from "./tokenizer.ts";

/** The default BM25 parameters (a field's `k1` and `b` options override them). */
export const BM25_K1 = DEFAULT_K1;
export const BM25_B = DEFAULT_B;

/** BM25 parameters of a field. */
export interface Bm25Params {
  readonly k1: number;
  readonly b: number;
}

/** What the statistics need of a partition. */
export interface Bm25Partition {
  readonly index: QueryIndex;
  /** 1 = dead; null when nothing is. */
  readonly dead: Uint8Array | null;
  readonly deadSlots: Uint32Array;
}

export interface Bm25Stats {
  readonly field: string;
  /** Each term's token in the newest partition's tokenization (query-terms.ts), for display. */
  readonly terms: readonly (string | null)[];
  /** Per partition: each term's id in the field's vocabulary (-1: absent), or null without the field. */
  readonly termIds: readonly (readonly number[] | null)[];
  readonly idf: readonly number[];
  /** Live documents containing each term. */
  readonly df: Float64Array;
  readonly avgdl: number;
  readonly k1: number;
  readonly b: number;
  /** Per term: TERM_WORD, TERM_PREFIX or both (query-terms.ts); a prefix match scores PREFIX_MATCH_SCORE once per document. */
  readonly kinds: readonly number[];
}

/**
 * The statistics of `query` on `field`, or undefined when it cannot match (no field, no terms, no live
 * document). `params`: the namespace's k1 and b for the field, else the newest partition's. `lastAsPrefix`:
 * the last word is a prefix (bm25-terms.ts).
 */
export function bm25Stats(
  parts: readonly Bm25Partition[],
  field: string,
  query: string,
  params?: Bm25Params,
  lastAsPrefix = false,
): Bm25Stats | undefined {
  const vocabularies: { config: ResolvedTokenizerConfig; terms: StringTable }[] = [];
  for (const part of parts) {
    const f = part.index.textFields.get(field);
    if (f !== undefined) vocabularies.push({ config: f.config, terms: f.terms });
  }
  const newest = vocabularies[vocabularies.length - 1]?.config;
  if (newest === undefined) return undefined;
  const qt = lastAsPrefix ? expandedQueryTerms(query, vocabularies) : queryTerms(query, vocabularies.map((v) => v.config));
  if (qt.terms.length === 0) return undefined;
  const terms = termTokens(qt, newest);
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
    return termTokens(qt, f.config).map((t, i) => {
      if (t === null) return -1;
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
  const { k1, b } = params ?? newest;
  return { field, terms, termIds, idf, df, avgdl: totalLength / docCount, k1, b, kinds: terms.map((_, i) => termKind(qt, i)) };
}

/**
 * Calls `add(slot, score)` for every live posting of the clause's terms in
 * partition `p` (a slot once per term it holds; the caller sums).
 */
export function forEachBm25Posting(stats: Bm25Stats, part: Bm25Partition, p: number, add: (slot: number, score: number) => void): void {
  const f = part.index.textFields.get(stats.field);
  const ids = stats.termIds[p];
  if (f === undefined || ids === null || ids === undefined) return;
  const { k1, b } = stats;
  const norm = k1 * (1 - b);
  const lenFactor = (k1 * b) / stats.avgdl;
  // Documents a prefix term matched already (their PREFIX_MATCH_SCORE added at the first, in term order).
  let prefixed: Uint8Array | undefined;
  for (let i = 0; i < stats.terms.length; i++) {
    const id = ids[i]!;
    if (id < 0 || stats.df[i] === 0) continue;
    const kind = stats.kinds[i]!;
    const w = stats.idf[i]!;
    if ((kind & TERM_PREFIX) !== 0) prefixed ??= new Uint8Array(part.index.size);
    for (let e = f.termOffsets[id]!; e < f.termOffsets[id + 1]!; e++) {
      const slot = f.postings[e]!;
      if (part.dead !== null && part.dead[slot] !== 0) continue;
      if ((kind & TERM_WORD) !== 0) {
        const tf = f.frequencies[e]!;
        add(slot, (w * tf * (k1 + 1)) / (tf + norm + lenFactor * f.docLengths[slot]!));
      }
      if ((kind & TERM_PREFIX) !== 0 && prefixed![slot] === 0) {
        prefixed![slot] = 1;
        add(slot, PREFIX_MATCH_SCORE);
      }
    }
  }
}

/**
 * The terms of a `lastAsPrefix` query over partitions with their vocabularies: the words before the last as
 * terms, and the last word's token (under each partition's tokenization) expanded over that partition's
 * vocabulary (prefixRange), the first MAX_PREFIX_TERMS of the union. Also used by the cold path.
 */
export function expandedQueryTerms(query: string, vocabularies: readonly { config: ResolvedTokenizerConfig; terms: StringTable }[]): QueryTerms {
  const { base, prefix } = prefixQueryTerms(
    query,
    vocabularies.map((v) => v.config),
  );
  const expansions = new Map<string, Set<string>>();
  for (const v of vocabularies) {
    const key = tokenizationKey(v.config);
    const token = prefix[base.keys.indexOf(key)];
    if (token === null || token === undefined) continue;
    let set = expansions.get(key);
    if (set === undefined) {
      set = new Set();
      expansions.set(key, set);
    }
    for (const term of prefixRange(v.terms, token)) set.add(term);
  }
  return withExpansions(base, expansions, MAX_PREFIX_TERMS);
}
