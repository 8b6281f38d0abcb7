/**
 * coldTextCombination: a combination of BM25 clauses (`Sum`, `Max`,
 * `Product`, query/text-combination.ts) over indexed segments that are not
 * loaded, with exactly the hits `executeQuery` gives over the loaded
 * partitions: each clause scored as the single cold BM25 ranking scores it
 * (cold-bm25.ts coldBm25Scores: its own field's statistics over every live
 * row), a row taking part when it matches at least one clause, its combined
 * score the same float64 expression as loaded (a clause it does not match
 * counts 0), then, with a filter, only the matching rows ranked; top-k by
 * (score desc, id asc), per segment as the single ranking picks them
 * (cold-bm25.ts topOfSegment), the tail's chunks in memory.
 */
import type { ColdIndexFile } from "./cold-array-reader.ts";
import { type ColdBm25Context, type ColdClauseScores, type ColdHit, byScoreThenId, coldBm25Scores, topOfSegment } from "./cold-bm25.ts";
import type { ColdTailChunk } from "./cold-tail.ts";
import type { Bm25Params } from "./query/bm25-stats.ts";
import type { TextExpr } from "./query/query-request.ts";

type Leaf = Extract<TextExpr, { op: "bm25" }>;

export interface ColdTextCombinationInput extends ColdBm25Context {
  readonly expr: TextExpr;
  /** The namespace's k1 and b of a field. */
  readonly params: (field: string) => Bm25Params | undefined;
  readonly k: number;
  /** With a filter: per segment, 1 = the slot matches. */
  readonly segmentMatches?: readonly Uint8Array[] | undefined;
  /** With a filter: whether a slot of tail chunk `c` matches. */
  readonly tailMatches?: ((c: number, slot: number) => boolean) | undefined;
}

/** A node the cold path does not answer: loaded-only.ts keeps such expressions off it (isBm25Combination). */
function notCombination(expr: TextExpr): never {
  throw new Error(`cold BM25 combination given a ${expr.op} node (loaded-only.ts should have kept it loaded)`);
}

function leavesOf(expr: TextExpr, out: Leaf[] = []): Leaf[] {
  if (expr.op === "bm25") out.push(expr);
  else if (expr.op === "Product") leavesOf(expr.arg, out);
  else if (expr.op === "Sum" || expr.op === "Max") for (const a of expr.args) leavesOf(a, out);
  else notCombination(expr);
  return out;
}

/** The best k rows of the combination. */
export async function coldTextCombination(input: ColdTextCombinationInput): Promise<ColdHit[]> {
  const { reader, rows, files, tail, expr, k } = input;
  const leaves = leavesOf(expr);
  const scored = await Promise.all(
    leaves.map((leaf) => coldBm25Scores(input, { field: leaf.field, query: leaf.query, params: input.params(leaf.field), lastAsPrefix: leaf.lastAsPrefix })),
  );
  const byLeaf = new Map<Leaf, ColdClauseScores | null>(leaves.map((leaf, i) => [leaf, scored[i] as ColdClauseScores | null]));
  // The combined score of a row, given each clause's score of it (0 where the clause did not match).
  const combine = (clauseScore: (leaf: Leaf) => number): number => {
    const score = (e: TextExpr): number => {
      switch (e.op) {
        case "bm25":
          return clauseScore(e);
        case "Product":
          return e.weight * score(e.arg);
        case "Sum": {
          let total = 0;
          for (const a of e.args) total += score(a);
          return total;
        }
        case "Max": {
          let best = Number.NEGATIVE_INFINITY;
          for (const a of e.args) best = Math.max(best, score(a));
          return best;
        }
        default:
          return notCombination(e);
      }
    };
    return score(expr);
  };
  const hits: ColdHit[] = [];
  await Promise.all(
    files.map(async (file: ColdIndexFile, s) => {
      const matched = new Set<number>();
      for (const leaf of leaves) for (const slot of byLeaf.get(leaf)?.segments[s]?.touched ?? []) matched.add(slot);
      const matches = input.segmentMatches?.[s];
      const ranked = [...matched].filter((slot) => matches === undefined || matches[slot] === 1);
      if (ranked.length === 0) return;
      const scores = new Float64Array(file.meta.size);
      for (const slot of ranked) scores[slot] = combine((leaf) => byLeaf.get(leaf)?.segments[s]?.scores[slot] ?? 0);
      for (const hit of await topOfSegment(reader, rows, file, s, ranked, scores, k)) hits.push(hit);
    }),
  );
  tail.forEach((chunk: ColdTailChunk, c) => {
    const matched = new Set<number>();
    for (const leaf of leaves) for (const slot of byLeaf.get(leaf)?.tail[c]?.keys() ?? []) matched.add(slot);
    for (const slot of matched) {
      if (input.tailMatches !== undefined && !input.tailMatches(c, slot)) continue;
      const score = combine((leaf) => byLeaf.get(leaf)?.tail[c]?.get(slot) ?? 0);
      hits.push({ segment: -1 - c, slot, score, id: chunk.index.ids.get(slot) });
    }
  });
  return hits.sort(byScoreThenId).slice(0, k);
}
