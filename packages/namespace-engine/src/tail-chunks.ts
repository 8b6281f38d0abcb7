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
 * Each id's current document lives in exactly one chunk: the one holding
 * the last container that touched it. A chunk indexes, at close, the ids
 * its containers touched and no later container touched (their current
 * documents; deleted ones are not indexed). When a later container touches
 * an id a closed chunk holds, that row is excluded from the chunk
 * (`excluded`, positions, only ever growing): the chunks are disjoint, so
 * no shadow masks are computed between them. Shadowing of the indexed
 * segments before the tail is the query snapshot's (newest wins), and the
 * tail's deleted ids are the caller's exclusions there.
 */
import type { StoredDocument } from "./document.ts";
import type { QueryIndex } from "./query/query-index.ts";
import type { TailFold } from "./query-tail.ts";

/** Where chunks are cut (engine settings `queryCache.tailChunkDocs` / `tailChunkContainers`). */
export interface ChunkLimits {
  /** A chunk closes once its containers touched this many ids... */
  readonly docs: number;
  /** ...or once it holds this many containers. */
  readonly containers: number;
}

export interface TailChunk {
  /** Containers [start, end) of the fold. */
  readonly start: number;
  readonly end: number;
  /** The chunk's live documents indexed, or null when it holds none. */
  readonly index: QueryIndex | null;
  /** Positions of `index` superseded by later containers (grows as the fold extends). */
  readonly excluded: Set<number>;
  readonly bytes: number;
}

/** Builds a chunk's index; `closed` says whether it is kept (and may carry IVF lists). */
export type ChunkIndexer = (docs: StoredDocument[], closed: boolean) => QueryIndex;

export class TailChunks {
  readonly closed: TailChunk[] = [];
  /** Which closed chunk holds each id's current document. */
  readonly #holder = new Map<string, number>();
  /** Containers whose touched ids were applied to the holders. */
  #seen = 0;
  #openStart = 0;

  /** Documents indexed into chunks so far (closed and open): what the versions cost. */
  indexedDocs = 0;

  constructor(
    readonly fold: TailFold,
    readonly indexer: ChunkIndexer,
    readonly limits: ChunkLimits,
  ) {}

  /**
   * Brings the chunks up to the fold's containers (closing chunks as they
   * fill) and indexes the open chunk. The fold's PATCH bases must be
   * resolved. Returns the open chunk (excluded is always empty: nothing
   * after it touched its ids).
   */
  advance(): TailChunk {
    const fold = this.fold;
    const count = fold.identities.length;
    // Later containers supersede what closed chunks hold.
    for (let c = this.#seen; c < count; c++) {
      for (const id of fold.touched(c)) {
        const h = this.#holder.get(id);
        if (h === undefined) continue;
        const chunk = this.closed[h] as TailChunk;
        const slot = chunk.index?.slotOfId(id) ?? -1;
        if (slot >= 0) chunk.excluded.add((chunk.index as QueryIndex).positionOf(slot));
        this.#holder.delete(id);
      }
    }
    this.#seen = count;
    // Cut the open range into chunks; index the closed ones newest first, so each knows the ids touched after it.
    const ranges: [number, number][] = [];
    let start = this.#openStart;
    let touched = 0;
    for (let c = start; c < count; c++) {
      touched += fold.touched(c).length;
      if (touched >= this.limits.docs || c + 1 - start >= this.limits.containers) {
        ranges.push([start, c + 1]);
        start = c + 1;
        touched = 0;
      }
    }
    const later = new Set<string>();
    const open = this.#index(start, count, later, false);
    const made: TailChunk[] = [];
    for (let r = ranges.length - 1; r >= 0; r--) {
      const [s, e] = ranges[r] as [number, number];
      made.push(this.#index(s, e, later, true));
    }
    made.reverse();
    for (const chunk of made) {
      const n = this.closed.length;
      this.closed.push(chunk);
      const index = chunk.index;
      if (index !== null) for (let slot = 0; slot < index.size; slot++) this.#holder.set(index.ids.get(slot), n);
    }
    this.#openStart = start;
    return open;
  }

  /** Indexes containers [start, end): their ids not in `later`, then adds them to `later`. */
  #index(start: number, end: number, later: Set<string>, closed: boolean): TailChunk {
    const docs: StoredDocument[] = [];
    const mine = new Set<string>();
    let bytes = 0;
    for (let c = start; c < end; c++) {
      for (const id of this.fold.touched(c)) {
        if (later.has(id) || mine.has(id)) continue;
        mine.add(id);
        const doc = this.fold.docs.get(id);
        if (doc === undefined || doc === null) continue; // deleted (or a PATCH of a deleted id: no state)
        docs.push(doc);
        bytes += 64 + id.length * 2;
      }
    }
    for (const id of mine) later.add(id);
    // Indexed in id order, so the same documents give the same index however the containers arrived.
    docs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const index = docs.length === 0 ? null : this.indexer(docs, closed);
    this.indexedDocs += docs.length;
    return { start, end, index, excluded: new Set(), bytes: bytes + (index === null ? 0 : estimateIndexBytes(index)) };
  }
}

/** A rough size of an index's memory: vectors (raw and normalized) plus per-row overhead. */
function estimateIndexBytes(index: QueryIndex): number {
  return index.size * (index.dimension * 8 + 96);
}
