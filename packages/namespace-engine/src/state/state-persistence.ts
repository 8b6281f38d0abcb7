/**
 * StatePersistence: materialized namespace states kept in a local
 * directory (engine option `stateDir`), so a restarted process warms a
 * namespace from one local file plus the containers committed since,
 * instead of re-reading every object.
 *
 * One file per namespace, `<stateDir>/<org>/<project>/<namespace>.skstate`
 * (a branch and its source are different names, so different files), a
 * wal-format framed log whose header's `base_revision` is the manifest
 * version of the snapshot. Entry payloads start with a record kind (u8;
 * integers little-endian):
 *
 *     1 HEAD       JSON {format_version: 2, namespace, incarnation, version,
 *                  containers: [[id, fold identity], ...] in fold order,
 *                  fingerprint (BLAKE3 of the identities), rows, locatable}
 *     2 ROWS       u32 n, then n x (u32 container index, u32 position,
 *                  u32 length, log entry: an UPSERT of the whole live
 *                  document with its row id; log-entry.ts)
 *     3 LOCATABLE  u32 n, then n x (16-byte row id, u32 container index,
 *                  u32 position): rows that are not current but can still
 *                  be tombstoned (tombstoned rows, rows an UPDATE replaced)
 *     4 END        u32 rows, u32 locatable: the snapshot is complete
 *     5 INCREMENT  u32 j, JSON {from, version, fingerprint, containers:
 *                  [{id, identity, entries, tombstoned, masked, replaces}]}
 *                  then per container its tombstoned and masked positions
 *                  (u32 each) and its log entries (u32 length + payload):
 *                  exactly what the fold applied to go from `from` to
 *                  `version` (one entry per advance, so an advance is
 *                  all-or-nothing under the framed log's CRC).
 *
 * Writing: a cached state that advances incrementally (a read after
 * commits) appends one INCREMENT; a full fold (compaction, tombstone
 * publish, first build) or every `snapshotEvery` increments (default 64),
 * or increments larger than the snapshot (and 4 MiB), rewrite the file: a
 * temporary file is written and fdatasync'd, then renamed over (and the
 * directory synced). Appends go through one per-namespace queue; appends
 * queued while one is in flight are written together with one fdatasync.
 * All of this runs in the background: reads never wait for the disk, and a
 * failed write only drops the file (the cache is the source of truth in
 * memory, storage in general).
 *
 * Loading (a cache miss, e.g. `warm` / `start` after a restart): the file
 * is read; a torn tail (a crash mid-append) ends it at the last complete
 * increment and is truncated away; anything else that does not check out
 * (bad header, an unreadable or incomplete snapshot, records out of chain,
 * another namespace or incarnation, a fingerprint that does not match the
 * manifest of the file's version, that version no longer retained) deletes
 * the file and the cache folds from storage. A verified state then advances
 * like any cached state: only containers appended since are fetched.
 * Persisted states are never trusted over storage: the file's version must
 * be a stored, live manifest of the same incarnation with the same fold
 * identities (container ids, tombstone snapshots, extras).
 *
 * Which namespaces: those warmed (`warm`, `pin`, `start`) by this engine,
 * and any whose file was loaded. The file is removed when the cache
 * invalidates the namespace (delete, re-create, branch/copy onto the name).
 * One engine per directory: files are not locked against other processes.
 */
import { mkdir, open, readFile, rename, rm, truncate } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import {
  contentHash,
  encodeFramedLogEntry,
  encodeFramedLogHeader,
  type Manifest,
  readFramedLog,
  readIdBytes,
  type RowId,
  rowId,
  writeIdBytes,
  parseExact,
  stringifyExact,
} from "@skerry/wal-format";
import { incarnationOf } from "../manifest/index.ts";
import type { JsonValue, StoredDocument } from "../namespace/index.ts";
import { decodeLogEntry, encodeLogEntries, type LogEntry } from "../log/index.ts";
import { formatNamespacePath, type NamespacePath } from "../core/index.ts";
import { type ApplyOptions, NamespaceState, type RowLocation } from "./namespace-state.ts";
import { type FoldedContainer, foldIdentity, type StateCacheObserver, type StateDelta } from "./state-cache.ts";

export const STATE_FILE_SUFFIX = ".skstate";
/** 2: ROWS records are exact JSON (bigint attribute values); a file of format 1 is doubted (rebuilt from storage). */
const FORMAT_VERSION = 2;
const K_HEAD = 1;
const K_ROWS = 2;
const K_LOCATABLE = 3;
const K_END = 4;
const K_INCREMENT = 5;
const ROWS_PER_CHUNK = 2_000;
/** Largest increment appended; a larger advance rewrites the snapshot instead. */
const MAX_INCREMENT_BYTES = 32 * 1024 * 1024;
const MIN_REWRITE_BYTES = 4 * 1024 * 1024;
/** Positions above this in a file are doubt (no container is that long). */
const MAX_POSITION = 1 << 28;

export interface StatePersistenceSettings {
  /** Increments appended to a file before its snapshot is rewritten; default 64. */
  readonly snapshotEvery: number;
}

export const DEFAULT_STATE_PERSISTENCE: StatePersistenceSettings = { snapshotEvery: 64 };

export interface StatePersistenceStats {
  /** States loaded from files (verified). */
  readonly restored: number;
  /** Files deleted because they did not check out (corrupt, stale, another incarnation). */
  readonly discarded: number;
  /** Torn tails cut off while loading. */
  readonly tornTails: number;
  readonly snapshotsWritten: number;
  readonly incrementsAppended: number;
  /** fdatasync calls of appends (several increments may share one). */
  readonly appendSyncs: number;
  /** Background write failures (the file is dropped). */
  readonly writeErrors: number;
  /** Why the last file was discarded. */
  readonly lastDiscardReason: string | undefined;
}

interface FileState {
  /** Bumped by `forget`: queued work of an older generation is dropped. */
  generation: number;
  /** The chain as it will be once queued work is done (undefined: no usable file). */
  logical: { incarnation: string; version: number; increments: number; incrementBytes: number; snapshotBytes: number } | undefined;
  queue: Promise<void>;
  /** Frames waiting for the append queued last (undefined once it has started). */
  openBatch: Uint8Array[] | undefined;
}

interface CapturedSnapshot {
  readonly namespace: string;
  readonly incarnation: string;
  readonly version: number;
  readonly containers: readonly (readonly [string, string])[];
  readonly docs: readonly StoredDocument[];
  readonly locations: readonly RowLocation[];
  readonly locatable: readonly RowLocation[];
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

class Doubt extends Error {}

function fingerprint(identities: readonly string[]): string {
  return contentHash(utf8.encode(JSON.stringify(identities)));
}

function jsonRecord(kind: number, value: unknown): Uint8Array {
  const json = utf8.encode(JSON.stringify(value));
  const out = new Uint8Array(1 + json.length);
  out[0] = kind;
  out.set(json, 1);
  return out;
}

function parseJson(bytes: Uint8Array): Record<string, unknown> {
  const value: unknown = JSON.parse(utf8Decoder.decode(bytes));
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Doubt("record JSON is not an object");
  return value as Record<string, unknown>;
}

/** Sequential little-endian reader that throws Doubt past the end. */
class Cursor {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  at: number;
  constructor(bytes: Uint8Array, at: number) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = at;
  }
  u32(): number {
    if (this.at + 4 > this.#bytes.length) throw new Doubt("record truncated");
    const value = this.#view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }
  take(n: number): Uint8Array {
    if (this.at + n > this.#bytes.length) throw new Doubt("record truncated");
    const out = this.#bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  get done(): boolean {
    return this.at === this.#bytes.length;
  }
}

/**
 * A ROWS record, column-wise (one JSON.parse and one vector copy per chunk
 * instead of one decode per row): kind, u32 n, u32 j, JSON of n rows
 * `[id, container index, position, vector dimension, text|null,
 * attributes|null, sparse [indices, values]|null]`, then n 16-byte row ids,
 * then the vectors' float32s back to back (little-endian).
 */
function encodeRows(docs: readonly StoredDocument[], locations: readonly RowLocation[], indexOf: (containerId: string) => number): Uint8Array {
  let floats = 0;
  const meta = docs.map((doc, i) => {
    const location = locations[i] as RowLocation;
    const dim = doc.vector?.length ?? 0;
    floats += dim;
    const sparse = doc.sparse === undefined ? null : [[...doc.sparse.indices], [...doc.sparse.values]];
    return [doc.id, indexOf(location.containerId), location.position, dim, doc.text ?? null, doc.attributes ?? null, sparse];
  });
  const json = utf8.encode(stringifyExact(meta));
  const out = new Uint8Array(9 + json.length + docs.length * 16 + floats * 4);
  const view = new DataView(out.buffer);
  out[0] = K_ROWS;
  view.setUint32(1, docs.length, true);
  view.setUint32(5, json.length, true);
  out.set(json, 9);
  let at = 9 + json.length;
  for (const location of locations) {
    writeIdBytes(location.rowId, out, at);
    at += 16;
  }
  for (const doc of docs) {
    const vector = doc.vector;
    if (vector === undefined) continue;
    for (let d = 0; d < vector.length; d++, at += 4) view.setFloat32(at, vector[d] as number, true);
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decodeRows(cursor: Cursor): { container: number; position: number; entry: LogEntry }[] {
  const n = cursor.u32();
  const meta: unknown = parseExact(utf8Decoder.decode(cursor.take(cursor.u32())));
  if (!Array.isArray(meta) || meta.length !== n) throw new Doubt("rows record malformed");
  const ids = cursor.take(n * 16);
  let floats = 0;
  for (const row of meta as unknown[][]) {
    if (!Array.isArray(row) || row.length !== 7 || typeof row[0] !== "string" || row[0] === "") throw new Doubt("row malformed");
    if (![row[1], row[2], row[3]].every((v) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_POSITION)) throw new Doubt("row malformed");
    floats += row[3] as number;
  }
  const raw = cursor.take(floats * 4);
  // One copy per chunk (aligned, little-endian); each vector is a view into it.
  let vectors: Float32Array;
  if (LITTLE_ENDIAN) vectors = new Float32Array(raw.slice().buffer);
  else {
    vectors = new Float32Array(floats);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < floats; i++) vectors[i] = view.getFloat32(i * 4, true);
  }
  const out: { container: number; position: number; entry: LogEntry }[] = new Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const [id, container, position, dim, text, attributes, sparse] = (meta as unknown[][])[i] as [string, number, number, number, unknown, unknown, unknown];
    const entry: {
      op: "UPSERT";
      id: string;
      rowId: RowId;
      vector?: Float32Array;
      sparse?: { indices: Uint32Array; values: Float32Array };
      text?: Record<string, string>;
      attributes?: Record<string, JsonValue>;
    } = { op: "UPSERT", id, rowId: rowId(readIdBytes(ids, i * 16)) };
    if (dim > 0) {
      entry.vector = vectors.subarray(at, at + dim);
      at += dim;
    }
    if (text !== null) {
      if (typeof text !== "object" || Array.isArray(text)) throw new Doubt("row text malformed");
      entry.text = text as Record<string, string>;
    }
    if (attributes !== null) {
      if (typeof attributes !== "object" || Array.isArray(attributes)) throw new Doubt("row attributes malformed");
      entry.attributes = attributes as Record<string, JsonValue>;
    }
    if (sparse !== null) {
      const [indices, values] = sparse as [unknown, unknown];
      if (!Array.isArray(indices) || !Array.isArray(values) || indices.length !== values.length) throw new Doubt("row sparse malformed");
      entry.sparse = { indices: Uint32Array.from(indices as number[]), values: Float32Array.from(values as number[]) };
    }
    out[i] = { container, position, entry };
  }
  return out;
}

/**
 * What `NamespaceState.apply` adds to the state's locatable rows (not
 * current, still tombstonable) when it folds `container` into `state`:
 * the same walk as `apply`, reading the rows it replaces before it runs.
 */
export function trackLocatable(locatable: Map<bigint, RowLocation>, state: NamespaceState, container: FoldedContainer): void {
  const { id: containerId, entries, options } = container;
  const { tombstoned, masked, replaces } = options;
  if (replaces !== true) {
    if (tombstoned === undefined) return;
    for (const position of tombstoned) {
      if (position >= entries.length || masked?.has(position) === true) continue;
      const entry = entries[position] as LogEntry;
      if (entry.op !== "DELETE" && entry.rowId !== undefined) locatable.set(entry.rowId, { rowId: entry.rowId, containerId, position });
    }
    return;
  }
  const overlay = new Map<string, RowLocation | null>();
  const current = (id: string) => (overlay.has(id) ? (overlay.get(id) ?? undefined) : state.locate(id));
  for (let position = 0; position < entries.length; position++) {
    const entry = entries[position] as LogEntry;
    if (masked?.has(position) === true) continue;
    if (tombstoned?.has(position) === true || entry.op === "DELETE") {
      if (entry.op !== "DELETE" && entry.rowId !== undefined) locatable.set(entry.rowId, { rowId: entry.rowId, containerId, position });
      overlay.set(entry.id, null);
      continue;
    }
    const here: RowLocation = { rowId: entry.rowId as RowId, containerId, position };
    if (entry.op === "UPSERT") {
      const replaced = current(entry.id);
      if (replaced !== undefined) locatable.set(replaced.rowId, replaced);
      overlay.set(entry.id, here);
    } else if (current(entry.id) !== undefined) {
      overlay.set(entry.id, here);
    }
  }
}

function encodeIncrement(from: number, version: number, identities: readonly string[], containers: readonly FoldedContainer[]): Uint8Array {
  const meta = {
    from,
    version,
    fingerprint: fingerprint(identities),
    containers: containers.map((c) => ({
      id: c.id,
      identity: c.identity,
      entries: c.entries.length,
      tombstoned: c.options.tombstoned?.size ?? 0,
      masked: c.options.masked?.size ?? 0,
      replaces: c.options.replaces === true,
    })),
  };
  const json = utf8.encode(JSON.stringify(meta));
  const parts: Uint8Array[] = [];
  let total = 5 + json.length;
  for (const c of containers) {
    const positions = [...(c.options.tombstoned ?? []), ...(c.options.masked ?? [])];
    const block = new Uint8Array(positions.length * 4);
    const view = new DataView(block.buffer);
    for (let i = 0; i < positions.length; i++) view.setUint32(i * 4, positions[i] as number, true);
    parts.push(block);
    total += block.length;
    for (const payload of encodeLogEntries(c.entries)) {
      const length = new Uint8Array(4);
      new DataView(length.buffer).setUint32(0, payload.length, true);
      parts.push(length, payload);
      total += 4 + payload.length;
    }
  }
  const out = new Uint8Array(total);
  out[0] = K_INCREMENT;
  new DataView(out.buffer).setUint32(1, json.length, true);
  out.set(json, 5);
  let at = 5 + json.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

interface DecodedIncrement {
  readonly from: number;
  readonly version: number;
  readonly fingerprint: string;
  readonly containers: FoldedContainer[];
}

function decodeIncrement(payload: Uint8Array, file: string): DecodedIncrement {
  const cursor = new Cursor(payload, 1);
  const meta = parseJson(cursor.take(cursor.u32()));
  const { from, version, fingerprint: fp, containers } = meta as { from?: unknown; version?: unknown; fingerprint?: unknown; containers?: unknown };
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(version) || typeof fp !== "string" || !Array.isArray(containers)) {
    throw new Doubt("increment header does not match format 1");
  }
  const out: FoldedContainer[] = [];
  for (const raw of containers as Record<string, unknown>[]) {
    const { id, identity, entries, tombstoned, masked, replaces } = raw ?? {};
    if (typeof id !== "string" || typeof identity !== "string" || typeof replaces !== "boolean") throw new Doubt("increment container malformed");
    const counts = [entries, tombstoned, masked];
    if (!counts.every((n) => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= MAX_POSITION)) throw new Doubt("increment counts malformed");
    const readSet = (n: number) => {
      if (n === 0) return undefined;
      const set = new Set<number>();
      for (let i = 0; i < n; i++) set.add(cursor.u32());
      return set;
    };
    const tombstonedSet = readSet(tombstoned as number);
    const maskedSet = readSet(masked as number);
    const list: LogEntry[] = new Array(entries as number);
    for (let i = 0; i < (entries as number); i++) list[i] = decodeLogEntry(cursor.take(cursor.u32()), file);
    const options: ApplyOptions = { tombstoned: tombstonedSet, masked: maskedSet, replaces };
    out.push({ id, identity, entries: list, options });
  }
  if (!cursor.done) throw new Doubt("increment has trailing bytes");
  return { from: from as number, version: version as number, fingerprint: fp, containers: out };
}

/** A parsed, not yet verified state file. */
interface ParsedFile {
  readonly namespace: string;
  readonly incarnation: string;
  readonly snapshotVersion: number;
  readonly containers: [string, string][];
  readonly rows: { container: number; position: number; entry: LogEntry }[];
  readonly locatable: { rowId: RowId; container: number; position: number }[];
  readonly increments: DecodedIncrement[];
  /** Bytes up to the end of the snapshot. */
  readonly snapshotBytes: number;
  /** Bytes of the readable log. */
  readonly validLength: number;
  readonly torn: boolean;
}

function parseFile(bytes: Uint8Array, file: string): ParsedFile {
  let log: ReturnType<typeof readFramedLog>;
  try {
    log = readFramedLog(bytes);
  } catch (cause) {
    throw new Doubt(`not a framed log (${(cause as Error).message})`);
  }
  const entries = log.entries;
  const first = entries[0];
  if (first === undefined || first[0] !== K_HEAD) throw new Doubt("no snapshot head");
  const head = parseJson(first.subarray(1));
  const { format_version, namespace, incarnation, version, containers, rows, locatable, fingerprint: fp } = head;
  if (format_version !== FORMAT_VERSION) throw new Doubt(`format_version ${String(format_version)}`);
  if (typeof namespace !== "string" || typeof incarnation !== "string" || typeof fp !== "string") throw new Doubt("snapshot head malformed");
  if (!Number.isSafeInteger(version) || BigInt(version as number) !== log.header.baseRevision) throw new Doubt("snapshot version is not the base revision");
  if (!Array.isArray(containers) || !containers.every((c) => Array.isArray(c) && c.length === 2 && c.every((s) => typeof s === "string"))) {
    throw new Doubt("snapshot containers malformed");
  }
  const pairs = containers as [string, string][];
  if (fingerprint(pairs.map((c) => c[1])) !== fp) throw new Doubt("snapshot fingerprint does not match its containers");
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(locatable)) throw new Doubt("snapshot counts malformed");
  const parsedRows: ParsedFile["rows"] = [];
  const parsedLocatable: ParsedFile["locatable"] = [];
  let index = 1;
  let ended = false;
  let snapshotBytes = 0;
  const containerIndex = (n: number) => {
    if (n >= pairs.length) throw new Doubt("row names a container outside the snapshot");
    return n;
  };
  for (; index < entries.length && !ended; index++) {
    const payload = entries[index] as Uint8Array;
    const cursor = new Cursor(payload, 1);
    if (payload[0] === K_ROWS) {
      for (const row of decodeRows(cursor)) parsedRows.push({ ...row, container: containerIndex(row.container) });
    } else if (payload[0] === K_LOCATABLE) {
      const n = cursor.u32();
      for (let i = 0; i < n; i++) {
        const id = rowId(readIdBytes(cursor.take(16), 0));
        parsedLocatable.push({ rowId: id, container: containerIndex(cursor.u32()), position: cursor.u32() });
      }
    } else if (payload[0] === K_END) {
      if (cursor.u32() !== rows || cursor.u32() !== locatable) throw new Doubt("snapshot end counts differ from its head");
      ended = true;
      // Where the increments start: the frame of the next entry (payloads are subarrays of `bytes`).
      const next = entries[index + 1];
      snapshotBytes = next === undefined ? log.validLength : next.byteOffset - bytes.byteOffset - 8;
    } else {
      throw new Doubt(`record kind ${payload[0]} inside the snapshot`);
    }
    if (!cursor.done) throw new Doubt("snapshot record has trailing bytes");
  }
  if (!ended) throw new Doubt("snapshot incomplete");
  if (parsedRows.length !== rows || parsedLocatable.length !== locatable) throw new Doubt("snapshot counts differ from its records");
  const increments: DecodedIncrement[] = [];
  for (; index < entries.length; index++) {
    const payload = entries[index] as Uint8Array;
    if (payload[0] !== K_INCREMENT) throw new Doubt(`record kind ${payload[0]} after the snapshot`);
    increments.push(decodeIncrement(payload, file));
  }
  return {
    namespace,
    incarnation,
    snapshotVersion: version as number,
    containers: pairs,
    rows: parsedRows,
    locatable: parsedLocatable,
    increments,
    snapshotBytes,
    validLength: log.validLength,
    torn: log.torn !== null,
  };
}

/** Rebuilds a NamespaceState from a parsed snapshot through `apply` (one call per container, in fold order). */
function stateFromSnapshot(parsed: ParsedFile, locatable: Map<bigint, RowLocation>): NamespaceState {
  const perContainer: { rows: { position: number; entry: LogEntry }[]; hidden: { position: number; rowId: RowId }[] }[] = parsed.containers.map(() => ({
    rows: [],
    hidden: [],
  }));
  for (const row of parsed.rows) perContainer[row.container]?.rows.push({ position: row.position, entry: row.entry });
  for (const row of parsed.locatable) perContainer[row.container]?.hidden.push({ position: row.position, rowId: row.rowId });
  const state = NamespaceState.empty();
  const filler: LogEntry = { op: "DELETE", id: "" };
  const seenIds = new Set<string>();
  parsed.containers.forEach(([id, identity], i) => {
    const { rows, hidden } = perContainer[i] as (typeof perContainer)[number];
    let length = 0;
    for (const r of rows) length = Math.max(length, r.position + 1);
    for (const r of hidden) length = Math.max(length, r.position + 1);
    if (length > MAX_POSITION) throw new Doubt("position out of range");
    const entries: LogEntry[] = new Array(length).fill(filler);
    const tombstoned = new Set<number>();
    for (const r of rows) {
      if (entries[r.position] !== filler || seenIds.has(r.entry.id)) throw new Doubt("two rows at one position, or one document twice");
      seenIds.add(r.entry.id);
      entries[r.position] = r.entry;
    }
    for (const r of hidden) {
      if (entries[r.position] !== filler) throw new Doubt("two rows at one position");
      // A tombstoned entry with an id no document can have: `apply` records it as locatable and removes nothing.
      entries[r.position] = { op: "UPSERT", id: "", rowId: r.rowId };
      tombstoned.add(r.position);
      locatable.set(r.rowId, { rowId: r.rowId, containerId: id, position: r.position });
    }
    state.apply(id, entries, tombstoned.size === 0 ? {} : { tombstoned }, identity);
  });
  state.advanceTo(parsed.snapshotVersion);
  return state;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch {
    // Some file systems do not sync directories; the rename is still atomic.
  } finally {
    await handle.close();
  }
}

export interface StatePersistenceDependencies {
  readonly dir: string;
  /** Reads one stored manifest version (VersionNotFound when it is gone). */
  readonly readVersion: (path: NamespacePath, version: number) => Promise<Manifest>;
  readonly settings?: Partial<StatePersistenceSettings> | undefined;
}

export class StatePersistence implements StateCacheObserver {
  readonly #dir: string;
  readonly #readVersion: StatePersistenceDependencies["readVersion"];
  readonly #settings: StatePersistenceSettings;
  /** Locatable rows of every state the cache folds (NamespaceState does not expose them). */
  readonly #locatable = new WeakMap<NamespaceState, Map<bigint, RowLocation>>();
  readonly #tracked = new Set<string>();
  readonly #files = new Map<string, FileState>();
  #stats = {
    restored: 0,
    discarded: 0,
    tornTails: 0,
    snapshotsWritten: 0,
    incrementsAppended: 0,
    appendSyncs: 0,
    writeErrors: 0,
    lastDiscardReason: undefined as string | undefined,
  };

  constructor(deps: StatePersistenceDependencies) {
    this.#dir = deps.dir;
    this.#readVersion = deps.readVersion;
    this.#settings = { ...DEFAULT_STATE_PERSISTENCE, ...deps.settings };
    if (!Number.isSafeInteger(this.#settings.snapshotEvery) || this.#settings.snapshotEvery < 1) {
      throw new RangeError(`snapshotEvery must be a positive integer; got ${String(this.#settings.snapshotEvery)}`);
    }
  }

  stats(): StatePersistenceStats {
    return { ...this.#stats };
  }

  /** The file of `path`. */
  fileOf(path: NamespacePath): string {
    return join(this.#dir, path.org, path.project, `${path.namespace}${STATE_FILE_SUFFIX}`);
  }

  /** Persist `path`'s state from now on (warm, pin, start). */
  track(path: NamespacePath): void {
    this.#tracked.add(formatNamespacePath(path));
  }

  /** Waits until every queued write has reached the disk. */
  async flush(): Promise<void> {
    for (;;) {
      const queues = [...this.#files.values()].map((f) => f.queue);
      await Promise.all(queues);
      if ([...this.#files.values()].every((f, i) => f.queue === queues[i])) return;
    }
  }

  #file(name: string): FileState {
    let file = this.#files.get(name);
    if (file === undefined) {
      file = { generation: 0, logical: undefined, queue: Promise.resolve(), openBatch: undefined };
      this.#files.set(name, file);
    }
    return file;
  }

  #enqueue(path: NamespacePath, file: FileState, work: () => Promise<void>): void {
    const generation = file.generation;
    file.queue = file.queue.then(async () => {
      if (file.generation !== generation) return;
      try {
        await work();
      } catch {
        // The file no longer follows the chain: drop it and everything queued after (the next advance snapshots).
        this.#stats.writeErrors++;
        file.generation++;
        file.logical = undefined;
        file.openBatch = undefined;
        await rm(this.fileOf(path), { force: true }).catch(() => undefined);
      }
    });
  }

  // ------------------------------------------------------- cache hooks

  applying(state: NamespaceState, container: FoldedContainer): void {
    let locatable = this.#locatable.get(state);
    if (locatable === undefined) {
      // A state's first container (the cache always folds from empty or from a tracked state).
      if (state.containerIds.length > 0) return;
      locatable = new Map();
      this.#locatable.set(state, locatable);
    }
    trackLocatable(locatable, state, container);
  }

  invalidated(path: NamespacePath): void {
    const name = formatNamespacePath(path);
    this.#tracked.delete(name);
    const file = this.#file(name);
    file.generation++;
    file.logical = undefined;
    file.openBatch = undefined;
    const target = this.fileOf(path);
    file.queue = file.queue.then(async () => {
      await rm(target, { force: true }).catch(() => undefined);
      await rm(`${target}.tmp`, { force: true }).catch(() => undefined);
    });
  }

  advanced(path: NamespacePath, state: NamespaceState, manifest: Manifest, delta: StateDelta | undefined): void {
    const name = formatNamespacePath(path);
    if (!this.#tracked.has(name)) return;
    const locatable = this.#locatable.get(state);
    if (locatable === undefined) return; // not folded under observation: nothing trustworthy to write
    const file = this.#file(name);
    const incarnation = incarnationOf(manifest);
    const logical = file.logical;
    const { snapshotEvery } = this.#settings;
    if (
      delta !== undefined &&
      logical !== undefined &&
      logical.incarnation === incarnation &&
      logical.version === delta.from &&
      logical.increments < snapshotEvery
    ) {
      const record = encodeIncrement(delta.from, state.version, state.containerIds, delta.containers);
      const bytes = record.length + 8;
      if (record.length <= MAX_INCREMENT_BYTES && logical.incrementBytes + bytes <= Math.max(logical.snapshotBytes, MIN_REWRITE_BYTES)) {
        file.logical = { ...logical, version: state.version, increments: logical.increments + 1, incrementBytes: logical.incrementBytes + bytes };
        this.#append(path, file, encodeFramedLogEntry(record));
        return;
      }
    }
    this.#snapshot(path, file, this.#capture(name, incarnation, state, locatable));
  }

  #capture(name: string, incarnation: string, state: NamespaceState, locatable: Map<bigint, RowLocation>): CapturedSnapshot {
    const ids = state.sortedIds();
    const docs: StoredDocument[] = new Array(ids.length);
    const locations: RowLocation[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      docs[i] = state.get(id) as StoredDocument;
      locations[i] = state.locate(id) as RowLocation;
    }
    const containers = state.containerIds.map((identity) => [identity.split("|", 1)[0] as string, identity] as const);
    return { namespace: name, incarnation, version: state.version, containers, docs, locations, locatable: [...locatable.values()] };
  }

  #snapshot(path: NamespacePath, file: FileState, captured: CapturedSnapshot): void {
    file.logical = { incarnation: captured.incarnation, version: captured.version, increments: 0, incrementBytes: 0, snapshotBytes: 0 };
    const logical = file.logical;
    file.openBatch = undefined; // appends from here on go after the snapshot
    this.#enqueue(path, file, async () => {
      const size = await this.#writeSnapshot(path, captured);
      logical.snapshotBytes = size;
      this.#stats.snapshotsWritten++;
    });
  }

  #append(path: NamespacePath, file: FileState, frame: Uint8Array): void {
    if (file.openBatch !== undefined) {
      file.openBatch.push(frame); // joins the append queued last: one write, one fdatasync
      return;
    }
    const frames = [frame];
    file.openBatch = frames;
    this.#enqueue(path, file, async () => {
      if (file.openBatch === frames) file.openBatch = undefined;
      const handle = await open(this.fileOf(path), "a");
      try {
        await handle.writev(frames);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      this.#stats.incrementsAppended += frames.length;
      this.#stats.appendSyncs++;
    });
  }

  async #writeSnapshot(path: NamespacePath, captured: CapturedSnapshot): Promise<number> {
    const target = this.fileOf(path);
    const temporary = `${target}.tmp`;
    await mkdir(dirname(target), { recursive: true });
    const index = new Map(captured.containers.map(([id], i) => [id, i]));
    const indexOf = (containerId: string) => {
      const i = index.get(containerId);
      if (i === undefined) throw new Error(`row names container ${containerId} outside the fold`);
      return i;
    };
    const handle = await open(temporary, "w");
    let size = 0;
    const write = async (record: Uint8Array) => {
      const frame = size === 0 ? record : encodeFramedLogEntry(record);
      await handle.write(frame);
      size += frame.length;
    };
    try {
      await write(encodeFramedLogHeader({ baseRevision: captured.version }));
      const identities = captured.containers.map((c) => c[1]);
      await write(
        jsonRecord(K_HEAD, {
          format_version: FORMAT_VERSION,
          namespace: captured.namespace,
          incarnation: captured.incarnation,
          version: captured.version,
          containers: captured.containers,
          fingerprint: fingerprint(identities),
          rows: captured.docs.length,
          locatable: captured.locatable.length,
        }),
      );
      for (let start = 0; start < captured.docs.length; start += ROWS_PER_CHUNK) {
        const end = Math.min(captured.docs.length, start + ROWS_PER_CHUNK);
        await write(encodeRows(captured.docs.slice(start, end), captured.locations.slice(start, end), indexOf));
        await yieldToLoop(); // encoding is CPU work: let reads run between chunks
      }
      const hidden = captured.locatable;
      for (let start = 0; start < hidden.length; start += ROWS_PER_CHUNK * 8) {
        const chunk = hidden.slice(start, start + ROWS_PER_CHUNK * 8);
        const record = new Uint8Array(5 + chunk.length * 24);
        const view = new DataView(record.buffer);
        record[0] = K_LOCATABLE;
        view.setUint32(1, chunk.length, true);
        chunk.forEach((location, k) => {
          const at = 5 + k * 24;
          writeIdBytes(location.rowId, record, at);
          view.setUint32(at + 16, indexOf(location.containerId), true);
          view.setUint32(at + 20, location.position, true);
        });
        await write(record);
      }
      const end = new Uint8Array(9);
      end[0] = K_END;
      new DataView(end.buffer).setUint32(1, captured.docs.length, true);
      new DataView(end.buffer).setUint32(5, hidden.length, true);
      await write(end);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
    await syncDirectory(dirname(target));
    return size;
  }

  async restore(path: NamespacePath, manifest: Manifest): Promise<NamespaceState | undefined> {
    const name = formatNamespacePath(path);
    const file = this.#file(name);
    await file.queue; // our own writes of this file land first
    const target = this.fileOf(path);
    let bytes: Uint8Array;
    try {
      const buffer = await readFile(target);
      // A plain Uint8Array: a Buffer's `slice` shares memory, which the log-entry decoder does not expect.
      bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch {
      return undefined; // no file (or unreadable): fold from storage
    }
    try {
      const parsed = parseFile(bytes, target);
      if (parsed.namespace !== name) throw new Doubt(`file holds ${parsed.namespace}`);
      const incarnation = incarnationOf(manifest);
      if (parsed.incarnation !== incarnation) throw new Doubt("another incarnation of the name (deleted and re-created)");
      // The chain: each increment extends the previous version; identities after it.
      const identities = parsed.containers.map((c) => c[1]);
      let version = parsed.snapshotVersion;
      for (const increment of parsed.increments) {
        if (increment.from !== version || increment.version <= version) throw new Doubt("increment out of chain");
        for (const c of increment.containers) identities.push(c.identity);
        if (fingerprint(identities) !== increment.fingerprint) throw new Doubt("increment fingerprint does not match");
        version = increment.version;
      }
      // The file's version must be a stored, live manifest of this incarnation with exactly these fold identities.
      let at: Manifest;
      if (version === manifest.version) at = manifest;
      else {
        try {
          at = await this.#readVersion(path, version);
        } catch (error) {
          if ((error as { code?: string }).code === "VersionNotFound") throw new Doubt(`version ${version} is no longer retained`);
          return undefined; // storage trouble: fold from storage, keep the file
        }
      }
      if (at.deletedAt !== undefined || incarnationOf(at) !== incarnation) throw new Doubt(`version ${version} is another incarnation or deleted`);
      const expected = at.containers.map(foldIdentity);
      if (expected.length !== identities.length || fingerprint(expected) !== fingerprint(identities)) {
        throw new Doubt(`fold identities differ from manifest version ${version}`);
      }
      const locatable = new Map<bigint, RowLocation>();
      const state = stateFromSnapshot(parsed, locatable);
      for (const increment of parsed.increments) {
        for (const container of increment.containers) {
          trackLocatable(locatable, state, container);
          state.apply(container.id, container.entries, container.options, container.identity);
        }
        state.advanceTo(increment.version);
      }
      if (parsed.torn) {
        await truncate(target, parsed.validLength);
        this.#stats.tornTails++;
      }
      this.#locatable.set(state, locatable);
      this.#tracked.add(name);
      file.logical = {
        incarnation,
        version,
        increments: parsed.increments.length,
        incrementBytes: parsed.validLength - parsed.snapshotBytes,
        snapshotBytes: parsed.snapshotBytes,
      };
      this.#stats.restored++;
      return state;
    } catch (error) {
      // Anything that does not check out is never trusted: drop the file and fold from storage.
      this.#stats.discarded++;
      this.#stats.lastDiscardReason = error instanceof Error ? error.message : String(error);
      file.logical = undefined;
      await rm(target, { force: true }).catch(() => undefined);
      return undefined;
    }
  }
}
