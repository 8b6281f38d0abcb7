/**
 * The prefix expansion of a BM25 clause with `lastAsPrefix` (type-ahead;
 * the terms are made in query-terms.ts and bm25-stats.ts
 * `expandedQueryTerms`): the last token is a prefix: it is replaced by the terms of the field's
 * vocabulary that start with it (the token itself included when it is a
 * term); a document holding any of them scores PREFIX_MATCH_SCORE (1.0,
 * query-terms.ts) for the prefix, once, beside the BM25 sum of the other
 * words (turbopuffer's rule). The expansion is bounded: the first `MAX_PREFIX_TERMS`
 * matching terms in code-unit order of the union of every partition's
 * vocabulary (the same set whichever partitions are loaded, so the warm and
 * cold paths agree). With partitions indexed under different options, each
 * partition's vocabulary is searched for the last word's token under its own
 * options.
 *
 * `prefixRange` is the expansion within one sorted vocabulary (its first
 * MAX_PREFIX_TERMS matches are all the union can take from it).
 */
import { lowerBound, type StringTable } from "./string-table.ts";

/** At most this many vocabulary terms stand for a `lastAsPrefix` prefix. */
export const MAX_PREFIX_TERMS = 64;

/** The first MAX_PREFIX_TERMS terms of a sorted vocabulary that start with `prefix`. */
export function prefixRange(terms: StringTable, prefix: string): string[] {
  const out: string[] = [];
  for (let t = lowerBound(terms, prefix); t < terms.length && out.length < MAX_PREFIX_TERMS; t++) {
    const term = terms.get(t);
    if (!term.startsWith(prefix)) break;
    out.push(term);
  }
  return out;
}
