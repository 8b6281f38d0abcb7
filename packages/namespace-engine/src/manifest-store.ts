/**
 * ManifestStore: reading and committing a namespace's immutable, numbered
 * manifests, with a hot in-memory cache of the latest one per namespace.
 *
 * - `readLatest` is one LIST with a page size of 1 over the manifest prefix
 *   (names sort newest first), then a GET unless the cache already holds
 *   that version. A version that vanishes between the LIST and the GET
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
 * and version); a mismatch or an undecodable object is `CorruptError`.
 */
import { isNotFound, isOutcomeUnknown, type StorageProvider } from "@skerry/storage-providers";
import { type Clock, decodeManifest, encodeManifest, type Manifest, type Random } from "@skerry/wal-format";
import { carryForward } from "./carried-batch.ts";
import { CorruptError, isNamespaceEngineError, StorageFailureError, VersionNotFoundError } from "./errors.ts";
import { formatNamespacePath, type NamespacePath } from "./namespace-path.ts";
import { pause, type RetryPolicy, toEngineError, withRetry } from "./storage-calls.ts";
import { manifestKey, manifestPrefix, manifestVersionOf, namespaceId } from "./storage-layout.ts";

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

  /** Reads the latest manifest from storage (one LIST, and a GET unless cached); undefined if none exists. */
  async readLatest(path: NamespacePath): Promise<Manifest | undefined> {
    for (let attempt = 1; ; attempt++) {
      const newest = await this.#newestKey(path);
      if (newest === undefined) {
        this.forget(path);
        return undefined;
      }
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
  async create(path: NamespacePath, next: Manifest): Promise<CreateOutcome> {
    // Every manifest holds the bytes of its own carried batch only (carried-batch.ts).
    const manifest = carryForward(next);
    const key = manifestKey(path, manifest.version);
    const base = this.#hot.get(namespaceId(path));
    if (base !== undefined && base.manifest.version === manifest.version - 1 && this.#clock.now() - base.confirmedAt > this.#maxBaseAgeMs) {
      return "exists";
    }
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
      if (seen === "other") return "exists";
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
