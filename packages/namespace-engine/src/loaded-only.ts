/**
 * `needsLoadedPath(request)`: true when the request uses a feature only the
 * loaded query executor (query/execute-query.ts) answers, so the engine's
 * cold paths (cold-*.ts: ranged reads of unloaded segment indexes) must not
 * try it.
 *
 * Every request field is registered below as served cold or not, and the
 * type makes the list complete: a field added to `QueryRequest` does not
 * compile until it is registered here, so a feature the cold code does not
 * know yet can never be answered there by a switch that falls through to
 * "nothing matches". Today every field is served cold: ranking expressions
 * (cold-text-combination.ts, cold-expression.ts), computed attributes
 * (cold-compute-attributes.ts), every filter kind (cold-filter.ts; Fuzzy:
 * cold-fuzzy.ts), group functions (cold-aggregate.ts). Filter kinds and
 * ranking kinds are matched exhaustively inside the cold code itself. What
 * still loads depends on the data, not the request (old index formats, index
 * shapes a cold reader cannot map): each cold path checks that itself.
 */
import type { QueryRequest } from "./query/query-request.ts";

/** Per request field: true when every cold path that may receive a request with it serves it. */
const SERVED_COLD: { readonly [K in keyof QueryRequest]-?: boolean } = {
  rankBy: true,
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
  computeAttributes: true,
};

export function needsLoadedPath(request: QueryRequest): boolean {
  for (const [field, cold] of Object.entries(SERVED_COLD) as [keyof QueryRequest, boolean][]) {
    if (!cold && request[field] !== undefined) return true;
  }
  return false;
}
