/**
 * `rerank_by: ["RRF", {rank_constant?, weights?}]` of a multi-query: the
 * sub-queries' rows fused by weighted reciprocal rank fusion on the server.
 * A row's score is the sum over the sub-queries that returned it of
 * weight / (rank_constant + rank), rank counted from 1 in that sub-query's
 * answer (so each sub-query's `top_k` is its window); rows are ordered by
 * score, then id, and cut to the largest `top_k` of the sub-queries. The
 * row is the one the first sub-query that returned it answered, with
 * `$dist` = its fused score. The sub-queries run at one version, so the
 * fusion is of one snapshot.
 */
import { ApiError } from "../../api-error.ts";

export interface RrfParams {
  readonly rankConstant: number;
  readonly weights: readonly number[];
}

const DEFAULT_RANK_CONSTANT = 60;

/** The `rerank_by` of a multi-query of `queries` sub-queries. */
export function parseRerankBy(raw: unknown, queries: number): RrfParams {
  if (!Array.isArray(raw) || raw[0] !== "RRF" || raw.length > 2) throw new ApiError("InvalidQuery", 'rerank_by: ["RRF"] or ["RRF", {rank_constant?, weights?}]');
  // "RRF reranking requires at least two subqueries" (https://turbopuffer.com/docs/query, "Reciprocal rank fusion").
  if (queries < 2) throw new ApiError("InvalidQuery", "rerank_by: RRF needs at least two sub-queries");
  const params = raw[1] ?? {};
  if (typeof params !== "object" || params === null || Array.isArray(params)) throw new ApiError("InvalidQuery", "rerank_by: RRF parameters are an object");
  let rankConstant = DEFAULT_RANK_CONSTANT;
  let weights: number[] = new Array(queries).fill(1);
  for (const [key, value] of Object.entries(params)) {
    if (key === "rank_constant") {
      // "It defaults to 60 and can be set to any integer greater than zero."
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) throw new ApiError("InvalidQuery", "rerank_by: rank_constant must be an integer greater than zero");
      rankConstant = value;
    } else if (key === "weights") {
      if (!Array.isArray(value) || value.length !== queries || value.some((w) => typeof w !== "number" || !Number.isFinite(w) || w <= 0)) {
        throw new ApiError("InvalidQuery", `rerank_by: weights must be ${queries} positive numbers, one per sub-query`);
      }
      weights = value as number[];
    } else throw new ApiError("InvalidQuery", `rerank_by: unknown RRF parameter ${JSON.stringify(key)}`);
  }
  return { rankConstant, weights };
}

function compareIds(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The fused rows of the sub-queries' answers (`rows` in rank order), at most `topK`. */
export function fuseRrf(answers: readonly (readonly Record<string, unknown>[])[], params: RrfParams, topK: number): Record<string, unknown>[] {
  const fused = new Map<string, { row: Record<string, unknown>; score: number }>();
  answers.forEach((rows, q) => {
    const weight = params.weights[q] ?? 1;
    rows.forEach((row, r) => {
      const id = row["id"];
      const key = typeof id === "bigint" ? id.toString() : JSON.stringify(id); // a uint id beyond 2^53-1 is a bigint
      const add = weight / (params.rankConstant + r + 1);
      const entry = fused.get(key);
      if (entry !== undefined) entry.score += add;
      else fused.set(key, { row, score: add });
    });
  });
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || compareIds(a.row["id"], b.row["id"]))
    .slice(0, topK)
    .map(({ row, score }) => ({ ...row, $dist: score }));
}
