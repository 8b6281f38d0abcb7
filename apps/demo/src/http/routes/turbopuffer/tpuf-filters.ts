/**
 * turbopuffer filters -> the engine's filters (docs/query.md "Filters").
 *
 * | turbopuffer | engine |
 * | --- | --- |
 * | And, Or, Not | And, Or, Not |
 * | Eq, NotEq, In, NotIn, Lt, Lte, Gt, Gte, Glob, IGlob, Regex, ContainsAny, AnyLt, AnyLte, AnyGt, AnyGte | the same |
 * | Eq null / NotEq null | Not Exists / Exists |
 * | Lt v, Lte v (v not null, not on id) | Or [Lt / Lte v, Not Exists]: they match null values, as turbopuffer documents |
 * | NotGlob, NotIGlob, NotContainsAny | Not Glob, Not IGlob, Not ContainsAny |
 * | Contains v / NotContains v | ContainsAny [v] / Not ContainsAny [v] |
 * | ContainsAllTokens / ContainsAnyToken (text, {last_as_prefix}) | the same on the attribute's text field (full_text_search) |
 * | ContainsTokenSequence (text) | the same on the attribute's text field (a phrase: the tokens consecutively, in order) |
 * | Fuzzy (text, {max_edit_distance, case_sensitive}) | the engine's FuzzySubstring on a string or []string attribute declared `fuzzy: true`: a substring of the value (an element) within the text's edit distance |
 *
 * In write conditions an operand may be `{"$ref_new": attribute}`, and so may
 * elements of the list operand of In / NotIn / ContainsAny / NotContainsAny:
 * they are passed through unconverted (the engine binds them to the new
 * document's stored value, write-condition.ts; Contains / NotContains of a
 * reference become ContainsAny / Not ContainsAny of a one-element list). A
 * reference as a pattern (Glob, IGlob, Regex and negations) or a token
 * filter operand is a 400 naming its position.
 *
 * Operands on `id` become engine ids (a `uint` namespace's zero-padded
 * digits); operands on `datetime` and `uuid` attributes are stored values
 * (UTC ISO strings, lower-case UUIDs: tpuf-schema.ts `storedValue`); pattern
 * operands (Glob, IGlob, Regex and their negations) stay as written. Every
 * other operator is a 400 naming it.
 */
import { ApiError } from "../../api-error.ts";
import { type IdType, toEngineId } from "./tpuf-ids.ts";
import { isFullText, isPreTokenized, patternOnlyOps, storedValue, type TpufSchema } from "./tpuf-schema.ts";
import { preTokenizedText } from "./tpuf-tokens.ts";

const SAME = new Set(["Eq", "NotEq", "In", "NotIn", "Lt", "Lte", "Gt", "Gte", "Glob", "IGlob", "Regex", "ContainsAny", "AnyLt", "AnyLte", "AnyGt", "AnyGte"]);
const NEGATED: ReadonlyMap<string, string> = new Map([
  ["NotGlob", "Glob"],
  ["NotIGlob", "IGlob"],
  ["NotContainsAny", "ContainsAny"],
]);
/** Operators whose list operand may hold `$ref_new` elements (write conditions). */
const LIST_OPS = new Set(["In", "NotIn", "ContainsAny", "NotContainsAny"]);
/** Operators whose operand is a pattern, never an id or a stored value. */
const PATTERN_OPS = new Set(["Glob", "IGlob", "NotGlob", "NotIGlob", "Regex"]);

function unsupported(op: string, path: string): never {
  throw new ApiError("InvalidQuery", `${path}: the filter operator ${JSON.stringify(op)} is not supported by Skerry (see docs/turbopuffer-compat.md)`, {
    unsupported: op,
  });
}

function isRefNew(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.hasOwn(value, "$ref_new");
}

export function translateFilter(filter: unknown, idType: IdType, path = "filters", schema: TpufSchema = new Map()): unknown[] {
  if (!Array.isArray(filter) || filter.length < 2) throw new ApiError("InvalidQuery", `${path}: a filter is [attribute, op, value], ["And"|"Or", [filters]] or ["Not", filter]`);
  const [head, second] = filter as [unknown, unknown, unknown];
  if (head === "And" || head === "Or") {
    if (!Array.isArray(second)) throw new ApiError("InvalidQuery", `${path}: ${head} takes a list of filters`);
    return [head, second.map((f, i) => translateFilter(f, idType, `${path}.${head}[${i}]`, schema))];
  }
  if (head === "Not" && filter.length === 2) return ["Not", translateFilter(second, idType, `${path}.Not`, schema)];
  if (typeof head !== "string" || typeof second !== "string") throw new ApiError("InvalidQuery", `${path}: a filter is [attribute, op, value]`);
  const field = head;
  const op = second;
  let value = filter[2] as unknown;
  if (op === "ContainsAllTokens" || op === "ContainsAnyToken" || op === "ContainsTokenSequence") return tokenFilter(field, op, value, filter[3], path, schema);
  // `regex` / `glob` / `fuzzy` with filterable: false (their default): only the filters they enable.
  const only = patternOnlyOps(schema.get(field));
  if (only !== undefined && !only.has(op)) {
    throw new ApiError(
      "InvalidQuery",
      `${path}: attribute ${JSON.stringify(field)} is not filterable (regex, glob or fuzzy set it to filterable: false by default); it takes ${[...only].join(", ")}; declare filterable: true for other filters`,
    );
  }
  if (op === "Fuzzy") return fuzzyFilter(field, value, filter, path, schema);
  if (filter.length > 3) unsupported(`${op} with parameters`, path);
  if (schema.get(field)?.type === "{}f16" && !(value === null && (op === "Eq" || op === "NotEq"))) {
    throw new ApiError("InvalidQuery", `${path}: ${JSON.stringify(field)} is a sparse vector: rank by it with SparseKNN; a filter on it only tests presence (Eq / NotEq null)`);
  }
  // A condition's reference to the new document's value: the engine binds it (its values are stored values already).
  if (isRefNew(value)) {
    if (PATTERN_OPS.has(op)) throw new ApiError("InvalidQuery", `${path}: {"$ref_new": attribute} is not a pattern: ${op} takes a literal string`);
    if (op === "Contains") return [field, "ContainsAny", [value]];
    if (op === "NotContains") return ["Not", [field, "ContainsAny", [value]]];
    if (SAME.has(op)) return [field, op, value];
    const negated = NEGATED.get(op);
    if (negated !== undefined) return ["Not", [field, negated, value]];
    throw new ApiError("InvalidQuery", `${path}: {"$ref_new": attribute} is not an operand of ${JSON.stringify(op)}`);
  }
  if (Array.isArray(value) && value.some(isRefNew) && !LIST_OPS.has(op)) {
    throw new ApiError("InvalidQuery", `${path}[2][${value.findIndex(isRefNew)}]: {"$ref_new": attribute} may be a list element only of ${[...LIST_OPS].join(", ")}`);
  }
  if (field === "id" && value !== null && value !== undefined) {
    // References among list elements stay as they are (the engine binds them to the new document's values).
    const convert = (v: unknown) => (isRefNew(v) ? v : toEngineId(v, idType, `${path} (id operand)`));
    if ((op === "In" || op === "NotIn") && Array.isArray(value)) value = value.map(convert);
    else if (!PATTERN_OPS.has(op)) value = convert(value);
  }
  const type = field === "id" ? undefined : schema.get(field)?.type;
  if ((type === "datetime" || type === "uuid" || type === "[]datetime" || type === "[]uuid") && value !== null && !PATTERN_OPS.has(op)) {
    const scalar = type.startsWith("[]") ? type.slice(2) : type;
    value = Array.isArray(value) ? value.map((v) => (isRefNew(v) ? v : storedValue(scalar, v, path))) : storedValue(scalar, value, path);
  }
  if (value === null && (op === "Eq" || op === "NotEq")) return op === "Eq" ? ["Not", [field, "Exists"]] : [field, "Exists"];
  // turbopuffer's Lt "matches null attribute values unless the value passed to Lt is null itself", and so does Lte
  // (https://turbopuffer.com/docs/query, "Filtering Parameters"); Gt and Gte do not. `id` is never null.
  if ((op === "Lt" || op === "Lte") && value !== null && field !== "id") return ["Or", [[field, op, value], ["Not", [field, "Exists"]]]];
  if (SAME.has(op)) return [field, op, value];
  const negated = NEGATED.get(op);
  if (negated !== undefined) return ["Not", [field, negated, value]];
  if (op === "Contains") return [field, "ContainsAny", [value]];
  if (op === "NotContains") return ["Not", [field, "ContainsAny", [value]]];
  return unsupported(op, path);
}

/**
 * A token filter on a full_text_search attribute: the engine's filter of the same name on the text field the
 * attribute is also written as (tpuf-schema.ts); `last_as_prefix` -> `lastAsPrefix`.
 */
function tokenFilter(field: string, op: string, value: unknown, params: unknown, path: string, schema: TpufSchema): unknown[] {
  if (!isFullText(schema.get(field))) {
    throw new ApiError("InvalidQuery", `${path}: ${op} needs full_text_search on ${JSON.stringify(field)}`);
  }
  // On a pre_tokenized_array attribute the operand is an array of tokens, used as they are.
  if (isPreTokenized(schema.get(field))) value = preTokenizedText(value, path, "InvalidQuery");
  if (params === undefined) return [field, op, value];
  if (op === "ContainsTokenSequence") unsupported(`${op} with parameters`, path);
  if (typeof params !== "object" || params === null || Array.isArray(params)) throw new ApiError("InvalidQuery", `${path}: ${op} parameters are an object`);
  const out: [string, unknown][] = [];
  for (const [key, v] of Object.entries(params)) {
    if (key === "last_as_prefix") out.push(["lastAsPrefix", v]);
    else unsupported(`${op} parameter ${key}`, path);
  }
  return [field, op, value, Object.fromEntries(out)];
}

/** turbopuffer's largest Fuzzy edit distance ("distance can be 0, 1, or 2", https://turbopuffer.com/docs/query). */
const MAX_FUZZY_DISTANCE = 2;

/**
 * `[attr, "Fuzzy", text, {max_edit_distance: [{distance, min_query_chars}], case_sensitive?}]` -> the engine's
 * FuzzySubstring (query/fuzzy-substring.ts), as turbopuffer documents Fuzzy (https://turbopuffer.com/docs/query,
 * "Fuzzy"; https://turbopuffer.com/docs/fts, "Fuzzy matching"): a substring of the attribute's string value within
 * the text's edit distance, the distance chosen by the text's length (`max_edit_distance` required, distances 0 to
 * 2, `min_query_chars` at least 3 * (distance + 1)), case-sensitive unless `case_sensitive: false`; the attribute
 * needs `fuzzy: true` in the schema. On a `[]string` attribute each string element is tested.
 */
function fuzzyFilter(field: string, value: unknown, filter: readonly unknown[], path: string, schema: TpufSchema): unknown[] {
  const attr = schema.get(field);
  if (attr?.["fuzzy"] !== true) {
    throw new ApiError("InvalidQuery", `${path}: Fuzzy needs fuzzy: true in the schema of ${JSON.stringify(field)} (https://turbopuffer.com/docs/write, "fuzzy")`);
  }
  if (attr.type !== "string" && attr.type !== "[]string") throw new ApiError("InvalidQuery", `${path}: Fuzzy takes a string or []string attribute; ${JSON.stringify(field)} is ${attr.type}`);
  if (filter.length !== 4) throw new ApiError("InvalidQuery", `${path}: Fuzzy is [attribute, "Fuzzy", text, {max_edit_distance: [{distance, min_query_chars}], case_sensitive?}] (max_edit_distance is required)`);
  if (typeof value !== "string") throw new ApiError("InvalidQuery", `${path}: Fuzzy takes a string`);
  const params = filter[3];
  if (typeof params !== "object" || params === null || Array.isArray(params)) throw new ApiError("InvalidQuery", `${path}: Fuzzy parameters are an object`);
  const out: [string, unknown][] = [];
  for (const [key, v] of Object.entries(params)) {
    if (key === "case_sensitive") out.push(["caseSensitive", v]);
    else if (key === "max_edit_distance") {
      if (!Array.isArray(v) || v.length === 0) throw new ApiError("InvalidQuery", `${path}: max_edit_distance is a non-empty list of {distance, min_query_chars}`);
      out.push([
        "maxEditDistance",
        v.map((e) => {
          if (typeof e !== "object" || e === null || Array.isArray(e)) throw new ApiError("InvalidQuery", `${path}: max_edit_distance is a list of {distance, min_query_chars}`);
          const entry: [string, unknown][] = [];
          for (const [k, x] of Object.entries(e)) {
            if (k === "distance") {
              if (typeof x === "number" && x > MAX_FUZZY_DISTANCE) throw new ApiError("InvalidQuery", `${path}: a Fuzzy distance is 0, 1 or 2; got ${x}`);
              entry.push(["distance", x]);
            } else if (k === "min_query_chars") entry.push(["minQueryChars", x]);
            else unsupported(`Fuzzy max_edit_distance field ${k}`, path);
          }
          return Object.fromEntries(entry);
        }),
      ]);
    } else unsupported(`Fuzzy parameter ${key}`, path);
  }
  if (!out.some(([k]) => k === "maxEditDistance")) throw new ApiError("InvalidQuery", `${path}: Fuzzy needs max_edit_distance (turbopuffer requires it)`);
  return [field, "FuzzySubstring", value, Object.fromEntries(out)];
}
