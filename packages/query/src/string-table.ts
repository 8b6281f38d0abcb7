/**
 * StringTable: many strings stored as one UTF-8 byte buffer plus offsets, so
 * an index holds a million ids or terms without a million heap strings and
 * serializes them as two flat sections. Strings are decoded lazily on first
 * `get` and cached; `indexOf` builds a Map on first use.
 */
import { Buffer } from "node:buffer";

export class StringTable {
  private cache: (string | undefined)[] | undefined;
  private lookup: Map<string, number> | undefined;
  private readonly buffer: Buffer;

  constructor(
    /** `length + 1` monotone offsets into `bytes`. */
    readonly offsets: Uint32Array,
    readonly bytes: Uint8Array,
  ) {
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  static fromStrings(strings: readonly string[]): StringTable {
    const offsets = new Uint32Array(strings.length + 1);
    let total = 0;
    for (let i = 0; i < strings.length; i++) {
      total += Buffer.byteLength(strings[i]!, "utf8");
      offsets[i + 1] = total;
    }
    const bytes = Buffer.allocUnsafe(total);
    for (let i = 0; i < strings.length; i++) bytes.write(strings[i]!, offsets[i]!, "utf8");
    const table = new StringTable(offsets, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    table.cache = strings.slice();
    return table;
  }

  get length(): number {
    return this.offsets.length - 1;
  }

  get(i: number): string {
    const cache = (this.cache ??= new Array<string | undefined>(this.length));
    let s = cache[i];
    if (s === undefined) {
      s = this.buffer.toString("utf8", this.offsets[i]!, this.offsets[i + 1]!);
      cache[i] = s;
    }
    return s;
  }

  /** Position of `s`, or -1. */
  indexOf(s: string): number {
    if (this.lookup === undefined) {
      const map = new Map<string, number>();
      for (let i = 0; i < this.length; i++) map.set(this.get(i), i);
      this.lookup = map;
    }
    return this.lookup.get(s) ?? -1;
  }

  /** Compare entry `i`'s UTF-8 bytes with `other` (bytewise, i.e. code point order): <0, 0 or >0. */
  compareBytes(i: number, other: Uint8Array): number {
    const bytes = this.bytes;
    let a = this.offsets[i]!;
    const end = this.offsets[i + 1]!;
    const n = Math.min(end - a, other.length);
    for (let j = 0; j < n; j++, a++) {
      const d = bytes[a]! - other[j]!;
      if (d !== 0) return d;
    }
    return end - this.offsets[i]! - other.length;
  }

  /** Compare entries `i` and `j` by their UTF-8 bytes: <0, 0 or >0. */
  compareEntries(i: number, j: number): number {
    const bytes = this.bytes;
    let a = this.offsets[i]!;
    let b = this.offsets[j]!;
    const la = this.offsets[i + 1]! - a;
    const lb = this.offsets[j + 1]! - b;
    const n = Math.min(la, lb);
    for (let k = 0; k < n; k++, a++, b++) {
      const d = bytes[a]! - bytes[b]!;
      if (d !== 0) return d;
    }
    return la - lb;
  }

  /** The entries' positions sorted by UTF-8 bytes (what `indexOfSorted` searches). */
  byteOrder(): Uint32Array {
    const order = new Uint32Array(this.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    return order.sort((a, b) => this.compareEntries(a, b));
  }

  /**
   * Position of `s` by binary search over `order` (positions sorted by UTF-8
   * bytes, see `byteOrder`), or -1. No decoding and no Map: a stored index
   * answers id lookups without building anything.
   */
  indexOfSorted(order: Uint32Array, s: string): number {
    // A lone surrogate would encode as U+FFFD and could match a stored id it is not equal to.
    if ((s as { isWellFormed?: () => boolean }).isWellFormed?.() === false) return -1;
    const key = Buffer.from(s, "utf8");
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.compareBytes(order[mid]!, key);
      if (c === 0) return order[mid]!;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  toArray(): string[] {
    const out = new Array<string>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.get(i);
    return out;
  }
}

/** Binary search in a table sorted by JS string order: first index with value >= s. */
export function lowerBound(table: StringTable, s: string): number {
  let lo = 0;
  let hi = table.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (table.get(mid) < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with value > s. */
export function upperBound(table: StringTable, s: string): number {
  let lo = 0;
  let hi = table.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (table.get(mid) <= s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
