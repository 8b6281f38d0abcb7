/**
 * `patternMatcher(filter)`: the string test of a Glob, IGlob or Regex
 * filter, shared by the index-based filter plan, the per-document matcher
 * and the cold filter reader, so they never disagree about a value.
 */
import { globMatcher } from "./glob.ts";
import type { Filter } from "./query-request.ts";
import { regexMatcher } from "./regex.ts";

export type PatternFilter = Extract<Filter, { kind: "Glob" | "Regex" }>;

export interface PatternMatcher {
  test(value: string): boolean;
}

export function patternMatcher(filter: PatternFilter): PatternMatcher {
  return filter.kind === "Regex" ? regexMatcher(filter.pattern) : globMatcher(filter.pattern, filter.op === "IGlob");
}
