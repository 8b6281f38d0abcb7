/**
 * Purging a deleted namespace: removing its objects and old manifests once
 * its final, deleted manifest version T is committed.
 *
 * 1. Delete the objects of the deleted incarnation: every container (and
 *    tombstone sidecar) the newest remaining version before T references,
 *    and every other object under the namespace root, manifests excepted,
 *    whose last-modified time is strictly before that of manifest T (leaked
 *    objects of crashed or lost commits). Objects of a re-created namespace
 *    are written after its first manifest, which comes after T, so the
 *    store's own clock keeps them out. (Coarse store timestamps, such as S3's
 *    whole seconds or a file system's clock tick, can leave a leaked object
 *    written in T's tick for the repair sweep; referenced ones are always
 *    deleted.)
 * 2. Manifests older than T are deleted (in any order: T is the latest and
 *    readers of a deleted namespace never look further).
 *
 * T itself stays: it fences writers that still hold an older base (their
 * create of T's version fails, and rebasing onto T fails with
 * NamespaceNotFound), and it keeps versions increasing if the name is
 * created again. Every step is idempotent, so a crashed purge is finished by
 * the next `deleteNamespace` or `createNamespace` of the name.
 *
 * Shared objects (branches, copies) come with reference counts in a later
 * increment; then step 1 deletes only objects this namespace owns and
 * decrements the counts of the others (docs/namespace-engine.md).
 */
import type { StorageProvider } from "@skerry/storage-providers";
import { decodeManifest, type Random } from "@skerry/wal-format";
import type { NamespacePath } from "./namespace-path.ts";
import { type RetryPolicy, withRetry } from "./storage-calls.ts";
import { manifestKey, manifestPrefix, manifestVersionOf, namespaceRoot, tombstonesKey } from "./storage-layout.ts";

const DELETE_CONCURRENCY = 8;

/** Purges the namespace whose deleted manifest is `deletedVersion`; returns the number of objects deleted. */
export async function purgeNamespace(
  storage: StorageProvider,
  path: NamespacePath,
  deletedVersion: number,
  retry: RetryPolicy,
  random: Random,
): Promise<number> {
  const call = <T>(what: string, fn: () => Promise<T>) => withRetry(what, retry, random, fn);
  const tombKey = manifestKey(path, deletedVersion);
  const tomb = await call(`head ${tombKey}`, () => storage.head(tombKey));
  if (tomb === null) return 0;
  const cutoff = tomb.lastModified.getTime();
  const root = `${namespaceRoot(path)}/`;
  const manifests = manifestPrefix(path);
  const objects = await call(`list ${root}`, async () => {
    const keys: string[] = [];
    for await (const meta of storage.list(root)) {
      if (meta.key.startsWith(manifests)) continue;
      if (meta.lastModified.getTime() < cutoff) keys.push(meta.key);
    }
    return keys;
  });
  const old = await call(`list ${manifests}`, async () => {
    const keys: { key: string; version: number }[] = [];
    for await (const meta of storage.list(manifests)) {
      const version = manifestVersionOf(path, meta.key);
      if (version !== undefined && version < deletedVersion) keys.push({ key: meta.key, version });
    }
    return keys;
  });
  // Listed newest first: the newest remaining old version references every container
  // of the incarnation (containers are append-only until compaction).
  const newest = old[0];
  if (newest !== undefined) {
    const bytes = await call(`read ${newest.key}`, async () => {
      try {
        return (await storage.get(newest.key)).bytes;
      } catch (error) {
        if ((error as { code?: string }).code === "NotFound") return undefined;
        throw error;
      }
    });
    if (bytes !== undefined) {
      const manifest = decodeManifest(bytes);
      const listed = new Set(objects);
      for (const container of manifest.containers) {
        for (const key of [container.key, container.tombstonesKey ?? tombstonesKey(path, container.id)]) {
          if (!listed.has(key)) {
            listed.add(key);
            objects.push(key);
          }
        }
      }
    }
  }
  await deleteAll(objects, (key) => call(`delete ${key}`, () => storage.delete(key)));
  await deleteAll(
    old.map((m) => m.key),
    (key) => call(`delete ${key}`, () => storage.delete(key)),
  );
  return objects.length + old.length;
}

async function deleteAll(keys: readonly string[], remove: (key: string) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, async () => {
      while (next < keys.length) await remove(keys[next++] as string);
    }),
  );
}
