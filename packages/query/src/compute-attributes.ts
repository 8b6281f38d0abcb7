/**
 * `computeAttributes`: values computed for every returned row, by name
 * (rows carry them as `computed`, in the request's order of names).
 *
 * - a ranking expression (text-combination.ts): its value for the row's
 *   document (BM25 clauses scored with the statistics of every partition;
 *   a clause that does not match is 0); null where it has no value (an
 *   `Attribute` without a number, and what is built on it);
 * - `["vector", "VectorDist", [..]]`: the distance from the row's vector to
 *   the given one under the query's metric (COSINE 1 - cos, DOT -dot,
 *   EUCLIDEAN the L2 distance, as ranking reports them; float64); null for
 *   a document without a vector.
 * - `["Highlight", field, {...}]`: the fragments of the row's stored value
 *   of the attribute `field` where the query's terms occur, tokenized with
 *   the text field's options (highlight.ts). A text field with no stored
 *   attribute of its name in any partition (text indexed, value not kept)
 *   is InvalidQueryError (`unsupported`).
 * Only the returned rows are computed (an expression's BM25 clauses and
 * filter operands are evaluated once per partition, as when ranking).
 */
import { InvalidQueryError } from "./errors.ts";
import type { Bm25Params } from "./bm25-stats.ts";
import type { DistanceMetric } from "./query-document.ts";
import type { ComputeExpr } from "./query-request.ts";
import type { RankedRow } from "./query-rows.ts";
import { type ExprPartition, prepareExpression } from "./text-combination.ts";
import { type HighlightFragment, highlightValue } from "./highlight.ts";
import { ownValue } from "./own-property.ts";
import { type ResolvedTokenizerConfig, resolveTokenizerConfig } from "./tokenizer.ts";

/** A computed attribute's value at a row: a number, null (no value), or a Highlight's fragments. */
export type ComputedValue = number | null | readonly HighlightFragment[];

export interface ComputedValues {
  readonly names: readonly string[];
  /** Per returned row, one value per name. */
  readonly values: readonly (readonly ComputedValue[])[];
}

/**
 * Highlight's check: a field indexed for text in some partition whose value no partition stores as an attribute
 * cannot be highlighted (`texts`/`attributes`: per partition, whether it has the text field / attribute column).
 */
export function checkHighlightStored(field: string, path: readonly (string | number)[], texts: readonly boolean[], attributes: readonly boolean[]): void {
  if (texts.some((t) => t) && !attributes.some((a) => a)) {
    throw InvalidQueryError.at(
      [...path, 1],
      "unsupported",
      `Highlight of ${JSON.stringify(field)}: the text field is indexed but its value is not stored as an attribute of that name, so there is nothing to highlight`,
    );
  }
}

/** VectorDist: the distance from `v` to `q` under `metric`, as ranking reports it (float64; also the cold path's). */
export function vectorDistance(metric: DistanceMetric, q: Float32Array, v: Float32Array): number {
  let dot = 0;
  let qq = 0;
  let vv = 0;
  let sq = 0;
  for (let i = 0; i < q.length; i++) {
    const a = q[i]!;
    const b = v[i]!;
    dot += a * b;
    qq += a * a;
    vv += b * b;
    sq += (a - b) * (a - b);
  }
  if (metric === "DOT") return -dot;
  if (metric === "EUCLIDEAN") return Math.sqrt(sq);
  return qq === 0 || vv === 0 ? 1 : 1 - dot / Math.sqrt(qq * vv);
}

/** The computed attributes of `hits` (partition and slot of each returned row). */
export function computeAttributeValues(
  parts: readonly ExprPartition[],
  hits: readonly RankedRow[],
  compute: ReadonlyMap<string, ComputeExpr>,
  metric: DistanceMetric,
  dimension: number,
  bm25?: (field: string) => Bm25Params | undefined,
  textConfig?: (field: string) => ResolvedTokenizerConfig,
): ComputedValues {
  const names = [...compute.keys()];
  const columns = names.map((name): ComputedValue[] => {
    const spec = compute.get(name) as ComputeExpr;
    if (spec.kind === "highlight") {
      const { field } = spec.spec;
      checkHighlightStored(
        field,
        spec.path,
        parts.map((p) => p.index.textFields.has(field)),
        parts.map((p) => p.index.attributeColumns.has(field)),
      );
      if (hits.length === 0) return [];
      const config = textConfig?.(field) ?? parts.map((p) => p.index.textFields.get(field)?.config).find((c) => c !== undefined) ?? resolveTokenizerConfig();
      return hits.map((h) => highlightValue(ownValue(parts[h.p]!.index.attributesOf(h.slot, [field]), field), spec.spec, config));
    }
    if (spec.kind === "vectorDist") {
      if (dimension !== 0 && spec.vector.length !== dimension) {
        throw InvalidQueryError.at([...spec.path, 2], "dimension_mismatch", `the VectorDist vector has ${spec.vector.length} dimensions, the namespace ${dimension}`);
      }
      return hits.map((h) => {
        const v = parts[h.p]!.index.vectorOf(h.slot);
        return v === undefined ? null : vectorDistance(metric, spec.vector, v);
      });
    }
    if (hits.length === 0) return [];
    const prepared = prepareExpression(parts, spec.expr, bm25);
    return hits.map((h) => {
      const v = prepared[h.p]!.value(h.slot);
      return Number.isNaN(v) ? null : v;
    });
  });
  return { names, values: hits.map((_, i) => columns.map((c) => c[i] as ComputedValue)) };
}
