/**
 * `needsLoadedPath(request)`: true when the request uses a feature only the
 * loaded query executor (query/execute-query.ts) answers, so the engine's
 * cold paths (cold-*.ts: ranged reads of unloaded segment indexes) must not
 * try it: ranking expressions beyond plain BM25 combinations (query/text-combination.ts), Fuzzy filters
 * (query/fuzzy-filter.ts), group functions (ForEachUnique, query/aggregate.ts),
 * computed attributes (query/compute-attributes.ts). The cold paths
 * each check the request kinds they serve as well; this list is the one
 * place new request features are registered, so a feature the cold code
 * does not know yet can never be answered there by a switch that falls
 * through to "nothing matches".
 *
 * Besides request features, two properties of a version keep a query on
 * the loaded path, registered here too:
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
import type { Filter, QueryRequest, TextExpr } from "./query/query-request.ts";

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
  if (request.groupByFunctions !== undefined || request.computeAttributes !== undefined) return true;
  return request.filters !== undefined && hasLoadedOnlyFilter(request.filters);
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
