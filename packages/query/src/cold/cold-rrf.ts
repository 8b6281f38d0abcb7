/**
 * coldRrf: reciprocal rank fusion (`rankBy: ["RRF", [queries], {k, window,
 * weights}]`) over a cold version. Each sub-ranking is run cold for
 * max(window, topK) rows (the caller's `run`: BM25, text combinations,
 * attribute orders, dense rankings, each exactly as the loaded path ranks
 * it), and fused as execute-query.ts fuses them: a row's score is the sum
 * over the rankings holding it of weight / (k + rank + 1), added in query
 * order (so the float sums are the loaded path's), the best topK by score,
 * ties by id. Undefined when some sub-ranking is not served cold (the
 * caller loads).
 */
import type { ColdHit } from "./cold-bm25.ts";
import { compareStrings } from "../attribute-columns.ts";
import type { RankBy, SingleRankBy } from "../query-request.ts";

export interface ColdRrfInput {
  readonly rank: Extract<RankBy, { kind: "rrf" }>;
  readonly topK: number;
  /** A sub-ranking's first k rows (tail chunk c as segment -1 - c); undefined when not served cold. */
  readonly run: (sub: SingleRankBy, k: number) => Promise<ColdHit[] | undefined>;
}

export async function coldRrf(input: ColdRrfInput): Promise<ColdHit[] | undefined> {
  const { rank, topK } = input;
  const window = Math.max(rank.window, topK);
  const ranked = await Promise.all(rank.queries.map((sub) => input.run(sub, window)));
  if (ranked.some((hits) => hits === undefined)) return undefined;
  const fused = new Map<string, { segment: number; slot: number; id: string; score: number }>();
  ranked.forEach((hits, q) => {
    const weight = rank.weights[q] ?? 1;
    (hits as ColdHit[]).forEach((h, r) => {
      const key = `${h.segment}:${h.slot}`;
      const add = weight / (rank.k + r + 1);
      const e = fused.get(key);
      if (e !== undefined) e.score += add;
      else fused.set(key, { segment: h.segment, slot: h.slot, id: h.id, score: add });
    });
  });
  return [...fused.values()].sort((a, b) => (a.score !== b.score ? b.score - a.score : compareStrings(a.id, b.id))).slice(0, topK);
}
