/**
 * Purging a deleted namespace: removing its objects and old manifests once
 * its final, deleted manifest version T is committed.
 *
 * 1. Every object under the namespace root except manifests whose
 *    last-modified time is strictly before the object of manifest T is
 *    deleted. Such objects were written before the deletion committed, so
 *    they belong to the deleted incarnation (referenced or leaked); objects
 *    of a re-created namespace are written after its first manifest, which
 *    comes after T, so the store's own clock keeps them out. (S3 timestamps
 *    have whole seconds: an object of the old incarnation written in T's
 *    second is left for the repair sweep.)
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
import type { Random } from "@skerry/wal-format";
import type { NamespacePath } from "./namespace-path.ts";
import { type RetryPolicy, withRetry } from "./storage-calls.ts";
import { manifestKey, manifestPrefix, manifestVersionOf, namespaceRoot } from "./storage-layout.ts";

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
    const keys: string[] = [];
    for await (const meta of storage.list(manifests)) {
      const version = manifestVersionOf(path, meta.key);
      if (version !== undefined && version < deletedVersion) keys.push(meta.key);
    }
    return keys;
  });
  await deleteAll(objects, (key) => call(`delete ${key}`, () => storage.delete(key)));
  await deleteAll(old, (key) => call(`delete ${key}`, () => storage.delete(key)));
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
