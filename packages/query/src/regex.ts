/**
 * Regular expressions of the Regex filter, matched in linear time.
 *
 * Patterns use RE2 syntax (re2js, a JavaScript port of RE2): no
 * backreferences or lookarounds, so matching a value of n characters takes
 * O(n · m) steps at worst for a pattern of m instructions, never the
 * exponential time a backtracking engine can take on `(a+)+$`. A pattern
 * matches a value when it matches anywhere in it (anchor with `^…$` for the
 * whole value); flags go inline, `(?i)` for case-insensitive matching.
 * Repeat counts are at most 1,000 (RE2's rule) and patterns at most
 * MAX_REGEX_PATTERN_LENGTH code units, which bounds the compiled program.
 *
 * re2js is loaded on first use (Node's require of its CommonJS build), so a
 * process that never filters by a regex does not pay for importing it.
 * Compiled patterns are cached (bounded).
 */
import { createRequire } from "node:module";
import type * as Re2 from "re2js";

/** Longest Regex pattern accepted, in UTF-16 code units. */
export const MAX_REGEX_PATTERN_LENGTH = 1024;

export interface RegexMatcher {
  /** True when the pattern matches somewhere in `value`. */
  test(value: string): boolean;
}

let loaded: typeof Re2 | undefined;
const re2 = (): typeof Re2 => {
  loaded ??= createRequire(import.meta.url)("re2js") as typeof Re2;
  return loaded;
};

const cache = new Map<string, RegexMatcher>();
const CACHE_LIMIT = 1_000;

function compile(pattern: string): RegexMatcher {
  const compiled = re2().RE2JS.compile(pattern);
  return { test: (value) => compiled.test(value) };
}

/** Why `pattern` is not a valid Regex pattern, or undefined when it is. */
export function regexPatternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_PATTERN_LENGTH) return `longer than ${MAX_REGEX_PATTERN_LENGTH} characters`;
  if (cache.has(pattern)) return undefined;
  try {
    remember(pattern, compile(pattern));
    return undefined;
  } catch (error) {
    if (error instanceof re2().RE2JSException) return error.message.replace(/^error parsing regexp: /, "");
    throw error;
  }
}

function remember(pattern: string, matcher: RegexMatcher): void {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, matcher);
}

/** The compiled matcher of a valid `pattern` (see regexPatternProblem; cached). */
export function regexMatcher(pattern: string): RegexMatcher {
  let matcher = cache.get(pattern);
  if (matcher === undefined) remember(pattern, (matcher = compile(pattern)));
  return matcher;
}
