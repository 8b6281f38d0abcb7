/**
 * Branch and copy: a new namespace whose first manifest is a given version
 * of another one.
 *
 * - `branch` (copy-on-write, same project): the new manifest references the
 *   source version's containers and query indexes where they are (shared;
 *   the new namespace becomes a holder in the refcount shards), and holds
 *   its OWN copies of the tombstone sidecars as of that version (mutable
 *   objects are never shared): the sidecar snapshot the source version
 *   publishes is written as the branch's live sidecar, and snapshotted for
 *   the branch's first manifest. The two namespaces never see each other's
 *   later writes, tombstones or compactions.
 * - `copy` (full copy, any project): every object is copied under the new
 *   namespace's root; nothing is shared, no refcount is touched. A copy is
 *   independent storage (it survives anything done to the source, can move
 *   a namespace to another project, and frees nothing of the source's when
 *   deleted); a branch is the cheap, instant form.
 *
 * Carried write batches (carried-batch.ts) become objects first: a branch
 * stores each at its key (under the source's root, where GC would store it
 * before deleting its carrier), a copy under the target; the new refs carry
 * nothing.
 *
 * Crash ordering: (1) the registry marker, (2) the new namespace's own
 * objects (copies, sidecars, snapshots) and carried batches stored, (3) branch: add the holders,
 * (4) branch: re-read the source version (a manifest GC or namespace
 * deletion deletes manifests BEFORE it releases objects, so a source
 * version still there means its objects are still held, and from now on
 * the shards show our holder to anyone releasing them), (5) commit the new
 * namespace's first manifest (version 1, or the version after a deleted
 * incarnation of the name). A crash leaves unreferenced objects and holders
 * no manifest backs (leaks `repair` reclaims), never a manifest that
 * references a missing object. A lost race for the name (NamespaceExists)
 * removes the holders it added.
 *
 * Errors: NamespaceNotFound (source), VersionNotFound (source version gone
 * or expired), NamespaceExists (target live), InvalidArgument.
 */
import { type ContainerRef, contentHash, encodeTombstoneSidecar, type Manifest } from "@skerry/wal-format";
import { asStored, decodeTombstones, type EngineContext, incarnationOf, indexKeyOf, isCarried, readContainerBytes, registerNamespace, sidecarForRead, snapshotHash, storeBatch, verifySnapshot, withExtra } from "../manifest/index.ts";
import { CorruptError, createImmutable, formatNamespacePath, InvalidArgumentError, NamespaceExistsError, namespaceId, NamespaceNotFoundError, type NamespacePath, namespaceRoot, randomUuid, readReferenced, tombstonesKey, tombstoneSnapshotKey, withRetry } from "../core/index.ts";
import { purgeNamespace } from "./namespace-purge.ts";
import type { RefcountShards } from "./refcount-shards.ts";

export type ForkMode = "branch" | "copy";

export interface ForkOptions {
  /** Source version; default the latest. */
  readonly atVersion?: number | undefined;
  /** Labels of the new namespace; default the source's. */
  readonly labels?: ReadonlyMap<string, string> | undefined;
}

const COPY_CONCURRENCY = 8;

/** `key` (under some namespace root) moved under `target`'s root. */
function rehome(key: string, target: NamespacePath): string {
  const parts = key.split("/");
  if (parts.length < 5 || parts[2] !== "ns") throw new CorruptError(`object key ${key} is not under a namespace root`, key);
  return `${namespaceRoot(target)}/${parts.slice(4).join("/")}`;
}

async function bounded<T>(items: readonly T[], fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(COPY_CONCURRENCY, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await fn(items[index] as T, index);
      }
    }),
  );
}

/** The target's ref for source ref `c`: its own sidecar copy (as of the source version), objects shared or copied. */
async function forkRef(ctx: EngineContext, c: ContainerRef, target: NamespacePath, mode: ForkMode): Promise<ContainerRef> {
  const { tombstonesKey: _live, ...rest } = c;
  let ref: ContainerRef = withExtra(rest, { tombstones_etag: undefined, tombstones_snapshot: undefined });
  if (isCarried(c)) {
    // A carried batch is shared or copied as an object: a branch stores it at its key under the source (it
    // must outlive the source's carrier manifest), a copy under the target.
    const bytes = await readContainerBytes(ctx, c);
    if (bytes.length !== c.byteSize || contentHash(bytes) !== c.contentHash) {
      throw new CorruptError(`carried batch ${c.id} of the source does not match its ref (size or BLAKE3)`, c.key);
    }
    const key = mode === "copy" ? rehome(c.key, target) : c.key;
    await storeBatch(ctx, { ...c, key }, bytes);
    ref = asStored({ ...ref, key });
  } else if (mode === "copy") {
    const key = rehome(c.key, target);
    const bytes = await readReferenced(ctx, c.key, `container ${c.key} referenced by the source`);
    if (bytes.length !== c.byteSize || contentHash(bytes) !== c.contentHash) {
      throw new CorruptError(`container ${c.key} of the source does not match its ref (size or BLAKE3)`, c.key);
    }
    await createImmutable(ctx, key, bytes);
    ref = { ...ref, key };
    const index = indexKeyOf(c);
    if (index !== undefined) {
      // Referenced by the source's manifest, so it must exist (a missing index is corruption, as for a query).
      const indexBytes = await readReferenced(ctx, index, `query index ${index} referenced by the source`);
      const copied = rehome(index, target);
      await createImmutable(ctx, copied, indexBytes);
      ref = withExtra(ref, { index_key: copied });
    }
  }
  const published = sidecarForRead(c);
  if (published === undefined) return ref;
  // The tombstones the source version publishes: they must exist, or the branch would resurrect deleted rows.
  const sidecar = await readReferenced(ctx, published, `tombstone object ${published} referenced by container ${c.id}`);
  verifySnapshot(c, published, sidecar);
  const positions = decodeTombstones(published, sidecar).positions;
  if (positions.length === 0) return ref;
  // The branch's own live sidecar: the bits as of the source version, without any seal of the source's compactions.
  const bytes = encodeTombstoneSidecar({ positions: [...positions] });
  const live = tombstonesKey(target, c.id);
  const { etag } = await withRetry(`write ${live}`, ctx.retry, ctx.random, () => ctx.storage.put(live, bytes));
  const snapshot = tombstoneSnapshotKey(target, c.id, snapshotHash(bytes, etag));
  await createImmutable(ctx, snapshot, bytes);
  return withExtra({ ...ref, tombstonesKey: live }, { tombstones_etag: etag, tombstones_snapshot: snapshot });
}

/** Shared-kind keys a branch of `manifest` holds. */
function sharedKeys(manifest: Manifest): string[] {
  const out = new Set<string>();
  for (const c of manifest.containers) {
    out.add(c.key);
    const index = indexKeyOf(c);
    if (index !== undefined) out.add(index);
  }
  return [...out];
}

export async function forkNamespace(
  ctx: EngineContext,
  shards: RefcountShards,
  source: NamespacePath,
  target: NamespacePath,
  mode: ForkMode,
  options: ForkOptions,
): Promise<Manifest> {
  const sourceName = formatNamespacePath(source);
  const targetName = formatNamespacePath(target);
  if (sourceName === targetName) throw new InvalidArgumentError(`cannot ${mode} ${sourceName} onto itself`);
  if (mode === "branch" && (source.org !== target.org || source.project !== target.project)) {
    throw new InvalidArgumentError(`a branch stays in its project (${source.org}/${source.project}); use copy to move across projects`);
  }
  const at = options.atVersion;
  if (at !== undefined && (!Number.isSafeInteger(at) || at < 1)) throw new InvalidArgumentError(`atVersion must be a positive integer; got ${String(at)}`);
  const latest = await ctx.manifests.readLatest(source);
  if (latest === undefined || latest.deletedAt !== undefined) throw new NamespaceNotFoundError(sourceName);
  const from = at === undefined || at === latest.version ? latest : await ctx.manifests.readVersion(source, at);
  if (from.deletedAt !== undefined) throw new NamespaceNotFoundError(sourceName);

  await registerNamespace(ctx.storage, ctx.retry, ctx.random, target);
  return ctx.lanes.run(namespaceId(target), async () => {
    const existing = await ctx.manifests.readLatest(target);
    if (existing !== undefined && existing.deletedAt === undefined) throw new NamespaceExistsError(targetName);
    if (existing !== undefined) await purgeNamespace(ctx, shards, target, existing.version);

    const containers: ContainerRef[] = new Array(from.containers.length);
    await bounded(from.containers, async (c, i) => {
      containers[i] = await forkRef(ctx, c, target, mode);
    });
    const incarnation = randomUuid(ctx.random);
    const held = mode === "branch" ? sharedKeys(from) : [];
    if (held.length > 0) {
      await shards.addHolders(target.org, target.project, held, incarnation, incarnationOf(from));
      try {
        await ctx.manifests.readVersion(source, from.version);
      } catch (error) {
        await shards.removeHolder(target.org, target.project, held, incarnation).catch(() => undefined);
        throw error;
      }
    }
    const now = ctx.clock.now();
    const manifest: Manifest = {
      schemaVersion: 1,
      namespace: targetName,
      version: existing === undefined ? 1 : existing.version + 1,
      createdAt: now,
      updatedAt: now,
      ...(mode === "branch" ? { parent: { namespace: sourceName, version: from.version } } : {}),
      ...(from.vector === undefined ? {} : { vector: from.vector }),
      ...(from.textFields === undefined ? {} : { textFields: from.textFields }),
      ...(from.schema === undefined ? {} : { schema: from.schema }),
      containers,
      rowIdHighWater: from.rowIdHighWater,
      recentWrites: [],
      labels: new Map(options.labels ?? from.labels),
      extra: mode === "copy" ? { incarnation, copied_from: { namespace: sourceName, version: from.version } } : { incarnation },
    };
    if ((await ctx.manifests.create(target, manifest)) === "created") {
      ctx.states.invalidate(target);
      return manifest;
    }
    if (held.length > 0) await shards.removeHolder(target.org, target.project, held, incarnation).catch(() => undefined);
    throw new NamespaceExistsError(targetName);
  });
}
