/**
 * Compactor: folds a namespace's containers (log batches, segments and
 * their tombstones) into one Arrow IPC segment, without blocking writers,
 * plus the segment's query index; and recovery of interrupted compactions.
 *
 * One compaction, given a snapshot manifest S whose containers are the
 * inputs:
 *   1. create the intent (`compactions/<id>.json`, INTENT, with a lease, the
 *      inputs and the pre-chosen output segment id);
 *   2. seal every input's tombstone sidecar with the compaction id (CAS;
 *      creating the sidecar when absent), the FIRST input alone first: all
 *      compactions of a namespace start at its first container, so whoever
 *      seals it owns the whole run, and a loser has sealed nothing. From the
 *      seal on, the wal-engine's tombstone phase leaves these sidecars alone
 *      and re-locates its targets until the swap commits;
 *   3. read the inputs and their sidecars AFTER sealing (so every bit set
 *      before the seal is folded in), fold them, and write the live
 *      documents (id order, each with its RowId in `_id`) as
 *      `segments/<id>.arrow` (create-only; a re-run of the same intent
 *      builds the same bytes) and the query index as `segments/<id>.qidx`;
 *   4. commit a manifest (create-and-rebase) that replaces exactly the input
 *      containers, which must still be a prefix of the latest manifest, by
 *      the new segment, keeping every container that landed meanwhile after
 *      it; UPDATE segments among the inputs move to
 *      `retired_mutation_segments`, the compaction id to
 *      `recent_compactions` (the commit is idempotent by it);
 *   5. settle the intent COMMITTED.
 * Old objects are not deleted: retained manifest versions still reference
 * them (docs/namespace-engine.md, retention).
 *
 * Interrupted compactions are FINISHED, not rolled back: recovery re-runs
 * steps 2-5 of a pending intent whose lease has expired (sealing is
 * idempotent, the fold of sealed inputs is deterministic). An intent is
 * abandoned only when the latest manifest shows it can never commit (an
 * input is gone: only a namespace deletion or re-creation does that, since
 * compactions of one namespace exclude each other through the first seal);
 * then its seals on containers still live are released. A compaction that
 * loses the first seal settles its intent ABANDONED and, when the other
 * compaction looks stalled, recovery finishes that one.
 *
 * Errors: namespace-engine typed errors; ConflictError when a seal is held
 * by another compaction.
 */
import { CAS_NOOP, createOnce, type WalStore } from "@skerry/wal-engine";
import {
  type CompactionIntent,
  type ContainerRef,
  contentHash,
  encodeRowBatch,
  type Manifest,
  type RowId,
  type TombstoneSidecarInput,
} from "@skerry/wal-format";
import { createIntent, listIntentIds, readIntent, settleIntent } from "./compaction-intents.ts";
import { type LoadedContainer, loadContainer } from "./container-loader.ts";
import {
  maskedPositions,
  mutationWalId,
  RECENT_COMPACTIONS_LIMIT,
  recentCompactions,
  type RetiredSegment,
  retiredSegments,
  retiredToWire,
  tombstonesEtag,
  withExtra,
  withManifestExtra,
} from "./container-extra.ts";
import { commitChange, type EngineContext } from "./engine-context.ts";
import { NamespaceNotFoundError } from "./errors.ts";
import { formatNamespacePath, type NamespacePath } from "./namespace-path.ts";
import { NamespaceState } from "./namespace-state.ts";
import type { NamespaceWals } from "./namespace-wal.ts";
import { buildQueryIndex } from "./query/query-index.ts";
import { queryIndexEagerBytes, serializeQueryIndex } from "./query/index-codec.ts";
import { randomUuid } from "./random-uuid.ts";
import { SerialQueue } from "./serial-queue.ts";
import { createImmutable, toEngineError } from "./storage-calls.ts";
import { namespaceId, segmentIndexKey, segmentKey, tombstonesKey } from "./storage-layout.ts";
import { assertSidecarNotLost } from "./tombstone-refresh.ts";
import { toWalRetryPolicy } from "./wal-retry.ts";

export interface CompactionSettings {
  /** Compact in the background when a write crosses a threshold; default false. */
  readonly auto: boolean;
  /** Log batches that make a namespace due; default 32. */
  readonly maxLogBatches: number;
  /** Bytes of log batches that make a namespace due; default 64 MiB. */
  readonly maxLogBytes: number;
  /** Containers of any kind that make a namespace due; default 64. */
  readonly maxContainers: number;
  /** Build the segment's query index (with IVF when `ann`); default true. */
  readonly buildIndex: boolean;
  /** Delay before a background compaction starts, ms; default 0. */
  readonly delayMs: number;
}

export const DEFAULT_COMPACTION_SETTINGS: CompactionSettings = {
  auto: false,
  maxLogBatches: 32,
  maxLogBytes: 64 * 1024 * 1024,
  maxContainers: 64,
  buildIndex: true,
  delayMs: 0,
};

export interface CompactionReport {
  /** False when there was nothing to do (below thresholds without `force`, or already compact). */
  readonly performed: boolean;
  readonly compactionId?: string;
  /** Containers folded. */
  readonly inputContainers: number;
  /** Documents in the new segment. */
  readonly liveDocuments: number;
  readonly segmentBytes: number;
  readonly indexBytes: number;
  /** Objects deleted by the retention GC run after the swap (inputs no retained version references and nobody else holds). */
  readonly removedObjects: number;
  /** Manifest versions that GC run deleted. */
  readonly removedVersions?: number;
  /** Input objects no longer referenced by the latest manifest (kept for retained versions). */
  readonly retiredObjects: number;
  /** Writes landed between the snapshot and the commit (kept after the new segment). */
  readonly rebased: boolean;
  /** Manifest version after the compaction (or the version examined). */
  readonly version: number;
}

export interface CompactionRecoveryReport {
  scanned: number;
  finished: number;
  abandoned: number;
  heldByPeer: number;
}

class DeadCompaction extends Error {}

/** Thrown inside a seal's CAS when a sidecar the manifest records as published is absent. */
class LostSidecar extends Error {}

class SealedByOther extends Error {
  constructor(readonly compactionId: string) {
    super(`sealed by compaction ${compactionId}`);
  }
}

const LOAD_CONCURRENCY = 8;

function isPrefix(manifest: Manifest, inputs: readonly { readonly id: string }[]): boolean {
  if (inputs.length > manifest.containers.length) return false;
  return inputs.every((input, i) => manifest.containers[i]?.id === input.id);
}

async function bounded<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await fn(items[index] as T, index);
      }
    }),
  );
}

export class Compactor {
  readonly #ctx: EngineContext;
  readonly #wals: NamespaceWals;
  readonly settings: CompactionSettings;
  readonly #lanes = new SerialQueue();
  /** Compactions this process is running (recovery leaves them alone). */
  readonly #running = new Set<string>();

  constructor(ctx: EngineContext, wals: NamespaceWals, settings: CompactionSettings) {
    this.#ctx = ctx;
    this.#wals = wals;
    this.settings = settings;
  }

  /** True when the manifest crosses a compaction threshold. */
  isDue(manifest: Manifest): boolean {
    let logBatches = 0;
    let logBytes = 0;
    for (const c of manifest.containers) {
      if (c.kind !== "LOG_BATCH") continue;
      logBatches++;
      logBytes += c.byteSize;
    }
    const s = this.settings;
    return logBatches >= s.maxLogBatches || logBytes >= s.maxLogBytes || manifest.containers.length >= s.maxContainers;
  }

  /** Compacts `path` if due (or `force`); one compaction per namespace at a time in this process. */
  compact(path: NamespacePath, force: boolean): Promise<CompactionReport> {
    return this.#lanes.run(namespaceId(path), async () => {
      const ctx = this.#ctx;
      const snapshot = await ctx.manifests.readLatest(path);
      if (snapshot === undefined || snapshot.deletedAt !== undefined) throw new NamespaceNotFoundError(formatNamespacePath(path));
      const inputs = snapshot.containers;
      const alreadyCompact =
        inputs.length === 0 ||
        (inputs.length === 1 && inputs[0]?.kind === "SEGMENT" && inputs[0].tombstonesKey === undefined && maskedPositions(inputs[0]) === undefined);
      if (alreadyCompact || (!force && !this.isDue(snapshot))) return this.#notPerformed(snapshot);
      const now = ctx.clock.now();
      const intent: CompactionIntent = {
        schemaVersion: 1,
        compactionId: randomUuid(ctx.random),
        namespace: formatNamespacePath(path),
        state: "INTENT",
        createdAt: now,
        lease: { owner: this.#wals.handleId, acquiredAt: now, expiresAt: now + this.#wals.settings.leaseMs },
        baseManifestVersion: snapshot.version,
        inputContainers: inputs.map((c) => ({ id: c.id, key: c.key })),
        outputSegmentIds: [randomUuid(ctx.random)],
      };
      await createIntent(ctx, path, intent);
      try {
        return await this.#run(path, intent, snapshot.version);
      } catch (error) {
        if (!(error instanceof SealedByOther)) throw error;
        // Lost the first seal: another compaction owns the run. Ours sealed nothing.
        await settleIntent(ctx, path, intent.compactionId, "ABANDONED");
        const latest = await ctx.manifests.readLatest(path);
        return this.#notPerformed(latest ?? snapshot);
      }
    });
  }

  /** Finishes (or, when they can never commit, abandons) pending compactions whose lease has expired. */
  recover(path: NamespacePath): Promise<CompactionRecoveryReport> {
    return this.#lanes.run(namespaceId(path), () => this.#recover(path));
  }

  async #recover(path: NamespacePath): Promise<CompactionRecoveryReport> {
    const ctx = this.#ctx;
    const report: CompactionRecoveryReport = { scanned: 0, finished: 0, abandoned: 0, heldByPeer: 0 };
    for (const id of await listIntentIds(ctx, path)) {
      report.scanned++;
      if (this.#running.has(id)) continue;
      let intent: CompactionIntent | undefined;
      try {
        intent = await readIntent(ctx, path, id);
      } catch {
        continue; // undecodable: left for an operator; it holds no seal this process could trust
      }
      if (intent === undefined || intent.state === "COMMITTED" || intent.state === "ABANDONED") continue;
      const lease = intent.lease;
      if (lease !== undefined && lease.owner !== this.#wals.handleId && lease.expiresAt > ctx.clock.now()) {
        report.heldByPeer++;
        continue;
      }
      try {
        const result = await this.#run(path, intent, intent.baseManifestVersion);
        if (result.performed) report.finished++;
        else report.abandoned++;
      } catch (error) {
        if (!(error instanceof SealedByOther)) throw error;
        // Its first seal is someone else's: it never owned the run and sealed nothing.
        await settleIntent(ctx, path, id, "ABANDONED");
        report.abandoned++;
      }
    }
    return report;
  }

  #notPerformed(manifest: Manifest): CompactionReport {
    return {
      performed: false,
      inputContainers: 0,
      liveDocuments: 0,
      segmentBytes: 0,
      indexBytes: 0,
      removedObjects: 0,
      retiredObjects: 0,
      rebased: false,
      version: manifest.version,
    };
  }

  /** Steps 2-5 for `intent`; a dead intent is abandoned (seals released) and reported as not performed. */
  async #run(path: NamespacePath, intent: CompactionIntent, snapshotVersion: number): Promise<CompactionReport> {
    const ctx = this.#ctx;
    const id = intent.compactionId;
    const outputId = intent.outputSegmentIds[0];
    const store = this.#wals.for(path).store;
    this.#running.add(id);
    try {
      // 2. Seal, first input alone. A sidecar the manifest records as published (an etag) must exist: the seal
      // creates only sidecars that were never written (the wal-engine creates them lazily).
      const inputs = intent.inputContainers;
      const before = await ctx.manifests.readLatest(path);
      const published = new Map((before?.containers ?? []).filter((c) => tombstonesEtag(c) !== undefined).map((c) => [c.id, c]));
      await this.#seal(path, store, id, inputs[0]?.id as string, published);
      await bounded(inputs.slice(1), LOAD_CONCURRENCY, async (input) => this.#seal(path, store, id, input.id, published));

      // 3. Read the sealed inputs (refs from the latest manifest, where they must still be a prefix).
      const latest = await ctx.manifests.readLatest(path);
      if (latest === undefined || latest.deletedAt !== undefined || !isPrefix(latest, inputs)) {
        if (latest !== undefined && recentCompactions(latest).includes(id)) {
          await settleIntent(ctx, path, id, "COMMITTED");
          return { ...this.#notPerformed(latest), performed: true, compactionId: id, inputContainers: inputs.length, version: latest.version };
        }
        await this.#abandon(path, store, intent, latest);
        return this.#notPerformed(latest ?? ({ version: snapshotVersion } as Manifest));
      }
      const refs = latest.containers.slice(0, inputs.length);
      const loaded: LoadedContainer[] = new Array(refs.length);
      await bounded(refs, LOAD_CONCURRENCY, async (ref, i) => {
        loaded[i] = await loadContainer(ctx, ref, tombstonesKey(path, ref.id));
      });
      const state = NamespaceState.empty();
      refs.forEach((ref, i) => {
        const item = loaded[i] as LoadedContainer;
        state.apply(ref.id, item.entries, { tombstoned: item.tombstoned, masked: maskedPositions(ref), replaces: mutationWalId(ref) !== undefined });
      });
      const rows = state.rowsInIdOrder();

      let segmentRef: ContainerRef | undefined;
      let indexBytes = 0;
      if (rows.length > 0 && outputId !== undefined) {
        const dimension = latest.vector?.dimension;
        const bytes = encodeRowBatch(
          rows.map(({ doc, rowId }) => ({
            rowId,
            id: doc.id,
            ...(doc.vector === undefined ? {} : { vector: doc.vector }),
            ...(doc.sparse === undefined ? {} : { sparse: doc.sparse }),
            ...(doc.text === undefined ? {} : { text: doc.text }),
            ...(doc.attributes === undefined ? {} : { attributes: doc.attributes }),
          })),
          dimension === undefined ? {} : { dimension },
        );
        const key = segmentKey(path, outputId);
        await createOnce(ctx.storage, key, bytes, { policy: toWalRetryPolicy(ctx.retry), random: ctx.random });
        let indexKey: string | undefined;
        let indexHash: string | undefined;
        let indexEagerBytes: number | undefined;
        if (this.settings.buildIndex) {
          const index = buildQueryIndex(
            rows.map((r) => r.doc),
            // `ann: true` trains an IVF index once the segment holds enough
            // vectors (the query module's `minDocuments`); smaller segments
            // are searched exactly.
            { metric: latest.vector?.metric ?? "COSINE", ann: true, ...(dimension === undefined ? {} : { dimension }) },
          );
          const serialized = serializeQueryIndex(index);
          indexKey = segmentIndexKey(path, outputId);
          const target = indexKey;
          // An existing index was written by an earlier run of this intent: an index of the same rows, kept.
          await createImmutable(ctx, target, serialized, `write index ${target}`);
          indexBytes = serialized.length;
          // BLAKE3 of the index object: the loader verifies it (5 GB/s) instead of the format's body CRC.
          indexHash = contentHash(serialized);
          // The eager region's size: a cold query reads it with one ranged GET (cold-index-reader.ts).
          indexEagerBytes = queryIndexEagerBytes(serialized);
        }
        let first = rows[0]?.rowId as bigint;
        let last = first;
        for (const { rowId } of rows) {
          if (rowId < first) first = rowId;
          if (rowId > last) last = rowId;
        }
        segmentRef = withExtra(
          {
            id: outputId,
            kind: "SEGMENT",
            key,
            rowCount: rows.length,
            byteSize: bytes.length,
            contentHash: contentHash(bytes),
            rowIdRange: { first: first as RowId, last: last as RowId },
          },
          { compaction_id: id, index_key: indexKey, index_bytes: indexKey === undefined ? undefined : indexBytes, index_hash: indexHash, index_eager_bytes: indexEagerBytes },
        );
      }

      // 4. Swap the inputs for the new segment.
      let rebased = false;
      let committedHere = false;
      let committed: Manifest;
      try {
        committed = await commitChange(ctx, path, (base) => {
          if (recentCompactions(base).includes(id)) return undefined;
          if (!isPrefix(base, inputs)) throw new DeadCompaction();
          const rest = base.containers.slice(inputs.length);
          rebased = base.version !== snapshotVersion || rest.length > 0;
          const retired: RetiredSegment[] = [...retiredSegments(base)];
          for (const ref of base.containers.slice(0, inputs.length)) {
            const wal = mutationWalId(ref);
            if (wal !== undefined) retired.push({ segmentId: ref.id, walId: wal });
          }
          committedHere = true;
          return withManifestExtra(
            { ...base, containers: segmentRef === undefined ? rest : [segmentRef, ...rest] },
            {
              retired_mutation_segments: retiredToWire(retired),
              recent_compactions: [...recentCompactions(base), id].slice(-RECENT_COMPACTIONS_LIMIT),
            },
          );
        });
      } catch (error) {
        if (!(error instanceof DeadCompaction)) throw error;
        await this.#abandon(path, store, intent, await ctx.manifests.readLatest(path));
        const after = await ctx.manifests.readLatest(path);
        return this.#notPerformed(after ?? latest);
      }
      // 5. Settle the intent.
      await settleIntent(ctx, path, id, "COMMITTED");
      return {
        performed: true,
        compactionId: id,
        inputContainers: inputs.length,
        liveDocuments: rows.length,
        segmentBytes: segmentRef?.byteSize ?? 0,
        indexBytes,
        removedObjects: 0,
        retiredObjects: committedHere ? refs.length : 0,
        rebased,
        version: committed.version,
      };
    } catch (error) {
      if (error instanceof SealedByOther) throw error;
      throw toEngineError(error, `compaction ${id} of ${formatNamespacePath(path)}`);
    } finally {
      this.#running.delete(id);
    }
  }

  /**
   * Seals `containerId`'s sidecar, creating it when absent unless `published` holds the container (its ref
   * records a published sidecar): then the sidecar is lost, `CorruptError` naming it (a fresh empty sidecar
   * would let the deleted rows into the new segment for good), once the latest manifest confirms it.
   */
  async #seal(path: NamespacePath, store: WalStore, compactionId: string, containerId: string, published: ReadonlyMap<string, ContainerRef>): Promise<void> {
    const sealedAt = this.#ctx.clock.now();
    const ref = published.get(containerId);
    const seal = (mustExist: boolean) =>
      store.updateTombstones(containerId, (current) => {
        if (current === null && mustExist) throw new LostSidecar();
        const seal = current?.value.seal;
        if (seal !== undefined) {
          if (seal.compactionId === compactionId) return CAS_NOOP;
          throw new SealedByOther(seal.compactionId);
        }
        const next: TombstoneSidecarInput = { seal: { compactionId, sealedAt }, positions: current?.value.positions ?? [] };
        return next;
      });
    try {
      await seal(ref !== undefined);
    } catch (error) {
      if (!(error instanceof LostSidecar) || ref === undefined) throw error;
      await assertSidecarNotLost(this.#ctx, path, ref, tombstonesKey(path, containerId));
      await seal(false); // not lost after all: the container left the latest manifest (the run will abandon)
    }
  }

  /** Settles a compaction that can never commit and releases its seals on containers still live. */
  async #abandon(path: NamespacePath, store: WalStore, intent: CompactionIntent, latest: Manifest | undefined): Promise<void> {
    const ctx = this.#ctx;
    await settleIntent(ctx, path, intent.compactionId, "ABANDONED");
    if (latest === undefined || latest.deletedAt !== undefined) return;
    const live = new Set(latest.containers.map((c) => c.id));
    await bounded(
      intent.inputContainers.filter((c) => live.has(c.id)),
      LOAD_CONCURRENCY,
      async (input) => {
        await store.updateTombstones(input.id, (current) => {
          if (current === null || current.value.seal?.compactionId !== intent.compactionId) return CAS_NOOP;
          return { positions: current.value.positions };
        });
      },
    );
  }
}

