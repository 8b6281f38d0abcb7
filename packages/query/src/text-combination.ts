/**
 * Ranking expressions: BM25 clauses over several text fields, attribute
 * values, filters and numbers, combined into one score per document
 * (higher first, ties by id).
 *
 * - `[field, "BM25", text]`: the clause's BM25 score, as the single BM25
 *   ranking scores it (its own field's corpus statistics over the live
 *   documents of every partition: bm25-stats.ts); 0 where it does not match.
 * - a number: itself.
 * - `["Attribute", a]`: the document's number value of `a`; none when it
 *   has no number there (missing, null, a string, ...).
 * - a filter (`[a, "Eq", v]`, `["And", [...]]`, ...): 1 when the document
 *   matches it, else 0.
 * - `["Sum", [e, ...]]` adds (an operand without a value adds 0);
 *   `["Max", [e, ...]]` (or `["Max", e, e]`) takes the largest operand with
 *   a value (none when none has one); `["Product", w, e]` multiplies by w.
 * - `["Saturate", e, {midpoint: m, exponent: x}]` maps v = max(e, 0) to
 *   v^x / (v^x + m^x) (0 at 0, 1/2 at m, towards 1); `["Decay", ...]` to
 *   m^x / (v^x + m^x) (1 at 0, 1/2 at m, towards 0); exponent default 1.
 * - `["sparse", "Dot", {indices, values}]`: the dot product of the
 *   document's sparse vector with the query's (the sparse ranking's score);
 *   0 where they share no dimension.
 * - `["Dist", e, origin]`: |e - origin|. A date-time origin (ISO 8601)
 *   measures milliseconds to the date-time strings of the attribute `e`
 *   names (turbopuffer's datetime attributes are stored as UTC ISO
 *   strings); midpoints may then be durations ("6h": query-request.ts).
 * An operator of an operand without a value has no value; a document whose
 * whole expression has none scores 0.
 *
 * Which documents take part: with BM25 or sparse clauses, those that match
 * at least one of them (share a term, or a sparse dimension; the other
 * leaves boost them); without, every live document the query's filters
 * keep. Exact: every such document is scored (dense per-partition arrays,
 * one per BM25 clause, sparse clause and filter leaf).
 */
import { TAG_NUMBER, TAG_STRING } from "./attribute-columns.ts";
import { type Bm25Params, type Bm25Partition, type Bm25Stats, bm25Stats, forEachBm25Posting } from "./bm25-stats.ts";
import { dateTimeMs } from "./date-time.ts";
import { evaluateFilter } from "./filter-plan.ts";
import type { Filter, TextExpr } from "./query-request.ts";
import { findDim, sparseInverted } from "./sparse-index.ts";

export type Bm25Leaf = Extract<TextExpr, { op: "bm25" }>;
export type SparseLeaf = Extract<TextExpr, { op: "sparse" }>;
export type FilterLeaf = Extract<TextExpr, { op: "Filter" }>;
export type AttributeLeaf = Extract<TextExpr, { op: "Attribute" }>;
/** The leaves whose values come from the documents. */
export type ExprLeaf = Bm25Leaf | SparseLeaf | FilterLeaf | AttributeLeaf;

/** A partition as the expression sees it: BM25's view, plus its live documents the query's filters keep. */
export interface ExprPartition extends Bm25Partition {
  /** Every live slot the query's filters keep, ascending. */
  forEachLive(fn: (slot: number) => void): void;
}

/** The leaves of `expr` by kind, and whether an Attribute leaf is read as a date-time (also the cold path's: cold-expression.ts). */
export function expressionLeaves(expr: TextExpr): { bm25: Bm25Leaf[]; sparse: SparseLeaf[]; filters: FilterLeaf[]; attributes: Map<AttributeLeaf, boolean> } {
  const out = { bm25: [] as Bm25Leaf[], sparse: [] as SparseLeaf[], filters: [] as FilterLeaf[], attributes: new Map<AttributeLeaf, boolean>() };
  const walk = (e: TextExpr, dateTime: boolean): void => {
    switch (e.op) {
      case "bm25":
        out.bm25.push(e);
        return;
      case "sparse":
        out.sparse.push(e);
        return;
      case "Filter":
        out.filters.push(e);
        return;
      case "Attribute":
        out.attributes.set(e, dateTime);
        return;
      case "Const":
        return;
      case "Product":
      case "Saturate":
      case "Decay":
        walk(e.arg, false);
        return;
      case "Dist":
        walk(e.arg, e.dateTime);
        return;
      case "Sum":
      case "Max":
        for (const a of e.args) walk(a, false);
    }
  };
  walk(expr, false);
  return out;
}

/** The filters inside `expr` (for the type check every query filter gets). */
export function expressionFilters(expr: TextExpr): Filter[] {
  return expressionLeaves(expr).filters.map((f) => f.filter);
}

/** v = max(x, 0) -> v^e / (v^e + m^e), written so that no power overflows. */
function saturate(x: number, m: number, e: number): number {
  if (!(x > 0)) return 0;
  return 1 / (1 + (m / x) ** e);
}

/** v = max(x, 0) -> m^e / (v^e + m^e). */
function decay(x: number, m: number, e: number): number {
  if (!(x > 0)) return 1;
  return 1 / (1 + (x / m) ** e);
}

/**
 * The value of `expr` for `slot` given its leaves' values there (NaN stands for "no value"): the one float64
 * evaluation of an expression, shared by the loaded and the cold paths so they agree to the bit.
 */
export function expressionValue(e: TextExpr, slot: number, leaf: (e: ExprLeaf, slot: number) => number): number {
  switch (e.op) {
    case "bm25":
    case "sparse":
    case "Filter":
    case "Attribute":
      return leaf(e, slot);
    case "Const":
      return e.value;
    case "Product":
      return e.weight * expressionValue(e.arg, slot, leaf);
    case "Saturate": {
      const x = expressionValue(e.arg, slot, leaf);
      return Number.isNaN(x) ? x : saturate(x, e.midpoint, e.exponent);
    }
    case "Decay": {
      const x = expressionValue(e.arg, slot, leaf);
      return Number.isNaN(x) ? x : decay(x, e.midpoint, e.exponent);
    }
    case "Dist":
      return Math.abs(expressionValue(e.arg, slot, leaf) - e.origin);
    case "Sum": {
      let total = 0;
      for (const a of e.args) {
        const v = expressionValue(a, slot, leaf);
        if (!Number.isNaN(v)) total += v;
      }
      return total;
    }
    case "Max": {
      let best = Number.NaN;
      for (const a of e.args) {
        const v = expressionValue(a, slot, leaf);
        if (!Number.isNaN(v) && !(v <= best)) best = v;
      }
      return best;
    }
  }
}

/** One partition's view of an expression: which slots take part, and a slot's value (NaN: no value). */
export interface PartitionExpression {
  /** 1 for the slots that take part in a ranking by the expression. */
  readonly any: Uint8Array;
  value(slot: number): number;
}

/**
 * The expression prepared over every partition: BM25 clauses scored (with
 * the statistics of all partitions), filter operands evaluated, attribute
 * columns resolved. `value(slot)` is NaN where the expression has no value.
 */
export function prepareExpression(
  parts: readonly ExprPartition[],
  expr: TextExpr,
  params?: (field: string) => Bm25Params | undefined,
): PartitionExpression[] {
  const leaves = expressionLeaves(expr);
  const stats = new Map<Bm25Leaf, Bm25Stats | undefined>();
  for (const leaf of leaves.bm25) stats.set(leaf, bm25Stats(parts, leaf.field, leaf.query, params?.(leaf.field), leaf.lastAsPrefix));
  return parts.map((part, p) => {
    const index = part.index;
    const n = index.size;
    const any = new Uint8Array(n);
    const clause = new Map<Bm25Leaf, Float64Array>();
    for (const leaf of leaves.bm25) {
      const scores = new Float64Array(n);
      const s = stats.get(leaf);
      if (s !== undefined) {
        forEachBm25Posting(s, part, p, (slot, score) => {
          scores[slot]! += score;
          any[slot] = 1;
        });
      }
      clause.set(leaf, scores);
    }
    // Sparse clauses: the dot product over the postings of the query's dimensions (live slots only).
    const sparseScores = new Map<SparseLeaf, Float64Array>();
    const rows = index.sparse;
    const inverted = rows === null || leaves.sparse.length === 0 ? undefined : sparseInverted(rows);
    for (const leaf of leaves.sparse) {
      const scores = new Float64Array(n);
      if (inverted !== undefined) {
        for (let i = 0; i < leaf.indices.length; i++) {
          const d = findDim(inverted.dims, leaf.indices[i]!);
          if (d < 0) continue;
          const w = leaf.values[i]!;
          for (let e = inverted.offsets[d]!; e < inverted.offsets[d + 1]!; e++) {
            const slot = inverted.slots[e]!;
            if (part.dead !== null && part.dead[slot] !== 0) continue;
            scores[slot]! += w * inverted.values[e]!;
            any[slot] = 1;
          }
        }
      }
      sparseScores.set(leaf, scores);
    }
    if (leaves.bm25.length === 0 && leaves.sparse.length === 0) part.forEachLive((slot) => (any[slot] = 1));
    const filterMasks = new Map<FilterLeaf, Uint8Array>();
    for (const leaf of leaves.filters) {
      const m = evaluateFilter(index, leaf.filter);
      let mask: Uint8Array;
      if (m.kind === "mask") mask = m.mask;
      else {
        mask = new Uint8Array(n);
        if (m.kind === "all") mask.fill(1);
        else for (const s of m.slots) mask[s] = 1;
      }
      filterMasks.set(leaf, mask);
    }
    const attributeValue = new Map<AttributeLeaf, (slot: number) => number>();
    for (const [leaf, dateTime] of leaves.attributes) {
      const column = index.attributeColumns.get(leaf.field);
      if (column === undefined) attributeValue.set(leaf, () => Number.NaN);
      else if (!dateTime) attributeValue.set(leaf, (slot) => (column.tags[slot] === TAG_NUMBER ? column.numbers![slot]! : Number.NaN));
      else {
        // Each distinct string is read once: its dictionary code -> ms (NaN when not a date-time).
        const parsed = new Map<number, number>();
        attributeValue.set(leaf, (slot) => {
          if (column.tags[slot] !== TAG_STRING) return Number.NaN;
          const code = column.codes![slot]!;
          let ms = parsed.get(code);
          if (ms === undefined) parsed.set(code, (ms = dateTimeMs(column.strings!.get(code)) ?? Number.NaN));
          return ms;
        });
      }
    }
    const leaf = (e: ExprLeaf, slot: number): number => {
      if (e.op === "bm25") return clause.get(e)![slot]!;
      if (e.op === "sparse") return sparseScores.get(e)![slot]!;
      if (e.op === "Filter") return filterMasks.get(e)![slot]!;
      return attributeValue.get(e)!(slot);
    };
    return { any, value: (slot: number) => expressionValue(expr, slot, leaf) };
  });
}

/**
 * The score of every live slot of every partition that takes part (see
 * above): per partition, the slots (ascending) and their scores.
 */
export function textCombinationScores(
  parts: readonly ExprPartition[],
  expr: TextExpr,
  params?: (field: string) => Bm25Params | undefined,
): { slots: Uint32Array; scores: Float64Array }[] {
  return prepareExpression(parts, expr, params).map(({ any, value }) => {
    const n = any.length;
    let count = 0;
    for (let slot = 0; slot < n; slot++) count += any[slot]!;
    const slots = new Uint32Array(count);
    const scores = new Float64Array(count);
    let w = 0;
    for (let slot = 0; slot < n; slot++) {
      if (any[slot] === 0) continue;
      const v = value(slot);
      slots[w] = slot;
      scores[w++] = Number.isNaN(v) ? 0 : v;
    }
    return { slots, scores };
  });
}
