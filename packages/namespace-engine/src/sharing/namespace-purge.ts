/**
 * Purging a deleted namespace: releasing its objects and old manifests once
 * its final, deleted manifest version T is committed.
 *
 * 1. Read every stored version below T (every retained version of the
 *    deleted incarnation, plus any leftovers of older incarnations) and
 *    collect what each incarnation references.
 * 2. Delete those manifests (in any order: T is the latest and readers of a
 *    deleted namespace never look further). From here no manifest of the
 *    namespace references anything, so:
 * 3. release the references per incarnation (object-release.ts): owned
 *    objects (sidecars, snapshots) are deleted; shared-kind objects are
 *    deleted when nobody else holds them (refcount shards), so objects a
 *    branch still references survive the deletion of the namespace that
 *    wrote them, and a branch's deletion lets go of its parent's objects.
 * 4. Delete every other object under the namespace root, manifests
 *    excepted, whose last-modified time is strictly before that of manifest
 *    T (WAL docs, intents, waiting claims, leaked batches of crashed commits), unless a
 *    refcount shard says another namespace holds it. Objects of a
 *    re-created namespace are written after T and are never touched.
 *    (Coarse store timestamps can leave a leaked object written in T's tick
 *    for the repair sweep; referenced ones are always released.)
 *
 * T itself stays: it fences writers that still hold an older base, and it
 * keeps versions increasing if the name is created again. Every step is
 * idempotent; a crashed purge is finished by the next `deleteNamespace`,
 * `createNamespace` or `repair` of the name. A crash after step 2 loses the
 * list of references of the deleted manifests: objects under the root are
 * still caught by step 4 of the retry, holders of shared objects stay too
 * high (a leak) until `repair`.
 */
import type { Manifest } from "@skerry/wal-format";
import { type EngineContext, incarnationOf } from "../manifest/index.ts";
import { manifestKey, manifestPrefix, manifestVersionOf, type NamespacePath, namespaceRoot, withRetry } from "../core/index.ts";
import { addReferences, deleteObjects, emptyReferences, type References, releaseReferences } from "./object-release.ts";
import type { RefcountShards } from "./refcount-shards.ts";

const READ_CONCURRENCY = 8;

/** Purges the namespace whose deleted manifest is `deletedVersion`; returns the number of objects deleted. */
export async function purgeNamespace(ctx: EngineContext, shards: RefcountShards, path: NamespacePath, deletedVersion: number): Promise<number> {
  const call = <T>(what: string, fn: () => Promise<T>) => withRetry(what, ctx.retry, ctx.random, fn);
  const { storage } = ctx;
  const tombKey = manifestKey(path, deletedVersion);
  const tomb = await call(`head ${tombKey}`, () => storage.head(tombKey));
  if (tomb === null) return 0;
  const cutoff = tomb.lastModified.getTime();
  const root = `${namespaceRoot(path)}/`;
  const manifests = manifestPrefix(path);

  // 1. Every older version and what its incarnation references.
  const old = await call(`list ${manifests}`, async () => {
    const keys: { key: string; version: number }[] = [];
    for await (const meta of storage.list(manifests)) {
      const version = manifestVersionOf(path, meta.key);
      if (version !== undefined && version < deletedVersion) keys.push({ key: meta.key, version });
    }
    return keys;
  });
  const byHolder = new Map<string, References>();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(READ_CONCURRENCY, old.length) }, async () => {
      while (next < old.length) {
        const { version } = old[next++] as { version: number };
        let manifest: Manifest;
        try {
          manifest = await ctx.manifests.readVersion(path, version);
        } catch (error) {
          if ((error as { code?: string }).code === "VersionNotFound") continue; // purged concurrently
          throw error;
        }
        const holder = incarnationOf(manifest);
        let refs = byHolder.get(holder);
        if (refs === undefined) byHolder.set(holder, (refs = emptyReferences()));
        addReferences(refs, path, manifest);
      }
    }),
  );

  // 2. The manifests go first: nothing references the objects after this.
  await deleteObjects(
    ctx,
    old.map((m) => m.key),
  );

  // 3. Release each incarnation's references.
  let deleted = old.length;
  for (const [holder, refs] of byHolder) deleted += await releaseReferences(ctx, shards, path, holder, refs);

  // 4. Leftovers under the root written before T, unless another namespace holds them.
  const leftovers = await call(`list ${root}`, async () => {
    const keys: string[] = [];
    for await (const meta of storage.list(root)) {
      if (meta.key.startsWith(manifests)) continue;
      if (meta.lastModified.getTime() < cutoff) keys.push(meta.key);
    }
    return keys;
  });
  const held = await shards.holdersOf(path.org, path.project, leftovers);
  const free = leftovers.filter((key) => held.get(key) === undefined);
  await deleteObjects(ctx, free);
  return deleted + free.length;
}
