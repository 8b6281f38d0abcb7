/**
 * coldExpression: a ranking expression (../text-combination.ts: BM25
 * clauses, numbers, `Attribute` operands, filters as 1/0 operands, Sum,
 * Max, Product, Saturate, Decay, Dist) evaluated over indexed segments that
 * are not loaded, at the slots a caller names, with exactly the values the
 * loaded path's `prepareExpression` gives (the same float64 evaluation,
 * `expressionValue`):
 * - BM25 clauses: every clause scored as the single cold BM25 ranking
 *   scores it (cold-bm25.ts coldBm25Scores: its own field's statistics over
 *   every live row of every partition); a clause a row does not match is 0;
 * - a filter operand: its matching slots in the segment (cold-filter.ts
 *   coldFilterSlots: the filter's postings by range), 1 where it matches;
 * - an `Attribute` operand: the type tags of the named slots, then the
 *   numbers of those holding a number (under a date-time `Dist`: the string
 *   codes of those holding a string, and the dictionary entries they name,
 *   parsed once each). A column is read whole when at least a quarter of
 *   its rows is named, else only the blocks holding the named slots;
 * - the tail's chunks are in memory: their columns and filters as loaded.
 * Undefined when a filter operand is not served cold (the caller loads).
 * Damage (a damaged block, a column of the wrong length, a tag outside the
 * column's type mask, a number without its column, a string code outside
 * the dictionary) is CorruptStoredIndexError naming the index.
 */
import type { ArrayRef, ColdArrayReader, ColdArrayType, ColdIndexFile } from "./cold-array-reader.ts";
import { type ColdBm25Context, type ColdClauseScores, coldBm25Scores } from "./cold-bm25.ts";
import { type ColdFilterContext, coldFilterSlots } from "./cold-filter.ts";
import type { ColdTailChunk } from "./cold-tail.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { TAG_NUMBER, TAG_STRING } from "../attribute-columns.ts";
import type { Bm25Params } from "../bm25-stats.ts";
import { dateTimeMs } from "../date-time.ts";
import { checkFilterTypes, evaluateFilter } from "../filter-plan.ts";
import type { QueryIndex } from "../query-index.ts";
import type { TextExpr } from "../query-request.ts";
import { type AttributeLeaf, type Bm25Leaf, type ExprLeaf, expressionLeaves, expressionValue, type FilterLeaf } from "../text-combination.ts";

type AttributeMeta = ColdIndexFile["meta"]["attributes"][number];

/** A column is read whole when at least this share of its rows is named. */
const WHOLE_COLUMN_SHARE = 0.25;
/** Dictionary entries named by at most this many distinct codes are read one by one, more as one range. */
const SINGLE_STRINGS = 64;

export interface ColdExpressionContext extends ColdBm25Context {
  /** The namespace's k1 and b of a field. */
  readonly params: (field: string) => Bm25Params | undefined;
  /** Where the filter operands are evaluated (the reader and the id set access). */
  readonly filters: ColdFilterContext;
}

/** Each BM25 clause's scores of the live rows that hold one of its terms (null: it cannot match). */
export type ClauseScores = ReadonlyMap<Bm25Leaf, ColdClauseScores | null>;

/** An expression's value at the named slots (NaN: no value). */
export interface ColdExpressionValues {
  /** Segment `s`, one of the slots named for it. */
  segment(s: number, slot: number): number;
  /** Tail chunk `c`, any slot. */
  tail(c: number, slot: number): number;
}

/**
 * The loaded path's type check of the expression's filter operands over every partition's column types (the
 * segments' meta documents hold them): the same InvalidQueryError for an operand of a type the attribute never holds.
 */
export function checkExpressionFilters(expr: TextExpr, files: readonly ColdIndexFile[], tail: readonly ColdTailChunk[]): void {
  const leaves = expressionLeaves(expr).filters;
  if (leaves.length === 0) return;
  const typed = files.map(
    (file) => ({ attributeColumns: new Map(file.meta.attributes.map((a) => [a.name, { typeMask: a.typeMask, elementTypeMask: a.elementTypeMask }])) }) as unknown as QueryIndex,
  );
  for (const leaf of leaves) checkFilterTypes(leaf.filter, [...typed, ...tail.map((chunk) => chunk.index)]);
}

/** The scores of the expression's BM25 clauses, each over every partition (cold-bm25.ts). */
export async function coldClauseScores(context: ColdExpressionContext, expr: TextExpr): Promise<ClauseScores> {
  const leaves = expressionLeaves(expr).bm25;
  const scored = await Promise.all(
    leaves.map((leaf) => coldBm25Scores(context, { field: leaf.field, query: leaf.query, params: context.params(leaf.field), lastAsPrefix: leaf.lastAsPrefix })),
  );
  return new Map(leaves.map((leaf, i) => [leaf, scored[i] as ColdClauseScores | null]));
}

/**
 * The expression's values at `slots[s]` (ascending) of each segment and at every slot of the tail's chunks, its
 * BM25 clauses scored by `clauses`; undefined when a filter operand is not served cold.
 */
export async function coldExpressionValues(
  context: ColdExpressionContext,
  expr: TextExpr,
  clauses: ClauseScores,
  slots: readonly Uint32Array[],
): Promise<ColdExpressionValues | undefined> {
  const leaves = expressionLeaves(expr);
  const { files, tail } = context;
  const segments = await Promise.all(files.map((file, s) => segmentLeaves(context, file, leaves, slots[s] ?? new Uint32Array(0))));
  if (segments.some((leaf) => leaf === undefined)) return undefined;
  const segmentLeaf = (segments as ((e: ExprLeaf, slot: number) => number)[]).map(
    (other, s) =>
      (e: ExprLeaf, slot: number): number =>
        e.op === "bm25" ? (clauses.get(e)?.segments[s]?.scores[slot] ?? 0) : other(e, slot),
  );
  const tailLeaf = tail.map((chunk, c) => chunkLeaves(chunk.index, leaves, (e, slot) => clauses.get(e)?.tail[c]?.get(slot) ?? 0));
  return {
    segment: (s, slot) => expressionValue(expr, slot, segmentLeaf[s] as (e: ExprLeaf, slot: number) => number),
    tail: (c, slot) => expressionValue(expr, slot, tailLeaf[c] as (e: ExprLeaf, slot: number) => number),
  };
}

/** A tail chunk's filter and attribute operands (its index in memory, as prepareExpression reads them), BM25 by `bm25`. */
function chunkLeaves(index: QueryIndex, leaves: ReturnType<typeof expressionLeaves>, bm25: (e: Bm25Leaf, slot: number) => number): (e: ExprLeaf, slot: number) => number {
  const masks = new Map<FilterLeaf, Uint8Array>();
  const maskOf = (leaf: FilterLeaf): Uint8Array => {
    let mask = masks.get(leaf);
    if (mask === undefined) {
      const m = evaluateFilter(index, leaf.filter);
      if (m.kind === "mask") mask = m.mask;
      else {
        mask = new Uint8Array(index.size);
        if (m.kind === "all") mask.fill(1);
        else for (const slot of m.slots) mask[slot] = 1;
      }
      masks.set(leaf, mask);
    }
    return mask;
  };
  const parsed = new Map<string, Map<number, number>>();
  const attribute = (leaf: AttributeLeaf, slot: number): number => {
    const column = index.attributeColumns.get(leaf.field);
    if (column === undefined) return Number.NaN;
    if (leaves.attributes.get(leaf) !== true) return column.tags[slot] === TAG_NUMBER ? (column.numbers as Float64Array)[slot]! : Number.NaN;
    if (column.tags[slot] !== TAG_STRING) return Number.NaN;
    let codes = parsed.get(leaf.field);
    if (codes === undefined) parsed.set(leaf.field, (codes = new Map()));
    const code = (column.codes as Int32Array)[slot]!;
    let ms = codes.get(code);
    if (ms === undefined) codes.set(code, (ms = dateTimeMs(column.strings!.get(code)) ?? Number.NaN));
    return ms;
  };
  return (e, slot) => {
    if (e.op === "bm25") return bm25(e, slot);
    if (e.op === "Filter") return maskOf(e)[slot]!;
    if (e.op === "sparse") throw new Error("cold expression: sparse clauses are answered by the loaded path (loaded-only.ts)");
    return attribute(e, slot);
  };
}

/** A segment's filter and attribute operands at `slots`, read by range; undefined when a filter is not served cold. */
async function segmentLeaves(
  context: ColdExpressionContext,
  file: ColdIndexFile,
  leaves: ReturnType<typeof expressionLeaves>,
  slots: Uint32Array,
): Promise<((e: ExprLeaf, slot: number) => number) | undefined> {
  const n = file.meta.size;
  const none = slots.length === 0;
  // As QueryIndex keys its columns: the meta document's order, a later duplicate wins.
  const byName = new Map<string, AttributeMeta>(file.meta.attributes.map((a) => [a.name, a]));
  const [filters, attributes] = await Promise.all([
    Promise.all(leaves.filters.map((leaf) => (none ? new Uint32Array(0) : coldFilterSlots(context.filters, file, leaf.filter)))),
    Promise.all(
      [...leaves.attributes].map(([leaf, dateTime]) => {
        const a = byName.get(leaf.field);
        return none || a === undefined ? null : attributeValues(context.reader, file, a, dateTime, slots);
      }),
    ),
  ]);
  if (filters.some((m) => m === undefined)) return undefined;
  const masks = new Map<FilterLeaf, Uint8Array>();
  leaves.filters.forEach((leaf, i) => {
    const mask = new Uint8Array(n);
    for (const slot of filters[i] as Uint32Array) mask[slot] = 1;
    masks.set(leaf, mask);
  });
  const values = new Map<AttributeLeaf, ((slot: number) => number) | null>([...leaves.attributes.keys()].map((leaf, i) => [leaf, attributes[i] ?? null]));
  return (e, slot) => {
    if (e.op === "Filter") return (masks.get(e) as Uint8Array)[slot]!;
    if (e.op === "Attribute") return values.get(e)?.(slot) ?? Number.NaN;
    throw new Error("cold expression: a BM25 clause is scored by its clause scores");
  };
}

/**
 * An attribute's number values at `slots` (those holding a number; under a date-time Dist, the date-time strings
 * in ms of those holding a string; NaN for the others): tags first, then the numbers or the codes and the dictionary
 * entries met.
 */
async function attributeValues(reader: ColdArrayReader, file: ColdIndexFile, a: AttributeMeta, dateTime: boolean, slots: Uint32Array): Promise<(slot: number) => number> {
  const corrupt = (what: string) => new CorruptStoredIndexError(`query index ${file.key}: attribute ${JSON.stringify(a.name)} ${what}`, file.key);
  const tags = await elements(reader, file, a.tags, "u8", slots);
  const wanted: number[] = [];
  for (const slot of slots) {
    const tag = tags(slot);
    if (tag > 7 || ((a.typeMask >> tag) & 1) === 0) throw corrupt(`has tag ${tag} at slot ${slot}, not in its type mask`);
    if (tag === (dateTime ? TAG_STRING : TAG_NUMBER)) wanted.push(slot);
  }
  if (wanted.length === 0) return () => Number.NaN;
  const some = Uint32Array.from(wanted);
  if (!dateTime) {
    if (a.numbers === null) throw corrupt("holds numbers without a number column");
    const numbers = await elements(reader, file, a.numbers, "f64", some);
    return (slot) => (tags(slot) === TAG_NUMBER ? numbers(slot) : Number.NaN);
  }
  if (a.codes === null || a.strings === null) throw corrupt("holds strings without string codes or dictionary");
  const table = a.strings;
  const codes = await elements(reader, file, a.codes, "i32", some);
  const count = reader.stringCount(file, table);
  const distinct = new Set<number>();
  for (const slot of some) {
    const code = codes(slot);
    if (!(code >= 0 && code < count)) throw corrupt(`has string code ${code} at slot ${slot}, outside its dictionary`);
    distinct.add(code);
  }
  // Each distinct string parsed once: its code -> ms (NaN when not a date-time).
  const ms = new Map<number, number>();
  if (distinct.size <= SINGLE_STRINGS) {
    const codeList = [...distinct];
    const values = await Promise.all(codeList.map((code) => reader.string(file, table, code)));
    codeList.forEach((code, i) => {
      ms.set(code, dateTimeMs(values[i] as string) ?? Number.NaN);
    });
  } else {
    let lo = Number.POSITIVE_INFINITY;
    let hi = -1;
    for (const code of distinct) {
      if (code < lo) lo = code;
      if (code > hi) hi = code;
    }
    const values = await reader.strings(file, table, lo, hi + 1);
    for (const code of distinct) ms.set(code, dateTimeMs(values[code - lo] as string) ?? Number.NaN);
  }
  return (slot) => (tags(slot) === TAG_STRING ? (ms.get(codes(slot)) as number) : Number.NaN);
}

/** Array `ref`'s elements at `slots` (ascending): the whole array when many are named, else the blocks holding them. */
async function elements(reader: ColdArrayReader, file: ColdIndexFile, ref: ArrayRef, type: ColdArrayType, slots: Uint32Array): Promise<(slot: number) => number> {
  const n = file.meta.size;
  const length = reader.length(file, ref, type);
  if (length !== n) throw new CorruptStoredIndexError(`query index ${file.key}: array a${ref.$a} has ${length} elements, the index ${n} rows`, file.key);
  if (slots.length >= n * WHOLE_COLUMN_SHARE) {
    const all = await reader.array(file, ref, type, 0, n);
    return (slot) => all[slot] as number;
  }
  const some = await reader.gather(file, ref, type, slots);
  return (slot) => some.get(slot) as number;
}
