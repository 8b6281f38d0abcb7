/**
 * Multi-field and weighted BM25 (`rank_by: ["Sum", [..]]`, `["Max", [..]]`,
 * `["Product", w, clause]`), which the engine does not rank natively:
 * every BM25 clause runs as its own engine query at the same version with
 * the same filters and topK 10,000 (BM25 returns only documents holding a
 * query term), and the scores are combined here: Sum adds the clauses'
 * scores (0 where a clause did not match), Max takes the largest, Product
 * multiplies by the weight. Rows are ordered by the combined score, then id
 * (the engine's tie-break), cut to top_k. Exact while each clause matches
 * at most 10,000 documents; beyond, documents below a clause's 10,000th
 * count 0 for it (docs/turbopuffer-compat.md).
 */
import { ApiError } from "../../api-error.ts";

export type TextExpr =
  | { readonly kind: "leaf"; readonly index: number }
  | { readonly kind: "sum" | "max"; readonly children: readonly TextExpr[] }
  | { readonly kind: "product"; readonly weight: number; readonly child: TextExpr };

export interface TextRank {
  readonly expr: TextExpr;
  /** The engine rankBy of each BM25 clause, by leaf index. */
  readonly leaves: readonly unknown[][];
}

export const COMBINATORS = new Set(["Sum", "Max", "Product"]);

/** Parses a combinator expression; `leaf` turns a BM25 clause into the engine's rankBy (and checks it). */
export function parseTextRank(rankBy: unknown, leaf: (clause: unknown, path: string) => unknown[], path: string): TextRank {
  const leaves: unknown[][] = [];
  const walk = (node: unknown, at: string, depth: number): TextExpr => {
    if (depth > 8) throw new ApiError("InvalidQuery", `${at}: ranking expressions nest at most 8 levels`);
    if (!Array.isArray(node)) throw new ApiError("InvalidQuery", `${at}: a ranking clause is an array`);
    const [head, a, b] = node as [unknown, unknown, unknown];
    if (head === "Sum" || head === "Max") {
      if (!Array.isArray(a) || a.length === 0 || node.length !== 2) throw new ApiError("InvalidQuery", `${at}: ${head} takes a non-empty list of clauses`);
      return { kind: head === "Sum" ? "sum" : "max", children: a.map((c, i) => walk(c, `${at}[1][${i}]`, depth + 1)) };
    }
    if (head === "Product") {
      // ["Product", w, clause], ["Product", clause, w], or the older ["Product", [w, clause]].
      const [x, y] = node.length === 2 && Array.isArray(a) ? (a as [unknown, unknown]) : [a, b];
      const weight = typeof x === "number" ? x : y;
      const child = typeof x === "number" ? y : x;
      if (typeof weight !== "number" || !Number.isFinite(weight)) throw new ApiError("InvalidQuery", `${at}: Product takes a finite number and a clause`);
      return { kind: "product", weight, child: walk(child, `${at}.Product`, depth + 1) };
    }
    if (node[1] === "BM25") {
      leaves.push(leaf(node, at));
      return { kind: "leaf", index: leaves.length - 1 };
    }
    throw new ApiError("InvalidQuery", `${at}: Sum, Max and Product combine BM25 clauses only (${JSON.stringify(head)} is not supported; see docs/turbopuffer-compat.md)`, {
      unsupported: String(head),
    });
  };
  const expr = walk(rankBy, path, 0);
  if (leaves.length > 16) throw new ApiError("InvalidQuery", `${path}: at most 16 BM25 clauses`);
  return { expr, leaves };
}

interface ScoredRow {
  readonly id: string;
  readonly score?: number;
  readonly [k: string]: unknown;
}

function evaluate(expr: TextExpr, scores: readonly ReadonlyMap<string, number>[], id: string): number {
  switch (expr.kind) {
    case "leaf":
      return scores[expr.index]?.get(id) ?? 0;
    case "sum":
      return expr.children.reduce((s, c) => s + evaluate(c, scores, id), 0);
    case "max":
      return Math.max(...expr.children.map((c) => evaluate(c, scores, id)));
    case "product":
      return expr.weight * evaluate(expr.child, scores, id);
  }
}

/** Combines the clauses' answers (engine rows, aligned with `rank.leaves`) into the top `topK` rows, score as `score`. */
export function combineTextRank(rank: TextRank, answers: readonly (readonly ScoredRow[])[], topK: number): ScoredRow[] {
  const scores = answers.map((rows) => new Map(rows.map((r) => [r.id, r.score ?? 0])));
  const first = new Map<string, ScoredRow>();
  for (const rows of answers) for (const r of rows) if (!first.has(r.id)) first.set(r.id, r);
  const combined = [...first.values()].map((r) => ({ ...r, score: evaluate(rank.expr, scores, r.id) }));
  combined.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return combined.slice(0, topK);
}
