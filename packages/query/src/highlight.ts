/**
 * `["Highlight", field, {...}]` computed attributes: the fragments of a
 * returned row's stored string value (or each string of a []string value)
 * where the query's terms occur, best first.
 *
 * - The value is split into fragments (`fragmentBy`): "sentence" (the
 *   default: text up to `.`, `!` or `?` followed by white space or the end,
 *   and up to each line break), "paragraph" (text between line breaks),
 *   "word" (each token) or "none" (the whole value). Fragments are trimmed
 *   of white space; empty ones are dropped.
 * - Tokens are the field's: the same tokenizer, case and ASCII folding, stop
 *   words and stemming as its full-text index (tokenizer.ts), so the
 *   highlighted words are those BM25 and the token filters match.
 * - Fragments are scored by `rank`, an expression of BM25 clauses over the
 *   fragment (`["$fragment", "BM25", query]`, `lastAsPrefix` allowed) with
 *   `Sum`, `Max` and `Product`: BM25 with the row's fragments as the corpus
 *   (their count, average length and each term's fragment frequency) and the
 *   field's k1 and b. Fragments scoring 0 are dropped; the rest are ordered
 *   by score, then array index, then position; the first `fragmentLimit`
 *   (default 3, at most 1,024) are answered.
 * - A fragment is `{text}`; with `includeOffsets` ("utf-8", "utf-16" or
 *   "codepoints") also `fragmentRange` [start, end) and `matchRanges` (each
 *   token of the fragment that is a query term or starts with a
 *   `lastAsPrefix` prefix), offsets into the string value (the array
 *   element), and `arrayIndex` for a []string value.
 * - A row without a string value (missing, null, another type) has `[]`;
 *   so does one without any matching fragment. Non-string elements of an
 *   array are skipped (their index still counts).
 *
 * Bounded work: each string is examined up to its first 1,048,576 UTF-16
 * units (MAX_HIGHLIGHT_CHARS; the rest is not highlighted), a value's
 * strings up to 4,194,304 units together; everything is linear in that
 * (one tokenizer pass, one pass assigning tokens to fragments, one scoring
 * pass over each fragment's tokens, offsets converted with one prefix
 * table per string).
 */
import type { JsonValue } from "./query-document.ts";
import type { TextExpr } from "./query-request.ts";
import { type ResolvedTokenizerConfig, Tokenizer } from "./tokenizer.ts";

export type FragmentBy = "none" | "sentence" | "paragraph" | "word";
export type OffsetUnits = "utf-8" | "utf-16" | "codepoints";

/** The attribute name a fragment's BM25 clauses name. */
export const FRAGMENT_FIELD = "$fragment";
export const DEFAULT_FRAGMENT_LIMIT = 3;
export const MAX_FRAGMENT_LIMIT = 1024;
/** UTF-16 units of one string examined. */
export const MAX_HIGHLIGHT_CHARS = 1 << 20;
/** UTF-16 units of one value's strings examined together. */
export const MAX_HIGHLIGHT_VALUE_CHARS = 1 << 22;

export interface HighlightSpec {
  /** The text field whose options tokenize, and the attribute whose value is highlighted. */
  readonly field: string;
  /** How fragments are scored: BM25 clauses over FRAGMENT_FIELD, Sum, Max, Product. */
  readonly rank: TextExpr;
  readonly fragmentBy: FragmentBy;
  readonly fragmentLimit: number;
  readonly includeOffsets?: OffsetUnits | undefined;
}

export interface HighlightFragment {
  readonly text: string;
  readonly fragmentRange?: readonly [number, number];
  readonly matchRanges?: readonly (readonly [number, number])[];
  readonly arrayIndex?: number;
}

interface Token {
  readonly token: string;
  readonly start: number;
  readonly end: number;
}

interface Fragment {
  readonly input: number;
  readonly start: number;
  readonly end: number;
  /** Its tokens: [from, to) in its input's token list. */
  readonly from: number;
  readonly to: number;
  score: number;
}

const tokenizers = new WeakMap<ResolvedTokenizerConfig, Tokenizer>();

function tokenizerOf(config: ResolvedTokenizerConfig): Tokenizer {
  let tokenizer = tokenizers.get(config);
  if (tokenizer === undefined) tokenizers.set(config, (tokenizer = new Tokenizer(config)));
  return tokenizer;
}

/** The BM25 leaves of a fragment ranking. */
function leavesOf(rank: TextExpr, out: Extract<TextExpr, { op: "bm25" }>[] = []): Extract<TextExpr, { op: "bm25" }>[] {
  if (rank.op === "bm25") out.push(rank);
  else if (rank.op === "Sum" || rank.op === "Max") for (const a of rank.args) leavesOf(a, out);
  else if (rank.op === "Product") leavesOf(rank.arg, out);
  return out;
}

const WHITE = /\s/u;

/** `[start, end)` trimmed of white space, or undefined when nothing is left. */
function trimmed(text: string, start: number, end: number): [number, number] | undefined {
  while (start < end && WHITE.test(text[start] as string)) start++;
  while (end > start && WHITE.test(text[end - 1] as string)) end--;
  return start < end ? [start, end] : undefined;
}

function isBreak(c: string): boolean {
  return c === "\n" || c === "\r" || c === "\u2028" || c === "\u2029";
}

/** Sentence or paragraph spans of `text` (trimmed, not empty). */
function spans(text: string, by: "sentence" | "paragraph"): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  const push = (end: number, next: number) => {
    const span = trimmed(text, start, end);
    if (span !== undefined) out.push(span);
    start = next;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (isBreak(c)) push(i, i + 1);
    else if (by === "sentence" && (c === "." || c === "!" || c === "?") && (i + 1 === text.length || WHITE.test(text[i + 1] as string))) push(i + 1, i + 1);
  }
  push(text.length, text.length);
  return out;
}

/** Offsets of a string in `units`, from UTF-16 offsets (a prefix table, built once per string). */
function offsetConverter(text: string, units: OffsetUnits): (utf16: number) => number {
  if (units === "utf-16") return (i) => i;
  const table = new Uint32Array(text.length + 1);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    table[i] = n;
    const c = text.charCodeAt(i);
    const high = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (high) {
      // A surrogate pair: one code point, four UTF-8 bytes; the low half has the same offset.
      n += units === "utf-8" ? 4 : 1;
      table[++i] = table[i - 1] as number;
      continue;
    }
    n += units === "codepoints" ? 1 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
  }
  table[text.length] = n;
  return (i) => table[i] as number;
}

/** The highlight of one row's stored value. */
export function highlightValue(value: JsonValue | undefined, spec: HighlightSpec, config: ResolvedTokenizerConfig): HighlightFragment[] {
  const isArray = Array.isArray(value);
  const raw: (string | undefined)[] = typeof value === "string" ? [value] : isArray ? value.map((v) => (typeof v === "string" ? v : undefined)) : [];
  if (raw.length === 0) return [];
  const tokenizer = tokenizerOf(config);
  let budget = MAX_HIGHLIGHT_VALUE_CHARS;
  const inputs = raw.map((s) => {
    if (s === undefined || budget <= 0) return undefined;
    let cap = Math.min(s.length, MAX_HIGHLIGHT_CHARS, budget);
    // Never split a surrogate pair.
    if (cap < s.length && cap > 0 && (s.charCodeAt(cap - 1) & 0xfc00) === 0xd800) cap--;
    budget -= cap;
    return cap === s.length ? s : s.slice(0, cap);
  });

  // Tokens and fragments of every string, in order.
  const tokens: Token[][] = [];
  const fragments: Fragment[] = [];
  inputs.forEach((text, input) => {
    const list: Token[] = [];
    tokens.push(list);
    if (text === undefined) return;
    tokenizer.forEachWordAt(text, (word, start, end) => {
      const token = tokenizer.normalize(word);
      if (token !== null) list.push({ token, start, end });
    });
    let ranges: [number, number][];
    if (spec.fragmentBy === "word") {
      list.forEach((t, k) => {
        fragments.push({ input, start: t.start, end: t.end, from: k, to: k + 1, score: 0 });
      });
      return;
    }
    if (spec.fragmentBy === "none") ranges = text.length === 0 ? [] : [[0, text.length]];
    else ranges = spans(text, spec.fragmentBy);
    // Tokens lie inside one fragment each, or between fragments (never across: fragments end at white space or a break).
    let k = 0;
    for (const [start, end] of ranges) {
      while (k < list.length && (list[k] as Token).start < start) k++;
      const from = k;
      while (k < list.length && (list[k] as Token).end <= end) k++;
      fragments.push({ input, start, end, from, to: k, score: 0 });
    }
  });
  if (fragments.length === 0) return [];

  // The query's terms per clause: exact tokens and an optional prefix.
  const leaves = leavesOf(spec.rank);
  const clauses = leaves.map((leaf) => {
    const all = tokenizer.tokenize(leaf.query);
    const prefix = leaf.lastAsPrefix ? all.pop() : undefined;
    return { leaf, exact: new Set(all), prefix };
  });
  const matches = (clause: (typeof clauses)[number], token: string) => clause.exact.has(token) || (clause.prefix !== undefined && token.startsWith(clause.prefix));

  // BM25 over the row's fragments: each clause's term counts per fragment (a token matching a prefix is its own term).
  const n = fragments.length;
  let totalLength = 0;
  for (const f of fragments) totalLength += f.to - f.from;
  const avgdl = totalLength / n;
  const { k1, b } = config;
  const clauseScores = clauses.map((clause) => {
    const perFragment: Map<string, number>[] = [];
    const df = new Map<string, number>();
    for (const f of fragments) {
      const tf = new Map<string, number>();
      const list = tokens[f.input] as Token[];
      for (let k = f.from; k < f.to; k++) {
        const t = (list[k] as Token).token;
        if (matches(clause, t)) tf.set(t, (tf.get(t) ?? 0) + 1);
      }
      for (const t of tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
      perFragment.push(tf);
    }
    return fragments.map((f, i) => {
      let score = 0;
      const len = f.to - f.from;
      for (const [t, tf] of perFragment[i] as Map<string, number>) {
        const d = df.get(t) as number;
        const idf = Math.log(1 + (n - d + 0.5) / (d + 0.5));
        score += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (avgdl === 0 ? 0 : (b * len) / avgdl)));
      }
      return score;
    });
  });
  const leafIndex = new Map(leaves.map((leaf, i) => [leaf, i]));
  const evaluate = (e: TextExpr, i: number): number => {
    switch (e.op) {
      case "bm25":
        return (clauseScores[leafIndex.get(e) as number] as number[])[i] as number;
      case "Sum":
        return e.args.reduce((s, a) => s + evaluate(a, i), 0);
      case "Max":
        return e.args.reduce((m, a) => Math.max(m, evaluate(a, i)), Number.NEGATIVE_INFINITY);
      case "Product":
        return e.weight * evaluate(e.arg, i);
      default:
        return 0;
    }
  };
  fragments.forEach((f, i) => {
    f.score = evaluate(spec.rank, i);
  });
  const kept = fragments.filter((f) => Number.isFinite(f.score) && f.score > 0);
  kept.sort((x, y) => y.score - x.score || x.input - y.input || x.start - y.start);
  kept.length = Math.min(kept.length, spec.fragmentLimit);

  const units = spec.includeOffsets;
  const converters = new Map<number, (i: number) => number>();
  return kept.map((f): HighlightFragment => {
    const text = inputs[f.input] as string;
    const out: { text: string; fragmentRange?: [number, number]; matchRanges?: [number, number][]; arrayIndex?: number } = { text: text.slice(f.start, f.end) };
    if (units === undefined) return out;
    let at = converters.get(f.input);
    if (at === undefined) converters.set(f.input, (at = offsetConverter(text, units)));
    out.fragmentRange = [at(f.start), at(f.end)];
    const list = tokens[f.input] as Token[];
    const ranges: [number, number][] = [];
    for (let k = f.from; k < f.to; k++) {
      const t = list[k] as Token;
      if (clauses.some((c) => matches(c, t.token))) ranges.push([at(t.start), at(t.end)]);
    }
    out.matchRanges = ranges;
    if (isArray) out.arrayIndex = f.input;
    return out;
  });
}
