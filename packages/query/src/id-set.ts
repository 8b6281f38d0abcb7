/**
 * IdSet: which ids a stored index holds, answerable from a few bytes, so a
 * cold query over several segments can tell whether a newer segment
 * shadows a row of an older one without loading the newer segment.
 *
 * Two parts (index format 3, index-codec.ts):
 * - a Bloom filter over the ids' UTF-8 bytes (eager: read with the index's
 *   eager region): 10 bits per id, 7 probes by double hashing of two
 *   32-bit FNV-1a variants, about 0.8% false positives. "Not present" is
 *   certain;
 * - the ids in byte order, cut into blocks of about 4 KiB (section
 *   `idBlocks`, one block-file block each), with the first id of every
 *   block as a fence (eager). A "maybe" from the filter is settled by
 *   reading the one block the fence points to.
 * A block: u32 count m, u32 offsets[m + 1] (into the bytes that follow),
 * the ids' bytes, zero padding to 8.
 */

/** Bits of filter per id. */
export const BLOOM_BITS_PER_ID = 10;
/** Probes per id. */
export const BLOOM_HASHES = 7;
/** Target size of an id block. */
export const ID_BLOCK_BYTES = 4096;

const encoder = new TextEncoder();

/** The two 32-bit hashes of `bytes` that the filter's probes are derived from. */
function hashes(bytes: Uint8Array): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    h1 = Math.imul(h1 ^ b, 0x01000193);
    h2 = Math.imul(h2 ^ b, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  return [h1 >>> 0, (h2 | 1) >>> 0];
}

/** A Bloom filter's words (u32) for `count` ids. */
export function bloomWords(count: number): number {
  return Math.max(2, Math.ceil((count * BLOOM_BITS_PER_ID) / 32));
}

/** Builds the filter over `ids` (UTF-8 byte strings). */
export function buildBloom(ids: Iterable<Uint8Array>, count: number): Uint32Array {
  const words = new Uint32Array(bloomWords(count));
  const bits = words.length * 32;
  for (const id of ids) {
    const [a, b] = hashes(id);
    for (let i = 0; i < BLOOM_HASHES; i++) {
      const bit = (a + Math.imul(i, b)) >>> 0;
      const at = bit % bits;
      words[at >>> 5]! |= 1 << (at & 31);
    }
  }
  return words;
}

/** False when `id` is certainly not in the filter's set. */
export function bloomMayContain(words: Uint32Array, id: string | Uint8Array): boolean {
  const bytes = typeof id === "string" ? encoder.encode(id) : id;
  const bits = words.length * 32;
  const [a, b] = hashes(bytes);
  for (let i = 0; i < BLOOM_HASHES; i++) {
    const at = ((a + Math.imul(i, b)) >>> 0) % bits;
    if ((words[at >>> 5]! & (1 << (at & 31))) === 0) return false;
  }
  return true;
}

/** Byte order of two UTF-8 strings (the order of `idOrder` and of the id blocks). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The id blocks (one byte array, with each block's end) and the fence (first id of each block). */
export function buildIdBlocks(sorted: readonly Uint8Array[]): { bytes: Uint8Array; ends: number[]; fence: Uint8Array[] } {
  const parts: Uint8Array[] = [];
  const ends: number[] = [];
  const fence: Uint8Array[] = [];
  let total = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    let size = 8; // count + the first offset + (rounding)
    while (j < sorted.length && (j === i || size + 4 + sorted[j]!.length <= ID_BLOCK_BYTES)) {
      size += 4 + sorted[j]!.length;
      j++;
    }
    const m = j - i;
    const idBytes = sorted.slice(i, j).reduce((n, id) => n + id.length, 0);
    const length = Math.ceil((4 + 4 * (m + 1) + idBytes) / 8) * 8;
    const block = new Uint8Array(length);
    const view = new DataView(block.buffer);
    view.setUint32(0, m, true);
    let at = 0;
    for (let k = 0; k < m; k++) {
      view.setUint32(4 + 4 * k, at, true);
      block.set(sorted[i + k]!, 4 + 4 * (m + 1) + at);
      at += sorted[i + k]!.length;
    }
    view.setUint32(4 + 4 * m, at, true);
    parts.push(block);
    fence.push(sorted[i]!);
    total += length;
    ends.push(total);
    i = j;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, ends, fence };
}

/** The block that would hold `id`: the last whose fence id is <= it (-1: before every block). */
export function idBlockOf(fence: readonly Uint8Array[], id: Uint8Array): number {
  let lo = 0;
  let hi = fence.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(fence[mid]!, id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The ids of one block, or a reason string when the bytes cannot be one. */
export function readIdBlock(block: Uint8Array): Uint8Array[] | string {
  if (block.byteLength < 8) return "id block too short";
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const m = view.getUint32(0, true);
  const dataAt = 4 + 4 * (m + 1);
  if (dataAt > block.byteLength) return "id block count out of range";
  const out: Uint8Array[] = [];
  let previous = 0;
  for (let k = 0; k < m; k++) {
    const start = view.getUint32(4 + 4 * k, true);
    const end = view.getUint32(8 + 4 * k, true);
    if (start !== previous || end < start || dataAt + end > block.byteLength) return "id block offsets out of order";
    out.push(block.subarray(dataAt + start, dataAt + end));
    previous = end;
  }
  if (Math.ceil((dataAt + previous) / 8) * 8 !== block.byteLength) return "id block has the wrong length";
  for (let k = 1; k < m; k++) if (compareBytes(out[k - 1]!, out[k]!) >= 0) return "id block is not sorted";
  return out;
}

/** True when the sorted `ids` (one block) hold `id`. */
export function blockHolds(ids: readonly Uint8Array[], id: Uint8Array): boolean {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareBytes(ids[mid]!, id);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

/** UTF-8 bytes of an id (as the index stores it). */
export function idBytes(id: string): Uint8Array {
  return encoder.encode(id);
}
