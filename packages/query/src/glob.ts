/**
 * Glob patterns of the Glob / IGlob filters: `*` any run, `?` one character,
 * `[abc]` / `[a-z]` / `[!abc]` / `[^abc]` classes, everything else literal.
 * Characters are Unicode code points and IGlob compares them under Unicode
 * simple case folding, exactly as the anchored RegExp `^…$` with flags `su` /
 * `isu` that this module used to build (a `]` right after `[` or `[!` is a
 * class member, an unclosed `[` is literal, a range written high-to-low is an
 * invalid pattern).
 *
 * Matching never backtracks. The pattern is split at its stars into
 * star-free segments, each matching a fixed number of code points. The first
 * segment is tried at the start of the value, the last at its end, and each
 * middle one is found, in order, at its leftmost place after the previous
 * one (the greedy choice is optimal because segments have fixed lengths),
 * with a bit-parallel Shift-And scan. A value of n code points against a
 * pattern is therefore matched in O(n · ⌈k/32⌉) steps, k being the longest
 * segment (at most MAX_GLOB_PATTERN_LENGTH), instead of the exponential time
 * a backtracking `.*a.*a.*…b` can take.
 *
 * Shared by the index-based filter plan and the per-document matcher, so a
 * query and a deleteByFilter never disagree about what a pattern matches.
 * Compiled patterns are cached (bounded).
 */
import { casedMatches, isCased } from "./case-fold.ts";
import { InvalidQueryError } from "./errors.ts";

/** Longest Glob / IGlob pattern accepted, in UTF-16 code units. */
export const MAX_GLOB_PATTERN_LENGTH = 1024;

export interface GlobMatcher {
  /** True when the whole of `value` matches the pattern. */
  test(value: string): boolean;
}

interface CharClass {
  /** Sorted, disjoint [lo, hi] code point ranges of the class body (before negation). */
  readonly ranges: readonly number[];
  readonly negate: boolean;
  /** IGlob only: the cased code points the body matches under case folding. */
  readonly cased: ReadonlySet<number> | null;
}

type Atom = { readonly kind: "any" } | { readonly kind: "literal"; readonly cp: number } | { readonly kind: "class"; readonly key: string; readonly cls: CharClass };

const STAR = Symbol("star");
const MASK_CACHE_LIMIT = 4096;
const REGEXP_SPECIAL = /[.*+?^${}()|[\]\\]/g;

const globCache = new Map<string, GlobMatcher>();

/** The compiled matcher of `pattern` (cached). Throws InvalidQueryError for an invalid pattern. */
export function globMatcher(pattern: string, ignoreCase: boolean): GlobMatcher {
  const cacheKey = `${ignoreCase ? "i" : "c"}${pattern}`;
  const cached = globCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const compiled = compile(pattern, ignoreCase);
  if (globCache.size > 1_000) globCache.clear();
  globCache.set(cacheKey, compiled);
  return compiled;
}

/** Why `pattern` is not a valid glob, or undefined when it is. */
/**
 * The literal text every value the case-sensitive pattern matches starts with: the pattern up to its first `*`,
 * `?` or `[` (a class, or an unclosed `[` kept short). Empty when the pattern starts with one.
 */
export function globLiteralPrefix(pattern: string): string {
  const at = pattern.search(/[*?[]/);
  return at < 0 ? pattern : pattern.slice(0, at);
}

export function globPatternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_GLOB_PATTERN_LENGTH) return `the pattern is ${pattern.length} characters long, the limit is ${MAX_GLOB_PATTERN_LENGTH}`;
  try {
    parse(pattern, false);
    return undefined;
  } catch (e) {
    if (e instanceof InvalidQueryError) return e.message;
    throw e;
  }
}

// ------------------------------------------------------------------ parsing

function parse(pattern: string, ignoreCase: boolean): (Atom | typeof STAR)[] {
  if (pattern.length > MAX_GLOB_PATTERN_LENGTH) {
    throw InvalidQueryError.at([], "schema", `a glob pattern is at most ${MAX_GLOB_PATTERN_LENGTH} characters long`);
  }
  const out: (Atom | typeof STAR)[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") out.push(STAR);
    else if (c === "?") out.push({ kind: "any" });
    else if (c === "[" && pattern.indexOf("]", i + 2) >= 0) {
      const end = pattern.indexOf("]", i + 2);
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      out.push({ kind: "class", key: `${negate ? "!" : "="}${body}`, cls: parseClass(body, negate, ignoreCase) });
      i = end;
    } else {
      const cp = pattern.codePointAt(i)!;
      if (cp > 0xffff) i++;
      out.push({ kind: "literal", cp });
    }
  }
  return out;
}

function parseClass(body: string, negate: boolean, ignoreCase: boolean): CharClass {
  const cps = Array.from(body, (ch) => ch.codePointAt(0)!);
  const pairs: [number, number][] = [];
  for (let k = 0; k < cps.length; ) {
    if (cps[k + 1] === 0x2d && k + 2 < cps.length) {
      const lo = cps[k]!;
      const hi = cps[k + 2]!;
      if (lo > hi) {
        throw InvalidQueryError.at([], "schema", `glob class range ${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)} is out of order`);
      }
      pairs.push([lo, hi]);
      k += 3;
    } else {
      pairs.push([cps[k]!, cps[k]!]);
      k++;
    }
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const ranges: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = ranges.length - 1;
    if (last > 0 && lo <= ranges[last]! + 1) ranges[last] = Math.max(ranges[last]!, hi);
    else ranges.push(lo, hi);
  }
  const cased = ignoreCase && body.length > 0 ? new Set(casedMatches(`[${body.replace(/[\\\]]/g, "\\$&")}]`)) : ignoreCase ? new Set<number>() : null;
  return { ranges, negate, cased };
}

function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]!) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

function classAccepts(cls: CharClass, cp: number): boolean {
  const member = cls.cased !== null && isCased(cp) ? cls.cased.has(cp) : inRanges(cls.ranges, cp);
  return member !== cls.negate;
}

// ------------------------------------------------------------------ segments

/** A star-free run of atoms, each matching exactly one code point, with its Shift-And masks. */
class Segment {
  readonly length: number;
  private readonly words: number;
  private readonly anyMask: Uint32Array;
  private readonly literalMasks = new Map<number, Uint32Array>();
  private readonly classes: { readonly cls: CharClass; readonly bits: Uint32Array }[] = [];
  private readonly masks = new Map<number, Uint32Array>();

  constructor(atoms: readonly Atom[], ignoreCase: boolean) {
    this.length = atoms.length;
    this.words = Math.max(1, Math.ceil(atoms.length / 32));
    this.anyMask = new Uint32Array(this.words);
    const byKey = new Map<string, { cls: CharClass; bits: Uint32Array }>();
    atoms.forEach((atom, j) => {
      const w = j >>> 5;
      const bit = 1 << (j & 31);
      if (atom.kind === "any") this.anyMask[w]! |= bit;
      else if (atom.kind === "class") {
        let entry = byKey.get(atom.key);
        if (entry === undefined) {
          entry = { cls: atom.cls, bits: new Uint32Array(this.words) };
          byKey.set(atom.key, entry);
          this.classes.push(entry);
        }
        entry.bits[w]! |= bit;
      } else {
        const members =
          ignoreCase && isCased(atom.cp) ? casedMatches(String.fromCodePoint(atom.cp).replace(REGEXP_SPECIAL, "\\$&")) : [atom.cp];
        for (const cp of members) {
          let m = this.literalMasks.get(cp);
          if (m === undefined) {
            m = new Uint32Array(this.words);
            this.literalMasks.set(cp, m);
          }
          m[w]! |= bit;
        }
      }
    });
  }

  /** Bit j set when atom j accepts code point `cp`. */
  mask(cp: number): Uint32Array {
    const cached = this.masks.get(cp);
    if (cached !== undefined) return cached;
    const m = this.anyMask.slice();
    const literal = this.literalMasks.get(cp);
    if (literal !== undefined) for (let w = 0; w < m.length; w++) m[w]! |= literal[w]!;
    for (const { cls, bits } of this.classes) {
      if (classAccepts(cls, cp)) for (let w = 0; w < m.length; w++) m[w]! |= bits[w]!;
    }
    if (this.masks.size >= MASK_CACHE_LIMIT) this.masks.clear();
    this.masks.set(cp, m);
    return m;
  }

  /** Where this segment ends when matched at UTF-16 index `at` of `s`, or -1. */
  matchAt(s: string, at: number): number {
    let i = at;
    for (let j = 0; j < this.length; j++) {
      if (i >= s.length) return -1;
      const cp = s.codePointAt(i)!;
      if ((this.mask(cp)[j >>> 5]! & (1 << (j & 31))) === 0) return -1;
      i += cp > 0xffff ? 2 : 1;
    }
    return i;
  }

  /** The end of the leftmost occurrence inside s[from, limit), or -1 (Shift-And, one pass). */
  search(s: string, from: number, limit: number): number {
    const last = this.length - 1;
    const topWord = last >>> 5;
    const topBit = 1 << (last & 31);
    if (this.words === 1) {
      let d = 0;
      for (let i = from; i < limit; ) {
        const cp = s.codePointAt(i)!;
        i += cp > 0xffff ? 2 : 1;
        d = ((d << 1) | 1) & this.mask(cp)[0]!;
        if ((d & topBit) !== 0) return i;
      }
      return -1;
    }
    const d = new Uint32Array(this.words);
    for (let i = from; i < limit; ) {
      const cp = s.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      const m = this.mask(cp);
      let carry = 1;
      for (let w = 0; w < d.length; w++) {
        const v = d[w]!;
        d[w] = ((v << 1) | carry) & m[w]!;
        carry = v >>> 31;
      }
      if ((d[topWord]! & topBit) !== 0) return i;
    }
    return -1;
  }
}

/** The UTF-16 index `count` code points before `end` in `s`, or -1. */
function backUp(s: string, end: number, count: number): number {
  let i = end;
  for (let k = 0; k < count; k++) {
    if (i <= 0) return -1;
    const u = s.charCodeAt(i - 1);
    i -= u >= 0xdc00 && u <= 0xdfff && i >= 2 && isHighSurrogate(s.charCodeAt(i - 2)) ? 2 : 1;
  }
  return i;
}

function isHighSurrogate(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}

function compile(pattern: string, ignoreCase: boolean): GlobMatcher {
  const tokens = parse(pattern, ignoreCase);
  const runs: Atom[][] = [[]];
  for (const t of tokens) {
    if (t === STAR) runs.push([]);
    else runs[runs.length - 1]!.push(t);
  }
  const segments = runs.map((atoms) => new Segment(atoms, ignoreCase));
  const first = segments[0]!;
  if (segments.length === 1) return { test: (s) => first.matchAt(s, 0) === s.length };
  const lastSegment = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1).filter((seg) => seg.length > 0);
  return {
    test(s: string): boolean {
      let p = first.matchAt(s, 0);
      if (p < 0) return false;
      const q = backUp(s, s.length, lastSegment.length);
      if (q < p || lastSegment.matchAt(s, q) < 0) return false;
      for (const seg of middle) {
        p = seg.search(s, p, q);
        if (p < 0) return false;
      }
      return true;
    },
  };
}
