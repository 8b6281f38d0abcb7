/**
 * Rankings: the `rankBy` JSON the server takes (docs/query.md, "Request"
 * and "Scoring"), typed, and a builder that writes it.
 *
 * ```ts
 * import { rankBy } from "@skerry/client";
 * rankBy.vector([0.1, 0.2])                     // ["vector", "kNN", [0.1, 0.2]]: exact, `distance` smaller is closer
 * rankBy.ann([0.1, 0.2])                        // ["vector", "ANN", ...]: approximate (IVF)
 * rankBy.bm25("title", "vintage guitar")        // a text field, `score` larger is better
 * rankBy.sum(rankBy.product(2, rankBy.bm25("title", "fox")), rankBy.bm25("body", "fox"))
 * rankBy.sum(rankBy.bm25("title", "fox"), rankBy.saturate(rankBy.attribute("clicks"), { midpoint: 100 }))
 * rankBy.decay(rankBy.dist(rankBy.attribute("published_at"), "2026-02-03T00:00:00Z"), { midpoint: "6h" })
 * rankBy.sparse({ indices: [3, 17], values: [0.5, 1.2] })
 * rankBy.desc("price")                          // attribute order; rankBy.order(["color", "asc"], ["price", "desc"])
 * rankBy.rrf([rankBy.vector(v), rankBy.bm25("body", "fox")], { k: 60, weights: [2, 1] })
 * ```
 */
import type { FieldOf, Filter } from "./filter.ts";
import type { Attributes } from "./json.ts";

export type Direction = "asc" | "desc";

export interface SparseVector {
  /** Strictly increasing u32 indices. */
  readonly indices: readonly number[];
  readonly values: readonly number[];
}

export interface Bm25Options {
  /** The last token stands for the terms it begins (type-ahead; the first 64 in code-unit order). */
  readonly lastAsPrefix?: boolean;
}

export interface SaturationOptions {
  /** The operand value that maps to 1/2: a positive number, or a duration like "6h" (milliseconds). */
  readonly midpoint: number | string;
  /** Default 1. */
  readonly exponent?: number;
}

/**
 * A ranking expression (docs/query.md "Ranking expressions"): BM25 clauses,
 * numbers, attribute values and filters (1 when a document matches, else 0),
 * combined (at most 16 BM25 clauses, 64 nodes, 8 levels).
 */
export type TextRanking =
  | readonly [field: string, op: "BM25", text: string]
  | readonly [field: string, op: "BM25", text: string, options: Bm25Options]
  | readonly [op: "Sum" | "Max", clauses: readonly (TextRanking | number)[]]
  | readonly [op: "Max", a: TextRanking | number, b: TextRanking | number]
  | readonly [op: "Product", weight: number, clause: TextRanking]
  | readonly [op: "Product", clause: TextRanking, weight: number]
  | readonly [op: "Attribute", field: string]
  | readonly [op: "Saturate" | "Decay", operand: TextRanking, options: SaturationOptions]
  | readonly [op: "Dist", operand: TextRanking, origin: number | string]
  | Filter;

/** One attribute order key. */
/** Where rows without a number or string value for an order key go: "last" (the default) or "first". */
export interface OrderOptions {
  readonly missing?: "first" | "last";
}

export type OrderKey<A = Attributes> = readonly [field: FieldOf<A>, direction: Direction] | readonly [field: FieldOf<A>, direction: Direction, options: OrderOptions];

/** A ranking that is not RRF. */
export type SingleRankBy<A = Attributes> =
  | readonly [field: "vector", op: "kNN" | "ANN", vector: readonly number[]]
  | readonly [field: "sparse", op: "Dot", vector: SparseVector]
  | TextRanking
  | OrderKey<A>
  /** Several keys (at most 8), the first deciding first. */
  | readonly OrderKey<A>[];

export interface RrfOptions {
  /** Default 60. */
  readonly k?: number;
  /** Rows each sub-ranking contributes (default 100, at least topK). */
  readonly window?: number;
  /** One positive weight per sub-ranking (default 1 each). */
  readonly weights?: readonly number[];
}

export type RankBy<A = Attributes> =
  | SingleRankBy<A>
  | readonly [op: "RRF", rankings: readonly SingleRankBy<A>[]]
  | readonly [op: "RRF", rankings: readonly SingleRankBy<A>[], options: RrfOptions];

const tuple = <const T extends readonly unknown[]>(...t: T): T => t;

export const rankBy = {
  /** Exact nearest neighbours of a dense vector (rows carry `distance`). */
  vector: (vector: readonly number[]) => tuple("vector", "kNN", vector),
  /** Approximate nearest neighbours (IVF; `probes` in the query tunes recall). */
  ann: (vector: readonly number[]) => tuple("vector", "ANN", vector),
  /** Sparse dot product (rows carry `score`). */
  sparse: (vector: SparseVector) => tuple("sparse", "Dot", vector),
  /** BM25 on a text field (rows carry `score`). */
  bm25: (field: string, text: string, options?: Bm25Options): TextRanking =>
    options === undefined ? tuple(field, "BM25", text) : tuple(field, "BM25", text, options),
  /** Sum of the operands (a BM25 clause that does not match, or an attribute without a number, adds 0). */
  sum: (...clauses: (TextRanking | number)[]) => tuple("Sum", clauses),
  /** The largest of the operands. */
  max: (...clauses: (TextRanking | number)[]) => tuple("Max", clauses),
  /** An operand's score times a finite weight. */
  product: (weight: number, clause: TextRanking) => tuple("Product", weight, clause),
  /** A document's number value of an attribute. */
  attribute: (field: string) => tuple("Attribute", field),
  /** v = max(operand, 0) -> v^e / (v^e + m^e): 0 at 0, 1/2 at the midpoint m, towards 1. */
  saturate: (operand: TextRanking, options: SaturationOptions) => tuple("Saturate", operand, options),
  /** v = max(operand, 0) -> m^e / (v^e + m^e): 1 at 0, 1/2 at the midpoint m, towards 0. */
  decay: (operand: TextRanking, options: SaturationOptions) => tuple("Decay", operand, options),
  /** |operand - origin|; an ISO 8601 origin measures an attribute of date-times in milliseconds. */
  dist: (operand: TextRanking, origin: number | string) => tuple("Dist", operand, origin),
  /** Ascending; `{missing: "first"}` puts rows without a value first (turbopuffer's order), else last. */
  asc: <const K extends string>(field: K, options?: OrderOptions) => (options === undefined ? tuple(field, "asc") : tuple(field, "asc", options)),
  /** Descending; rows without a value last unless `{missing: "first"}`. */
  desc: <const K extends string>(field: K, options?: OrderOptions) => (options === undefined ? tuple(field, "desc") : tuple(field, "desc", options)),
  /** Order by several keys: `order(["color", "asc"], ["price", "desc", {missing: "first"}])`. */
  order: <const K extends readonly (readonly [string, Direction] | readonly [string, Direction, OrderOptions])[]>(...keys: K) => keys,
  /** Reciprocal-rank fusion of several rankings (same filters); does not nest. */
  rrf: <const R extends readonly unknown[]>(rankings: R, options?: RrfOptions) =>
    options === undefined ? tuple("RRF", rankings) : tuple("RRF", rankings, options),
} as const;
