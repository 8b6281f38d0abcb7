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
 *
 * A sidecar absent while its ref has no `tombstones_etag` was never
 * published (the wal-engine creates sidecars lazily): nothing to do. Absent
 * while the ref records an etag, it was published and has been lost:
 * `CorruptError` naming it (publishing "no tombstones" would resurrect every
 * row it hid).
 */
import { isNotFound } from "@skerry/storage-providers";
import type { ContainerRef, JsonValue, Manifest } from "@skerry/wal-format";
import { tombstonesEtag, withExtra } from "./container-extra.ts";
import { commitChange, type EngineContext } from "./engine-context.ts";
import { CorruptError, createImmutable, type NamespacePath, tombstoneSnapshotKey, withRetry } from "../core/index.ts";
import { decodeTombstones, snapshotHash } from "./tombstone-object.ts";

interface Published {
  readonly etag: string | undefined;
  readonly snapshot: string | undefined;
}

/**
 * Throws `CorruptError` when ref `c`'s live sidecar (`key`), found missing, is lost: the latest manifest still
 * holds the container and records the sidecar as published (an etag), and it is still absent. Returns when it
 * is not (a stale base whose container a compaction has since retired and GC freed: the commit will lose its
 * race and run again on the newer base).
 */
export async function assertSidecarNotLost(ctx: EngineContext, path: NamespacePath, c: ContainerRef, key: string): Promise<void> {
  const latest = await ctx.manifests.readLatest(path);
  const ref = latest?.containers.find((r) => r.id === c.id);
  if (ref === undefined || tombstonesEtag(ref) === undefined) return;
  const head = await withRetry(`head ${key}`, ctx.retry, ctx.random, () => ctx.storage.head(key));
  if (head !== null) return;
  throw new CorruptError(`tombstone sidecar ${key} of container ${c.id} is missing; the manifest recorded it as published (etag ${tombstonesEtag(ref)})`, key);
}

/** Copies ref `c`'s sidecar at `key` to its snapshot object; undefined fields when the sidecar was never written. */
async function publishSidecar(ctx: EngineContext, path: NamespacePath, c: ContainerRef, key: string): Promise<Published> {
  const read = await withRetry(`read ${key}`, ctx.retry, ctx.random, async () => {
    try {
      return await ctx.storage.get(key);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  });
  if (read === undefined) {
    if (tombstonesEtag(c) !== undefined) await assertSidecarNotLost(ctx, path, c, key);
    return { etag: undefined, snapshot: undefined };
  }
  decodeTombstones(key, read.bytes); // never publish bytes readers would refuse (CorruptError naming the sidecar)
  // Named by the bytes and the etag: one name per sidecar write, so a snapshot key is referenced by
  // one contiguous range of versions (GC relies on it), and a retried publish writes the same name.
  const snapshot = tombstoneSnapshotKey(path, c.id, snapshotHash(read.bytes, read.meta.etag));
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
    await Promise.all(
      candidates.map((c, i) => (etags[i] === undefined && tombstonesEtag(c) !== undefined ? assertSidecarNotLost(ctx, path, c, c.tombstonesKey as string) : undefined)),
    );
    const stale = candidates.filter((c, i) => etags[i] !== tombstonesEtag(c));
    if (stale.length === 0) return undefined;
    const changed = new Map<string, Published>();
    await Promise.all(
      stale.map(async (c) => {
        changed.set(c.id, await publishSidecar(ctx, path, c, c.tombstonesKey as string));
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
