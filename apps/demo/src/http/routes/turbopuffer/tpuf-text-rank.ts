/**
 * turbopuffer's ranking expressions -> the engine's (docs/query.md
 * "Ranking expressions"), ranked natively and exactly:
 * - `["Sum", [..]]`, `["Max", [..]]`, `["Max", a, b]`, `["Product", w, e]`
 *   (also `["Product", e, w]` and the older `["Product", [w, e]]`);
 * - `["Saturate" | "Decay", e, {midpoint, exponent?}]` (a midpoint may be a
 *   duration like "6h": milliseconds), `["Dist", e, origin]` (a date-time
 *   origin measures a datetime attribute in milliseconds), `["Attribute", a]`;
 * - numbers; BM25 clauses (checked and translated by `leaves.bm25`);
 *   filters, which score 1 when a document matches (translated like the
 *   query's filters by `leaves.filter`).
 */
import { ApiError } from "../../api-error.ts";

export const COMBINATORS = new Set(["Sum", "Max", "Product"]);
const EXPRESSION_HEADS = new Set(["Sum", "Max", "Product", "Saturate", "Decay", "Dist", "Attribute"]);
/** The second element of a single ranking (not an expression). */
const SINGLE_OPS = new Set(["BM25", "asc", "desc", "ANN", "kNN", "SparseKNN"]);
const MAX_DEPTH = 8;

/** True when `rankBy` is a ranking expression (an operator, a filter) rather than a vector, BM25 or order ranking. */
export function isRankExpression(rankBy: unknown): boolean {
  if (!Array.isArray(rankBy)) return false;
  const [head, op] = rankBy as [unknown, unknown];
  if (typeof op === "string" && SINGLE_OPS.has(op)) return false;
  if (typeof head === "string" && EXPRESSION_HEADS.has(head)) return true;
  return head === "And" || head === "Or" || head === "Not" || (typeof head === "string" && typeof op === "string");
}

export interface ExpressionLeaves {
  readonly bm25: (clause: unknown[], path: string) => unknown[];
  readonly filter: (filter: unknown[], path: string) => unknown[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The engine rankBy of a ranking expression. */
export function translateTextRank(rankBy: unknown, leaves: ExpressionLeaves, path: string): unknown {
  const walk = (node: unknown, at: string, depth: number): unknown => {
    if (depth > MAX_DEPTH) throw new ApiError("InvalidQuery", `${at}: ranking expressions nest at most ${MAX_DEPTH} levels`);
    if (typeof node === "number") {
      if (!Number.isFinite(node)) throw new ApiError("InvalidQuery", `${at}: a number in a ranking expression is finite`);
      return node;
    }
    if (!Array.isArray(node)) throw new ApiError("InvalidQuery", `${at}: a ranking clause is an array or a number`);
    const [head, a, b] = node as [unknown, unknown, unknown];
    if (node[1] === "BM25") return leaves.bm25(node, at);
    if (node[1] === "SparseKNN") {
      throw new ApiError("InvalidQuery", `${at}: SparseKNN inside a ranking expression is not supported by Skerry (see docs/turbopuffer-compat.md); rank by it alone, or fuse it with a multi-query and rerank_by RRF`, {
        unsupported: "SparseKNN in ranking expressions",
      });
    }
    if ((head === "Sum" || head === "Max") && node.length === 2) {
      if (!Array.isArray(a) || a.length === 0) throw new ApiError("InvalidQuery", `${at}: ${head} takes a non-empty list of clauses`);
      return [head, a.map((c, i) => walk(c, `${at}[1][${i}]`, depth + 1))];
    }
    if (head === "Max" && node.length === 3) return ["Max", walk(a, `${at}[1]`, depth + 1), walk(b, `${at}[2]`, depth + 1)];
    if (head === "Sum" || head === "Max") throw new ApiError("InvalidQuery", `${at}: ${head} takes a list of clauses`);
    if (head === "Product") {
      const [x, y] = node.length === 2 && Array.isArray(a) ? (a as [unknown, unknown]) : [a, b];
      const weight = typeof x === "number" ? x : y;
      const child = typeof x === "number" ? y : x;
      if (typeof weight !== "number" || !Number.isFinite(weight)) throw new ApiError("InvalidQuery", `${at}: Product takes a finite number and a clause`);
      return ["Product", weight, walk(child, `${at}.Product`, depth + 1)];
    }
    if (head === "Saturate" || head === "Decay") {
      if (node.length !== 3 || !isObject(b)) throw new ApiError("InvalidQuery", `${at}: ${head} takes a clause and {midpoint, exponent?}`);
      return [head, walk(a, `${at}[1]`, depth + 1), b];
    }
    if (head === "Dist") {
      if (node.length !== 3) throw new ApiError("InvalidQuery", `${at}: Dist takes a clause and an origin`);
      return ["Dist", walk(a, `${at}[1]`, depth + 1), b];
    }
    if (head === "Attribute" && node.length === 2) {
      if (typeof a !== "string") throw new ApiError("InvalidQuery", `${at}: Attribute names an attribute`);
      return ["Attribute", a];
    }
    if (isRankExpression(node)) return leaves.filter(node, at);
    throw new ApiError("InvalidQuery", `${at}: ${JSON.stringify(head)} is not a ranking clause (see docs/turbopuffer-compat.md)`, { unsupported: String(head) });
  };
  return walk(rankBy, path, 0);
}
