/**
 * `needsLoadedPath(request)`: true when the request uses a feature only the
 * loaded query executor (query/execute-query.ts) answers, so the engine's
 * cold paths (cold-*.ts: ranged reads of unloaded segment indexes) must not
 * try it: ranking expressions beyond plain BM25 combinations (query/text-combination.ts), computed attributes
 * (query/compute-attributes.ts). Every filter kind is served cold (cold-filter.ts; Fuzzy: cold-fuzzy.ts), and
 * so are group functions (ForEachUnique: cold-aggregate.ts). The cold paths
 * each check the request kinds they serve as well; this list is the one
 * place new request features are registered, so a feature the cold code
 * does not know yet can never be answered there by a switch that falls
 * through to "nothing matches".
 */
import type { QueryRequest, TextExpr } from "./query/query-request.ts";

/**
 * True when the expression is a plain combination of BM25 clauses (`Sum`, `Max`, `Product` of `bm25`), which the
 * cold path answers (cold-text-combination.ts); constants, attributes, filters, Saturate, Decay and Dist are not.
 */
export function isBm25Combination(expr: TextExpr): boolean {
  switch (expr.op) {
    case "bm25":
      return true;
    case "Sum":
    case "Max":
      return expr.args.every(isBm25Combination);
    case "Product":
      return isBm25Combination(expr.arg);
    default:
      return false;
  }
}

export function needsLoadedPath(request: QueryRequest): boolean {
  const rank = request.rankBy;
  const ranks = rank === undefined ? [] : rank.kind === "rrf" ? rank.queries : [rank];
  if (ranks.some((r) => r.kind === "text" && !isBm25Combination(r.expr))) return true;
  return request.computeAttributes !== undefined;
}
