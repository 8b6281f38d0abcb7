/**
 * Manifest retention and garbage collection of one namespace.
 *
 * Policy (`RetentionPolicy`): a version is kept while it is one of the
 * newest `keepVersions` (at least 1: the latest is never deleted) or while
 * it was superseded less than `keepForMs` ago (its successor's `updatedAt`
 * by the engine clock). Older versions expire, oldest first, as one
 * contiguous range below the retained ones. `atVersion` on an expired
 * version fails with VersionNotFound.
 *
 * Collecting (crash ordering: the "commit" is the manifests going away):
 *   1. list the versions; read the retained boundary and the expiring ones;
 *   2. dropped = keys of the expiring versions minus keys of the oldest
 *      retained version (object-release.ts: a key is referenced by one
 *      contiguous range of versions, so anything a retained version needs
 *      the oldest retained one references);
 *   3. store the carried batches (carried-batch.ts) whose carrier expires
 *      but which the oldest retained version still references, as objects
 *      at their keys: the carrier's bytes must outlive it;
 *   4. delete the expiring manifests, newest first: a carrier is older than
 *      every version that references its batch, so a crash leaves expired
 *      versions whose carriers are all still there (fully readable until
 *      the next collection);
 *   5. release the dropped keys: owned objects deleted, shared ones
 *      through the refcount shards (deleted when nobody holds them);
 *   6. delete the persisted tail chunk indexes whose tail's first container
 *      no retained version references (tail-index-garbage.ts).
 * A crash after 4 leaks (counts too high, objects kept); `repair` and its
 * sweep reclaim them. Nothing a retained version references is touched.
 *
 * Safety against stale writers: a writer creates version N+1 only if it
 * does not exist, so deleting old versions could let a writer holding an
 * old base "commit" under the latest. ManifestStore refuses to create on a
 * base confirmed more than `maxBaseAgeMs` ago (it re-reads instead), and a
 * version is deleted only once its successor is older than `keepForMs`:
 * keep `keepForMs` well above `maxBaseAgeMs` (and `readStalenessMs`) plus
 * clock skew. The defaults are 16 versions and one hour. (A crash in step 4
 * leaves a gap between the oldest expired versions and the retained ones;
 * no writer can hold such an old base within `maxBaseAgeMs`, and the next
 * collection takes the rest.)
 *
 * A deleted namespace is not collected here (its purge frees everything).
 */
import type { Manifest } from "@skerry/wal-format";
import { type EngineContext, incarnationOf, storeBatch } from "../manifest/index.ts";
import { InvalidArgumentError, manifestKey, manifestPrefix, manifestVersionOf, type NamespacePath, withRetry } from "../core/index.ts";
import { addReferences, emptyReferences, type RefcountShards, referencesOf, releaseReferences, subtractReferences } from "../sharing/index.ts";
import { collectTailIndexGarbage } from "./tail-index-garbage.ts";

export interface RetentionPolicy {
  /** Newest versions always kept (at least 1); default 16. */
  readonly keepVersions: number;
  /** Versions superseded less than this long ago are kept, ms; default one hour. */
  readonly keepForMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { keepVersions: 16, keepForMs: 3_600_000 };

export interface GarbageReport {
  /** Manifest versions deleted. */
  readonly versionsDeleted: number;
  /** Objects deleted (containers, indexes, sidecars and snapshots nobody references any more). */
  readonly objectsDeleted: number;
  /** Oldest version still readable. */
  readonly oldestVersion: number;
  readonly latestVersion: number;
}

export function validateRetention(policy: RetentionPolicy): RetentionPolicy {
  if (!Number.isSafeInteger(policy.keepVersions) || policy.keepVersions < 1) {
    throw new InvalidArgumentError(`retention.keepVersions must be an integer >= 1; got ${String(policy.keepVersions)}`);
  }
  if (typeof policy.keepForMs !== "number" || !(policy.keepForMs >= 0)) {
    throw new InvalidArgumentError(`retention.keepForMs must be a number >= 0; got ${String(policy.keepForMs)}`);
  }
  return policy;
}

/** Stored manifest versions of `path`, newest first. */
export async function listVersionsDescending(ctx: EngineContext, path: NamespacePath): Promise<number[]> {
  const prefix = manifestPrefix(path);
  return withRetry(`list ${prefix}`, ctx.retry, ctx.random, async () => {
    const out: number[] = [];
    for await (const meta of ctx.storage.list(prefix)) {
      const version = manifestVersionOf(path, meta.key);
      if (version !== undefined) out.push(version);
    }
    return out.sort((a, b) => b - a);
  });
}

/** Reads a stored version, or undefined when it is gone (collected meanwhile). */
async function readOrGone(ctx: EngineContext, path: NamespacePath, version: number): Promise<Manifest | undefined> {
  try {
    return await ctx.manifests.readVersion(path, version);
  } catch (error) {
    if ((error as { code?: string }).code === "VersionNotFound") return undefined;
    throw error;
  }
}

export async function collectManifestGarbage(
  ctx: EngineContext,
  shards: RefcountShards,
  path: NamespacePath,
  policy: RetentionPolicy,
): Promise<GarbageReport> {
  const versions = await listVersionsDescending(ctx, path);
  const latestVersion = versions[0] ?? 0;
  // Lost newest versions: GC refuses (ManifestRollbackError) until repair decides. Else the registry
  // marker's high water is raised to the latest, so a process that starts later can detect their loss.
  await ctx.manifests.recordHighWater(path, latestVersion);
  const nothing = (oldest: number): GarbageReport => ({ versionsDeleted: 0, objectsDeleted: 0, oldestVersion: oldest, latestVersion });
  if (versions.length <= policy.keepVersions) return nothing(versions[versions.length - 1] ?? 0);
  const cutoff = ctx.clock.now() - policy.keepForMs;

  // Walk down from the newest version past the always-kept ones until a version's successor is old enough.
  let successor: Manifest | undefined;
  let boundary = -1; // index of the newest expiring version
  const liveContainers = new Set<string>(); // every retained version's containers
  for (let i = 0; i < versions.length; i++) {
    const manifest = await readOrGone(ctx, path, versions[i] as number);
    if (manifest === undefined) return nothing(versions[versions.length - 1] ?? 0); // collected concurrently
    if (manifest.deletedAt !== undefined) {
      // The latest is deleted: purge's work. Lower: an older incarnation's leftovers (purge's too).
      return nothing(versions[Math.max(0, i - 1)] as number);
    }
    if (i >= policy.keepVersions && successor !== undefined && successor.updatedAt <= cutoff) {
      boundary = i;
      break;
    }
    successor = manifest;
    for (const c of manifest.containers) liveContainers.add(c.id);
  }
  const retained = successor;
  if (boundary < 0 || retained === undefined) return nothing(versions[versions.length - 1] ?? 0);

  // The expiring range ends at the first deleted manifest (an older incarnation's, purge's work).
  const holder = incarnationOf(retained);
  const expiring: number[] = [];
  const dropped = emptyReferences();
  const kept = referencesOf(path, retained);
  for (let i = boundary; i < versions.length; i++) {
    const version = versions[i] as number;
    const manifest = await readOrGone(ctx, path, version);
    if (manifest === undefined) continue;
    if (manifest.deletedAt !== undefined || incarnationOf(manifest) !== holder) break;
    addReferences(dropped, path, manifest);
    expiring.push(version);
    // The bytes of an expiring carrier's batch that retained versions still reference move to the batch's key.
    for (const c of manifest.containers) {
      if (c.inline !== undefined && c.carrierVersion === version && kept.shared.has(c.key)) await storeBatch(ctx, c, c.inline);
    }
  }
  const release = subtractReferences(dropped, kept);
  // Newest first: every version left by a crash still has its carriers.
  for (const version of expiring) {
    const key = manifestKey(path, version);
    await withRetry(`delete ${key}`, ctx.retry, ctx.random, () => ctx.storage.delete(key));
  }
  const objectsDeleted = (await releaseReferences(ctx, shards, path, holder, release)) + (await collectTailIndexGarbage(ctx, path, liveContainers));
  return { versionsDeleted: expiring.length, objectsDeleted, oldestVersion: retained.version, latestVersion };
}
