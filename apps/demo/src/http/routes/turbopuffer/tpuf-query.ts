/**
 * `POST /v2/namespaces/:namespace/query` (and the multi-query overload,
 * explain_query): a turbopuffer query -> one engine query request
 * (docs/query.md), answered at one manifest version, rows reshaped to
 * turbopuffer's (`id`, `$dist`, the attributes flattened into the row,
 * `vector` as floats or base64).
 *
 * rank_by: `["vector", "ANN"|"kNN", [..]]` -> the engine's dense ranking
 * (the one vector attribute is `vector`); `[attr, "BM25", "q"]` on a
 * full_text_search attribute -> BM25 (`$dist` is the score); `[attr,
 * "asc"|"desc"]` (or a list of them: several keys) -> attribute order; none
 * -> id order; `limit: {total, per}` -> `topK` = total and the engine's `limitPer`; ranking expressions (`Sum` / `Max` /
 * `Product` / `Saturate` / `Decay` / `Dist` / `Attribute` over BM25 clauses, attributes, filters and numbers) -> the
 * engine's ranking expressions (tpuf-text-rank.ts). euclidean_squared namespaces are the engine's EUCLIDEAN:
 * `$dist` is the L2 distance squared (same order). `[attr, "SparseKNN", {dim: weight}]` on the namespace's
 * `{}f16` attribute -> the engine's sparse dot product (`$dist` is the dot product, larger first; rows scoring 0
 * are left out), also as a clause of ranking expressions. Anything else (multi-vector or expression ANN, BM25 clause parameters other than
 * `last_as_prefix` (-> the engine's `lastAsPrefix`), Embed) is a 400 naming it.
 * `compute_attributes` -> the engine's computeAttributes (ranking expressions, VectorDist, Highlight with its
 * fragments' keys in snake_case), flattened into the rows. `group_by` takes attributes and `{name: ["ForEachUnique", attribute]}`
 * (the engine's group functions). A multi-query's `rerank_by`
 * (RRF) is fused here (tpuf-rerank.ts).
 */
import { setOwn } from "./tpuf-own.ts";
import type { NamespaceEngine } from "@skerry/namespace-engine";
import type { Manifest } from "@skerry/wal-format";
import { ApiError } from "../../api-error.ts";
import { translateFilter } from "./tpuf-filters.ts";
import { stringifyJson } from "../../lossless-json.ts";
import { fromEngineId, type IdType } from "./tpuf-ids.ts";
import { idTypeOf, isFullText, isPreTokenized, patternOnlyOps, readSchema, sparseAttributeOf, type TpufSchema } from "./tpuf-schema.ts";
import { preTokenizedText } from "./tpuf-tokens.ts";
import { decodeSparse } from "./tpuf-sparse.ts";
import { fuseRrf, parseRerankBy } from "./tpuf-rerank.ts";
import { isRankExpression, translateTextRank } from "./tpuf-text-rank.ts";
import { decodeVector, encodeVectorBase64 } from "./tpuf-vectors.ts";
import { engineMetric } from "./tpuf-write.ts";

const QUERY_KEYS = new Set([
  "rank_by",
  "top_k",
  "limit",
  "filters",
  "include_attributes",
  "exclude_attributes",
  "aggregate_by",
  "group_by",
  "consistency",
  "vector_encoding",
  "distance_metric",
  "compute_attributes",
]);

export const MAX_TOP_K = 10_000;

function unsupported(what: string, path: string): never {
  throw new ApiError("InvalidQuery", `${path}: ${what} is not supported by Skerry (see docs/turbopuffer-compat.md)`, { unsupported: what });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface QueryTarget {
  readonly manifest: Manifest;
  readonly schema: TpufSchema;
  readonly idType: IdType;
}

export function targetOf(manifest: Manifest): QueryTarget {
  const schema = readSchema(manifest);
  return { manifest, schema, idType: idTypeOf(schema) ?? "string" };
}

/** How engine rows become turbopuffer rows. */
interface OutputPlan {
  readonly squareDistance: boolean;
  /** Attributes not to answer (exclude_attributes). */
  readonly exclude: ReadonlySet<string>;
  readonly base64: boolean;
  readonly aggregateOnly: boolean;
  /** Computed attributes answered squared (VectorDist in a euclidean_squared query). */
  readonly squareComputed: ReadonlySet<string>;
  /** Computed attributes that are Highlights (their fragments' keys answered in turbopuffer's snake_case). */
  readonly highlightComputed: ReadonlySet<string>;
  /**
   * Score rankings (SparseKNN, ranking expressions): rows scoring 0 are left out, as turbopuffer does ("Documents
   * with a score of zero are excluded from results", https://turbopuffer.com/docs/query). Scores are never negative
   * there (signed attributes only where clamped, non-negative weights), so the 0 rows are the ranking's tail.
   */
  readonly dropZeroScores: boolean;
  /**
   * group_by: "Up to limit.total groups are returned, ordered by group key" (https://turbopuffer.com/docs/query): the
   * engine answers up to 10,000 groups (by size), which are ordered by their key values here and cut to the limit.
   */
  readonly groupOrder?: { readonly keys: readonly string[]; readonly limit: number } | undefined;
}

export interface Translated {
  readonly request: Record<string, unknown>;
  readonly plan: OutputPlan;
}

function translateBm25(clause: readonly unknown[], target: QueryTarget, path: string): unknown[] {
  const [field, , operand, params] = clause;
  if (typeof field !== "string") throw new ApiError("InvalidQuery", `${path}: BM25 names an attribute`);
  let lastAsPrefix: unknown;
  if (params !== undefined) {
    if (typeof params !== "object" || params === null || Array.isArray(params)) throw new ApiError("InvalidQuery", `${path}: BM25 clause parameters are an object like {"last_as_prefix": true}`);
    for (const [key, v] of Object.entries(params)) {
      if (key === "last_as_prefix") lastAsPrefix = v;
      else unsupported(`BM25 clause parameter ${key}`, path);
    }
  }
  // An attribute the schema knows must be full-text searchable; a field it does not know may be a text
  // field written through Skerry's own API (the engine answers nothing for a field no document has).
  if (target.schema.has(field) && !isFullText(target.schema.get(field))) {
    throw new ApiError("InvalidQuery", `${path}: attribute ${JSON.stringify(field)} is not full-text searchable: declare it in the schema with full_text_search: true`);
  }
  // A pre_tokenized_array attribute is queried with an array of tokens, used as they are.
  const preTokenized = isPreTokenized(target.schema.get(field));
  const q = preTokenized ? preTokenizedText(operand, path, "InvalidQuery") : Array.isArray(operand) ? operand.join(" ") : operand;
  if (typeof q !== "string") throw new ApiError("InvalidQuery", `${path}: BM25 takes a query string`);
  return lastAsPrefix === undefined ? [field, "BM25", q] : [field, "BM25", q, { lastAsPrefix }];
}

/**
 * An order key: "Documents with a missing or null value for the rank_by attribute are sorted first in ascending
 * order and last in descending order" (https://turbopuffer.com/docs/query, "Ordering by attributes"): ascending
 * keys take the engine's `{"missing": "first"}` (descending ones its default, last). `id` is never missing.
 */
function orderKey(field: string, order: "asc" | "desc"): unknown[] {
  return order === "asc" && field !== "id" ? [field, order, { missing: "first" }] : [field, order];
}

/** A 400 for an order by an attribute that `regex` / `glob` / `fuzzy` left `filterable: false` (the engine refuses the others). */
function checkOrderable(field: string, target: QueryTarget, path: string): void {
  if (patternOnlyOps(target.schema.get(field)) !== undefined) {
    throw new ApiError("InvalidQuery", `${path}: attribute ${JSON.stringify(field)} is not filterable (regex, glob or fuzzy set it to filterable: false by default): no order by it; declare filterable: true`);
  }
}

function translateRankBy(rankBy: unknown, target: QueryTarget, path: string): unknown[] {
  if (!Array.isArray(rankBy) || rankBy.length < 2) {
    if (Array.isArray(rankBy) && rankBy.length === 1 && Array.isArray(rankBy[0])) return translateRankBy(rankBy[0], target, path);
    throw new ApiError("InvalidQuery", `${path}: rank_by is [attribute, "ANN"|"kNN", vector], [attribute, "BM25", query] or [attribute, "asc"|"desc"]`);
  }
  if (Array.isArray(rankBy[0])) {
    if (rankBy.length === 1) return translateRankBy(rankBy[0], target, path);
    // Several order attributes: the engine's multi-key order (ties on a key go to the next, then id).
    return rankBy.map((key, i) => {
      if (!Array.isArray(key) || key.length !== 2 || typeof key[0] !== "string" || (key[1] !== "asc" && key[1] !== "desc")) {
        throw new ApiError("InvalidQuery", `${path}[${i}]: an order key is [attribute, "asc"|"desc"]`);
      }
      checkOrderable(key[0], target, `${path}[${i}]`);
      return orderKey(key[0], key[1]);
    });
  }
  const [field, op, operand, params] = rankBy as [unknown, unknown, unknown, unknown];
  if (typeof field !== "string") return unsupported(`rank_by ${JSON.stringify(field)}`, path);
  if (op === "asc" || op === "desc") {
    if (target.schema.get(field)?.type === "{}f16") throw new ApiError("InvalidQuery", `${path}: ${JSON.stringify(field)} is a sparse vector: rank by it with SparseKNN, not by order`);
    checkOrderable(field, target, path);
    return orderKey(field, op);
  }
  if (op === "ANN" || op === "kNN") {
    if (field !== "vector") return unsupported(`vector search on ${JSON.stringify(field)} (Skerry has one vector attribute, "vector")`, path);
    if (Array.isArray(operand) && operand.length > 0 && Array.isArray(operand[0])) return unsupported("multi-vector ANN", path);
    if (!Array.isArray(operand) && typeof operand !== "string") return unsupported(`${op} on an expression`, path);
    return ["vector", op, decodeVector(operand, `${path}[2]`)];
  }
  if (op === "BM25") return translateBm25([field, op, operand, params], target, path);
  if (op === "SparseKNN") return translateSparseKnn(rankBy, target, path);
  if (typeof op === "string") return unsupported(`rank_by operator ${op}`, path);
  return unsupported("this rank_by", path);
}

/**
 * `[attr, "SparseKNN", {dim: weight}]` (a ranking, or a clause of a ranking expression: turbopuffer's docs/query,
 * "SparseKNN is compatible with FTS operators") -> the engine's `["sparse", "Dot", {indices, values}]`: the
 * namespace's one {}f16 attribute is the engine's sparse vector; a dot product, larger first.
 */
function translateSparseKnn(clause: readonly unknown[], target: QueryTarget, path: string): unknown[] {
  const [field, , operand, params] = clause;
  const sparse = sparseAttributeOf(target.schema);
  if (field !== sparse) {
    throw new ApiError(
      "InvalidQuery",
      sparse === undefined
        ? `${path}: SparseKNN on ${JSON.stringify(field)}: the namespace has no sparse vector attribute (declare one with type {}f16)`
        : `${path}: SparseKNN on ${JSON.stringify(field)}: the namespace's sparse vector attribute is ${JSON.stringify(sparse)}`,
    );
  }
  if (clause.length > 3 && params !== undefined) unsupported("SparseKNN parameters", path);
  const q = decodeSparse(operand, `${path}[2]`, false, "InvalidQuery");
  return ["sparse", "Dot", { indices: q.indices, values: q.values }];
}

/** Names a computed attribute cannot take: they are the row's own fields. */
const RESERVED_ROW_KEYS = new Set(["id", "vector", "$dist"]);

/**
 * `compute_attributes: {name: expr}` -> the engine's computeAttributes: ranking expressions (BM25 clauses, filters,
 * Attribute, Saturate, ...), `["vector", "VectorDist", v]` and Highlight (translateHighlight); Embed (needs an
 * embedding model) and `$ref_new` are a 400 naming them.
 */
function translateComputeAttributes(raw: unknown, target: QueryTarget, path: string): { entries: [string, unknown][]; vectorDist: string[]; highlights: string[] } {
  if (!isObject(raw)) throw new ApiError("InvalidQuery", `${path}: an object of name -> expression`);
  const entries: [string, unknown][] = [];
  const vectorDist: string[] = [];
  const highlights: string[] = [];
  const leaves = {
    bm25: (clause: unknown[], at: string) => translateBm25(clause, target, at),
    sparse: (clause: unknown[], at: string) => translateSparseKnn(clause, target, at),
    filter: (f: unknown[], at: string) => translateFilter(f, target.idType, at, target.schema),
    // No attributeType: a computed attribute is not a ranking score, so a signed Attribute is not refused here.
  };
  for (const [name, expr] of Object.entries(raw)) {
    const at = `${path}.${name}`;
    if (RESERVED_ROW_KEYS.has(name)) throw new ApiError("InvalidQuery", `${at}: ${JSON.stringify(name)} names a field every row has`);
    if (isObject(expr)) {
      if (Object.hasOwn(expr, "$ref_new")) unsupported("$ref_new in compute_attributes ($ref_new refers to a write's new document: write conditions only)", at);
      throw new ApiError("InvalidQuery", `${at}: a computed attribute is an expression`);
    }
    if (!Array.isArray(expr) && typeof expr !== "number") throw new ApiError("InvalidQuery", `${at}: a computed attribute is an expression`);
    const [head, op, operand] = (Array.isArray(expr) ? expr : []) as [unknown, unknown, unknown];
    if (head === "Embed") unsupported("Embed (it needs an embedding model; Skerry has none: pass the vector itself)", at);
    if (head === "Highlight") {
      entries.push([name, translateHighlight(expr as unknown[], target, at)]);
      highlights.push(name);
      continue;
    }
    if (op === "VectorDist") {
      if (head !== "vector") unsupported(`VectorDist on ${JSON.stringify(head)} (Skerry has one vector attribute, "vector")`, at);
      if (Array.isArray(operand) && operand[0] === "Embed") unsupported("Embed (it needs an embedding model; Skerry has none: pass the vector itself)", at);
      if (!Array.isArray(operand) && typeof operand !== "string") unsupported("VectorDist on an expression", at);
      entries.push([name, ["vector", "VectorDist", decodeVector(operand, `${at}[2]`)]]);
      vectorDist.push(name);
      continue;
    }
    if (typeof expr !== "number" && !isRankExpression(expr) && op !== "BM25" && op !== "SparseKNN") {
      throw new ApiError("InvalidQuery", `${at}: a computed attribute is a ranking expression (BM25, SparseKNN, Attribute, a filter, Sum, Saturate, ...) or VectorDist`);
    }
    entries.push([name, translateTextRank(expr, leaves, at)]);
  }
  return { entries, vectorDist, highlights };
}

const HIGHLIGHT_OPTIONS: ReadonlyMap<string, string> = new Map([
  ["fragment_by", "fragmentBy"],
  ["fragment_limit", "fragmentLimit"],
  ["include_offsets", "includeOffsets"],
  ["rank_fragments_by", "rankFragmentsBy"],
]);

/**
 * `["Highlight", attr, {fragment_by?, fragment_limit?, include_offsets?, rank_fragments_by?}]` -> the engine's
 * Highlight: attr must be a full-text searchable attribute (not pre_tokenized_array); rank_fragments_by is BM25
 * clauses over "$fragment" combined by Sum / Max / Product (else a 400), by default the query's BM25 clauses over
 * attr (the engine's; none is a 400).
 */
function translateHighlight(expr: unknown[], target: QueryTarget, path: string): unknown[] {
  const [, field, config] = expr;
  if (expr.length < 2 || expr.length > 3 || typeof field !== "string") throw new ApiError("InvalidQuery", `${path}: Highlight is ["Highlight", attribute, {options}?]`);
  const definition = target.schema.get(field);
  if (definition === undefined) throw new ApiError("InvalidQuery", `${path}: attribute ${JSON.stringify(field)} does not exist in the namespace`);
  if (!isFullText(definition)) throw new ApiError("InvalidQuery", `${path}: attribute ${JSON.stringify(field)} is not enabled for full-text search: Highlight needs full_text_search`);
  if (isPreTokenized(definition)) throw new ApiError("InvalidQuery", `${path}: attribute ${JSON.stringify(field)} is pre_tokenized_array: it has no text to highlight`);
  const options: Record<string, unknown> = {};
  if (config !== undefined) {
    if (!isObject(config)) throw new ApiError("InvalidQuery", `${path}[2]: Highlight options are an object`);
    for (const [key, value] of Object.entries(config)) {
      const engineKey = HIGHLIGHT_OPTIONS.get(key);
      if (engineKey === undefined) throw new ApiError("InvalidQuery", `${path}[2]: unknown Highlight option ${JSON.stringify(key)}; expected fragment_by, fragment_limit, include_offsets or rank_fragments_by`);
      if (key === "rank_fragments_by") setOwn(options, engineKey, translateFragmentRank(value, target, field, `${path}[2].rank_fragments_by`));
      else setOwn(options, engineKey, value);
    }
  }
  return ["Highlight", field, options];
}

/** rank_fragments_by: BM25 clauses over "$fragment" (tokenized as `field`) combined by Sum, Max and Product. */
function translateFragmentRank(raw: unknown, target: QueryTarget, field: string, path: string): unknown {
  if (!Array.isArray(raw)) throw new ApiError("InvalidQuery", `${path}: a fragment ranking is BM25 clauses over "$fragment" combined by Sum, Max and Product`);
  const [head, op] = raw;
  if (head === "$fragment" && op === "BM25") {
    const clause = translateBm25([field, ...raw.slice(1)], target, path);
    return ["$fragment", ...clause.slice(1)];
  }
  if ((head === "Sum" || head === "Max") && Array.isArray(raw[1]) && raw.length === 2) return [head, raw[1].map((e, i) => translateFragmentRank(e, target, field, `${path}[1][${i}]`))];
  if (head === "Product" && raw.length === 3) {
    if (typeof raw[1] === "number") return ["Product", raw[1], translateFragmentRank(raw[2], target, field, `${path}[2]`)];
    if (typeof raw[2] === "number") return ["Product", raw[2], translateFragmentRank(raw[1], target, field, `${path}[1]`)];
  }
  return unsupported(`${JSON.stringify(head)} in rank_fragments_by (Skerry ranks fragments by BM25 clauses over "$fragment" combined by Sum, Max and Product)`, path);
}

/** An engine Highlight fragment as turbopuffer writes it. */
function tpufFragment(f: { text: string; fragmentRange?: unknown; matchRanges?: unknown; arrayIndex?: unknown }): Record<string, unknown> {
  const out: Record<string, unknown> = { text: f.text };
  if (f.fragmentRange !== undefined) out["fragment_range"] = f.fragmentRange;
  if (f.matchRanges !== undefined) out["match_ranges"] = f.matchRanges;
  if (f.arrayIndex !== undefined) out["array_index"] = f.arrayIndex;
  return out;
}

export function translateQuery(query: unknown, target: QueryTarget, path = "query", extraKeys: ReadonlySet<string> = new Set()): Translated {
  if (!isObject(query)) throw new ApiError("InvalidQuery", `${path}: a query is a JSON object`);
  for (const key of Object.keys(query)) {
    if (!QUERY_KEYS.has(key) && !extraKeys.has(key)) throw new ApiError("InvalidQuery", `${path}: unknown query parameter ${JSON.stringify(key)}`);
  }
  const request: Record<string, unknown> = {};
  const metric = target.manifest.vector?.metric;
  let queryMetric = metric;
  if (query["distance_metric"] !== undefined) {
    queryMetric = engineMetric(query["distance_metric"]).toUpperCase() as typeof metric;
    request["distanceMetric"] = queryMetric;
  }
  const rankBy = query["rank_by"];
  if (isRankExpression(rankBy)) {
    request["rankBy"] = translateTextRank(
      rankBy,
      {
        bm25: (clause, at) => translateBm25(clause, target, at),
        sparse: (clause, at) => translateSparseKnn(clause, target, at),
        filter: (f, at) => translateFilter(f, target.idType, at, target.schema),
        attributeType: (name) => target.schema.get(name)?.type,
      },
      `${path}.rank_by`,
    );
  } else if (rankBy !== undefined) request["rankBy"] = translateRankBy(rankBy, target, `${path}.rank_by`);
  if (query["filters"] !== undefined && query["filters"] !== null) request["filters"] = translateFilter(query["filters"], target.idType, `${path}.filters`, target.schema);

  let topK: unknown = query["top_k"];
  let per: { attributes: string[]; limit: number } | undefined;
  const limit = query["limit"];
  if (limit !== undefined) {
    if (typeof limit === "number") topK = limit;
    else if (isObject(limit)) {
      topK = limit["total"];
      const p = limit["per"];
      if (p !== undefined) {
        if (!isObject(p) || !Array.isArray(p["attributes"]) || p["attributes"].length === 0 || p["attributes"].some((a) => typeof a !== "string")) {
          throw new ApiError("InvalidQuery", `${path}.limit.per: { attributes: [names], limit }`);
        }
        if (typeof p["limit"] !== "number" || !Number.isInteger(p["limit"]) || p["limit"] < 1) throw new ApiError("InvalidQuery", `${path}.limit.per.limit: a positive integer`);
        per = { attributes: p["attributes"] as string[], limit: p["limit"] };
      }
    } else throw new ApiError("InvalidQuery", `${path}.limit: a number or { total }`);
  }
  if (topK !== undefined && (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K)) {
    throw new ApiError("InvalidQuery", `${path}.top_k: an integer in [1, ${MAX_TOP_K}]`);
  }

  const aggregateBy = query["aggregate_by"];
  if (aggregateBy !== undefined) {
    if (!isObject(aggregateBy)) throw new ApiError("InvalidQuery", `${path}.aggregate_by: an object of label -> ["Count"], ["Count", attr] or ["Sum", attr]`);
    const aggs: [string, unknown][] = [];
    for (const [label, agg] of Object.entries(aggregateBy)) {
      if (!Array.isArray(agg) || (agg[0] !== "Count" && agg[0] !== "Sum")) {
        unsupported(`the aggregation ${JSON.stringify(agg)} (Count and Sum are served)`, `${path}.aggregate_by.${label}`);
      }
      aggs.push([label, agg]);
    }
    // Labels are data: built as own entries, never assigned through a plain object's prototype.
    request["aggregateBy"] = Object.fromEntries(aggs);
  }
  const groupBy = query["group_by"];
  if (groupBy !== undefined) {
    if (!Array.isArray(groupBy)) throw new ApiError("InvalidQuery", `${path}.group_by: a list of attributes and {name: ["ForEachUnique", attribute]}`);
    if (aggregateBy === undefined) throw new ApiError("InvalidQuery", `${path}.group_by needs aggregate_by`);
    // Attributes, and group functions by name (the engine's same shape; names are data: own entries only).
    request["groupBy"] = groupBy.map((g, i) => {
      if (typeof g === "string") return g;
      if (!isObject(g)) throw new ApiError("InvalidQuery", `${path}.group_by[${i}]: an attribute or {name: ["ForEachUnique", attribute]}`);
      return Object.fromEntries(Object.entries(g));
    });
  }
  const aggregateOnly = aggregateBy !== undefined && query["rank_by"] === undefined;
  request["topK"] = groupBy !== undefined ? MAX_TOP_K : (topK ?? 10);
  const groupOrder =
    groupBy === undefined
      ? undefined
      : {
          keys: (groupBy as unknown[]).flatMap((g) => (typeof g === "string" ? [g] : Object.keys(g as object))),
          limit: (topK as number | undefined) ?? MAX_TOP_K,
        };

  const include = query["include_attributes"];
  const exclude = query["exclude_attributes"];
  let excluded = new Set<string>();
  if (include !== undefined && exclude !== undefined) throw new ApiError("InvalidQuery", `${path}: include_attributes and exclude_attributes exclude each other`);
  if (include === true) {
    request["includeAttributes"] = true;
    request["includeVectors"] = true;
  } else if (Array.isArray(include)) {
    if (include.some((a) => typeof a !== "string")) throw new ApiError("InvalidQuery", `${path}.include_attributes: names`);
    const names = (include as string[]).filter((a) => a !== "id" && a !== "vector" && a !== "$dist");
    if (names.length > 0) request["includeAttributes"] = names;
    if (include.includes("vector")) request["includeVectors"] = true;
  } else if (include !== undefined && include !== false) {
    throw new ApiError("InvalidQuery", `${path}.include_attributes: true, false or a list of names`);
  }
  if (exclude !== undefined) {
    if (!Array.isArray(exclude) || exclude.some((a) => typeof a !== "string")) throw new ApiError("InvalidQuery", `${path}.exclude_attributes: a list of names`);
    excluded = new Set(exclude as string[]);
    request["includeAttributes"] = true;
    if (!excluded.has("vector")) request["includeVectors"] = true;
  }
  if (per !== undefined) {
    if (aggregateBy !== undefined) unsupported("limit.per with aggregate_by", path);
    // The engine's diversity cut: the first topK ranked rows with at most per.limit rows per key.
    request["limitPer"] = { attributes: per.attributes, limit: per.limit };
  }
  const squareComputed = new Set<string>();
  const highlightComputed = new Set<string>();
  if (query["compute_attributes"] !== undefined) {
    const computed = translateComputeAttributes(query["compute_attributes"], target, `${path}.compute_attributes`);
    request["computeAttributes"] = Object.fromEntries(computed.entries);
    if (queryMetric === "EUCLIDEAN") for (const name of computed.vectorDist) squareComputed.add(name);
    for (const name of computed.highlights) highlightComputed.add(name);
  }
  const encoding = query["vector_encoding"];
  if (encoding !== undefined && encoding !== "float" && encoding !== "base64") throw new ApiError("InvalidQuery", `${path}.vector_encoding: float or base64`);
  return {
    request,
    plan: {
      squareDistance: queryMetric === "EUCLIDEAN",
      exclude: excluded,
      base64: encoding === "base64",
      aggregateOnly,
      squareComputed,
      highlightComputed,
      dropZeroScores: isRankExpression(rankBy) || (Array.isArray(request["rankBy"]) && (request["rankBy"] as unknown[])[1] === "Dot"),
      groupOrder,
    },
  };
}

type EngineAnswer = Parameters<typeof shapeResult>[0];

/**
 * Runs one translated query at `version`.
 * `consistency: "eventual"` beside `atVersion`: the version was just read at the request's
 * consistency, so the engine takes it from its cache instead of listing the manifests again.
 */
async function run(engine: NamespaceEngine, path: string, t: Translated, version: number): Promise<EngineAnswer> {
  return (await engine.query(path, t.request, { atVersion: version, consistency: "eventual" })) as never;
}

export interface TpufQueryResult {
  rows?: Record<string, unknown>[];
  aggregations?: Record<string, unknown>;
  aggregation_groups?: Record<string, unknown>[];
}

interface EngineRow {
  id: string;
  distance?: number;
  score?: number;
  attributes?: Record<string, unknown>;
  vector?: number[];
  computed?: Record<string, number | null | readonly { text: string }[]>;
}

export function shapeResult(
  answer: { rows: readonly unknown[]; aggregations?: unknown; aggregationGroups?: readonly { group: Record<string, unknown>; aggregations: Record<string, unknown> }[] },
  plan: OutputPlan,
  idType: IdType,
  vectorEncoding?: unknown,
): TpufQueryResult {
  const base64 = plan.base64 || vectorEncoding === "base64";
  const out: TpufQueryResult = {};
  if (!plan.aggregateOnly) {
    let rows = answer.rows as EngineRow[];
    if (plan.dropZeroScores) rows = rows.filter((r) => r.score !== 0);
    out.rows = rows.map((r) => {
      const row: Record<string, unknown> = { id: fromEngineId(r.id, idType) };
      if (r.distance !== undefined) row["$dist"] = plan.squareDistance ? r.distance * r.distance : r.distance;
      else if (r.score !== undefined) row["$dist"] = r.score;
      if (r.attributes !== undefined) {
        for (const [k, v] of Object.entries(r.attributes)) if (!plan.exclude.has(k) && k !== "id" && k !== "$dist") setOwn(row, k, v);
      }
      if (r.vector !== undefined && !plan.exclude.has("vector")) row["vector"] = base64 ? encodeVectorBase64(r.vector) : r.vector;
      if (r.computed !== undefined) {
        for (const [k, v] of Object.entries(r.computed)) {
          if (plan.highlightComputed.has(k) && Array.isArray(v)) setOwn(row, k, v.map(tpufFragment));
          else setOwn(row, k, plan.squareComputed.has(k) && typeof v === "number" ? v * v : v);
        }
      }
      return row;
    });
  }
  if (answer.aggregations !== undefined) out.aggregations = answer.aggregations as Record<string, unknown>;
  if (answer.aggregationGroups !== undefined) {
    let groups = answer.aggregationGroups;
    const order = plan.groupOrder;
    if (order !== undefined) {
      groups = [...groups].sort((a, b) => {
        for (const key of order.keys) {
          const c = compareGroupValues(Object.hasOwn(a.group, key) ? a.group[key] : null, Object.hasOwn(b.group, key) ? b.group[key] : null);
          if (c !== 0) return c;
        }
        return 0;
      });
      groups = groups.slice(0, order.limit);
    }
    out.aggregation_groups = groups.map((g) => ({ ...g.group, ...g.aggregations }));
  }
  return out;
}

/** Group key order: null (missing) first, then booleans (false first), numbers ascending, strings by code unit. */
function compareGroupValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === null || v === undefined ? 0 : typeof v === "boolean" ? 1 : typeof v === "number" ? 2 : typeof v === "string" ? 3 : 4);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1 || ra === 2) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  if (ra === 3) return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  if (ra === 4) {
    const x = JSON.stringify(a);
    const y = JSON.stringify(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return 0;
}

/** turbopuffer's `performance` and `billing` blocks for one answered version. */
export function performanceOf(manifest: Manifest, started: number, executed: number) {
  let approx = 0;
  let unindexed = 0;
  let bytes = 0;
  for (const ref of manifest.containers) {
    approx += ref.rowCount;
    bytes += ref.byteSize;
    if (ref.extra?.["index_key"] === undefined) unindexed += ref.rowCount;
  }
  const now = performance.now();
  return {
    performance: {
      approx_namespace_size: approx,
      cache_hit_ratio: 0,
      cache_temperature: "unknown",
      exhaustive_search_count: unindexed,
      query_execution_ms: now - executed,
      server_total_ms: now - started,
    },
    billing: { billable_logical_bytes_queried: bytes, billable_logical_bytes_returned: 0 },
  };
}

export function consistencyOf(value: unknown): "strong" | "eventual" {
  if (value === undefined || value === null) return "strong";
  if (isObject(value) && (value["level"] === undefined || value["level"] === "strong" || value["level"] === "eventual")) {
    return (value["level"] as "strong" | "eventual" | undefined) ?? "strong";
  }
  throw new ApiError("InvalidQuery", 'consistency: { level: "strong" | "eventual" }');
}

/** One query, or the multi-query overload (`queries`), on one version. */
export async function tpufQuery(engine: NamespaceEngine, path: string, body: unknown): Promise<Record<string, unknown>> {
  const started = performance.now();
  if (!isObject(body)) throw new ApiError("InvalidQuery", "the query body is a JSON object");
  const consistency = consistencyOf(body["consistency"]);
  const manifest = await engine.manifest(path, { consistency });
  const target = targetOf(manifest);
  if (body["queries"] !== undefined) {
    for (const key of Object.keys(body)) {
      if (key !== "queries" && key !== "consistency" && key !== "vector_encoding" && key !== "rerank_by") {
        throw new ApiError("InvalidQuery", `multi-query: unknown parameter ${JSON.stringify(key)}`);
      }
    }
    const queries = body["queries"];
    if (!Array.isArray(queries) || queries.length === 0 || queries.length > 16) throw new ApiError("InvalidQuery", "queries: 1 to 16 queries");
    const rerank = body["rerank_by"] === undefined ? undefined : parseRerankBy(body["rerank_by"], queries.length);
    const translated = queries.map((q, i) => translateQuery(q, target, `queries[${i}]`));
    if (rerank !== undefined && translated.some((t) => t.plan.aggregateOnly)) throw new ApiError("InvalidQuery", "rerank_by fuses rows: every sub-query needs rank_by or rows");
    const executed = performance.now();
    const answers = await Promise.all(translated.map((t) => run(engine, path, t, manifest.version)));
    let results = answers.map((a, i) => shapeResult(a as never, (translated[i] as Translated).plan, target.idType, body["vector_encoding"]));
    if (rerank !== undefined) {
      const topK = Math.max(...translated.map((t) => t.request["topK"] as number));
      results = [{ rows: fuseRrf(results.map((r) => r.rows ?? []), rerank, topK) }];
    }
    const extra = performanceOf(manifest, started, executed);
    extra.billing.billable_logical_bytes_returned = stringifyJson(results).length;
    return { results, ...extra };
  }
  const translated = translateQuery(body, target);
  const { plan } = translated;
  const executed = performance.now();
  const answer = await run(engine, path, translated, manifest.version);
  const result = shapeResult(answer as never, plan, target.idType);
  const extra = performanceOf(manifest, started, executed);
  extra.billing.billable_logical_bytes_returned = stringifyJson(result).length;
  return { ...result, ...extra };
}

/** explain_query: the engine request a query becomes, and how the engine answers it. */
export async function tpufExplain(engine: NamespaceEngine, path: string, body: unknown): Promise<{ plan_text: string }> {
  if (!isObject(body)) throw new ApiError("InvalidQuery", "the query body is a JSON object");
  const manifest = await engine.manifest(path, { consistency: consistencyOf(body["consistency"]) });
  const { request } = translateQuery(body, targetOf(manifest));
  const rank = request["rankBy"] as unknown[] | undefined;
  const how =
    rank !== undefined && rank[1] === "Dot"
      ? "SparseKNN: dot product over the sparse vectors' inverted postings (exact), larger first"
      : rank !== undefined && isRankExpression(rank)
      ? "ranking expression: BM25 clauses scored over the text index with their fields' statistics, attributes and filters per document, combined (exact)"
      : rank === undefined
      ? "no ranking: matching documents in id order"
      : rank[1] === "ANN"
        ? "ANN: IVF lists of compacted segments (exact scan of the log tail), pre-filtered when a filter matches at most 10% of a partition"
        : rank[1] === "kNN"
          ? "exact kNN scan (WebAssembly SIMD kernel)"
          : rank[1] === "BM25"
            ? "BM25 over the text index (statistics over live documents)"
            : "attribute order";
  const segments = manifest.containers.filter((c) => c.extra?.["index_key"] !== undefined).length;
  return {
    plan_text: [
      `skerry engine query at version ${manifest.version} (${segments} indexed segment(s), ${manifest.containers.length - segments} tail container(s))`,
      `plan: ${how}`,
      `engine request: ${JSON.stringify(request, (_k, v) =>
        typeof v === "bigint" ? v.toString() : Array.isArray(v) && v.length > 8 && typeof v[0] === "number" ? `[${v.length} numbers]` : v,
      )}`,
    ].join("\n"),
  };
}
