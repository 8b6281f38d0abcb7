/**
 * turbopuffer's ranking expressions -> the engine's (docs/query.md
 * "Ranking expressions"), ranked natively and exactly:
 * - `["Sum", [..]]`, `["Max", [..]]`, `["Max", a, b]`, `["Product", w, e]`
 *   (also `["Product", e, w]` and the older `["Product", [w, e]]`);
 * - `["Saturate" | "Decay", e, {midpoint, exponent?}]` (a midpoint may be a
 *   duration like "6h": milliseconds), `["Dist", e, origin]` (a date-time
 *   origin measures a datetime attribute in milliseconds), `["Attribute", a]`;
 * - numbers; BM25 clauses (checked and translated by `leaves.bm25`); SparseKNN
 *   clauses (the sparse dot product, `leaves.sparse`);
 *   filters, which score 1 when a document matches (translated like the
 *   query's filters by `leaves.filter`).
 *
 * As turbopuffer does (https://turbopuffer.com/docs/query, "Rank by
 * attribute": it rejects `Attribute` on signed types without a `Max`, and
 * `Saturate` takes the max with zero itself), `["Attribute", a]` on a signed
 * number type (`int`, `float`) is refused unless its value cannot be negative
 * where it is used: a direct operand of a `Max` with a non-negative number
 * operand (`["Max", ["Attribute", a], 0]`), of `Saturate` or `Decay` (both
 * use max(x, 0)), or of `Dist` (a distance). The engine (and /v1) accept it
 * anywhere.
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
  /** A SparseKNN clause -> the engine's sparse Dot clause. */
  readonly sparse: (clause: unknown[], path: string) => unknown[];
  readonly filter: (filter: unknown[], path: string) => unknown[];
  /** The schema type of an attribute (undefined when unknown). */
  readonly attributeType?: (name: string) => string | undefined;
}

/** Attribute types whose values may be negative. */
const SIGNED_TYPES = new Set(["int", "float"]);

/** True when a Max's operands include a finite number >= 0 (so the Max is never negative). */
function hasNonNegativeNumber(operands: readonly unknown[]): boolean {
  return operands.some((c) => typeof c === "number" && Number.isFinite(c) && c >= 0);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The engine rankBy of a ranking expression. */
export function translateTextRank(rankBy: unknown, leaves: ExpressionLeaves, path: string): unknown {
  // `clamped`: the node's value is used only where it cannot be negative (an operand of Max with a number >= 0, of
  // Saturate or Decay, or of Dist).
  const walk = (node: unknown, at: string, depth: number, clamped = false): unknown => {
    if (depth > MAX_DEPTH) throw new ApiError("InvalidQuery", `${at}: ranking expressions nest at most ${MAX_DEPTH} levels`);
    if (typeof node === "number") {
      if (!Number.isFinite(node)) throw new ApiError("InvalidQuery", `${at}: a number in a ranking expression is finite`);
      return node;
    }
    if (!Array.isArray(node)) throw new ApiError("InvalidQuery", `${at}: a ranking clause is an array or a number`);
    const [head, a, b] = node as [unknown, unknown, unknown];
    if (node[1] === "BM25") return leaves.bm25(node, at);
    // "SparseKNN is compatible with FTS operators: Sum, Max, Saturate, etc." (https://turbopuffer.com/docs/query).
    if (node[1] === "SparseKNN") return leaves.sparse(node, at);
    if ((head === "Sum" || head === "Max") && node.length === 2) {
      if (!Array.isArray(a) || a.length === 0) throw new ApiError("InvalidQuery", `${at}: ${head} takes a non-empty list of clauses`);
      const guard = head === "Max" && hasNonNegativeNumber(a);
      return [head, a.map((c, i) => walk(c, `${at}[1][${i}]`, depth + 1, guard))];
    }
    if (head === "Max" && node.length === 3) {
      const guard = hasNonNegativeNumber([a, b]);
      return ["Max", walk(a, `${at}[1]`, depth + 1, guard), walk(b, `${at}[2]`, depth + 1, guard)];
    }
    if (head === "Sum" || head === "Max") throw new ApiError("InvalidQuery", `${at}: ${head} takes a list of clauses`);
    if (head === "Product") {
      const [x, y] = node.length === 2 && Array.isArray(a) ? (a as [unknown, unknown]) : [a, b];
      const weight = typeof x === "number" ? x : y;
      const child = typeof x === "number" ? y : x;
      if (typeof weight !== "number" || !Number.isFinite(weight)) throw new ApiError("InvalidQuery", `${at}: Product takes a finite number and a clause`);
      // turbopuffer: "the weight must be non-negative" (https://turbopuffer.com/docs/query, "Field weights/boosts").
      if (weight < 0) throw new ApiError("InvalidQuery", `${at}: a Product weight must be non-negative; got ${weight}`);
      return ["Product", weight, walk(child, `${at}.Product`, depth + 1)];
    }
    if (head === "Saturate" || head === "Decay") {
      if (node.length !== 3 || !isObject(b)) throw new ApiError("InvalidQuery", `${at}: ${head} takes a clause and {midpoint, exponent?}`);
      return [head, walk(a, `${at}[1]`, depth + 1, true), b];
    }
    if (head === "Dist") {
      if (node.length !== 3) throw new ApiError("InvalidQuery", `${at}: Dist takes a clause and an origin`);
      return ["Dist", walk(a, `${at}[1]`, depth + 1, true), b];
    }
    if (head === "Attribute" && node.length === 2) {
      if (typeof a !== "string") throw new ApiError("InvalidQuery", `${at}: Attribute names an attribute`);
      const type = leaves.attributeType?.(a);
      if (!clamped && type !== undefined && SIGNED_TYPES.has(type)) {
        throw new ApiError(
          "InvalidQuery",
          `${at}: attribute ${JSON.stringify(a)} has the signed type ${type}: a ranking expression takes it only where it cannot be negative, e.g. ["Max", ["Attribute", ${JSON.stringify(a)}], 0] or under Saturate (or use uint)`,
        );
      }
      return ["Attribute", a];
    }
    if (isRankExpression(node)) return leaves.filter(node, at);
    throw new ApiError("InvalidQuery", `${at}: ${JSON.stringify(head)} is not a ranking clause (see docs/turbopuffer-compat.md)`, { unsupported: String(head) });
  };
  return walk(rankBy, path, 0);
}
