/**
 * repair(org, project, {sweep, graceMs}): rebuilds a project's reference
 * counts from its manifests and, with `sweep`, deletes what nothing
 * references.
 *
 * 1. Every namespace of the project (registry markers, plus any name found
 *    under `ns/`): a deleted namespace's purge is finished; otherwise every
 *    stored version of its live incarnation is read (leftover versions of an
 *    older, deleted incarnation below it are purged).
 * 2. Exact holders: for each shared-kind key (containers, query indexes),
 *    the set of incarnations referencing it in some retained version. Each
 *    shard is rewritten (CAS) to exactly that, except that holders added
 *    less than `graceMs` ago that no manifest backs are kept (a branch whose
 *    manifest is not committed yet); a key held by its owner alone, or by
 *    nobody, gets no entry.
 * 3. Sweep (optional): every object under `<org>/<project>/ns/` that is not
 *    a manifest, a WAL document or a compaction intent (their own GC owns
 *    those), that no retained manifest references (a live tombstone sidecar
 *    counts as referenced while its container is), that no shard entry
 *    holds, and whose last-modified time is more than `graceMs` before the
 *    engine clock, is deleted (a persisted tail chunk index,
 *    `tailidx/<container>/...`, counts as referenced while its container
 *    is). An in-flight write's object (a batch written
 *    before its manifest, a compaction output before its swap, a branch's
 *    sidecar copies) is younger than the grace period and never swept; the
 *    grace must exceed the longest such window (default one day). Waiting
 *    claims (`waiting/`, waiting-claims.ts) are swept the same way: a live
 *    one is rewritten every half lease (1.5 s), so only dead ones are old.
 *    Segments that recovery may still commit (the output of a compaction
 *    intent not yet settled, the segment of a mutation whose WAL document
 *    still exists: recovery's create finds the old object and keeps it)
 *    are never swept. Those are read per namespace BEFORE its manifests:
 *    an intent is settled (a WAL doc completed) only after its commit, so
 *    such a segment, however old, is either protected by that snapshot or
 *    referenced by a manifest read after it. Read after the manifests, a
 *    recovery committing in between left it in neither (SIM-3, seed 1075).
 *
 * 4. Lost manifest versions (a namespace's newest manifests deleted behind
 *    the engine's back, detected by ManifestStore against the versions this
 *    process saw and the registry marker's `version_high_water`): reported
 *    in `lostVersions`; its writes stay refused (ManifestRollbackError)
 *    until a repair with `acceptLostVersions` records the decision: every
 *    missing version up to one above the highest known (at most
 *    MAX_BRIDGED_VERSIONS of them) is created, create-only, as a copy of the
 *    newest readable version, so no lost version number is ever reused
 *    (the one above makes the new latest a number no process can hold a
 *    stale copy of), and the marker's high water is raised. The lost
 *    writes stay lost (their clients may retry with their idempotency keys:
 *    the copies hold the older `recent_writes`). Without the option the
 *    other repair steps run and the namespace's references are taken from
 *    its retained versions as usual. Otherwise the registry marker's high
 *    water is raised to each live namespace's latest version.
 *
 * Foreign keys (names the engine never writes: a README.txt or .DS_Store
 * dropped into a namespace, a stray temp file; engine-key.ts) are skipped,
 * never swept, and listed in the report's `foreignKeys`.
 *
 * Running it concurrently with writers is safe: it only raises counts
 * except for holders older than the grace that no manifest backs, and it
 * deletes only objects older than the grace that nothing references.
 */
import type { Manifest } from "@skerry/wal-format";
import { carryForward, type EngineContext, incarnationOf, indexKeyOf, isManifestRollback, tombstonesSnapshot } from "../manifest/index.ts";
import { listVersionsDescending } from "./manifest-retention.ts";
import { CorruptError, formatNamespacePath, isEngineObjectKey, manifestKey, type NamespacePath, namespaceRoot, namespacesPrefix, registryPrefix, validatePathPart, withRetry } from "../core/index.ts";
import { deleteObjects, type RefcountShards, type ShardEntries } from "../sharing/index.ts";

export interface RepairOptions {
  /** Delete unreferenced objects older than `graceMs`; default false. */
  readonly sweep?: boolean | undefined;
  /** Age an unreferenced object (or an unbacked holder) must reach before repair removes it, ms; default one day. */
  readonly graceMs?: number | undefined;
  /**
   * Accept the loss of manifest versions deleted behind the engine's back (see `lostVersions`): bridge the
   * missing version numbers with copies of the newest readable version so the namespace is writable again,
   * above the lost numbers. Default false: report only (writes stay refused).
   */
  readonly acceptLostVersions?: boolean | undefined;
}

/** A namespace whose newest manifest versions were deleted (ManifestRollbackError). */
export interface LostVersions {
  /** `org/project/namespace`. */
  readonly namespace: string;
  /** Newest version stored (readable). */
  readonly latestVersion: number;
  /** Newest version known to have existed: versions `latestVersion + 1` through this are lost. */
  readonly lostThroughVersion: number;
  /** `acceptLostVersions`: the version the namespace now continues from (copies bridge the lost numbers). */
  readonly bridgedToVersion?: number;
}

/** Most missing versions `acceptLostVersions` re-creates (the highest ones); lower lost numbers stay unused holes. */
export const MAX_BRIDGED_VERSIONS = 1000;

export interface RepairReport {
  /** Namespaces examined (live and deleted). */
  readonly namespaces: number;
  /** Live namespaces whose manifests were read. */
  readonly live: number;
  /** Manifest versions read. */
  readonly versionsRead: number;
  /** Deleted namespaces (or older incarnations) whose purge was finished. */
  readonly purged: number;
  /** Refcount entries rewritten. */
  readonly entriesChanged: number;
  /** Objects deleted by the sweep. */
  readonly swept: number;
  /**
   * Keys under the project's `ns/` that are no name the engine writes (a README.txt, a .DS_Store, a stray
   * temp file: see engine-key.ts), and registry markers that name no valid namespace, in key order. Repair
   * skips them: they are never read, counted or swept. Remove them by hand if they are not wanted.
   */
  readonly foreignKeys: string[];
  /** Namespaces whose newest manifests were deleted behind the engine's back (see `acceptLostVersions`). */
  readonly lostVersions: readonly LostVersions[];
}

const SKIPPED_DIRS = new Set(["manifests", "wal", "compactions"]);
/** Namespaces examined at once. */
const REPAIR_CONCURRENCY = 8;

interface NamespaceRefs {
  readonly incarnation: string;
  readonly containerIds: Set<string>;
}

export async function repairProject(
  ctx: EngineContext,
  shards: RefcountShards,
  org: string,
  project: string,
  options: RepairOptions,
  purge: (path: NamespacePath, deletedVersion: number) => Promise<number>,
  pendingSegments: (path: NamespacePath) => Promise<Set<string>>,
): Promise<RepairReport> {
  const graceMs = options.graceMs ?? 24 * 3600 * 1000;
  const call = <T>(what: string, fn: () => Promise<T>) => withRetry(what, ctx.retry, ctx.random, fn);

  // 1. Namespaces: registry markers and names under ns/.
  const names = new Set<string>();
  const markers = registryPrefix(org, project);
  const nsPrefix = namespacesPrefix(org, project);
  const isNamespaceName = (name: string) => {
    try {
      validatePathPart(name, "namespace");
      return true;
    } catch {
      return false;
    }
  };
  const foreign = new Set<string>();
  await call(`list ${markers}`, async () => {
    for await (const meta of ctx.storage.list(markers)) {
      const name = meta.key.slice(markers.length);
      if (isNamespaceName(name)) names.add(name);
      else foreign.add(meta.key);
    }
  });
  const objects = await call(`list ${nsPrefix}`, async () => {
    const out: { key: string; lastModified: number }[] = [];
    for await (const meta of ctx.storage.list(nsPrefix)) {
      const name = meta.key.slice(nsPrefix.length).split("/")[0] ?? "";
      // Only the engine's own names are examined and may be swept; anything else is reported.
      if (!isNamespaceName(name) || !isEngineObjectKey({ org, project, namespace: name }, meta.key)) {
        foreign.add(meta.key);
        continue;
      }
      out.push({ key: meta.key, lastModified: meta.lastModified.getTime() });
      names.add(name);
    }
    return out;
  });

  const desired: ShardEntries = new Map();
  const referenced = new Set<string>();
  const live = new Map<string, NamespaceRefs>(); // namespace name -> its live incarnation's refs
  const rootOfHolder = new Map<string, string>(); // incarnation -> namespace root + "/"
  const pending = new Map<string, Set<string>>(); // namespace name -> segment ids recovery may still commit
  let versionsRead = 0;
  let purged = 0;
  const now = ctx.clock.now();

  const add = (key: string, holder: string) => {
    referenced.add(key);
    let set = desired.get(key);
    if (set === undefined) desired.set(key, (set = new Map()));
    set.set(holder, now);
  };

  // 4. Lost newest versions: reported; bridged with `acceptLostVersions`. False: nothing left to examine.
  const lostVersions: LostVersions[] = [];
  const checkLostVersions = async (path: NamespacePath, latest: number): Promise<boolean> => {
    try {
      await ctx.manifests.recordHighWater(path, latest);
      return true;
    } catch (error) {
      if (!isManifestRollback(error)) throw error;
      if (options.acceptLostVersions !== true) {
        lostVersions.push({ namespace: error.namespace, latestVersion: error.latestVersion, lostThroughVersion: error.lostThroughVersion });
        return error.latestVersion > 0;
      }
      const bridgedTo = await bridgeLostVersions(ctx, path, error.latestVersion, error.lostThroughVersion);
      lostVersions.push({ namespace: error.namespace, latestVersion: error.latestVersion, lostThroughVersion: error.lostThroughVersion, bridgedToVersion: bridgedTo });
      await ctx.manifests.recordHighWater(path, bridgedTo);
      return true;
    }
  };

  // Namespaces are examined REPAIR_CONCURRENCY at a time; each one's steps keep their order.
  const examine = async (name: string): Promise<void> => {
    let path: NamespacePath;
    try {
      path = { org, project, namespace: validatePathPart(name, "namespace") };
    } catch {
      return;
    }
    // Before the manifests are read: a segment recovery commits after this read settles its intent (or
    // completes its WAL doc) only after the commit, so it is either pending here or in a manifest read below.
    if (options.sweep === true) pending.set(name, await pendingSegments(path));
    const versions = await listVersionsDescending(ctx, path);
    if (!(await checkLostVersions(path, versions[0] ?? 0)) || versions.length === 0) return;
    let refs: NamespaceRefs | undefined;
    let deletedBelow: number | undefined;
    // Newest first, each version's references taken as it is read (a manifest may carry a batch of up to 1 MiB).
    for (const version of versions) {
      let manifest: Manifest;
      try {
        manifest = await ctx.manifests.readVersion(path, version);
      } catch (error) {
        if ((error as { code?: string }).code === "VersionNotFound") continue;
        throw error;
      }
      versionsRead++;
      if (manifest.deletedAt !== undefined) {
        deletedBelow = version;
        break;
      }
      if (refs === undefined) {
        const incarnation = incarnationOf(manifest);
        refs = { incarnation, containerIds: new Set() };
        live.set(name, refs);
        rootOfHolder.set(incarnation, `${namespaceRoot(path)}/`);
      }
      for (const c of manifest.containers) {
        refs.containerIds.add(c.id);
        add(c.key, refs.incarnation); // a carried batch too: its object may exist (carried-batch.ts)
        const index = indexKeyOf(c);
        if (index !== undefined) add(index, refs.incarnation);
        if (c.tombstonesKey !== undefined) referenced.add(c.tombstonesKey);
        const snapshot = tombstonesSnapshot(c);
        if (snapshot !== undefined) referenced.add(snapshot);
      }
    }
    if (deletedBelow !== undefined && (refs === undefined || versions.some((v) => v < (deletedBelow as number)))) {
      await purge(path, deletedBelow);
      purged++;
    }
  };
  const queue = [...names].sort();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(REPAIR_CONCURRENCY, queue.length) }, async () => {
      while (next < queue.length) await examine(queue[next++] as string);
    }),
  );

  // 2. Exact holders.
  const isImplicit = (key: string, holders: ReadonlyMap<string, number>) => {
    if (holders.size !== 1) return false;
    const [holder] = holders.keys();
    const root = rootOfHolder.get(holder as string);
    return root !== undefined && key.startsWith(root);
  };
  const entriesChanged = await shards.rewrite(org, project, desired, now - graceMs, isImplicit);

  // 3. Sweep.
  let swept = 0;
  if (options.sweep === true) {
    const candidates: string[] = [];
    for (const { key, lastModified } of objects) {
      if (now - lastModified <= graceMs || referenced.has(key)) continue;
      const parts = key.slice(nsPrefix.length).split("/");
      const [name, dir, file] = parts;
      if (name === undefined || dir === undefined || SKIPPED_DIRS.has(dir)) continue;
      if (dir === "superfiles" && file?.endsWith(".tombstones") === true && parts.length === 3) {
        const containerId = file.slice(0, -".tombstones".length);
        if (live.get(name)?.containerIds.has(containerId) === true) continue;
      }
      // A persisted tail chunk index (tail-chunk-index-store.ts) is kept while its tail's first container is live.
      if (dir === "tailidx" && parts.length === 4 && live.get(name)?.containerIds.has(file as string) === true) continue;
      candidates.push(key);
    }
    const held = await shards.holdersOf(org, project, candidates);
    for (const key of candidates) {
      const [name, dir] = key.slice(nsPrefix.length).split("/");
      if (dir !== "segments" || name === undefined || pending.has(name)) continue;
      pending.set(name, await pendingSegments({ org, project, namespace: name }));
    }
    const free = candidates.filter((key) => {
      if (held.has(key)) return false;
      const [name, dir, file] = key.slice(nsPrefix.length).split("/");
      if (dir !== "segments" || file === undefined) return true;
      const id = file.replace(/\.(arrow|qidx)$/, "");
      const protectedIds = pending.get(name as string);
      return protectedIds?.has(id) !== true && protectedIds?.has("*") !== true;
    });
    await deleteObjects(ctx, free);
    swept = free.length;
  }
  const foreignKeys = [...foreign].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { namespaces: names.size, live: live.size, versionsRead, purged, entriesChanged, swept, foreignKeys, lostVersions };
}

/**
 * Re-creates the lost version numbers above `latest` (through `lostThrough + 1`, at most MAX_BRIDGED_VERSIONS)
 * as copies of version `latest`, create-only and oldest first; returns the new latest version. A version another
 * writer creates meanwhile is left as it is. With no readable version at all there is nothing to copy:
 * `CorruptError` naming the newest lost key.
 */
async function bridgeLostVersions(ctx: EngineContext, path: NamespacePath, latest: number, lostThrough: number): Promise<number> {
  const name = formatNamespacePath(path);
  if (latest < 1) throw new CorruptError(`namespace ${name}: every manifest is gone (version ${lostThrough} existed); nothing to continue from`, manifestKey(path, lostThrough));
  const base = await ctx.manifests.readVersion(path, latest);
  const top = lostThrough + 1;
  for (let version = Math.max(latest + 1, top - MAX_BRIDGED_VERSIONS + 1); version <= top; version++) {
    const copy: Manifest = carryForward({ ...base, version, updatedAt: ctx.clock.now() });
    await ctx.manifests.create(path, copy, { bridging: true });
  }
  ctx.states.invalidate(path);
  return top;
}
