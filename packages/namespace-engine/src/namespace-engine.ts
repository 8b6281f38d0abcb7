/**
 * NamespaceEngine: namespaces, manifests, the write log and reads over it,
 * on any StorageProvider, safe for many writer processes on many machines.
 *
 * Lifecycle: `createNamespace`, `getNamespace`, `listNamespaces`,
 * `updateLabels`, `updateTextFields` (full-text options per text field,
 * text-field-options.ts), `updateSchema` (the typed schema: id type,
 * attribute types, filterable; namespace-schema.ts), `deleteNamespace`. Writes: `upsert`, `patch`, `delete`,
 * and `write` (all three in one atomic commit, with per-document
 * conditions evaluated at commit) (validated, group-committed as one log
 * batch plus one manifest; options `ifVersion` and `idempotencyKey`). Predicate mutations:
 * `deleteByFilter`, `patchByFilter` (wal-engine pipeline). Maintenance:
 * `compact` (and a background trigger, on by default: tiered compaction
 * after a write that makes a run due), `recover`,
 * `collectWalGarbage`, `close`. Reads: `get`, `scan`, `documents`,
 * `manifest`, `listVersions`, with strong or eventual consistency and
 * `atVersion`.
 *
 * Opening: the first predicate mutation, compaction or `openNamespace` of a
 * namespace by an engine instance runs `recover` on it first (pending
 * compactions finished, the WAL recovery sweep, tombstone etags published);
 * plain reads and writes do not (a write may start a background compaction,
 * which opens the namespace first; `compaction: {auto: false}` turns that off).
 *
 * All coordination goes through create-only puts of numbered manifests
 * (see write-committer.ts and docs/namespace-engine.md); this process's own
 * manifest changes of one namespace run one at a time in its lane.
 * Time, randomness and row ids come from the injected Clock, Random and
 * IdGenerator, so a run with seeded ones replays.
 *
 * This class is the facade: it wires the rooms together (src/<room>/, each
 * with an index.ts saying what lives there), and each public method
 * delegates to its room: lifecycle/ (namespaces), write/ (writes and
 * predicate mutations), read/ (documents, manifests, queries), state/
 * (warming and pins), maintenance/ (recovery, compaction, garbage, repair).
 *
 * Errors: the typed errors of core/errors.ts only.
 */
import { CachingStorage, type StorageProvider } from "@skerry/storage-providers";
import { DEFAULT_MAX_TARGETS } from "@skerry/wal-engine";
import { type Clock, cryptoRandom, IdGenerator, type Manifest, type Random, systemClock } from "@skerry/wal-format";
import { QuerySlicer } from "@skerry/query";
import { asEngineError, DEFAULT_RETRY_POLICY, InvalidArgumentError, isImmutableEngineKey, namespaceId, type NamespacePath, type RetryPolicy, SerialQueue, toNamespacePath } from "./core/index.ts";
import { type CompactionReport, CompactionScheduler, type CompactionSettings, Compactor, DEFAULT_COMPACTION_SETTINGS } from "./compaction/index.ts";
import { type ForkNamespaceOptions, NamespaceLifecycle } from "./lifecycle/index.ts";
import { type CollectWalGarbageResult, DEFAULT_RETENTION, type GarbageReport, NamespaceMaintenance, type NamespaceRecoveryReport, type RepairOptions, type RepairReport, type RetentionPolicy, validateRetention } from "./maintenance/index.ts";
import { type EngineContext, ManifestReads, ManifestStore } from "./manifest/index.ts";
import { NamespaceWals } from "./mutation/index.ts";
import type { CreateNamespaceOptions, DeleteNamespaceResult, DocumentId, DocumentInput, DocumentPatch, ListingPageOptions, NamespaceInfo, NamespaceNamesPage, NamespaceSchemaInput, ReadOptions, ScanOptions, StoredDocument, TextFieldOptions, VersionsPage } from "./namespace/index.ts";
import { NamespaceQuery, type NamespaceQueryResult, type NamespaceQueryRows, NamespaceReads, type QueryCacheSettings, type QueryCacheStats, type QueryOptions } from "./read/index.ts";
import { RefcountShards } from "./sharing/index.ts";
import { type NamespaceState, PinStore, type StartReport, StateCache, type StateCacheStats, StatePersistence, type StatePersistenceStats, StateWarmer, type WarmResult } from "./state/index.ts";
import { type BatchWriteResult, type CarriedBatchOptions, type CommitPolicy, type CommitterStats, DEFAULT_CARRIED_BATCHES, DEFAULT_WRITE_LIMITS, type DeleteByFilterResult, DISABLED_CARRIED_BATCHES, type FilterInput, type GroupCommitOptions, NamespaceWrites, type PatchByFilterResult, type PredicateMutationOptions, type WriteBatch, WriteCommitter, type WriteLimits, type WriteOptions, type WriteResult } from "./write/index.ts";

// The public shapes of the rooms' calls, exported with the engine.
export type { CollectWalGarbageResult, FilterInput, ForkNamespaceOptions, NamespaceRecoveryReport, StartReport, WarmResult };

export interface NamespaceEngineOptions {
  readonly storage: StorageProvider;
  readonly clock?: Clock | undefined;
  readonly random?: Random | undefined;
  /** Mints row ids; default a generator on `clock` and `random`. */
  readonly idGenerator?: IdGenerator | undefined;
  /** Group commit settings, or false to commit every write alone. */
  readonly groupCommit?: Partial<GroupCommitOptions> | boolean | undefined;
  /**
   * Carried write batches (docs/namespace-engine.md, "Carried write batches"): a batch of at most
   * `maxBatchBytes` (default 1 MiB) rides in the manifest that commits it, so its commit is one create; a
   * larger one is written as its own object first. On by default; `false` writes every batch as an object.
   */
  readonly carriedBatches?: Partial<CarriedBatchOptions> | boolean | undefined;
  readonly limits?: Partial<WriteLimits> | undefined;
  /** Retries of single storage calls that fail retryably. */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /**
   * Manifest races a commit may lose before ConflictError; default 64. A write commit gives up only when it
   * has lost this many races AND tried for `maxCommitWaitMs` (docs/namespace-engine.md, "Contention").
   */
  readonly maxCommitAttempts?: number | undefined;
  /** Least time (engine clock) a write commit keeps trying under contention before ConflictError; default 10,000 ms. */
  readonly maxCommitWaitMs?: number | undefined;
  /** Backoff between lost manifest races. */
  readonly conflictBackoff?: Partial<RetryPolicy> | undefined;
  /**
   * How every backoff waits (storage retries, lost manifest races, the WAL engine's retries and re-locate
   * rounds); default `setTimeout`. Inject a simulated clock's sleep for deterministic runs.
   */
  readonly sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** Idempotency keys remembered per namespace (in its manifest); default 1,000. */
  readonly recentWritesLimit?: number | undefined;
  /** Staleness bound of the cached latest manifest for eventual reads, ms; default 1,000. */
  readonly readStalenessMs?: number | undefined;
  /** Namespaces whose materialized state is kept in memory; default 64 (pinned ones are never evicted). */
  readonly stateCacheEntries?: number | undefined;
  /** Estimated bytes of materialized state kept in memory; default 1 GiB (pinned ones are never evicted). */
  readonly stateCacheBytes?: number | undefined;
  /**
   * Local directory where warmed and pinned namespaces' materialized states are persisted (a framed-log
   * snapshot plus incremental entries per namespace), so a restarted engine warms from it plus the containers
   * committed since; off when absent. One engine per directory. See state-persistence.ts.
   */
  readonly stateDir?: string | undefined;
  /** Increments appended to a persisted state before its snapshot is rewritten; default 64. */
  readonly stateSnapshotEvery?: number | undefined;
  /** Compaction policy, thresholds and the background trigger (`auto`, on by default). */
  readonly compaction?: Partial<CompactionSettings> | undefined;
  /** Lease of a WAL driver or compaction, ms; default 60,000 (recovery takes over expired ones). */
  readonly leaseMs?: number | undefined;
  /** Most documents one predicate mutation may target; default 100,000. */
  readonly maxMutationTargets?: number | undefined;
  /** Re-locate rounds of a predicate mutation whose targets a compaction has sealed. */
  readonly relocate?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number } | undefined;
  /**
   * Called with errors of background compactions (default: ignored; the next run retries), and with problems
   * of persisted tail chunk indexes (an object that could not be read or written, or was rejected as corrupt:
   * CorruptError naming its key; the query goes on and indexes the chunk itself).
   */
  readonly onBackgroundError?: ((error: unknown, path: string) => void) | undefined;
  /**
   * Called with every recovery's report: the automatic one when this
   * instance first opens a namespace, and each explicit `recover` (for
   * metrics; an exception it throws is ignored).
   */
  readonly onRecover?: ((path: string, report: NamespaceRecoveryReport) => void) | undefined;
  /**
   * Manifest retention: keep the newest `keepVersions` (default 16) and every version superseded less than
   * `keepForMs` ago (default one hour). `collectGarbage` and every compaction apply it.
   */
  readonly retention?: Partial<RetentionPolicy> | undefined;
  /**
   * A commit never builds on a base confirmed as the latest longer ago than this (it re-reads instead), ms;
   * default 60,000. Keep `retention.keepForMs` well above it.
   */
  readonly maxBaseAgeMs?: number | undefined;
  /** Query caches: loaded segment indexes (bytes) and prepared versions (entries, tail bytes); see namespace-query.ts. */
  readonly queryCache?: Partial<QueryCacheSettings> | undefined;
  /**
   * Time-slices query work that grows with the answer (docs/query.md, "Slicing"): every query of this
   * engine yields to the event loop when the slicer's per-turn budget is spent. Default a QuerySlicer of
   * 6 ms per turn on `performance.now` and `setImmediate`; pass one to inject time, or to share its budget
   * with other work of the process (e.g. a server serializing the answers).
   */
  readonly querySlicer?: QuerySlicer | undefined;
  /**
   * A block cache in front of `storage` for the objects that never change once written (segments, query
   * indexes, log batches, tombstone snapshots): a memory tier of `memoryBytes` and optionally a disk directory
   * that survives restarts and may be shared by several processes (`CachingStorage`, docs/storage-providers.md).
   * Cold queries' ranged reads (eager regions, lists, rows) then hit it. Off when absent.
   */
  readonly blockCache?: BlockCacheOptions | undefined;
}

/** Budgets of the engine's block cache (`NamespaceEngineOptions.blockCache`). */
export interface BlockCacheOptions {
  /** Memory tier, bytes; default 256 MiB. */
  readonly memoryBytes?: number | undefined;
  /** Cached block size, bytes; default 64 KiB. */
  readonly blockBytes?: number | undefined;
  /** Disk tier: a directory and its byte budget (approximate when shared by several processes). */
  readonly disk?: { readonly dir: string; readonly maxBytes: number } | undefined;
}

export interface NamespaceEngineStats extends CommitterStats {
  /** Row containers fetched and folded into materialized states. */
  containersFolded: number;
  /** The materialized-state cache. */
  stateCache: StateCacheStats;
  /** Local persistence of states (`stateDir`), when on. */
  statePersistence?: StatePersistenceStats;
}


type Path = string | NamespacePath;

export class NamespaceEngine {
  readonly storage: StorageProvider;
  // The rooms the public methods delegate to, and what stats() and close() read.
  readonly #states: StateCache;
  readonly #persistence: StatePersistence | undefined;
  readonly #committer: WriteCommitter;
  readonly #query: NamespaceQuery;
  readonly #reads: ManifestReads;
  readonly #lifecycle: NamespaceLifecycle;
  readonly #maintenance: NamespaceMaintenance;
  readonly #scheduler: CompactionScheduler;
  readonly #writes: NamespaceWrites;
  readonly #documents: NamespaceReads;
  readonly #warmer: StateWarmer;

  constructor(options: NamespaceEngineOptions) {
    const storage =
      options.blockCache === undefined
        ? options.storage
        : new CachingStorage(options.storage, {
            isImmutable: isImmutableEngineKey,
            memoryBytes: options.blockCache.memoryBytes ?? 256 * 1024 * 1024,
            blockBytes: options.blockCache.blockBytes ?? 64 * 1024,
            ...(options.blockCache.disk === undefined ? {} : { disk: { ...options.blockCache.disk } }),
          });
    this.storage = storage;
    const clock = options.clock ?? systemClock;
    const random = options.random ?? cryptoRandom;
    const ids = options.idGenerator ?? new IdGenerator({ clock, random });
    const limits: WriteLimits = { ...DEFAULT_WRITE_LIMITS, ...options.limits };
    const sleeps = options.sleep === undefined ? {} : { sleep: options.sleep };
    const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry, ...sleeps };
    const conflictBackoff: RetryPolicy = { attempts: 1, baseDelayMs: 1, maxDelayMs: 50, ...options.conflictBackoff, ...sleeps };
    const maxCommitAttempts = options.maxCommitAttempts ?? 64;
    const manifests = new ManifestStore(storage, clock, random, retry, (m) => ids.advancePast(m.rowIdHighWater), options.maxBaseAgeMs ?? 60_000);
    const retention = validateRetention({ ...DEFAULT_RETENTION, ...options.retention });
    const persistence =
      options.stateDir === undefined
        ? undefined
        : new StatePersistence({
            dir: options.stateDir,
            readVersion: (p, version) => manifests.readVersion(p, version),
            settings: options.stateSnapshotEvery === undefined ? undefined : { snapshotEvery: options.stateSnapshotEvery },
          });
    const states = new StateCache(storage, random, retry, options.stateCacheEntries ?? 64, options.stateCacheBytes ?? 1024 ** 3, persistence);
    const lanes = new SerialQueue();
    const group: GroupCommitOptions =
      options.groupCommit === false
        ? { enabled: false, maxWaitMs: 0, maxOps: limits.maxBatchOps, maxBytes: limits.maxBatchBytes }
        : {
            enabled: true,
            maxWaitMs: 0,
            maxOps: limits.maxBatchOps,
            maxBytes: limits.maxBatchBytes,
            ...(typeof options.groupCommit === "object" ? options.groupCommit : {}),
          };
    const policy: CommitPolicy = {
      maxCommitAttempts,
      maxCommitWaitMs: options.maxCommitWaitMs ?? 10_000,
      conflictBackoff,
      recentWritesLimit: options.recentWritesLimit ?? 1_000,
    };
    const committer = new WriteCommitter({ storage, manifests, states, lanes, clock, random, retry, group, policy, carried: carriedBatchOptions(options.carriedBatches) });
    const ctx: EngineContext = { storage, clock, random, ids, retry, conflictBackoff, maxCommitAttempts, manifests, states, lanes };
    const wals = new NamespaceWals(ctx, {
      leaseMs: options.leaseMs ?? 60_000,
      maxTargets: options.maxMutationTargets ?? DEFAULT_MAX_TARGETS,
      relocate: { maxAttempts: 40, baseDelayMs: 20, maxDelayMs: 1_000, ...options.relocate },
    });
    const compactor = new Compactor(ctx, wals, { ...DEFAULT_COMPACTION_SETTINGS, ...options.compaction });
    const shards = new RefcountShards(ctx);
    const pins = new PinStore(ctx);
    const reads = new ManifestReads(manifests, options.readStalenessMs ?? 1_000);
    const onBackgroundError = options.onBackgroundError;
    const maintenance = new NamespaceMaintenance({ ctx, reads, wals, compactor, shards, retention, onRecover: options.onRecover });
    const scheduler = new CompactionScheduler(compactor, manifests, (p) => maintenance.compact(p, false), onBackgroundError);

    this.#states = states;
    this.#persistence = persistence;
    this.#committer = committer;
    this.#reads = reads;
    this.#maintenance = maintenance;
    this.#scheduler = scheduler;
    this.#query = new NamespaceQuery({
      storage,
      random,
      retry,
      clock,
      readManifest: (p, o) => reads.read(p, o),
      readState: (p, m, fn) => states.read(p, m, fn),
      settings: options.queryCache,
      slicer: options.querySlicer ?? new QuerySlicer(),
      onTailIndexProblem: (error, p) => onBackgroundError?.(asEngineError(error), namespaceId(p)),
    });
    this.#lifecycle = new NamespaceLifecycle({ ctx, reads, shards, pins });
    this.#writes = new NamespaceWrites({
      ctx,
      committer,
      wals,
      ids,
      limits,
      open: (p) => maintenance.open(p),
      finishCompactions: (p) => compactor.recover(p),
      afterWrite: (p) => scheduler.afterWrite(p),
    });
    this.#documents = new NamespaceReads(ctx, reads, limits.maxBatchOps);
    this.#warmer = new StateWarmer(states, pins, reads, persistence);
  }

  /** Counters of the query caches (segment indexes loaded, prepared versions). */
  queryStats(): QueryCacheStats {
    return this.#query.stats();
  }

  /**
   * Resolves once the query caches' background work queued so far is done: tail chunk merges deferred off the
   * query's path (`queryStats().tailMerges`) and persisted tail chunk indexes being written.
   */
  settleQueryWork(): Promise<void> {
    return this.#query.flush();
  }

  /** Counters of this engine's work (commits, batch objects, lost races, folded containers). */
  stats(): NamespaceEngineStats {
    const stats: NamespaceEngineStats = { ...this.#committer.stats, containersFolded: this.#states.containersFolded, stateCache: this.#states.stats() };
    if (this.#persistence !== undefined) stats.statePersistence = this.#persistence.stats();
    return stats;
  }

  // ------------------------------------------------------------- lifecycle (lifecycle/)

  /** Creates a namespace (version 1, or the next version after a deleted incarnation); NamespaceExists if it is live. */
  async createNamespace(path: Path, options: CreateNamespaceOptions = {}): Promise<NamespaceInfo> {
    return this.#lifecycle.create(toNamespacePath(path), options);
  }

  /** Info about a live namespace at its latest (or a given) version. */
  async getNamespace(path: Path, options: ReadOptions = {}): Promise<NamespaceInfo> {
    return this.#lifecycle.get(toNamespacePath(path), options);
  }

  /** Names of the live namespaces of a project, sorted. */
  async listNamespaces(org: string, project: string): Promise<string[]> {
    return this.#lifecycle.list(org, project);
  }

  /**
   * One page of a project's live namespace names, sorted: those after
   * `after` (exclusive), at most `limit`, and whether more follow (see
   * namespace/listing-pages.ts).
   */
  async listNamespacesPage(org: string, project: string, options: ListingPageOptions<string>): Promise<NamespaceNamesPage> {
    return this.#lifecycle.listPage(org, project, options);
  }

  /** Replaces the labels of a namespace (one manifest commit). */
  async updateLabels(path: Path, labels: Readonly<Record<string, string>>, options: { ifVersion?: number } = {}): Promise<NamespaceInfo> {
    return this.#lifecycle.updateLabels(toNamespacePath(path), labels, options);
  }

  /**
   * Replaces the full-text options of the namespace's text fields (one manifest commit; fields not listed
   * get the defaults). They apply to what is indexed from then on: the log tail at once, segments when
   * compaction rewrites them; until then each partition keeps the tokenization it was indexed with and a
   * query tokenizes per partition (docs/namespace-engine.md, "Text fields"). k1 and b apply to every query
   * at once. InvalidArgument (UnsupportedLanguage for a language without a stemmer and stop words).
   */
  async updateTextFields(path: Path, textFields: Readonly<Record<string, TextFieldOptions>>, options: { ifVersion?: number } = {}): Promise<NamespaceInfo> {
    return this.#lifecycle.updateTextFields(toNamespacePath(path), textFields, options);
  }

  /**
   * Declares schema: the id type and attribute types, `filterable` and options (namespace-schema.ts), merged into
   * the namespace's schema in one manifest commit. Adding attributes is allowed, and widening `int` to `float`;
   * changing a type (or a set id type) is a SchemaChangeError. Documents already written are not re-checked,
   * except that `uint` or `uuid` ids may be declared on a namespace holding rows written without an id type only
   * when every live id is of that type (e.g. the 20-digit keys of uint ids).
   * Returns the info with the schema committed.
   */
  async updateSchema(path: Path, schema: NamespaceSchemaInput, options: { ifVersion?: number } = {}): Promise<NamespaceInfo> {
    return this.#lifecycle.updateSchema(toNamespacePath(path), schema, options);
  }

  /**
   * Deletes a namespace: commits a final version marked deleted (concurrent
   * writers then fail with NamespaceNotFound), then removes its objects and
   * older manifests. On an already deleted namespace it finishes an
   * interrupted cleanup and reports `alreadyDeleted`.
   */
  async deleteNamespace(path: Path): Promise<DeleteNamespaceResult> {
    return this.#lifecycle.delete(toNamespacePath(path));
  }

  /**
   * Copy-on-write branch: a new namespace (same project) whose first
   * manifest is `source` at its latest (or `atVersion`) version. Immutable
   * objects are shared (reference counted), tombstone sidecars copied; the
   * two never see each other's later writes. See sharing/namespace-fork.ts.
   */
  async branchNamespace(source: Path, target: Path, options: ForkNamespaceOptions = {}): Promise<NamespaceInfo> {
    return this.#lifecycle.fork(toNamespacePath(source), toNamespacePath(target), "branch", options);
  }

  /** Full copy: like a branch, but every object is copied (nothing shared); the target may be in another project. */
  async copyNamespace(source: Path, target: Path, options: ForkNamespaceOptions = {}): Promise<NamespaceInfo> {
    return this.#lifecycle.fork(toNamespacePath(source), toNamespacePath(target), "copy", options);
  }

  // ----------------------------------------------------------- maintenance (maintenance/)

  /**
   * Manifest retention and garbage collection of one namespace: deletes the
   * versions the policy (engine option `retention`, or `options.retention`)
   * lets expire, then the objects no retained version references (shared
   * ones only when no other namespace holds them). See maintenance/manifest-retention.ts.
   */
  async collectGarbage(path: Path, options: { retention?: Partial<RetentionPolicy> } = {}): Promise<GarbageReport> {
    return this.#maintenance.collectGarbage(toNamespacePath(path), options.retention);
  }

  /**
   * Rebuilds a project's reference counts from every live namespace's
   * retained manifests, finishes interrupted namespace deletions and, with
   * `sweep`, deletes objects nothing references that are older than
   * `graceMs`. See maintenance/project-repair.ts.
   */
  async repair(org: string, project: string, options: RepairOptions = {}): Promise<RepairReport> {
    return this.#maintenance.repair(org, project, options);
  }

  /** The refcount entries of a project: object key -> holder count (objects held by their owner alone have none). */
  async refcounts(org: string, project: string): Promise<Map<string, number>> {
    return this.#maintenance.refcounts(org, project);
  }

  /**
   * Runs `recover` on `path` once per engine instance (the first predicate
   * mutation or compaction does this itself). A failed attempt is retried
   * on the next call.
   */
  async openNamespace(path: Path): Promise<void> {
    return this.#maintenance.open(toNamespacePath(path));
  }

  /**
   * Recovery of one namespace, on demand: finishes compactions whose lease
   * expired, runs the wal-engine recovery sweep (interrupted deleteByFilter
   * / patchByFilter), then publishes the tombstone sidecars' etags.
   */
  async recover(path: Path): Promise<NamespaceRecoveryReport> {
    return this.#maintenance.recover(toNamespacePath(path));
  }

  /**
   * Garbage collection of finished mutation WALs (and settled compaction
   * intents) older than `graceMs` (default one day); then drops the ids of
   * retired UPDATE segments whose WAL docs are gone from the manifest.
   */
  async collectWalGarbage(path: Path, options: { graceMs?: number } = {}): Promise<CollectWalGarbageResult> {
    return this.#maintenance.collectWalGarbage(toNamespacePath(path), options.graceMs ?? 24 * 3600 * 1000);
  }

  /**
   * Compacts a namespace: folds its log batches, segments and tombstones
   * into one segment (with its query index) without blocking writers. Below
   * the thresholds it does nothing unless `force`.
   */
  async compact(path: Path, options: { force?: boolean } = {}): Promise<CompactionReport> {
    return this.#maintenance.compact(toNamespacePath(path), options.force === true);
  }

  /** Stops scheduling background compactions and waits for the running ones. */
  async close(): Promise<void> {
    await this.#scheduler.close();
    await this.#query.flush(); // persisted tail chunk indexes being written
    await this.#persistence?.flush(); // persisted states reach the disk
    if (this.storage instanceof CachingStorage) await this.storage.flush(); // the block cache's disk writes finish
  }

  // ------------------------------------------------------ state and pins (state/)

  /**
   * Loads the namespace's materialized state at its latest version into the
   * cache ahead of queries (one build, shared with concurrent readers).
   */
  async warm(path: Path): Promise<WarmResult> {
    return this.#warmer.warm(toNamespacePath(path));
  }

  /**
   * Pins a namespace: persisted in the engine-wide pins document (so every
   * engine's `start` warms it), exempt from eviction here, and warmed now.
   */
  async pin(path: Path): Promise<WarmResult> {
    return this.#warmer.pin(toNamespacePath(path));
  }

  /** Unpins a namespace (persisted); its state becomes evictable. */
  async unpin(path: Path): Promise<void> {
    return this.#warmer.unpin(toNamespacePath(path));
  }

  /** The persisted pinned namespaces, sorted. */
  async pinnedNamespaces(): Promise<string[]> {
    return this.#warmer.pinned();
  }

  /**
   * Reads the persisted pins and warms every pinned namespace (call once
   * after constructing an engine in a long-running process). A pinned
   * namespace that cannot be warmed is reported, not fatal.
   */
  async start(): Promise<StartReport> {
    return this.#warmer.start();
  }

  // ---------------------------------------------------------------- writes (write/)

  /** Inserts or replaces whole documents. */
  async upsert(path: Path, docs: readonly DocumentInput<DocumentId>[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#writes.upsert(toNamespacePath(path), docs, options);
  }

  /** Changes fields of existing documents (`null` removes a field); DocumentNotFound if one is missing. */
  async patch(path: Path, patches: readonly DocumentPatch<DocumentId>[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#writes.patch(toNamespacePath(path), patches, options);
  }

  /** Deletes documents by id (ids that do not exist are no-ops, and still counted). */
  async delete(path: Path, ids: readonly DocumentId[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#writes.delete(toNamespacePath(path), ids, options);
  }

  /**
   * One atomic write of upserts, patches and deletes, each kind with an optional per-document condition (a filter
   * whose operands may be `{"$ref_new": attribute}`, write-condition.ts). The conditions are evaluated inside the
   * commit, against the documents at the version the commit lands on (after a lost manifest race, against the new
   * latest), so no other write can come between a check and its operation; the operations that apply commit as
   * ONE version. Order: upserts, then patches, then deletes (a patch sees the batch's upserts). An upsert of a
   * missing document always applies; patches and deletes of missing documents are skipped (no error). Returns the
   * ids each kind affected. Options as for `upsert`; with `ifVersion` the batch commits alone.
   */
  async write(path: Path, batch: WriteBatch, options: WriteOptions = {}): Promise<BatchWriteResult> {
    return this.#writes.write(toNamespacePath(path), batch, options);
  }

  /**
   * Deletes every document matching `filter` at one snapshot (the latest
   * manifest), through the wal-engine pipeline. Writes committed after the
   * snapshot win over it, per document (docs/namespace-engine.md).
   */
  async deleteByFilter(path: Path, filter: FilterInput, options: PredicateMutationOptions = {}): Promise<DeleteByFilterResult> {
    return this.#writes.deleteByFilter(toNamespacePath(path), filter, options);
  }

  /**
   * Applies `patch` (fields as in `patch`; `null` removes) to every document
   * matching `filter` at one snapshot, as a wal-engine UPDATE: the patched
   * documents are written as one segment, then the old rows tombstoned.
   */
  async patchByFilter(path: Path, filter: FilterInput, patch: Omit<DocumentPatch, "id">, options: PredicateMutationOptions = {}): Promise<PatchByFilterResult> {
    return this.#writes.patchByFilter(toNamespacePath(path), filter, patch, options);
  }

  // ----------------------------------------------------------------- reads (read/)

  /** Documents by id, aligned with `ids` (null where absent). */
  async get(path: Path, ids: readonly DocumentId[], options: ReadOptions = {}): Promise<(StoredDocument | null)[]> {
    return this.#documents.get(toNamespacePath(path), ids, options);
  }

  /** One page of documents in id order. */
  async scan(path: Path, options: ScanOptions = {}): Promise<{ documents: StoredDocument[]; next: string | undefined; version: number }> {
    return this.#documents.scan(toNamespacePath(path), options);
  }

  /** Every document in id order (use `scan` for large namespaces). */
  async documents(path: Path, options: ReadOptions = {}): Promise<StoredDocument[]> {
    return this.#documents.documents(toNamespacePath(path), options);
  }

  /**
   * Answers a query (the JSON body of docs/query.md, validated with
   * `parseQueryRequest` against the namespace's dimension) over one manifest
   * version: `consistency` / `atVersion` from the request or `options`.
   * Segment indexes load lazily; the log tail is searched exactly. See
   * read/namespace-query.ts.
   */
  async query(path: Path, request: unknown, options: QueryOptions = {}): Promise<NamespaceQueryResult> {
    const p = toNamespacePath(path);
    return this.#reads.confirmCorrupt(p, () => this.#query.query(p, request, options));
  }

  /**
   * `query`, with the rows made on demand: `rows.length`, and `rows.row(i)`
   * (the row `query` returns) or `rows.json(i)` (its JSON text, byte for
   * byte) for each row when it is needed, e.g. as a response is written.
   * Ranking is done when the promise resolves; rows read only the immutable
   * query indexes of the version answered.
   */
  async queryRows(path: Path, request: unknown, options: QueryOptions = {}): Promise<NamespaceQueryRows> {
    const p = toNamespacePath(path);
    return this.#reads.confirmCorrupt(p, () => this.#query.queryRows(p, request, options));
  }

  /** The manifest a read with these options would use. */
  async manifest(path: Path, options: ReadOptions = {}): Promise<Manifest> {
    return this.#reads.read(toNamespacePath(path), options);
  }

  /** Manifest versions stored for a namespace, ascending (deleted namespaces included). */
  async listVersions(path: Path): Promise<number[]> {
    return this.#documents.listVersions(toNamespacePath(path));
  }

  /** One page of the stored manifest versions, ascending or newest first, after `after` (see namespace/listing-pages.ts). */
  async listVersionsPage(path: Path, options: ListingPageOptions<number> & { readonly order: "asc" | "desc" }): Promise<VersionsPage> {
    return this.#documents.listVersionsPage(toNamespacePath(path), options);
  }

  /** Runs `fn` on the materialized state a read with these options would see (for the query layer and tests). */
  async withState<T>(path: Path, options: ReadOptions, fn: (state: NamespaceState, manifest: Manifest) => T): Promise<T> {
    return this.#documents.withState(toNamespacePath(path), options, fn);
  }
}

function carriedBatchOptions(option: Partial<CarriedBatchOptions> | boolean | undefined): CarriedBatchOptions {
  if (option === false) return DISABLED_CARRIED_BATCHES;
  if (option === undefined || option === true) return DEFAULT_CARRIED_BATCHES;
  const merged = { ...DEFAULT_CARRIED_BATCHES, ...option };
  if (!Number.isSafeInteger(merged.maxBatchBytes) || merged.maxBatchBytes < 0) {
    throw new InvalidArgumentError(`carriedBatches.maxBatchBytes must be an integer >= 0; got ${String(merged.maxBatchBytes)}`);
  }
  return merged;
}
