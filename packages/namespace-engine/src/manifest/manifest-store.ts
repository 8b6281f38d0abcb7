/**
 * ManifestStore: reading and committing a namespace's immutable, numbered
 * manifests, with a hot in-memory cache of the latest one per namespace.
 *
 * - `readLatest` is one LIST with a page size of 1 over the manifest prefix
 *   (names sort newest first; the first one of a namespace in this process
 *   in parallel with a GET of its registry marker), then a GET unless the
 *   cache already holds that version. A version that vanishes between the LIST and the GET
 *   (being purged) is retried a few times.
 * - `latest` serves the cached manifest when it is younger than the
 *   caller's staleness bound, else reads it.
 * - `create` commits a version with a create-only put and says `created` or
 *   `exists`. When the put's outcome is unknown (a retryable failure: the
 *   write may have landed with its answer lost), it reads the version back
 *   (with the bounded retry policy): the same bytes mean ours landed, other
 *   bytes mean another writer won, absent means try the put again, and a
 *   read-back that keeps failing leaves the outcome unknown: it is never
 *   taken for "exists" (the version may hold our own batch: a rebase onto
 *   it would apply the write twice). After an unknown outcome, a later
 *   attempt's AlreadyExists is read back the same way. A provider's
 *   OutcomeUnknown (S3Storage: the answer was lost and its own re-read found
 *   another object) is such an unknown outcome too. "Other bytes mean
 *   another writer won" holds for manifests although a provider cannot say
 *   it: a manifest key is create-only and no engine path ever updates,
 *   overwrites or deletes the version above the latest, so a manifest of
 *   ours that landed can never have been replaced by other bytes. Because the put is create-only, a late
 *   landing of an earlier attempt can never overwrite anything. (Two writers
 *   committing byte-identical manifests cannot be told apart this way; every
 *   write commit holds a fresh random container id, so only identical
 *   metadata-only commits could, and for them either answer is right.)
 *
 * `create` drops the bytes of batches other versions carry (carried-batch.ts)
 * whichever path built the manifest.
 *
 * Decoded manifests are checked against the key they came from (namespace
 * and version); a mismatch or an undecodable object (wal-format verifies the
 * manifest's own body hash) is `CorruptError`.
 *
 * Lost versions (deleted newest manifests): the store remembers, per
 * namespace, the highest version it knows existed (read, listed, committed,
 * lost a race to, or recorded as `version_high_water` in the registry
 * marker, read with the first LIST of a namespace). A LIST whose newest
 * version is lower means the newest manifests were deleted behind the
 * engine's back: `readLatest` throws `ManifestRollbackError` (a
 * `CorruptError` naming the newest missing key) instead of silently serving
 * the older version, and `create` never puts a version at or below the
 * highest known one (it answers `exists`, so the caller re-reads and gets
 * the error). So no write can reuse a lost version number; `repair` decides
 * (project-repair.ts). `recordHighWater` raises the marker's high water
 * (GC and repair call it; never the commit path).
 */
import { isAlreadyExists, isNotFound, isOutcomeUnknown, isPreconditionFailed, type StorageProvider } from "@skerry/storage-providers";
import { type Clock, decodeManifest, encodeManifest, type Manifest, type Random } from "@skerry/wal-format";
import { carryForward } from "./carried-batch.ts";
import { CorruptError, formatNamespacePath, isNamespaceEngineError, manifestKey, manifestPrefix, manifestVersionOf, namespaceId, type NamespacePath, pause, registryKey, type RetryPolicy, StorageFailureError, toEngineError, VersionNotFoundError, withRetry } from "../core/index.ts";
import { ManifestRollbackError } from "./manifest-rollback-error.ts";
import { encodeRegistryMarker, registryMarkerHighWater } from "./registry-marker.ts";

interface CachedManifest {
  readonly manifest: Manifest;
  /** Clock reading when the manifest was last confirmed as the latest. */
  readonly confirmedAt: number;
}

export type CreateOutcome = "created" | "exists";

export class ManifestStore {
  readonly #storage: StorageProvider;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #retry: RetryPolicy;
  readonly #hot = new Map<string, CachedManifest>();
  /** Per namespace: the highest version known to have existed (versions never decrease). */
  readonly #highest = new Map<string, number>();
  /** Namespaces whose registry marker's high water was read (once per process). */
  readonly #markerRead = new Set<string>();
  /** Per namespace: the high water this process last found or wrote in the registry marker. */
  readonly #markerHighWater = new Map<string, number>();
  readonly #observe: ((manifest: Manifest) => void) | undefined;
  readonly #maxBaseAgeMs: number;

  /**
   * `observe` sees every manifest read from storage (the engine advances its IdGenerator past each high water).
   * `maxBaseAgeMs`: `create` refuses to build on a cached base confirmed longer ago than this (see `create`).
   */
  constructor(
    storage: StorageProvider,
    clock: Clock,
    random: Random,
    retry: RetryPolicy,
    observe?: (manifest: Manifest) => void,
    maxBaseAgeMs = 60_000,
  ) {
    this.#storage = storage;
    this.#clock = clock;
    this.#random = random;
    this.#retry = retry;
    this.#observe = observe;
    this.#maxBaseAgeMs = maxBaseAgeMs;
  }

  /** The cached latest manifest, whatever its age. */
  cached(path: NamespacePath): Manifest | undefined {
    return this.#hot.get(namespaceId(path))?.manifest;
  }

  /** Records `manifest` as the latest known (never moves the cache backwards). */
  remember(path: NamespacePath, manifest: Manifest): void {
    const id = namespaceId(path);
    this.#saw(id, manifest.version);
    const current = this.#hot.get(id);
    if (current !== undefined && current.manifest.version > manifest.version) return;
    this.#hot.set(id, { manifest, confirmedAt: this.#clock.now() });
  }

  /** Drops the cached manifest of `path`. */
  forget(path: NamespacePath): void {
    this.#hot.delete(namespaceId(path));
  }

  /** The latest manifest, from the cache when it is at most `maxStalenessMs` old. Undefined if none exists. */
  async latest(path: NamespacePath, maxStalenessMs: number): Promise<Manifest | undefined> {
    const cached = this.#hot.get(namespaceId(path));
    if (cached !== undefined && this.#clock.now() - cached.confirmedAt <= maxStalenessMs) return cached.manifest;
    return this.readLatest(path);
  }

  /** Key and version of the newest manifest object, or undefined. */
  async #newestKey(path: NamespacePath): Promise<{ key: string; version: number } | undefined> {
    return withRetry(`list manifests of ${formatNamespacePath(path)}`, this.#retry, this.#random, async () => {
      for await (const meta of this.#storage.list(manifestPrefix(path), { pageSize: 1 })) {
        const version = manifestVersionOf(path, meta.key);
        // A foreign name (a README.txt, a .DS_Store, an editor's temp file) is not a manifest: skip it.
        // Repair reports it (project-repair.ts).
        if (version === undefined) continue;
        return { key: meta.key, version };
      }
      return undefined;
    });
  }

  /** Records that `version` of namespace `id` exists or existed. */
  #saw(id: string, version: number): void {
    if (version > (this.#highest.get(id) ?? 0)) this.#highest.set(id, version);
  }

  /** The highest version of `path` this store knows existed, or undefined. */
  highestKnown(path: NamespacePath): number | undefined {
    return this.#highest.get(namespaceId(path));
  }

  /**
   * The newest listed manifest, confirmed not to be below a version known to have existed (else
   * `ManifestRollbackError`). `listed`: a LIST's answer the caller already has. A version learned while that LIST
   * ran (a commit of this process, a marker raised meanwhile) may be newer than its snapshot, so a LIST below the
   * known high is repeated once: a version known before a LIST started must be in it (versions never decrease).
   */
  async #confirmNewest(path: NamespacePath, listed: { key: string; version: number } | undefined): Promise<{ key: string; version: number } | undefined> {
    const id = namespaceId(path);
    if ((this.#highest.get(id) ?? 0) <= (listed?.version ?? 0)) return listed;
    const known = this.#highest.get(id) ?? 0;
    const again = await this.#newestKey(path);
    const latest = again?.version ?? 0;
    if (known > latest) {
      this.#hot.delete(id);
      throw new ManifestRollbackError(formatNamespacePath(path), latest, known, manifestKey(path, known));
    }
    return again;
  }

  /** The registry marker's high water (read once per namespace per process; advisory: failures are ignored). */
  async #readMarker(path: NamespacePath): Promise<void> {
    const id = namespaceId(path);
    try {
      const bytes = await withRetry(`read registry marker of ${id}`, this.#retry, this.#random, async () => {
        try {
          return (await this.#storage.get(registryKey(path))).bytes;
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      });
      this.#markerRead.add(id);
      const highWater = bytes === undefined ? undefined : registryMarkerHighWater(bytes);
      if (highWater !== undefined) {
        this.#saw(id, highWater);
        if (highWater > (this.#markerHighWater.get(id) ?? 0)) this.#markerHighWater.set(id, highWater);
      }
    } catch {
      // Unreadable now: the next LIST tries again.
    }
  }

  /**
   * Confirms that `latest` (the newest version a caller just listed; 0: none) is not below a version known to
   * have existed (`ManifestRollbackError` otherwise) and raises the registry marker's `version_high_water` to it
   * (etag CAS, never lowered; skipped when this process already recorded as much). For GC and repair: never
   * on the commit path. Marker write failures are ignored (the high water is advisory).
   */
  async recordHighWater(path: NamespacePath, listedLatest: number): Promise<void> {
    let latest = listedLatest;
    const id = namespaceId(path);
    if (!this.#markerRead.has(id)) await this.#readMarker(path);
    if ((this.#highest.get(id) ?? 0) > latest) {
      const newest = await this.#confirmNewest(path, undefined);
      latest = Math.max(latest, newest?.version ?? 0);
    }
    this.#saw(id, latest);
    if (latest < 1 || latest <= (this.#markerHighWater.get(id) ?? 0)) return;
    const key = registryKey(path);
    const body = encodeRegistryMarker(formatNamespacePath(path), latest);
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        let current: { bytes: Uint8Array; etag: string } | undefined;
        try {
          const got = await this.#storage.get(key);
          current = { bytes: got.bytes, etag: got.meta.etag };
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        const recorded = current === undefined ? undefined : registryMarkerHighWater(current.bytes);
        if (recorded !== undefined && recorded >= latest) {
          this.#markerHighWater.set(id, recorded);
          return;
        }
        try {
          await this.#storage.put(key, body, { mode: current === undefined ? { kind: "create" } : { kind: "update", etag: current.etag } });
          this.#markerHighWater.set(id, latest);
          return;
        } catch (error) {
          if (!isPreconditionFailed(error) && !isAlreadyExists(error)) throw error;
        }
      }
    } catch {
      // Advisory: a later GC or repair records it.
    }
  }

  /** Reads the latest manifest from storage (one LIST, and a GET unless cached); undefined if none exists. */
  async readLatest(path: NamespacePath): Promise<Manifest | undefined> {
    const id = namespaceId(path);
    for (let attempt = 1; ; attempt++) {
      // The first LIST of a namespace in this process goes with a read of its registry marker's high water, in
      // parallel (one round trip: a fresh process's first query pays for it). The marker is asked first, so the
      // calls of a seed stay in one order (simulation/replay), and known before the LIST is confirmed: a high
      // water the marker gained while the LIST ran is above the LIST's newest, and #confirmNewest lists again.
      const [, listed] = await Promise.all([this.#markerRead.has(id) ? undefined : this.#readMarker(path), this.#newestKey(path)]);
      const newest = await this.#confirmNewest(path, listed);
      if (newest === undefined) {
        this.forget(path);
        return undefined;
      }
      this.#saw(id, newest.version);
      const cached = this.#hot.get(namespaceId(path));
      if (cached?.manifest.version === newest.version) {
        this.remember(path, cached.manifest);
        return cached.manifest;
      }
      try {
        const manifest = await this.readVersion(path, newest.version);
        this.remember(path, manifest);
        return manifest;
      } catch (error) {
        // Purged between the LIST and the GET: list again.
        if (!(isNamespaceEngineError(error) && error.code === "VersionNotFound") || attempt >= 3) throw error;
      }
    }
  }

  /** Reads one version; `VersionNotFoundError` if it does not exist. */
  async readVersion(path: NamespacePath, version: number): Promise<Manifest> {
    const key = manifestKey(path, version);
    let bytes: Uint8Array;
    try {
      bytes = await withRetry(`read manifest ${key}`, this.#retry, this.#random, async () => {
        try {
          return (await this.#storage.get(key)).bytes;
        } catch (error) {
          if (isNotFound(error)) throw new VersionNotFoundError(formatNamespacePath(path), version);
          throw error;
        }
      });
    } catch (error) {
      throw toEngineError(error, `read manifest ${key}`);
    }
    return this.#decode(path, version, key, bytes);
  }

  #decode(path: NamespacePath, version: number, key: string, bytes: Uint8Array): Manifest {
    let manifest: Manifest;
    try {
      manifest = decodeManifest(bytes);
    } catch (cause) {
      throw new CorruptError(`manifest ${key} does not decode: ${(cause as Error).message}`, key, { cause });
    }
    if (manifest.namespace !== formatNamespacePath(path) || manifest.version !== version) {
      throw new CorruptError(
        `manifest ${key} names ${manifest.namespace} version ${manifest.version}, expected ${formatNamespacePath(path)} version ${version}`,
        key,
      );
    }
    this.#saw(namespaceId(path), version);
    this.#observe?.(manifest);
    return manifest;
  }

  /**
   * Commits `manifest` (its version must be the latest + 1) with a create-only
   * put. `created`: it is now the latest; `exists`: another writer committed
   * that version first, or the base (the cached version before it) was
   * confirmed as the latest more than `maxBaseAgeMs` ago: manifest GC may
   * have deleted versions above a stale base, so the caller must re-read
   * and rebase (docs/namespace-engine.md, retention). Throws `StorageFailureError` when the outcome stays
   * unknown after the retries (retry the write with its idempotency key).
   */
  async create(path: NamespacePath, next: Manifest, options: { bridging?: boolean } = {}): Promise<CreateOutcome> {
    // Every manifest holds the bytes of its own carried batch only (carried-batch.ts).
    const manifest = carryForward(next);
    const key = manifestKey(path, manifest.version);
    const base = this.#hot.get(namespaceId(path));
    if (base !== undefined && base.manifest.version === manifest.version - 1 && this.#clock.now() - base.confirmedAt > this.#maxBaseAgeMs) {
      return "exists";
    }
    // A version known to have existed: another writer's (answer as a lost race), or deleted behind our back (the
    // caller's re-read then throws ManifestRollbackError). Never put it again: that would reuse its number.
    // (`bridging`: repair re-creating lost numbers, project-repair.ts.)
    if (options.bridging !== true && manifest.version <= (this.#highest.get(namespaceId(path)) ?? 0)) return "exists";
    const bytes = encodeManifest(manifest);
    let lastError: unknown;
    // Set once an attempt's outcome was unknown; only then can an AlreadyExists be our own landing.
    let ambiguous = false;
    for (let attempt = 1; attempt <= this.#retry.attempts; attempt++) {
      if (attempt > 1) await pause(this.#retry, attempt - 1, this.#random);
      try {
        await this.#storage.put(key, bytes, { mode: { kind: "create" } });
        this.remember(path, manifest);
        return "created";
      } catch (error) {
        const exists = (error as { code?: string }).code === "AlreadyExists";
        if (exists) this.#saw(namespaceId(path), manifest.version);
        // Not ambiguous: nothing of ours can be there, so it is another writer's version.
        if (exists && !ambiguous) return "exists";
        if (!exists) {
          // Retryable (a lost answer) or OutcomeUnknown (the provider re-read and could not decide): ours may
          // have landed. Anything else is a definite failure.
          if (!(error as { retryable?: boolean }).retryable && !isOutcomeUnknown(error)) throw toEngineError(error, `commit manifest ${key}`);
          lastError = error;
          ambiguous = true;
        }
        // Ambiguous AlreadyExists: ours, if an earlier attempt landed with its answer lost. (Providers
        // resolve their own internal retries; S3Storage compares what it sent.)
      }
      // The outcome is unknown: look before trying again. Only bytes actually read decide; a failed
      // read-back leaves the outcome unknown (never "exists": the version may be our own, bug SIM-1).
      const seen = await this.#readBack(key, bytes);
      if (seen === "ours") {
        this.remember(path, manifest);
        return "created";
      }
      if (seen === "other") {
        this.#saw(namespaceId(path), manifest.version);
        return "exists";
      }
      if (seen !== "absent") lastError = seen.error;
    }
    throw new StorageFailureError(
      `commit of manifest ${key} has an unknown outcome after ${this.#retry.attempts} attempts; retry the write with its idempotency key`,
      { cause: lastError, retryable: true },
    );
  }

  /**
   * What is stored at `key` after a put of `bytes` with an unknown outcome: our bytes, another writer's,
   * nothing, or still unknown (the read kept failing after the bounded retries).
   */
  async #readBack(key: string, bytes: Uint8Array): Promise<"ours" | "other" | "absent" | { error: unknown }> {
    try {
      const stored = await withRetry(`read back manifest ${key}`, this.#retry, this.#random, async () => {
        try {
          return (await this.#storage.get(key)).bytes;
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      });
      if (stored === undefined) return "absent";
      return equalBytes(stored, bytes) ? "ours" : "other";
    } catch (error) {
      return { error };
    }
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
