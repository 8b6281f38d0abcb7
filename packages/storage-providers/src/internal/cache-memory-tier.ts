/**
 * CacheMemoryTier: the memory tier of the block cache, an LRU of blocks
 * bounded by the bytes they hold. Each block carries the meta of the object
 * version it came from, so a reader can tell it belongs to the version it
 * is assembling.
 */
import type { ObjectMeta } from "../storage-provider.ts";

export interface MemoryBlock {
  key: string;
  block: number;
  meta: ObjectMeta;
  bytes: Uint8Array;
}

const idOf = (key: string, block: number) => `${block}\u0000${key}`;

export class CacheMemoryTier {
  readonly maxBytes: number;
  /** Map order is recency order, oldest first. */
  readonly #blocks = new Map<string, MemoryBlock>();
  /** Block indexes held per key, to drop a key at once. */
  readonly #byKey = new Map<string, Set<number>>();
  #bytes = 0;
  evictions = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get entries(): number {
    return this.#blocks.size;
  }

  /** The block, made most recent; undefined when absent. */
  get(key: string, block: number): MemoryBlock | undefined {
    const id = idOf(key, block);
    const entry = this.#blocks.get(id);
    if (entry !== undefined) {
      this.#blocks.delete(id);
      this.#blocks.set(id, entry);
    }
    return entry;
  }

  /** Stores a block (the caller gives up `bytes`), evicting the least recent beyond the budget. */
  set(entry: MemoryBlock): void {
    if (entry.bytes.byteLength > this.maxBytes) return;
    this.delete(entry.key, entry.block);
    this.#blocks.set(idOf(entry.key, entry.block), entry);
    let blocks = this.#byKey.get(entry.key);
    if (blocks === undefined) this.#byKey.set(entry.key, (blocks = new Set()));
    blocks.add(entry.block);
    this.#bytes += entry.bytes.byteLength;
    while (this.#bytes > this.maxBytes) {
      const oldest = this.#blocks.values().next().value as MemoryBlock;
      this.delete(oldest.key, oldest.block);
      this.evictions++;
    }
  }

  delete(key: string, block: number): void {
    const id = idOf(key, block);
    const entry = this.#blocks.get(id);
    if (entry === undefined) return;
    this.#blocks.delete(id);
    this.#bytes -= entry.bytes.byteLength;
    const blocks = this.#byKey.get(key);
    blocks?.delete(block);
    if (blocks?.size === 0) this.#byKey.delete(key);
  }

  /** Drops every block of `key`. */
  deleteKey(key: string): void {
    for (const block of [...(this.#byKey.get(key) ?? [])]) this.delete(key, block);
  }

  clear(): void {
    this.#blocks.clear();
    this.#byKey.clear();
    this.#bytes = 0;
  }
}
