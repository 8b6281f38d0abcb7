/**
 * Order keys of an attribute ordering (`rankBy: [field, "asc" | "desc"]`
 * and its further keys): a slot's group and value, and their comparison.
 * Groups: asc: numbers 0, strings 1; desc: strings 0, numbers 1; rows with
 * neither (missing, null, booleans, arrays) 2, or -1 when the key puts them
 * first (`{"missing": "first"}`: turbopuffer's ascending order). Shared by
 * the loaded executor (execute-query.ts) and the cold ranked reads
 * (cold-attribute-order.ts), so both order alike.
 */
import type { AttributeColumn } from "./attribute-columns.ts";
import { columnValue, compareStrings, TAG_NUMBER, TAG_STRING } from "./attribute-columns.ts";
import { compareExact, exactNumberAt } from "./exact-number.ts";
import type { QueryIndex } from "./query-index.ts";
import type { AttributeOrderKey } from "./query-request.ts";

export interface OrderKey {
  /** 0, 1: typed value groups (asc: numbers then strings; desc: strings then numbers); missingGroup: no number/string value. */
  readonly group: number;
  /** A number (a bigint for an integer beyond 2^53-1: compared exactly, exact-number.ts) or a string. */
  readonly value: number | bigint | string;
}

/** The group of rows without a number or string value for `key`: 2 (last) or -1 (first). */
export function missingGroup(key: Pick<AttributeOrderKey, "missing">): number {
  return key.missing === "first" ? -1 : 2;
}

/** A slot's key for an order by `column` (`id` when undefined and the field is "id"). */
export function orderKeyOf(index: QueryIndex, key: AttributeOrderKey, column: AttributeColumn | undefined, slot: number): OrderKey {
  if (key.field === "id") return { group: 0, value: index.ids.get(slot) };
  const desc = key.order === "desc";
  const tag = column?.tags[slot];
  if (tag === TAG_NUMBER) return { group: desc ? 1 : 0, value: exactNumberAt(column!, slot) };
  if (tag === TAG_STRING) return { group: desc ? 0 : 1, value: columnValue(column!, slot) as string };
  return { group: missingGroup(key), value: "" };
}

export function compareKeys(a: OrderKey, b: OrderKey, desc: boolean): number {
  if (a.group !== b.group) return a.group - b.group;
  if (a.value === b.value) return 0;
  const c = typeof a.value === "string" ? compareStrings(a.value, b.value as string) : compareExact(a.value, b.value as number | bigint);
  return desc ? -c : c;
}
