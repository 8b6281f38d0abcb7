/**
 * The token filters of text fields: `ContainsAllTokens` (the field holds
 * every token of the operand), `ContainsAnyToken` (at least one) and
 * `ContainsTokenSequence` (the operand's tokens appear consecutively, in
 * order: a phrase; a token repeated in the operand is repeated in the text).
 *
 * The operand is a string, tokenized as the field's text is (tokenizer.ts),
 * or a list of strings, each tokenized the same way. With `lastAsPrefix`
 * the operand's last token matches every token that starts with it (type-
 * ahead search). An operand without tokens (empty, or only stop words)
 * matches nothing. A document without the text field never matches.
 *
 * Shared by the index-based plan (postings of the field's inverted index:
 * intersection or union, a prefix as the union of a range of the sorted
 * vocabulary) and the per-document matcher, which tokenize alike. A
 * sequence is planned as ContainsAllTokens over its distinct tokens, each
 * candidate then checked against its tokens in text order (the text
 * index's forward `sequence`, text-index.ts) with `holdsTermSequence`.
 *
 * A text of several elements (the strings of an array, joined by
 * TEXT_ELEMENT_SEPARATOR, tokenizer.ts): a sequence matches within one
 * element, never across two (turbopuffer: evaluated per array element);
 * `ContainsAllTokens` and `ContainsAnyToken` look at the tokens of all the
 * elements together.
 */
import { ELEMENT_START } from "./text-index.ts";
import type { ResolvedTokenizerConfig } from "./tokenizer.ts";
import { Tokenizer } from "./tokenizer.ts";
import type { Filter } from "./query-request.ts";

export type TokenFilter = Extract<Filter, { kind: "Tokens" }>;

export interface FilterTokens {
  /** Whole tokens, distinct. */
  readonly exact: readonly string[];
  /** The prefix token (`lastAsPrefix`), or undefined. */
  readonly prefix: string | undefined;
}

const tokenizers = new WeakMap<ResolvedTokenizerConfig, Tokenizer>();

export function tokenizerOf(config: ResolvedTokenizerConfig): Tokenizer {
  let tokenizer = tokenizers.get(config);
  if (tokenizer === undefined) tokenizers.set(config, (tokenizer = new Tokenizer(config)));
  return tokenizer;
}

/** The operand's tokens under `config`. */
export function filterTokens(filter: TokenFilter, config: ResolvedTokenizerConfig): FilterTokens {
  const tokenizer = tokenizerOf(config);
  const all = typeof filter.query === "string" ? tokenizer.tokenize(filter.query) : filter.query.flatMap((q) => tokenizer.tokenize(q));
  const prefix = filter.lastAsPrefix ? all.pop() : undefined;
  return { exact: [...new Set(all)], prefix };
}

/** A sequence filter's tokens in order (repeats kept): each operand string's tokens, one string after the other. */
export function sequenceTokens(filter: TokenFilter, config: ResolvedTokenizerConfig): string[] {
  const tokenizer = tokenizerOf(config);
  return typeof filter.query === "string" ? tokenizer.tokenize(filter.query) : filter.query.flatMap((q) => tokenizer.tokenize(q));
}

/** True when `needle` (not empty) occurs consecutively in `haystack[from, to)`. */
export function holdsSequence<T>(haystack: ArrayLike<T>, from: number, to: number, needle: ArrayLike<T>): boolean {
  const m = needle.length;
  if (m === 0) return false;
  for (let start = from; start + m <= to; start++) {
    let i = 0;
    while (i < m && haystack[start + i] === needle[i]) i++;
    if (i === m) return true;
  }
  return false;
}

/**
 * True when `needle` (term ids, not empty) occurs consecutively in a forward index's `sequence[from, to)` within
 * one element: its first token may start an element (ELEMENT_START), no later one may (text-index.ts).
 */
export function holdsTermSequence(sequence: ArrayLike<number>, from: number, to: number, needle: ArrayLike<number>): boolean {
  const m = needle.length;
  if (m === 0) return false;
  const head = needle[0]!;
  for (let start = from; start + m <= to; start++) {
    if ((sequence[start]! & ~ELEMENT_START) !== head) continue;
    let i = 1;
    // A flagged token is >= 2^31, above every term id (and a missing term's 0xFFFFFFFF), so it ends the match.
    while (i < m && sequence[start + i] === needle[i]) i++;
    if (i === m) return true;
  }
  return false;
}

/** True when `text` (a document's field; undefined when absent) matches `filter`. */
export function textMatchesTokens(filter: TokenFilter, text: string | undefined, config: ResolvedTokenizerConfig): boolean {
  if (text === undefined) return false;
  if (filter.op === "ContainsTokenSequence") {
    // A text of several elements: the phrase within one of them (their tokens, element after element, are the text's).
    const starts: number[] = [];
    const tokens = tokenizerOf(config).tokenize(text, starts);
    const needle = sequenceTokens(filter, config);
    const bounds = [0, ...starts, tokens.length];
    for (let e = 0; e + 1 < bounds.length; e++) if (holdsSequence(tokens, bounds[e]!, bounds[e + 1]!, needle)) return true;
    return false;
  }
  const { exact, prefix } = filterTokens(filter, config);
  if (exact.length === 0 && prefix === undefined) return false;
  const held = new Set(tokenizerOf(config).tokenize(text));
  const hasPrefix = () => {
    for (const token of held) if (token.startsWith(prefix as string)) return true;
    return false;
  };
  if (filter.op === "ContainsAllTokens") return exact.every((t) => held.has(t)) && (prefix === undefined || hasPrefix());
  return exact.some((t) => held.has(t)) || (prefix !== undefined && hasPrefix());
}
