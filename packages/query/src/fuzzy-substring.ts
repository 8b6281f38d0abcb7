/**
 * The `FuzzySubstring` filter of string attributes: `["attr",
 * "FuzzySubstring", "text", {"maxEditDistance": [{"distance": d,
 * "minQueryChars": c}, ...], "caseSensitive"?: true}]` matches the
 * documents whose string value contains a substring within the text's
 * allowed edit distance of the text (turbopuffer's `Fuzzy`: "fuzzy
 * substring match against string attribute values").
 *
 * - The edit distance is Levenshtein's (insertions, deletions,
 *   substitutions of one code point each), between the whole text and some
 *   substring of the value (any start, any end).
 * - The text of L code points is allowed the distance of the entry with the
 *   largest `minQueryChars` <= L; a text shorter than every entry's
 *   `minQueryChars` matches nothing. The entries follow the `Fuzzy` filter's
 *   rules (fuzzy-filter.ts; default [{0, 3}, {1, 6}, {2, 9}]).
 * - `caseSensitive` (default true): false compares the lower-case forms
 *   (String.prototype.toLowerCase, locale-independent).
 * - The value is the attribute's string (not the elements of an array, not
 *   numbers); `id` is not a string attribute here.
 *
 * Approximate substring matching (Sellers): one row of |text| + 1 cells per
 * code point of the value, the row's first cell 0 (a match may start
 * anywhere), the value matching as soon as the last cell is <= d, so a
 * value costs O(|value| x |text|). Exact (every distinct value of a
 * partition's dictionary is tested once, like Glob and Regex: the pattern
 * machinery of pattern-matcher.ts).
 */
import type { Filter } from "./query-request.ts";
import { codePoints } from "./fuzzy-filter.ts";

export type FuzzySubstringFilter = Extract<Filter, { kind: "FuzzySubstring" }>;

/** Longest text in code points (the program's row length). */
export const MAX_FUZZY_SUBSTRING_CHARS = 256;

let row = new Int32Array(64);

/** True when some substring of `value` is within Levenshtein distance `d` of `text` (both as code points). */
export function fuzzySubstringWithin(text: Uint32Array, value: Uint32Array, d: number): boolean {
  const m = text.length;
  if (m <= d) return true; // deleting the whole text reaches the empty substring
  if (row.length < m + 1) row = new Int32Array((m + 1) * 2);
  // row[i] = least distance of text[0, i) to a substring of value ending at the current position.
  for (let i = 0; i <= m; i++) row[i] = i;
  for (let j = 0; j < value.length; j++) {
    const c = value[j];
    let diagonal = 0; // row[0] of the previous column: a match may start anywhere
    let left = 0;
    for (let i = 1; i <= m; i++) {
      const up = row[i]!;
      const v = Math.min(diagonal + (text[i - 1] === c ? 0 : 1), up + 1, left + 1);
      diagonal = up;
      row[i] = v;
      left = v;
    }
    if (row[m]! <= d) return true;
  }
  return false;
}

/** The string test of a FuzzySubstring filter (the text folded and its distance resolved once). */
export function fuzzySubstringMatcher(filter: FuzzySubstringFilter): { test(value: string): boolean } {
  const text = codePoints(filter.caseSensitive ? filter.query : filter.query.toLowerCase());
  let distance = -1;
  for (const entry of filter.distances) if (entry.minQueryChars <= text.length) distance = entry.distance;
  if (distance < 0) return { test: () => false };
  return { test: (value) => fuzzySubstringWithin(text, codePoints(filter.caseSensitive ? value : value.toLowerCase()), distance) };
}
