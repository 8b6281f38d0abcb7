/**
 * The query tail: the documents of a manifest's containers that have no
 * stored query index (log batches, predicate-UPDATE segments, segments
 * compacted without an index), folded on their own, without the indexed
 * segments before them.
 *
 * `TailFold` applies the tail containers in manifest order with the same
 * rules as NamespaceState (UPSERT replaces, PATCH merges, DELETE and a
 * tombstoned position delete, masked positions of an UPDATE segment never
 * apply) into `id -> document | null` (null: deleted in the tail). Folded
 * alone it is exact for every id it touched, except when a PATCH lands on
 * an id the tail has not written before: its base document lives in an
 * indexed segment. Those ids are reported in `needsBase` (until a later
 * UPSERT or DELETE of the id makes its base irrelevant), with their pending
 * PATCHes kept in order, and the caller resolves them: from the segments'
 * stored indexes by ranged reads (cold-tail-bases.ts, `resolveBase` applies
 * the pending patches), or from the namespace's full materialized state
 * (`resolve`: the state's document already holds the patches), which is
 * needed when the base holds text the patches keep (the index stores text
 * fields only as tokens).
 *
 * A fold advances: containers are append-only between compactions, so the
 * fold of version v extends to v' by applying only the containers v' added
 * (`isPrefixOf` on fold identities, as the state cache does).
 *
 * A log batch's UPSERTs are decoded when their document is first asked for
 * (`doc`, lazy-upsert.ts): a chunk whose index is read from storage needs
 * only its ids, so its documents are never decoded.
 *
 * A fold may also start from stored chunk summaries instead of log batches
 * (`applySummary`, chunk-fold-summary.ts): the containers a persisted chunk
 * covers are not read at all; their ids, counts and deletions come from the
 * chunk's `tail.json` and its index's ids, and their live documents are held
 * only as "in the chunk" (`doc` of one throws SummarizedFoldError: the
 * engine then folds the batches, namespace-query.ts). The chunk's rows are
 * not entered in the fold's maps: they stay in the chunk's id blocks
 * (ranged-tail-chunk.ts) and an id the maps do not hold is looked up there
 * (a binary search per summarized chunk), so applying a summary costs its
 * deleted and superseded ids, not its rows. Only `ids()` and `touched()` of
 * a summarized container list them (decoded then).
 *
 * Errors: those of container-loader.ts (`CorruptError`, `StorageFailureError`).
 */
import type { ContainerRef } from "@skerry/wal-format";
import { estimateDocumentBytes, type LoadDependencies, type LoadedContainer, loadFoldContainer, patched } from "../state/index.ts";
import { maskedPositions, sidecarForRead } from "../manifest/index.ts";
import type { StoredDocument } from "../namespace/index.ts";
import { type FoldEntry, isLazy, type LazyUpsert, type LogEntry, materialize } from "../log/index.ts";
import type { ChunkFoldSummary } from "./chunk-fold-summary.ts";
import { SummarizedFoldError } from "./summarized-fold-error.ts";

const FETCH_CONCURRENCY = 8;
/** Entries applied to a fold between event loop turns (at container boundaries). */
const APPLY_SLICE = 4096;

/** What a folded container's contribution depends on (the state cache's rule): id, deletion vector key, extra fields. */
export function foldIdentity(ref: ContainerRef): string {
  const extra = ref.extra === undefined ? "" : JSON.stringify(ref.extra);
  return ref.tombstonesKey === undefined && extra === "" ? ref.id : `${ref.id}|${ref.tombstonesKey ?? ""}|${extra}`;
}

function upserted(entry: LogEntry): StoredDocument {
  return {
    id: entry.id,
    ...(entry.vector === undefined ? {} : { vector: entry.vector }),
    ...(entry.sparse === undefined ? {} : { sparse: entry.sparse }),
    ...(entry.text === undefined ? {} : { text: entry.text as Record<string, string> }),
    ...(entry.attributes === undefined ? {} : { attributes: entry.attributes as NonNullable<StoredDocument["attributes"]> }),
  };
}

/** A live document a summarized chunk holds (its index's row; never decoded here). */
const IN_CHUNK: unique symbol = Symbol("in stored chunk");
type Held = StoredDocument | LazyUpsert | typeof IN_CHUNK | null;

/** The rows of a summarized chunk as the fold needs them: looked up by id, listed only on demand. */
export interface SummaryRows extends Iterable<string> {
  readonly size: number;
  slotOfId(id: string): number;
  /** The slot of the id whose UTF-8 bytes are `id`, -1 when not held. */
  slotOfBytes(id: Uint8Array): number;
}

const encoder = new TextEncoder();

/** A stored chunk applied from its summary (`applySummary`): containers [start, end). */
interface Summarized {
  readonly start: number;
  readonly end: number;
  readonly rows: SummaryRows;
  readonly summary: ChunkFoldSummary;
  readonly superseded: ReadonlySet<string>;
}

export class TailFold {
  readonly #identities: string[] = [];
  /**
   * Touched ids: the current document (an UPSERT not decoded yet: `doc` decodes it), or null when deleted in the
   * tail. Not the rows of summarized chunks (`#summaries`), unless a batch after them touched the id again.
   */
  readonly #docs = new Map<string, Held>();
  /** Ids a PATCH reached before the tail wrote them (their base may be in an indexed segment). */
  readonly needsBase = new Set<string>();
  /** The PATCHes of each id in `needsBase`, in order: applied to its base by `resolveBase`. */
  readonly #pending = new Map<string, LogEntry[]>();
  /** Ids whose current state is deleted (`docs` holds null, or a summary deleted it and no batch touched it since). */
  readonly deleted = new Set<string>();
  /** The first container (index into `identities`) that touched each id: the ids of an earlier version are those below its container count. */
  readonly #firstTouch = new Map<string, number>();
  /** The ids each container touched, in container order (tail-chunks.ts partitions the tail by them); undefined: a summarized chunk's first container, listed on demand. */
  readonly #touched: (string[] | undefined)[] = [];
  /** How many entries each container applied (its `#touched` length, or a summary's count). */
  readonly #counts: number[] = [];
  /** Containers applied from stored chunk summaries (their batches never read). */
  summarizedContainers = 0;
  /** The summarized chunks, oldest first. */
  readonly #summaries: Summarized[] = [];

  get identities(): readonly string[] {
    return this.#identities;
  }

  /** Every id the fold touched (live or deleted), each once; a summarized chunk's rows decoded as they are listed. */
  *ids(): IterableIterator<string> {
    yield* this.#docs.keys();
    if (this.#summaries.length === 0) return;
    const seen = new Set<string>();
    const fresh = (id: string): boolean => {
      if (this.#docs.has(id) || seen.has(id)) return false;
      seen.add(id);
      return true;
    };
    for (const id of this.deleted) if (fresh(id)) yield id;
    for (const s of this.#summaries) {
      for (const id of s.rows) if (fresh(id)) yield id;
      for (const id of s.superseded) if (fresh(id)) yield id;
    }
  }

  /** True when a summarized chunk holds `id` as a row or as superseded (its state: in the chunk). */
  #inChunks(id: string): boolean {
    let bytes: Uint8Array | undefined;
    for (const s of this.#summaries) {
      if (s.superseded.has(id)) return true;
      if (s.rows.slotOfBytes((bytes ??= encoder.encode(id))) >= 0) return true;
    }
    return false;
  }

  /** The state of `id`: the maps', else the summarized chunks' (deleted, or in a chunk); undefined when not touched. */
  #held(id: string): Held | undefined {
    const held = this.#docs.get(id);
    if (held !== undefined || this.#summaries.length === 0) return held;
    if (this.deleted.has(id)) return null;
    return this.#inChunks(id) ? IN_CHUNK : undefined;
  }

  /** True when the fold touched `id` (live or deleted). */
  #has(id: string): boolean {
    return this.#docs.has(id) || (this.#summaries.length > 0 && (this.deleted.has(id) || this.#inChunks(id)));
  }

  /** True when the fold touched `id` and its current state is a document (not deleted). */
  isLive(id: string): boolean {
    return !this.deleted.has(id) && this.#has(id);
  }

  /** The current document of `id` (decoded now if it was not yet), null when deleted, undefined when not touched. */
  doc(id: string): StoredDocument | null | undefined {
    const held = this.#held(id);
    if (held === IN_CHUNK) throw new SummarizedFoldError(id);
    if (held === undefined || held === null || !isLazy(held as FoldEntry)) return held as StoredDocument | null | undefined;
    const doc = upserted(materialize(held as LazyUpsert));
    this.#docs.set(id, doc);
    return doc;
  }

  /**
   * The ids container `i` touched (an id may repeat). Of a summarized chunk, the first container lists every id
   * the chunk touched (once, decoded now from its rows and summary) and the others none: read them by whole chunks.
   */
  touched(i: number): readonly string[] {
    const touched = this.#touched[i];
    if (touched !== undefined || i >= this.#touched.length) return touched ?? [];
    const s = this.#summaries.find((x) => x.start === i) as Summarized;
    const ids = [...s.rows, ...s.summary.superseded, ...s.summary.deleted];
    this.#touched[i] = ids;
    return ids;
  }

  /** How many entries container `i` applied (where chunks are cut, tail-chunks.ts). */
  touchedCount(i: number): number {
    return this.#counts[i] ?? 0;
  }

  /**
   * Applies a stored chunk's containers from its summary instead of their log batches: `identities` (the chunk's
   * containers, following this fold's), `rows` (its index's ids: live at the chunk's end, documents not held
   * here; looked up, not copied) and `summary` (counts, deleted and superseded ids). Only before any batch is
   * folded past them.
   */
  applySummary(identities: readonly string[], rows: SummaryRows, summary: ChunkFoldSummary): void {
    // Summaries come first in a fold (no batch folded before them): nothing waits for a base, no map holds a row.
    if (this.needsBase.size > 0 || this.#docs.size > 0) throw new Error("unreachable: a fold summary applied after a batch");
    const start = this.#identities.length;
    const superseded = new Set(summary.superseded);
    // Ids earlier chunks deleted that this one touches again (a row, or superseded: both in the chunk) are not deleted.
    for (const id of this.deleted) if (superseded.has(id) || rows.slotOfId(id) >= 0) this.deleted.delete(id);
    for (const id of summary.deleted) this.deleted.add(id);
    identities.forEach((identity, i) => {
      this.#identities.push(identity);
      this.#touched.push(i === 0 ? undefined : []);
      this.#counts.push(summary.touched[i] as number);
    });
    this.summarizedContainers += identities.length;
    this.#summaries.push({ start, end: start + identities.length, rows, summary, superseded });
  }

  /** The rows and summary containers [start, end) were applied from (`applySummary`), if they were. */
  summarizedBy(start: number, end: number): { readonly rows: object; readonly summary: ChunkFoldSummary } | undefined {
    return this.#summaries.find((s) => s.start === start && s.end === end);
  }

  /** True when the fold's first `containers` containers touched `id`. */
  heldWithin(id: string, containers: number): boolean {
    const first = this.#firstTouch.get(id);
    // No entry: a summarized chunk's id, touched before every batch (or never touched).
    return first !== undefined ? first < containers : containers >= this.summarizedContainers && this.#has(id);
  }

  /** Sets an id's document (a PATCH base resolved from the materialized state: the patches are in it). */
  resolve(id: string, doc: StoredDocument | null): void {
    this.#docs.set(id, doc);
    if (doc === null) this.deleted.add(id);
    else this.deleted.delete(id);
    this.needsBase.delete(id);
    this.#pending.delete(id);
  }

  /** The text fields the pending PATCHes of `id` (in `needsBase`) set or remove. */
  pendingTextFields(id: string): Set<string> {
    const out = new Set<string>();
    for (const entry of this.#pending.get(id) ?? []) for (const field of Object.keys(entry.text ?? {})) out.add(field);
    return out;
  }

  /**
   * Resolves an id of `needsBase` from its base document as the indexed segments hold it (null: none, so its
   * patches apply to nothing, as the materialized state skips them): its pending PATCHes applied in order.
   */
  resolveBase(id: string, base: StoredDocument | null): void {
    let doc = base;
    if (doc !== null) for (const entry of this.#pending.get(id) ?? []) doc = patched(doc, entry);
    this.resolve(id, doc);
  }

  /** True when this fold's containers are the first of `identities`. */
  isPrefixOf(identities: readonly string[]): boolean {
    if (identities.length < this.#identities.length) return false;
    for (let i = 0; i < this.#identities.length; i++) if (identities[i] !== this.#identities[i]) return false;
    return true;
  }

  /** Loads `refs` (8 at a time) and applies them in order. */
  async extend(deps: LoadDependencies, refs: readonly ContainerRef[]): Promise<void> {
    const loaded: LoadedContainer<FoldEntry>[] = new Array(refs.length);
    let next = 0;
    const worker = async () => {
      while (next < refs.length) {
        const i = next++;
        const ref = refs[i] as ContainerRef;
        loaded[i] = await loadFoldContainer(deps, ref, sidecarForRead(ref), nextTurn);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, refs.length) }, worker));
    // Applied in order, yielding to the event loop between containers once a few thousand entries were applied
    // (a large tail is millions of entries; nobody reads the fold until `extend` resolves).
    let applied = 0;
    for (let i = 0; i < refs.length; i++) {
      if (applied >= APPLY_SLICE) {
        applied = 0;
        await nextTurn();
      }
      const item = loaded[i] as LoadedContainer<FoldEntry>;
      this.#apply(refs[i] as ContainerRef, item);
      applied += item.entries.length;
    }
  }

  #apply(ref: ContainerRef, item: LoadedContainer<FoldEntry>): void {
    const masked = maskedPositions(ref);
    const { tombstoned } = item;
    const docs = this.#docs;
    const { deleted } = this;
    const container = this.#identities.length;
    const touched: string[] = [];
    const touch = (id: string) => {
      touched.push(id);
      // A summarized chunk's ids hold no entry (`heldWithin`): they are in `#docs` since before any batch.
      if (!this.#firstTouch.has(id) && (this.summarizedContainers === 0 || !summarizedBefore(id))) this.#firstTouch.set(id, container);
    };
    // Whether `id` was in the fold before this container (checked before the entry changes `#docs`).
    const before = new Set<string>();
    const summarizedBefore = (id: string) => before.has(id);
    item.entries.forEach((entry, position) => {
      if (masked?.has(position) === true) return;
      if (this.summarizedContainers > 0 && !this.#firstTouch.has(entry.id) && this.#has(entry.id)) before.add(entry.id);
      if (entry.op === "DELETE" || tombstoned?.has(position) === true) {
        docs.set(entry.id, null);
        deleted.add(entry.id);
        this.#baseless(entry.id);
        touch(entry.id);
        return;
      }
      if (entry.op === "UPSERT") {
        docs.set(entry.id, isLazy(entry) ? entry : upserted(entry));
        deleted.delete(entry.id);
        this.#baseless(entry.id);
        touch(entry.id);
        return;
      }
      const current = this.doc(entry.id);
      if (current === undefined) {
        this.needsBase.add(entry.id);
        let patches = this.#pending.get(entry.id);
        if (patches === undefined) this.#pending.set(entry.id, (patches = []));
        patches.push(entry as LogEntry);
      } else if (current !== null) docs.set(entry.id, patched(current, entry as LogEntry));
      // null: deleted earlier in the tail, so the full fold skips this patch too.
      if (current !== null) touch(entry.id);
    });
    this.#identities.push(foldIdentity(ref));
    this.#touched.push(touched);
    this.#counts.push(touched.length);
  }

  /** A whole write of `id` (UPSERT or DELETE): whatever its base was no longer matters. */
  #baseless(id: string): void {
    if (!this.needsBase.delete(id)) return;
    this.#pending.delete(id);
  }

  /** Estimated bytes of the fold's documents. */
  estimatedBytes(): number {
    let total = 0;
    for (const doc of this.#docs.values()) total += doc === null || doc === IN_CHUNK ? 64 : isLazy(doc as FoldEntry) ? 64 + (doc as LazyUpsert).payload.length : estimateDocumentBytes(doc as StoredDocument);
    // A summarized chunk's rows stay in its id buffers (counted with the chunk).
    for (const s of this.#summaries) total += 64 * s.superseded.size;
    for (const id of this.deleted) if (!this.#docs.has(id)) total += 64;
    return total;
  }
}

/** A turn of the event loop (what the fold's long loops await between slices). */
function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
