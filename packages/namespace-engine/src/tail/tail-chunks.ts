/**
 * TailChunks: the query tail (query-tail.ts) indexed in chunks, so a new
 * version costs an index of what it added, not of the whole tail.
 *
 * The tail's containers are cut, in order, into chunks: a chunk closes once
 * its containers touched `limits.docs` ids or it holds `limits.containers`
 * containers. A closed chunk is indexed once and kept while the fold only
 * extends (the usual case between compactions); chunks of at least
 * `minDocuments` vectors get an IVF index, like a compacted segment, so an
 * ANN query over a large uncompacted tail probes lists instead of scanning
 * every row. Only the open chunk (the containers after the last closed
 * one) is indexed again at each version.
 *
 * Closed chunks merge LSM style: a chunk cut from containers is level 0;
 * when the newest `limits.fanout` closed chunks are all of level L, one
 * chunk of level L + 1 over their containers replaces them (indexed once,
 * with its own IVF lists). Levels never increase from the oldest chunk to
 * the newest, so a tail of N documents is at most (fanout - 1) chunks per
 * level, O(log N) partitions, and a document is indexed once per level it
 * climbs: O(log N) indexing work per written document, amortized. A fold
 * indexed for the first time (a fresh engine, an older version) plans the
 * merged layout first and indexes each final chunk once, never the small
 * chunks a merge would replace.
 *
 * Merges may be deferred (`merges = false`, the engine's query path once a
 * fold was indexed): `advance` then closes level-0 chunks without merging
 * full levels (the chunks stay correct and disjoint, only more of them),
 * `mergeDue()` says a merge is owed, and an `advance` with `merges` true
 * (in the background, namespace-query.ts) builds the merged chunks: a
 * merged chunk may then have built chunks after it, whose ids count as
 * touched later.
 *
 * Each id's current document lives in exactly one chunk: the one holding
 * the last container that touched it. A chunk indexes, at close, the ids
 * its containers touched and no later container touched (their current
 * documents; deleted ones are not indexed). When a later container touches
 * an id a closed chunk holds, that row is excluded from the chunk
 * (`excluded`, positions, only ever growing): the chunks are disjoint, so
 * no shadow masks are computed between them. The ids a new version's
 * containers touched are looked up in each closed chunk's id set (a Map of
 * a built index, a binary search over a ranged chunk's id bytes): no map of
 * every held id is kept. Shadowing of the indexed
 * segments before the tail is the query snapshot's (newest wins), and the
 * tail's deleted ids are the caller's exclusions there.
 *
 * A closed chunk's index may come from elsewhere (`advance(stored)`: a
 * persisted one, tail-chunk-index-store.ts) instead of being built. It was
 * built by another process that may have seen fewer or more containers
 * after the chunk, so it is checked against this fold before use: every id
 * the chunk must hold (touched by its containers, by no later one, live)
 * is in it, and every other id in it was touched by a later container
 * (that row is then excluded, as if a later container superseded it). Any
 * other id, or a missing one, rejects it (`onRejected`) and the chunk is built.
 *
 * A stored index may also be given as a RangedTailChunk (ranged-tail-chunk.ts):
 * only its ids, the object read by range by the cold query paths. Such a
 * chunk has no `index` but `ranged`, checked the same way; its excluded
 * positions are slots. `materialize` turns it into a loaded chunk (the
 * object decoded whole, for the loaded query path), `rebuild` into a built
 * one (its object turned out damaged or gone).
 *
 * A fold may hold some closed chunks only as their stored summaries
 * (query-tail.ts `applySummary`): such a chunk's stored index is taken
 * without the fit pass (`#fromSummary`: the fold was made from its rows),
 * and anything that would need its documents (building it, merging it,
 * `rebuild`) throws SummarizedFoldError: the engine folds the batches.
 * Its rows are never listed: the ids touched after it are looked up in it,
 * and a newer summarized chunk's rows are intersected with it by one merge
 * of the two chunks' sorted id bytes (ranged-tail-chunk.ts `slotsHeldBy`),
 * so the first query over a stored tail makes no string or map entry per
 * row (`LaterIds`).
 *
 * A chunk's index may also be built elsewhere (a worker thread,
 * tail-chunk-builds.ts): `jobs()` lists the documents `advance` would
 * index for each chunk it would build (the open one and the closed ones
 * not built yet), collected in bounded slices between event loop turns;
 * `advance(..., built)` takes those indexes (of exactly those documents,
 * sorted by id, as `advance` itself would build them) instead of building,
 * provided the fold did not change since `jobs()`.
 */
import type { ChunkFoldSummary } from "./chunk-fold-summary.ts";
import type { StoredDocument } from "../namespace/index.ts";
import type { QueryIndex } from "@skerry/query";
import type { TailFold } from "./query-tail.ts";
import { RangedTailChunk } from "./ranged-tail-chunk.ts";

/** Where chunks are cut and merged (engine settings `queryCache.tailChunkDocs` / `tailChunkContainers` / `tailChunkFanout`). */
export interface ChunkLimits {
  /** A chunk closes once its containers touched this many ids... */
  readonly docs: number;
  /** ...or once it holds this many containers. */
  readonly containers: number;
  /** This many closed chunks of one level merge into one of the next level (at least 2). */
  readonly fanout: number;
}

export interface TailChunk {
  /** Containers [start, end) of the fold. */
  readonly start: number;
  readonly end: number;
  /** 0 for a chunk cut from containers; L + 1 for a merge of `fanout` chunks of level L. */
  readonly level: number;
  /** The chunk's live documents indexed, or null when it holds none (or is `ranged`). */
  readonly index: QueryIndex | null;
  /** A stored index read by range (not decoded): the chunk's rows are there, `index` is null. */
  readonly ranged?: RangedTailChunk | undefined;
  /** Positions of `index` superseded by later containers (grows as the fold extends). */
  readonly excluded: Set<number>;
  readonly bytes: number;
  /** True when `index` was taken from `advance`'s `stored` indexes rather than built here. */
  readonly stored?: boolean;
  /** Of a closed chunk indexed here: what its containers folded to besides its rows (persisted with its index). */
  readonly summary?: ChunkFoldSummary | undefined;
}

/** A closed chunk `advance` is about to index: containers [start, end) at `level`. */
export interface PlannedChunk {
  readonly start: number;
  readonly end: number;
  readonly level: number;
  /** Ids the chunk's containers touched (with repeats): an upper bound of the documents it indexes. */
  readonly touched: number;
}

/** Indexes `advance` may use instead of building a closed chunk (decoded, or read by range), by `chunkKey(start, end)`. */
export type StoredChunkIndexes = ReadonlyMap<string, QueryIndex | RangedTailChunk>;

/** What `checkStored` and the exclusions need of a chunk's rows: a QueryIndex or a RangedTailChunk. */
interface ChunkRows {
  readonly size: number;
  readonly ids: { get(slot: number): string };
  positionOf(slot: number): number;
  slotOfId(id: string): number;
}

/** The rows of `chunk`: its index, or its ranged stored index; null when it holds none. */
export function chunkRows(chunk: TailChunk): ChunkRows | null {
  return chunk.index ?? chunk.ranged ?? null;
}

type MutableChunk = { -readonly [K in keyof TailChunk]: TailChunk[K] };

/** The key of containers [start, end) in `StoredChunkIndexes`. */
export function chunkKey(start: number, end: number): string {
  return `${start}:${end}`;
}

/** A chunk `advance` would build: containers [start, end), its live documents (in no particular order). */
export interface ChunkJob {
  readonly start: number;
  readonly end: number;
  /** False for the open chunk (indexed without IVF lists). */
  readonly closed: boolean;
  readonly docs: StoredDocument[];
}

/** Indexes built elsewhere from `jobs()`'s documents (sorted by id), by chunkKey; `containers`: the fold's length at `jobs()`. */
export interface BuiltChunkIndexes {
  readonly containers: number;
  readonly indexes: ReadonlyMap<string, QueryIndex>;
}

/** Ids handled between event loop turns while `jobs()` collects documents (materializing one costs ~10 us). */
const JOB_SLICE = 1024;

/** Builds a chunk's index; `closed` says whether it is kept (and may carry IVF lists). */
export type ChunkIndexer = (docs: StoredDocument[], closed: boolean) => QueryIndex;

/** A closed chunk as planned: built already (`chunk`), or to index over its containers. */
interface Planned {
  readonly start: number;
  readonly end: number;
  readonly level: number;
  readonly chunk?: TailChunk;
}

export class TailChunks {
  /** The closed chunks, oldest first: their levels never increase. */
  closed: readonly TailChunk[] = [];
  /** Containers whose touched ids were applied to the closed chunks' exclusions. */
  #seen = 0;
  #openStart = 0;

  /** Documents indexed into chunks so far (closed, merged and open): what the versions cost. */
  indexedDocs = 0;
  /** Documents of chunks taken from `advance`'s stored indexes instead. */
  storedDocs = 0;
  /** False: `advance` (and `pending`, `jobs`) close chunks without merging full levels (see the header). */
  merges = true;

  constructor(
    readonly fold: TailFold,
    readonly indexer: ChunkIndexer,
    readonly limits: ChunkLimits,
  ) {}

  /** The closed chunks the next `advance` will index (not built yet), newest first. */
  pending(): PlannedChunk[] {
    const { plan } = this.#plan();
    const out: PlannedChunk[] = [];
    for (let p = plan.length - 1; p >= 0; p--) {
      if ((plan[p] as Planned).chunk !== undefined) continue;
      const { start, end, level } = plan[p] as Planned;
      let touched = 0;
      for (let c = start; c < end; c++) touched += this.fold.touchedCount(c);
      out.push({ start, end, level, touched });
    }
    return out;
  }

  /**
   * The most ids any chunk the next `advance` builds (a closed one not built yet and not `skip`ped, e.g. found
   * stored, or the open one) was touched by: a bound of its documents.
   */
  largestPending(skip: (start: number, end: number) => boolean = () => false): number {
    const { start } = this.#plan();
    let open = 0;
    for (let c = start; c < this.fold.identities.length; c++) open += this.fold.touchedCount(c);
    return this.pending().reduce((most, p) => (skip(p.start, p.end) ? most : Math.max(most, p.touched)), open);
  }

  /**
   * The chunks the next `advance` would build (the open chunk, then the closed ones not built yet, newest first)
   * with their live documents, except those `skip` names (e.g. found stored). Awaits `pause` every few
   * thousand ids, so a big tail is collected in bounded slices. The fold must not change until `advance`.
   */
  async jobs(pause: () => Promise<void>, skip: (start: number, end: number) => boolean = () => false): Promise<ChunkJob[]> {
    const fold = this.fold;
    const count = fold.identities.length;
    // The ids later containers touched supersede closed chunks' rows in `advance` first: this only reads them.
    const { plan, start } = this.#plan();
    const later = new Set<string>();
    const out: ChunkJob[] = [];
    let handled = 0;
    const collect = async (from: number, to: number, closed: boolean) => {
      const mine = new Set<string>();
      const docs: StoredDocument[] = [];
      // A skipped chunk's documents are not materialized (a stored chunk's are never decoded).
      const skipped = skip(from, to);
      for (let c = from; c < to; c++) {
        for (const id of fold.touched(c)) {
          if (++handled % JOB_SLICE === 0) await pause();
          if (later.has(id) || mine.has(id)) continue;
          mine.add(id);
          if (!skipped && fold.isLive(id)) docs.push(fold.doc(id) as StoredDocument);
        }
      }
      for (const id of mine) {
        if (++handled % JOB_SLICE === 0) await pause();
        later.add(id);
      }
      if (!skipped && docs.length > 0) out.push({ start: from, end: to, closed, docs });
    };
    await collect(start, count, false);
    // Only down to the oldest chunk to build: the ids of the ones before it matter to nothing collected here.
    let oldest = plan.length;
    for (let p = plan.length - 1; p >= 0; p--) {
      const planned = plan[p] as Planned;
      if (planned.chunk === undefined && !skip(planned.start, planned.end)) oldest = p;
    }
    for (let p = plan.length - 1; p >= oldest; p--) {
      const planned = plan[p] as Planned;
      if (planned.chunk === undefined) await collect(planned.start, planned.end, true);
      else {
        // A built chunk after a merge to build (deferred merges): its ids were touched after the merge's containers.
        for (let c = planned.start; c < planned.end; c++) {
          for (const id of fold.touched(c)) {
            if (++handled % JOB_SLICE === 0) await pause();
            later.add(id);
          }
        }
      }
    }
    return out;
  }

  /**
   * Brings the chunks up to the fold's containers (closing chunks as they
   * fill, merging full levels) and indexes the open chunk. The fold's PATCH
   * bases must be resolved. A closed chunk found in `stored` (and valid for
   * this fold, see the header) is taken from there; a rejected one is
   * reported to `onRejected` and built. Returns the open chunk (excluded is
   * always empty: nothing after it touched its ids). Awaits `pause` every
   * few thousand ids (`JOB_SLICE`), so the bookkeeping of a chunk of a
   * million documents does not block the event loop for long; nothing else
   * may use these chunks meanwhile (a namespace's builds run one at a time).
   */
  async advance(
    stored?: StoredChunkIndexes,
    onRejected?: (start: number, end: number, reason: string, corrupt: boolean) => void,
    built?: BuiltChunkIndexes,
    pause: () => Promise<void> = () => Promise.resolve(),
  ): Promise<TailChunk> {
    const fold = this.fold;
    const count = fold.identities.length;
    const ready = built !== undefined && built.containers === count ? built.indexes : undefined;
    const slices = new Slices(pause);
    // Later containers supersede what closed chunks hold: each id they touched looked up in every closed chunk
    // (a handful, O(log n)); a row already excluded stays so.
    const held = this.closed.map(chunkRows).filter((rows): rows is ChunkRows => rows !== null);
    for (let c = held.length === 0 ? count : this.#seen; c < count; c++) {
      for (const id of fold.touched(c)) {
        if (slices.due()) await slices.pause();
        let bytes: Uint8Array | undefined;
        this.closed.forEach((chunk) => {
          const rows = chunkRows(chunk);
          if (rows === null) return;
          const slot = rows instanceof RangedTailChunk ? rows.slotOfBytes((bytes ??= encoder.encode(id))) : rows.slotOfId(id);
          if (slot >= 0) chunk.excluded.add(rows.positionOf(slot));
        });
      }
    }
    this.#seen = count;
    const { plan, start } = this.#plan();
    // Index the open chunk, then the planned chunks not built yet, newest first, so each knows the ids touched
    // after it. Merges only take the newest chunks, so the unbuilt ones are the newest of the plan.
    const later = new LaterIds();
    const open = await this.#index(start, count, 0, later, false, slices, undefined, undefined, ready);
    const closed: TailChunk[] = new Array(plan.length);
    const firstUnbuilt = plan.findIndex((planned) => planned.chunk === undefined);
    for (let p = plan.length - 1; p >= 0; p--) {
      const planned = plan[p] as Planned;
      if (planned.chunk !== undefined) {
        closed[p] = planned.chunk;
        // A built chunk after a merge to build (deferred merges): its ids were touched after the merge's containers.
        if (firstUnbuilt >= 0 && p > firstUnbuilt) {
          for (let c = planned.start; c < planned.end; c++) {
            for (const id of fold.touched(c)) {
              if (slices.due()) await slices.pause();
              later.add(id);
            }
          }
        }
        continue;
      }
      const candidate = stored?.get(chunkKey(planned.start, planned.end));
      const chunk = await this.#index(planned.start, planned.end, planned.level, later, true, slices, candidate, onRejected, ready);
      closed[p] = chunk;
    }
    this.closed = closed;
    this.#openStart = start;
    return open;
  }

  /**
   * Replaces ranged `chunk`'s view by `index`, its object decoded whole, when `index` holds the same ids in the
   * same slots (its superseded slots become the index's positions). False when it does not (the caller rebuilds).
   */
  materialize(chunk: TailChunk, index: QueryIndex): boolean {
    const ranged = chunk.ranged;
    if (ranged === undefined) return true;
    if (index.size !== ranged.size) return false;
    for (let slot = 0; slot < index.size; slot++) if (index.ids.get(slot) !== ranged.ids.get(slot)) return false;
    const positions = [...chunk.excluded].map((slot) => index.positionOf(slot));
    const mutable = chunk as MutableChunk;
    chunk.excluded.clear();
    for (const position of positions) chunk.excluded.add(position);
    mutable.index = index;
    mutable.ranged = undefined;
    mutable.bytes = chunk.bytes - ranged.size * 96 + estimateIndexBytes(index);
    return true;
  }

  /**
   * Indexes ranged `chunk`'s live rows (those no later container superseded: exactly the chunk's documents, as
   * checked) from the fold, as `advance` would have built them: its stored object is damaged or gone.
   */
  rebuild(chunk: TailChunk): void {
    const ranged = chunk.ranged;
    if (ranged === undefined) return;
    const live: string[] = [];
    for (let slot = 0; slot < ranged.size; slot++) if (!chunk.excluded.has(slot)) live.push(ranged.ids.get(slot));
    live.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const docs = live.map((id) => {
      const doc = this.fold.doc(id);
      if (doc === null || doc === undefined) throw new Error(`unreachable: tail chunk row ${JSON.stringify(id)} is not live in the fold`);
      return doc;
    });
    const index = docs.length === 0 ? null : this.indexer(docs, true);
    this.indexedDocs += docs.length;
    this.storedDocs -= docs.length;
    // Its summary, for the object written again: the ids its containers and the later ones touched.
    const mine = new Set<string>();
    for (let c = chunk.start; c < chunk.end; c++) for (const id of this.fold.touched(c)) mine.add(id);
    const later = new Set<string>();
    for (let c = chunk.end; c < this.fold.identities.length; c++) for (const id of this.fold.touched(c)) if (mine.has(id)) later.add(id);
    const touched: number[] = [];
    for (let c = chunk.start; c < chunk.end; c++) touched.push(this.fold.touchedCount(c));
    const deleted: string[] = [];
    const superseded: string[] = [];
    for (const id of mine) {
      if (later.has(id)) superseded.push(id);
      else if (!this.fold.isLive(id)) deleted.push(id);
    }
    const mutable = chunk as MutableChunk;
    mutable.summary = { touched, deleted, superseded };
    chunk.excluded.clear();
    mutable.index = index;
    mutable.ranged = undefined;
    mutable.stored = false;
    mutable.bytes = chunk.bytes - ranged.size * 96 + (index === null ? 0 : estimateIndexBytes(index));
  }

  /** True when full levels of the closed chunks wait for a merge (closed while `merges` was false). */
  mergeDue(): boolean {
    const plan: Planned[] = [];
    for (const chunk of this.closed) {
      plan.push({ start: chunk.start, end: chunk.end, level: chunk.level, chunk });
      settle(plan, this.limits);
    }
    return plan.length !== this.closed.length;
  }

  /**
   * The closed chunks after the open range is cut into level-0 chunks and full levels merged (unless `merges` is
   * false; merges deferred before are made now), and where the open chunk starts.
   */
  #plan(): { plan: Planned[]; start: number } {
    const plan: Planned[] = [];
    for (const chunk of this.closed) {
      plan.push({ start: chunk.start, end: chunk.end, level: chunk.level, chunk });
      if (this.merges) settle(plan, this.limits);
    }
    const start = cutChunks(plan, this.#openStart, this.fold.identities.length, (c) => this.fold.touchedCount(c), this.limits, this.merges);
    return { plan, start };
  }

  /**
   * Indexes containers [start, end): their ids not in `later`, then adds them to `later`. A `candidate` index
   * valid for them is used instead of building one, else one `ready` (built from `jobs()`'s documents) of as many rows.
   */
  async #index(
    start: number,
    end: number,
    level: number,
    later: LaterIds,
    closed: boolean,
    slices: Slices,
    candidate?: QueryIndex | RangedTailChunk,
    onRejected?: (start: number, end: number, reason: string, corrupt: boolean) => void,
    ready?: ReadonlyMap<string, QueryIndex>,
  ): Promise<TailChunk> {
    const fold = this.fold;
    // The chunk's containers were folded from this very object's summary: its rows are the chunk's by construction.
    if (candidate instanceof RangedTailChunk && fold.summarizedBy(start, end)?.rows === candidate) {
      const chunk = await this.#fromSummary(start, end, level, candidate, later, slices);
      if (chunk !== undefined) return chunk;
    }
    const live: string[] = [];
    const mine = new Set<string>();
    let bytes = 0;
    for (let c = start; c < end; c++) {
      for (const id of fold.touched(c)) {
        if (slices.due()) await slices.pause();
        if (later.has(id) || mine.has(id)) continue;
        mine.add(id);
        if (!fold.isLive(id)) continue; // deleted (or a PATCH of a deleted id: no state)
        live.push(id);
        bytes += 64 + id.length * 2;
      }
    }
    if (candidate !== undefined && live.length > 0) {
      // Only the ids: the documents of a chunk read from storage are never decoded.
      const checked = await checkStored(candidate, live.length, mine, later, (id) => fold.isLive(id), slices);
      if (!("reason" in checked)) {
        for (const id of mine) {
          if (slices.due()) await slices.pause();
          later.add(id);
        }
        this.storedDocs += live.length;
        if (candidate instanceof RangedTailChunk) {
          return { start, end, level, index: null, ranged: candidate, excluded: checked, bytes: bytes + candidate.size * 96, stored: true };
        }
        return { start, end, level, index: candidate, excluded: checked, bytes: bytes + estimateIndexBytes(candidate), stored: true };
      }
      onRejected?.(start, end, checked.reason, checked.corrupt);
    }
    const summary = closed ? await this.#summary(start, end, mine, later, slices) : undefined;
    for (const id of mine) {
      if (slices.due()) await slices.pause();
      later.add(id);
    }
    const made = ready?.get(chunkKey(start, end));
    if (made !== undefined && made.size === live.length) {
      this.indexedDocs += live.length;
      return { start, end, level, index: made, excluded: new Set(), bytes: bytes + estimateIndexBytes(made), summary };
    }
    // Indexed in id order, so the same documents give the same index however the containers arrived.
    live.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // Materializing a document (lazy-upsert.ts) costs ~10 us: in slices, as `jobs()` collects them for a worker.
    const docs: StoredDocument[] = new Array(live.length);
    for (let i = 0; i < live.length; i++) {
      if (slices.due()) await slices.pause();
      docs[i] = fold.doc(live[i] as string) as StoredDocument;
    }
    const index = docs.length === 0 ? null : this.indexer(docs, closed);
    this.indexedDocs += docs.length;
    return { start, end, level, index, excluded: new Set(), bytes: bytes + (index === null ? 0 : estimateIndexBytes(index)), summary };
  }

  /**
   * Stored chunk `ranged` over containers [start, end), whose summary this fold applied for them: its rows are live
   * unless a later container touched them (excluded), so the checks of `checkStored` hold by construction, provided
   * every id it names superseded was touched later here too; undefined when one was not (the object was indexed
   * for a later version: the general path finds it unfit).
   */
  async #fromSummary(start: number, end: number, level: number, ranged: RangedTailChunk, later: LaterIds, slices: Slices): Promise<TailChunk | undefined> {
    const summary = ranged.summary as ChunkFoldSummary;
    for (const id of summary.superseded) if (!later.has(id)) return undefined;
    // Its rows later containers touched (a ranged chunk's positions are its slots): the ids touched after it looked
    // up in it, and the rows of the summarized chunks after it intersected with its own (never listed one by one).
    const excluded = new Set<number>();
    for (const id of later.ids) {
      if (slices.due()) await slices.pause();
      const slot = ranged.slotOfId(id);
      if (slot >= 0) excluded.add(slot);
    }
    for (const newer of later.chunks) {
      await slices.pause();
      for (const slot of ranged.slotsHeldBy(newer)) excluded.add(slot);
    }
    later.chunks.push(ranged);
    for (const id of summary.deleted) later.add(id);
    const live = ranged.size - excluded.size;
    this.storedDocs += live;
    return { start, end, level, index: null, ranged, excluded, bytes: live * 64 + ranged.idBytes * 2 + ranged.size * 96, stored: true };
  }

  /** The fold summary of containers [start, end), which touched `mine`; `later`: the ids later containers touched. */
  async #summary(start: number, end: number, mine: ReadonlySet<string>, later: IdTest, slices: Slices): Promise<ChunkFoldSummary> {
    const touched: number[] = [];
    for (let c = start; c < end; c++) touched.push(this.fold.touchedCount(c));
    const deleted: string[] = [];
    const superseded: string[] = [];
    for (const id of mine) {
      if (slices.due()) await slices.pause();
      if (later.has(id)) superseded.push(id);
      else if (!this.fold.isLive(id)) deleted.push(id);
    }
    return { touched, deleted, superseded };
  }
}

/**
 * Cuts containers [from, count) into level-0 chunks appended to `plan` (closed chunks, oldest first), merging full
 * levels as they appear; `countOf(c)`: the entries container c applied. Returns where the open chunk starts.
 */
function cutChunks(plan: Planned[], from: number, count: number, countOf: (c: number) => number, limits: ChunkLimits, merges = true): number {
  const push = (start: number, end: number) => {
    plan.push({ start, end, level: 0 });
    if (merges) settle(plan, limits);
  };
  let start = from;
  let touched = 0;
  for (let c = start; c < count; c++) {
    touched += countOf(c);
    if (touched >= limits.docs || c + 1 - start >= limits.containers) {
      push(start, c + 1);
      start = c + 1;
      touched = 0;
    }
  }
  return start;
}

/** Merges the newest `limits.fanout` chunks of `plan` while they are of one level. */
function settle(plan: Planned[], limits: ChunkLimits): void {
  const fanout = Math.max(2, Math.floor(limits.fanout));
  for (;;) {
    const n = plan.length;
    const newest = plan[n - 1] as Planned;
    if (n < fanout || (plan[n - fanout] as Planned).level !== newest.level) return;
    const first = plan[n - fanout] as Planned;
    plan.length = n - fanout;
    plan.push({ start: first.start, end: newest.end, level: newest.level + 1 });
  }
}

/**
 * The closed chunks a fresh fold of `count` containers would cut (oldest first), `countOf(c)` the entries
 * container c applies (an estimate, e.g. its row count, before the batches are read).
 */
export function plannedChunks(count: number, countOf: (c: number) => number, limits: ChunkLimits): PlannedChunk[] {
  const plan: Planned[] = [];
  cutChunks(plan, 0, count, countOf, limits);
  return plan.map(({ start, end, level }) => {
    let touched = 0;
    for (let c = start; c < end; c++) touched += countOf(c);
    return { start, end, level, touched };
  });
}

/**
 * Checks a stored index of a chunk against this fold: it must hold exactly
 * the chunk's `wanted` live documents (ids its containers touched, `mine`,
 * that no later container touched and that are not deleted), once each,
 * plus any rows of ids a later container touched (`later`): those are
 * returned as excluded positions. Otherwise the reason it cannot be used,
 * and whether no sound index of these containers could be like it
 * (`corrupt`): one indexed while more containers followed the chunk lacks
 * the rows they overwrote, which an older fold still needs (not corrupt).
 */
async function checkStored(
  index: ChunkRows,
  wanted: number,
  mine: ReadonlySet<string>,
  later: IdTest,
  isLive: (id: string) => boolean,
  slices: Slices,
): Promise<Set<number> | { reason: string; corrupt: boolean }> {
  const excluded = new Set<number>();
  const seen = new Set<string>();
  for (let slot = 0; slot < index.size; slot++) {
    if (slices.due()) await slices.pause();
    const id = index.ids.get(slot);
    if (seen.has(id)) return { reason: `it holds id ${JSON.stringify(id)} twice`, corrupt: true };
    seen.add(id);
    if (later.has(id)) excluded.add(index.positionOf(slot));
    else if (!mine.has(id)) return { reason: `it holds id ${JSON.stringify(id)} its containers did not write`, corrupt: true };
    else if (!isLive(id)) return { reason: `it holds id ${JSON.stringify(id)}, which its containers deleted`, corrupt: true };
  }
  // Every other row is one of the wanted documents, each once: as many rows as documents means all of them.
  const held = index.size - excluded.size;
  if (held !== wanted) return { reason: `it holds ${held} of the chunk's ${wanted} documents`, corrupt: held > wanted };
  return excluded;
}

/** A set of ids to test against. */
interface IdTest {
  has(id: string): boolean;
}

/**
 * The ids touched by the containers after the chunk `advance` is indexing (it walks the chunks newest first):
 * `ids` as strings (the open chunk's, built chunks', summaries' deleted ids), plus the rows of the summarized
 * chunks after it (`chunks`), held in their id buffers and looked up there.
 */
class LaterIds implements IdTest {
  readonly ids = new Set<string>();
  readonly chunks: RangedTailChunk[] = [];

  has(id: string): boolean {
    if (this.ids.has(id)) return true;
    if (this.chunks.length === 0) return false;
    const bytes = encoder.encode(id);
    return this.chunks.some((chunk) => chunk.slotOfBytes(bytes) >= 0);
  }

  add(id: string): void {
    this.ids.add(id);
  }
}

const encoder = new TextEncoder();

/** Counts steps of a long loop: `due()` every `JOB_SLICE` steps, when the loop awaits `pause`. */
class Slices {
  #steps = 0;
  constructor(readonly pause: () => Promise<void>) {}
  due(): boolean {
    return ++this.#steps % JOB_SLICE === 0;
  }
}

/** A rough size of an index's memory: vectors (raw and normalized) plus per-row overhead. */
function estimateIndexBytes(index: QueryIndex): number {
  return index.size * (index.dimension * 8 + 96);
}
