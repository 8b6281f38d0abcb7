/**
 * CRC-32 (IEEE 802.3 polynomial, reflected; the checksum of zlib, gzip and
 * PNG) over byte ranges.
 *
 * Node >= 20.15 exposes zlib's native `crc32`, several times faster than any
 * JavaScript loop; the package supports Node >= 20.10, so older runtimes fall
 * back to a slice-by-8 table implementation that yields identical values.
 * CRC-32 rather than CRC-32C because only the former has a native path in
 * Node; the error-detection strength for our frame sizes is the same.
 */
import * as zlib from "node:zlib";

const TABLES: Uint32Array[] = (() => {
  const tables: Uint32Array[] = [];
  const first = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    first[n] = c >>> 0;
  }
  tables.push(first);
  for (let t = 1; t < 8; t++) {
    const previous = tables[t - 1] as Uint32Array;
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      const p = previous[n] as number;
      table[n] = ((p >>> 8) ^ (first[p & 0xff] as number)) >>> 0;
    }
    tables.push(table);
  }
  return tables;
})();

/** Portable CRC-32, continuing from `initial` (0 for a fresh checksum). */
export function crc32Portable(data: Uint8Array, initial = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Uint32Array, Uint32Array, Uint32Array, Uint32Array,
    Uint32Array, Uint32Array, Uint32Array, Uint32Array,
  ];
  let crc = ~initial >>> 0;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = (crc ^ ((data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24))) >>> 0;
    crc =
      (t7[a & 0xff] as number) ^
      (t6[(a >>> 8) & 0xff] as number) ^
      (t5[(a >>> 16) & 0xff] as number) ^
      (t4[a >>> 24] as number) ^
      (t3[data[i + 4] as number] as number) ^
      (t2[data[i + 5] as number] as number) ^
      (t1[data[i + 6] as number] as number) ^
      (t0[data[i + 7] as number] as number);
  }
  for (; i < n; i++) crc = (t0[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

type NativeCrc32 = (data: Uint8Array, value?: number) => number;
const native = (zlib as unknown as { crc32?: NativeCrc32 }).crc32;

/** CRC-32 of `data`, continuing from `initial`; native when available. */
export const crc32: (data: Uint8Array, initial?: number) => number =
  typeof native === "function" ? (data, initial = 0) => native(data, initial) >>> 0 : crc32Portable;
