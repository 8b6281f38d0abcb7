/**
 * RangedTailChunk: a stored tail chunk index (tail-chunk-index-store.ts)
 * opened for ranged reads instead of fetched and decoded whole: the object's
 * eager region (directory, meta document, `tail.json`, centroids, list
 * offsets, id filter and fence) and its ids, nothing else. The cold query
 * paths read the rest by range like a compacted segment's index
 * (cold-array-reader.ts, cold-index-reader.ts), every block CRC-checked.
 *
 * Its ids are what TailChunks needs to check the object against this
 * process's fold (tail-chunks.ts `checkStored`) and to exclude rows later
 * containers superseded: the id blocks (byte order) and `idOrder` (rank ->
 * slot), read whole and verified (a few percent of the object: no vectors,
 * attributes or postings). They are kept as bytes, one flat buffer in byte
 * order with each id's offset, never as a string per id: an id is decoded
 * when asked for (`ids.get`), looked up by a binary search over the bytes
 * (`slotOfId`), and two chunks' ids are intersected by one merge of their
 * sorted bytes (`slotsHeldBy`). A fold started from the chunk's summary
 * (query-tail.ts `applySummary`) tests its ids through these, so a first
 * query over a stored tail makes no per-id strings or map entries (as a
 * compacted segment's, whose id sets are read on demand).
 *
 * Opening checks the blocks' structure, that the ids are in strictly
 * ascending byte order (each once), that `idOrder` is a permutation, and
 * that every id is UTF-8 (one decode of the whole buffer, and no id starting
 * inside a character): an id read later cannot fail.
 *
 * A RangedTailChunk's positions are its slots: the rows a later container
 * superseded are kept as slots, and mapped to the decoded index's positions
 * if the chunk is ever loaded whole (TailChunks `materialize`).
 */
import type { ColdArrayReader, ColdIndexFile } from "@skerry/query";
import { CorruptError } from "../core/index.ts";
import type { ChunkFoldSummary } from "./chunk-fold-summary.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export class RangedTailChunk {
  readonly key: string;
  readonly file: ColdIndexFile;
  readonly size: number;
  /** The ids' UTF-8 bytes, ascending, concatenated; rank r is [offsets[r], offsets[r + 1]). */
  readonly #bytes: Uint8Array;
  readonly #offsets: Uint32Array;
  /** Rank -> slot, and slot -> rank. */
  readonly #order: Uint32Array;
  readonly #rankOf: Uint32Array;
  readonly ids: { get(slot: number): string };
  /** The chunk's fold summary (a version 2 object, checked), set by the store; undefined for version 1. */
  summary: ChunkFoldSummary | undefined = undefined;

  /** `bytes`/`offsets`: the ids in byte order; `order`: rank -> slot. Checked by `openRangedTailChunk`. */
  constructor(file: ColdIndexFile, bytes: Uint8Array, offsets: Uint32Array, order: Uint32Array) {
    this.key = file.key;
    this.file = file;
    this.size = order.length;
    this.#bytes = bytes;
    this.#offsets = offsets;
    this.#order = order;
    const rankOf = new Uint32Array(order.length);
    for (let rank = 0; rank < order.length; rank++) rankOf[order[rank] as number] = rank;
    this.#rankOf = rankOf;
    this.ids = { get: (slot) => this.#idAt(this.#rankOf[slot] as number) };
  }

  /** Bytes of the ids (UTF-8), all together. */
  get idBytes(): number {
    return this.#bytes.length;
  }

  #idAt(rank: number): string {
    return decoder.decode(this.#bytes.subarray(this.#offsets[rank] as number, this.#offsets[rank + 1] as number));
  }

  /** A ranged chunk's positions are its slots. */
  positionOf(slot: number): number {
    return slot;
  }

  slotOf(position: number): number {
    return position >= 0 && position < this.size ? position : -1;
  }

  /** The slot of `id`, -1 when the chunk does not hold it. */
  slotOfId(id: string): number {
    return this.slotOfBytes(encoder.encode(id));
  }

  /** The slot of the id whose UTF-8 bytes are `id`, -1 when the chunk does not hold it (a binary search). */
  slotOfBytes(id: Uint8Array): number {
    const bytes = this.#bytes;
    const offsets = this.#offsets;
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const start = offsets[mid] as number;
      const end = offsets[mid + 1] as number;
      const c = compareBytes(bytes, start, end, id, 0, id.length);
      if (c === 0) return this.#order[mid] as number;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /** The slots of this chunk whose id `other` holds too: one merge of both chunks' sorted ids. */
  slotsHeldBy(other: RangedTailChunk): number[] {
    const out: number[] = [];
    const a = this.#bytes;
    const ao = this.#offsets;
    const b = other.#bytes;
    const bo = other.#offsets;
    let i = 0;
    let j = 0;
    while (i < this.size && j < other.size) {
      const as = ao[i] as number;
      const ae = ao[i + 1] as number;
      const bs = bo[j] as number;
      const be = bo[j + 1] as number;
      const c = compareBytes(a, as, ae, b, bs, be);
      if (c === 0) {
        out.push(this.#order[i] as number);
        i++;
        j++;
      } else if (c < 0) i++;
      else j++;
    }
    return out;
  }

  /** Every id, in byte order (decoded one at a time). */
  *[Symbol.iterator](): IterableIterator<string> {
    for (let rank = 0; rank < this.size; rank++) yield this.#idAt(rank);
  }
}

/**
 * Opens stored tail chunk index `key` (`objectBytes` long) by ranged reads and reads its ids. Null when the object
 * is not a block file (never written so: the caller rejects it). Damage is CorruptError naming the key.
 */
export async function openRangedTailChunk(reader: ColdArrayReader, key: string, objectBytes: number): Promise<RangedTailChunk | null> {
  const file = await reader.open({ ref: null, indexKey: key, expectedBytes: objectBytes });
  if (file === null) return null;
  const corrupt = (what: string) => new CorruptError(`query index ${key}: ${what}`, key);
  const n = file.meta.size;
  const section = file.directory.section("idBlocks");
  if (section === undefined) throw corrupt("id blocks missing");
  const [bytes, order] = await Promise.all([reader.bytes(file, "idBlocks", 0, section.length, false), reader.array(file, file.meta.idOrder, "u32", 0, n)]);
  if (order.length !== n) throw corrupt(`idOrder holds ${order.length} slots, the index ${n}`);
  // The blocks' ids copied into one buffer, each id's offset kept (block layout: @skerry/query id-set.ts).
  const flat = new Uint8Array(bytes.length);
  const offsets = new Uint32Array(n + 1);
  let rank = 0;
  let at = 0;
  for (let b = 0; b < section.blockCount; b++) {
    const start = section.blockStart(b);
    const end = section.blockEnd(b);
    if (end - start < 8) throw corrupt(`id block ${b} does not decode: id block too short`);
    const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
    const m = view.getUint32(0, true);
    const dataAt = 4 + 4 * (m + 1);
    if (dataAt > end - start) throw corrupt(`id block ${b} does not decode: id block count out of range`);
    if (rank + m > n) throw corrupt(`the id blocks hold more than the index's ${n} ids`);
    let previous = 0;
    for (let k = 0; k < m; k++) {
      const from = view.getUint32(4 + 4 * k, true);
      const to = view.getUint32(8 + 4 * k, true);
      if (from !== previous || to < from || dataAt + to > end - start) throw corrupt(`id block ${b} does not decode: id block offsets out of order`);
      previous = to;
    }
    if (Math.ceil((dataAt + previous) / 8) * 8 !== end - start) throw corrupt(`id block ${b} does not decode: id block has the wrong length`);
    flat.set(bytes.subarray(start + dataAt, start + dataAt + previous), at);
    for (let k = 0; k < m; k++) offsets[rank + k] = at + view.getUint32(4 + 4 * k, true);
    rank += m;
    at += previous;
    offsets[rank] = at;
  }
  if (rank !== n) throw corrupt(`the id blocks hold ${rank} ids, the index ${n}`);
  const ids = flat.subarray(0, at);
  // Byte order, each id once (a fold summary's rows are taken as distinct).
  for (let r = 1; r < n; r++) {
    const as = offsets[r - 1] as number;
    const ae = offsets[r] as number;
    const be = offsets[r + 1] as number;
    if (compareBytes(ids, as, ae, ids, ae, be) >= 0) throw corrupt("the id blocks are not in strictly ascending byte order");
  }
  const seen = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const slot = order[r] as number;
    if (slot >= n || seen[slot] === 1) throw corrupt("idOrder is not a permutation");
    seen[slot] = 1;
  }
  // Valid UTF-8 as a whole, and each id starts a character (not a continuation byte): then each id is UTF-8.
  try {
    decoder.decode(ids);
  } catch {
    throw corrupt("an id is not UTF-8");
  }
  for (let r = 0; r < n; r++) {
    const start = offsets[r] as number;
    if (start < (offsets[r + 1] as number) && ((ids[start] as number) & 0xc0) === 0x80) throw corrupt("an id is not UTF-8");
  }
  return new RangedTailChunk(file, ids, offsets, Uint32Array.from(order));
}

/** Byte order of a[as, ae) and b[bs, be): negative, 0 or positive (a shorter prefix sorts first). */
function compareBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let k = 0; k < n; k++) {
    const c = (a[as + k] as number) - (b[bs + k] as number);
    if (c !== 0) return c;
  }
  return ae - as - (be - bs);
}
