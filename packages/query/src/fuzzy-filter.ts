/**
 * The `Fuzzy` filter of text fields: `["field", "Fuzzy", "text",
 * {"maxEditDistance": [{"distance": d, "minQueryChars": c}, ...],
 * "caseSensitive"?: true}]` matches the documents whose field holds, for
 * every token of the operand (tokenized as the field's text is), a token
 * within the token's allowed edit distance of it.
 *
 * - The edit distance is Levenshtein's (insertions, deletions,
 *   substitutions of one code point each).
 * - A query token of L code points is allowed the distance of the entry
 *   with the largest `minQueryChars` <= L; a token shorter than every
 *   entry's `minQueryChars` matches nothing (so neither does the filter).
 *   `minQueryChars` is at least 3 * (distance + 1) (turbopuffer's rule);
 *   distances are 0 to 4. Default: [{0, 3}, {1, 6}, {2, 9}].
 * - `caseSensitive` (default true): false compares the lower-case forms
 *   (String.prototype.toLowerCase, locale-independent) of the tokens. A
 *   field whose tokenizer lower-cases already is case-insensitive anyway.
 * - An operand without tokens (empty, stop words only) matches nothing; at
 *   most 16 distinct tokens.
 *
 * Bounded time: the index-based plan walks the field's sorted vocabulary
 * once per query token as a trie (`forEachFuzzyTerm`): consecutive terms
 * share the dynamic program's rows of their common prefix, and a prefix
 * whose row exceeds the distance skips every term it begins (a binary
 * search; a path is cut L + d + 1 code points deep at the latest), so a
 * token of L code points costs at most O(vocabulary x L^2) and
 * usually a small part of it; never exponential. Case-insensitive filters
 * (lower-casing breaks the vocabulary's order) decide every term with a
 * banded program (`withinDistance`: 2d + 1 cells per row, abandoned as soon
 * as a row exceeds d), as does the per-document matcher (filter-match.ts).
 */
import { InvalidQueryError } from "./errors.ts";
import type { Filter } from "./query-request.ts";
import { tokenizerOf } from "./token-filter.ts";
import type { ResolvedTokenizerConfig } from "./tokenizer.ts";
import { lowerBound, type StringTable } from "./string-table.ts";

export type FuzzyFilter = Extract<Filter, { kind: "Fuzzy" }>;

export interface FuzzyDistance {
  readonly distance: number;
  readonly minQueryChars: number;
}

export const DEFAULT_FUZZY_DISTANCES: readonly FuzzyDistance[] = [
  { distance: 0, minQueryChars: 3 },
  { distance: 1, minQueryChars: 6 },
  { distance: 2, minQueryChars: 9 },
];
export const MAX_FUZZY_DISTANCE = 4;
export const MAX_FUZZY_TOKENS = 16;

/** A query token: its code points (folded when case-insensitive) and its allowed distance. */
export interface FuzzyToken {
  readonly codes: Uint32Array;
  readonly distance: number;
}

export function codePoints(text: string): Uint32Array {
  const out: number[] = [];
  for (const ch of text) out.push(ch.codePointAt(0)!);
  return Uint32Array.from(out);
}

let scratchCodes = new Uint32Array(64);

/** `text`'s code points in a shared scratch buffer: valid until the next call (the vocabulary walk decodes one term at a time). */
export function scratchCodePoints(text: string): Uint32Array {
  if (scratchCodes.length < text.length) scratchCodes = new Uint32Array(text.length * 2);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        scratchCodes[n++] = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        continue;
      }
    }
    scratchCodes[n++] = c;
  }
  return scratchCodes.subarray(0, n);
}

let scratchPrev = new Int32Array(64);
let scratchCur = new Int32Array(64);

/**
 * The operand's distinct tokens with their distances under `config`, or
 * undefined when the filter matches nothing (no token, or a token shorter
 * than every threshold).
 */
export function fuzzyTokens(filter: FuzzyFilter, config: ResolvedTokenizerConfig): FuzzyToken[] | undefined {
  const tokens = [...new Set(tokenizerOf(config).tokenize(filter.query))];
  if (tokens.length === 0) return undefined;
  if (tokens.length > MAX_FUZZY_TOKENS) {
    throw InvalidQueryError.at([...filter.path, 2], "schema", `Fuzzy takes at most ${MAX_FUZZY_TOKENS} distinct tokens, got ${tokens.length}`);
  }
  const out: FuzzyToken[] = [];
  for (const token of tokens) {
    const codes = codePoints(filter.caseSensitive ? token : token.toLowerCase());
    let distance = -1;
    for (const entry of filter.distances) if (entry.minQueryChars <= codes.length) distance = entry.distance;
    if (distance < 0) return undefined;
    out.push({ codes, distance });
  }
  return out;
}

/** True when the Levenshtein distance of `a` and `b` is at most `d` (banded, early exit). */
export function withinDistance(a: Uint32Array, b: Uint32Array, d: number): boolean {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > d) return false;
  if (d === 0) {
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  const big = d + 1;
  // prev[j] = distance of a[0, i) and b[0, j), only for |i - j| <= d; other cells are "more than d".
  if (scratchPrev.length < m + 1) {
    scratchPrev = new Int32Array((m + 1) * 2);
    scratchCur = new Int32Array((m + 1) * 2);
  }
  let prev = scratchPrev;
  let cur = scratchCur;
  for (let j = 0; j <= m; j++) prev[j] = j <= d ? j : big;
  for (let i = 1; i <= n; i++) {
    const from = Math.max(1, i - d);
    const to = Math.min(m, i + d);
    cur.fill(big, 0, m + 1);
    cur[0] = i <= d ? i : big;
    let rowMin = cur[0]!;
    const ai = a[i - 1];
    for (let j = from; j <= to; j++) {
      const sub = prev[j - 1]! + (ai === b[j - 1] ? 0 : 1);
      const del = prev[j]! + 1;
      const ins = cur[j - 1]! + 1;
      const v = Math.min(sub, del, ins, big);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > d) return false;
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[m]! <= d;
}

/**
 * Calls `out(t)` for every term of the sorted vocabulary within `token`'s
 * distance of it, ascending: a depth-first walk of the vocabulary's implicit
 * trie (FuzzyTermWalk), jumping past the terms a pruned prefix begins (a
 * binary search). Case-sensitive only (lower-casing would not keep the
 * vocabulary's order).
 */
export function forEachFuzzyTerm(terms: StringTable, token: FuzzyToken, out: (t: number) => void): void {
  const walk = new FuzzyTermWalk(token);
  const T = terms.length;
  let t = 0;
  while (t < T) {
    const step = walk.visit(terms.get(t));
    if (typeof step === "string") t = Math.max(t + 1, lowerBound(terms, step));
    else {
      if (step) out(t);
      t++;
    }
  }
}

/**
 * The walk of a sorted vocabulary for one query token, a term at a time,
 * shared by the loaded plan (forEachFuzzyTerm) and the cold reader
 * (cold-fuzzy.ts, which reads the vocabulary in blocks). Consecutive terms
 * share the dynamic program's rows of their common prefix (one row of
 * |token| + 1 cells per further code point), and when a whole row exceeds
 * the distance no term with that prefix can match.
 */
export class FuzzyTermWalk {
  readonly #q: Uint32Array;
  readonly #n: number;
  readonly #d: number;
  /** rows[k]: the program's row after the current path's first k code points; offsets[k]: their UTF-16 length. */
  readonly #rows: Int32Array[];
  readonly #offsets: number[] = [0];
  #depth = 0;
  #path = "";

  constructor(token: FuzzyToken) {
    this.#q = token.codes;
    this.#n = token.codes.length;
    this.#d = token.distance;
    this.#rows = [Int32Array.from({ length: this.#n + 1 }, (_, j) => j)];
  }

  /**
   * The next term to decide, each visited term after the one before it in the vocabulary (or after a jump): true
   * when it is within the distance, false when not (go on with the next term), or a string when no term from this
   * one up to that string's lower bound (exclusive) can be: the walk goes on at the first term not below it.
   */
  visit(term: string): boolean | string {
    const q = this.#q;
    const n = this.#n;
    const rows = this.#rows;
    const offsets = this.#offsets;
    const path = this.#path;
    const limit = Math.min(term.length, path.length);
    let common = 0;
    while (common < limit && term.charCodeAt(common) === path.charCodeAt(common)) common++;
    let depth = this.#depth;
    while (offsets[depth]! > common) depth--;
    this.#path = term;
    let pos = offsets[depth]!;
    while (pos < term.length) {
      let c = term.charCodeAt(pos);
      let width = 1;
      if (c >= 0xd800 && c < 0xdc00 && pos + 1 < term.length) {
        const low = term.charCodeAt(pos + 1);
        if (low >= 0xdc00 && low < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          width = 2;
        }
      }
      const prev = rows[depth]!;
      let cur = rows[depth + 1];
      if (cur === undefined) rows.push((cur = new Int32Array(n + 1)));
      cur[0] = depth + 1;
      let min = cur[0];
      for (let j = 1; j <= n; j++) {
        const v = Math.min(prev[j - 1]! + (q[j - 1] === c ? 0 : 1), prev[j]! + 1, cur[j - 1]! + 1);
        cur[j] = v;
        if (v < min) min = v;
      }
      depth++;
      pos += width;
      offsets[depth] = pos;
      if (min > this.#d) {
        this.#depth = depth;
        // No term starting with term[0, pos) is within the distance: jump past them.
        const last = term.charCodeAt(pos - 1);
        return last === 0xffff ? false : term.slice(0, pos - 1) + String.fromCharCode(last + 1);
      }
    }
    this.#depth = depth;
    return rows[depth]![n]! <= this.#d;
  }
}

/** True when some token of `terms` is within `token`'s distance of it (terms as code points, folded alike). */
export function fuzzyHolds(token: FuzzyToken, term: Uint32Array): boolean {
  return withinDistance(token.codes, term, token.distance);
}

/** True when `text` (a document's field; undefined when absent) matches `filter`. */
export function textMatchesFuzzy(filter: FuzzyFilter, text: string | undefined, config: ResolvedTokenizerConfig): boolean {
  if (text === undefined) return false;
  const tokens = fuzzyTokens(filter, config);
  if (tokens === undefined) return false;
  const held = [...new Set(tokenizerOf(config).tokenize(text))].map((t) => codePoints(filter.caseSensitive ? t : t.toLowerCase()));
  return tokens.every((token) => held.some((term) => fuzzyHolds(token, term)));
}
