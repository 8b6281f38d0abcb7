/**
 * Query filters: the JSON tuples the server takes (docs/query.md, "Filters"),
 * typed, and a builder that writes them.
 *
 * A `Filter<A>` is checked against the namespace's attribute type `A`: a
 * field is an attribute name or `id`, and an operand has the type the
 * attribute holds (`["price", "Lt", 20]` compiles only when `price` holds
 * numbers). With the default `A` (any attributes) every name and scalar is
 * accepted. Token filters (`ContainsAllTokens`, `ContainsAnyToken`,
 * `ContainsTokenSequence`) name a
 * text field, which is not an attribute, so any name is accepted there.
 *
 * ```ts
 * import { filter as f } from "@skerry/client";
 * f.and(f.eq("category", "books"), f.lt("price", 20), f.not(f.exists("discontinued")))
 * // ["And", [["category", "Eq", "books"], ["price", "Lt", 20], ["Not", ["discontinued", "Exists"]]]]
 * ```
 */
import type { Attributes } from "./json.ts";

/** A filter operand; a bigint is an integer beyond 2^53-1 (u64/i64 attribute values), compared exactly. */
export type Scalar = string | number | bigint | boolean;

export type EqualityOp = "Eq" | "NotEq";
export type OrderOp = "Lt" | "Lte" | "Gt" | "Gte";
export type CompareOp = EqualityOp | OrderOp;
export type ListOp = "In" | "NotIn" | "ContainsAny" | "ContainsAll";
export type PatternOp = "Glob" | "IGlob" | "Regex";
export type AnyCompareOp = "AnyLt" | "AnyLte" | "AnyGt" | "AnyGte";
export type TokenOp = "ContainsAllTokens" | "ContainsAnyToken" | "ContainsTokenSequence";

/** Attribute names of `A`, and `id`. */
export type FieldOf<A> = Extract<keyof A, string> | "id";

/** The scalars an attribute (or its array's elements) may hold. */
type ScalarIn<V> = V extends readonly (infer E)[] ? Extract<E, Scalar> : Extract<V, Scalar>;
/** Scalars of field K of A, as a filter operand: `id` is a string. */
export type ScalarOf<A, K> = K extends "id" ? string : K extends keyof A ? ScalarIn<Exclude<A[K], null | undefined>> : Scalar;
type Ordered<V> = Extract<V, string | number | bigint>;

/** The leaves on one field K. */
export type FieldFilter<A, K extends string> =
  | readonly [field: K, op: EqualityOp, value: ScalarOf<A, K>]
  | readonly [field: K, op: OrderOp, value: Ordered<ScalarOf<A, K>>]
  | readonly [field: K, op: ListOp, values: readonly ScalarOf<A, K>[]]
  | readonly [field: K, op: PatternOp, pattern: string]
  | readonly [field: K, op: AnyCompareOp, value: Ordered<ScalarOf<A, K>>]
  | readonly [field: K, op: "Exists"];

export interface TokenOptions {
  /** The last token matches every token it begins (type-ahead). */
  readonly lastAsPrefix?: boolean;
}

/** A token filter on a text field (text fields are not attributes: any name). */
export type TokenFilter =
  | readonly [field: string, op: TokenOp, text: string | readonly string[]]
  | readonly [field: string, op: Exclude<TokenOp, "ContainsTokenSequence">, text: string | readonly string[], options: TokenOptions];

export interface FuzzyOptions {
  /**
   * The edit distance allowed a query token of at least `minQueryChars`
   * characters (at least 3 * (distance + 1)); a shorter token matches nothing.
   * Default: 3-5 characters exact, 6-8 one edit, 9+ two.
   */
  readonly maxEditDistance?: readonly { readonly distance: number; readonly minQueryChars: number }[];
  /** Default true. */
  readonly caseSensitive?: boolean;
}

/** A Fuzzy filter on a text field: every token of `text` within its edit distance of a field token. */
export type FuzzyFilter = readonly [field: string, op: "Fuzzy", text: string] | readonly [field: string, op: "Fuzzy", text: string, options: FuzzyOptions];

/** A FuzzySubstring filter on a string attribute: some substring of the value within the text's edit distance of it. */
export type FuzzySubstringFilter =
  | readonly [field: string, op: "FuzzySubstring", text: string]
  | readonly [field: string, op: "FuzzySubstring", text: string, options: FuzzyOptions];

/** A filter over documents whose attributes have type A. */
export type Filter<A = Attributes> =
  | { [K in FieldOf<A>]: FieldFilter<A, K> }[FieldOf<A>]
  | TokenFilter
  | FuzzyFilter
  | FuzzySubstringFilter
  | readonly [op: "And" | "Or", filters: readonly Filter<A>[]]
  | readonly [op: "Not", filter: Filter<A>];

// ------------------------------------------------------------------ builder
// Each function returns the exact tuple it builds; whether it fits the
// namespace's attributes is checked where it is used (a query or a
// by-filter write of a `Namespace<A>`).

const leaf = <const T extends readonly unknown[]>(...t: T): T => t;

export const filter = {
  and: <const F extends readonly unknown[]>(...filters: F) => leaf("And", filters),
  or: <const F extends readonly unknown[]>(...filters: F) => leaf("Or", filters),
  not: <const F>(f: F) => leaf("Not", f),
  eq: <const K extends string, const V extends Scalar>(field: K, value: V) => leaf(field, "Eq", value),
  notEq: <const K extends string, const V extends Scalar>(field: K, value: V) => leaf(field, "NotEq", value),
  lt: <const K extends string, const V extends string | number | bigint>(field: K, value: V) => leaf(field, "Lt", value),
  lte: <const K extends string, const V extends string | number | bigint>(field: K, value: V) => leaf(field, "Lte", value),
  gt: <const K extends string, const V extends string | number | bigint>(field: K, value: V) => leaf(field, "Gt", value),
  gte: <const K extends string, const V extends string | number | bigint>(field: K, value: V) => leaf(field, "Gte", value),
  in: <const K extends string, const V extends Scalar>(field: K, values: readonly V[]) => leaf(field, "In", values),
  notIn: <const K extends string, const V extends Scalar>(field: K, values: readonly V[]) => leaf(field, "NotIn", values),
  /** Array attributes holding any of `values`. */
  containsAny: <const K extends string, const V extends Scalar>(field: K, values: readonly V[]) => leaf(field, "ContainsAny", values),
  /** Array attributes holding all of `values`. */
  containsAll: <const K extends string, const V extends Scalar>(field: K, values: readonly V[]) => leaf(field, "ContainsAll", values),
  /** `*`, `?`, `[a-z]`, `[!abc]`. */
  glob: <const K extends string>(field: K, pattern: string) => leaf(field, "Glob", pattern),
  /** Glob ignoring case. */
  iglob: <const K extends string>(field: K, pattern: string) => leaf(field, "IGlob", pattern),
  /** An RE2 pattern found anywhere in the value (anchor with `^…$`). */
  regex: <const K extends string>(field: K, pattern: string) => leaf(field, "Regex", pattern),
  /** Present and not null. */
  exists: <const K extends string>(field: K) => leaf(field, "Exists"),
  /** Array attributes with an element that compares. */
  anyLt: <const K extends string, const V extends string | number | bigint>(field: K, value: V) => leaf(field, "AnyLt", value),
  anyLte: <const K extends string, const V extends string | number | bigint>(field: K, value: V) => leaf(field, "AnyLte", value),
  anyGt: <const K extends string, const V extends string | number | bigint>(field: K, value: V) => leaf(field, "AnyGt", value),
  anyGte: <const K extends string, const V extends string | number | bigint>(field: K, value: V) => leaf(field, "AnyGte", value),
  /** Documents whose text field holds every token of `text`. */
  containsAllTokens: (field: string, text: string | readonly string[], options?: TokenOptions): TokenFilter =>
    options === undefined ? [field, "ContainsAllTokens", text] : [field, "ContainsAllTokens", text, options],
  /** Documents whose text field holds any token of `text`. */
  containsAnyToken: (field: string, text: string | readonly string[], options?: TokenOptions): TokenFilter =>
    options === undefined ? [field, "ContainsAnyToken", text] : [field, "ContainsAnyToken", text, options],
  /** Documents whose text field holds the tokens of `text` consecutively, in order (a phrase). */
  containsTokenSequence: (field: string, text: string | readonly string[]): TokenFilter => [field, "ContainsTokenSequence", text],
  /** Documents whose text field holds, for every token of `text`, a token within its edit distance (typo-tolerant). */
  fuzzy: (field: string, text: string, options?: FuzzyOptions): FuzzyFilter => (options === undefined ? [field, "Fuzzy", text] : [field, "Fuzzy", text, options]),
  /** String values holding a substring within the text's edit distance of it (by the text's length; typo-tolerant "contains"). */
  fuzzySubstring: (field: string, text: string, options?: FuzzyOptions): FuzzySubstringFilter =>
    options === undefined ? [field, "FuzzySubstring", text] : [field, "FuzzySubstring", text, options],
} as const;
