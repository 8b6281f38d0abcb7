/**
 * `queryTerms(query, configs)`: the terms of a BM25 query over partitions
 * whose text field was indexed under different tokenizer configs (the
 * namespace's options changed between their builds).
 *
 * The query is split into words once; each word becomes, under each
 * distinct config, the token that config makes of it (or none: a stop word,
 * too long). A term is one distinct combination of those tokens, so within
 * every partition a term is looked up as that partition's own token for the
 * word: "Running" is the term "run" in a stemmed segment and "running" in
 * an unstemmed one, with one document frequency over both, and never a
 * token of one tokenization matched against another's vocabulary. With one
 * config the terms are exactly its distinct tokens, sorted. Pre-tokenized
 * configs split the query on U+001F instead of into words (`wordTokens`).
 */
import { compareStrings } from "./attribute-columns.ts";
import { type ResolvedTokenizerConfig, Tokenizer, tokenizationKey } from "./tokenizer.ts";

export interface QueryTerms {
  /** The distinct tokenization keys, sorted (tokenizer.ts `tokenizationKey`). */
  readonly keys: readonly string[];
  /** Per term: its token under each key (null: none), in `keys` order; terms sorted by these tokens. */
  readonly terms: readonly (readonly (string | null)[])[];
  /**
   * With a prefix (`withExpansions`), per term: TERM_WORD when it is one of the words before the last (scored as
   * a BM25 term), TERM_PREFIX when the prefix stands for it (a match scores PREFIX_MATCH_SCORE, once per
   * document), or both. Undefined: every term is a word.
   */
  readonly kinds?: readonly number[];
}

export const TERM_WORD = 1;
export const TERM_PREFIX = 2;
/** turbopuffer: "`BM25` prefix matches are assigned a score of `1.0`" (https://turbopuffer.com/docs/query). */
export const PREFIX_MATCH_SCORE = 1;

/** Term `i`'s kind (TERM_WORD, TERM_PREFIX or both). */
export function termKind(terms: QueryTerms, i: number): number {
  return terms.kinds === undefined ? TERM_WORD : (terms.kinds[i] as number);
}

const tokenizers = new Map<string, Tokenizer>();

function tokenizerFor(key: string, config: ResolvedTokenizerConfig): Tokenizer {
  let tokenizer = tokenizers.get(key);
  if (tokenizer === undefined) {
    if (tokenizers.size >= 256) tokenizers.clear();
    tokenizer = new Tokenizer(config);
    tokenizers.set(key, tokenizer);
  }
  return tokenizer;
}

/** The terms of `query` under `configs` (one or more; duplicates fine). Empty when no word makes a token. */
export function queryTerms(query: string, configs: readonly ResolvedTokenizerConfig[]): QueryTerms {
  const { keys, groups } = wordTokens(query, configs);
  return { keys, terms: distinctSorted(groups.flat()) };
}

/**
 * A query whose last word is a prefix (`lastAsPrefix`, bm25-terms.ts): the terms of the words before it, and
 * the last word's token under each key (null: none under that key). The last word is the last one that makes
 * a token under some key (per splitting, below).
 */
export interface PrefixQueryTerms {
  readonly base: QueryTerms;
  readonly prefix: readonly (string | null)[];
}

export function prefixQueryTerms(query: string, configs: readonly ResolvedTokenizerConfig[]): PrefixQueryTerms {
  const { keys, groups } = wordTokens(query, configs);
  const prefix: (string | null)[] = keys.map(() => null);
  for (const words of groups) {
    const last = words.pop();
    if (last !== undefined) for (let k = 0; k < keys.length; k++) if (last[k] !== null) prefix[k] = last[k] as string;
  }
  return { base: { keys, terms: distinctSorted(groups.flat()) }, prefix };
}

/**
 * The base terms plus the prefix's expansions: `expansions` holds, per key, the vocabulary terms (tokens of
 * that key) the prefix stands for. The first MAX_PREFIX_TERMS of their union in code-unit order are taken
 * (`cap`); each is one term whose token is itself under every key that expanded to it, none under the others.
 */
export function withExpansions(base: QueryTerms, expansions: ReadonlyMap<string, ReadonlySet<string>>, cap: number): QueryTerms {
  const union = new Set<string>();
  for (const set of expansions.values()) for (const term of set) union.add(term);
  const chosen = [...union].sort(compareStrings).slice(0, cap);
  const extra = chosen.map((term) => base.keys.map((key) => (expansions.get(key)?.has(term) === true ? term : null)));
  const words = new Set(base.terms.map((t) => JSON.stringify(t)));
  const prefixed = new Set(extra.map((t) => JSON.stringify(t)));
  const terms = distinctSorted([...base.terms, ...extra]);
  const kinds = terms.map((t) => (words.has(JSON.stringify(t)) ? TERM_WORD : 0) | (prefixed.has(JSON.stringify(t)) ? TERM_PREFIX : 0));
  return { keys: base.keys, terms, kinds };
}

/**
 * The query's words as tokens under every key, per splitting: word configs split the query into words, pre-tokenized
 * ones (tokenizer.ts `preTokenized`) on U+001F. Configs that split alike share their words (one row per word: its token
 * under each key of the group, null under the others); a field switched between the two tokenizers thus looks each
 * partition's own tokens up, each with its own document frequency.
 */
function wordTokens(query: string, configs: readonly ResolvedTokenizerConfig[]): { keys: string[]; groups: (string | null)[][][] } {
  const byKey = new Map<string, ResolvedTokenizerConfig>();
  for (const config of configs) byKey.set(tokenizationKey(config), config);
  const keys = [...byKey.keys()].sort(compareStrings);
  const tokenizers = keys.map((key) => tokenizerFor(key, byKey.get(key) as ResolvedTokenizerConfig));
  const groups: (string | null)[][][] = [];
  for (const preTokenized of [false, true]) {
    const members = tokenizers.map((t) => t.config.preTokenized === preTokenized);
    const first = members.indexOf(true);
    if (first < 0) continue;
    const words: (string | null)[][] = [];
    for (const word of (tokenizers[first] as Tokenizer).words(query)) {
      const tokens = tokenizers.map((t, k) => (members[k] ? t.normalize(word) : null));
      if (!tokens.every((t) => t === null)) words.push(tokens);
    }
    groups.push(words);
  }
  return { keys, groups };
}

function distinctSorted(words: readonly (readonly (string | null)[])[]): (readonly (string | null)[])[] {
  const seen = new Map<string, readonly (string | null)[]>();
  for (const tokens of words) {
    const id = JSON.stringify(tokens);
    if (!seen.has(id)) seen.set(id, tokens);
  }
  return [...seen.values()].sort(compareTokens);
}

/** Each term's token under `config` (null: none), in term order. */
export function termTokens(terms: QueryTerms, config: ResolvedTokenizerConfig): (string | null)[] {
  const at = terms.keys.indexOf(tokenizationKey(config));
  if (at < 0) throw new RangeError("a config the query terms were not made for");
  return terms.terms.map((t) => t[at] as string | null);
}

function compareTokens(a: readonly (string | null)[], b: readonly (string | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string | null;
    const y = b[i] as string | null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return compareStrings(x, y);
  }
  return 0;
}
