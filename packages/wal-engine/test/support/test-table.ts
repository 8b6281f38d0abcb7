/**
 * TestTable: a small but real MutationTable over a StorageProvider, for
 * tests and benchmarks.
 *
 * - Manifest: `<root>/table/manifest.json`, JSON `{ segments, committed }`,
 *   updated only through the package's CAS helper. `segments` lists live
 *   segments in order; `committed` lists every segment id ever committed,
 *   so a late replay of a commit is a no-op even after compaction retired
 *   the segment.
 * - Segments: `<root>/superfiles/<segment_id>.rows`, wal-format row-batch
 *   bytes, written create-only (identical bytes = success).
 * - `locateRows` reads the manifest and decodes each live segment's `_id`
 *   column once (segments are immutable, so the decoded map is cached).
 * - `commitSegment` group-commits: concurrent commits from one process are
 *   folded into one manifest CAS, as the namespace engine will do.
 * - `compact(from, to)` (test helper) moves rows of `from` into a new
 *   segment, retiring `from` from the manifest.
 */
import type { StorageProvider } from "@skerry/storage-providers";
import {
  contentHash,
  decodeRowBatch,
  encodeRowBatch,
  type RowDocumentInput,
  type RowId,
  type WalId,
} from "@skerry/wal-format";
import {
  CAS_NOOP,
  type CasRuntime,
  casUpdate,
  createOnce,
  type MutationTable,
  normalizeRoot,
  readRaw,
  type RowLocation,
  type SegmentCommitInfo,
} from "@skerry/wal-engine";

export interface ManifestSegment {
  id: string;
  rowCount: number;
  contentHash: string;
  walId?: string;
}

export interface TableManifest {
  segments: ManifestSegment[];
  committed: string[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class TestTable implements MutationTable {
  readonly storage: StorageProvider;
  readonly root: string;
  readonly manifestKey: string;
  readonly #runtime: CasRuntime;
  readonly #positions = new Map<string, Promise<Map<RowId, number>>>();
  #queue: {
    id: string;
    info: { rowCount: number; contentHash: string; walId?: WalId };
    resolve: () => void;
    reject: (e: unknown) => void;
  }[] = [];
  #flushing = false;
  /** Calls made through this table, by kind (for benchmarks). */
  readonly stats = { locate: 0, segmentReads: 0, segmentWrites: 0, manifestReads: 0, manifestWrites: 0 };

  constructor(
    storage: StorageProvider,
    root = "",
    runtime: CasRuntime = { policy: { maxAttempts: 8, baseDelayMs: 1, maxDelayMs: 4 } },
  ) {
    this.storage = storage;
    this.root = normalizeRoot(root);
    this.manifestKey = this.#key("table/manifest.json");
    this.#runtime = runtime;
  }

  #key(rest: string): string {
    return this.root === "" ? rest : `${this.root}/${rest}`;
  }

  segmentKey(segmentId: string): string {
    return this.#key(`superfiles/${segmentId}.rows`);
  }

  async readManifest(): Promise<TableManifest> {
    this.stats.manifestReads++;
    const raw = await readRaw(this.storage, this.manifestKey, this.#runtime);
    return raw === null ? { segments: [], committed: [] } : (JSON.parse(dec.decode(raw.bytes)) as TableManifest);
  }

  /** Decoded `_id` -> position of a segment; concurrent callers share one read (segments are immutable). */
  #positionsOf(segmentId: string, signal: AbortSignal | undefined): Promise<Map<RowId, number>> {
    const cached = this.#positions.get(segmentId);
    if (cached !== undefined) return cached;
    const loading = (async () => {
      this.stats.segmentReads++;
      const raw = await readRaw(this.storage, this.segmentKey(segmentId), { ...this.#runtime, signal });
      if (raw === null) throw new Error(`segment ${segmentId} is in the manifest but missing`);
      const map = new Map<RowId, number>();
      for (const [position, row] of decodeRowBatch(raw.bytes).entries()) map.set(row.rowId, position);
      return map;
    })();
    this.#positions.set(segmentId, loading);
    loading.catch(() => this.#positions.delete(segmentId));
    return loading;
  }

  async locateRows(
    rowIds: readonly RowId[],
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<Map<RowId, RowLocation>> {
    this.stats.locate++;
    const manifest = await this.readManifest();
    const wanted = new Set(rowIds);
    const out = new Map<RowId, RowLocation>();
    const maps = await Promise.all(manifest.segments.map((segment) => this.#positionsOf(segment.id, options.signal)));
    for (const [index, segment] of manifest.segments.entries()) {
      const positions = maps[index] as Map<RowId, number>;
      for (const id of wanted) {
        const position = positions.get(id);
        if (position !== undefined) out.set(id, { segmentId: segment.id, position });
      }
    }
    return out;
  }

  async writeSegment(segmentId: string, bytes: Uint8Array, options: { signal?: AbortSignal | undefined } = {}) {
    this.stats.segmentWrites++;
    await createOnce(this.storage, this.segmentKey(segmentId), bytes, { ...this.#runtime, signal: options.signal });
  }

  commitSegment(segmentId: string, info: SegmentCommitInfo): Promise<void> {
    return this.#enqueue(segmentId, info);
  }

  #enqueue(segmentId: string, info: { rowCount: number; contentHash: string; walId?: WalId }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: segmentId, info, resolve, reject });
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          await this.#commit(batch.map((b) => ({ id: b.id, ...b.info })));
          for (const item of batch) item.resolve();
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #commit(segments: { id: string; rowCount: number; contentHash: string; walId?: WalId }[]): Promise<void> {
    this.stats.manifestWrites++;
    await casUpdate<TableManifest>(this.storage, this.manifestKey, {
      ...this.#runtime,
      decode: (bytes) => JSON.parse(dec.decode(bytes)) as TableManifest,
      encode: (manifest) => enc.encode(JSON.stringify(manifest)),
      mutate: (current) => {
        const manifest = current?.value ?? { segments: [], committed: [] };
        const fresh = segments.filter((s) => !manifest.committed.includes(s.id));
        if (fresh.length === 0 && current !== null) return CAS_NOOP;
        return {
          segments: [
            ...manifest.segments,
            ...fresh.map((s) => ({
              id: s.id,
              rowCount: s.rowCount,
              contentHash: s.contentHash,
              ...(s.walId === undefined ? {} : { walId: s.walId.toString(16).padStart(32, "0") }),
            })),
          ],
          committed: [...manifest.committed, ...fresh.map((s) => s.id)],
        };
      },
    });
  }

  /** Test setup: writes and commits a segment of `rows` (not through the pipeline). */
  async seedSegment(segmentId: string, rows: readonly RowDocumentInput[]): Promise<Uint8Array> {
    const bytes = encodeRowBatch(rows);
    await this.writeSegment(segmentId, bytes);
    await this.#enqueue(segmentId, { rowCount: rows.length, contentHash: contentHash(bytes) });
    return bytes;
  }

  /**
   * Test helper: a compaction that rewrites `fromId`'s rows into `toId` and
   * swaps it into the manifest in one CAS (the rows keep their `_id`s).
   */
  async compact(fromId: string, toId: string): Promise<void> {
    const raw = await readRaw(this.storage, this.segmentKey(fromId));
    if (raw === null) throw new Error(`no segment ${fromId}`);
    const rows = decodeRowBatch(raw.bytes).map((r) => ({ ...r }));
    const bytes = encodeRowBatch(rows);
    await this.writeSegment(toId, bytes);
    await casUpdate<TableManifest>(this.storage, this.manifestKey, {
      decode: (b) => JSON.parse(dec.decode(b)) as TableManifest,
      encode: (m) => enc.encode(JSON.stringify(m)),
      mutate: (current) => {
        const manifest = current?.value ?? { segments: [], committed: [] };
        return {
          segments: manifest.segments.map((s) =>
            s.id === fromId ? { id: toId, rowCount: rows.length, contentHash: contentHash(bytes) } : s,
          ),
          committed: [...manifest.committed, toId],
        };
      },
    });
  }
}
