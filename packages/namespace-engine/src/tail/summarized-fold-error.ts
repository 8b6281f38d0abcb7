/**
 * SummarizedFoldError: a tail fold built partly from stored chunk summaries
 * (chunk-fold-summary.ts, query-tail.ts `applySummary`) was asked for a
 * document it does not hold: one of a summarized chunk's rows (a later
 * PATCH of it, the chunk indexed again, merged, or rebuilt after damage).
 * Internal: the engine folds the tail from its log batches instead and
 * answers from that (namespace-query.ts), never returning it to a caller.
 */
export class SummarizedFoldError extends Error {
  constructor(readonly id: string) {
    super(`the tail fold holds only the summary of ${JSON.stringify(id)}: fold its log batches`);
    this.name = "SummarizedFoldError";
  }
}

export function isSummarizedFold(error: unknown): error is SummarizedFoldError {
  return error instanceof SummarizedFoldError;
}
