/**
 * QueryRows: a query's ranked rows, produced on demand. Ranking decides
 * which documents answer and in what order (a partition and slot per row,
 * its id and score); turning a row into its attributes and vector is left
 * until someone asks for that row, so an answer of 10,000 rows with every
 * attribute costs nothing up front and can be written out row by row, in
 * slices, by its consumer.
 *
 * - `row(i)`: the row as `executeQuery` returns it (a fresh object);
 * - `json(i)`: the same row as JSON text, `JSON.stringify(row(i))` to the
 *   byte, made straight from the columns (no attribute objects; arrays and
 *   objects are their stored JSON text); a bigint (an integer beyond
 *   2^53-1) is its digits, as a column writes it (rows made already, a cold
 *   query's, holding one are written as exact JSON, wal-format
 *   exact-json.ts);
 * - `toArray(slicer)`: every row, materialized in slices of the slicer.
 *
 * Rows read the partitions' query indexes, which are immutable; holding a
 * QueryRows keeps them alive (not cached: the memory of an evicted index is
 * released when its last answer is dropped).
 */
import { hasBigInt, stringifyExact } from "@skerry/wal-format";
import { type AttributeColumn, columnJson } from "./attribute-columns.ts";
import type { JsonValue } from "./query-document.ts";
import type { QueryIndex } from "./query-index.ts";
import type { QuerySlicer } from "./query-slicer.ts";
import { setOwn } from "./own-property.ts";
import type { ComputedValue } from "./compute-attributes.ts";

/** One row of an answer. */
export interface QueryRow {
  readonly id: string;
  /** Dense vector ranking: smaller is closer. */
  readonly distance?: number;
  /** Sparse, BM25 and RRF ranking: larger is better. */
  readonly score?: number;
  readonly attributes?: Record<string, JsonValue>;
  readonly vector?: number[];
  /** The request's computeAttributes, by name (null: no value; a Highlight: its fragments). */
  readonly computed?: Record<string, ComputedValue>;
}

/** A ranked row before materialization: where it lives and its ranking value. */
export interface RankedRow {
  /** The partition (index into the snapshot's partitions). */
  readonly p: number;
  readonly slot: number;
  readonly id: string;
  readonly score: number;
}

/** What a row carries beside its id. */
export interface RowShape {
  /** "distance": `values` are distances; "score": the hits' scores; "none": neither. */
  readonly scoreKind: "distance" | "score" | "none";
  readonly includeAttributes: "all" | "none" | readonly string[];
  readonly includeVectors: boolean;
  /** computeAttributes: the names, and per row one value per name. */
  readonly computed?: { readonly names: readonly string[]; readonly values: readonly (readonly ComputedValue[])[] } | undefined;
}

/** Rows materialized between two checkpoints of `toArray`. */
const ROWS_PER_CHECK = 64;

interface AttributeField {
  /** `"name":` */
  readonly key: string;
  readonly column: AttributeColumn;
}

export class QueryRows {
  readonly #indexes: readonly QueryIndex[];
  readonly #hits: readonly RankedRow[];
  readonly #distances: readonly number[] | undefined;
  readonly #shape: RowShape;
  /** Per partition: the attribute columns a row's JSON lists, in JSON.stringify's key order. */
  readonly #fields: (readonly AttributeField[] | undefined)[];

  /** Rows already made (a cold query's, read from storage): `row(i)` copies, `json(i)` stringifies. */
  #made: readonly QueryRow[] | undefined;

  /** Rows already materialized, behind the same interface. */
  static materialized(rows: readonly QueryRow[]): QueryRows {
    const out = new QueryRows([], [], undefined, { scoreKind: "none", includeAttributes: "none", includeVectors: false });
    out.#made = rows;
    return out;
  }

  /** @internal Made by the query executor. */
  constructor(indexes: readonly QueryIndex[], hits: readonly RankedRow[], distances: readonly number[] | undefined, shape: RowShape) {
    this.#indexes = indexes;
    this.#hits = hits;
    this.#distances = distances;
    this.#shape = shape;
    this.#fields = new Array(indexes.length);
  }

  get length(): number {
    return this.#made?.length ?? this.#hits.length;
  }

  /** The id of row `i`. */
  id(i: number): string {
    if (this.#made !== undefined) return this.#madeRow(i).id;
    return this.#hit(i).id;
  }

  /** Row `i` as `executeQuery` returns it (a new object on every call). */
  row(i: number): QueryRow {
    if (this.#made !== undefined) return structuredClone(this.#madeRow(i));
    const h = this.#hit(i);
    const index = this.#indexes[h.p]!;
    const shape = this.#shape;
    const row: {
      id: string;
      distance?: number;
      score?: number;
      attributes?: Record<string, JsonValue>;
      vector?: number[];
      computed?: Record<string, ComputedValue>;
    } = { id: h.id };
    if (shape.scoreKind === "distance") row.distance = this.#distances![i]!;
    else if (shape.scoreKind === "score") row.score = h.score;
    if (shape.includeAttributes !== "none") row.attributes = index.attributesOf(h.slot, shape.includeAttributes);
    if (shape.includeVectors) {
      const v = index.vectorOf(h.slot);
      if (v !== undefined) row.vector = Array.from(v);
    }
    if (shape.computed !== undefined) row.computed = this.#computedOf(i);
    return row;
  }

  /** Row `i`'s computed attributes (names as own properties, whatever they are). */
  #computedOf(i: number): Record<string, ComputedValue> {
    const computed = this.#shape.computed!;
    const out: Record<string, ComputedValue> = {};
    const values = computed.values[i]!;
    for (const [k, name] of computed.names.entries()) setOwn(out, name, values[k] ?? null);
    return out;
  }

  /** Row `i` as JSON text: `JSON.stringify(row(i))`, without making the row. */
  json(i: number): string {
    if (this.#made !== undefined) return stringifyRow(this.#madeRow(i));
    const h = this.#hit(i);
    const shape = this.#shape;
    let out = `{"id":${JSON.stringify(h.id)}`;
    if (shape.scoreKind === "distance") out += `,"distance":${JSON.stringify(this.#distances![i]!)}`;
    else if (shape.scoreKind === "score") out += `,"score":${JSON.stringify(h.score)}`;
    if (shape.includeAttributes !== "none") {
      out += ',"attributes":{';
      let first = true;
      for (const field of this.#fieldsOf(h.p)) {
        const value = columnJson(field.column, h.slot);
        if (value === undefined) continue;
        out += first ? field.key : `,${field.key}`;
        out += value;
        first = false;
      }
      out += "}";
    }
    if (shape.includeVectors) {
      const v = this.#indexes[h.p]!.vectorOf(h.slot);
      if (v !== undefined) out += `,"vector":${JSON.stringify(Array.from(v))}`;
    }
    if (shape.computed !== undefined) out += `,"computed":${JSON.stringify(this.#computedOf(i))}`;
    return `${out}}`;
  }

  /** Every row (as `row(i)`), pausing at the slicer's checkpoints; in one piece without one. */
  async toArray(slicer?: QuerySlicer): Promise<QueryRow[]> {
    const n = this.length;
    const out = new Array<QueryRow>(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.row(i);
      if (slicer !== undefined && (i + 1) % ROWS_PER_CHECK === 0 && i + 1 < n && slicer.due()) await slicer.pause();
    }
    return out;
  }

  #madeRow(i: number): QueryRow {
    const row = (this.#made as readonly QueryRow[])[i];
    if (row === undefined || !Number.isInteger(i)) throw new RangeError(`row ${i} is out of range (${this.length} rows)`);
    return row;
  }

  #hit(i: number): RankedRow {
    const h = this.#hits[i];
    if (h === undefined || !Number.isInteger(i)) throw new RangeError(`row ${i} is out of range (${this.length} rows)`);
    return h;
  }

  /**
   * The columns `attributesOf` would set, in the key order JSON.stringify
   * gives the object it makes (integer-like names first, ascending, then
   * insertion order): taken from an object built the same way.
   */
  #fieldsOf(p: number): readonly AttributeField[] {
    let fields = this.#fields[p];
    if (fields === undefined) {
      const columns = this.#indexes[p]!.attributeColumns;
      const wanted = this.#shape.includeAttributes;
      const names = wanted === "all" ? [...columns.keys()] : wanted === "none" ? [] : wanted.filter((name) => columns.has(name));
      const order: Record<string, number> = {};
      for (const name of names) setOwn(order, name, 0);
      fields = Object.keys(order).map((name) => ({ key: `${JSON.stringify(name)}:`, column: columns.get(name)! }));
      this.#fields[p] = fields;
    }
    return fields;
  }
}

/** A made row as JSON text: `JSON.stringify`, or exact JSON when it holds a bigint (which JSON.stringify refuses). */
function stringifyRow(row: QueryRow): string {
  try {
    return JSON.stringify(row);
  } catch (error) {
    if (error instanceof TypeError && hasBigInt(row)) return stringifyExact(row);
    throw error;
  }
}
