/**
 * RangedTailChunk: a stored tail chunk index (tail-chunk-index-store.ts)
 * opened for ranged reads instead of fetched and decoded whole: the object's
 * eager region (directory, meta document, `tail.json`, centroids, list
 * offsets, id filter and fence) and its ids, nothing else. The cold query
 * paths read the rest by range like a compacted segment's index
 * (cold-array-reader.ts, cold-index-reader.ts), every block CRC-checked.
 *
 * Its ids are what TailChunks needs to check the object against this
 * process's fold (tail-chunks.ts `checkStored`: the same check as for a
 * decoded index) and to exclude rows later containers superseded: the id
 * blocks (byte order) and `idOrder` (rank -> slot), read whole and verified
 * (a few percent of the object: no vectors, attributes or postings). A
 * RangedTailChunk's positions are its slots: the rows a later container
 * superseded are kept as slots, and mapped to the decoded index's positions
 * if the chunk is ever loaded whole (TailChunks `materialize`).
 */
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import { CorruptError } from "./errors.ts";
import { readIdBlock } from "./query/id-set.ts";
import type { ChunkFoldSummary } from "./chunk-fold-summary.ts";

export class RangedTailChunk {
  readonly key: string;
  readonly file: ColdIndexFile;
  readonly size: number;
  /** The id of each slot. */
  readonly #bySlot: readonly string[];
  #slots: Map<string, number> | undefined;
  readonly ids: { get(slot: number): string };
  /** The chunk's fold summary (a version 2 object, checked), set by the store; undefined for version 1. */
  summary: ChunkFoldSummary | undefined = undefined;

  constructor(file: ColdIndexFile, bySlot: readonly string[]) {
    this.key = file.key;
    this.file = file;
    this.size = bySlot.length;
    this.#bySlot = bySlot;
    this.ids = { get: (slot) => bySlot[slot] as string };
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
    if (this.#slots === undefined) {
      const slots = new Map<string, number>();
      this.#bySlot.forEach((held, slot) => {
        slots.set(held, slot);
      });
      this.#slots = slots;
    }
    return this.#slots.get(id) ?? -1;
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
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const bySlot: string[] = new Array(n);
  const seen = new Uint8Array(n);
  let rank = 0;
  let previous: Uint8Array | undefined;
  for (let b = 0; b < section.blockCount; b++) {
    const block = bytes.subarray(section.blockStart(b), section.blockEnd(b));
    const ids = readIdBlock(block.byteOffset % 8 === 0 ? block : block.slice());
    if (typeof ids === "string") throw corrupt(`id block ${b} does not decode: ${ids}`);
    for (const id of ids) {
      if (rank >= n) throw corrupt(`the id blocks hold more than the index's ${n} ids`);
      // Byte order, each id once (a fold summary's rows are taken as distinct).
      if (previous !== undefined && compareBytes(previous, id) >= 0) throw corrupt("the id blocks are not in strictly ascending byte order");
      previous = id;
      const slot = order[rank++] as number;
      if (slot >= n || seen[slot] === 1) throw corrupt("idOrder is not a permutation");
      seen[slot] = 1;
      try {
        bySlot[slot] = decoder.decode(id);
      } catch {
        throw corrupt("an id is not UTF-8");
      }
    }
  }
  if (rank !== n) throw corrupt(`the id blocks hold ${rank} ids, the index ${n}`);
  return new RangedTailChunk(file, bySlot);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}
