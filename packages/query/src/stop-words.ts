/**
 * The built-in English stop word list (`stopWords: "english"`), the classic
 * Lucene/Elasticsearch `_english_` set. Frozen: indexes record the resolved
 * list, so changing it would not change existing indexes anyway.
 */
export const ENGLISH_STOP_WORDS: readonly string[] = Object.freeze([
  "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
  "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
]);
