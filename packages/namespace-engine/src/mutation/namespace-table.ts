/**
 * NamespaceTable: the wal-engine `MutationTable` of one namespace.
 *
 * - `locateRows(rowIds)`: against the latest manifest's materialized state
 *   (NamespaceState.locateRows: current rows, tombstoned rows, rows an
 *   UPDATE replaced). Before answering, every located container gets a
 *   `tombstones_key` in the manifest if it has none (one commit), so a
 *   tombstone bit never lands in a sidecar that readers do not look for.
 *   A location in a container whose ref records a published sidecar
 *   (`tombstones_etag`) says so (`sidecarWritten`): the wal-engine then
 *   refuses to recreate that sidecar when it is missing (corruption).
 * - `writeSegment(id, bytes)`: create-only put of `segments/<id>.arrow`
 *   (identical bytes already there = success: recovery writes them again).
 * - `commitSegment(id, info)`: appends the UPDATE's segment as a SEGMENT
 *   container with `wal_id`, in one manifest commit. A no-op when the id is
 *   already a container, or was one that a compaction retired
 *   (`retired_mutation_segments`): a late replay never resurrects rows.
 *   Rows whose document's current row is no longer one of the mutation's
 *   targets (it was written, patched or deleted after the snapshot) are
 *   recorded as `masked` and never apply: the concurrent write wins. The
 *   decision is made against the base each commit attempt builds on, so it
 *   is atomic with the commit.
 *
 * Errors: namespace-engine typed errors (NamespaceNotFound when the
 * namespace was deleted, Corrupt, Storage), and wal-engine storage errors
 * from `createOnce`.
 */
import { createOnce, type MutationTable, type RowLocation, type SegmentCommitInfo, type WalStore } from "@skerry/wal-engine";
import { type ContainerRef, decodeRowBatch, idToHex, type Manifest, type RowId } from "@skerry/wal-format";
import { CorruptError, formatNamespacePath, NamespaceNotFoundError, type NamespacePath, segmentKey, tombstonesKey, toWalRetryPolicy } from "../core/index.ts";
import { commitChange, type EngineContext, retiredSegments, tombstonesEtag, withExtra } from "../manifest/index.ts";

export class NamespaceTable implements MutationTable {
  readonly #ctx: EngineContext;
  readonly #path: NamespacePath;
  readonly #store: () => WalStore;
  /** Bytes of segments written by this process, until committed. */
  readonly #written = new Map<string, Uint8Array>();

  constructor(ctx: EngineContext, path: NamespacePath, store: () => WalStore) {
    this.#ctx = ctx;
    this.#path = path;
    this.#store = store;
  }

  async #latest(): Promise<Manifest> {
    const latest = await this.#ctx.manifests.readLatest(this.#path);
    if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(formatNamespacePath(this.#path));
    return latest;
  }

  async locateRows(rowIds: readonly RowId[]): Promise<Map<RowId, RowLocation>> {
    const latest = await this.#latest();
    const located = await this.#ctx.states.read(this.#path, latest, (state) => state.locateRows(rowIds));
    const out = new Map<RowId, RowLocation>();
    const containers = new Set<string>();
    // A sidecar the manifest records as published must exist: the wal-engine must not recreate a lost one.
    const published = new Set(latest.containers.filter((c) => tombstonesEtag(c) !== undefined).map((c) => c.id));
    for (const [id, location] of located) {
      out.set(id as RowId, { segmentId: location.containerId, position: location.position, sidecarWritten: published.has(location.containerId) });
      containers.add(location.containerId);
    }
    if (latest.containers.some((c) => containers.has(c.id) && c.tombstonesKey === undefined)) {
      await commitChange(this.#ctx, this.#path, (base) => {
        if (!base.containers.some((c) => containers.has(c.id) && c.tombstonesKey === undefined)) return undefined;
        return {
          ...base,
          containers: base.containers.map((c) =>
            containers.has(c.id) && c.tombstonesKey === undefined ? { ...c, tombstonesKey: tombstonesKey(this.#path, c.id) } : c,
          ),
        };
      });
    }
    return out;
  }

  async writeSegment(segmentId: string, bytes: Uint8Array, options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    const { storage, retry, random } = this.#ctx;
    await createOnce(storage, segmentKey(this.#path, segmentId), bytes, { policy: toWalRetryPolicy(retry), random, signal: options.signal });
    this.#written.set(segmentId, bytes);
  }

  async commitSegment(segmentId: string, info: SegmentCommitInfo): Promise<void> {
    const key = segmentKey(this.#path, segmentId);
    const bytes = this.#written.get(segmentId) ?? (await this.#readSegment(key));
    const rows = decodeRowBatch(bytes);
    if (rows.length !== info.rowCount) throw new CorruptError(`segment ${key} has ${rows.length} rows, its WAL says ${info.rowCount}`, key);
    const doc = await this.#store().read(info.walId);
    const targets = new Set<bigint>(doc.doc.targetIds);
    const walHex = idToHex(info.walId);
    let first: bigint | undefined;
    let last: bigint | undefined;
    for (const row of rows) {
      if (first === undefined || row.rowId < first) first = row.rowId;
      if (last === undefined || row.rowId > last) last = row.rowId;
    }
    await commitChange(this.#ctx, this.#path, async (base) => {
      if (base.containers.some((c) => c.id === segmentId) || retiredSegments(base).some((r) => r.segmentId === segmentId)) return undefined;
      const masked = await this.#ctx.states.read(this.#path, base, (state) => {
        const out: number[] = [];
        rows.forEach((row, position) => {
          const current = state.locate(row.id);
          if (current === undefined || !targets.has(current.rowId)) out.push(position);
        });
        return out;
      });
      const ref: ContainerRef = withExtra(
        {
          id: segmentId,
          kind: "SEGMENT",
          key,
          rowCount: rows.length,
          byteSize: bytes.length,
          contentHash: info.contentHash,
          ...(first === undefined || last === undefined ? {} : { rowIdRange: { first: first as RowId, last: last as RowId } }),
        },
        { wal_id: walHex, masked: masked.length === 0 ? undefined : masked },
      );
      const high = last !== undefined && last > base.rowIdHighWater ? (last as RowId) : base.rowIdHighWater;
      return { ...base, containers: [...base.containers, ref], rowIdHighWater: high };
    });
    this.#written.delete(segmentId);
  }

  async #readSegment(key: string): Promise<Uint8Array> {
    const { storage } = this.#ctx;
    try {
      return (await storage.get(key)).bytes;
    } catch (error) {
      throw new CorruptError(`segment ${key} to commit cannot be read: ${(error as Error).message}`, key, { cause: error });
    }
  }
}

