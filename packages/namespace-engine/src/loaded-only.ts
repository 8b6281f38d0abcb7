/**
 * `needsLoadedPath(request)`: true when the request uses a feature only the
 * loaded query executor (query/execute-query.ts) answers, so the engine's
 * cold paths (cold-*.ts: ranged reads of unloaded segment indexes) must not
 * try it: ranking expressions (query/text-combination.ts). The cold paths
 * each check the request kinds they serve as well; this list is the one
 * place new request features are registered, so a feature the cold code
 * does not know yet can never be answered there by a switch that falls
 * through to "nothing matches".
 */
import type { QueryRequest } from "./query/query-request.ts";

export function needsLoadedPath(request: QueryRequest): boolean {
  const rank = request.rankBy;
  const ranks = rank === undefined ? [] : rank.kind === "rrf" ? rank.queries : [rank];
  return ranks.some((r) => r.kind === "text");
}
