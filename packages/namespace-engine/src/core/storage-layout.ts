/**
 * Where every object of a namespace lives (the storage layout).
 *
 *     <org>/<project>/ns/<namespace>/manifests/<inverted version>.json
 *     <org>/<project>/ns/<namespace>/log/<uuid>.log                 write-log batches
 *     <org>/<project>/ns/<namespace>/segments/<uuid>.arrow          segments (row batches)
 *     <org>/<project>/ns/<namespace>/segments/<uuid>.qidx           a segment's query index
 *     <org>/<project>/ns/<namespace>/superfiles/<container>.tombstones  deletion vectors
 *     <org>/<project>/ns/<namespace>/wal/mutations/<wal_id>.json    wal-engine state docs (+ .arrow)
 *     <org>/<project>/ns/<namespace>/compactions/<uuid>.json        compaction intents
 *     <org>/<project>/ns/<namespace>/waiting/<writer id>.json       waiting claims (waiting-claims.ts)
 *     <org>/<project>/_project/namespaces/<namespace>               registry marker
 *     <org>/<project>/ns/<namespace>/superfiles/<container>.<hash>.tsnap  published tombstone snapshots (immutable)
 *     <org>/<project>/_project/refcounts/<shard>.json               shared-object holders (refcount shards)
 *     _skerry/pins.json                                             pinned namespaces (engine-wide)
 *
 * Manifest names invert the version (`MAX_MANIFEST_VERSION - version`,
 * zero-padded to 20 digits) so the newest version sorts first and one LIST
 * with a page size of 1 finds the latest. Namespace parts never start with
 * `_`, so `_project` cannot collide with a namespace.
 */
import { formatNamespacePath, type NamespacePath } from "./namespace-path.ts";

/** Largest manifest version; names are `MAX_MANIFEST_VERSION - version`. */
export const MAX_MANIFEST_VERSION = Number.MAX_SAFE_INTEGER;
const INVERTED_DIGITS = 20;

/** `<org>/<project>`. */
export function projectRoot(org: string, project: string): string {
  return `${org}/${project}`;
}

/** Root of one namespace's objects, without a trailing slash. */
export function namespaceRoot(path: NamespacePath): string {
  return `${path.org}/${path.project}/ns/${path.namespace}`;
}

/** Prefix every manifest of a namespace starts with. */
export function manifestPrefix(path: NamespacePath): string {
  return `${namespaceRoot(path)}/manifests/`;
}

/** Key of manifest `version`. */
export function manifestKey(path: NamespacePath, version: number): string {
  const inverted = (MAX_MANIFEST_VERSION - version).toString().padStart(INVERTED_DIGITS, "0");
  return `${manifestPrefix(path)}${inverted}.json`;
}

/** The version a manifest key names, or undefined if the key is not a manifest key of `path`. */
export function manifestVersionOf(path: NamespacePath, key: string): number | undefined {
  const prefix = manifestPrefix(path);
  if (!key.startsWith(prefix) || !key.endsWith(".json")) return undefined;
  const digits = key.slice(prefix.length, -".json".length);
  if (digits.length !== INVERTED_DIGITS || !/^[0-9]+$/.test(digits)) return undefined;
  const inverted = Number(digits);
  if (!Number.isSafeInteger(inverted)) return undefined;
  return MAX_MANIFEST_VERSION - inverted;
}

/**
 * Key of the manifest that carries a write batch (`carrierVersion`): version `version` of the namespace whose
 * root the batch key is under. Undefined when `batchKey` is not a namespace's `log/` key.
 */
export function carrierManifestKey(batchKey: string, version: number): string | undefined {
  const parts = batchKey.split("/");
  if (parts.length !== 6 || parts[2] !== "ns" || parts[4] !== "log" || !Number.isSafeInteger(version) || version < 1) return undefined;
  return manifestKey({ org: parts[0] as string, project: parts[1] as string, namespace: parts[3] as string }, version);
}

/** Key of a write-log batch object. */
export function logBatchKey(path: NamespacePath, uuid: string): string {
  return `${namespaceRoot(path)}/log/${uuid}.log`;
}

/** Key of a segment object (a wal-format row batch). */
export function segmentKey(path: NamespacePath, segmentId: string): string {
  return `${namespaceRoot(path)}/segments/${segmentId}.arrow`;
}

/** Key of a segment's serialized query index. */
export function segmentIndexKey(path: NamespacePath, segmentId: string): string {
  return `${namespaceRoot(path)}/segments/${segmentId}.qidx`;
}

/** Prefix of a namespace's compaction intents. */
export function compactionPrefix(path: NamespacePath): string {
  return `${namespaceRoot(path)}/compactions/`;
}

/** Key of one compaction intent document. */
export function compactionIntentKey(path: NamespacePath, compactionId: string): string {
  return `${compactionPrefix(path)}${compactionId}.json`;
}

/** Prefix of a namespace's waiting claims (waiting-claims.ts). */
export function waitingPrefix(path: NamespacePath): string {
  return `${namespaceRoot(path)}/waiting/`;
}

/** Key of the waiting claim of writer `writerId` (a UUID) on a namespace. */
export function waitingClaimKey(path: NamespacePath, writerId: string): string {
  return `${waitingPrefix(path)}${writerId}.json`;
}

/** Key of a container's tombstone sidecar (the wal-engine's `superfiles/<id>.tombstones`). */
export function tombstonesKey(path: NamespacePath, containerId: string): string {
  return `${namespaceRoot(path)}/superfiles/${containerId}.tombstones`;
}

/**
 * Key of an immutable snapshot of a container's tombstone sidecar, named by
 * its content hash (so writing it again is idempotent). Published manifests
 * record it in the ref (`tombstones_snapshot`); reads at that version fold it.
 */
export function tombstoneSnapshotKey(path: NamespacePath, containerId: string, hash: string): string {
  return `${namespaceRoot(path)}/superfiles/${containerId}.${hash.slice(0, 32)}.tsnap`;
}

/** Prefix of every namespace root of a project. */
export function namespacesPrefix(org: string, project: string): string {
  return `${projectRoot(org, project)}/ns/`;
}

/** Number of refcount shards per project. */
export const REFCOUNT_SHARDS = 64;

/** Key of one refcount shard of a project. */
export function refcountShardKey(org: string, project: string, shard: number): string {
  return `${projectRoot(org, project)}/_project/refcounts/${shard.toString(16).padStart(2, "0")}.json`;
}

/** Prefix of a project's refcount shards. */
export function refcountPrefix(org: string, project: string): string {
  return `${projectRoot(org, project)}/_project/refcounts/`;
}

/** The engine-wide document of pinned namespaces (`_` starts no org name). */
export const PINS_KEY = "_skerry/pins.json";

/** Prefix of the per-project namespace registry. */
export function registryPrefix(org: string, project: string): string {
  return `${projectRoot(org, project)}/_project/namespaces/`;
}

/** Registry marker of one namespace (makes `listNamespaces` one LIST per project). */
export function registryKey(path: NamespacePath): string {
  return `${registryPrefix(path.org, path.project)}${path.namespace}`;
}

/** A stable string key for in-memory maps. */
export function namespaceId(path: NamespacePath): string {
  return formatNamespacePath(path);
}
