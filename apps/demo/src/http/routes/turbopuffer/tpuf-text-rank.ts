/**
 * Multi-field and weighted BM25 (`rank_by: ["Sum", [..]]`, `["Max", [..]]`,
 * `["Product", w, clause]`, also `["Product", clause, w]` and the older
 * `["Product", [w, clause]]`) -> the engine's combination of BM25 clauses
 * (docs/query.md "Combining BM25 clauses"), ranked natively and exactly;
 * each clause is checked and translated by `leaf`.
 */
import { ApiError } from "../../api-error.ts";

export const COMBINATORS = new Set(["Sum", "Max", "Product"]);

/** The engine rankBy of a combinator expression. */
export function translateTextRank(rankBy: unknown, leaf: (clause: unknown, path: string) => unknown[], path: string): unknown[] {
  const walk = (node: unknown, at: string, depth: number): unknown[] => {
    if (depth > 4) throw new ApiError("InvalidQuery", `${at}: ranking expressions nest at most 4 levels`);
    if (!Array.isArray(node)) throw new ApiError("InvalidQuery", `${at}: a ranking clause is an array`);
    const [head, a, b] = node as [unknown, unknown, unknown];
    if ((head === "Sum" || head === "Max") && node[1] !== "BM25") {
      if (!Array.isArray(a) || a.length === 0 || node.length !== 2) throw new ApiError("InvalidQuery", `${at}: ${head} takes a non-empty list of clauses`);
      return [head, a.map((c, i) => walk(c, `${at}[1][${i}]`, depth + 1))];
    }
    if (head === "Product" && node[1] !== "BM25") {
      const [x, y] = node.length === 2 && Array.isArray(a) ? (a as [unknown, unknown]) : [a, b];
      const weight = typeof x === "number" ? x : y;
      const child = typeof x === "number" ? y : x;
      if (typeof weight !== "number" || !Number.isFinite(weight)) throw new ApiError("InvalidQuery", `${at}: Product takes a finite number and a clause`);
      return ["Product", weight, walk(child, `${at}.Product`, depth + 1)];
    }
    if (node[1] === "BM25") return leaf(node, at);
    throw new ApiError("InvalidQuery", `${at}: Sum, Max and Product combine BM25 clauses only (${JSON.stringify(head)} is not supported; see docs/turbopuffer-compat.md)`, {
      unsupported: String(head),
    });
  };
  return walk(rankBy, path, 0);
}
