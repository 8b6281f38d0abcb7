/**
 * `aggregate(parts, request)`: the aggregations of a query over the live,
 * matching slots of its partitions, whole or per group (`groupBy`).
 *
 * - `Count`: matching documents; `Count` of a field: those where it is
 *   present and not null; `Sum` of a field: its number values added
 *   exactly and rounded once (ExactSum), so the answer does not depend on
 *   how documents are spread over segments and the tail. Other values
 *   (strings, arrays, booleans, null) are not summed; a field that holds
 *   values but never a number is `InvalidQueryError` (`type_mismatch`), one
 *   that no document has sums to 0. A sum beyond the float64 range is
 *   `InvalidQueryError`.
 * - Groups: one per distinct tuple of the `groupBy` fields' values (null
 *   for missing), largest first by matching documents, then by the tuple's
 *   JSON; at most `topK`. A `ForEachUnique` key (`{"tag": ["ForEachUnique",
 *   "tags"]}`) puts a document in one group per distinct element of its
 *   array value (a scalar value is its one element; missing, null or an
 *   empty array: the null group), so with several keys a document joins
 *   every combination (at most 4,096 per document); each group counts and
 *   sums the documents it holds.
 * Slots are visited in slices (QuerySlicer), so a large aggregation yields
 * to other requests.
 */
import { stringifyExact } from "@skerry/wal-format";
import type { AttributeColumn } from "./attribute-columns.ts";
import { columnValue, compareStrings, TAG_MISSING, TAG_NULL, TAG_NUMBER, TAG_STRING } from "./attribute-columns.ts";
import { InvalidQueryError } from "./errors.ts";
import { exactNumberAt } from "./exact-number.ts";
import { ExactSum } from "./exact-sum.ts";
import type { Matches } from "./filter-plan.ts";
import type { JsonValue } from "./query-document.ts";
import type { Aggregation, QueryRequest } from "./query-request.ts";
import type { QuerySlicer } from "./query-slicer.ts";

export interface AggregationGroup {
  readonly group: Record<string, JsonValue>;
  readonly aggregations: Record<string, number | bigint>;
}

export interface AggregationResult {
  /** Without groupBy: each aggregation's value. */
  readonly aggregations?: Record<string, number | bigint>;
  /** With groupBy: groups by matching documents descending, then group key; at most topK. */
  readonly aggregationGroups?: AggregationGroup[];
}

/** What aggregation reads of a partition's index: its size and the columns the aggregations and groups name. */
export interface AggregatedIndex {
  readonly size: number;
  readonly attributeColumns: ReadonlyMap<string, AttributeColumn>;
}

/** What aggregation needs of a partition of the query (execute-query.ts `Partition`, cold-aggregate.ts). */
export interface AggregatedPartition {
  readonly index: AggregatedIndex;
  readonly matches: Matches;
  readonly dead: Uint8Array | null;
  readonly deadSlots: Uint32Array;
  forEachLiveSliced(fn: (slot: number) => void, slicer: QuerySlicer | undefined): Promise<void>;
}

/** One group's running values: matching documents, then one accumulator per aggregation. */
class Accumulator {
  count = 0;
  readonly counts: number[];
  readonly sums: (ExactSum | null)[];

  constructor(specs: readonly Aggregation[]) {
    this.counts = specs.map(() => 0);
    this.sums = specs.map((a) => (a.kind === "Sum" ? new ExactSum() : null));
  }

  values(labels: readonly string[], specs: readonly Aggregation[]): Record<string, number | bigint> {
    return Object.fromEntries(
      labels.map((label, i) => {
        const spec = specs[i] as Aggregation;
        if (spec.kind === "Count") return [label, spec.field === undefined ? this.count : (this.counts[i] as number)];
        const sum = this.sums[i] as ExactSum;
        const value = sum.exactValue();
        if (sum.overflowed || (typeof value === "number" && !Number.isFinite(value))) {
          throw InvalidQueryError.at(["aggregateBy", label], "schema", `the Sum of ${JSON.stringify(spec.field)} is beyond the float64 range`);
        }
        return [label, value];
      }),
    );
  }
}

/** The columns of one partition the aggregations read, and the step that adds a slot to an accumulator. */
function slotAdder(index: AggregatedIndex, specs: readonly Aggregation[]): (acc: Accumulator, slot: number) => void {
  const columns = specs.map((spec) => (spec.field === undefined ? undefined : index.attributeColumns.get(spec.field)));
  if (specs.every((spec) => spec.kind === "Count" && spec.field === undefined)) {
    return (acc) => {
      acc.count++;
    };
  }
  return (acc, slot) => {
    acc.count++;
    for (let i = 0; i < specs.length; i++) {
      const column = columns[i];
      if (column === undefined) continue;
      const tag = column.tags[slot] as number;
      if ((specs[i] as Aggregation).kind === "Count") {
        if (tag !== TAG_MISSING && tag !== TAG_NULL) (acc.counts[i] as number)++;
      } else if (tag === TAG_NUMBER) {
        const sum = acc.sums[i] as ExactSum;
        if (column.exactSlots === undefined) sum.addExact((column.numbers as Float64Array)[slot] as number);
        else sum.addExact(exactNumberAt(column, slot));
      }
    }
  };
}

function checkSumTypes(parts: readonly AggregatedPartition[], labels: readonly string[], specs: readonly Aggregation[]): void {
  specs.forEach((spec, i) => {
    if (spec.kind !== "Sum") return;
    let mask = 0;
    if (spec.field === "id") mask = 1 << TAG_STRING;
    for (const part of parts) mask |= part.index.attributeColumns.get(spec.field)?.typeMask ?? 0;
    mask &= ~((1 << TAG_MISSING) | (1 << TAG_NULL));
    if (mask !== 0 && (mask & (1 << TAG_NUMBER)) === 0) {
      throw InvalidQueryError.at(["aggregateBy", labels[i] as string, 1], "type_mismatch", `Sum needs numbers; ${JSON.stringify(spec.field)} holds none`);
    }
  });
}

const MAX_GROUPS_PER_DOCUMENT = 4096;

/** The distinct elements of a value (ForEachUnique): an array's, a scalar itself, none -> null. */
function uniqueElements(value: JsonValue | undefined): JsonValue[] {
  if (value === undefined || value === null) return [null];
  if (!Array.isArray(value)) return [value];
  if (value.length === 0) return [null];
  const seen = new Map<string, JsonValue>();
  for (const element of value) {
    const key = stringifyExact(element);
    if (!seen.has(key)) seen.set(key, element);
  }
  return [...seen.values()];
}

/** Every tuple of group values a slot belongs to (one unless a ForEachUnique key holds several elements). */
function groupTuples(columns: readonly (AttributeColumn | undefined)[], unique: readonly boolean[], slot: number): JsonValue[][] {
  let tuples: JsonValue[][] = [[]];
  for (let k = 0; k < columns.length; k++) {
    const column = columns[k];
    const value = column === undefined ? undefined : columnValue(column, slot);
    const options = unique[k] ? uniqueElements(value) : [value ?? null];
    if (options.length === 1) {
      for (const t of tuples) t.push(options[0] as JsonValue);
      continue;
    }
    if (tuples.length * options.length > MAX_GROUPS_PER_DOCUMENT) {
      throw InvalidQueryError.at(["groupBy"], "unsupported", `a document falls in more than ${MAX_GROUPS_PER_DOCUMENT} groups (ForEachUnique over long arrays)`);
    }
    tuples = tuples.flatMap((t) => options.map((o) => [...t, o]));
  }
  return tuples;
}

export async function aggregate(parts: readonly AggregatedPartition[], request: QueryRequest, slicer?: QuerySlicer): Promise<AggregationResult> {
  const entries = Object.entries(request.aggregateBy ?? {});
  const labels = entries.map(([label]) => label);
  const specs = entries.map(([, spec]) => spec);
  checkSumTypes(parts, labels, specs);
  const groupBy = request.groupBy;
  const countsOnly = specs.every((spec) => spec.kind === "Count" && spec.field === undefined);
  if (groupBy === undefined) {
    const total = new Accumulator(specs);
    for (const part of parts) {
      const m = part.matches;
      if (countsOnly && m.kind === "all") total.count += part.index.size - part.deadSlots.length;
      else if (countsOnly && part.dead === null) total.count += m.kind === "list" ? m.slots.length : m.kind === "mask" ? m.count : 0;
      else {
        const add = slotAdder(part.index, specs);
        await part.forEachLiveSliced((slot) => add(total, slot), slicer);
      }
    }
    return { aggregations: total.values(labels, specs) };
  }
  const groups = new Map<string, { group: Record<string, JsonValue>; acc: Accumulator }>();
  const accumulatorOf = (values: JsonValue[]): Accumulator => {
    const key = stringifyExact(values);
    let g = groups.get(key);
    if (g === undefined) {
      g = { group: Object.fromEntries(groupBy.map((name, i) => [name, values[i] as JsonValue])), acc: new Accumulator(specs) };
      groups.set(key, g);
    }
    return g.acc;
  };
  const functions = request.groupByFunctions;
  const fields = groupBy.map((name) => functions?.get(name)?.field ?? name);
  const unique = groupBy.map((name) => functions?.has(name) === true);
  for (const part of parts) {
    const columns = fields.map((g) => part.index.attributeColumns.get(g));
    if (unique.some((u) => u)) {
      const add = slotAdder(part.index, specs);
      await part.forEachLiveSliced((slot) => {
        for (const values of groupTuples(columns, unique, slot)) add(accumulatorOf(values), slot);
      }, slicer);
      continue;
    }
    const add = slotAdder(part.index, specs);
    const single = columns.length === 1 ? columns[0] : undefined;
    if (single?.codes != null && single.typeMask === ((1 << TAG_STRING) | 1)) {
      // One string column without other types: one accumulator per dictionary code.
      const byCode: (Accumulator | undefined)[] = new Array(single.strings!.length);
      let missing: Accumulator | undefined;
      const codes = single.codes;
      await part.forEachLiveSliced((slot) => {
        const c = codes[slot] as number;
        const acc = c >= 0 ? (byCode[c] ??= accumulatorOf([single.strings!.get(c)])) : (missing ??= accumulatorOf([null]));
        add(acc, slot);
      }, slicer);
      continue;
    }
    await part.forEachLiveSliced((slot) => {
      add(accumulatorOf(columns.map((c: AttributeColumn | undefined) => (c === undefined ? null : (columnValue(c, slot) ?? null)))), slot);
    }, slicer);
  }
  const ordered = [...groups.entries()].sort((a, b) => b[1].acc.count - a[1].acc.count || compareStrings(a[0], b[0])).slice(0, request.topK);
  return { aggregationGroups: ordered.map(([, g]) => ({ group: g.group, aggregations: g.acc.values(labels, specs) })) };
}
