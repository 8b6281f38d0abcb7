/**
 * ColdArrayReader: element ranges of a stored (format 3) query index's
 * arrays, read by byte range without loading the index: the storage side
 * of cold BM25 and filter queries (../cold-text.ts).
 *
 * `open` reads the object's eager region (the size the compactor records as
 * `index_eager_bytes`, one ranged GET from the end; without it the trailer
 * first) and parses its block file directory and meta document. Then
 * `array(file, ref, type, i, j)` returns elements [i, j) of the array
 * section `a<k>` the meta document names `{"$a": k}`, fetching only the
 * blocks (64 KiB; 4 KiB for the row store) covering them: contiguous missing
 * blocks in one GET, several runs in parallel, every block CRC-checked
 * against the directory. Eager sections are sliced from the eager region.
 * Verified blocks are cached per (index key, section, block) in an LRU of
 * `cacheBytes` (index objects are immutable: an entry never goes stale),
 * and a block being fetched is shared by every reader asking for it.
 * String tables (`{"$s": [offsets, bytes]}`) are read the same way:
 * `string(file, table, i)` and `findString`, a search of a sorted table by
 * rounds of parallel probes (each round narrows the range 16-fold; once it
 * fits a few blocks it is read whole and searched in memory).
 *
 * Errors, as a whole load: a short read, a size that disagrees with the
 * manifest, a damaged block, a meta document that does not parse, a row
 * count that disagrees with the segment, or an element range outside its
 * array are CorruptStoredIndexError naming the index key (the engine reports
 * it as its CorruptError); a missing object is the IndexObjectSource's error.
 */
import { Buffer } from "node:buffer";
import {
  type BlockFileDirectory,
  type BlockFileSection,
  blockSpan,
  type ContainerRef,
  decodeBlockFileDirectory,
  sliceFromTail,
  verifyBlockSpan,
} from "@skerry/wal-format";
import { CorruptStoredIndexError } from "../errors.ts";
import { compareStrings } from "../attribute-columns.ts";
import { type IndexMeta, parseIndexMeta } from "../index-codec.ts";
import { decodeIndexStep, type IndexObjectSource, IndexObjectReads } from "./index-object-reads.ts";

/** Parsed eager regions kept. */
const FILES_KEPT = 64;
/** Default bytes of verified blocks kept. */
export const COLD_BLOCK_CACHE_BYTES = 64 * 1024 * 1024;
/** A string table range read whole once it holds at most this many bytes (offsets and strings). */
const STRING_SCAN_BYTES = 192 * 1024;
/** Probes per round of `findString`. */
const STRING_PROBES = 15;

export type ColdArrayType = "u8" | "u32" | "i32" | "f32" | "f64";
const CTORS = { u8: Uint8Array, u32: Uint32Array, i32: Int32Array, f32: Float32Array, f64: Float64Array } as const;
export type ColdArray<T extends ColdArrayType> = InstanceType<(typeof CTORS)[T]>;

/** An array section's reference in the meta document. */
export interface ArrayRef {
  readonly $a: number;
}
/** A string table's reference in the meta document: [offsets, bytes]. */
export interface StringRef {
  readonly $s: readonly [number, number];
}

export interface ColdFileRequest {
  /** The segment the index belongs to (its row count is checked); null for an object no manifest names (a stored tail chunk, tail-chunk-index-store.ts). */
  readonly ref: ContainerRef | null;
  readonly indexKey: string;
  /** The ref's `index_bytes`, when recorded. */
  readonly expectedBytes: number | undefined;
}

/** What `open` learned from an index object's eager region. */
export interface ColdIndexFile {
  readonly key: string;
  readonly objectBytes: number;
  readonly directory: BlockFileDirectory;
  readonly meta: IndexMeta;
  /** The eager region's bytes (the object's last bytes). */
  readonly tail: Uint8Array;
}

export class ColdArrayReader {
  readonly #io: IndexObjectReads;
  readonly #cacheBytes: number;
  readonly #files = new Map<string, Promise<ColdIndexFile | null>>();
  /** Verified blocks, LRU (Map order), by `key\0section\0block`. */
  readonly #blocks = new Map<string, Uint8Array>();
  readonly #pending = new Map<string, Promise<Uint8Array>>();
  #held = 0;

  constructor(source: IndexObjectSource, cacheBytes = COLD_BLOCK_CACHE_BYTES) {
    this.#io = new IndexObjectReads(source);
    this.#cacheBytes = cacheBytes;
  }

  /** Ranged reads made and the bytes they returned. */
  stats(): { reads: number; bytes: number } {
    return { reads: this.#io.reads, bytes: this.#io.bytes };
  }

  /** The index's eager region parsed; null when it is not a block file (format 2: the caller loads it). */
  open(request: ColdFileRequest): Promise<ColdIndexFile | null> {
    const key = request.indexKey;
    let file = this.#files.get(key);
    if (file === undefined) {
      file = this.#open(request);
      this.#files.set(key, file);
      file.catch(() => {
        if (this.#files.get(key) === file) this.#files.delete(key);
      });
      while (this.#files.size > FILES_KEPT) this.#files.delete(this.#files.keys().next().value as string);
    } else {
      this.#files.delete(key);
      this.#files.set(key, file);
    }
    return file;
  }

  /**
   * Drops what is cached of object `key` (its parsed eager region and verified blocks): for an object that may be
   * written again under the same key (a damaged stored tail chunk replaced, tail-chunk-index-store.ts).
   */
  forget(key: string): void {
    this.#files.delete(key);
    const prefix = `${key}\0`;
    for (const [id, block] of this.#blocks) {
      if (!id.startsWith(prefix)) continue;
      this.#blocks.delete(id);
      this.#held -= block.byteLength;
    }
  }

  /** Elements of array `ref` (of type `type`). */
  length(file: ColdIndexFile, ref: ArrayRef, type: ColdArrayType): number {
    return this.#arraySection(file, ref, type).length / CTORS[type].BYTES_PER_ELEMENT;
  }

  /** Elements [from, to) of array `ref` (`keep` false: the blocks fetched are not cached, as `bytes`). */
  async array<T extends ColdArrayType>(file: ColdIndexFile, ref: ArrayRef, type: T, from: number, to: number, keep = true): Promise<ColdArray<T>> {
    const section = this.#arraySection(file, ref, type);
    const size = CTORS[type].BYTES_PER_ELEMENT;
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from || to * size > section.length) {
      throw new CorruptStoredIndexError(`query index ${file.key}: elements [${from}, ${to}) are outside array a${ref.$a} (${section.length / size} elements)`, file.key);
    }
    const bytes = await this.bytes(file, `a${ref.$a}`, from * size, (to - from) * size, keep);
    return new CTORS[type](bytes.buffer as ArrayBuffer, bytes.byteOffset, to - from) as ColdArray<T>;
  }

  /** Elements at `indexes` (any order, repeats allowed) of array `ref`: the blocks covering them, fetched in parallel. */
  async gather<T extends ColdArrayType>(file: ColdIndexFile, ref: ArrayRef, type: T, indexes: ArrayLike<number>): Promise<Map<number, number>> {
    const section = this.#arraySection(file, ref, type);
    const size = CTORS[type].BYTES_PER_ELEMENT;
    const out = new Map<number, number>();
    const byBlock = new Map<number, number[]>();
    const dir = file.directory.section(`a${ref.$a}`) as BlockFileSection;
    for (let i = 0; i < indexes.length; i++) {
      const at = indexes[i]!;
      if (!Number.isSafeInteger(at) || at < 0 || (at + 1) * size > section.length) {
        throw new CorruptStoredIndexError(`query index ${file.key}: element ${at} is outside array a${ref.$a}`, file.key);
      }
      const block = dir.blockAt(at * size);
      let list = byBlock.get(block);
      if (list === undefined) byBlock.set(block, (list = []));
      list.push(at);
    }
    await Promise.all(
      [...byBlock.values()].map(async (list) => {
        let lo = list[0]!;
        let hi = lo;
        for (const at of list) {
          if (at < lo) lo = at;
          if (at > hi) hi = at;
        }
        hi++;
        const values = await this.array(file, ref, type, lo, hi);
        for (const at of list) out.set(at, values[at - lo]!);
      }),
    );
    return out;
  }

  /** Entries in string table `table`. */
  stringCount(file: ColdIndexFile, table: StringRef): number {
    return Math.max(0, this.length(file, { $a: table.$s[0] }, "u32") - 1);
  }

  /** Entry `i` of string table `table`. */
  async string(file: ColdIndexFile, table: StringRef, i: number): Promise<string> {
    const offsets = await this.array(file, { $a: table.$s[0] }, "u32", i, i + 2);
    return this.#stringOf(file, table, offsets[0]!, offsets[1]!);
  }

  /**
   * The position of `target` in the sorted (compareStrings order) string
   * table `table`, or -1: rounds of parallel probes, then the remaining
   * range read whole.
   */
  async findString(file: ColdIndexFile, table: StringRef, target: string): Promise<number> {
    const [at, found] = await this.#search(file, table, target);
    return found ? at : -1;
  }

  /** The first position of the sorted string table `table` whose entry is not below `target` (its count when none), searched as `findString`. */
  async lowerBoundString(file: ColdIndexFile, table: StringRef, target: string): Promise<number> {
    return (await this.#search(file, table, target))[0];
  }

  /** Entries [from, to) of string table `table` (one ranged read of their offsets, one of their bytes; `keep` as `bytes`). */
  async strings(file: ColdIndexFile, table: StringRef, from: number, to: number, keep = true): Promise<string[]> {
    if (to <= from) return [];
    const bytesRef = { $a: table.$s[1] };
    const bytesLength = this.length(file, bytesRef, "u8");
    const offsets = await this.array(file, { $a: table.$s[0] }, "u32", from, to + 1, keep);
    const start = offsets[0]!;
    const end = offsets[to - from]!;
    if (end < start || end > bytesLength) throw new CorruptStoredIndexError(`query index ${file.key}: string table offsets out of range`, file.key);
    const bytes = Buffer.from(await this.bytes(file, `a${bytesRef.$a}`, start, end - start, keep));
    const out: string[] = [];
    for (let i = 0; i < to - from; i++) {
      const a = offsets[i]!;
      const b = offsets[i + 1]!;
      if (a < start || b < a || b > end) throw new CorruptStoredIndexError(`query index ${file.key}: string table offsets out of order`, file.key);
      out.push(bytes.toString("utf8", a - start, b - start));
    }
    return out;
  }

  /** [lower bound of `target`, whether the entry there equals it]. */
  async #search(file: ColdIndexFile, table: StringRef, target: string): Promise<[number, boolean]> {
    let lo = 0; // the lower bound is in [lo, hi]
    let hi = this.stringCount(file, table);
    const bytesRef = { $a: table.$s[1] };
    const bytesLength = this.length(file, bytesRef, "u8");
    while (hi > lo) {
      const count = hi - lo;
      // Small enough: read the range's offsets and strings whole.
      if (count <= STRING_PROBES || count * 4 + (bytesLength * count) / Math.max(1, this.stringCount(file, table)) <= STRING_SCAN_BYTES) {
        const offsets = await this.array(file, { $a: table.$s[0] }, "u32", lo, hi + 1);
        const start = offsets[0]!;
        const end = offsets[count]!;
        if (end < start || end > bytesLength) throw new CorruptStoredIndexError(`query index ${file.key}: string table offsets out of range`, file.key);
        const bytes = Buffer.from(await this.bytes(file, `a${bytesRef.$a}`, start, end - start));
        let a = 0;
        let b = count;
        while (a < b) {
          const mid = (a + b) >>> 1;
          const from = offsets[mid]!;
          const to = offsets[mid + 1]!;
          if (from < start || to < from || to > end) throw new CorruptStoredIndexError(`query index ${file.key}: string table offsets out of order`, file.key);
          const c = compareStrings(bytes.toString("utf8", from - start, to - start), target);
          if (c === 0) return [lo + mid, true];
          if (c < 0) a = mid + 1;
          else b = mid;
        }
        return [lo + a, false];
      }
      const pivots = Array.from({ length: STRING_PROBES }, (_, p) => lo + Math.floor(((p + 1) * count) / (STRING_PROBES + 1)));
      const values = await Promise.all(pivots.map((p) => this.string(file, table, p)));
      let nextLo = lo;
      let nextHi = hi;
      for (let p = 0; p < pivots.length; p++) {
        const c = compareStrings(values[p]!, target);
        if (c === 0) return [pivots[p]!, true];
        if (c < 0) nextLo = pivots[p]! + 1;
        else {
          nextHi = pivots[p]!;
          break;
        }
      }
      lo = nextLo;
      hi = nextHi;
    }
    return [lo, false];
  }

  /**
   * Section-relative bytes [offset, offset + length) of section `name`, verified (a copy or a cached view: do not
   * modify). `keep` false: the blocks fetched are not added to the block cache (a scan streaming a whole section
   * through it would evict what other queries use); cached blocks are still used.
   */
  async bytes(file: ColdIndexFile, name: string, offset: number, length: number, keep = true): Promise<Uint8Array> {
    const section = file.directory.section(name);
    if (section === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: section ${name} is missing`, file.key);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > section.length) {
      throw new CorruptStoredIndexError(`query index ${file.key}: bytes [${offset}, +${length}) are outside section ${name}`, file.key);
    }
    const out = new Uint8Array(length);
    if (length === 0) return out;
    if (section.eager) {
      out.set(decodeIndexStep(file.key, () => sliceFromTail(file.directory, file.tail, section, offset, length)));
      return out;
    }
    const first = section.blockAt(offset);
    const last = section.blockAt(offset + length - 1);
    const blocks = await this.#blocksOf(file, section, first, last + 1, keep);
    for (let b = first; b <= last; b++) {
      const block = blocks[b - first]!;
      const start = section.blockStart(b);
      const from = Math.max(offset, start);
      const to = Math.min(offset + length, section.blockEnd(b));
      out.set(block.subarray(from - start, to - start), from - offset);
    }
    return out;
  }

  #arraySection(file: ColdIndexFile, ref: ArrayRef, type: ColdArrayType): { length: number } {
    const s = file.meta.sections[ref.$a];
    const held = file.directory.section(`a${ref.$a}`);
    if (s === undefined || held === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: array a${ref.$a} is missing`, file.key);
    if (s.type !== type) throw new CorruptStoredIndexError(`query index ${file.key}: array a${ref.$a} is ${s.type}, expected ${type}`, file.key);
    if (held.length !== s.length || s.length % CTORS[type].BYTES_PER_ELEMENT !== 0) {
      throw new CorruptStoredIndexError(`query index ${file.key}: array a${ref.$a} has the wrong length`, file.key);
    }
    return s;
  }

  async #stringOf(file: ColdIndexFile, table: StringRef, from: number, to: number): Promise<string> {
    if (to < from) throw new CorruptStoredIndexError(`query index ${file.key}: string table offsets out of order`, file.key);
    const bytes = await this.bytes(file, `a${table.$s[1]}`, from, to - from);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  }

  /** Blocks [first, end) of `section`, verified: cached ones reused, the missing ones fetched in contiguous runs, in parallel. */
  async #blocksOf(file: ColdIndexFile, section: BlockFileSection, first: number, end: number, keep: boolean): Promise<Uint8Array[]> {
    const out: (Uint8Array | Promise<Uint8Array>)[] = [];
    const prefix = `${file.key}\0${section.name}\0`;
    let run: number[] = [];
    const flush = () => {
      if (run.length === 0) return;
      const [a, b] = [run[0]!, run[run.length - 1]! + 1];
      const fetched = this.#fetchRun(file, section, a, b);
      for (let i = a; i < b; i++) {
        const block = fetched.then((blocks) => blocks[i - a]!);
        block.catch(() => undefined);
        this.#pending.set(prefix + i, block);
        out[i - first] = block;
      }
      fetched.then(
        (blocks) => {
          for (let i = a; i < b; i++) {
            this.#pending.delete(prefix + i);
            if (keep) this.#remember(prefix + i, blocks[i - a]!);
          }
        },
        () => {
          for (let i = a; i < b; i++) this.#pending.delete(prefix + i);
        },
      );
      run = [];
    };
    for (let b = first; b < end; b++) {
      const id = prefix + b;
      const cached = this.#blocks.get(id);
      const pending = cached === undefined ? this.#pending.get(id) : undefined;
      if (cached !== undefined) {
        this.#blocks.delete(id);
        this.#blocks.set(id, cached);
        out[b - first] = cached;
        flush();
      } else if (pending !== undefined) {
        out[b - first] = pending;
        flush();
      } else run.push(b);
    }
    flush();
    return Promise.all(out);
  }

  async #fetchRun(file: ColdIndexFile, section: BlockFileSection, first: number, end: number): Promise<Uint8Array[]> {
    const start = section.blockStart(first);
    const span = decodeIndexStep(file.key, () => blockSpan(section, start, section.blockEnd(end - 1) - start));
    const bytes = await this.#io.read(file.key, span.offset, span.length, file.objectBytes);
    decodeIndexStep(file.key, () => verifyBlockSpan(file.directory, span, bytes));
    const blocks: Uint8Array[] = [];
    for (let b = first; b < end; b++) blocks.push(bytes.subarray(section.blockStart(b) - start, section.blockEnd(b) - start));
    return blocks;
  }

  #remember(id: string, block: Uint8Array): void {
    if (block.byteLength > this.#cacheBytes) return;
    this.#blocks.set(id, block);
    this.#held += block.byteLength;
    while (this.#held > this.#cacheBytes) {
      const [oldest, bytes] = this.#blocks.entries().next().value as [string, Uint8Array];
      this.#blocks.delete(oldest);
      this.#held -= bytes.byteLength;
    }
  }

  async #open(request: ColdFileRequest): Promise<ColdIndexFile | null> {
    const key = request.indexKey;
    const region = await this.#io.eagerRegion(key, request.ref, request.expectedBytes);
    if (region === null) return null;
    const { size, tail } = region;
    const directory = decodeIndexStep(key, () => decodeBlockFileDirectory(tail, size));
    const header = directory.section("header");
    if (header === undefined || header.offset !== 0 || header.length !== 16) throw new CorruptStoredIndexError(`query index ${key}: header section missing or misplaced`, key);
    const metaSection = directory.section("meta.json");
    if (metaSection === undefined || !metaSection.eager) throw new CorruptStoredIndexError(`query index ${key}: meta document missing`, key);
    const meta = decodeIndexStep(key, () => parseIndexMeta(sliceFromTail(directory, tail, metaSection)));
    if (request.ref !== null && meta.size !== request.ref.rowCount) {
      throw new CorruptStoredIndexError(`query index ${key} has ${meta.size} rows, segment ${request.ref.key} has ${request.ref.rowCount}`, key);
    }
    if (meta.clusters === undefined || meta.rowStore === undefined || meta.idSet === undefined) {
      throw new CorruptStoredIndexError(`query index ${key}: a format 3 index without clusters, row store or id set`, key);
    }
    return { key, objectBytes: size, directory, meta, tail };
  }
}
