/**
 * `needsLoadedPath(request)`: true when the request uses a feature only the
 * loaded query executor (query/execute-query.ts) answers, so the engine's
 * cold paths (cold-*.ts: ranged reads of unloaded segment indexes) must not
 * try it: Fuzzy filters (query/fuzzy-filter.ts; also as a filter operand of
 * a ranking expression or a computed attribute), group functions
 * (ForEachUnique, query/aggregate.ts). The cold paths
 * each check the request kinds they serve as well; this list is the one
 * place new request features are registered, so a feature the cold code
 * does not know yet can never be answered there by a switch that falls
 * through to "nothing matches".
 */
import type { Filter, QueryRequest, TextExpr } from "./query/query-request.ts";
import { expressionFilters } from "./query/text-combination.ts";

/** True when the filter holds a Fuzzy filter (query/fuzzy-filter.ts). */
function hasLoadedOnlyFilter(filter: Filter): boolean {
  switch (filter.kind) {
    case "And":
    case "Or":
      return filter.filters.some(hasLoadedOnlyFilter);
    case "Not":
      return hasLoadedOnlyFilter(filter.filter);
    case "Fuzzy":
      return true;
    default:
      return false;
  }
}

/** True when one of the expression's filter operands holds a loaded-only filter. */
function hasLoadedOnlyOperand(expr: TextExpr): boolean {
  return expressionFilters(expr).some(hasLoadedOnlyFilter);
}

export function needsLoadedPath(request: QueryRequest): boolean {
  const rank = request.rankBy;
  const ranks = rank === undefined ? [] : rank.kind === "rrf" ? rank.queries : [rank];
  if (ranks.some((r) => r.kind === "text" && hasLoadedOnlyOperand(r.expr))) return true;
  for (const c of request.computeAttributes?.values() ?? []) if (c.kind === "expr" && hasLoadedOnlyOperand(c.expr)) return true;
  if (request.groupByFunctions !== undefined) return true;
  return request.filters !== undefined && hasLoadedOnlyFilter(request.filters);
}
