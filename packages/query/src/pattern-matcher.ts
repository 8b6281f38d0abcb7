/**
 * `patternMatcher(filter)`: the string test of a Glob, IGlob, Regex or
 * FuzzySubstring filter, shared by the index-based filter plan, the
 * per-document matcher and the cold filter reader, so they never disagree
 * about a value.
 */
import { fuzzySubstringMatcher } from "./fuzzy-substring.ts";
import { globMatcher } from "./glob.ts";
import type { Filter } from "./query-request.ts";
import { regexMatcher } from "./regex.ts";

export type PatternFilter = Extract<Filter, { kind: "Glob" | "Regex" | "FuzzySubstring" }>;

export interface PatternMatcher {
  test(value: string): boolean;
}

export function patternMatcher(filter: PatternFilter): PatternMatcher {
  if (filter.kind === "FuzzySubstring") return fuzzySubstringMatcher(filter);
  return filter.kind === "Regex" ? regexMatcher(filter.pattern) : globMatcher(filter.pattern, filter.op === "IGlob");
}
