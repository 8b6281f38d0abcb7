/**
 * coldComputedAttributes: a request's `computeAttributes`
 * (../compute-attributes.ts) for the rows a cold query returns, with
 * exactly the values the loaded path computes, reading only what those rows
 * need:
 * - a ranking expression: its value at each returned row (cold-expression.ts:
 *   BM25 clauses scored with the statistics of every partition, the filter
 *   operands' postings, the attribute operands' tags and numbers of the
 *   returned rows only, by block); null where it has no value;
 * - `["vector", "VectorDist", [..]]`: the distance from each returned row's
 *   stored vector (its cluster, or its block of the `vectors` section) under
 *   the query's metric; null for a row without a vector.
 * - `["Highlight", field, {...}]`: each returned row's stored value of
 *   `field` (its block of the row store; a tail row from its chunk),
 *   highlighted as the loaded path does (../highlight.ts), with the same
 *   check that some partition stores the text field's value.
 * The tail's rows are computed from its chunks in memory. Undefined when a
 * filter operand is not served cold (the caller loads).
 */
import type { ColdIndexFile } from "./cold-array-reader.ts";
import { type ColdExpressionContext, checkExpressionFilters, coldClauseScores, coldExpressionValues } from "./cold-expression.ts";
import type { ColdTailChunk } from "./cold-tail.ts";
import { type ComputedValue, checkHighlightStored, vectorDistance } from "../compute-attributes.ts";
import { highlightValue } from "../highlight.ts";
import type { ResolvedTokenizerConfig } from "../tokenizer.ts";
import { ownValue } from "../own-property.ts";
import { expressionLeaves } from "../text-combination.ts";
import type { DistanceMetric } from "../query-document.ts";
import type { ComputeExpr } from "../query-request.ts";
import type { HighlightSpec } from "../highlight.ts";
import { setOwn } from "../own-property.ts";

/** A returned row: segment s, or tail chunk c as -1 - c. */
export interface ColdReturnedRow {
  readonly segment: number;
  readonly slot: number;
}

export interface ColdComputeInput extends ColdExpressionContext {
  readonly compute: ReadonlyMap<string, ComputeExpr>;
  /** The query's metric (VectorDist). */
  readonly metric: DistanceMetric;
  /** A text field's tokenizer config (the namespace's options; Highlight). */
  readonly textConfig: (field: string) => ResolvedTokenizerConfig;
}

/** Whether some computed expression holds a BM25 clause (its scores need the segments' dead slots). */
export function computeNeedsDeadSlots(compute: ReadonlyMap<string, ComputeExpr>): boolean {
  for (const spec of compute.values()) if (spec.kind === "expr" && expressionLeaves(spec.expr).bm25.length > 0) return true;
  return false;
}

/** Per returned row, its computed values by name (in the request's order); undefined when not served cold. */
export async function coldComputedAttributes(input: ColdComputeInput, hits: readonly ColdReturnedRow[]): Promise<Record<string, ComputedValue>[] | undefined> {
  const { compute, files, tail } = input;
  // The loaded path type-checks every filter operand before it ranks.
  for (const spec of compute.values()) if (spec.kind === "expr") checkExpressionFilters(spec.expr, files, tail);
  const names = [...compute.keys()];
  const columns = await Promise.all(
    names.map(async (name): Promise<ComputedValue[] | undefined> => {
      const spec = compute.get(name) as ComputeExpr;
      if (spec.kind === "highlight") return highlightColumn(input, spec.spec, spec.path, hits);
      if (spec.kind === "vectorDist") return Promise.all(hits.map((h) => vectorDist(input, spec.vector, h)));
      if (hits.length === 0) return [];
      const slots = files.map(() => [] as number[]);
      for (const h of hits) if (h.segment >= 0) slots[h.segment]!.push(h.slot);
      const clauses = await coldClauseScores(input, spec.expr);
      const values = await coldExpressionValues(
        input,
        spec.expr,
        clauses,
        slots.map((s) => Uint32Array.from(s).sort()),
      );
      if (values === undefined) return undefined;
      return hits.map((h) => {
        const v = h.segment >= 0 ? values.segment(h.segment, h.slot) : values.tail(-1 - h.segment, h.slot);
        return Number.isNaN(v) ? null : v;
      });
    }),
  );
  if (columns.some((c) => c === undefined)) return undefined;
  return hits.map((_, i) => {
    const out: Record<string, ComputedValue> = {};
    names.forEach((name, k) => {
      setOwn(out, name, (columns[k] as ComputedValue[])[i] ?? null);
    });
    return out;
  });
}

/** A Highlight's value at each returned row, from the row's stored attribute. */
async function highlightColumn(input: ColdComputeInput, spec: HighlightSpec, path: readonly (string | number)[], hits: readonly ColdReturnedRow[]): Promise<ComputedValue[]> {
  const { field } = spec;
  checkHighlightStored(
    field,
    path,
    [...input.files.map((f) => f.meta.text.some((t) => t.name === field)), ...input.tail.map((c) => c.index.textFields.has(field))],
    [...input.files.map((f) => f.meta.attributes.some((a) => a.name === field)), ...input.tail.map((c) => c.index.attributeColumns.has(field))],
  );
  const config = input.textConfig(field);
  return Promise.all(
    hits.map(async (h) => {
      const attributes =
        h.segment < 0
          ? (input.tail[-1 - h.segment] as ColdTailChunk).index.attributesOf(h.slot, [field])
          : await input.rows.attributes(input.files[h.segment] as ColdIndexFile, h.slot, [field]);
      return highlightValue(ownValue(attributes, field), spec, config);
    }),
  );
}

/** The VectorDist of one returned row (null without a vector). */
async function vectorDist(input: ColdComputeInput, q: Float32Array, h: ColdReturnedRow): Promise<number | null> {
  let v: Float32Array | undefined;
  if (h.segment < 0) v = (input.tail[-1 - h.segment] as ColdTailChunk).index.vectorOf(h.slot);
  else {
    const stored = await input.rows.vector(input.files[h.segment] as ColdIndexFile, h.slot);
    v = stored === undefined ? undefined : Float32Array.from(stored);
  }
  return v === undefined ? null : vectorDistance(input.metric, q, v);
}
