/**
 * StateCache: materialized namespace states, kept per namespace at the
 * newest version read, advanced incrementally.
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
 * Builds of one namespace run one at a time (no stampede); entries beyond
 * `maxEntries` are evicted least recently used first.
 *
 * Tombstone sidecars: a container whose ref has `tombstones_key` has its
 * deletion vector read and honoured while folding, and a manifest that
 * changes a folded container's `tombstones_key` (or extra fields) forces a
 * full fold. Sidecars are mutable (the wal-engine sets bits by CAS without
 * a manifest commit), so bits set later are seen once a manifest changes
 * that container's ref: predicate mutations and recovery commit the
 * sidecar's etag into the ref (`tombstones_etag`). Segment containers are
 * read by container-loader.ts; masked rows of UPDATE segments never apply.
 * See docs/namespace-engine.md.
 *
 * Errors: `CorruptError` for containers that do not match their refs,
 * `StorageFailureError` when reads fail.
 */
import type { StorageProvider } from "@skerry/storage-providers";
import type { ContainerRef, Manifest, Random } from "@skerry/wal-format";
import { type LoadedContainer, loadContainer } from "./container-loader.ts";
import { maskedPositions, mutationWalId, sidecarForRead } from "./container-extra.ts";
import type { NamespacePath } from "./namespace-path.ts";
import { NamespaceState } from "./namespace-state.ts";
import type { RetryPolicy } from "./storage-calls.ts";
import { namespaceId } from "./storage-layout.ts";

interface Entry {
  state: NamespaceState;
  /** Tail of the build queue of this namespace. */
  queue: Promise<unknown>;
}

const FETCH_CONCURRENCY = 8;

/**
 * What a folded container's contribution depends on: its id, and its
 * deletion vector's key and any extra fields (where a tombstone generation
 * or etag will go). A manifest that changes one of them for an already
 * folded container makes the next read fold from scratch.
 */
function foldIdentity(ref: ContainerRef): string {
  const extra = ref.extra === undefined ? "" : JSON.stringify(ref.extra);
  return ref.tombstonesKey === undefined && extra === "" ? ref.id : `${ref.id}|${ref.tombstonesKey ?? ""}|${extra}`;
}

export class StateCache {
  readonly #storage: StorageProvider;
  readonly #random: Random;
  readonly #retry: RetryPolicy;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  /** Containers fetched and decoded, for statistics and tests. */
  containersFolded = 0;

  constructor(storage: StorageProvider, random: Random, retry: RetryPolicy, maxEntries: number) {
    this.#storage = storage;
    this.#random = random;
    this.#retry = retry;
    this.#maxEntries = maxEntries;
  }

  /** Drops the cached state of `path`. */
  invalidate(path: NamespacePath): void {
    this.#entries.delete(namespaceId(path));
  }

  /** Brings the state of `path` to `manifest` and returns `fn(state)`, run synchronously on it. */
  read<T>(path: NamespacePath, manifest: Manifest, fn: (state: NamespaceState) => T): Promise<T> {
    const id = namespaceId(path);
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      entry = { state: NamespaceState.empty(), queue: Promise.resolve() };
    }
    // Touch for LRU order.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    this.#evict();
    const owner = entry;
    const run = owner.queue.then(async () => {
      const state = owner.state;
      const ids = manifest.containers.map(foldIdentity);
      if (state.version === manifest.version && state.containerIds.length === ids.length && state.isPrefixOf(ids)) {
        return fn(state);
      }
      if (state.version < manifest.version && state.isPrefixOf(ids)) {
        await this.#foldInto(state, manifest.containers.slice(state.containerIds.length), manifest.version);
        return fn(state);
      }
      const fresh = NamespaceState.empty();
      await this.#foldInto(fresh, manifest.containers, manifest.version);
      if (fresh.version > owner.state.version) owner.state = fresh;
      return fn(fresh);
    });
    owner.queue = run.catch(() => undefined);
    return run;
  }

  #evict(): void {
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** Fetches `containers` (bounded parallelism) and applies them in order, then marks `version`. */
  async #foldInto(state: NamespaceState, containers: readonly ContainerRef[], version: number): Promise<void> {
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
    for (let i = 0; i < containers.length; i++) {
      const item = loaded[i] as LoadedContainer;
      const ref = containers[i] as ContainerRef;
      state.apply(ref.id, item.entries, { tombstoned: item.tombstoned, masked: maskedPositions(ref), replaces: mutationWalId(ref) !== undefined }, foldIdentity(ref));
    }
    state.advanceTo(version);
    this.containersFolded += containers.length;
  }

  #load(ref: ContainerRef): Promise<LoadedContainer> {
    return loadContainer({ storage: this.#storage, random: this.#random, retry: this.#retry }, ref, sidecarForRead(ref));
  }
}
