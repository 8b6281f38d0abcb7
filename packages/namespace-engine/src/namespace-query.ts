/**
 * The engine's query entry point: `NamespaceEngine.query(path, request)`
 * answers a query (docs/query.md) over one manifest version of a namespace.
 *
 * Partitions of version V, oldest first (the query module's rule: a newer
 * partition's version of an id shadows older ones):
 * - one per indexed segment: the leading SEGMENT containers whose ref has
 *   an `index_key` (compaction output), their stored query index loaded
 *   lazily through SegmentIndexCache (one GET, verified, shared by every
 *   version and branch that references it). Segment positions are row
 *   numbers, and the compactor built the index from the same rows in the
 *   same order, so a tombstone position IS an index position;
 * - one tail partition: every later container (log batches, predicate-UPDATE
 *   segments, and any segment without an index, which also ends the indexed
 *   prefix), folded by TailFold and indexed with `buildQueryIndex` (exact
 *   search, no IVF: the tail is small between compactions).
 * Excluded positions of a segment partition: its tombstones as published at
 * V (the snapshot `sidecarForRead` names), masked positions, and the rows
 * of ids the tail or a newer segment deleted (a deleted id has no newer
 * version to shadow the old one, so the delete is carried as an exclusion;
 * a newer segment carries its deletes as `deleted_ids` markers, tiered
 * compaction). Ids the tail rewrote are shadowed by the tail partition
 * itself, ids a newer segment rewrote by that segment's partition.
 *
 * Caches:
 * - prepared versions (partitions, exclusions and the QuerySnapshot with its
 *   shadow masks), keyed by namespace, incarnation and version, an LRU of
 *   `snapshotEntries` (at most 4 versions per namespace; a commit makes a
 *   new version, older ones age out) whose tail bytes count against
 *   `snapshotBytes`. One build per key at a time;
 * - the newest TailFold per namespace: the next version extends it by the
 *   containers it added (the common case: new log batches), otherwise the
 *   tail is folded afresh (after a compaction, or for an older version);
 * - the segment indexes (byte budget `segmentIndexBytes`); evicting one also
 *   drops the prepared versions holding it, so its memory is released.
 * No materialized state is needed unless a tail PATCH reaches a document
 * whose base lives in an indexed segment (the index does not store text):
 * then those ids are resolved from the state cache. A cold first query on a
 * compacted namespace reads the manifest, the index objects and the tail.
 *
 * Consistency: `consistency` and `atVersion` come from the request JSON or
 * the options (a conflict between the two is InvalidArgument); strong reads
 * the latest manifest, eventual may use the cached one up to the engine's
 * `readStalenessMs`, `atVersion` an older retained version. Results depend
 * only on the version's live documents (query module determinism), so a
 * strong read and a fresh process reading the same version agree.
 *
 * Errors: InvalidQueryError (the request), the engine's typed errors
 * (NamespaceNotFound, VersionNotFound, InvalidArgument, Corrupt for a
 * missing, damaged or mismatching index object, Storage).
 */
import type { StorageProvider } from "@skerry/storage-providers";
import type { ContainerRef, DistanceMetric, Manifest, Random } from "@skerry/wal-format";
import { deletedIdsOf, indexKeyOf, incarnationOf, maskedPositions, mutationWalId, sidecarForRead } from "./container-extra.ts";
import type { StoredDocument } from "./document.ts";
import { InvalidArgumentError } from "./errors.ts";
import type { ReadOptions } from "./namespace-info.ts";
import type { NamespacePath } from "./namespace-path.ts";
import type { NamespaceState } from "./namespace-state.ts";
import { executeQuery, type QueryResult } from "./query/execute-query.ts";
import { buildQueryIndex, type QueryIndex } from "./query/query-index.ts";
import { parseQueryRequest } from "./query/query-request.ts";
import { QuerySnapshot } from "./query/query-snapshot.ts";
import { foldIdentity, TailFold } from "./query-tail.ts";
import { SegmentIndexCache, type SegmentIndexCacheStats } from "./segment-index-cache.ts";
import { SerialQueue } from "./serial-queue.ts";
import { readReferenced, type RetryPolicy } from "./storage-calls.ts";
import { namespaceId } from "./storage-layout.ts";
import { decodeTombstones, verifySnapshot } from "./tombstone-object.ts";

/** Options of `NamespaceEngine.query`; the request's own `consistency` / `atVersion` take the same values. */
export interface QueryOptions extends ReadOptions {}

/** A query's result and the manifest version it was answered at. */
export interface NamespaceQueryResult extends QueryResult {
  readonly version: number;
}

export interface QueryCacheSettings {
  /** Estimated bytes of loaded segment indexes kept; default 2 GiB. */
  readonly segmentIndexBytes: number;
  /** Prepared versions (partitions + shadow masks) kept; default 32. */
  readonly snapshotEntries: number;
  /** Estimated bytes of prepared tails kept; default 256 MiB. */
  readonly snapshotBytes: number;
}

export const DEFAULT_QUERY_CACHE_SETTINGS: QueryCacheSettings = {
  segmentIndexBytes: 2 * 1024 ** 3,
  snapshotEntries: 32,
  snapshotBytes: 256 * 1024 ** 2,
};

export interface QueryCacheStats {
  readonly segmentIndexes: SegmentIndexCacheStats;
  /** Prepared versions cached. */
  readonly snapshots: number;
  readonly snapshotHits: number;
  readonly snapshotBuilds: number;
  /** Tail builds that extended the previous fold instead of refolding. */
  readonly tailExtensions: number;
}

export interface NamespaceQueryDependencies {
  readonly storage: StorageProvider;
  readonly random: Random;
  readonly retry: RetryPolicy;
  readonly readManifest: (path: NamespacePath, options: ReadOptions) => Promise<Manifest>;
  readonly readState: <T>(path: NamespacePath, manifest: Manifest, fn: (state: NamespaceState) => T) => Promise<T>;
  readonly settings?: Partial<QueryCacheSettings> | undefined;
}

interface Prepared {
  readonly namespace: string;
  readonly version: number;
  readonly metric: DistanceMetric;
  readonly snapshot: QuerySnapshot;
  /** Excluded positions per partition (undefined: none). */
  readonly excludes: readonly (Uint32Array | undefined)[];
  readonly indexKeys: readonly string[];
  readonly bytes: number;
}

interface CachedPrepared {
  readonly promise: Promise<Prepared>;
  value?: Prepared;
}

const VERSIONS_PER_NAMESPACE = 4;

function requestField(json: unknown, name: string): boolean {
  return typeof json === "object" && json !== null && !Array.isArray(json) && Object.hasOwn(json, name);
}

/** The leading containers with a stored query index. */
function indexedPrefix(manifest: Manifest): number {
  let n = 0;
  for (const ref of manifest.containers) {
    if (ref.kind !== "SEGMENT" || indexKeyOf(ref) === undefined || mutationWalId(ref) !== undefined) break;
    n++;
  }
  return n;
}

function indexBytesOf(ref: ContainerRef): number | undefined {
  const value = ref.extra?.["index_bytes"];
  return typeof value === "number" ? value : undefined;
}

export class NamespaceQuery {
  readonly #deps: NamespaceQueryDependencies;
  readonly #settings: QueryCacheSettings;
  readonly #segments: SegmentIndexCache;
  readonly #prepared = new Map<string, CachedPrepared>();
  readonly #tails = new Map<string, TailFold>();
  readonly #lanes = new SerialQueue();
  #snapshotHits = 0;
  #snapshotBuilds = 0;
  #tailExtensions = 0;

  constructor(deps: NamespaceQueryDependencies) {
    this.#deps = deps;
    this.#settings = { ...DEFAULT_QUERY_CACHE_SETTINGS, ...deps.settings };
    for (const [name, value] of Object.entries(this.#settings)) {
      if (typeof value !== "number" || !(value >= 0)) throw new InvalidArgumentError(`query cache setting ${name} must be a non-negative number`);
    }
    this.#segments = new SegmentIndexCache(deps.storage, deps.random, deps.retry, this.#settings.segmentIndexBytes, (key) => this.#dropHolding(key));
  }

  stats(): QueryCacheStats {
    return {
      segmentIndexes: this.#segments.stats(),
      snapshots: this.#prepared.size,
      snapshotHits: this.#snapshotHits,
      snapshotBuilds: this.#snapshotBuilds,
      tailExtensions: this.#tailExtensions,
    };
  }

  /** Drops everything cached for `path` (prepared versions and its tail fold). */
  invalidate(path: NamespacePath): void {
    const id = namespaceId(path);
    this.#tails.delete(id);
    for (const [key, entry] of this.#prepared) if (entry.value?.namespace === id || key.startsWith(`${id}@`)) this.#prepared.delete(key);
  }

  async query(path: NamespacePath, json: unknown, options: QueryOptions = {}): Promise<NamespaceQueryResult> {
    // Validate the request's shape first (InvalidQueryError), then pick the version, then check the dimension.
    const shape = parseQueryRequest(json);
    const consistency = requestField(json, "consistency") ? shape.consistency : options.consistency;
    if (requestField(json, "consistency") && options.consistency !== undefined && options.consistency !== shape.consistency) {
      throw new InvalidArgumentError(`consistency ${JSON.stringify(shape.consistency)} in the request conflicts with ${JSON.stringify(options.consistency)} in the options`);
    }
    if (shape.atVersion !== undefined && options.atVersion !== undefined && options.atVersion !== shape.atVersion) {
      throw new InvalidArgumentError(`atVersion ${shape.atVersion} in the request conflicts with ${options.atVersion} in the options`);
    }
    const atVersion = shape.atVersion ?? options.atVersion;
    const manifest = await this.#deps.readManifest(path, { consistency, atVersion });
    const dimension = manifest.vector?.dimension;
    const request = dimension === undefined ? shape : parseQueryRequest(json, { dimension });
    const prepared = await this.#prepare(path, manifest);
    const result = await executeQuery(
      prepared.snapshot,
      request.distanceMetric === undefined ? { ...request, distanceMetric: prepared.metric } : request,
      { exclude: (_, i) => prepared.excludes[i] },
    );
    return { ...result, version: manifest.version };
  }

  #prepare(path: NamespacePath, manifest: Manifest): Promise<Prepared> {
    const id = namespaceId(path);
    const key = `${id}@${incarnationOf(manifest)}@${manifest.version}`;
    const cached = this.#prepared.get(key);
    if (cached !== undefined) {
      this.#snapshotHits++;
      this.#prepared.delete(key);
      this.#prepared.set(key, cached);
      return cached.promise;
    }
    this.#snapshotBuilds++;
    const entry: CachedPrepared = {
      promise: this.#lanes.run(id, () => this.#build(path, id, manifest)),
    };
    this.#prepared.set(key, entry);
    entry.promise.then(
      (value) => {
        entry.value = value;
        this.#evict(id, key);
      },
      () => {
        if (this.#prepared.get(key) === entry) this.#prepared.delete(key);
      },
    );
    return entry.promise;
  }

  async #build(path: NamespacePath, id: string, manifest: Manifest): Promise<Prepared> {
    const deps = this.#deps;
    const metric: DistanceMetric = manifest.vector?.metric ?? "COSINE";
    const dimension = manifest.vector?.dimension;
    const prefix = indexedPrefix(manifest);
    const segmentRefs = manifest.containers.slice(0, prefix);
    const tailRefs = manifest.containers.slice(prefix);
    const [segments, tombstones, fold] = await Promise.all([
      Promise.all(
        segmentRefs.map((ref) =>
          this.#segments.get({ ref, indexKey: indexKeyOf(ref) as string, expectedBytes: indexBytesOf(ref), metric }),
        ),
      ),
      Promise.all(segmentRefs.map((ref) => this.#tombstones(ref))),
      this.#fold(id, tailRefs),
    ]);
    // PATCHes of documents whose base lives in an indexed segment: take them from the materialized state.
    if (fold.needsBase.size > 0) {
      const ids = [...fold.needsBase];
      const docs = await deps.readState(path, manifest, (state) => ids.map((docId) => state.get(docId) ?? null));
      ids.forEach((docId, i) => {
        fold.docs.set(docId, docs[i] as StoredDocument | null);
        fold.needsBase.delete(docId);
      });
    }
    const live: StoredDocument[] = [];
    const deleted: string[] = [];
    for (const [docId, doc] of fold.docs) {
      if (doc === null) deleted.push(docId);
      else live.push(doc);
    }
    const partitions: QueryIndex[] = [...segments];
    const excludes: (Uint32Array | undefined)[] = segments.map((index, i) => {
      const out = new Set<number>(tombstones[i]);
      const masked = maskedPositions(segmentRefs[i] as ContainerRef);
      if (masked !== undefined) for (const position of masked) out.add(position);
      for (const docId of deleted) {
        const slot = index.slotOfId(docId);
        if (slot >= 0) out.add(index.positionOf(slot));
      }
      for (let newer = i + 1; newer < segmentRefs.length; newer++) {
        for (const docId of deletedIdsOf(segmentRefs[newer] as ContainerRef)) {
          const slot = index.slotOfId(docId);
          if (slot >= 0) out.add(index.positionOf(slot));
        }
      }
      return out.size === 0 ? undefined : Uint32Array.from(out).sort();
    });
    if (live.length > 0) {
      partitions.push(buildQueryIndex(live, { metric, ...(dimension === undefined ? {} : { dimension }) }));
      excludes.push(undefined);
    }
    // Held by this cache (not prepareQuerySnapshot's, which would keep old tails alive beside it).
    const snapshot = new QuerySnapshot(partitions);
    let bytes = fold.estimatedBytes();
    for (const e of excludes) bytes += e?.byteLength ?? 0;
    for (const s of snapshot.shadows) bytes += (s.mask?.byteLength ?? 0) + s.slots.byteLength;
    return {
      namespace: id,
      version: manifest.version,
      metric,
      snapshot,
      excludes,
      indexKeys: segmentRefs.map((ref) => indexKeyOf(ref) as string),
      bytes,
    };
  }

  /** The tail fold of `refs`: the namespace's cached fold extended when it is a prefix, else a fresh one. */
  async #fold(id: string, refs: readonly ContainerRef[]): Promise<TailFold> {
    const identities = refs.map(foldIdentity);
    const cached = this.#tails.get(id);
    const deps = { storage: this.#deps.storage, random: this.#deps.random, retry: this.#deps.retry };
    if (cached?.isPrefixOf(identities)) {
      // Builds of one namespace run one at a time (#lanes), so nobody else extends it meanwhile.
      if (cached.identities.length < identities.length) {
        this.#tailExtensions++;
        this.#tails.delete(id); // a failed load must not leave a half-known fold behind
        await cached.extend(deps, refs.slice(cached.identities.length));
        this.#tails.set(id, cached);
      }
      return cached;
    }
    const fresh = new TailFold();
    await fresh.extend(deps, refs);
    // Keep the newest fold (an older version's fold is not extended by later commits).
    if (cached === undefined || !fresh.isPrefixOf(cached.identities)) {
      this.#tails.delete(id);
      this.#tails.set(id, fresh);
      while (this.#tails.size > this.#settings.snapshotEntries) {
        const oldest = this.#tails.keys().next().value as string;
        this.#tails.delete(oldest);
      }
    }
    return fresh;
  }

  /** Positions hidden by the tombstones `ref` publishes at this version (the object must exist: the manifest names it). */
  async #tombstones(ref: ContainerRef): Promise<Iterable<number>> {
    const key = sidecarForRead(ref);
    if (key === undefined) return [];
    const bytes = await readReferenced(this.#deps, key, `tombstone object ${key} referenced by container ${ref.id}`);
    verifySnapshot(ref, key, bytes);
    return decodeTombstones(key, bytes).positions;
  }

  /** Drops prepared versions that hold the evicted segment index. */
  #dropHolding(indexKey: string): void {
    for (const [key, entry] of this.#prepared) if (entry.value?.indexKeys.includes(indexKey) === true) this.#prepared.delete(key);
  }

  /**
   * LRU eviction: at most VERSIONS_PER_NAMESPACE versions of `namespace`,
   * then the global entry and byte budgets. `built`, the version just
   * prepared, is never evicted here even when it alone exceeds the byte
   * budget: dropping it made every query of a large uncompacted tail
   * rebuild the tail index (seconds per query; issue 13 "no cliff on the
   * tail"). It ages out when a newer entry is built.
   */
  #evict(namespace: string, built: string): void {
    let mine = 0;
    for (const entry of this.#prepared.values()) if (entry.value?.namespace === namespace) mine++;
    for (const [key, entry] of this.#prepared) {
      if (mine <= VERSIONS_PER_NAMESPACE) break;
      if (entry.value?.namespace !== namespace) continue;
      this.#prepared.delete(key);
      mine--;
    }
    let bytes = 0;
    for (const entry of this.#prepared.values()) bytes += entry.value?.bytes ?? 0;
    for (const [key, entry] of this.#prepared) {
      if (this.#prepared.size <= this.#settings.snapshotEntries && bytes <= this.#settings.snapshotBytes) break;
      if (entry.value === undefined || key === built) continue; // still building, or just built
      this.#prepared.delete(key);
      bytes -= entry.value.bytes;
    }
  }
}
