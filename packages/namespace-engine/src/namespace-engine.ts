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
 * Errors: the typed errors of errors.ts only.
 */
import { CachingStorage, type StorageProvider } from "@skerry/storage-providers";
import { asEngineError, backoffMs, ConflictError, DEFAULT_RETRY_POLICY, formatNamespacePath, InvalidArgumentError, isCorrupt, isImmutableEngineKey, manifestPrefix, manifestVersionOf, NamespaceExistsError, namespaceId, NamespaceNotFoundError, type NamespacePath, randomUuid, registryPrefix, type RetryPolicy, SchemaChangeError, SchemaViolationError, SerialQueue, sleep, toNamespacePath, validatePathPart, VersionConflictError, VersionNotFoundError, withRetry } from "./core/index.ts";
import { DEFAULT_MAX_TARGETS, type RecoveryReport, type WalGcReport } from "@skerry/wal-engine";
import {
  type Clock,
  cryptoRandom,
  DISTANCE_METRICS,
  IdGenerator,
  type Manifest,
  type NamespaceSchema,
  type DistanceMetric as ManifestMetric,
  type Random,
  rowId,
  systemClock,
} from "@skerry/wal-format";
import { type CreateNamespaceOptions, type DeleteNamespaceResult, type DistanceMetric, type DocumentId, documentIdKey, type DocumentInput, type DocumentPatch, fitsIdType, type ListingPageOptions, listNamespaceNamesPage, listVersionsPage, liveNamespaces, mergeSchema, type NamespaceInfo, type NamespaceNamesPage, type NamespaceSchemaInput, normalizedStringId, type ReadOptions, resolveSchemaInput, resolveTextFields, type ScanOptions, schemaInfo, type StoredDocument, type TextFieldOptions, textFieldsRecord, type VersionsPage } from "./namespace/index.ts";
import { commitChange, type EngineContext, isManifestRollback, ManifestStore, refreshTombstones, registerNamespace, retiredSegments, retiredToWire, withManifestExtra } from "./manifest/index.ts";
import { type ForkMode, forkNamespace, purgeNamespace, RefcountShards } from "./sharing/index.ts";
import { collectManifestGarbage, DEFAULT_RETENTION, type GarbageReport, type RepairOptions, repairProject, type RepairReport, type RetentionPolicy, validateRetention } from "./maintenance/index.ts";
import { type NamespaceState, PinStore, StateCache, type StateCacheStats, StatePersistence, type StatePersistenceStats } from "./state/index.ts";
import { type CompactionRecoveryReport, type CompactionReport, type CompactionSettings, Compactor, DEFAULT_COMPACTION_SETTINGS, deleteIntent, listIntentIds, readIntent } from "./compaction/index.ts";
import { NamespaceWals } from "./mutation/index.ts";
import { type BatchWriteResult, type CarriedBatchOptions, type CommitPolicy, type CommitterStats, DEFAULT_CARRIED_BATCHES, DEFAULT_WRITE_LIMITS, deleteByFilter, type DeleteByFilterResult, DISABLED_CARRIED_BATCHES, encodeBatch, encodeDelete, type EncodedWrite, encodePatch, encodeUpsert, type GroupCommitOptions, MAX_IDEMPOTENCY_KEY_LENGTH, type MutationDependencies, patchByFilter, type PatchByFilterResult, type PredicateMutationOptions, type WriteBatch, WriteCommitter, type WriteLimits, type WriteOptions, type WriteResult } from "./write/index.ts";
import { type Filter, parseQueryRequest, QuerySlicer } from "@skerry/query";
import { NamespaceQuery, type NamespaceQueryResult, type NamespaceQueryRows, type QueryCacheSettings, type QueryCacheStats, type QueryOptions } from "./read/index.ts";

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

/** Options of `branchNamespace` and `copyNamespace`. */
export interface ForkNamespaceOptions {
  /** Source version; default the latest. */
  readonly atVersion?: number | undefined;
  /** Labels of the new namespace; default the source's. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

/** What `recover` did. */
export interface NamespaceRecoveryReport {
  readonly compactions: CompactionRecoveryReport;
  readonly wal: RecoveryReport;
  /** Manifest version after publishing tombstone etags. */
  readonly version: number;
}

export interface CollectWalGarbageResult {
  readonly wal: WalGcReport;
  /** Settled compaction intents deleted. */
  readonly compactionIntentsDeleted: number;
  /** Retired UPDATE segment ids dropped from the manifest (their WAL docs are gone). */
  readonly retiredSegmentsPruned: number;
}

/** A filter: the query module's parsed `Filter`, or its JSON tuple form (`["status", "Eq", "stale"]`). */
export type FilterInput = Filter | readonly unknown[];

function toFilter(input: FilterInput): Filter {
  if (Array.isArray(input)) {
    const parsed = parseQueryRequest({ filters: input, topK: 1 }).filters;
    if (parsed === undefined) throw new InvalidArgumentError("filter is required");
    return parsed;
  }
  if (typeof input !== "object" || input === null || typeof (input as { kind?: unknown }).kind !== "string") {
    throw new InvalidArgumentError("filter must be a parsed Filter or a filter tuple");
  }
  return input as Filter;
}

export interface NamespaceEngineStats extends CommitterStats {
  /** Row containers fetched and folded into materialized states. */
  containersFolded: number;
  /** The materialized-state cache. */
  stateCache: StateCacheStats;
  /** Local persistence of states (`stateDir`), when on. */
  statePersistence?: StatePersistenceStats;
}

/** What `warm` loaded. */
export interface WarmResult {
  readonly path: string;
  readonly version: number;
  readonly docCount: number;
  /** Estimated bytes of the materialized state. */
  readonly bytes: number;
}

/** What `start` did with the persisted pins. */
export interface StartReport {
  readonly warmed: readonly WarmResult[];
  /** Pinned namespaces that could not be warmed (deleted, or a failing read), with the error code. */
  readonly failed: readonly { readonly path: string; readonly code: string }[];
}

const MAX_LABELS = 64;
const DEFAULT_SCAN_LIMIT = 1_000;

type Path = string | NamespacePath;

function metricToWire(metric: DistanceMetric | undefined): ManifestMetric {
  const value = metric ?? "cosine";
  const wire = value.toUpperCase();
  if (typeof value !== "string" || !(DISTANCE_METRICS as readonly string[]).includes(wire)) {
    throw new InvalidArgumentError(`distanceMetric must be one of cosine, dot, euclidean; got ${JSON.stringify(metric)}`);
  }
  return wire as ManifestMetric;
}

function validateLabels(labels: unknown): Map<string, string> {
  if (labels === undefined) return new Map();
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) throw new InvalidArgumentError("labels must be an object of strings");
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw new InvalidArgumentError(`at most ${MAX_LABELS} labels; got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128) throw new InvalidArgumentError(`label keys must be 1-128 characters: ${JSON.stringify(key)}`);
    if (typeof value !== "string" || value.length > 1024) {
      throw new InvalidArgumentError(`label ${JSON.stringify(key)} must be a string of at most 1,024 characters`);
    }
  }
  return new Map(entries as [string, string][]);
}

function validateWriteOptions(options: WriteOptions): void {
  const { ifVersion, idempotencyKey } = options;
  if (ifVersion !== undefined && (!Number.isSafeInteger(ifVersion) || ifVersion < 1)) {
    throw new InvalidArgumentError(`ifVersion must be a positive integer; got ${String(ifVersion)}`);
  }
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== "string" || idempotencyKey.length < 1 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)
  ) {
    throw new InvalidArgumentError(`idempotencyKey must be a string of 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
}

export class NamespaceEngine {
  readonly storage: StorageProvider;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #ids: IdGenerator;
  readonly #limits: WriteLimits;
  readonly #retry: RetryPolicy;
  readonly #conflictBackoff: RetryPolicy;
  readonly #maxCommitAttempts: number;
  readonly #readStalenessMs: number;
  readonly #manifests: ManifestStore;
  readonly #states: StateCache;
  readonly #persistence: StatePersistence | undefined;
  readonly #lanes = new SerialQueue();
  readonly #committer: WriteCommitter;
  readonly #ctx: EngineContext;
  readonly #wals: NamespaceWals;
  readonly #compactor: Compactor;
  readonly #opened = new Map<string, Promise<unknown>>();
  readonly #scheduled = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #onBackgroundError: ((error: unknown, path: string) => void) | undefined;
  readonly #onRecover: ((path: string, report: NamespaceRecoveryReport) => void) | undefined;
  readonly #shards: RefcountShards;
  readonly #retention: RetentionPolicy;
  readonly #pins: PinStore;
  readonly #query: NamespaceQuery;
  #closed = false;

  constructor(options: NamespaceEngineOptions) {
    this.storage =
      options.blockCache === undefined
        ? options.storage
        : new CachingStorage(options.storage, {
            isImmutable: isImmutableEngineKey,
            memoryBytes: options.blockCache.memoryBytes ?? 256 * 1024 * 1024,
            blockBytes: options.blockCache.blockBytes ?? 64 * 1024,
            ...(options.blockCache.disk === undefined ? {} : { disk: { ...options.blockCache.disk } }),
          });
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? cryptoRandom;
    this.#ids = options.idGenerator ?? new IdGenerator({ clock: this.#clock, random: this.#random });
    this.#limits = { ...DEFAULT_WRITE_LIMITS, ...options.limits };
    const sleeps = options.sleep === undefined ? {} : { sleep: options.sleep };
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry, ...sleeps };
    this.#conflictBackoff = { attempts: 1, baseDelayMs: 1, maxDelayMs: 50, ...options.conflictBackoff, ...sleeps };
    this.#maxCommitAttempts = options.maxCommitAttempts ?? 64;
    this.#readStalenessMs = options.readStalenessMs ?? 1_000;
    const ids = this.#ids;
    this.#manifests = new ManifestStore(
      this.storage,
      this.#clock,
      this.#random,
      this.#retry,
      (m) => ids.advancePast(m.rowIdHighWater),
      options.maxBaseAgeMs ?? 60_000,
    );
    this.#retention = validateRetention({ ...DEFAULT_RETENTION, ...options.retention });
    this.#persistence =
      options.stateDir === undefined
        ? undefined
        : new StatePersistence({
            dir: options.stateDir,
            readVersion: (p, version) => this.#manifests.readVersion(p, version),
            settings: options.stateSnapshotEvery === undefined ? undefined : { snapshotEvery: options.stateSnapshotEvery },
          });
    const [entries, bytes] = [options.stateCacheEntries ?? 64, options.stateCacheBytes ?? 1024 ** 3];
    this.#states = new StateCache(this.storage, this.#random, this.#retry, entries, bytes, this.#persistence);
    const group: GroupCommitOptions =
      options.groupCommit === false
        ? { enabled: false, maxWaitMs: 0, maxOps: this.#limits.maxBatchOps, maxBytes: this.#limits.maxBatchBytes }
        : {
            enabled: true,
            maxWaitMs: 0,
            maxOps: this.#limits.maxBatchOps,
            maxBytes: this.#limits.maxBatchBytes,
            ...(typeof options.groupCommit === "object" ? options.groupCommit : {}),
          };
    const policy: CommitPolicy = {
      maxCommitAttempts: this.#maxCommitAttempts,
      maxCommitWaitMs: options.maxCommitWaitMs ?? 10_000,
      conflictBackoff: this.#conflictBackoff,
      recentWritesLimit: options.recentWritesLimit ?? 1_000,
    };
    this.#committer = new WriteCommitter({
      storage: this.storage,
      manifests: this.#manifests,
      states: this.#states,
      lanes: this.#lanes,
      clock: this.#clock,
      random: this.#random,
      retry: this.#retry,
      group,
      policy,
      carried: carriedBatchOptions(options.carriedBatches),
    });
    this.#ctx = {
      storage: this.storage,
      clock: this.#clock,
      random: this.#random,
      ids: this.#ids,
      retry: this.#retry,
      conflictBackoff: this.#conflictBackoff,
      maxCommitAttempts: this.#maxCommitAttempts,
      manifests: this.#manifests,
      states: this.#states,
      lanes: this.#lanes,
    };
    this.#wals = new NamespaceWals(this.#ctx, {
      leaseMs: options.leaseMs ?? 60_000,
      maxTargets: options.maxMutationTargets ?? DEFAULT_MAX_TARGETS,
      relocate: { maxAttempts: 40, baseDelayMs: 20, maxDelayMs: 1_000, ...options.relocate },
    });
    this.#compactor = new Compactor(this.#ctx, this.#wals, { ...DEFAULT_COMPACTION_SETTINGS, ...options.compaction });
    this.#onBackgroundError = options.onBackgroundError;
    this.#onRecover = options.onRecover;
    this.#shards = new RefcountShards(this.#ctx);
    this.#pins = new PinStore(this.#ctx);
    this.#query = new NamespaceQuery({
      storage: this.storage,
      random: this.#random,
      retry: this.#retry,
      clock: this.#clock,
      readManifest: (p, o) => this.#readManifest(p, o),
      readState: (p, m, fn) => this.#states.read(p, m, fn),
      settings: options.queryCache,
      slicer: options.querySlicer ?? new QuerySlicer(),
      onTailIndexProblem: (error, p) => this.#onBackgroundError?.(asEngineError(error), namespaceId(p)),
    });
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

  // ------------------------------------------------------------- lifecycle

  /** Creates a namespace (version 1, or the next version after a deleted incarnation); NamespaceExists if it is live. */
  async createNamespace(path: Path, options: CreateNamespaceOptions = {}): Promise<NamespaceInfo> {
    const p = toNamespacePath(path);
    const metric = metricToWire(options.distanceMetric);
    const labels = validateLabels(options.labels);
    const textFields = options.textFields === undefined ? undefined : resolveTextFields(options.textFields);
    const schema = options.schema === undefined ? undefined : mergeSchema(undefined, resolveSchemaInput(options.schema), false);
    const name = formatNamespacePath(p);
    // The registry marker goes first: a namespace is never live without being listable.
    await registerNamespace(this.storage, this.#retry, this.#random, p);
    return this.#lanes.run(namespaceId(p), async () => {
      for (let attempt = 1; attempt <= this.#maxCommitAttempts; attempt++) {
        const latest = await this.#manifests.readLatest(p);
        if (latest !== undefined && latest.deletedAt === undefined) throw new NamespaceExistsError(name);
        if (latest !== undefined) await purgeNamespace(this.#ctx, this.#shards, p, latest.version);
        const now = this.#clock.now();
        const manifest: Manifest = {
          schemaVersion: 1,
          namespace: name,
          version: latest === undefined ? 1 : latest.version + 1,
          createdAt: now,
          updatedAt: now,
          vector: { metric },
          ...(textFields === undefined || textFields.size === 0 ? {} : { textFields }),
          ...(schema === undefined ? {} : { schema }),
          containers: [],
          rowIdHighWater: rowId(0n),
          recentWrites: [],
          labels,
          extra: { incarnation: randomUuid(this.#random) },
        };
        if ((await this.#manifests.create(p, manifest)) === "created") {
          this.#states.invalidate(p);
          return this.#info(p, manifest, 0);
        }
        await sleep(backoffMs(this.#conflictBackoff, attempt, this.#random), this.#conflictBackoff);
      }
      throw new ConflictError(`creating ${name} lost the manifest race ${this.#maxCommitAttempts} times`);
    });
  }

  /** Info about a live namespace at its latest (or a given) version. */
  async getNamespace(path: Path, options: ReadOptions = {}): Promise<NamespaceInfo> {
    const p = toNamespacePath(path);
    // Adopt pins and unpins made by other engines (read at most readStalenessMs ago).
    if ((await this.#pins.list(this.#readStalenessMs)).has(formatNamespacePath(p))) this.#states.pin(p);
    else this.#states.unpin(p);
    return this.#confirmCorrupt(p, async () => {
      const manifest = await this.#readManifest(p, options);
      const docCount = await this.#states.read(p, manifest, (state) => state.size);
      return this.#info(p, manifest, docCount);
    });
  }

  /** Names of the live namespaces of a project, sorted. */
  async listNamespaces(org: string, project: string): Promise<string[]> {
    validatePathPart(org, "organization");
    validatePathPart(project, "project");
    const prefix = registryPrefix(org, project);
    const names = await withRetry(`list ${prefix}`, this.#retry, this.#random, async () => {
      const out: string[] = [];
      for await (const meta of this.storage.list(prefix)) out.push(meta.key.slice(prefix.length));
      return out;
    });
    const live = await liveNamespaces(this.#ctx, org, project, names);
    return names.filter((_, i) => live[i]).sort();
  }

  /**
   * One page of a project's live namespace names, sorted: those after
   * `after` (exclusive), at most `limit`, and whether more follow (see
   * listing-pages.ts).
   */
  listNamespacesPage(org: string, project: string, options: ListingPageOptions<string>): Promise<NamespaceNamesPage> {
    return listNamespaceNamesPage(this.#ctx, org, project, options);
  }

  /** Replaces the labels of a namespace (one manifest commit). */
  async updateLabels(path: Path, labels: Readonly<Record<string, string>>, options: { ifVersion?: number } = {}): Promise<NamespaceInfo> {
    const p = toNamespacePath(path);
    const next = validateLabels(labels);
    validateWriteOptions(options);
    const committed = await this.#commitMetadata(p, options.ifVersion, (base) => ({ ...base, labels: next }));
    const docCount = await this.#states.read(p, committed, (state) => state.size);
    return this.#info(p, committed, docCount);
  }

  /**
   * Replaces the full-text options of the namespace's text fields (one manifest commit; fields not listed
   * get the defaults). They apply to what is indexed from then on: the log tail at once, segments when
   * compaction rewrites them; until then each partition keeps the tokenization it was indexed with and a
   * query tokenizes per partition (docs/namespace-engine.md, "Text fields"). k1 and b apply to every query
   * at once. InvalidArgument (UnsupportedLanguage for a language without a stemmer and stop words).
   */
  async updateTextFields(
    path: Path,
    textFields: Readonly<Record<string, TextFieldOptions>>,
    options: { ifVersion?: number } = {},
  ): Promise<NamespaceInfo> {
    const p = toNamespacePath(path);
    const next = resolveTextFields(textFields);
    validateWriteOptions(options);
    const committed = await this.#commitMetadata(p, options.ifVersion, (base) => {
      const { textFields: _, ...rest } = base;
      return next.size === 0 ? rest : { ...rest, textFields: next };
    });
    const docCount = await this.#states.read(p, committed, (state) => state.size);
    return this.#info(p, committed, docCount);
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
    const p = toNamespacePath(path);
    const declared = resolveSchemaInput(schema);
    validateWriteOptions(options);
    const idType = declared.idType;
    for (let attempt = 1; ; attempt++) {
      // Declaring uint or uuid ids on a namespace that holds rows written without an id type: its live ids must
      // all be of that type (checked at one version, committed on that version only).
      let checked: number | undefined;
      if (idType === "uint" || idType === "uuid") {
        const latest = await this.#readManifest(p, {});
        if (latest.schema?.idType === undefined && latest.containers.length > 0) {
          const fit = await this.#states.read(p, latest, (state) => state.sortedIds().every((id) => fitsIdType(id, idType)));
          if (!fit) throw new SchemaChangeError("id", "string (the namespace holds ids of another type)", idType);
          checked = latest.version;
        }
      }
      let moved = false;
      const committed = await this.#commitMetadata(p, options.ifVersion, (base) => {
        if (checked !== undefined && base.version !== checked) moved = true;
        return { ...base, schema: mergeSchema(base.schema, declared, !moved && checked !== undefined ? false : base.containers.length > 0 && base.schema?.idType === undefined) };
      }).catch((error: unknown) => {
        if (moved && error instanceof SchemaChangeError && attempt < this.#maxCommitAttempts) return undefined;
        throw error;
      });
      if (committed === undefined) continue; // rows were written after the check: check again
      const docCount = await this.#states.read(p, committed, (state) => state.size);
      return this.#info(p, committed, docCount);
    }
  }

  /**
   * Deletes a namespace: commits a final version marked deleted (concurrent
   * writers then fail with NamespaceNotFound), then removes its objects and
   * older manifests. On an already deleted namespace it finishes an
   * interrupted cleanup and reports `alreadyDeleted`.
   */
  async deleteNamespace(path: Path): Promise<DeleteNamespaceResult> {
    const p = toNamespacePath(path);
    const name = formatNamespacePath(p);
    return this.#lanes.run(namespaceId(p), async () => {
      for (let attempt = 1; attempt <= this.#maxCommitAttempts; attempt++) {
        const latest = await this.#manifests.readLatest(p);
        if (latest === undefined) throw new NamespaceNotFoundError(name);
        if (latest.deletedAt !== undefined) {
          const objectsDeleted = await purgeNamespace(this.#ctx, this.#shards, p, latest.version);
          this.#states.invalidate(p);
          return { version: latest.version, alreadyDeleted: true, objectsDeleted };
        }
        const now = this.#clock.now();
        const final: Manifest = { ...latest, version: latest.version + 1, updatedAt: now, deletedAt: now, containers: [], recentWrites: [] };
        if ((await this.#manifests.create(p, final)) === "created") {
          this.#states.invalidate(p);
          const objectsDeleted = await purgeNamespace(this.#ctx, this.#shards, p, final.version);
          return { version: final.version, alreadyDeleted: false, objectsDeleted };
        }
        await sleep(backoffMs(this.#conflictBackoff, attempt, this.#random), this.#conflictBackoff);
      }
      throw new ConflictError(`deleting ${name} lost the manifest race ${this.#maxCommitAttempts} times`);
    });
  }

  /**
   * Copy-on-write branch: a new namespace (same project) whose first
   * manifest is `source` at its latest (or `atVersion`) version. Immutable
   * objects are shared (reference counted), tombstone sidecars copied; the
   * two never see each other's later writes. See namespace-fork.ts.
   */
  async branchNamespace(source: Path, target: Path, options: ForkNamespaceOptions = {}): Promise<NamespaceInfo> {
    return this.#fork(source, target, "branch", options);
  }

  /** Full copy: like a branch, but every object is copied (nothing shared); the target may be in another project. */
  async copyNamespace(source: Path, target: Path, options: ForkNamespaceOptions = {}): Promise<NamespaceInfo> {
    return this.#fork(source, target, "copy", options);
  }

  async #fork(source: Path, target: Path, mode: ForkMode, options: ForkNamespaceOptions): Promise<NamespaceInfo> {
    const s = toNamespacePath(source);
    const t = toNamespacePath(target);
    const labels = options.labels === undefined ? undefined : validateLabels(options.labels);
    const manifest = await forkNamespace(this.#ctx, this.#shards, s, t, mode, { atVersion: options.atVersion, labels });
    const docCount = await this.#states.read(t, manifest, (state) => state.size);
    return this.#info(t, manifest, docCount);
  }

  /**
   * Manifest retention and garbage collection of one namespace: deletes the
   * versions the policy (engine option `retention`, or `options.retention`)
   * lets expire, then the objects no retained version references (shared
   * ones only when no other namespace holds them). See manifest-retention.ts.
   */
  async collectGarbage(path: Path, options: { retention?: Partial<RetentionPolicy> } = {}): Promise<GarbageReport> {
    const p = toNamespacePath(path);
    const policy = validateRetention({ ...this.#retention, ...options.retention });
    return collectManifestGarbage(this.#ctx, this.#shards, p, policy);
  }

  /**
   * Rebuilds a project's reference counts from every live namespace's
   * retained manifests, finishes interrupted namespace deletions and, with
   * `sweep`, deletes objects nothing references that are older than
   * `graceMs`. See project-repair.ts.
   */
  async repair(org: string, project: string, options: RepairOptions = {}): Promise<RepairReport> {
    validatePathPart(org, "organization");
    validatePathPart(project, "project");
    return repairProject(
      this.#ctx,
      this.#shards,
      org,
      project,
      options,
      (p, version) => purgeNamespace(this.#ctx, this.#shards, p, version),
      (p) => this.#pendingSegments(p),
    );
  }

  /** Segment ids recovery may still commit: outputs of unsettled compaction intents, segments of existing WAL docs. */
  async #pendingSegments(p: NamespacePath): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of await listIntentIds(this.#ctx, p)) {
      const intent = await readIntent(this.#ctx, p, id).catch(() => undefined);
      if (intent === undefined) {
        out.add("*"); // unreadable: protect every segment of the namespace
        continue;
      }
      if (intent.state !== "COMMITTED" && intent.state !== "ABANDONED") for (const s of intent.outputSegmentIds) out.add(s);
    }
    const wal = this.#wals.for(p);
    for (const walId of await wal.listWalIds()) {
      const doc = await wal.store.read(walId).catch(() => undefined);
      if (doc === undefined) out.add("*");
      else if ("preallocatedSuperfileId" in doc.doc) out.add(doc.doc.preallocatedSuperfileId);
    }
    return out;
  }

  /** The refcount entries of a project: object key -> holder count (objects held by their owner alone have none). */
  async refcounts(org: string, project: string): Promise<Map<string, number>> {
    validatePathPart(org, "organization");
    validatePathPart(project, "project");
    const entries = await this.#shards.readAll(org, project);
    return new Map([...entries].map(([key, holders]) => [key, holders.size]));
  }

  // ------------------------------------------------------ state and pins

  /**
   * Loads the namespace's materialized state at its latest version into the
   * cache ahead of queries (one build, shared with concurrent readers).
   */
  async warm(path: Path): Promise<WarmResult> {
    const p = toNamespacePath(path);
    const manifest = await this.#readManifest(p, {});
    this.#persistence?.track(p);
    return this.#states.read(p, manifest, (state) => ({
      path: formatNamespacePath(p),
      version: state.version,
      docCount: state.size,
      bytes: state.estimatedBytes,
    }));
  }

  /**
   * Pins a namespace: persisted in the engine-wide pins document (so every
   * engine's `start` warms it), exempt from eviction here, and warmed now.
   */
  async pin(path: Path): Promise<WarmResult> {
    const p = toNamespacePath(path);
    await this.#readManifest(p, {}); // NamespaceNotFound before persisting anything
    await this.#pins.set(formatNamespacePath(p), true);
    this.#states.pin(p);
    return this.warm(p);
  }

  /** Unpins a namespace (persisted); its state becomes evictable. */
  async unpin(path: Path): Promise<void> {
    const p = toNamespacePath(path);
    await this.#pins.set(formatNamespacePath(p), false);
    this.#states.unpin(p);
  }

  /** The persisted pinned namespaces, sorted. */
  async pinnedNamespaces(): Promise<string[]> {
    return [...(await this.#pins.list())].sort();
  }

  /**
   * Reads the persisted pins and warms every pinned namespace (call once
   * after constructing an engine in a long-running process). A pinned
   * namespace that cannot be warmed is reported, not fatal.
   */
  async start(): Promise<StartReport> {
    const warmed: WarmResult[] = [];
    const failed: { path: string; code: string }[] = [];
    for (const name of [...(await this.#pins.list())].sort()) {
      let p: NamespacePath;
      try {
        p = toNamespacePath(name);
      } catch {
        failed.push({ path: name, code: "InvalidArgument" });
        continue;
      }
      this.#states.pin(p);
      try {
        warmed.push(await this.warm(p));
      } catch (error) {
        failed.push({ path: name, code: (error as { code?: string }).code ?? "Error" });
      }
    }
    return { warmed, failed };
  }

  // ---------------------------------------------------------------- writes

  /** Inserts or replaces whole documents. */
  upsert(path: Path, docs: readonly DocumentInput<DocumentId>[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#submit(path, options, (schema) => encodeUpsert(docs, this.#ids, this.#limits, schema));
  }

  /** Changes fields of existing documents (`null` removes a field); DocumentNotFound if one is missing. */
  patch(path: Path, patches: readonly DocumentPatch<DocumentId>[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#submit(path, options, (schema) => encodePatch(patches, this.#ids, this.#limits, schema));
  }

  /** Deletes documents by id (ids that do not exist are no-ops, and still counted). */
  delete(path: Path, ids: readonly DocumentId[], options: WriteOptions = {}): Promise<WriteResult> {
    return this.#submit(path, options, (schema) => encodeDelete(ids, this.#limits, schema));
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
    const result = await this.#submit(path, options, (schema) => encodeBatch(batch, this.#ids, this.#limits, schema));
    return result as BatchWriteResult;
  }

  /**
   * Encodes a write against the schema this engine last saw of the namespace (values are checked and normalized
   * against it; the commit checks the write again against the schema it commits on) and submits it. A write
   * refused at commit for its schema after the schema changed since the encoding is encoded again, once.
   */
  async #submit(path: Path, options: WriteOptions, encode: (schema: NamespaceSchema | undefined) => EncodedWrite): Promise<WriteResult> {
    const p = toNamespacePath(path);
    validateWriteOptions(options);
    const seen = (this.#manifests.cached(p) ?? (await this.#manifests.readLatest(p)))?.schema;
    let result: WriteResult;
    try {
      result = await this.#committer.submit(p, encode(seen), options.ifVersion, options.idempotencyKey);
    } catch (error) {
      const now = this.#manifests.cached(p)?.schema;
      if (!(error instanceof SchemaViolationError) || now === seen) throw error;
      result = await this.#committer.submit(p, encode(now), options.ifVersion, options.idempotencyKey);
    }
    if (this.#compactor.settings.auto) this.#maybeScheduleCompaction(p);
    return result;
  }

  // ------------------------------------------------ predicate mutations

  /**
   * Deletes every document matching `filter` at one snapshot (the latest
   * manifest), through the wal-engine pipeline. Writes committed after the
   * snapshot win over it, per document (docs/namespace-engine.md).
   */
  async deleteByFilter(path: Path, filter: FilterInput, options: PredicateMutationOptions = {}): Promise<DeleteByFilterResult> {
    const p = toNamespacePath(path);
    const parsed = toFilter(filter);
    validateWriteOptions(options);
    await this.openNamespace(p);
    return deleteByFilter(this.#mutationDeps(p), p, parsed, options);
  }

  /**
   * Applies `patch` (fields as in `patch`; `null` removes) to every document
   * matching `filter` at one snapshot, as a wal-engine UPDATE: the patched
   * documents are written as one segment, then the old rows tombstoned.
   */
  async patchByFilter(
    path: Path,
    filter: FilterInput,
    patch: Omit<DocumentPatch, "id">,
    options: PredicateMutationOptions = {},
  ): Promise<PatchByFilterResult> {
    const p = toNamespacePath(path);
    const parsed = toFilter(filter);
    validateWriteOptions(options);
    await this.openNamespace(p);
    return patchByFilter(this.#mutationDeps(p), p, parsed, patch, options);
  }

  #mutationDeps(p: NamespacePath): MutationDependencies {
    return {
      ctx: this.#ctx,
      wal: this.#wals.for(p),
      limits: this.#limits,
      maxTargets: this.#wals.settings.maxTargets,
      finishCompactions: () => this.#compactor.recover(p),
    };
  }

  // ----------------------------------------------------------- maintenance

  /**
   * Runs `recover` on `path` once per engine instance (the first predicate
   * mutation or compaction does this itself). A failed attempt is retried
   * on the next call.
   */
  async openNamespace(path: Path): Promise<void> {
    const p = toNamespacePath(path);
    const id = namespaceId(p);
    let opening = this.#opened.get(id);
    if (opening === undefined) {
      opening = this.recover(p);
      this.#opened.set(id, opening);
      opening.catch(() => {
        if (this.#opened.get(id) === opening) this.#opened.delete(id);
      });
    }
    await opening;
  }

  /**
   * Recovery of one namespace, on demand: finishes compactions whose lease
   * expired, runs the wal-engine recovery sweep (interrupted deleteByFilter
   * / patchByFilter), then publishes the tombstone sidecars' etags.
   */
  async recover(path: Path): Promise<NamespaceRecoveryReport> {
    const p = toNamespacePath(path);
    const latest = await this.#manifests.readLatest(p);
    if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(formatNamespacePath(p));
    const compactions = await this.#compactor.recover(p);
    const wal = await this.#wals.for(p).scanAndRecover();
    const published = await refreshTombstones(this.#ctx, p);
    const report: NamespaceRecoveryReport = { compactions, wal, version: published.version };
    try {
      this.#onRecover?.(formatNamespacePath(p), report);
    } catch {
      // An observer's failure must not turn a finished recovery into an error.
    }
    return report;
  }

  /**
   * Garbage collection of finished mutation WALs (and settled compaction
   * intents) older than `graceMs` (default one day); then drops the ids of
   * retired UPDATE segments whose WAL docs are gone from the manifest.
   */
  async collectWalGarbage(path: Path, options: { graceMs?: number } = {}): Promise<CollectWalGarbageResult> {
    const p = toNamespacePath(path);
    const graceMs = options.graceMs ?? 24 * 3600 * 1000;
    const wal = this.#wals.for(p);
    const report = await wal.collectGarbage({ graceMs });
    let compactionIntentsDeleted = 0;
    const now = this.#clock.now();
    for (const id of await listIntentIds(this.#ctx, p)) {
      const intent = await readIntent(this.#ctx, p, id).catch(() => undefined);
      if (intent === undefined || (intent.state !== "COMMITTED" && intent.state !== "ABANDONED")) continue;
      if (now - intent.createdAt < graceMs) continue;
      await deleteIntent(this.#ctx, p, id);
      compactionIntentsDeleted++;
    }
    const live = new Set((await wal.listWalIds()).map((w) => w.toString(16).padStart(32, "0")));
    let pruned = 0;
    await commitChange(this.#ctx, p, (base) => {
      const retired = retiredSegments(base);
      const kept = retired.filter((r) => live.has(r.walId));
      pruned = retired.length - kept.length;
      if (pruned === 0) return undefined;
      return withManifestExtra(base, { retired_mutation_segments: retiredToWire(kept) });
    });
    return { wal: report, compactionIntentsDeleted, retiredSegmentsPruned: pruned };
  }

  /**
   * Compacts a namespace: folds its log batches, segments and tombstones
   * into one segment (with its query index) without blocking writers. Below
   * the thresholds it does nothing unless `force`.
   */
  async compact(path: Path, options: { force?: boolean } = {}): Promise<CompactionReport> {
    const p = toNamespacePath(path);
    await this.openNamespace(p);
    const report = await this.#confirmCorrupt(p, () => this.#compactor.compact(p, options.force === true));
    if (!report.performed) return report;
    // The swap retired its inputs; retention decides when they go.
    const garbage = await collectManifestGarbage(this.#ctx, this.#shards, p, this.#retention);
    return { ...report, removedObjects: garbage.objectsDeleted, removedVersions: garbage.versionsDeleted };
  }

  #maybeScheduleCompaction(p: NamespacePath): void {
    if (this.#closed) return;
    const id = namespaceId(p);
    if (this.#scheduled.has(id)) return;
    const manifest = this.#manifests.cached(p);
    if (manifest === undefined || !this.#compactor.isDue(manifest)) return;
    const timer = setTimeout(() => {
      let again = false;
      const run = this.compact(p)
        .then((report) => {
          again = report.performed; // tiered: the tail fold may make a merge due
        })
        .catch((error) => this.#onBackgroundError?.(error, id))
        .finally(() => {
          this.#scheduled.delete(id);
          this.#background.delete(run);
          if (again) this.#maybeScheduleCompaction(p);
        });
      this.#background.add(run);
    }, this.#compactor.settings.delayMs);
    timer.unref?.();
    this.#scheduled.set(id, timer);
  }

  /** Stops scheduling background compactions and waits for the running ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const [id, timer] of this.#scheduled) {
      clearTimeout(timer);
      this.#scheduled.delete(id);
    }
    await Promise.allSettled([...this.#background]);
    await this.#query.flush(); // persisted tail chunk indexes being written
    await this.#persistence?.flush(); // persisted states reach the disk
    if (this.storage instanceof CachingStorage) await this.storage.flush(); // the block cache's disk writes finish
  }

  // ----------------------------------------------------------------- reads

  /** Documents by id, aligned with `ids` (null where absent). */
  async get(path: Path, ids: readonly DocumentId[], options: ReadOptions = {}): Promise<(StoredDocument | null)[]> {
    const p = toNamespacePath(path);
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== "string" && typeof id !== "number" && typeof id !== "bigint")) {
      throw new InvalidArgumentError("ids must be an array of strings (or unsigned integers in a uint namespace)");
    }
    if (ids.length > this.#limits.maxBatchOps) throw new InvalidArgumentError(`at most ${this.#limits.maxBatchOps} ids per get`);
    return this.#confirmCorrupt(p, async () => {
      const manifest = await this.#readManifest(p, options);
      const keys = ids.map((id) => (typeof id === "string" ? normalizedStringId(id, manifest.schema?.idType) : documentIdKey(id)));
      return this.#states.read(p, manifest, (state) => keys.map((id) => state.get(id) ?? null));
    });
  }

  /** One page of documents in id order. */
  async scan(path: Path, options: ScanOptions = {}): Promise<{ documents: StoredDocument[]; next: string | undefined; version: number }> {
    const p = toNamespacePath(path);
    const limit = options.limit ?? DEFAULT_SCAN_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > this.#limits.maxBatchOps) {
      throw new InvalidArgumentError(`limit must be an integer in [1, ${this.#limits.maxBatchOps}]`);
    }
    return this.#confirmCorrupt(p, async () => {
      const manifest = await this.#readManifest(p, options);
      return this.#states.read(p, manifest, (state) => {
      const ids = state.sortedIds();
      const start = options.after === undefined ? 0 : upperBound(ids, options.after);
      const page = ids.slice(start, start + limit);
      const documents = page.map((id) => state.get(id) as StoredDocument);
      const more = start + limit < ids.length;
      return { documents, next: more ? page[page.length - 1] : undefined, version: state.version };
      });
    });
  }

  /** Every document in id order (use `scan` for large namespaces). */
  async documents(path: Path, options: ReadOptions = {}): Promise<StoredDocument[]> {
    const p = toNamespacePath(path);
    return this.#confirmCorrupt(p, async () => {
      const manifest = await this.#readManifest(p, options);
      return this.#states.read(p, manifest, (state) => state.sortedIds().map((id) => state.get(id) as StoredDocument));
    });
  }

  /**
   * Answers a query (the JSON body of docs/query.md, validated with
   * `parseQueryRequest` against the namespace's dimension) over one manifest
   * version: `consistency` / `atVersion` from the request or `options`.
   * Segment indexes load lazily; the log tail is searched exactly. See
   * namespace-query.ts.
   */
  async query(path: Path, request: unknown, options: QueryOptions = {}): Promise<NamespaceQueryResult> {
    const p = toNamespacePath(path);
    return this.#confirmCorrupt(p, () => this.#query.query(p, request, options));
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
    return this.#confirmCorrupt(p, () => this.#query.queryRows(p, request, options));
  }

  /** The manifest a read with these options would use. */
  async manifest(path: Path, options: ReadOptions = {}): Promise<Manifest> {
    return this.#readManifest(toNamespacePath(path), options);
  }

  /** Manifest versions stored for a namespace, ascending (deleted namespaces included). */
  async listVersions(path: Path): Promise<number[]> {
    const p = toNamespacePath(path);
    const prefix = manifestPrefix(p);
    const versions = await withRetry(`list ${prefix}`, this.#retry, this.#random, async () => {
      const out: number[] = [];
      for await (const meta of this.storage.list(prefix)) {
        const version = manifestVersionOf(p, meta.key);
        if (version !== undefined) out.push(version);
      }
      return out;
    });
    return versions.sort((a, b) => a - b);
  }

  /** One page of the stored manifest versions, ascending or newest first, after `after` (see listing-pages.ts). */
  listVersionsPage(path: Path, options: ListingPageOptions<number> & { readonly order: "asc" | "desc" }): Promise<VersionsPage> {
    return listVersionsPage(this.#ctx, toNamespacePath(path), options);
  }

  /** Runs `fn` on the materialized state a read with these options would see (for the query layer and tests). */
  async withState<T>(path: Path, options: ReadOptions, fn: (state: NamespaceState, manifest: Manifest) => T): Promise<T> {
    const p = toNamespacePath(path);
    return this.#confirmCorrupt(p, async () => {
      const manifest = await this.#readManifest(p, options);
      return this.#states.read(p, manifest, (state) => fn(state, manifest));
    });
  }

  // --------------------------------------------------------------- helpers

  /**
   * Runs `run`; a `CorruptError` it raises (an object its manifest references is missing or wrong) is
   * confirmed before it reaches the caller: a namespace deleted meanwhile (its deletion purges the objects
   * the operation's manifest referenced) is `NamespaceNotFound`, not corruption. A namespace still live keeps
   * the error: its manifests never reference an object before it is durable, and only its deletion or the
   * retention of versions it no longer references removes one. (`ManifestRollbackError` passes unchanged.)
   */
  async #confirmCorrupt<T>(p: NamespacePath, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (!isCorrupt(error) || isManifestRollback(error)) throw error;
      let latest: Manifest | undefined;
      try {
        latest = await this.#manifests.readLatest(p);
      } catch {
        throw error; // cannot confirm: report what was found
      }
      if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(formatNamespacePath(p));
      throw error;
    }
  }

  async #readManifest(p: NamespacePath, options: ReadOptions): Promise<Manifest> {
    const name = formatNamespacePath(p);
    const consistency = options.consistency ?? "strong";
    if (consistency !== "strong" && consistency !== "eventual") {
      throw new InvalidArgumentError(`consistency must be "strong" or "eventual"; got ${JSON.stringify(consistency)}`);
    }
    let latest =
      consistency === "strong" ? await this.#manifests.readLatest(p) : await this.#manifests.latest(p, this.#readStalenessMs);
    if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
    const at = options.atVersion;
    if (at === undefined || at === latest.version) return latest;
    if (!Number.isSafeInteger(at) || at < 1) throw new InvalidArgumentError(`atVersion must be a positive integer; got ${String(at)}`);
    if (at > latest.version && consistency === "eventual") {
      latest = await this.#manifests.readLatest(p);
      if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
      if (at === latest.version) return latest;
    }
    if (at > latest.version) throw new VersionNotFoundError(name, at);
    const manifest = await this.#manifests.readVersion(p, at);
    if (manifest.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
    return manifest;
  }

  /** Commits a metadata-only change with the same create-and-rebase rule as writes. */
  async #commitMetadata(p: NamespacePath, ifVersion: number | undefined, change: (base: Manifest) => Manifest): Promise<Manifest> {
    const name = formatNamespacePath(p);
    return this.#lanes.run(namespaceId(p), async () => {
      for (let attempt = 1; attempt <= this.#maxCommitAttempts; attempt++) {
        const base = await this.#manifests.readLatest(p);
        if (base === undefined || base.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
        if (ifVersion !== undefined && ifVersion !== base.version) throw new VersionConflictError(name, ifVersion, base.version);
        const next: Manifest = { ...change(base), version: base.version + 1, updatedAt: this.#clock.now() };
        if ((await this.#manifests.create(p, next)) === "created") return next;
        await sleep(backoffMs(this.#conflictBackoff, attempt, this.#random), this.#conflictBackoff);
      }
      throw new ConflictError(`commit to ${name} lost the manifest race ${this.#maxCommitAttempts} times`);
    });
  }

  #info(p: NamespacePath, m: Manifest, docCount: number): NamespaceInfo {
    let logBatches = 0;
    let segments = 0;
    let bytes = 0;
    for (const c of m.containers) {
      if (c.kind === "LOG_BATCH") logBatches++;
      else segments++;
      bytes += c.byteSize;
    }
    return {
      path: formatNamespacePath(p),
      org: p.org,
      project: p.project,
      namespace: p.namespace,
      version: m.version,
      docCount,
      logBatches,
      segments,
      bytes,
      distanceMetric: (m.vector?.metric ?? "COSINE").toLowerCase() as DistanceMetric,
      vectorDimension: m.vector?.dimension,
      textFields: textFieldsRecord(m.textFields),
      schema: schemaInfo(m.schema),
      parent: m.parent,
      pinned: this.#states.isPinned(p),
      labels: Object.fromEntries(m.labels),
      createdAt: m.createdAt,
      updatedAt: m.updatedAt,
    };
  }
}

/** Index of the first id strictly greater than `after`. */
function upperBound(ids: readonly string[], after: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ids[mid] as string) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
