/**
 * Attribute columns and the attribute index, one column per top-level
 * attribute name, all in slot order.
 *
 * Per column:
 * - `tags`: the JSON type of each slot's value (missing, null, false, true,
 *   number, string, array, object);
 * - numbers: the value per slot (Float64Array) plus the slots sorted by
 *   (value, slot), so range and equality filters binary-search instead of
 *   scanning, and attribute ordering walks it;
 * - strings: a sorted dictionary (StringTable), a code per slot (dictionary
 *   order = string order, so ranges become code ranges) and postings per code
 *   (sorted slot lists, CSR);
 * - arrays: per-slot element codes into a dictionary of typed scalar keys
 *   ("s" + string, "n" + number, "b0"/"b1") with postings per key, which is
 *   what ContainsAny / ContainsAll use;
 * - arrays and objects are also kept whole as JSON text for returning them.
 *
 * - exact 64-bit integers (a `bigint` value: beyond 2^53-1, i64/u64
 *   attributes) are numbers whose double is in `numbers`, their exact digits
 *   in `exactSlots` / `exactValues`; the number order sorts them exactly
 *   (exact-number.ts). A column holding a bigint anywhere (scalar or array
 *   element) keeps its arrays and objects as exact JSON (`exactJson`,
 *   wal-format exact-json.ts), so `[]int` / `[]uint` elements return exactly; their
 *   element keys are `n` + the digits, equal to a double's key exactly when
 *   the values are equal.
 *
 * `typeMask` records which tags occur, so a filter whose operand type the
 * column never holds is reported as a type mismatch instead of matching
 * nothing.
 */
import { hasBigInt, parseExact, stringifyExact } from "@skerry/wal-format";
import { compareExact, type ExactNumber } from "./exact-number.ts";
import type { JsonValue } from "./query-document.ts";
import { StringTable } from "./string-table.ts";

export const TAG_MISSING = 0;
export const TAG_NULL = 1;
export const TAG_FALSE = 2;
export const TAG_TRUE = 3;
export const TAG_NUMBER = 4;
export const TAG_STRING = 5;
export const TAG_ARRAY = 6;
export const TAG_OBJECT = 7;

export interface AttributeColumn {
  readonly name: string;
  readonly tags: Uint8Array;
  /** Bit (1 << tag) for every tag present. */
  readonly typeMask: number;
  /** For array values: bit (1 << tag) for every scalar element type present. */
  readonly elementTypeMask: number;
  readonly numbers: Float64Array | null;
  readonly numberOrder: Uint32Array | null;
  readonly strings: StringTable | null;
  readonly codes: Int32Array | null;
  readonly stringPostingOffsets: Uint32Array | null;
  readonly stringPostings: Uint32Array | null;
  readonly elemOffsets: Uint32Array | null;
  readonly elemCodes: Int32Array | null;
  readonly elemKeys: StringTable | null;
  readonly elemPostingOffsets: Uint32Array | null;
  readonly elemPostings: Uint32Array | null;
  readonly complexSlots: Uint32Array | null;
  readonly complexJson: StringTable | null;
  /** True for an attribute declared `filterable: false`: no number order, string or element postings. */
  readonly unindexed?: true;
  /** Number slots whose value is a bigint (ascending), and their decimal digits (module comment). */
  readonly exactSlots?: Uint32Array;
  readonly exactValues?: StringTable;
  /** True when the column holds a bigint anywhere: `complexJson` is exact JSON. */
  readonly exactJson?: true;
}

/** The typed key of a scalar inside an array, or null for non-scalars. */
export function elementKey(value: JsonValue): string | null {
  if (typeof value === "string") return `s${value}`;
  if (typeof value === "number") return `n${String(value === 0 ? 0 : value)}`;
  if (typeof value === "bigint") return `n${value.toString()}`;
  if (typeof value === "boolean") return value ? "b1" : "b0";
  return null;
}

export function tagOf(value: JsonValue | undefined): number {
  if (value === undefined) return TAG_MISSING;
  if (value === null) return TAG_NULL;
  if (value === false) return TAG_FALSE;
  if (value === true) return TAG_TRUE;
  if (typeof value === "number" || typeof value === "bigint") return TAG_NUMBER;
  if (typeof value === "string") return TAG_STRING;
  if (Array.isArray(value)) return TAG_ARRAY;
  return TAG_OBJECT;
}

/** Postings (CSR) for per-slot codes in [0, codeCount): slots ascending within each code. */
function postingsOf(codes: Int32Array, codeCount: number): { offsets: Uint32Array; postings: Uint32Array } {
  const offsets = new Uint32Array(codeCount + 1);
  for (let s = 0; s < codes.length; s++) {
    const c = codes[s]!;
    if (c >= 0) offsets[c + 1]!++;
  }
  for (let c = 0; c < codeCount; c++) offsets[c + 1]! += offsets[c]!;
  const cursor = offsets.slice(0, codeCount);
  const postings = new Uint32Array(offsets[codeCount]!);
  for (let s = 0; s < codes.length; s++) {
    const c = codes[s]!;
    if (c >= 0) postings[cursor[c]!++] = s;
  }
  return { offsets, postings };
}

/** Build one column from the values of each slot. */
/**
 * `indexed` false (an attribute declared `filterable: false`): the values are kept for returning them, the index
 * structures (number order, string and element postings) are left out; filters and ordering on it are refused
 * before they reach the column (filterable-check.ts).
 */
export function buildAttributeColumn(name: string, values: readonly (JsonValue | undefined)[], indexed = true): AttributeColumn {
  const n = values.length;
  const tags = new Uint8Array(n);
  let typeMask = 0;
  let elementTypeMask = 0;
  let hasNumber = false;
  let hasString = false;
  let hasArray = false;
  const complexSlots: number[] = [];
  const exactSlots: number[] = [];
  let exact = false;
  for (let s = 0; s < n; s++) {
    const tag = tagOf(values[s]);
    tags[s] = tag;
    typeMask |= 1 << tag;
    if (tag === TAG_NUMBER) {
      hasNumber = true;
      if (typeof values[s] === "bigint") {
        exactSlots.push(s);
        exact = true;
      }
    } else if (tag === TAG_STRING) hasString = true;
    else if (tag === TAG_ARRAY || tag === TAG_OBJECT) {
      if (tag === TAG_ARRAY) hasArray = true;
      complexSlots.push(s);
      if (!exact && hasBigInt(values[s])) exact = true;
    }
  }
  const complexJson = complexSlots.map((s) => (exact ? stringifyExact(values[s]) : JSON.stringify(values[s])));
  let numbers: Float64Array | null = null;
  let numberOrder: Uint32Array | null = null;
  if (hasNumber) {
    numbers = new Float64Array(n).fill(Number.NaN);
    const order: number[] = [];
    for (let s = 0; s < n; s++) {
      if (tags[s] === TAG_NUMBER) {
        numbers[s] = Number(values[s] as ExactNumber);
        order.push(s);
      }
    }
    const nums = numbers;
    if (indexed) {
      if (exactSlots.length === 0) order.sort((a, b) => nums[a]! - nums[b]! || a - b);
      else order.sort((a, b) => nums[a]! - nums[b]! || compareExact(values[a] as ExactNumber, values[b] as ExactNumber) || a - b);
      numberOrder = Uint32Array.from(order);
    }
  }
  let strings: StringTable | null = null;
  let codes: Int32Array | null = null;
  let stringPostingOffsets: Uint32Array | null = null;
  let stringPostings: Uint32Array | null = null;
  if (hasString) {
    const distinct = new Set<string>();
    for (let s = 0; s < n; s++) if (tags[s] === TAG_STRING) distinct.add(values[s] as string);
    const dict = [...distinct].sort(compareStrings);
    const codeOf = new Map<string, number>();
    for (let i = 0; i < dict.length; i++) codeOf.set(dict[i]!, i);
    codes = new Int32Array(n).fill(-1);
    for (let s = 0; s < n; s++) if (tags[s] === TAG_STRING) codes[s] = codeOf.get(values[s] as string)!;
    strings = StringTable.fromStrings(dict);
    if (indexed) {
      const p = postingsOf(codes, dict.length);
      stringPostingOffsets = p.offsets;
      stringPostings = p.postings;
    }
  }
  let elemOffsets: Uint32Array | null = null;
  let elemCodes: Int32Array | null = null;
  let elemKeys: StringTable | null = null;
  let elemPostingOffsets: Uint32Array | null = null;
  let elemPostings: Uint32Array | null = null;
  if (hasArray) {
    elemOffsets = new Uint32Array(n + 1);
    const keys: (string | null)[] = [];
    for (let s = 0; s < n; s++) {
      if (tags[s] === TAG_ARRAY) {
        for (const el of values[s] as JsonValue[]) {
          keys.push(elementKey(el));
          elementTypeMask |= 1 << tagOf(el);
        }
      }
      elemOffsets[s + 1] = keys.length;
    }
    const dict = [...new Set(keys.filter((k): k is string => k !== null))].sort(compareStrings);
    const codeOf = new Map<string, number>();
    for (let i = 0; i < dict.length; i++) codeOf.set(dict[i]!, i);
    elemCodes = new Int32Array(keys.length);
    keys.forEach((k, i) => {
      elemCodes![i] = k === null ? -1 : codeOf.get(k)!;
    });
    elemKeys = StringTable.fromStrings(dict);
    if (indexed) {
      // postings: one entry per (key, slot), deduplicated
      const counts = new Uint32Array(dict.length + 1);
      const seen = new Int32Array(dict.length).fill(-1);
      for (let s = 0; s < n; s++) {
        for (let e = elemOffsets[s]!; e < elemOffsets[s + 1]!; e++) {
          const c = elemCodes[e]!;
          if (c >= 0 && seen[c] !== s) {
            seen[c] = s;
            counts[c + 1]!++;
          }
        }
      }
      for (let c = 0; c < dict.length; c++) counts[c + 1]! += counts[c]!;
      elemPostingOffsets = counts;
      elemPostings = new Uint32Array(counts[dict.length]!);
      const cursor = counts.slice(0, dict.length);
      seen.fill(-1);
      for (let s = 0; s < n; s++) {
        for (let e = elemOffsets[s]!; e < elemOffsets[s + 1]!; e++) {
          const c = elemCodes[e]!;
          if (c >= 0 && seen[c] !== s) {
            seen[c] = s;
            elemPostings[cursor[c]!++] = s;
          }
        }
      }
    }
  }
  return {
    name,
    tags,
    typeMask,
    elementTypeMask,
    numbers,
    numberOrder,
    strings,
    codes,
    stringPostingOffsets,
    stringPostings,
    elemOffsets,
    elemCodes,
    elemKeys,
    elemPostingOffsets,
    elemPostings,
    complexSlots: complexSlots.length > 0 ? Uint32Array.from(complexSlots) : null,
    complexJson: complexSlots.length > 0 ? StringTable.fromStrings(complexJson) : null,
    ...(indexed ? {} : { unindexed: true as const }),
    ...(exactSlots.length === 0
      ? {}
      : { exactSlots: Uint32Array.from(exactSlots), exactValues: StringTable.fromStrings(exactSlots.map((s) => (values[s] as bigint).toString())) }),
    ...(exact ? { exactJson: true as const } : {}),
  };
}

/** The bigint a number slot holds, or undefined (its double is exact). */
function exactAt(column: AttributeColumn, slot: number): bigint | undefined {
  const slots = column.exactSlots;
  if (slots === undefined) return undefined;
  let lo = 0;
  let hi = slots.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = slots[mid]!;
    if (v === slot) return BigInt(column.exactValues!.get(mid));
    if (v < slot) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** JS string order (UTF-16 code units), the order used for every string comparison. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The value a column holds for a slot (undefined when missing). */
export function columnValue(column: AttributeColumn, slot: number): JsonValue | undefined {
  switch (column.tags[slot]) {
    case TAG_NULL:
      return null;
    case TAG_FALSE:
      return false;
    case TAG_TRUE:
      return true;
    case TAG_NUMBER:
      return exactAt(column, slot) ?? column.numbers![slot]!;
    case TAG_STRING:
      return column.strings!.get(column.codes![slot]!);
    case TAG_ARRAY:
    case TAG_OBJECT: {
      const at = complexEntry(column, slot);
      return at < 0 ? undefined : ((column.exactJson === true ? parseExact : JSON.parse)(column.complexJson!.get(at)) as JsonValue);
    }
    default:
      return undefined;
  }
}

/**
 * The JSON text of the value a column holds for a slot (undefined when
 * missing): exactly `JSON.stringify(columnValue(column, slot))`, without
 * making the value. Arrays and objects are their stored JSON text, which is
 * `JSON.stringify`'s own output (buildAttributeColumn), so parsing and
 * stringifying it again gives the same text.
 */
export function columnJson(column: AttributeColumn, slot: number): string | undefined {
  switch (column.tags[slot]) {
    case TAG_NULL:
      return "null";
    case TAG_FALSE:
      return "false";
    case TAG_TRUE:
      return "true";
    case TAG_NUMBER:
      return exactAt(column, slot)?.toString() ?? JSON.stringify(column.numbers![slot]!);
    case TAG_STRING:
      return JSON.stringify(column.strings!.get(column.codes![slot]!));
    case TAG_ARRAY:
    case TAG_OBJECT: {
      const at = complexEntry(column, slot);
      return at < 0 ? undefined : column.complexJson!.get(at);
    }
    default:
      return undefined;
  }
}

/** The entry of a slot's array or object value in `complexSlots` / `complexJson`, or -1. */
function complexEntry(column: AttributeColumn, slot: number): number {
  const slots = column.complexSlots;
  if (slots === null) return -1;
  let lo = 0;
  let hi = slots.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = slots[mid]!;
    if (v === slot) return mid;
    if (v < slot) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
