/**
 * The materialized state of a namespace at one manifest version: every live
 * document with the location of its current row version.
 *
 * It is built by folding the manifest's containers in order: UPSERT
 * replaces a document, PATCH merges into it (a patch of a document that is
 * not there is skipped: it can only happen when a deletion by filter
 * tombstoned the row after the patch was checked, and then the delete wins),
 * DELETE removes it. A position hidden by the container's tombstone sidecar
 * (its deletion vector) removes the document at that point of the fold, so
 * a tombstoned current row deletes the document, while a later write of the
 * same id (not targeted by the tombstone) brings it back.
 *
 * Segment containers (compaction output, and the new rows of a predicate
 * UPDATE) hold whole documents: each row applies like an UPSERT. Rows of an
 * UPDATE segment at `masked` positions never apply (their document changed
 * between the mutation's snapshot and the segment's commit, and the newer
 * write wins); the row an UPDATE row replaces stays locatable.
 *
 * Containers are append-only between compactions, so a state at version v
 * advances to v' by applying only the containers v' added (`apply`). Each
 * row keeps its row id, container id and position, and `locateRows`
 * answers the wal-engine's `MutationTable.locateRows` from them: current
 * rows, tombstoned rows (so a replayed tombstone phase finds its bits set)
 * and rows replaced by an UPDATE segment (so the UPDATE tombstones them).
 * Rows superseded by ordinary writes are not located: a write that landed
 * after a predicate mutation's snapshot wins over it.
 */
import type { RowId } from "@skerry/wal-format";
import type { JsonObject, JsonValue, StoredDocument } from "../namespace/index.ts";
import type { LogEntry } from "../log/index.ts";
import { setOwn } from "@skerry/query";

/** Where the current row version of a document lives. */
export interface RowLocation {
  readonly rowId: RowId;
  readonly containerId: string;
  /** Index of the row (log entry) within its container. */
  readonly position: number;
}

interface StateRow extends RowLocation {
  readonly doc: StoredDocument;
  /** Estimated bytes this row keeps in memory. */
  readonly size: number;
}

const ROW_OVERHEAD = 160;

function jsonSize(value: unknown): number {
  if (typeof value === "string") return 16 + value.length * 2;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return 8;
  if (Array.isArray(value)) {
    let total = 16;
    for (const item of value) total += 8 + jsonSize(item);
    return total;
  }
  if (typeof value === "object") {
    let total = 32;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) total += 24 + key.length * 2 + jsonSize(item);
    return total;
  }
  return 8;
}

/** A rough estimate of the memory one document keeps (ids, vectors, text and attributes), for the cache's byte budget. */
export function estimateDocumentBytes(doc: StoredDocument): number {
  let total = ROW_OVERHEAD + doc.id.length * 2;
  if (doc.vector !== undefined) total += 64 + doc.vector.byteLength;
  if (doc.sparse !== undefined) total += 128 + doc.sparse.indices.byteLength + doc.sparse.values.byteLength;
  if (doc.text !== undefined) total += jsonSize(doc.text);
  if (doc.attributes !== undefined) total += jsonSize(doc.attributes);
  return total;
}

function mergeRecord<T>(base: Readonly<Record<string, T>> | undefined, changes: Readonly<Record<string, T | null>>): Record<string, T> | undefined {
  const out: Record<string, T> = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete out[key];
    else setOwn(out, key, value);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The document an UPSERT entry writes. */
export function upsertedDocument(entry: LogEntry): StoredDocument {
  const doc: {
    id: string;
    vector?: Float32Array;
    sparse?: { indices: Uint32Array; values: Float32Array };
    text?: Record<string, string>;
    attributes?: JsonObject;
  } = { id: entry.id };
  if (entry.vector !== undefined) doc.vector = entry.vector;
  if (entry.sparse !== undefined) doc.sparse = entry.sparse;
  if (entry.text !== undefined) doc.text = entry.text as Record<string, string>;
  if (entry.attributes !== undefined) doc.attributes = entry.attributes as JsonObject;
  return doc;
}

/** `current` with a PATCH entry merged in (null removes a field). */
export function patched(current: StoredDocument, entry: LogEntry): StoredDocument {
  const doc: {
    id: string;
    vector?: Float32Array;
    sparse?: { readonly indices: Uint32Array; readonly values: Float32Array };
    text?: Readonly<Record<string, string>>;
    attributes?: JsonObject;
  } = { ...current };
  if (entry.vectorCleared === true) delete doc.vector;
  if (entry.vector !== undefined) doc.vector = entry.vector;
  if (entry.sparseCleared === true) delete doc.sparse;
  if (entry.sparse !== undefined) doc.sparse = entry.sparse;
  if (entry.text !== undefined) {
    const text = mergeRecord<string>(current.text, entry.text);
    if (text === undefined) delete doc.text;
    else doc.text = text;
  }
  if (entry.attributes !== undefined) {
    const attributes = mergeRecord<JsonValue>(current.attributes, entry.attributes);
    if (attributes === undefined) delete doc.attributes;
    else doc.attributes = attributes;
  }
  return doc;
}

/** How a container's rows apply (see the module header). */
export interface ApplyOptions {
  /** Positions hidden by the container's tombstone sidecar. */
  readonly tombstoned?: ReadonlySet<number> | undefined;
  /** Positions of an UPDATE segment that never apply. */
  readonly masked?: ReadonlySet<number> | undefined;
  /** The container is an UPDATE segment: the rows it replaces stay locatable. */
  readonly replaces?: boolean | undefined;
}

export class NamespaceState {
  #version: number;
  readonly #containerIds: string[];
  readonly #rows: Map<string, StateRow>;
  /** Rows that are not current but can still be tombstoned: tombstoned ones and ones an UPDATE replaced. */
  readonly #locatable = new Map<bigint, RowLocation>();
  #sortedIds: string[] | undefined;
  #bytes = 0;

  private constructor(version: number, containerIds: string[], rows: Map<string, StateRow>) {
    this.#version = version;
    this.#containerIds = containerIds;
    this.#rows = rows;
  }

  /** The state before any container (an empty namespace). */
  static empty(): NamespaceState {
    return new NamespaceState(0, [], new Map());
  }

  /** Manifest version this state reflects. */
  get version(): number {
    return this.#version;
  }

  /** Fold identities of the folded containers (ids, plus tombstone refs where set), in fold order. */
  get containerIds(): readonly string[] {
    return this.#containerIds;
  }

  /** Estimated bytes the state keeps in memory (documents, row locations, container ids). */
  get estimatedBytes(): number {
    return this.#bytes + this.#locatable.size * 96 + this.#containerIds.length * 64;
  }

  /** Number of live documents. */
  get size(): number {
    return this.#rows.size;
  }

  has(id: string): boolean {
    return this.#rows.has(id);
  }

  get(id: string): StoredDocument | undefined {
    return this.#rows.get(id)?.doc;
  }

  /** Location of the current row version of `id`. */
  locate(id: string): RowLocation | undefined {
    const row = this.#rows.get(id);
    return row === undefined ? undefined : { rowId: row.rowId, containerId: row.containerId, position: row.position };
  }

  /** Locations of the given row ids (current, tombstoned or replaced by an UPDATE); absent ones are not found. */
  locateRows(rowIds: Iterable<bigint>): Map<bigint, RowLocation> {
    const wanted = new Set(rowIds);
    const out = new Map<bigint, RowLocation>();
    for (const id of wanted) {
      const location = this.#locatable.get(id);
      if (location !== undefined) out.set(id, location);
    }
    if (out.size < wanted.size) {
      for (const row of this.#rows.values()) {
        if (wanted.has(row.rowId)) out.set(row.rowId, { rowId: row.rowId, containerId: row.containerId, position: row.position });
      }
    }
    return out;
  }

  /** Live documents with their current row ids, in id order. */
  rowsInIdOrder(): { doc: StoredDocument; rowId: RowId }[] {
    return this.sortedIds().map((id) => {
      const row = this.#rows.get(id) as StateRow;
      return { doc: row.doc, rowId: row.rowId };
    });
  }

  /** Live document ids in ascending (UTF-16 code unit) order; cached until the next `apply`. */
  sortedIds(): readonly string[] {
    this.#sortedIds ??= [...this.#rows.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return this.#sortedIds;
  }

  /**
   * Folds one container's entries (see `ApplyOptions`); `identity` (default
   * the id) is what `isPrefixOf` compares.
   */
  apply(containerId: string, entries: readonly LogEntry[], options: ApplyOptions = {}, identity: string = containerId): void {
    const rows = this.#rows;
    const { tombstoned, masked, replaces } = options;
    for (let position = 0; position < entries.length; position++) {
      const entry = entries[position] as LogEntry;
      if (masked?.has(position) === true) continue;
      if (tombstoned?.has(position) === true || entry.op === "DELETE") {
        if (entry.op !== "DELETE" && entry.rowId !== undefined) this.#locatable.set(entry.rowId, { rowId: entry.rowId, containerId, position });
        const gone = rows.get(entry.id);
        if (gone !== undefined) {
          this.#bytes -= gone.size;
          rows.delete(entry.id);
        }
        continue;
      }
      const rowId = entry.rowId as RowId;
      if (entry.op === "UPSERT") {
        if (replaces === true) {
          const current = rows.get(entry.id);
          if (current !== undefined) {
            this.#locatable.set(current.rowId, { rowId: current.rowId, containerId: current.containerId, position: current.position });
          }
        }
        const doc = upsertedDocument(entry);
        const size = estimateDocumentBytes(doc);
        this.#bytes += size - (rows.get(entry.id)?.size ?? 0);
        rows.set(entry.id, { doc, rowId, containerId, position, size });
      } else {
        const current = rows.get(entry.id);
        if (current !== undefined) {
          const doc = patched(current.doc, entry);
          const size = estimateDocumentBytes(doc);
          this.#bytes += size - current.size;
          rows.set(entry.id, { doc, rowId, containerId, position, size });
        }
      }
    }
    this.#containerIds.push(identity);
    this.#sortedIds = undefined;
  }

  /** Marks the state as reflecting `version` (after applying its new containers). */
  advanceTo(version: number): void {
    this.#version = version;
  }

  /** True when this state's containers are the first of `containerIds` (fold identities), so it can catch up. */
  isPrefixOf(containerIds: readonly string[]): boolean {
    if (containerIds.length < this.#containerIds.length) return false;
    for (let i = 0; i < this.#containerIds.length; i++) if (containerIds[i] !== this.#containerIds[i]) return false;
    return true;
  }
}
