/**
 * StateCache: materialized namespace states, kept per namespace at the
 * newest version read, advanced incrementally; an LRU bounded by entries
 * (`maxEntries`) and estimated bytes (`maxBytes`), pinned entries exempt.
 *
 * `read(path, manifest, fn)` brings the namespace's state to `manifest` and
 * runs `fn` on it synchronously, so the state cannot move under `fn`:
 * - already at that version: `fn` runs at once;
 * - behind, and its containers are a prefix of the manifest's (the normal
 *   case: containers are append-only until compaction): only the new
 *   containers are fetched (8 at a time) and applied in order;
 * - otherwise (a compaction replaced containers, the namespace was
 *   re-created, or an older version is asked for): a full fold, cached only
 *   when it is newer than what is cached.
 * Builds of one namespace run one at a time (no stampede: concurrent
 * readers queue behind the one build and then read its result). After each
 * build, least recently used entries are evicted while there are more than
 * `maxEntries` or their estimated bytes (NamespaceState.estimatedBytes)
 * exceed `maxBytes`; pinned namespaces and entries with a build in flight
 * are never evicted (pinned states alone may exceed the budget).
 * Commits do not rebuild anything: the next read at a newer version
 * advances the cached state by the containers that commit appended
 * (invalidated outright only when the namespace is deleted or re-created).
 *
 * Tombstone sidecars: a container whose ref has `tombstones_key` has its
 * deletion vector read and honoured while folding, and a manifest that
 * changes a folded container's `tombstones_key` (or extra fields) forces a
 * full fold. Sidecars are mutable (the wal-engine sets bits by CAS without
 * a manifest commit), so bits set later are seen once a manifest changes
 * that container's ref: predicate mutations and recovery commit the
 * sidecar's etag into the ref (`tombstones_etag`). Segment containers are
 * read by container-loader.ts; masked rows of UPDATE segments never apply.
 * With an observer (state-persistence.ts, engine option `stateDir`), a new
 * entry first asks it for a persisted state, and every advance of a cached
 * state is reported to it (with the containers applied) so it can be
 * written locally; invalidation drops the persisted state too.
 * See docs/namespace-engine.md.
 *
 * Errors: `CorruptError` for containers that do not match their refs,
 * `StorageFailureError` when reads fail.
 */
import type { StorageProvider } from "@skerry/storage-providers";
import type { ContainerRef, Manifest, Random } from "@skerry/wal-format";
import { type LoadedContainer, loadContainer } from "./container-loader.ts";
import { maskedPositions, mutationWalId, sidecarForRead } from "../manifest/index.ts";
import type { LogEntry } from "../log/index.ts";
import { namespaceId, type NamespacePath, type RetryPolicy } from "../core/index.ts";
import { type ApplyOptions, NamespaceState } from "./namespace-state.ts";

interface Entry {
  state: NamespaceState;
  /** Tail of the build queue of this namespace. */
  queue: Promise<unknown>;
  /** Reads queued or running on this entry. */
  pending: number;
  /** A persisted state has not been looked for yet (new entry, with an observer). */
  restore: boolean;
}

/** One container as folded: exactly what `NamespaceState.apply` received. */
export interface FoldedContainer {
  readonly id: string;
  readonly identity: string;
  readonly entries: readonly LogEntry[];
  readonly options: ApplyOptions;
}

/** An incremental advance of a cached state: from version `from`, by `containers`. */
export interface StateDelta {
  readonly from: number;
  readonly containers: readonly FoldedContainer[];
}

/** Hooks for local persistence of states (state-persistence.ts); all optional work, never on the result path. */
export interface StateCacheObserver {
  /** Before `container` is applied to `state` (derived data can be tracked). */
  applying(state: NamespaceState, container: FoldedContainer): void;
  /** A new entry: a persisted state verified against `manifest`'s namespace, or undefined. */
  restore(path: NamespacePath, manifest: Manifest): Promise<NamespaceState | undefined>;
  /** The cached state of `path` now reflects `manifest`: advanced by `delta`, or rebuilt (undefined). */
  advanced(path: NamespacePath, state: NamespaceState, manifest: Manifest, delta: StateDelta | undefined): void;
  /** The cached state of `path` was dropped (namespace deleted or re-created). */
  invalidated(path: NamespacePath): void;
}

export interface StateCacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly pinned: number;
  /** Reads served without fetching a container. */
  readonly hits: number;
  /** Reads that fetched containers (incremental or full folds). */
  readonly builds: number;
  readonly evictions: number;
}

const FETCH_CONCURRENCY = 8;

/**
 * What a folded container's contribution depends on: its id, and its
 * deletion vector's key and any extra fields (where a tombstone generation
 * or etag will go). A manifest that changes one of them for an already
 * folded container makes the next read fold from scratch.
 */
export function foldIdentity(ref: ContainerRef): string {
  const extra = ref.extra === undefined ? "" : JSON.stringify(ref.extra);
  return ref.tombstonesKey === undefined && extra === "" ? ref.id : `${ref.id}|${ref.tombstonesKey ?? ""}|${extra}`;
}

export class StateCache {
  readonly #storage: StorageProvider;
  readonly #random: Random;
  readonly #retry: RetryPolicy;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Entry>();
  readonly #pinned = new Set<string>();
  readonly #observer: StateCacheObserver | undefined;
  /** Containers fetched and decoded, for statistics and tests. */
  containersFolded = 0;
  #hits = 0;
  #builds = 0;
  #evictions = 0;

  constructor(
    storage: StorageProvider,
    random: Random,
    retry: RetryPolicy,
    maxEntries: number,
    maxBytes = Number.POSITIVE_INFINITY,
    observer?: StateCacheObserver,
  ) {
    this.#observer = observer;
    this.#storage = storage;
    this.#random = random;
    this.#retry = retry;
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  /** Drops the cached state of `path`. */
  invalidate(path: NamespacePath): void {
    this.#entries.delete(namespaceId(path));
    this.#observer?.invalidated(path);
  }

  /** Exempts `path` from eviction. */
  pin(path: NamespacePath): void {
    this.#pinned.add(namespaceId(path));
  }

  /** Makes `path` evictable again (evicting at once if over budget). */
  unpin(path: NamespacePath): void {
    this.#pinned.delete(namespaceId(path));
    this.#evict();
  }

  isPinned(path: NamespacePath): boolean {
    return this.#pinned.has(namespaceId(path));
  }

  /** The version cached for `path`, if any. */
  cachedVersion(path: NamespacePath): number | undefined {
    return this.#entries.get(namespaceId(path))?.state.version;
  }

  stats(): StateCacheStats {
    let bytes = 0;
    for (const entry of this.#entries.values()) bytes += entry.state.estimatedBytes;
    return { entries: this.#entries.size, bytes, pinned: this.#pinned.size, hits: this.#hits, builds: this.#builds, evictions: this.#evictions };
  }

  /** Brings the state of `path` to `manifest` and returns `fn(state)`, run synchronously on it. */
  read<T>(path: NamespacePath, manifest: Manifest, fn: (state: NamespaceState) => T): Promise<T> {
    const id = namespaceId(path);
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      entry = { state: NamespaceState.empty(), queue: Promise.resolve(), pending: 0, restore: this.#observer !== undefined };
    }
    // Touch for LRU order.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    const owner = entry;
    owner.pending++;
    const run = owner.queue.then(async () => {
      if (owner.restore) {
        owner.restore = false;
        const restored = await this.#observer?.restore(path, manifest).catch(() => undefined);
        if (restored !== undefined && owner.state.version === 0) owner.state = restored;
      }
      const state = owner.state;
      const ids = manifest.containers.map(foldIdentity);
      if (state.version === manifest.version && state.containerIds.length === ids.length && state.isPrefixOf(ids)) {
        this.#hits++;
        return fn(state);
      }
      this.#builds++;
      if (state.version < manifest.version && state.isPrefixOf(ids)) {
        const from = state.version;
        const folded = await this.#foldInto(state, manifest.containers.slice(state.containerIds.length), manifest.version);
        if (this.#entries.get(id) === owner) this.#observer?.advanced(path, state, manifest, { from, containers: folded });
        return fn(state);
      }
      const fresh = NamespaceState.empty();
      await this.#foldInto(fresh, manifest.containers, manifest.version);
      if (fresh.version > owner.state.version) {
        owner.state = fresh;
        if (this.#entries.get(id) === owner) this.#observer?.advanced(path, fresh, manifest, undefined);
      }
      return fn(fresh);
    });
    const settled = run.catch(() => undefined);
    owner.queue = settled;
    void settled.then(() => {
      owner.pending--;
      this.#evict();
    });
    return run;
  }

  #evict(): void {
    let bytes = 0;
    for (const entry of this.#entries.values()) bytes += entry.state.estimatedBytes;
    // Oldest first (Map order is LRU order); skip pinned and busy entries.
    for (const [id, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && bytes <= this.#maxBytes) break;
      if (this.#pinned.has(id) || entry.pending > 0) continue;
      this.#entries.delete(id);
      bytes -= entry.state.estimatedBytes;
      this.#evictions++;
    }
  }

  /** Fetches `containers` (bounded parallelism) and applies them in order, then marks `version`. */
  async #foldInto(state: NamespaceState, containers: readonly ContainerRef[], version: number): Promise<FoldedContainer[]> {
    const loaded: (LoadedContainer | undefined)[] = new Array(containers.length);
    let next = 0;
    const worker = async () => {
      while (next < containers.length) {
        const index = next++;
        loaded[index] = await this.#load(containers[index] as ContainerRef);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, containers.length) }, worker));
    // Applied synchronously, after every fetch: readers never see a half-folded state.
    const folded: FoldedContainer[] = new Array(containers.length);
    for (let i = 0; i < containers.length; i++) {
      const item = loaded[i] as LoadedContainer;
      const ref = containers[i] as ContainerRef;
      const container: FoldedContainer = {
        id: ref.id,
        identity: foldIdentity(ref),
        entries: item.entries,
        options: { tombstoned: item.tombstoned, masked: maskedPositions(ref), replaces: mutationWalId(ref) !== undefined },
      };
      this.#observer?.applying(state, container);
      state.apply(container.id, container.entries, container.options, container.identity);
      folded[i] = container;
    }
    state.advanceTo(version);
    this.containersFolded += containers.length;
    return folded;
  }

  #load(ref: ContainerRef): Promise<LoadedContainer> {
    return loadContainer({ storage: this.#storage, random: this.#random, retry: this.#retry }, ref, sidecarForRead(ref));
  }
}
