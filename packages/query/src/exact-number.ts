/**
 * Exact comparison of attribute numbers: a `number` (a double) or a `bigint` (an integer beyond 2^53-1, i64/u64
 * attribute values), by their mathematical values (JavaScript's `<` between a bigint and a number is exact).
 *
 * `exactNumberAt(column, slot)`: the exact value a column's number slot holds (its bigint, else its double).
 */
import type { AttributeColumn } from "./attribute-columns.ts";

export type ExactNumber = number | bigint;

export function compareExact(a: ExactNumber, b: ExactNumber): number {
  // JavaScript compares a bigint with a number by their mathematical values.
  return a < b ? -1 : a > b ? 1 : 0;
}

const exactMaps = new WeakMap<AttributeColumn, Map<number, bigint>>();

/** Slot -> bigint of a column's exact values (empty when it has none), built once per column. */
export function exactValuesOf(column: AttributeColumn): Map<number, bigint> {
  let map = exactMaps.get(column);
  if (map === undefined) {
    map = new Map();
    const slots = column.exactSlots;
    const values = column.exactValues;
    if (slots !== undefined && values !== undefined) for (let i = 0; i < slots.length; i++) map.set(slots[i]!, BigInt(values.get(i)));
    exactMaps.set(column, map);
  }
  return map;
}

/** The exact number at a number slot of `column`. */
export function exactNumberAt(column: AttributeColumn, slot: number): ExactNumber {
  if (column.exactSlots === undefined) return column.numbers![slot]!;
  return exactValuesOf(column).get(slot) ?? column.numbers![slot]!;
}

/** The number an element key's digits (`n` + String(value)) name: a bigint for an integer beyond 2^53-1. */
export function elementNumber(text: string): ExactNumber {
  const n = Number(text);
  return !Number.isSafeInteger(n) && /^-?\d+$/.test(text) ? BigInt(text) : n;
}

/** True when two numbers are equal by value (a bigint and a number of the same value included; NaN equals nothing). */
export function sameNumber(a: ExactNumber, b: ExactNumber): boolean {
  // biome-ignore lint/suspicious/noDoubleEquals: a bigint and a number compare by value only with ==
  return typeof a === typeof b ? a === b : a == b;
}
