/**
 * refreshTombstones: publishes tombstone sidecars. For every candidate
 * container whose sidecar changed since its ref was last published, the
 * sidecar is copied to an immutable, content-addressed snapshot object
 * (`superfiles/<id>.<hash of bytes and etag>.tsnap`) and one manifest commit records the
 * snapshot key and the sidecar's etag in the ref (`tombstones_snapshot`,
 * `tombstones_etag`).
 *
 * Sidecars change by compare-and-swap without a manifest commit (the
 * wal-engine's tombstone phase), so after a predicate mutation (and after a
 * recovery sweep, which may have finished someone else's) the engine HEADs
 * the sidecars of the touched containers (`only`; all containers with a
 * `tombstones_key` when omitted) and publishes the changed ones. Reads fold
 * the snapshot a version's ref names, so a read at version V sees exactly
 * the tombstones published at or before V, and later bits never leak into
 * older versions (docs/namespace-engine.md, isolation). Returns the
 * manifest the change is visible at (the latest one when nothing changed).
 *
 * Crash ordering: the snapshot is written before the manifest that names
 * it; a crash leaves at most an unreferenced snapshot (swept by repair).
 */
import { isNotFound } from "@skerry/storage-providers";
import { contentHash, type JsonValue, type Manifest } from "@skerry/wal-format";
import { tombstonesEtag, withExtra } from "./container-extra.ts";
import { commitChange, type EngineContext } from "./engine-context.ts";
import type { NamespacePath } from "./namespace-path.ts";
import { createImmutable, withRetry } from "./storage-calls.ts";
import { tombstoneSnapshotKey } from "./storage-layout.ts";

interface Published {
  readonly etag: string | undefined;
  readonly snapshot: string | undefined;
}

/** Copies the sidecar at `key` to its snapshot object; undefined fields when the sidecar is absent. */
async function publishSidecar(ctx: EngineContext, path: NamespacePath, containerId: string, key: string): Promise<Published> {
  const read = await withRetry(`read ${key}`, ctx.retry, ctx.random, async () => {
    try {
      return await ctx.storage.get(key);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  });
  if (read === undefined) return { etag: undefined, snapshot: undefined };
  // Named by the bytes and the etag: one name per sidecar write, so a snapshot key is referenced by
  // one contiguous range of versions (GC relies on it), and a retried publish writes the same name.
  const etagBytes = new TextEncoder().encode(read.meta.etag);
  const named = new Uint8Array(read.bytes.length + etagBytes.length);
  named.set(read.bytes);
  named.set(etagBytes, read.bytes.length);
  const snapshot = tombstoneSnapshotKey(path, containerId, contentHash(named));
  await createImmutable(ctx, snapshot, read.bytes); // same name, same bytes
  return { etag: read.meta.etag, snapshot };
}

export function refreshTombstones(ctx: EngineContext, path: NamespacePath, only?: ReadonlySet<string>): Promise<Manifest> {
  return commitChange(ctx, path, async (base) => {
    const candidates = base.containers.filter((c) => c.tombstonesKey !== undefined && (only === undefined || only.has(c.id)));
    if (candidates.length === 0) return undefined;
    const etags = await Promise.all(
      candidates.map((c) =>
        withRetry(`head ${c.tombstonesKey}`, ctx.retry, ctx.random, async () => (await ctx.storage.head(c.tombstonesKey as string))?.etag),
      ),
    );
    const stale = candidates.filter((c, i) => etags[i] !== tombstonesEtag(c));
    if (stale.length === 0) return undefined;
    const changed = new Map<string, Published>();
    await Promise.all(
      stale.map(async (c) => {
        changed.set(c.id, await publishSidecar(ctx, path, c.id, c.tombstonesKey as string));
      }),
    );
    return {
      ...base,
      containers: base.containers.map((c) => {
        const published = changed.get(c.id);
        if (published === undefined) return c;
        const fields: Record<string, JsonValue | undefined> = { tombstones_etag: published.etag, tombstones_snapshot: published.snapshot };
        return withExtra(c, fields);
      }),
    };
  });
}
