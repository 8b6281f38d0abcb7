/**
 * Combinations of BM25 clauses, for ranking by several text fields:
 * `["Sum", [c, ...]]` adds the clauses' scores (a clause that does not
 * match a document adds 0), `["Max", [c, ...]]` takes the largest (a
 * clause that does not match counts 0), `["Product", w, c]` multiplies one
 * by a finite weight; they nest. Each clause
 * is scored as the single BM25 ranking scores it (its own field's corpus
 * statistics over the live documents of every partition: bm25-stats.ts).
 * A document takes part when it matches at least one clause; the ranking
 * is by combined score, ties by id. Exact: every matching document of every
 * clause is scored (dense per-partition arrays, one per clause).
 */
import { type Bm25Params, type Bm25Partition, type Bm25Stats, bm25Stats, forEachBm25Posting } from "./bm25-stats.ts";
import type { TextExpr } from "./query-request.ts";

/** Per clause and partition: the live slots it matched and their scores (dense, 0 elsewhere). */
interface ClauseScores {
  readonly scores: Float64Array;
  readonly matched: Uint8Array;
}

function leavesOf(expr: TextExpr, out: Extract<TextExpr, { op: "bm25" }>[] = []): Extract<TextExpr, { op: "bm25" }>[] {
  if (expr.op === "bm25") out.push(expr);
  else if (expr.op === "Product") leavesOf(expr.arg, out);
  else for (const a of expr.args) leavesOf(a, out);
  return out;
}

/**
 * The combined score of every live slot of every partition that matches at
 * least one clause: per partition, the slots (ascending) and their scores.
 */
export function textCombinationScores(
  parts: readonly Bm25Partition[],
  expr: TextExpr,
  params?: (field: string) => Bm25Params | undefined,
): { slots: Uint32Array; scores: Float64Array }[] {
  const leaves = leavesOf(expr);
  const stats = new Map<Extract<TextExpr, { op: "bm25" }>, Bm25Stats | undefined>();
  for (const leaf of leaves) stats.set(leaf, bm25Stats(parts, leaf.field, leaf.query, params?.(leaf.field), leaf.lastAsPrefix));
  return parts.map((part, p) => {
    const n = part.index.size;
    const any = new Uint8Array(n);
    const clause = new Map<Extract<TextExpr, { op: "bm25" }>, ClauseScores>();
    for (const leaf of leaves) {
      const scores = new Float64Array(n);
      const matched = new Uint8Array(n);
      const s = stats.get(leaf);
      if (s !== undefined) {
        forEachBm25Posting(s, part, p, (slot, score) => {
          scores[slot]! += score;
          matched[slot] = 1;
          any[slot] = 1;
        });
      }
      clause.set(leaf, { scores, matched });
    }
    const score = (e: TextExpr, slot: number): number => {
      switch (e.op) {
        case "bm25":
          return clause.get(e)!.scores[slot]!;
        case "Product":
          return e.weight * score(e.arg, slot);
        case "Sum": {
          let total = 0;
          for (const a of e.args) total += score(a, slot);
          return total;
        }
        case "Max": {
          let best = Number.NEGATIVE_INFINITY;
          for (const a of e.args) best = Math.max(best, score(a, slot));
          return best;
        }
      }
    };
    let count = 0;
    for (let slot = 0; slot < n; slot++) count += any[slot]!;
    const slots = new Uint32Array(count);
    const scores = new Float64Array(count);
    let w = 0;
    for (let slot = 0; slot < n; slot++) {
      if (any[slot] === 0) continue;
      slots[w] = slot;
      scores[w++] = score(expr, slot);
    }
    return { slots, scores };
  });
}
