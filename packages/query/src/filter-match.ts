/**
 * `matchesFilter(doc, filter)`: evaluates a parsed query `Filter` against one
 * document, with exactly the semantics of the filter plan over a query index
 * (filter-plan.ts), for callers that hold documents rather than an index
 * (the namespace engine's deleteByFilter / patchByFilter resolve their
 * targets with it over a materialized snapshot).
 *
 * Semantics (as in filter-plan.ts):
 * - `id` is the document id for Eq / NotEq / ranges / In / NotIn / Glob /
 *   Exists (always present); any other field is a top-level attribute.
 * - Eq / Lt / ... compare scalars of the same type only (numbers with
 *   numbers, strings by UTF-16 code unit order, booleans by Eq only); an
 *   array never equals a scalar; ranges never match booleans.
 * - NotEq = Not Eq and NotIn = Not In, so documents without the attribute
 *   match them.
 * - Glob / IGlob match string values (`*`, `?`, `[...]`, `[!...]`); Regex
 *   matches string values in which its RE2 pattern is found (regex.ts).
 * - AnyLt / AnyLte / AnyGt / AnyGte: some scalar element of an array value
 *   of the operand's type compares (numbers by value, strings by UTF-16
 *   code units).
 * - ContainsAllTokens / ContainsAnyToken look at a text field's tokens
 *   (token-filter.ts), under `options.textConfig` (the namespace's current
 *   full-text options) or the default config.
 * - Fuzzy: every operand token has a text field token within its edit
 *   distance (fuzzy-filter.ts).
 * - ContainsAny / ContainsAll look at the scalar elements of an array value
 *   (numbers by value, so 1 and 1.0 are one element); ContainsAll [] matches
 *   every array value, ContainsAny [] matches nothing.
 * - Exists = present and not null.
 * The test `filter-match.test.ts` checks this against the index-based plan
 * on random documents and filters.
 */
import { sameNumber } from "./exact-number.ts";
import { elementKey } from "./attribute-columns.ts";
import type { JsonValue, QueryDocument } from "./query-document.ts";
import type { Filter, Scalar } from "./query-request.ts";
import { patternMatcher } from "./pattern-matcher.ts";
import { textMatchesTokens } from "./token-filter.ts";
import { textMatchesFuzzy } from "./fuzzy-filter.ts";
import { type ResolvedTokenizerConfig, resolveTokenizerConfig } from "./tokenizer.ts";
import { ownValue } from "./own-property.ts";

/** Text fields without a given configuration are tokenized with the default one. */
const DEFAULT_TOKENIZER = resolveTokenizerConfig();

export interface MatchOptions {
  /** The tokenizer config of a text field (the namespace's full-text options); default the default config. */
  readonly textConfig?: ((field: string) => ResolvedTokenizerConfig | undefined) | undefined;
}

function attribute(doc: QueryDocument, field: string): JsonValue | undefined {
  return ownValue(doc.attributes, field);
}

function equals(doc: QueryDocument, field: string, value: Scalar): boolean {
  if (field === "id") return typeof value === "string" && doc.id === value;
  const v = attribute(doc, field);
  if (isNumeric(v) && isNumeric(value)) return sameNumber(v, value);
  return v !== null && typeof v === typeof value && v === value;
}

function isNumeric(v: unknown): v is number | bigint {
  return typeof v === "number" || typeof v === "bigint";
}

/** Same kind of operand: both strings, or both numbers (a bigint and a number compare exactly). */
function sameKind(a: unknown, b: unknown): boolean {
  return typeof a === typeof b || (isNumeric(a) && isNumeric(b));
}

function inRange(x: string | number | bigint, op: "Lt" | "Lte" | "Gt" | "Gte", value: string | number | bigint): boolean {
  switch (op) {
    case "Lt":
      return x < value;
    case "Lte":
      return x <= value;
    case "Gt":
      return x > value;
    case "Gte":
      return x >= value;
  }
}

function compare(doc: QueryDocument, field: string, op: "Lt" | "Lte" | "Gt" | "Gte", value: Scalar): boolean {
  if (typeof value === "boolean") return false;
  const v: unknown = field === "id" ? doc.id : attribute(doc, field);
  if (field === "id" && typeof value !== "string") return false;
  if (!sameKind(v, value)) return false;
  return inRange(v as string | number | bigint, op, value);
}

function contains(doc: QueryDocument, field: string, values: readonly Scalar[], all: boolean): boolean {
  const v = attribute(doc, field);
  if (!Array.isArray(v)) return false;
  if (values.length === 0) return all;
  const present = new Set<string>();
  for (const element of v) {
    const key = elementKey(element);
    if (key !== null) present.add(key);
  }
  if (all) return values.every((value) => present.has(elementKey(value) as string));
  return values.some((value) => present.has(elementKey(value) as string));
}

/** True when `doc` matches `filter` (a filter from `parseQueryRequest`). */
export function matchesFilter(doc: QueryDocument, filter: Filter, options: MatchOptions = {}): boolean {
  switch (filter.kind) {
    case "And":
      return filter.filters.every((f) => matchesFilter(doc, f, options));
    case "Or":
      return filter.filters.some((f) => matchesFilter(doc, f, options));
    case "Not":
      return !matchesFilter(doc, filter.filter, options);
    case "Exists": {
      if (filter.field === "id") return true;
      const v = attribute(doc, filter.field);
      return v !== undefined && v !== null;
    }
    case "Compare":
      switch (filter.op) {
        case "Eq":
          return equals(doc, filter.field, filter.value);
        case "NotEq":
          return !equals(doc, filter.field, filter.value);
        default:
          return compare(doc, filter.field, filter.op, filter.value);
      }
    case "List":
      switch (filter.op) {
        case "In":
          return filter.values.some((v) => equals(doc, filter.field, v));
        case "NotIn":
          return !filter.values.some((v) => equals(doc, filter.field, v));
        case "ContainsAny":
          return contains(doc, filter.field, filter.values, false);
        case "ContainsAll":
          return contains(doc, filter.field, filter.values, true);
      }
      return false;
    case "Glob":
    case "Regex":
    case "FuzzySubstring": {
      // A string value, or a string element of an array value.
      const v = filter.field === "id" ? doc.id : attribute(doc, filter.field);
      if (typeof v === "string") return patternMatcher(filter).test(v);
      if (!Array.isArray(v)) return false;
      const matcher = patternMatcher(filter);
      return v.some((e) => typeof e === "string" && matcher.test(e));
    }
    case "AnyCompare": {
      const v = attribute(doc, filter.field);
      if (!Array.isArray(v)) return false;
      return v.some((e) => sameKind(e, filter.value) && inRange(e as string | number | bigint, filter.op, filter.value));
    }
    case "Tokens":
      return textMatchesTokens(filter, ownValue(doc.text, filter.field), options.textConfig?.(filter.field) ?? DEFAULT_TOKENIZER);
    case "Fuzzy":
      return textMatchesFuzzy(filter, ownValue(doc.text, filter.field), options.textConfig?.(filter.field) ?? DEFAULT_TOKENIZER);
  }
}
