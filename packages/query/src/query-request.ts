/**
 * The query request: its JSON shape, the parsed (typed) form, and
 * `parseQueryRequest`, which validates with zod and throws an
 * `InvalidQueryError` naming the path of every problem.
 *
 * JSON shape (camelCase keys; unknown keys are rejected):
 *   {
 *     "rankBy":  ["vector", "kNN" | "ANN", [0.1, ...]]         dense, exact or approximate
 *              | ["sparse", "Dot", {"indices": [..], "values": [..]}]
 *              | ["<text field>", "BM25", "query text", {"lastAsPrefix"?: true}]   (bm25-terms.ts)
 *              | a ranking expression (text-combination.ts): BM25 clauses, numbers, ["Attribute", "a"] and filters
 *                combined by ["Sum" | "Max", [<e>, ...]], ["Max", <e>, <e>], ["Product", weight, <e>],
 *                ["Saturate" | "Decay", <e>, {"midpoint": m, "exponent"?: x}], ["Dist", <e>, origin]
 *              | ["<attribute>" | "id", "asc" | "desc", {"missing"?: "last" | "first"}]   (order-keys.ts)
 *              | [["<attribute>" | "id", "asc" | "desc", {"missing"?: ...}?], ...]      several keys, the first deciding first
 *              | ["RRF", [<rankBy>, ...], {"k"?: 60, "window"?: 100, "weights"?: [1, ...]}],
 *     "filters": ["<attr>" | "id", "Eq" | "NotEq" | "Lt" | "Lte" | "Gt" | "Gte", scalar]
 *              | ["<attr>" | "id", "In" | "NotIn" | "ContainsAny" | "ContainsAll", [scalar, ...]]
 *              | ["<attr>" | "id", "Glob" | "IGlob", "pattern*"]
 *              | ["<attr>" | "id", "Regex", "RE2 pattern"]         found anywhere in the value (regex.ts)
 *              | ["<array attr>", "AnyLt" | "AnyLte" | "AnyGt" | "AnyGte", string | number]   some element compares
 *              | ["<text field>", "ContainsAllTokens" | "ContainsAnyToken", "text" | ["text", ...], {"lastAsPrefix"?: true}]
 *              | ["<text field>", "ContainsTokenSequence", "text" | ["text", ...]]   the tokens consecutively, in order
 *              | ["<text field>", "Fuzzy", "text", {"maxEditDistance"?: [{"distance": 1, "minQueryChars": 6}, ...], "caseSensitive"?: true}]
 *              | ["<attr>", "FuzzySubstring", "text", {the same}]   a substring of the string value within the distance
 *              | ["<attr>", "Exists"]
 *              | ["And" | "Or", [<filter>, ...]] | ["Not", <filter>],
 *     "topK": 10, "includeAttributes": true | false | ["a", "b"], "includeVectors": false,
 *     "distanceMetric": "COSINE" | "DOT" | "EUCLIDEAN", "distanceThreshold": 0.5,
 *     "aggregateBy": {"label": ["Count"] | ["Count", "attr"] | ["Sum", "attr"]},
 *     "groupBy": ["attr" | {"<key>": ["ForEachUnique", "attr"], ...}, ...],   (aggregate.ts)
 *     "consistency": "strong" | "eventual", "atVersion": 12, "probes": 16,
 *     "limitPer": {"attributes": ["author"], "limit": 2},
 *     "computeAttributes": {"<name>": <ranking expression> | ["vector", "VectorDist", [0.1, ...]], ...}   (compute-attributes.ts)
 *   }
 * A scalar is a string, a finite number or a boolean.
 */
import { z } from "zod";
import { type InvalidQueryReason, InvalidQueryError, type QueryIssue } from "./errors.ts";
import { globPatternProblem } from "./glob.ts";
import { regexPatternProblem } from "./regex.ts";
import { dateTimeMs, durationMs } from "./date-time.ts";
import { DEFAULT_FUZZY_DISTANCES, MAX_FUZZY_DISTANCE } from "./fuzzy-filter.ts";
import { MAX_FUZZY_SUBSTRING_CHARS } from "./fuzzy-substring.ts";
import { DEFAULT_FRAGMENT_LIMIT, FRAGMENT_FIELD, type FragmentBy, type HighlightSpec, MAX_FRAGMENT_LIMIT, type OffsetUnits } from "./highlight.ts";
import { DISTANCE_METRICS, type DistanceMetric } from "./query-document.ts";

/** A filter operand; a bigint is an integer compared exactly (i64/u64 attribute values beyond 2^53-1). */
export type Scalar = string | number | bigint | boolean;
export type Path = readonly (string | number)[];

export const COMPARE_OPS = ["Eq", "NotEq", "Lt", "Lte", "Gt", "Gte"] as const;
export const LIST_OPS = ["In", "NotIn", "ContainsAny", "ContainsAll"] as const;
export const GLOB_OPS = ["Glob", "IGlob"] as const;
export const REGEX_OP = "Regex";
export const ANY_COMPARE_OPS = ["AnyLt", "AnyLte", "AnyGt", "AnyGte"] as const;
export const TOKEN_OPS = ["ContainsAllTokens", "ContainsAnyToken", "ContainsTokenSequence"] as const;
export type TokenOp = (typeof TOKEN_OPS)[number];
export const FUZZY_OP = "Fuzzy";
export const FUZZY_SUBSTRING_OP = "FuzzySubstring";
export type CompareOp = (typeof COMPARE_OPS)[number];
export type ListOp = (typeof LIST_OPS)[number];
export type GlobOp = (typeof GLOB_OPS)[number];

export type Filter =
  | { readonly kind: "And" | "Or"; readonly filters: readonly Filter[]; readonly path: Path }
  | { readonly kind: "Not"; readonly filter: Filter; readonly path: Path }
  | { readonly kind: "Compare"; readonly field: string; readonly op: CompareOp; readonly value: Scalar; readonly path: Path }
  | { readonly kind: "List"; readonly field: string; readonly op: ListOp; readonly values: readonly Scalar[]; readonly path: Path }
  | { readonly kind: "Glob"; readonly field: string; readonly op: GlobOp; readonly pattern: string; readonly path: Path }
  | { readonly kind: "Regex"; readonly field: string; readonly pattern: string; readonly path: Path }
  /** Some element of an array value compares to `value` by `op` (`AnyLt` -> "Lt", ...). */
  | { readonly kind: "AnyCompare"; readonly field: string; readonly op: "Lt" | "Lte" | "Gt" | "Gte"; readonly value: string | number | bigint; readonly path: Path }
  | {
      readonly kind: "Tokens";
      readonly field: string;
      readonly op: TokenOp;
      readonly query: string | readonly string[];
      readonly lastAsPrefix: boolean;
      readonly path: Path;
    }
  /** Every operand token has a field token within its edit distance (fuzzy-filter.ts). */
  | {
      readonly kind: "Fuzzy";
      readonly field: string;
      readonly query: string;
      /** By minQueryChars ascending. */
      readonly distances: readonly { readonly distance: number; readonly minQueryChars: number }[];
      readonly caseSensitive: boolean;
      readonly path: Path;
    }
  /** The string value holds a substring within the text's edit distance of it (fuzzy-substring.ts). */
  | {
      readonly kind: "FuzzySubstring";
      readonly field: string;
      readonly query: string;
      /** By minQueryChars ascending. */
      readonly distances: readonly { readonly distance: number; readonly minQueryChars: number }[];
      readonly caseSensitive: boolean;
      readonly path: Path;
    }
  | { readonly kind: "Exists"; readonly field: string; readonly path: Path };

export type SingleRankBy =
  | { readonly kind: "vector"; readonly mode: "kNN" | "ANN"; readonly vector: Float32Array; readonly path: Path }
  | { readonly kind: "sparse"; readonly indices: Uint32Array; readonly values: Float32Array; readonly path: Path }
  | { readonly kind: "bm25"; readonly field: string; readonly query: string; readonly lastAsPrefix: boolean; readonly path: Path }
  | { readonly kind: "text"; readonly expr: TextExpr; readonly path: Path }
  | ({
      readonly kind: "attribute";
      /** Further keys, for rows the keys before them tie (none: ties by id). */
      readonly then?: readonly AttributeOrderKey[];
      readonly path: Path;
    } & AttributeOrderKey);

/** One key of an attribute order. */
export interface AttributeOrderKey {
  readonly field: string;
  readonly order: "asc" | "desc";
  /** Where rows without a number or string value for the key go: "last" (undefined: the default) or "first". */
  readonly missing?: "first" | "last";
}

/**
 * A ranking expression (text-combination.ts): BM25 clauses, attribute values, filters and numbers combined
 * by Sum / Max / Product and shaped by Saturate / Decay / Dist.
 */
export type TextExpr =
  | { readonly op: "bm25"; readonly field: string; readonly query: string; readonly lastAsPrefix: boolean; readonly path: Path }
  | { readonly op: "Sum" | "Max"; readonly args: readonly TextExpr[]; readonly path: Path }
  | { readonly op: "Product"; readonly weight: number; readonly arg: TextExpr; readonly path: Path }
  | { readonly op: "Const"; readonly value: number; readonly path: Path }
  /** A document's number value of the attribute (none when it has no number; under a date-time Dist, its date-time string in ms). */
  | { readonly op: "Attribute"; readonly field: string; readonly path: Path }
  /** 1 when the document matches the filter, else 0. */
  | { readonly op: "Filter"; readonly filter: Filter; readonly path: Path }
  /** Saturate: x^e / (x^e + m^e); Decay: m^e / (x^e + m^e); x = max(arg, 0), m the midpoint, e the exponent. */
  | { readonly op: "Saturate" | "Decay"; readonly arg: TextExpr; readonly midpoint: number; readonly exponent: number; readonly path: Path }
  /** |arg - origin| (a date-time origin in ms since the epoch: the attribute's date-time strings are read as such). */
  | { readonly op: "Dist"; readonly arg: TextExpr; readonly origin: number; readonly dateTime: boolean; readonly path: Path }
  /** `["sparse", "Dot", {indices, values}]`: the dot product of the document's sparse vector with the query's (0 where they share no dimension). */
  | { readonly op: "sparse"; readonly indices: Uint32Array; readonly values: Float32Array; readonly path: Path };

export type RankBy =
  | SingleRankBy
  | {
      readonly kind: "rrf";
      readonly queries: readonly SingleRankBy[];
      readonly k: number;
      readonly window: number;
      /** One positive weight per query (all 1 when not given): a row's score is the sum of weight / (k + rank). */
      readonly weights: readonly number[];
      readonly path: Path;
    };

/**
 * One aggregation: `Count` counts the matching documents, `Count` of a field
 * those where it is present and not null, `Sum` adds a field's number values
 * (exactly, then rounded once: exact-sum.ts).
 */
export type Aggregation = { readonly kind: "Count"; readonly field?: string } | { readonly kind: "Sum"; readonly field: string };

/** A computed attribute of the returned rows (compute-attributes.ts). */
export type ComputeExpr =
  | { readonly kind: "expr"; readonly expr: TextExpr; readonly path: Path }
  | { readonly kind: "vectorDist"; readonly vector: Float32Array; readonly path: Path }
  /** `["Highlight", field, {...}]`: the fragments of the row's value of `field` where the query's terms occur (highlight.ts). */
  | { readonly kind: "highlight"; readonly spec: HighlightSpec; readonly path: Path };

export interface QueryRequest {
  readonly rankBy?: RankBy;
  readonly filters?: Filter;
  readonly topK: number;
  /** "all", "none", or a list of attribute names. */
  readonly includeAttributes: "all" | "none" | readonly string[];
  readonly includeVectors: boolean;
  readonly distanceMetric?: DistanceMetric;
  readonly distanceThreshold?: number;
  readonly aggregateBy?: Readonly<Record<string, Aggregation>>;
  /**
   * The group keys' names, in order: an attribute's name, or the name a
   * `{"<name>": ["ForEachUnique", "attr"]}` entry gives (then in
   * `groupByFunctions`).
   */
  readonly groupBy?: readonly string[];
  /** The group keys that are functions, by name: `ForEachUnique` groups a document under each distinct element of an array attribute. */
  readonly groupByFunctions?: ReadonlyMap<string, { readonly op: "ForEachUnique"; readonly field: string }>;
  readonly consistency: "strong" | "eventual";
  readonly atVersion?: number;
  /** IVF lists to scan (ANN only); the index default when absent. */
  readonly probes?: number;
  /**
   * Diversity: at most `limit` rows per distinct tuple of the attributes'
   * values (a missing value counts as null; `id` is the id), taken in rank
   * order; the answer is the first `topK` rows that pass.
   */
  readonly limitPer?: { readonly attributes: readonly string[]; readonly limit: number };
  /** Values computed for every returned row, by name (rows carry them as `computed`). */
  readonly computeAttributes?: ReadonlyMap<string, ComputeExpr>;
}

export interface ParseQueryOptions {
  /** Largest topK accepted (default 10,000). */
  readonly maxTopK?: number;
  /** When known, dense query vectors must have this dimension. */
  readonly dimension?: number;
}

export const DEFAULT_MAX_TOP_K = 10_000;
const MAX_FILTER_DEPTH = 32;
const MAX_LIST_VALUES = 10_000;

// ------------------------------------------------------------------ helpers

class IssueSink {
  readonly issues: QueryIssue[] = [];
  add(path: Path, reason: InvalidQueryReason, message: string): void {
    this.issues.push({ path, reason, message });
  }
}

function isScalar(value: unknown): value is Scalar {
  return typeof value === "string" || typeof value === "boolean" || typeof value === "bigint" || (typeof value === "number" && Number.isFinite(value));
}

function scalarIssue(sink: IssueSink, path: Path, value: unknown): void {
  if (typeof value === "number") sink.add(path, "not_finite", `expected a finite number, got ${value}`);
  else sink.add(path, "schema", `expected a string, number or boolean, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

function parseFilter(raw: unknown, path: Path, sink: IssueSink, depth: number): Filter | undefined {
  if (depth > MAX_FILTER_DEPTH) {
    sink.add(path, "schema", `filters nest deeper than ${MAX_FILTER_DEPTH}`);
    return undefined;
  }
  if (!Array.isArray(raw) || raw.length < 2 || typeof raw[0] !== "string" || typeof raw[1] === "undefined") {
    sink.add(path, "schema", 'expected a filter tuple like ["field", "Eq", value], ["And", [...]] or ["Not", filter]');
    return undefined;
  }
  const [head, second] = raw as [string, unknown, ...unknown[]];
  if ((head === "And" || head === "Or") && Array.isArray(second) && raw.length === 2) {
    const filters: Filter[] = [];
    second.forEach((f, i) => {
      const parsed = parseFilter(f, [...path, 1, i], sink, depth + 1);
      if (parsed !== undefined) filters.push(parsed);
    });
    if (second.length === 0) sink.add([...path, 1], "schema", `${head} needs at least one filter`);
    return { kind: head, filters, path };
  }
  if (head === "Not" && Array.isArray(second) && raw.length === 2) {
    const inner = parseFilter(second, [...path, 1], sink, depth + 1);
    return inner === undefined ? undefined : { kind: "Not", filter: inner, path };
  }
  const field = head;
  if (field.length === 0) sink.add([...path, 0], "schema", "field name must not be empty");
  if (typeof second !== "string") {
    sink.add([...path, 1], "schema", "expected an operator name");
    return undefined;
  }
  const op = second;
  const value = raw[2];
  if (op === "Exists") {
    if (raw.length !== 2) sink.add(path, "schema", 'Exists takes no operand: ["field", "Exists"]');
    return { kind: "Exists", field, path };
  }
  if ((TOKEN_OPS as readonly string[]).includes(op)) return parseTokenFilter(raw, field, op as TokenOp, path, sink);
  if (op === FUZZY_OP || op === FUZZY_SUBSTRING_OP) return parseFuzzyFilter(raw, field, op, path, sink);
  if (raw.length !== 3) {
    if (
      (COMPARE_OPS as readonly string[]).includes(op) ||
      (LIST_OPS as readonly string[]).includes(op) ||
      (GLOB_OPS as readonly string[]).includes(op) ||
      (ANY_COMPARE_OPS as readonly string[]).includes(op) ||
      op === REGEX_OP
    ) {
      sink.add(path, "schema", `${op} takes exactly one operand`);
      return undefined;
    }
  }
  if ((COMPARE_OPS as readonly string[]).includes(op)) {
    if (!isScalar(value)) {
      scalarIssue(sink, [...path, 2], value);
      return undefined;
    }
    if ((op === "Lt" || op === "Lte" || op === "Gt" || op === "Gte") && typeof value === "boolean") {
      sink.add([...path, 2], "type_mismatch", `${op} compares numbers or strings, not booleans`);
      return undefined;
    }
    return { kind: "Compare", field, op: op as CompareOp, value, path };
  }
  if ((LIST_OPS as readonly string[]).includes(op)) {
    if (!Array.isArray(value)) {
      sink.add([...path, 2], "schema", `${op} takes an array of values`);
      return undefined;
    }
    if (value.length > MAX_LIST_VALUES) sink.add([...path, 2], "schema", `${op} takes at most ${MAX_LIST_VALUES} values`);
    let ok = true;
    value.forEach((v, i) => {
      if (!isScalar(v)) {
        scalarIssue(sink, [...path, 2, i], v);
        ok = false;
      }
    });
    return ok ? { kind: "List", field, op: op as ListOp, values: value as Scalar[], path } : undefined;
  }
  if ((GLOB_OPS as readonly string[]).includes(op)) {
    if (typeof value !== "string") {
      sink.add([...path, 2], "type_mismatch", `${op} takes a string pattern`);
      return undefined;
    }
    const problem = globPatternProblem(value);
    if (problem !== undefined) {
      sink.add([...path, 2], "schema", `invalid ${op} pattern: ${problem}`);
      return undefined;
    }
    return { kind: "Glob", field, op: op as GlobOp, pattern: value, path };
  }
  if ((ANY_COMPARE_OPS as readonly string[]).includes(op)) {
    if (typeof value !== "string" && typeof value !== "bigint" && !(typeof value === "number" && Number.isFinite(value))) {
      if (typeof value === "number") scalarIssue(sink, [...path, 2], value);
      else sink.add([...path, 2], "type_mismatch", `${op} compares array elements with a number or a string`);
      return undefined;
    }
    return { kind: "AnyCompare", field, op: op.slice(3) as "Lt" | "Lte" | "Gt" | "Gte", value, path };
  }
  if (op === REGEX_OP) {
    if (typeof value !== "string") {
      sink.add([...path, 2], "type_mismatch", "Regex takes a string pattern");
      return undefined;
    }
    const problem = regexPatternProblem(value);
    if (problem !== undefined) {
      sink.add([...path, 2], "schema", `invalid Regex pattern: ${problem}`);
      return undefined;
    }
    return { kind: "Regex", field, pattern: value, path };
  }
  sink.add([...path, 1], "unknown_operator", `unknown filter operator ${JSON.stringify(op)}`);
  return undefined;
}

const MAX_TOKEN_QUERY_LENGTH = 16 * 1024;

/**
 * `[field, "ContainsAllTokens" | "ContainsAnyToken", text | [text, ...], {lastAsPrefix?}]`,
 * `[field, "ContainsTokenSequence", text | [text, ...]]` (token-filter.ts).
 */
function parseTokenFilter(raw: readonly unknown[], field: string, op: TokenOp, path: Path, sink: IssueSink): Filter | undefined {
  if (raw.length !== 3 && raw.length !== 4) {
    sink.add(path, "schema", `${op} takes a text operand and optional parameters: ["field", "${op}", "text", {"lastAsPrefix": true}]`);
    return undefined;
  }
  const query = raw[2];
  let ok = true;
  if (typeof query === "string") {
    if (query.length > MAX_TOKEN_QUERY_LENGTH) {
      sink.add([...path, 2], "schema", `${op} text is longer than ${MAX_TOKEN_QUERY_LENGTH} characters`);
      ok = false;
    }
  } else if (Array.isArray(query)) {
    if (query.length > MAX_LIST_VALUES) {
      sink.add([...path, 2], "schema", `${op} takes at most ${MAX_LIST_VALUES} strings`);
      ok = false;
    }
    query.forEach((q, i) => {
      if (typeof q !== "string" || q.length > MAX_TOKEN_QUERY_LENGTH) {
        sink.add([...path, 2, i], "type_mismatch", `${op} takes strings of at most ${MAX_TOKEN_QUERY_LENGTH} characters`);
        ok = false;
      }
    });
  } else {
    sink.add([...path, 2], "type_mismatch", `${op} takes a string or a list of strings`);
    return undefined;
  }
  let lastAsPrefix = false;
  const params = raw[3];
  if (raw.length === 4) {
    if (op === "ContainsTokenSequence") {
      sink.add([...path, 3], "schema", "ContainsTokenSequence takes no parameters");
      return undefined;
    }
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      sink.add([...path, 3], "schema", `${op} parameters are an object like {"lastAsPrefix": true}`);
      return undefined;
    }
    for (const key of Object.keys(params)) {
      const value = (params as Record<string, unknown>)[key];
      if (key !== "lastAsPrefix") sink.add([...path, 3, key], "schema", `unknown ${op} parameter ${JSON.stringify(key)}`);
      else if (typeof value !== "boolean") sink.add([...path, 3, key], "type_mismatch", "lastAsPrefix is a boolean");
      else lastAsPrefix = value;
    }
  }
  return ok ? { kind: "Tokens", field, op, query: query as string | string[], lastAsPrefix, path } : undefined;
}

const FUZZY_PARAMS = '{"maxEditDistance": [{"distance": 1, "minQueryChars": 6}], "caseSensitive"?: true}';

/**
 * `[field, "Fuzzy", text, {maxEditDistance?, caseSensitive?}]` (fuzzy-filter.ts) and `[attr,
 * "FuzzySubstring", text, {...}]` (fuzzy-substring.ts): the same parameters.
 */
function parseFuzzyFilter(raw: readonly unknown[], field: string, op: typeof FUZZY_OP | typeof FUZZY_SUBSTRING_OP, path: Path, sink: IssueSink): Filter | undefined {
  if (raw.length !== 3 && raw.length !== 4) {
    sink.add(path, "schema", `${op} takes a text operand and optional parameters: ["field", "${op}", "text", ${FUZZY_PARAMS}]`);
    return undefined;
  }
  const query = raw[2];
  const longest = op === FUZZY_OP ? MAX_TOKEN_QUERY_LENGTH : MAX_FUZZY_SUBSTRING_CHARS;
  if (typeof query !== "string" || [...query].length > longest) {
    sink.add([...path, 2], "type_mismatch", `${op} takes a string of at most ${longest} characters`);
    return undefined;
  }
  if (op === FUZZY_SUBSTRING_OP && field === "id") {
    sink.add([...path, 0], "schema", "FuzzySubstring takes a string attribute, not id");
    return undefined;
  }
  let distances: { distance: number; minQueryChars: number }[] = DEFAULT_FUZZY_DISTANCES.map((d) => ({ ...d }));
  let caseSensitive = true;
  let ok = true;
  const params = raw[3];
  if (raw.length === 4) {
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      sink.add([...path, 3], "schema", `${op} parameters are an object like ${FUZZY_PARAMS}`);
      return undefined;
    }
    for (const key of Object.keys(params)) {
      const value = (params as Record<string, unknown>)[key];
      if (key === "caseSensitive") {
        if (typeof value !== "boolean") {
          sink.add([...path, 3, key], "type_mismatch", "caseSensitive is a boolean");
          ok = false;
        } else caseSensitive = value;
      } else if (key === "maxEditDistance") {
        if (!Array.isArray(value) || value.length === 0 || value.length > 8) {
          sink.add([...path, 3, key], "schema", "maxEditDistance is a list of 1 to 8 {distance, minQueryChars}");
          ok = false;
          continue;
        }
        distances = [];
        value.forEach((entry, i) => {
          const e = entry as Record<string, unknown>;
          const distance = typeof entry === "object" && entry !== null && !Array.isArray(entry) ? e["distance"] : undefined;
          const minQueryChars = typeof entry === "object" && entry !== null && !Array.isArray(entry) ? e["minQueryChars"] : undefined;
          const extra = typeof entry === "object" && entry !== null ? Object.keys(entry).filter((k) => k !== "distance" && k !== "minQueryChars") : [];
          if (
            typeof distance !== "number" ||
            !Number.isInteger(distance) ||
            distance < 0 ||
            distance > MAX_FUZZY_DISTANCE ||
            typeof minQueryChars !== "number" ||
            !Number.isInteger(minQueryChars) ||
            minQueryChars < 3 * (distance + 1) ||
            minQueryChars > 1024 ||
            extra.length > 0
          ) {
            sink.add(
              [...path, 3, key, i],
              "schema",
              `an edit distance entry is {"distance": 0..${MAX_FUZZY_DISTANCE}, "minQueryChars": an integer of at least 3 * (distance + 1)}`,
            );
            ok = false;
          } else distances.push({ distance, minQueryChars });
        });
        distances.sort((x, y) => x.minQueryChars - y.minQueryChars);
      } else {
        sink.add([...path, 3, key], "schema", `unknown ${op} parameter ${JSON.stringify(key)}`);
        ok = false;
      }
    }
  }
  return ok ? { kind: op, field, query, distances, caseSensitive, path } : undefined;
}

function finiteArray(raw: unknown, path: Path, sink: IssueSink, what: string): number[] | undefined {
  if (!Array.isArray(raw)) {
    sink.add(path, "schema", `${what} must be an array of numbers`);
    return undefined;
  }
  let ok = true;
  raw.forEach((v, i) => {
    if (typeof v !== "number") {
      sink.add([...path, i], "schema", `${what} must hold numbers, got ${describe(v)}`);
      ok = false;
    } else if (!Number.isFinite(v)) {
      sink.add([...path, i], "not_finite", `${what} holds ${v}`);
      ok = false;
    }
  });
  return ok ? (raw as number[]) : undefined;
}

const MAX_ORDER_KEYS = 8;

/** `[["a", "asc"], ["b", "desc", {"missing": "first"}], ...]`: attribute order by several keys. */
function parseOrderKeys(raw: readonly unknown[], path: Path, sink: IssueSink): SingleRankBy | undefined {
  if (raw.length > MAX_ORDER_KEYS) sink.add(path, "schema", `at most ${MAX_ORDER_KEYS} order keys`);
  const keys: AttributeOrderKey[] = [];
  raw.forEach((key, i) => {
    if (!Array.isArray(key) || (key.length !== 2 && key.length !== 3) || typeof key[0] !== "string" || key[0].length === 0 || (key[1] !== "asc" && key[1] !== "desc")) {
      sink.add([...path, i], "schema", 'an order key is ["attribute", "asc" | "desc", {"missing"?: "last" | "first"}?]');
      return;
    }
    const missing = parseOrderParams(key, [...path, i], sink);
    if (missing === null) return;
    keys.push(orderKey(key[0], key[1], missing));
  });
  const [first, ...then] = keys;
  if (first === undefined || keys.length !== raw.length) return undefined;
  return then.length === 0 ? { kind: "attribute", ...first, path } : { kind: "attribute", ...first, then, path };
}

function orderKey(field: string, order: "asc" | "desc", missing: "first" | "last" | undefined): AttributeOrderKey {
  return missing === undefined ? { field, order } : { field, order, missing };
}

/** The optional 3rd element of an order key, `{"missing": "last" | "first"}`: its value (undefined: none given), null after an issue. */
function parseOrderParams(raw: readonly unknown[], path: Path, sink: IssueSink): "first" | "last" | undefined | null {
  if (raw.length < 3) return undefined;
  const params = raw[2];
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    sink.add([...path, 2], "schema", 'order parameters are an object like {"missing": "first"}');
    return null;
  }
  let missing: "first" | "last" | undefined | null;
  for (const key of Object.keys(params)) {
    const value = (params as Record<string, unknown>)[key];
    if (key !== "missing") {
      sink.add([...path, 2, key], "schema", `unknown order parameter ${JSON.stringify(key)}`);
      missing = null;
    } else if (value !== "first" && value !== "last") {
      sink.add([...path, 2, key], "schema", 'missing is "last" or "first"');
      missing = null;
    } else if (missing !== null) missing = value;
  }
  return missing;
}

const MAX_TEXT_CLAUSES = 16;
const MAX_EXPR_DEPTH = 8;
const MAX_EXPR_NODES = 64;

/** Operators of ranking expressions: a list head with one of these names is the operator, not a field (docs/query.md). */
const EXPR_HEADS = new Set(["Sum", "Max", "Product", "Saturate", "Decay", "Dist", "Attribute"]);
const FILTER_OPS: ReadonlySet<string> = new Set([...COMPARE_OPS, ...LIST_OPS, ...GLOB_OPS, REGEX_OP, ...ANY_COMPARE_OPS, ...TOKEN_OPS, FUZZY_OP, FUZZY_SUBSTRING_OP, "Exists"]);

/** True when `raw` reads as a ranking expression rather than a single ranking (vector, BM25, attribute order). */
function isRankExpression(raw: readonly unknown[]): boolean {
  const [head, second] = raw;
  if (second === "BM25" || second === "asc" || second === "desc") return false;
  if (typeof head === "string" && EXPR_HEADS.has(head)) return true;
  if (head === "And" || head === "Or" || head === "Not") return true;
  return typeof head === "string" && typeof second === "string" && FILTER_OPS.has(second);
}

interface ExprBudget {
  clauses: number;
  nodes: number;
}

/**
 * A ranking expression (text-combination.ts): a BM25 clause, a number, `["Attribute", a]`, a filter (1 when a
 * document matches, else 0), `["Sum" | "Max", [e, ...]]` (also `["Max", e, e]`), `["Product", w, e]` /
 * `["Product", e, w]`, `["Saturate" | "Decay", e, {midpoint, exponent?}]`, `["Dist", e, origin]`.
 */
function parseTextExpr(raw: unknown, path: Path, sink: IssueSink, depth: number, budget: ExprBudget): TextExpr | undefined {
  if (++budget.nodes > MAX_EXPR_NODES) {
    if (budget.nodes === MAX_EXPR_NODES + 1) sink.add(path, "schema", `a ranking expression has at most ${MAX_EXPR_NODES} nodes`);
    return undefined;
  }
  if (typeof raw === "number") {
    if (!Number.isFinite(raw)) {
      sink.add(path, "not_finite", `a constant in a ranking expression is a finite number, got ${raw}`);
      return undefined;
    }
    return { op: "Const", value: raw, path };
  }
  if (!Array.isArray(raw)) {
    sink.add(path, "schema", 'expected a BM25 clause ["field", "BM25", "text"], a number, an operator ["Sum" | "Max", [...]] / ["Product", weight, e] / ["Saturate" | "Decay", e, {...}] / ["Dist", e, origin] / ["Attribute", "a"], or a filter');
    return undefined;
  }
  if (depth > MAX_EXPR_DEPTH) {
    sink.add(path, "schema", `ranking expressions nest at most ${MAX_EXPR_DEPTH} deep`);
    return undefined;
  }
  // A text field may be called "Sum": ["Sum", "BM25", "text"] is a clause.
  const head = raw[1] === "BM25" ? undefined : (raw as unknown[])[0];
  const sub = (v: unknown, at: Path) => parseTextExpr(v, at, sink, depth + 1, budget);
  if (head === "Sum" || head === "Max") {
    if (head === "Max" && raw.length === 3) {
      const a = sub(raw[1], [...path, 1]);
      const b = sub(raw[2], [...path, 2]);
      return a === undefined || b === undefined ? undefined : { op: head, args: [a, b], path };
    }
    if (raw.length !== 2 || !Array.isArray(raw[1]) || raw[1].length === 0) {
      sink.add(path, "schema", `${head} takes a non-empty list: ["${head}", [expression, ...]]`);
      return undefined;
    }
    const args: TextExpr[] = [];
    (raw[1] as unknown[]).forEach((a, i) => {
      const parsed = sub(a, [...path, 1, i]);
      if (parsed !== undefined) args.push(parsed);
    });
    return args.length === (raw[1] as unknown[]).length ? { op: head, args, path } : undefined;
  }
  if (head === "Product") {
    if (raw.length !== 3) {
      sink.add(path, "schema", 'Product takes a weight and an expression: ["Product", 2, expression]');
      return undefined;
    }
    const weightFirst = typeof raw[1] === "number";
    const weight = weightFirst ? raw[1] : raw[2];
    if (typeof weight !== "number" || !Number.isFinite(weight)) {
      sink.add([...path, weightFirst ? 1 : 2], "schema", "the Product weight is a finite number");
      return undefined;
    }
    const arg = sub(weightFirst ? raw[2] : raw[1], [...path, weightFirst ? 2 : 1]);
    return arg === undefined ? undefined : { op: "Product", weight, arg, path };
  }
  if (head === "Attribute" && raw.length === 2) {
    if (typeof raw[1] !== "string" || raw[1].length === 0) {
      sink.add([...path, 1], "schema", "Attribute names an attribute");
      return undefined;
    }
    return { op: "Attribute", field: raw[1], path };
  }
  if (head === "Saturate" || head === "Decay") return parseSaturation(raw, head, path, sink, sub);
  if (head === "Dist") return parseDist(raw, path, sink, sub);
  if (raw[1] === "Dot") {
    const sparse = parseSparseQuery(raw, path, sink);
    if (sparse === undefined) return undefined;
    if (++budget.clauses > MAX_TEXT_CLAUSES) {
      if (budget.clauses === MAX_TEXT_CLAUSES + 1) sink.add(path, "schema", `a ranking expression has at most ${MAX_TEXT_CLAUSES} BM25 and sparse clauses`);
      return undefined;
    }
    return { op: "sparse", ...sparse, path };
  }
  if (raw[1] === "BM25") {
    if ((raw.length !== 3 && raw.length !== 4) || typeof raw[0] !== "string" || typeof raw[2] !== "string") {
      sink.add(path, "schema", 'a BM25 clause is ["field", "BM25", "text", {"lastAsPrefix"?: true}]');
      return undefined;
    }
    const lastAsPrefix = parseBm25Params(raw, path, sink);
    if (lastAsPrefix === undefined) return undefined;
    if (++budget.clauses > MAX_TEXT_CLAUSES) {
      if (budget.clauses === MAX_TEXT_CLAUSES + 1) sink.add(path, "schema", `a ranking expression has at most ${MAX_TEXT_CLAUSES} BM25 clauses`);
      return undefined;
    }
    return { op: "bm25", field: raw[0], query: raw[2], lastAsPrefix, path };
  }
  if (isRankExpression(raw) && head !== "Attribute") {
    const filter = parseFilter(raw, path, sink, depth);
    return filter === undefined ? undefined : { op: "Filter", filter, path };
  }
  sink.add(path, "schema", 'expected a BM25 clause ["field", "BM25", "text"], a number, ["Attribute", "a"], an operator or a filter');
  return undefined;
}

/** `["Saturate" | "Decay", e, {"midpoint": m, "exponent"?: x}]`: m > 0 (a number, or a duration like "6h" in ms), x > 0 (default 1). */
function parseSaturation(
  raw: readonly unknown[],
  op: "Saturate" | "Decay",
  path: Path,
  sink: IssueSink,
  sub: (v: unknown, at: Path) => TextExpr | undefined,
): TextExpr | undefined {
  const params = raw[2];
  if (raw.length !== 3 || typeof params !== "object" || params === null || Array.isArray(params)) {
    sink.add(path, "schema", `${op} takes an expression and parameters: ["${op}", expression, {"midpoint": 10, "exponent"?: 1}]`);
    return undefined;
  }
  let midpoint: number | undefined;
  let exponent = 1;
  let ok = true;
  for (const key of Object.keys(params)) {
    const value = (params as Record<string, unknown>)[key];
    if (key === "midpoint") {
      midpoint = durationMs(value);
      if (midpoint === undefined || !(midpoint > 0)) {
        sink.add([...path, 2, key], "schema", `the ${op} midpoint is a positive number or a duration like "6h"`);
        ok = false;
      }
    } else if (key === "exponent") {
      if (typeof value !== "number" || !Number.isFinite(value) || !(value > 0)) {
        sink.add([...path, 2, key], "schema", `the ${op} exponent is a positive finite number`);
        ok = false;
      } else exponent = value;
    } else {
      sink.add([...path, 2, key], "schema", `unknown ${op} parameter ${JSON.stringify(key)}`);
      ok = false;
    }
  }
  if (ok && midpoint === undefined) {
    sink.add([...path, 2], "schema", `${op} needs a midpoint`);
    ok = false;
  }
  const arg = sub(raw[1], [...path, 1]);
  return arg === undefined || !ok ? undefined : { op, arg, midpoint: midpoint as number, exponent, path };
}

/** `["Dist", e, origin]`: |e - origin|; a date-time origin (ISO 8601 string) needs e = ["Attribute", a] and measures milliseconds. */
function parseDist(raw: readonly unknown[], path: Path, sink: IssueSink, sub: (v: unknown, at: Path) => TextExpr | undefined): TextExpr | undefined {
  if (raw.length !== 3) {
    sink.add(path, "schema", 'Dist takes an expression and an origin: ["Dist", ["Attribute", "a"], 10]');
    return undefined;
  }
  const arg = sub(raw[1], [...path, 1]);
  if (arg === undefined) return undefined;
  const origin = raw[2];
  if (typeof origin === "number") {
    if (!Number.isFinite(origin)) {
      sink.add([...path, 2], "not_finite", "the Dist origin is a finite number");
      return undefined;
    }
    return { op: "Dist", arg, origin, dateTime: false, path };
  }
  if (typeof origin === "string") {
    const ms = dateTimeMs(origin);
    if (ms === undefined) {
      sink.add([...path, 2], "schema", `the Dist origin ${JSON.stringify(origin)} is neither a number nor an ISO 8601 date-time`);
      return undefined;
    }
    if (arg.op !== "Attribute") {
      sink.add([...path, 1], "schema", 'a date-time Dist measures an attribute: ["Dist", ["Attribute", "a"], "2026-02-03T00:00:00Z"]');
      return undefined;
    }
    return { op: "Dist", arg, origin: ms, dateTime: true, path };
  }
  sink.add([...path, 2], "schema", "the Dist origin is a number or an ISO 8601 date-time string");
  return undefined;
}

/** The optional 4th element of a BM25 clause, `{"lastAsPrefix": true}`: its value, or undefined after an issue. */
function parseBm25Params(raw: readonly unknown[], path: Path, sink: IssueSink): boolean | undefined {
  if (raw.length < 4) return false;
  const params = raw[3];
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    sink.add([...path, 3], "schema", 'BM25 parameters are an object like {"lastAsPrefix": true}');
    return undefined;
  }
  let lastAsPrefix: boolean | undefined = false;
  for (const key of Object.keys(params)) {
    const value = (params as Record<string, unknown>)[key];
    if (key !== "lastAsPrefix") {
      sink.add([...path, 3, key], "schema", `unknown BM25 parameter ${JSON.stringify(key)}`);
      lastAsPrefix = undefined;
    } else if (typeof value !== "boolean") {
      sink.add([...path, 3, key], "type_mismatch", "lastAsPrefix is a boolean");
      lastAsPrefix = undefined;
    } else if (lastAsPrefix !== undefined) lastAsPrefix = value;
  }
  return lastAsPrefix;
}

/** `["sparse", "Dot", {"indices": [..], "values": [..]}]` (a ranking, or a clause of a ranking expression). */
function parseSparseQuery(raw: readonly unknown[], path: Path, sink: IssueSink): { indices: Uint32Array; values: Float32Array } | undefined {
  if (raw[0] !== "sparse") sink.add([...path, 0], "schema", 'Dot ranks by "sparse"');
  if (raw.length !== 3) sink.add(path, "schema", '["sparse", "Dot", {indices, values}] has 3 elements');
  const body = raw[2];
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    sink.add([...path, 2], "schema", "expected {indices, values}");
    return undefined;
  }
  const b = body as Record<string, unknown>;
  const indices = finiteArray(b["indices"], [...path, 2, "indices"], sink, "sparse indices");
  const values = finiteArray(b["values"], [...path, 2, "values"], sink, "sparse values");
  if (indices === undefined || values === undefined) return undefined;
  if (indices.length !== values.length) {
    sink.add([...path, 2], "schema", "sparse indices and values differ in length");
    return undefined;
  }
  for (let i = 0; i < indices.length; i++) {
    const d = indices[i]!;
    if (!Number.isInteger(d) || d < 0 || d > 0xffff_ffff || (i > 0 && d <= indices[i - 1]!)) {
      sink.add([...path, 2, "indices", i], "schema", "sparse indices must be strictly increasing u32 values");
      return undefined;
    }
  }
  return { indices: Uint32Array.from(indices), values: Float32Array.from(values) };
}

function parseSingleRankBy(raw: unknown, path: Path, sink: IssueSink, options: ParseQueryOptions): SingleRankBy | undefined {
  if (Array.isArray(raw) && raw.length > 0 && Array.isArray(raw[0])) return parseOrderKeys(raw, path, sink);
  if (Array.isArray(raw) && isRankExpression(raw)) {
    const expr = parseTextExpr(raw, path, sink, 0, { clauses: 0, nodes: 0 });
    return expr === undefined ? undefined : { kind: "text", expr, path };
  }
  if (!Array.isArray(raw) || raw.length < 2 || typeof raw[0] !== "string" || typeof raw[1] !== "string") {
    sink.add(path, "schema", 'expected a rankBy tuple like ["vector", "kNN", [...]] or ["title", "BM25", "text"]');
    return undefined;
  }
  const [field, op] = raw as [string, string, ...unknown[]];
  switch (op) {
    case "kNN":
    case "ANN": {
      if (field !== "vector") sink.add([...path, 0], "schema", `${op} ranks by "vector"`);
      if (raw.length !== 3) sink.add(path, "schema", `["vector", "${op}", [numbers]] has 3 elements`);
      const values = finiteArray(raw[2], [...path, 2], sink, "the query vector");
      if (values === undefined) return undefined;
      if (values.length === 0) sink.add([...path, 2], "dimension_mismatch", "the query vector is empty");
      if (options.dimension !== undefined && values.length !== options.dimension) {
        sink.add([...path, 2], "dimension_mismatch", `the query vector has ${values.length} dimensions, the namespace ${options.dimension}`);
      }
      return { kind: "vector", mode: op, vector: Float32Array.from(values), path };
    }
    case "Dot": {
      const sparse = parseSparseQuery(raw, path, sink);
      return sparse === undefined ? undefined : { kind: "sparse", ...sparse, path };
    }
    case "BM25": {
      if (typeof raw[2] !== "string" || (raw.length !== 3 && raw.length !== 4)) {
        sink.add([...path, 2], "schema", 'BM25 takes the query text as a string and optional parameters {"lastAsPrefix": true}');
        return undefined;
      }
      const lastAsPrefix = parseBm25Params(raw, path, sink);
      if (lastAsPrefix === undefined) return undefined;
      return { kind: "bm25", field, query: raw[2], lastAsPrefix, path };
    }
    case "asc":
    case "desc": {
      if (raw.length !== 2 && raw.length !== 3) {
        sink.add(path, "schema", `["attribute", "${op}", {"missing"?: "last" | "first"}?] has 2 or 3 elements`);
        return undefined;
      }
      const missing = parseOrderParams(raw, path, sink);
      if (missing === null) return undefined;
      return { kind: "attribute", ...orderKey(field, op, missing), path };
    }
    default:
      sink.add([...path, 1], "unknown_operator", `unknown rankBy operator ${JSON.stringify(op)}`);
      return undefined;
  }
}

function parseRankBy(raw: unknown, path: Path, sink: IssueSink, options: ParseQueryOptions, maxTopK: number): RankBy | undefined {
  if (Array.isArray(raw) && raw[0] === "RRF") {
    if (!Array.isArray(raw[1]) || raw[1].length === 0 || raw.length > 3) {
      sink.add(path, "schema", 'expected ["RRF", [<rankBy>, ...], {"k"?: number, "window"?: number, "weights"?: [number, ...]}]');
      return undefined;
    }
    const queries: SingleRankBy[] = [];
    (raw[1] as unknown[]).forEach((q, i) => {
      if (Array.isArray(q) && q[0] === "RRF") {
        sink.add([...path, 1, i], "unsupported", "RRF does not nest");
        return;
      }
      const parsed = parseSingleRankBy(q, [...path, 1, i], sink, options);
      if (parsed !== undefined) queries.push(parsed);
    });
    const params = rrfParams.safeParse(raw[2] ?? {});
    if (!params.success) {
      for (const issue of params.error.issues) sink.add([...path, 2, ...(issue.path as (string | number)[])], "schema", issue.message);
      return undefined;
    }
    if (params.data.window !== undefined && params.data.window > maxTopK) {
      sink.add([...path, 2, "window"], "top_k_cap", `window ${params.data.window} is above the cap ${maxTopK}`);
    }
    const weights = params.data.weights ?? queries.map(() => 1);
    if (weights.length !== (raw[1] as unknown[]).length) {
      sink.add([...path, 2, "weights"], "schema", `weights has ${weights.length} entries for ${(raw[1] as unknown[]).length} rankings`);
    }
    return { kind: "rrf", queries, k: params.data.k ?? 60, window: params.data.window ?? 100, weights, path };
  }
  return parseSingleRankBy(raw, path, sink, options);
}

const rrfParams = z.strictObject({
  k: z.number().min(0).max(1e6).optional(),
  window: z.number().int().min(1).optional(),
  weights: z.array(z.number().positive().max(1e6)).max(64).optional(),
});

const requestSchema = z.strictObject({
  rankBy: z.unknown().optional(),
  filters: z.unknown().optional(),
  topK: z.number().int().min(1).optional(),
  includeAttributes: z.union([z.boolean(), z.array(z.string().min(1)).max(1024)]).optional(),
  includeVectors: z.boolean().optional(),
  distanceMetric: z.enum(DISTANCE_METRICS as [DistanceMetric, ...DistanceMetric[]]).optional(),
  distanceThreshold: z.number().optional(),
  // Validated by parseAggregateBy: a zod record drops a `__proto__` key.
  aggregateBy: z.unknown().optional(),
  // Validated by parseGroupBy: names are data (a zod record drops a `__proto__` key).
  groupBy: z.unknown().optional(),
  consistency: z.enum(["strong", "eventual"]).optional(),
  atVersion: z.number().int().min(0).optional(),
  probes: z.number().int().min(1).max(65_536).optional(),
  limitPer: z.strictObject({ attributes: z.array(z.string().min(1)).min(1).max(8), limit: z.number().int().min(1) }).optional(),
  // Validated by parseComputeAttributes (names are data).
  computeAttributes: z.unknown().optional(),
});

const MAX_AGGREGATIONS = 64;
const AGGREGATION_SHAPE = 'expected ["Count"], ["Count", "attribute"] or ["Sum", "attribute"]';

/** `{"<label>": ["Count"] | ["Count", attr] | ["Sum", attr], ...}`; every own key is a label (`__proto__` and `constructor` included). */
function parseAggregateBy(raw: unknown, sink: IssueSink): Record<string, Aggregation> | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    sink.add(["aggregateBy"], "schema", 'expected an object like {"count": ["Count"]}');
    return undefined;
  }
  const labels = Object.keys(raw);
  if (labels.length === 0) sink.add(["aggregateBy"], "schema", "aggregateBy needs at least one aggregation");
  if (labels.length > MAX_AGGREGATIONS) sink.add(["aggregateBy"], "schema", `aggregateBy takes at most ${MAX_AGGREGATIONS} aggregations`);
  const out: [string, Aggregation][] = [];
  for (const label of labels) {
    const value = (raw as Record<string, unknown>)[label];
    if (label.length === 0) sink.add(["aggregateBy", label], "schema", "aggregation labels must not be empty");
    if (!Array.isArray(value) || value.length < 1 || value.length > 2) {
      sink.add(["aggregateBy", label], "schema", AGGREGATION_SHAPE);
      continue;
    }
    const [kind, field] = value as [unknown, unknown];
    if (kind !== "Count" && kind !== "Sum") {
      sink.add(["aggregateBy", label, 0], "unknown_operator", `unknown aggregation ${JSON.stringify(kind)}; ${AGGREGATION_SHAPE}`);
      continue;
    }
    if (value.length === 1) {
      if (kind === "Sum") sink.add(["aggregateBy", label], "schema", 'Sum needs an attribute: ["Sum", "attribute"]');
      else out.push([label, { kind: "Count" }]);
      continue;
    }
    if (typeof field !== "string" || field.length === 0) {
      sink.add(["aggregateBy", label, 1], "schema", "expected an attribute name");
      continue;
    }
    out.push([label, kind === "Count" ? (field === "id" ? { kind: "Count" } : { kind: "Count", field }) : { kind: "Sum", field }]);
  }
  return Object.fromEntries(out);
}

const MAX_COMPUTED = 16;

/** `{"<name>": <ranking expression> | ["vector", "VectorDist", [numbers]]}`; every own key is a name. */
function parseComputeAttributes(raw: unknown, sink: IssueSink, options: ParseQueryOptions, rankBy: RankBy | undefined): Map<string, ComputeExpr> | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    sink.add(["computeAttributes"], "schema", 'expected an object like {"boost": ["Saturate", ["Attribute", "clicks"], {"midpoint": 10}]}');
    return undefined;
  }
  const names = Object.keys(raw);
  if (names.length === 0) sink.add(["computeAttributes"], "schema", "computeAttributes needs at least one entry");
  if (names.length > MAX_COMPUTED) sink.add(["computeAttributes"], "schema", `computeAttributes takes at most ${MAX_COMPUTED} entries`);
  const out = new Map<string, ComputeExpr>();
  for (const name of names) {
    const value = (raw as Record<string, unknown>)[name];
    const path: Path = ["computeAttributes", name];
    if (name.length === 0) sink.add(path, "schema", "computed attribute names must not be empty");
    if (Array.isArray(value) && value[1] === "VectorDist") {
      if (value[0] !== "vector" || value.length !== 3) {
        sink.add(path, "schema", 'VectorDist is ["vector", "VectorDist", [numbers]]');
        continue;
      }
      const vector = finiteArray(value[2], [...path, 2], sink, "the VectorDist vector");
      if (vector === undefined) continue;
      if (vector.length === 0) sink.add([...path, 2], "dimension_mismatch", "the VectorDist vector is empty");
      if (options.dimension !== undefined && vector.length !== options.dimension) {
        sink.add([...path, 2], "dimension_mismatch", `the VectorDist vector has ${vector.length} dimensions, the namespace ${options.dimension}`);
      }
      out.set(name, { kind: "vectorDist", vector: Float32Array.from(vector), path });
      continue;
    }
    if (Array.isArray(value) && value[0] === "Highlight") {
      const spec = parseHighlight(value, path, sink, rankBy);
      if (spec !== undefined) out.set(name, { kind: "highlight", spec, path });
      continue;
    }
    const expr = parseTextExpr(value, path, sink, 0, { clauses: 0, nodes: 0 });
    if (expr !== undefined) out.set(name, { kind: "expr", expr, path });
  }
  return out;
}

const HIGHLIGHT_SHAPE = '["Highlight", "<text field>", {"fragmentBy"?, "fragmentLimit"?, "includeOffsets"?, "rankFragmentsBy"?}]';
const HIGHLIGHT_OPTIONS = new Set(["fragmentBy", "fragmentLimit", "includeOffsets", "rankFragmentsBy"]);
const FRAGMENT_BY: ReadonlySet<string> = new Set(["none", "sentence", "paragraph", "word"]);
const OFFSET_UNITS: ReadonlySet<string> = new Set(["utf-8", "utf-16", "codepoints"]);

/** A fragment ranking: BM25 clauses over "$fragment" combined by Sum, Max and Product (true when it is one). */
function isFragmentRank(e: TextExpr): boolean {
  if (e.op === "bm25") return e.field === FRAGMENT_FIELD;
  if (e.op === "Sum" || e.op === "Max") return e.args.every(isFragmentRank);
  if (e.op === "Product") return isFragmentRank(e.arg);
  return false;
}

/** The BM25 clauses of `rankBy` over `field`, made to read the fragment (summed when several); undefined when none. */
function fragmentRankOf(rankBy: RankBy | undefined, field: string, path: Path): TextExpr | undefined {
  const clauses: TextExpr[] = [];
  const walk = (e: TextExpr) => {
    if (e.op === "bm25") {
      if (e.field === field) clauses.push({ ...e, field: FRAGMENT_FIELD });
    } else if (e.op === "Sum" || e.op === "Max") for (const a of e.args) walk(a);
    else if (e.op === "Product" || e.op === "Saturate" || e.op === "Decay" || e.op === "Dist") walk(e.arg);
  };
  const single = (r: SingleRankBy) => {
    if (r.kind === "bm25" && r.field === field) clauses.push({ op: "bm25", field: FRAGMENT_FIELD, query: r.query, lastAsPrefix: r.lastAsPrefix, path: r.path });
    else if (r.kind === "text") walk(r.expr);
  };
  if (rankBy === undefined) return undefined;
  if (rankBy.kind === "rrf") for (const q of rankBy.queries) single(q);
  else single(rankBy);
  if (clauses.length === 0) return undefined;
  return clauses.length === 1 ? clauses[0] : { op: "Sum", args: clauses, path };
}

function parseHighlight(raw: unknown[], path: Path, sink: IssueSink, rankBy: RankBy | undefined): HighlightSpec | undefined {
  const [, field, options] = raw;
  if (raw.length < 2 || raw.length > 3 || typeof field !== "string" || field.length === 0) {
    sink.add(path, "schema", `Highlight is ${HIGHLIGHT_SHAPE}`);
    return undefined;
  }
  const o: Record<string, unknown> = Object.create(null);
  if (options !== undefined) {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      sink.add([...path, 2], "schema", `Highlight is ${HIGHLIGHT_SHAPE}`);
      return undefined;
    }
    for (const [k, v] of Object.entries(options)) {
      if (!HIGHLIGHT_OPTIONS.has(k)) sink.add([...path, 2, k], "schema", `unknown Highlight option ${JSON.stringify(k)}; ${HIGHLIGHT_SHAPE}`);
      else o[k] = v;
    }
  }
  const fragmentBy = o["fragmentBy"] ?? "sentence";
  if (typeof fragmentBy !== "string" || !FRAGMENT_BY.has(fragmentBy)) sink.add([...path, 2, "fragmentBy"], "schema", 'fragmentBy is "none", "sentence", "paragraph" or "word"');
  const fragmentLimit = o["fragmentLimit"] ?? DEFAULT_FRAGMENT_LIMIT;
  if (typeof fragmentLimit !== "number" || !Number.isInteger(fragmentLimit) || fragmentLimit < 1 || fragmentLimit > MAX_FRAGMENT_LIMIT) {
    sink.add([...path, 2, "fragmentLimit"], "schema", `fragmentLimit is an integer from 1 to ${MAX_FRAGMENT_LIMIT}`);
  }
  const includeOffsets = o["includeOffsets"];
  if (includeOffsets !== undefined && (typeof includeOffsets !== "string" || !OFFSET_UNITS.has(includeOffsets))) {
    sink.add([...path, 2, "includeOffsets"], "schema", 'includeOffsets is "utf-8", "utf-16" or "codepoints"');
  }
  let rank: TextExpr | undefined;
  if (o["rankFragmentsBy"] !== undefined) {
    const at: Path = [...path, 2, "rankFragmentsBy"];
    rank = parseTextExpr(o["rankFragmentsBy"], at, sink, 0, { clauses: 0, nodes: 0 });
    if (rank !== undefined && !isFragmentRank(rank)) {
      sink.add(at, "unsupported", `rankFragmentsBy is BM25 clauses over ${JSON.stringify(FRAGMENT_FIELD)} (["${FRAGMENT_FIELD}", "BM25", "query"]) combined by Sum, Max and Product`);
      rank = undefined;
    }
  } else {
    rank = fragmentRankOf(rankBy, field, path);
    if (rank === undefined) {
      sink.add(path, "schema", `Highlight of ${JSON.stringify(field)} needs rankFragmentsBy, or a rankBy with a BM25 clause over ${JSON.stringify(field)}`);
    }
  }
  if (rank === undefined || sink.issues.length > 0) return undefined;
  return {
    field,
    rank,
    fragmentBy: fragmentBy as FragmentBy,
    fragmentLimit: fragmentLimit as number,
    ...(includeOffsets !== undefined ? { includeOffsets: includeOffsets as OffsetUnits } : {}),
  };
}

const MAX_GROUP_KEYS = 16;
const GROUP_SHAPE = 'a group key is an attribute name or {"<name>": ["ForEachUnique", "attribute"]}';

/** `["attr" | {"<name>": ["ForEachUnique", "attr"]}, ...]`: the keys' names in order and the function keys by name. */
function parseGroupBy(
  raw: unknown,
  sink: IssueSink,
): { names: string[]; functions: Map<string, { readonly op: "ForEachUnique"; readonly field: string }> } | undefined {
  if (!Array.isArray(raw) || raw.length === 0) {
    sink.add(["groupBy"], "schema", `groupBy is a non-empty list; ${GROUP_SHAPE}`);
    return undefined;
  }
  const names: string[] = [];
  const functions = new Map<string, { readonly op: "ForEachUnique"; readonly field: string }>();
  const seen = new Set<string>();
  const add = (name: string, path: Path) => {
    if (seen.has(name)) sink.add(path, "schema", `group key ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    names.push(name);
  };
  raw.forEach((entry, i) => {
    if (typeof entry === "string") {
      if (entry.length === 0) sink.add(["groupBy", i], "schema", "group keys must not be empty");
      else add(entry, ["groupBy", i]);
      return;
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry) || Object.keys(entry).length === 0) {
      sink.add(["groupBy", i], "schema", GROUP_SHAPE);
      return;
    }
    for (const name of Object.keys(entry)) {
      const fn = (entry as Record<string, unknown>)[name];
      if (name.length === 0) sink.add(["groupBy", i, name], "schema", "group key names must not be empty");
      else if (!Array.isArray(fn) || fn.length !== 2 || typeof fn[1] !== "string" || fn[1].length === 0) {
        sink.add(["groupBy", i, name], "schema", GROUP_SHAPE);
      } else if (fn[0] !== "ForEachUnique") {
        sink.add(["groupBy", i, name, 0], "unknown_operator", `unknown group function ${JSON.stringify(fn[0])} (ForEachUnique is served)`);
      } else {
        add(name, ["groupBy", i, name]);
        functions.set(name, { op: "ForEachUnique", field: fn[1] });
      }
    }
  });
  if (names.length > MAX_GROUP_KEYS) sink.add(["groupBy"], "schema", `groupBy takes at most ${MAX_GROUP_KEYS} keys`);
  return { names, functions };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Validate a request (parsed JSON, or an object built in code). Throws InvalidQueryError. */
export function parseQueryRequest(json: unknown, options: ParseQueryOptions = {}): QueryRequest {
  const maxTopK = options.maxTopK ?? DEFAULT_MAX_TOP_K;
  const sink = new IssueSink();
  const base = requestSchema.safeParse(json);
  if (!base.success) {
    for (const issue of base.error.issues) {
      const path = issue.path as (string | number)[];
      const at = valueAt(json, path);
      const reason: InvalidQueryReason =
        typeof at === "number" && !Number.isFinite(at) ? "not_finite" : issue.code === "unrecognized_keys" ? "unknown_field" : "schema";
      sink.add(path, reason, issue.message);
    }
    throw new InvalidQueryError(sink.issues);
  }
  const b = base.data;
  const topK = b.topK ?? 10;
  if (topK > maxTopK) sink.add(["topK"], "top_k_cap", `topK ${topK} is above the cap ${maxTopK}`);
  const rankBy = b.rankBy === undefined ? undefined : parseRankBy(b.rankBy, ["rankBy"], sink, options, maxTopK);
  const filters = b.filters === undefined ? undefined : parseFilter(b.filters, ["filters"], sink, 0);
  if (b.distanceThreshold !== undefined && (rankBy === undefined || rankBy.kind !== "vector")) {
    sink.add(["distanceThreshold"], "unsupported", "distanceThreshold applies to dense vector ranking only");
  }
  if (b.groupBy !== undefined && b.aggregateBy === undefined) {
    sink.add(["groupBy"], "schema", "groupBy needs aggregateBy");
  }
  const aggregateBy = b.aggregateBy === undefined ? undefined : parseAggregateBy(b.aggregateBy, sink);
  const groupBy = b.groupBy === undefined ? undefined : parseGroupBy(b.groupBy, sink);
  const computeAttributes = b.computeAttributes === undefined ? undefined : parseComputeAttributes(b.computeAttributes, sink, options, rankBy);
  if (b.limitPer !== undefined && aggregateBy !== undefined) sink.add(["limitPer"], "unsupported", "limitPer cuts rows; it does not apply with aggregateBy");
  if (b.limitPer !== undefined && rankBy?.kind === "rrf") sink.add(["limitPer"], "unsupported", "limitPer does not apply to RRF");
  if (sink.issues.length > 0) throw new InvalidQueryError(sink.issues);
  return {
    ...(rankBy !== undefined ? { rankBy } : {}),
    ...(filters !== undefined ? { filters } : {}),
    topK,
    includeAttributes: b.includeAttributes === true ? "all" : b.includeAttributes === undefined || b.includeAttributes === false ? "none" : b.includeAttributes,
    includeVectors: b.includeVectors ?? false,
    ...(b.distanceMetric !== undefined ? { distanceMetric: b.distanceMetric } : {}),
    ...(b.distanceThreshold !== undefined ? { distanceThreshold: b.distanceThreshold } : {}),
    ...(aggregateBy !== undefined ? { aggregateBy } : {}),
    ...(groupBy !== undefined ? { groupBy: groupBy.names } : {}),
    ...(groupBy !== undefined && groupBy.functions.size > 0 ? { groupByFunctions: groupBy.functions } : {}),
    consistency: b.consistency ?? "strong",
    ...(b.atVersion !== undefined ? { atVersion: b.atVersion } : {}),
    ...(b.probes !== undefined ? { probes: b.probes } : {}),
    ...(b.limitPer !== undefined ? { limitPer: b.limitPer } : {}),
    ...(computeAttributes !== undefined ? { computeAttributes } : {}),
  };
}
