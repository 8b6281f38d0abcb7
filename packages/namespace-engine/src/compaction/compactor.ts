/**
 * Compactor: folds a run of a namespace's containers (log batches,
 * segments and their tombstones) into Arrow IPC segments, without blocking
 * writers, plus each segment's query index; and recovery of interrupted
 * compactions. Which run: compaction-policy.ts (the whole namespace, the
 * tail, or a merge of adjacent segments; docs/namespace-engine.md).
 *
 * One compaction, given a snapshot manifest S and a run of its containers
 * (the inputs):
 *   1. create the intent (`compactions/<id>.json`, INTENT, with a lease, the
 *      inputs and the pre-chosen output segment ids);
 *   2. seal every input's tombstone sidecar with the compaction id (CAS;
 *      creating the sidecar when absent), the run's first input alone
 *      first. A seal held by another compaction (an overlapping run chosen
 *      from another snapshot) makes this one give up: it releases the seals
 *      it holds and settles ABANDONED. From the seal on, the wal-engine's
 *      tombstone phase leaves these sidecars alone and re-locates its
 *      targets until the swap commits;
 *   3. read the inputs and their sidecars AFTER sealing (so every bit set
 *      before the seal is folded in), fold them (`#foldRun`: a run after
 *      the first container keeps the ids it deleted as delete markers), and
 *      write the live documents (id order, each with its RowId in `_id`),
 *      cut into segments within the size bounds, as `segments/<id>.arrow`
 *      (create-only; a re-run of the same intent builds the same bytes) and
 *      their query indexes as `segments/<id>.qidx`;
 *   4. commit a manifest (create-and-rebase) that replaces exactly the input
 *      containers, which must still be adjacent and in order in the latest
 *      manifest, by the new segments, keeping the containers before them and
 *      every container that landed meanwhile after them; UPDATE segments
 *      among the inputs move to `retired_mutation_segments`, the compaction
 *      id to `recent_compactions` (the commit is idempotent by it);
 *   5. settle the intent COMMITTED.
 * Old objects are not deleted: retained manifest versions still reference
 * them (docs/namespace-engine.md, retention).
 *
 * Interrupted compactions are FINISHED, not rolled back: recovery re-runs
 * steps 2-5 of a pending intent whose lease has expired (sealing is
 * idempotent, the fold of sealed inputs is deterministic). An intent is
 * abandoned (its seals on containers still live released) when the latest
 * manifest shows it can never commit (an input is gone: only a namespace
 * deletion or re-creation does that, since overlapping compactions exclude
 * each other through the seals), when a seal is another compaction's, or
 * when a later run's PATCH bases changed before the swap (`StaleBases`).
 *
 * Errors: namespace-engine typed errors.
 */
import { CAS_NOOP, createOnce, WalAlreadyExistsError, type WalStore } from "@skerry/wal-engine";
import {
  type CompactionIntent,
  type ContainerRef,
  contentHash,
  encodeRowBatch,
  type Manifest,
  type RowId,
  stringifyExact,
  type TombstoneSidecarInput,
} from "@skerry/wal-format";
import { createIntent, listIntentIds, readIntent, settleIntent } from "./compaction-intents.ts";
import { loadContainer, type LoadedContainer, NamespaceState } from "../state/index.ts";
import { assertSidecarNotLost, commitChange, deletedIdsOf, type EngineContext, indexKeyOf, maskedPositions, mutationWalId, RECENT_COMPACTIONS_LIMIT, recentCompactions, type RetiredSegment, retiredSegments, retiredToWire, sidecarForRead, tombstonesEtag, withExtra, withManifestExtra } from "../manifest/index.ts";
import { chooseRun, type CompactionPolicyName, type CompactionPolicySettings, type CompactionRun, fullRun } from "./compaction-policy.ts";
import { createImmutable, formatNamespacePath, namespaceId, NamespaceNotFoundError, type NamespacePath, randomUuid, segmentIndexKey, segmentKey, SerialQueue, toEngineError, tombstonesKey, toWalRetryPolicy } from "../core/index.ts";
import type { NamespaceWals } from "../mutation/index.ts";
import { buildQueryIndex, coldReadableIndexFormat, queryIndexEagerBytes, serializeQueryIndex } from "@skerry/query";
import { type StoredDocument, textFieldConfigs, textIndexKey, unfilterableAttributes } from "../namespace/index.ts";
import type { LogEntry } from "../log/index.ts";
import { foldIdentity } from "../tail/index.ts";
import { storedIndexVersion } from "./stored-index-version.ts";

export interface CompactionSettings extends CompactionPolicySettings {
  /** Compact in the background when a write makes a run due; default true (false: only `compact` does). */
  readonly auto: boolean;
  /** Which containers a compaction folds (compaction-policy.ts): "tiered" or "full"; default "tiered". */
  readonly policy: CompactionPolicyName;
  /** Log batches that make a namespace (tiered: its tail) due; default 32. */
  readonly maxLogBatches: number;
  /** Bytes of log batches that make a namespace (tiered: its tail) due; default 64 MiB. */
  readonly maxLogBytes: number;
  /** Containers of any kind that make a namespace (tiered: its tail) due; default 64. */
  readonly maxContainers: number;
  /** Tiered: adjacent segments of one size tier merged at once (and the tiers' size ratio); default 4. */
  readonly mergeFactor: number;
  /** Tiered: upper bound of the smallest size tier, bytes; default 1 MiB. */
  readonly tierBaseBytes: number;
  /**
   * Tiered: a merge never makes a segment larger than this (bytes); default 1 GiB. A segment's float32 vectors
   * are part of its bytes, so its loaded vector memory (raw rows, plus the normalized copy for COSINE) stays
   * within 2 GiB, under wasm32's 4 GiB per partition (docs/query.md "Limits"); about 1.6M rows at 128 dims.
   */
  readonly maxSegmentBytes: number;
  /** Tiered: a merge never makes a segment of more rows than this; default 4,000,000. */
  readonly maxSegmentRows: number;
  /** Tiered: delete markers the manifest's segments may carry before the next compaction folds everything; default 50,000. */
  readonly maxDeleteMarkers: number;
  /** Build the segment's query index (with IVF when `ann`); default true. */
  readonly buildIndex: boolean;
  /** Delay before a background compaction starts, ms; default 0. */
  readonly delayMs: number;
}

export const DEFAULT_COMPACTION_SETTINGS: CompactionSettings = {
  auto: true,
  policy: "tiered",
  maxLogBatches: 32,
  maxLogBytes: 64 * 1024 * 1024,
  maxContainers: 64,
  mergeFactor: 4,
  tierBaseBytes: 1024 * 1024,
  maxSegmentBytes: 1024 * 1024 * 1024,
  maxSegmentRows: 4_000_000,
  maxDeleteMarkers: 50_000,
  buildIndex: true,
  delayMs: 0,
};

export interface CompactionReport {
  /** False when there was nothing to do (below thresholds without `force`, or already compact). */
  readonly performed: boolean;
  readonly compactionId?: string;
  /** Containers folded. */
  readonly inputContainers: number;
  /** Which run was folded (compaction-policy.ts): the whole namespace, the tail, or a merge of segments. */
  readonly runKind?: "full" | "tail" | "merge";
  /** Documents in the new segment. */
  readonly liveDocuments: number;
  /** Delete markers the new segment carries (ids deleted by the run whose older versions may live before it). */
  readonly deleteMarkers?: number;
  /** Bytes of the new segments (a run larger than `maxSegmentBytes` writes several, id ranges in order). */
  readonly segmentBytes: number;
  /** Segments written, when more than one. */
  readonly outputSegments?: number;
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

/**
 * The containers a later run took PATCH bases from changed before its swap (a tombstone published on them,
 * or a merge replaced them), or a re-run of the intent folded other bytes than an earlier run stored: the
 * fold may no longer match what readers see before the run, so the compaction gives up (the next one
 * folds afresh).
 */
class StaleBases extends Error {}

/** Thrown inside a seal's CAS when a sidecar the manifest records as published is absent. */
class LostSidecar extends Error {}

function isUnsettled(intent: CompactionIntent | undefined): intent is CompactionIntent {
  return intent !== undefined && intent.state !== "COMMITTED" && intent.state !== "ABANDONED";
}

class SealedByOther extends Error {
  constructor(readonly compactionId: string) {
    super(`sealed by compaction ${compactionId}`);
  }
}

const LOAD_CONCURRENCY = 8;

type Row = { readonly doc: StoredDocument; readonly rowId: RowId };

/** Most output segments one compaction may write. */
const MAX_OUTPUTS = 256;

/**
 * Output segment ids an intent pre-allocates: enough for the inputs' bytes (twice over: a segment can be
 * larger than the log batches it folds) in segments of `maxSegmentBytes`, at least 1.
 */
function outputSlots(inputs: readonly ContainerRef[], s: CompactionSettings): number {
  let bytes = 0;
  for (const c of inputs) bytes += c.byteSize;
  return Math.min(MAX_OUTPUTS, Math.max(1, Math.ceil((2 * bytes) / Math.max(1, s.maxSegmentBytes))));
}

/** Estimated encoded bytes of one row (id, row id, vector, sparse, text and attributes as JSON). */
function rowBytes(row: Row): number {
  const doc = row.doc;
  let bytes = 24 + doc.id.length;
  if (doc.vector !== undefined) bytes += doc.vector.byteLength;
  if (doc.sparse !== undefined) bytes += doc.sparse.indices.byteLength + doc.sparse.values.byteLength;
  if (doc.text !== undefined) bytes += JSON.stringify(doc.text).length;
  if (doc.attributes !== undefined) bytes += stringifyExact(doc.attributes).length;
  return bytes;
}

/**
 * `rows` (id order) cut into consecutive chunks of about equal estimated bytes, as few as keep each within
 * `maxSegmentBytes` and `maxSegmentRows`, at most `slots`; always at least one (possibly empty) chunk.
 */
export function splitRows(rows: readonly Row[], slots: number, s: Pick<CompactionSettings, "maxSegmentBytes" | "maxSegmentRows">): Row[][] {
  const sizes = rows.map(rowBytes);
  const total = sizes.reduce((sum, n) => sum + n, 0);
  const wanted = Math.max(1, Math.ceil(total / Math.max(1, s.maxSegmentBytes)), Math.ceil(rows.length / Math.max(1, s.maxSegmentRows)));
  const k = Math.max(1, Math.min(slots, wanted, rows.length));
  if (k === 1) return [[...rows]];
  const chunks: Row[][] = [];
  let current: Row[] = [];
  let seen = 0;
  rows.forEach((row, i) => {
    current.push(row);
    seen += sizes[i] as number;
    const rowsLeft = rows.length - i - 1;
    const chunksLeft = k - chunks.length - 1;
    const due = seen >= (total * (chunks.length + 1)) / k || current.length >= s.maxSegmentRows;
    // Cut when the chunk reached its share, or when every later chunk needs one of the rows left.
    if (chunksLeft > 0 && (rowsLeft === chunksLeft || (rowsLeft > chunksLeft && due))) {
      chunks.push(current);
      current = [];
    }
  });
  chunks.push(current);
  return chunks;
}

/** Where `inputs` sit, in order and adjacent, in `manifest`; -1 when they do not. */
function runStart(manifest: Manifest, inputs: readonly { readonly id: string }[]): number {
  const start = manifest.containers.findIndex((c) => c.id === inputs[0]?.id);
  if (start < 0 || start + inputs.length > manifest.containers.length) return -1;
  return inputs.every((input, i) => manifest.containers[start + i]?.id === input.id) ? start : -1;
}

/**
 * Runs `fn` over `items`, `limit` at a time. After a failure no new item starts, and the call settles only
 * once every started one has: a seal still in flight when another seal failed must not land after the
 * abandon that releases this compaction's seals (it would stay, held by an ABANDONED intent).
 */
async function bounded<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && failure === undefined) {
        const index = next++;
        try {
          await fn(items[index] as T, index);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure !== undefined) throw failure.error;
}

export class Compactor {
  readonly #ctx: EngineContext;
  readonly #wals: NamespaceWals;
  readonly settings: CompactionSettings;
  readonly #lanes = new SerialQueue();
  /** Compactions this process is running (recovery leaves them alone). */
  readonly #running = new Set<string>();
  /**
   * Namespaces whose run another process's unsettled compaction has sealed, with its id and the end of its
   * lease: while it is unsettled and its lease lasts, every compaction here could only lose the seal (an
   * intent spent for nothing), so none is attempted (one read of its intent instead); after the lease the
   * next one first finishes it (recovery), e.g. after that process crashed.
   */
  readonly #held = new Map<string, { compactionId: string; until: number }>();

  constructor(ctx: EngineContext, wals: NamespaceWals, settings: CompactionSettings) {
    this.#ctx = ctx;
    this.#wals = wals;
    this.settings = settings;
  }

  /** True when the policy has a run to compact in `manifest`. */
  isDue(manifest: Manifest): boolean {
    return chooseRun(manifest, this.settings) !== undefined;
  }

  /** Compacts `path` if due (or `force`); one compaction per namespace at a time in this process. */
  compact(path: NamespacePath, force: boolean): Promise<CompactionReport> {
    return this.#lanes.run(namespaceId(path), async () => {
      const ctx = this.#ctx;
      let snapshot = await ctx.manifests.readLatest(path);
      if (snapshot === undefined || snapshot.deletedAt !== undefined) throw new NamespaceNotFoundError(formatNamespacePath(path));
      const held = this.#held.get(namespaceId(path));
      if (held !== undefined && ctx.clock.now() < held.until && isUnsettled(await readIntent(ctx, path, held.compactionId).catch(() => undefined))) {
        return this.#notPerformed(snapshot);
      }
      if (held !== undefined) {
        // The holder settled, or its lease is over: finish (or abandon) what is left of it, then compact.
        this.#held.delete(namespaceId(path));
        const recovered = await this.#recover(path);
        if (recovered.finished > 0 || recovered.abandoned > 0) {
          snapshot = await ctx.manifests.readLatest(path);
          if (snapshot === undefined || snapshot.deletedAt !== undefined) throw new NamespaceNotFoundError(formatNamespacePath(path));
        }
      }
      const run = force ? fullRun(snapshot) : chooseRun(snapshot, this.settings);
      if (run === undefined) return this.#notPerformed(snapshot);
      const inputs = snapshot.containers.slice(run.start, run.end);
      const alreadyCompact =
        inputs.length === 1 &&
        inputs[0]?.kind === "SEGMENT" &&
        (run.start === 0 || run.kind === "merge") &&
        inputs[0].tombstonesKey === undefined &&
        maskedPositions(inputs[0]) === undefined &&
        (run.start > 0 || deletedIdsOf(inputs[0]).length === 0) &&
        // A segment indexed under other full-text options is re-indexed.
        textOptionsOf(inputs[0]) === textIndexKey(snapshot.textFields) &&
        // So is one whose index the cold paths cannot read by ranges (format 2, loaded-only.ts).
        (await this.#coldReadable(inputs[0]));
      if (alreadyCompact) return this.#notPerformed(snapshot);
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
        outputSegmentIds: Array.from({ length: outputSlots(inputs, this.settings) }, () => randomUuid(ctx.random)),
      };
      await createIntent(ctx, path, intent);
      try {
        return await this.#run(path, intent, snapshot.version, run.kind);
      } catch (error) {
        if (!(error instanceof SealedByOther)) throw error;
        // Lost a seal: another compaction owns (part of) the run. Release ours and give up; while that one's
        // lease lasts, attempt no other (the next one after it finishes it if it is still unsettled).
        const latest = await ctx.manifests.readLatest(path);
        await this.#abandon(path, this.#wals.for(path).store, intent, latest);
        const holder = await readIntent(ctx, path, error.compactionId).catch(() => undefined);
        if (isUnsettled(holder) && holder.lease?.owner !== this.#wals.handleId) {
          this.#held.set(namespaceId(path), { compactionId: holder.compactionId, until: holder.lease?.expiresAt ?? ctx.clock.now() });
        }
        return this.#notPerformed(latest ?? snapshot);
      }
    });
  }

  /** False when the segment's query index is of a format the cold paths do not read by ranges (format 2). */
  async #coldReadable(ref: ContainerRef): Promise<boolean> {
    const key = indexKeyOf(ref);
    return key === undefined || coldReadableIndexFormat(await storedIndexVersion(this.#ctx, key));
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
        // A seal is someone else's: it never owned the whole run. Release what it sealed.
        await this.#abandon(path, this.#wals.for(path).store, intent, await ctx.manifests.readLatest(path));
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
  async #run(path: NamespacePath, intent: CompactionIntent, snapshotVersion: number, runKind?: CompactionRun["kind"]): Promise<CompactionReport> {
    const ctx = this.#ctx;
    const id = intent.compactionId;
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

      // 3. Read the sealed inputs (refs from the latest manifest, where they must still be adjacent, in order).
      const latest = await ctx.manifests.readLatest(path);
      const start = latest === undefined || latest.deletedAt !== undefined ? -1 : runStart(latest, inputs);
      if (latest === undefined || latest.deletedAt !== undefined || start < 0) {
        if (latest !== undefined && recentCompactions(latest).includes(id)) {
          await settleIntent(ctx, path, id, "COMMITTED");
          return { ...this.#notPerformed(latest), performed: true, compactionId: id, inputContainers: inputs.length, version: latest.version };
        }
        await this.#abandon(path, store, intent, latest);
        return this.#notPerformed(latest ?? ({ version: snapshotVersion } as Manifest));
      }
      const refs = latest.containers.slice(start, start + inputs.length);
      const loaded: LoadedContainer[] = new Array(refs.length);
      await bounded(refs, LOAD_CONCURRENCY, async (ref, i) => {
        loaded[i] = await loadContainer(ctx, ref, tombstonesKey(path, ref.id));
      });
      const { rows, deleted, bases } = await this.#foldRun(latest.containers.slice(0, start), refs, loaded);

      // One segment per chunk of the rows (id order, each within the size bounds, as many as the intent has
      // output ids); the markers go with the last one.
      const segmentRefs: ContainerRef[] = [];
      let indexBytes = 0;
      const chunks = rows.length > 0 || deleted.length > 0 ? splitRows(rows, intent.outputSegmentIds.length, this.settings) : [];
      for (let c = 0; c < chunks.length; c++) {
        const written = await this.#writeSegment(path, latest, intent.outputSegmentIds[c] as string, id, chunks[c] as Row[], c === chunks.length - 1 ? deleted : []);
        segmentRefs.push(written.ref);
        indexBytes += written.indexBytes;
      }

      // 4. Swap the inputs for the new segment.
      let rebased = false;
      let committedHere = false;
      let committed: Manifest;
      try {
        committed = await commitChange(ctx, path, (base) => {
          if (recentCompactions(base).includes(id)) return undefined;
          const at = runStart(base, inputs);
          if (at < 0) throw new DeadCompaction();
          if (bases !== undefined) {
            const now = new Map(base.containers.slice(0, at).map((c) => [c.id, foldIdentity(c)]));
            for (const [cid, identity] of bases) if (now.get(cid) !== identity) throw new StaleBases();
          }
          const before = base.containers.slice(0, at);
          const rest = base.containers.slice(at + inputs.length);
          rebased = base.version !== snapshotVersion || rest.length > 0;
          const retired: RetiredSegment[] = [...retiredSegments(base)];
          for (const ref of base.containers.slice(at, at + inputs.length)) {
            const wal = mutationWalId(ref);
            if (wal !== undefined) retired.push({ segmentId: ref.id, walId: wal });
          }
          committedHere = true;
          return withManifestExtra(
            { ...base, containers: [...before, ...segmentRefs, ...rest] },
            {
              retired_mutation_segments: retiredToWire(retired),
              recent_compactions: [...recentCompactions(base), id].slice(-RECENT_COMPACTIONS_LIMIT),
            },
          );
        });
      } catch (error) {
        if (!(error instanceof DeadCompaction) && !(error instanceof StaleBases)) throw error;
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
        ...(runKind === undefined ? {} : { runKind }),
        liveDocuments: rows.length,
        deleteMarkers: deleted.length,
        segmentBytes: segmentRefs.reduce((sum, ref) => sum + ref.byteSize, 0),
        ...(segmentRefs.length > 1 ? { outputSegments: segmentRefs.length } : {}),
        indexBytes,
        removedObjects: 0,
        retiredObjects: committedHere ? refs.length : 0,
        rebased,
        version: committed.version,
      };
    } catch (error) {
      if (error instanceof SealedByOther) throw error;
      if (error instanceof StaleBases) {
        const latest = await ctx.manifests.readLatest(path);
        await this.#abandon(path, store, intent, latest);
        return this.#notPerformed(latest ?? ({ version: snapshotVersion } as Manifest));
      }
      throw toEngineError(error, `compaction ${id} of ${formatNamespacePath(path)}`);
    } finally {
      this.#running.delete(id);
    }
  }

  /** Writes one output segment of `rows` (and its query index) under `outputId`; its ref carries `deleted` as markers. */
  async #writeSegment(
    path: NamespacePath,
    latest: Manifest,
    outputId: string,
    compactionId: string,
    rows: readonly Row[],
    deleted: readonly string[],
  ): Promise<{ ref: ContainerRef; indexBytes: number }> {
    const ctx = this.#ctx;
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
    try {
      await createOnce(ctx.storage, key, bytes, { policy: toWalRetryPolicy(ctx.retry), random: ctx.random });
    } catch (error) {
      // An earlier run of this intent stored other bytes: only a later run's PATCH bases can differ.
      if (error instanceof WalAlreadyExistsError) throw new StaleBases();
      throw error;
    }
    let indexKey: string | undefined;
    let indexHash: string | undefined;
    let indexEagerBytes: number | undefined;
    let indexBytes = 0;
    if (this.settings.buildIndex) {
      const index = buildQueryIndex(
        rows.map((r) => r.doc),
        // `ann: true` trains an IVF index once the segment holds enough
        // vectors (the query module's `minDocuments`); smaller segments
        // are searched exactly.
        // Text fields are indexed under the namespace's current full-text options (text-field-options.ts).
        { metric: latest.vector?.metric ?? "COSINE", ann: true, ...(dimension === undefined ? {} : { dimension }), textFields: textFieldConfigs(latest.textFields), unindexed: unfilterableAttributes(latest.schema) },
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
    let range: { first: RowId; last: RowId } | undefined;
    for (const { rowId } of rows) {
      if (range === undefined) range = { first: rowId, last: rowId };
      else if (rowId < range.first) range.first = rowId;
      else if (rowId > range.last) range.last = rowId;
    }
    const ref = withExtra(
      {
        id: outputId,
        kind: "SEGMENT",
        key,
        rowCount: rows.length,
        byteSize: bytes.length,
        contentHash: contentHash(bytes),
        ...(range === undefined ? {} : { rowIdRange: range }),
      },
      {
        compaction_id: compactionId,
        index_key: indexKey,
        index_bytes: indexKey === undefined ? undefined : indexBytes,
        index_hash: indexHash,
        index_eager_bytes: indexEagerBytes,
        text_options: indexKey === undefined ? undefined : textIndexKey(latest.textFields),
        deleted_ids: deleted.length === 0 ? undefined : [...deleted],
      },
    );
    return { ref, indexBytes };
  }

  /**
   * Folds a run of sealed containers (`refs`, loaded) that follows `before`.
   * A run starting at the first container folds like the whole namespace:
   * its live documents, no markers. A later run yields the documents it
   * touched (any applied entry, a tombstone or a delete marker) that are live
   * at its end, and, as delete markers, the touched ids that are not: their
   * older versions may live in `before`. A PATCH whose document the run has
   * not written before needs its base from `before`: those containers are
   * folded (their published tombstones) only when such a PATCH exists, and
   * then `bases` holds their fold identities: the swap requires them
   * unchanged (`StaleBases`).
   */
  async #foldRun(
    before: readonly ContainerRef[],
    refs: readonly ContainerRef[],
    loaded: readonly LoadedContainer[],
  ): Promise<{ rows: { doc: StoredDocument; rowId: RowId }[]; deleted: string[]; bases?: ReadonlyMap<string, string> }> {
    const state = NamespaceState.empty();
    const fold = (into: NamespaceState, containers: readonly ContainerRef[], items: readonly LoadedContainer[]): void => {
      containers.forEach((ref, i) => {
        const item = items[i] as LoadedContainer;
        into.apply(ref.id, item.entries, { tombstoned: item.tombstoned, masked: maskedPositions(ref), replaces: mutationWalId(ref) !== undefined });
      });
    };
    if (before.length === 0) {
      fold(state, refs, loaded);
      return { rows: state.rowsInIdOrder(), deleted: [] };
    }
    const touched = new Set<string>();
    const needsBase = new Set<string>();
    refs.forEach((ref, i) => {
      const item = loaded[i] as LoadedContainer;
      const masked = maskedPositions(ref);
      item.entries.forEach((entry, position) => {
        if (masked?.has(position) === true || touched.has(entry.id)) return;
        touched.add(entry.id);
        if (entry.op === "PATCH" && item.tombstoned?.has(position) !== true) needsBase.add(entry.id);
      });
    });
    if (needsBase.size > 0) {
      const prefix = NamespaceState.empty();
      const prefixLoaded: LoadedContainer[] = new Array(before.length);
      await bounded(before, LOAD_CONCURRENCY, async (ref, i) => {
        prefixLoaded[i] = await loadContainer(this.#ctx, ref, sidecarForRead(ref));
      });
      fold(prefix, before, prefixLoaded);
      const bases: LogEntry[] = [];
      for (const id of [...needsBase].sort()) {
        const doc = prefix.get(id);
        const at = prefix.locate(id);
        if (doc === undefined || at === undefined) continue;
        bases.push({
          op: "UPSERT",
          id,
          rowId: at.rowId,
          ...(doc.vector === undefined ? {} : { vector: doc.vector }),
          ...(doc.sparse === undefined ? {} : { sparse: doc.sparse }),
          ...(doc.text === undefined ? {} : { text: doc.text }),
          ...(doc.attributes === undefined ? {} : { attributes: doc.attributes }),
        });
      }
      state.apply("", bases);
    }
    fold(state, refs, loaded);
    const rows: { doc: StoredDocument; rowId: RowId }[] = [];
    const deleted: string[] = [];
    const bases = needsBase.size === 0 ? undefined : new Map(before.map((ref) => [ref.id, foldIdentity(ref)]));
    for (const id of [...touched].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const doc = state.get(id);
      const at = state.locate(id);
      if (doc === undefined || at === undefined) deleted.push(id);
      else rows.push({ doc, rowId: at.rowId });
    }
    return bases === undefined ? { rows, deleted } : { rows, deleted, bases };
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
    // Seals first, then the intent: a crash in between leaves the intent pending, and recovery runs it again
    // (it may even commit). The other order could leave seals of an ABANDONED intent that nobody releases,
    // and a predicate mutation targeting those containers waiting for them forever.
    if (latest !== undefined && latest.deletedAt === undefined) {
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
    await settleIntent(ctx, path, intent.compactionId, "ABANDONED");
  }
}


/** The full-text options key a segment's index was built under (`text_options`), undefined for none. */
function textOptionsOf(ref: ContainerRef): string | undefined {
  const key = ref.extra?.["text_options"];
  return typeof key === "string" ? key : undefined;
}
