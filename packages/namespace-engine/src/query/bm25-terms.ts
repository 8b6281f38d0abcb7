/**
 * `bm25QueryTerms`: the terms a BM25 clause scores. Without
 * `lastAsPrefix`, the query's distinct tokens. With it (type-ahead), the
 * last token is a prefix: it is replaced by the terms of the field's
 * vocabulary that start with it (the token itself included when it is a
 * term), each then scored as a query term of its own (its own document
 * frequency and idf; a document's score sums its matched terms, as for the
 * other tokens). The expansion is bounded: the first `MAX_PREFIX_TERMS`
 * matching terms in code-unit order of the union of every partition's
 * vocabulary (the same set whichever partitions are loaded, so the warm and
 * cold paths agree). Sorted, distinct.
 *
 * `prefixRange` is the expansion within one sorted vocabulary (its first
 * MAX_PREFIX_TERMS matches are all the union can take from it).
 */
import { compareStrings } from "./attribute-columns.ts";
import { lowerBound, type StringTable } from "./string-table.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** At most this many vocabulary terms stand for a `lastAsPrefix` prefix. */
export const MAX_PREFIX_TERMS = 64;

/** The query's tokens: the whole ones (distinct) and the prefix (`lastAsPrefix`, else undefined). */
export function bm25QueryTokens(tokenizer: Tokenizer, query: string, lastAsPrefix: boolean): { exact: string[]; prefix: string | undefined } {
  const tokens = tokenizer.tokenize(query);
  const prefix = lastAsPrefix ? tokens.pop() : undefined;
  return { exact: [...new Set(tokens)], prefix };
}

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

/** The clause's terms: `exact` and the first MAX_PREFIX_TERMS of the union of `expansions` (each partition's prefixRange). */
export function bm25QueryTerms(exact: readonly string[], expansions: readonly (readonly string[])[]): string[] {
  const expanded = [...new Set(expansions.flat())].sort(compareStrings).slice(0, MAX_PREFIX_TERMS);
  return [...new Set([...exact, ...expanded])].sort(compareStrings);
}
