/**
 * ColdDeadSlots: which slots of each indexed segment are dead at a version,
 * found by ranged reads of the stored indexes (ColdArrayReader), for cold
 * queries that need them as slots before they see the rows (BM25's corpus
 * statistics, filter listings): the same set the loaded path marks through
 * its exclusions and shadow masks (namespace-query.ts #build,
 * query-snapshot.ts).
 *
 * A row of segment S is dead when
 * - its position is tombstoned (the sidecar published at the version) or
 *   masked: the position is the slot when the index keeps rows in input
 *   order (no IVF reordering, `sourcePositions` null); an index that
 *   reordered its rows keeps each row's position in its cluster: the
 *   clusters are read once (in runs of about 8 MiB, not kept in the block
 *   cache) for the position -> slot map, which is cached per index key (4
 *   bytes a row; an index is immutable), and only when some position of it
 *   is dead;
 * - the tail holds its id (live or deleted), or a newer segment deleted it
 *   (`deleted_ids` markers), or a newer segment holds it. Every such id is
 *   tested against S's id set: its Bloom filter, then the one id block the
 *   fence points to; a held id's rank in byte order is the block's first
 *   rank plus its place in the block, and `idOrder[rank]` is its slot. The
 *   first ranks of S's blocks need every block's count: S's id blocks are
 *   read whole once (cached per index key), only when some id is held. A
 *   newer segment's ids are its id blocks, read whole; what one segment
 *   shadows of another is cached per pair of index keys (immutable).
 *
 * What the manifest says of each segment (its masked positions, the ids it
 * deleted) comes from the engine as `SegmentMarks`, oldest first.
 */
import type { ColdArrayReader, ColdIndexFile } from "./cold-array-reader.ts";
import { CorruptStoredIndexError } from "../errors.ts";
import { readCluster } from "../cluster-layout.ts";
import { bloomMayContain, compareBytes, idBlockOf, idBytes, readIdBlock } from "../id-set.ts";
import { strideOf } from "../vector-kernel.ts";

/** Pairs (older, newer) of shadowed slots kept. */
const PAIRS_KEPT = 256;
/** Index keys whose id block ranks are kept. */
const RANKS_KEPT = 64;
/** Index keys whose position -> slot maps are kept. */
const POSITION_MAPS_KEPT = 16;
/** Id blocks (about 4 KiB each) read at a time while an id filter tests every id. */
const ID_SCAN_BLOCKS = 256;
/** Bytes of clusters read at a time while a position -> slot map is built. */
const POSITION_READ_BYTES = 8 * 1024 * 1024;

export interface DeadSlots {
  /** 1 = dead; null when no slot is. */
  readonly mask: Uint8Array | null;
  /** The dead slots, ascending. */
  readonly slots: Uint32Array;
}

/** What a segment's manifest entry says of its rows: positions masked (undefined: none), ids deleted by it. */
export interface SegmentMarks {
  readonly masked: ReadonlySet<number> | undefined;
  readonly deletedIds: readonly string[];
}

export class ColdDeadSlots {
  readonly #reader: ColdArrayReader;
  readonly #pairs = new Map<string, Promise<Uint32Array>>();
  readonly #ranks = new Map<string, Promise<Uint32Array>>();
  readonly #positionMaps = new Map<string, Promise<Uint32Array>>();

  constructor(reader: ColdArrayReader) {
    this.#reader = reader;
  }

  /**
   * False when some segment's tombstoned or masked positions cannot be
   * mapped to slots cold (its index reordered its rows and keeps no
   * clusters to read their positions from): the caller loads.
   */
  static servable(files: readonly ColdIndexFile[], marks: readonly SegmentMarks[], tombstones: readonly Iterable<number>[]): boolean {
    return files.every((file, s) => {
      if (file.meta.sourcePositions === null || file.meta.clusters !== undefined) return true;
      for (const _ of tombstones[s] as Iterable<number>) return false;
      return (marks[s] as SegmentMarks).masked === undefined;
    });
  }

  /** The dead slots of every segment (oldest first); `servable` must hold. */
  async of(
    files: readonly ColdIndexFile[],
    marks: readonly SegmentMarks[],
    tombstones: readonly Iterable<number>[],
    tailIds: Iterable<string>,
  ): Promise<DeadSlots[]> {
    if (!ColdDeadSlots.servable(files, marks, tombstones)) throw new Error("ColdDeadSlots.of: positions of a reordered index cannot be mapped to slots");
    const positions = marks.map((mark, s) => {
      const out = new Set<number>(tombstones[s]);
      const masked = mark.masked;
      if (masked !== undefined) for (const position of masked) out.add(position);
      return out;
    });
    const [byId, slotOf] = await Promise.all([
      this.idDead(files, marks, tailIds),
      Promise.all(files.map((file, s) => (file.meta.sourcePositions === null || (positions[s] as Set<number>).size === 0 ? null : this.#slotsOfPositions(file)))),
    ]);
    return files.map((file, s) => {
      const n = file.meta.size;
      const dead = new Set<number>(byId[s]);
      const map = slotOf[s];
      for (const position of positions[s] as Set<number>) {
        if (Number.isInteger(position) && position >= 0 && position < n) dead.add(map === null || map === undefined ? position : (map[position] as number));
      }
      const slots = Uint32Array.from(dead).sort();
      let mask: Uint8Array | null = null;
      if (slots.length > 0) {
        mask = new Uint8Array(n);
        for (const slot of slots) mask[slot] = 1;
      }
      return { mask, slots };
    });
  }

  /**
   * The slots of every segment (oldest first) dead by id alone: held by the tail (`tailIds`, live or deleted),
   * deleted by a newer segment (markers) or held by one. Served for any index, reordered or not (positions are the
   * caller's: cold-exact-vector.ts reads them from the clusters). Each ascending, unique.
   */
  async idDead(files: readonly ColdIndexFile[], marks: readonly SegmentMarks[], tailIds: Iterable<string>): Promise<Uint32Array[]> {
    if (files.length === 0) return []; // no segment: the tail's ids shadow nothing here
    const tail = [...tailIds];
    return Promise.all(
      files.map(async (file, s) => {
        const ids = new Set<string>(tail);
        for (let newer = s + 1; newer < marks.length; newer++) for (const docId of (marks[newer] as SegmentMarks).deletedIds) ids.add(docId);
        const [named, ...shadowed] = await Promise.all([
          this.#slotsOfIds(file, [...ids].map(idBytes)),
          ...files.slice(s + 1).map((other) => this.#shadowed(file, other)),
        ]);
        const dead = new Set<number>(named as Uint32Array);
        for (const slots of shadowed) for (const slot of slots) dead.add(slot);
        return Uint32Array.from(dead).sort();
      }),
    );
  }

  /** The slots of the ids among `ids` that `file` holds (in no particular order). */
  slotsOfIds(file: ColdIndexFile, ids: readonly string[]): Promise<Uint32Array> {
    return this.#slotsOfIds(file, ids.map(idBytes));
  }

  /**
   * The slots whose id passes `test`, ascending: every id of `file` tested (its id blocks streamed in byte order,
   * ID_SCAN_BLOCKS at a time, two reads in flight, not kept in the block cache), then the matching ranks' slots
   * from `idOrder` (the blocks holding them). For an id range or pattern filter, which the loaded path tests on
   * every id; memory is the reads in flight and the matches, whatever the index's size.
   */
  async slotsWhereId(file: ColdIndexFile, test: (id: string) => boolean): Promise<Uint32Array> {
    const n = file.meta.size;
    const reader = this.#reader;
    const section = file.directory.section("idBlocks");
    if (section === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: id blocks missing`, file.key);
    const orderLength = reader.length(file, file.meta.idOrder, "u32");
    if (orderLength !== n) throw new CorruptStoredIndexError(`query index ${file.key}: idOrder holds ${orderLength} slots, the index ${n}`, file.key);
    const blocks = section.blockCount;
    const read = (first: number): Promise<Uint8Array> => {
      const start = section.blockStart(first);
      const bytes = reader.bytes(file, "idBlocks", start, section.blockEnd(Math.min(blocks, first + ID_SCAN_BLOCKS) - 1) - start, false);
      bytes.catch(() => undefined); // awaited in order; a later read's failure must not go unhandled meanwhile
      return bytes;
    };
    const decoder = new TextDecoder();
    const ranks: number[] = [];
    let rank = 0;
    let ahead = blocks > 0 ? read(0) : undefined;
    for (let first = 0; first < blocks; first += ID_SCAN_BLOCKS) {
      const bytes = await (ahead as Promise<Uint8Array>);
      ahead = first + ID_SCAN_BLOCKS < blocks ? read(first + ID_SCAN_BLOCKS) : undefined;
      const base = section.blockStart(first);
      for (let b = first; b < Math.min(blocks, first + ID_SCAN_BLOCKS); b++) {
        for (const id of decodeIdBlock(file, bytes.subarray(section.blockStart(b) - base, section.blockEnd(b) - base))) {
          if (rank >= n) throw new CorruptStoredIndexError(`query index ${file.key}: the id blocks hold more ids than the index's ${n}`, file.key);
          if (test(decoder.decode(id))) ranks.push(rank);
          rank++;
        }
      }
    }
    if (rank !== n) throw new CorruptStoredIndexError(`query index ${file.key}: the id blocks hold ${rank} ids, the index ${n}`, file.key);
    const slots = await reader.gather(file, file.meta.idOrder, "u32", ranks);
    return Uint32Array.from(ranks, (r) => {
      const slot = slots.get(r) as number;
      if (slot >= n) throw new CorruptStoredIndexError(`query index ${file.key}: idOrder holds ${slot}, out of range`, file.key);
      return slot;
    }).sort();
  }

  /** The slots of `older` whose ids `newer` holds (cached per pair). */
  #shadowed(older: ColdIndexFile, newer: ColdIndexFile): Promise<Uint32Array> {
    const key = `${older.key}\0${newer.key}`;
    let slots = this.#pairs.get(key);
    if (slots === undefined) {
      slots = this.#allIds(newer).then((ids) => this.#slotsOfIds(older, ids));
      this.#pairs.set(key, slots);
      slots.catch(() => {
        if (this.#pairs.get(key) === slots) this.#pairs.delete(key);
      });
      while (this.#pairs.size > PAIRS_KEPT) this.#pairs.delete(this.#pairs.keys().next().value as string);
    }
    return slots;
  }

  /** The slots of the ids `file` holds among `ids` (UTF-8 bytes). */
  async #slotsOfIds(file: ColdIndexFile, ids: readonly Uint8Array[]): Promise<Uint32Array> {
    if (ids.length === 0) return new Uint32Array(0);
    const idSet = file.meta.idSet as NonNullable<ColdIndexFile["meta"]["idSet"]>;
    const reader = this.#reader;
    const bloom = await reader.array(file, idSet.bloom, "u32", 0, reader.length(file, idSet.bloom, "u32"));
    const maybe = ids.filter((id) => bloomMayContain(bloom, id));
    if (maybe.length === 0) return new Uint32Array(0);
    const fence = await this.#fence(file);
    const byBlock = new Map<number, Uint8Array[]>();
    for (const id of maybe) {
      const block = idBlockOf(fence, id);
      if (block < 0) continue;
      let list = byBlock.get(block);
      if (list === undefined) byBlock.set(block, (list = []));
      list.push(id);
    }
    const found: { block: number; at: number }[] = [];
    await Promise.all(
      [...byBlock].map(async ([block, wanted]) => {
        const held = await this.#idBlock(file, block);
        for (const id of wanted) {
          const at = indexIn(held, id);
          if (at >= 0) found.push({ block, at });
        }
      }),
    );
    if (found.length === 0) return new Uint32Array(0);
    const firsts = await this.#firstRanks(file);
    const ranks = found.map(({ block, at }) => (firsts[block] as number) + at);
    const n = file.meta.size;
    const slots = await reader.gather(file, file.meta.idOrder, "u32", ranks);
    return Uint32Array.from(ranks, (rank) => {
      const slot = slots.get(rank) as number;
      if (slot >= n) throw new CorruptStoredIndexError(`query index ${file.key}: idOrder holds ${slot}, out of range`, file.key);
      return slot;
    });
  }

  /** Position -> slot of a reordered index (cached per index key), from its clusters' positions. */
  #slotsOfPositions(file: ColdIndexFile): Promise<Uint32Array> {
    let map = this.#positionMaps.get(file.key);
    if (map === undefined) {
      map = this.#readPositions(file);
      this.#positionMaps.set(file.key, map);
      map.catch(() => {
        if (this.#positionMaps.get(file.key) === map) this.#positionMaps.delete(file.key);
      });
      while (this.#positionMaps.size > POSITION_MAPS_KEPT) this.#positionMaps.delete(this.#positionMaps.keys().next().value as string);
    }
    return map;
  }

  async #readPositions(file: ColdIndexFile): Promise<Uint32Array> {
    const meta = file.meta;
    const n = meta.size;
    const corrupt = (what: string) => new CorruptStoredIndexError(`query index ${file.key}: ${what}`, file.key);
    if (meta.clusters === undefined) throw corrupt("no clusters");
    const bounds = await this.#reader.array(file, meta.clusters, "u32", 0, this.#reader.length(file, meta.clusters, "u32"));
    const section = file.directory.section("clusters");
    const count = bounds.length - 1;
    if (section === undefined || section.blockCount !== count) throw corrupt("one block per cluster expected");
    if (count < 1 || bounds[0] !== 0 || bounds[count] !== n) throw corrupt("cluster boundaries do not span the rows");
    const shape = { stride: meta.vectors === null ? 0 : strideOf(meta.vectors.dimension), positions: true, rows: true, codes: meta.vectors?.codes === "sq8" };
    const map = new Uint32Array(n);
    const seen = new Uint8Array(n);
    for (let first = 0; first < count; ) {
      let end = first + 1;
      while (end < count && section.blockEnd(end) - section.blockStart(first) <= POSITION_READ_BYTES) end++;
      const from = section.blockStart(first);
      const bytes = await this.#reader.bytes(file, "clusters", from, section.blockEnd(end - 1) - from, false);
      for (let c = first; c < end; c++) {
        const start = bounds[c] as number;
        const rows = (bounds[c + 1] as number) - start;
        if (rows <= 0) throw corrupt("cluster boundaries are not ascending");
        const at = section.blockStart(c) - from;
        const block = bytes.subarray(at, section.blockEnd(c) - from);
        const decoded = readCluster(block.byteOffset % 8 === 0 ? block : block.slice(), shape, rows);
        if (typeof decoded === "string") throw corrupt(`cluster ${c} does not decode: ${decoded}`);
        const positions = decoded.positions as Uint32Array;
        for (let i = 0; i < rows; i++) {
          const position = positions[i] as number;
          if (position >= n || seen[position] === 1) throw corrupt("the clusters' positions are not a permutation");
          seen[position] = 1;
          map[position] = start + i;
        }
      }
      first = end;
    }
    return map;
  }

  /** The id set's fence: the first id of every block. */
  async #fence(file: ColdIndexFile): Promise<Uint8Array[]> {
    const table = (file.meta.idSet as NonNullable<ColdIndexFile["meta"]["idSet"]>).fence;
    const reader = this.#reader;
    const offsets = await reader.array(file, { $a: table.$s[0] }, "u32", 0, reader.length(file, { $a: table.$s[0] }, "u32"));
    const bytes = await reader.array(file, { $a: table.$s[1] }, "u8", 0, reader.length(file, { $a: table.$s[1] }, "u8"));
    const fence: Uint8Array[] = [];
    for (let i = 0; i + 1 < offsets.length; i++) {
      const [start, end] = [offsets[i] as number, offsets[i + 1] as number];
      if (end < start || end > bytes.length) throw new CorruptStoredIndexError(`query index ${file.key}: id fence offsets out of range`, file.key);
      fence.push(bytes.subarray(start, end));
    }
    const blocks = file.directory.section("idBlocks");
    if (blocks === undefined || blocks.blockCount !== fence.length) throw new CorruptStoredIndexError(`query index ${file.key}: id blocks and their fence disagree`, file.key);
    return fence;
  }

  async #idBlock(file: ColdIndexFile, block: number): Promise<Uint8Array[]> {
    const section = file.directory.section("idBlocks");
    if (section === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: id blocks missing`, file.key);
    const start = section.blockStart(block);
    return decodeIdBlock(file, await this.#reader.bytes(file, "idBlocks", start, section.blockEnd(block) - start));
  }

  /** Every id `file` holds, in byte order (its id blocks read whole). */
  async #allIds(file: ColdIndexFile): Promise<Uint8Array[]> {
    const section = file.directory.section("idBlocks");
    if (section === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: id blocks missing`, file.key);
    const bytes = await this.#reader.bytes(file, "idBlocks", 0, section.length);
    const out: Uint8Array[] = [];
    for (let b = 0; b < section.blockCount; b++) {
      for (const id of decodeIdBlock(file, bytes.subarray(section.blockStart(b), section.blockEnd(b)))) out.push(id);
    }
    if (out.length !== file.meta.size) throw new CorruptStoredIndexError(`query index ${file.key}: the id blocks hold ${out.length} ids, the index ${file.meta.size}`, file.key);
    return out;
  }

  /** The rank (in byte order) of every id block's first id (cached per index key). */
  #firstRanks(file: ColdIndexFile): Promise<Uint32Array> {
    let ranks = this.#ranks.get(file.key);
    if (ranks === undefined) {
      ranks = this.#allIdCounts(file);
      this.#ranks.set(file.key, ranks);
      ranks.catch(() => {
        if (this.#ranks.get(file.key) === ranks) this.#ranks.delete(file.key);
      });
      while (this.#ranks.size > RANKS_KEPT) this.#ranks.delete(this.#ranks.keys().next().value as string);
    }
    return ranks;
  }

  async #allIdCounts(file: ColdIndexFile): Promise<Uint32Array> {
    const section = file.directory.section("idBlocks");
    if (section === undefined) throw new CorruptStoredIndexError(`query index ${file.key}: id blocks missing`, file.key);
    const bytes = await this.#reader.bytes(file, "idBlocks", 0, section.length);
    const firsts = new Uint32Array(section.blockCount + 1);
    for (let b = 0; b < section.blockCount; b++) {
      firsts[b + 1] = (firsts[b] as number) + decodeIdBlock(file, bytes.subarray(section.blockStart(b), section.blockEnd(b))).length;
    }
    if (firsts[section.blockCount] !== file.meta.size) {
      throw new CorruptStoredIndexError(`query index ${file.key}: the id blocks hold ${firsts[section.blockCount]} ids, the index ${file.meta.size}`, file.key);
    }
    return firsts;
  }
}

function decodeIdBlock(file: ColdIndexFile, bytes: Uint8Array): Uint8Array[] {
  const ids = readIdBlock(bytes.byteOffset % 8 === 0 ? bytes : bytes.slice());
  if (typeof ids === "string") throw new CorruptStoredIndexError(`query index ${file.key} does not decode: ${ids}`, file.key);
  return ids;
}

/** Where the sorted `ids` hold `id`, or -1. */
function indexIn(ids: readonly Uint8Array[], id: Uint8Array): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareBytes(ids[mid] as Uint8Array, id);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}
