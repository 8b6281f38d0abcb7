/**
 * `needsLoadedPath(request)`: true when the request uses a feature only the
 * loaded query executor (execute-query.ts) answers, so the engine's
 * cold paths (cold-*.ts: ranged reads of unloaded segment indexes) must not
 * try it.
 *
 * Every request field is registered below as served cold or not, and the
 * type makes the list complete: a field added to `QueryRequest` does not
 * compile until it is registered here, so a feature the cold code does not
 * know yet can never be answered there by a switch that falls through to
 * "nothing matches". Today every field is served cold (a ranking expression
 * or computed attribute with a sparse clause, SparseKNN inside Sum/Max/...,
 * excepted): ranking expressions
 * (cold-text-combination.ts, cold-expression.ts), computed attributes
 * (cold-compute-attributes.ts), every filter kind (cold-filter.ts; Fuzzy:
 * cold-fuzzy.ts), group functions (cold-aggregate.ts). Filter kinds and
 * ranking kinds are matched exhaustively inside the cold code itself. What
 * still loads depends on the data, not the request (old index formats, index
 * shapes a cold reader cannot map): each cold path checks that itself.
 *
 * Filters with a bigint operand (an integer beyond 2^53-1) and stored query
 * indexes holding exact 64-bit integers (format 8) are served cold too: the
 * cold readers compare exactly (cold-exact-numbers.ts reads a column's exact
 * values by range) and read the exact JSON row store.
 *
 * Besides request fields, two properties of a version keep a query on the
 * loaded path, registered here too:
 * - a stored query index of format 2 (`coldReadableIndexFormat`): one CRC
 *   over the whole body and no blocks, so a range of it cannot be verified
 *   before use; it is loaded whole (verified), and a forced compaction
 *   re-indexes such a segment into today's format (compactor.ts), after
 *   which it is read cold;
 * - a log-tail PATCH whose base row (in an indexed segment) holds a text
 *   field the patches keep (`tailBaseNeedsState`): the index stores text
 *   fields only as tokens, so the patched document is taken from the
 *   materialized state (namespace-query.ts); every other base is read by
 *   ranges (cold-tail-bases.ts).
 */
import type { QueryRequest, RankBy, TextExpr } from "./query-request.ts";
import { expressionLeaves } from "./text-combination.ts";

/** True when a ranking expression holds a sparse clause (SparseKNN inside Sum/Max/...: the loaded path only). */
function hasSparseClause(expr: TextExpr): boolean {
  return expressionLeaves(expr).sparse.length > 0;
}

/** Per request field: true when every cold path that may receive a request with it serves it, or a test of its value. */
const SERVED_COLD: { readonly [K in keyof QueryRequest]-?: boolean | ((value: NonNullable<QueryRequest[K]>) => boolean) } = {
  rankBy: (rank: RankBy) => (rank.kind === "rrf" ? rank.queries : [rank]).every((r) => r.kind !== "text" || !hasSparseClause(r.expr)),
  filters: true,
  topK: true,
  includeAttributes: true,
  includeVectors: true,
  distanceMetric: true,
  distanceThreshold: true,
  aggregateBy: true,
  groupBy: true,
  groupByFunctions: true,
  consistency: true,
  atVersion: true,
  probes: true,
  limitPer: true,
  computeAttributes: (computed) => [...computed.values()].every((c) => c.kind !== "expr" || !hasSparseClause(c.expr)),
};

export function needsLoadedPath(request: QueryRequest): boolean {
  for (const [field, cold] of Object.entries(SERVED_COLD) as [keyof QueryRequest, boolean | ((value: unknown) => boolean)][]) {
    const value = request[field];
    if (value !== undefined && (cold === false || (typeof cold === "function" && !cold(value)))) return true;
  }
  return false;
}

/** Stored query index formats the cold paths read by ranges: block files (format 3 on), each block CRC-checked. */
export function coldReadableIndexFormat(version: number): boolean {
  return version >= 3;
}

/**
 * True when a tail PATCH's base row needs the materialized state: it holds a text field (`baseTextFields`, those
 * present in its row) that none of the id's patches set or remove (`patchedTextFields`).
 */
export function tailBaseNeedsState(baseTextFields: Iterable<string>, patchedTextFields: ReadonlySet<string>): boolean {
  for (const field of baseTextFields) if (!patchedTextFields.has(field)) return true;
  return false;
}
