/**
 * What a manifest references, split by how it may be freed, and releasing
 * a namespace's references once the manifests that held them are gone.
 *
 * - Shared kind (immutable, may be referenced by branches): a container's
 *   object (`key`) and a segment's query index (`index_key`). Freed through
 *   the refcount shards (refcount-shards.ts): the object is deleted when its
 *   last holder lets go, or at once when it has no entry and the releasing
 *   namespace owns it (its key is under the namespace root).
 * - Owned kind (never shared): the live tombstone sidecar of each container
 *   (`superfiles/<id>.tombstones` of the referencing namespace) and the
 *   published sidecar snapshot (`tombstones_snapshot`). Deleted directly.
 *
 * Keys of one kind are referenced by one contiguous range of a
 * namespace's versions: keys are fresh (UUIDs, or snapshot names unique per
 * sidecar write) and a container that leaves the manifest (compaction)
 * never comes back. So the keys retained versions still need are exactly
 * those of the oldest retained version (manifest-retention.ts).
 */
import type { Manifest } from "@skerry/wal-format";
import { type EngineContext, indexKeyOf, tombstonesSnapshot } from "../manifest/index.ts";
import { type NamespacePath, namespaceRoot, tombstonesKey, withRetry } from "../core/index.ts";
import type { RefcountShards } from "./refcount-shards.ts";

export interface References {
  readonly shared: Set<string>;
  readonly owned: Set<string>;
}

export function emptyReferences(): References {
  return { shared: new Set(), owned: new Set() };
}

/** Adds what `manifest` (a version of `path`) references to `into`. */
export function addReferences(into: References, path: NamespacePath, manifest: Manifest): References {
  for (const c of manifest.containers) {
    into.shared.add(c.key); // a carried batch too: its object may exist (carried-batch.ts)
    const index = indexKeyOf(c);
    if (index !== undefined) into.shared.add(index);
    into.owned.add(tombstonesKey(path, c.id));
    if (c.tombstonesKey !== undefined) into.owned.add(c.tombstonesKey);
    const snapshot = tombstonesSnapshot(c);
    if (snapshot !== undefined) into.owned.add(snapshot);
  }
  return into;
}

export function referencesOf(path: NamespacePath, manifest: Manifest): References {
  return addReferences(emptyReferences(), path, manifest);
}

/** `a` minus `b`. */
export function subtractReferences(a: References, b: References): References {
  return {
    shared: new Set([...a.shared].filter((k) => !b.shared.has(k))),
    owned: new Set([...a.owned].filter((k) => !b.owned.has(k))),
  };
}

const DELETE_CONCURRENCY = 8;

/** Deletes `keys` (absent ones are fine), 8 at a time. */
export async function deleteObjects(ctx: EngineContext, keys: readonly string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        await withRetry(`delete ${key}`, ctx.retry, ctx.random, () => ctx.storage.delete(key));
      }
    }),
  );
}

/**
 * Releases `refs` held by incarnation `holder` of `path`, whose manifests
 * referencing them are already deleted: owned objects under the namespace
 * root are deleted, shared ones go through the shards. Returns the number
 * of objects deleted.
 */
export async function releaseReferences(
  ctx: EngineContext,
  shards: RefcountShards,
  path: NamespacePath,
  holder: string,
  refs: References,
): Promise<number> {
  const root = `${namespaceRoot(path)}/`;
  const owned = [...refs.owned].filter((k) => k.startsWith(root));
  const dead = await shards.dropHolder(path.org, path.project, refs.shared, holder, (key) => key.startsWith(root));
  const keys = [...dead, ...owned];
  await deleteObjects(ctx, keys);
  return keys.length;
}
