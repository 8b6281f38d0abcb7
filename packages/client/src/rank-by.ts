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
 * rankBy.sparse({ indices: [3, 17], values: [0.5, 1.2] })
 * rankBy.desc("price")                          // attribute order; rankBy.order(["color", "asc"], ["price", "desc"])
 * rankBy.rrf([rankBy.vector(v), rankBy.bm25("body", "fox")], { k: 60, weights: [2, 1] })
 * ```
 */
import type { FieldOf } from "./filter.ts";
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

/** A BM25 clause on a text field, or a combination of clauses (at most 16 clauses, 4 levels). */
export type TextRanking =
  | readonly [field: string, op: "BM25", text: string]
  | readonly [field: string, op: "BM25", text: string, options: Bm25Options]
  | readonly [op: "Sum" | "Max", clauses: readonly TextRanking[]]
  | readonly [op: "Product", weight: number, clause: TextRanking]
  | readonly [op: "Product", clause: TextRanking, weight: number];

/** One attribute order key. */
export type OrderKey<A = Attributes> = readonly [field: FieldOf<A>, direction: Direction];

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
  /** Sum of the clauses' BM25 scores. */
  sum: (...clauses: TextRanking[]) => tuple("Sum", clauses),
  /** The largest of the clauses' BM25 scores. */
  max: (...clauses: TextRanking[]) => tuple("Max", clauses),
  /** A clause's score times a finite weight. */
  product: (weight: number, clause: TextRanking) => tuple("Product", weight, clause),
  asc: <const K extends string>(field: K) => tuple(field, "asc"),
  desc: <const K extends string>(field: K) => tuple(field, "desc"),
  /** Order by several keys: `order(["color", "asc"], ["price", "desc"])`. */
  order: <const K extends readonly (readonly [string, Direction])[]>(...keys: K) => keys,
  /** Reciprocal-rank fusion of several rankings (same filters); does not nest. */
  rrf: <const R extends readonly unknown[]>(rankings: R, options?: RrfOptions) =>
    options === undefined ? tuple("RRF", rankings) : tuple("RRF", rankings, options),
} as const;
