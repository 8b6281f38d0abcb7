/**
 * The token filters of text fields: `ContainsAllTokens` (the field holds
 * every token of the operand) and `ContainsAnyToken` (at least one).
 *
 * The operand is a string, tokenized as the field's text is (tokenizer.ts),
 * or a list of strings, each tokenized the same way. With `lastAsPrefix`
 * the operand's last token matches every token that starts with it (type-
 * ahead search). An operand without tokens (empty, or only stop words)
 * matches nothing. A document without the text field never matches.
 *
 * Shared by the index-based plan (postings of the field's inverted index:
 * intersection or union, a prefix as the union of a range of the sorted
 * vocabulary) and the per-document matcher, which tokenize alike.
 */
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

/** True when `text` (a document's field; undefined when absent) matches `filter`. */
export function textMatchesTokens(filter: TokenFilter, text: string | undefined, config: ResolvedTokenizerConfig): boolean {
  if (text === undefined) return false;
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
