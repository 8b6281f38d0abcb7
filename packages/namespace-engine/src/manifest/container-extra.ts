/**
 * The namespace engine's extra fields on manifest container refs and on the
 * manifest itself (wal-format keeps unknown keys, snake_case on the wire).
 *
 * On a container ref:
 * - `wal_id`: the container is the segment of a predicate UPDATE (hex WAL
 *   id). Its rows replace the targeted rows, and its commit is idempotent by
 *   container id (and, once compacted away, by `retired_mutation_segments`).
 * - `masked`: positions of that segment whose document changed between the
 *   mutation's snapshot and the segment's commit; those rows never apply
 *   (the concurrent write wins). Fixed at commit, immutable.
 * - `tombstones_etag`: the etag of the tombstone sidecar when the manifest
 *   was committed. Sidecars change by CAS without a manifest; bumping this
 *   is what makes cached states refold the container.
 * - `tombstones_snapshot`: key of an immutable copy of the sidecar as it
 *   was when this ref was published (content-addressed). Reads fold the
 *   snapshot, not the live sidecar, so a read at version V sees exactly the
 *   tombstones published at or before V (see `sidecarForRead`).
 * - `index_key`, `compaction_id`: a compacted segment's serialized query
 *   index object, and the compaction that wrote it.
 * - `deleted_ids`: delete markers of a segment a compaction wrote from a
 *   run of containers that did not start at the first one (tiered
 *   compaction): ids the run deleted whose older versions may live in
 *   containers before it, sorted. They apply after the segment's rows (they
 *   never name one of its rows), like DELETE entries.
 *
 * On the manifest:
 * - `retired_mutation_segments`: [{segment_id, wal_id}] of UPDATE segments a
 *   compaction removed, so a late replay of their commit stays a no-op;
 *   pruned once the WAL doc is garbage collected (no replay can follow).
 * - `recent_compactions`: ids of the last 32 committed compactions (a
 *   compaction's commit is idempotent by id).
 * - `incarnation`: a random id minted when the namespace (or this
 *   incarnation of its name) was created, branched or copied; it names the
 *   namespace as a holder in the refcount shards. Manifests without it
 *   (written before this field) use `created-<createdAt>`.
 */
import type { ContainerRef, JsonObject, JsonValue, Manifest } from "@skerry/wal-format";

export const RECENT_COMPACTIONS_LIMIT = 32;

export interface RetiredSegment {
  readonly segmentId: string;
  readonly walId: string;
}

function field(extra: JsonObject | undefined, name: string): JsonValue | undefined {
  return extra?.[name];
}

export function maskedPositions(ref: ContainerRef): ReadonlySet<number> | undefined {
  const masked = field(ref.extra, "masked");
  if (!Array.isArray(masked) || masked.length === 0) return undefined;
  return new Set(masked.filter((p): p is number => typeof p === "number"));
}

export function mutationWalId(ref: ContainerRef): string | undefined {
  const wal = field(ref.extra, "wal_id");
  return typeof wal === "string" ? wal : undefined;
}

export function tombstonesEtag(ref: ContainerRef): string | undefined {
  const etag = field(ref.extra, "tombstones_etag");
  return typeof etag === "string" ? etag : undefined;
}

export function tombstonesSnapshot(ref: ContainerRef): string | undefined {
  const key = field(ref.extra, "tombstones_snapshot");
  return typeof key === "string" ? key : undefined;
}

/**
 * The tombstone object a read of this ref folds: the published snapshot;
 * for refs published before snapshots existed (an etag, no snapshot) the
 * live sidecar; otherwise none (a `tombstones_key` alone means "bits may
 * land here", not that any were published at this version).
 */
export function sidecarForRead(ref: ContainerRef): string | undefined {
  const snapshot = tombstonesSnapshot(ref);
  if (snapshot !== undefined) return snapshot;
  return tombstonesEtag(ref) !== undefined ? ref.tombstonesKey : undefined;
}

/** The incarnation id of the namespace a manifest belongs to. */
export function incarnationOf(manifest: Manifest): string {
  const id = field(manifest.extra, "incarnation");
  return typeof id === "string" ? id : `created-${manifest.createdAt}`;
}

export function indexKeyOf(ref: ContainerRef): string | undefined {
  const key = field(ref.extra, "index_key");
  return typeof key === "string" ? key : undefined;
}

/** A compacted segment's delete markers (`deleted_ids`), empty when it has none. */
export function deletedIdsOf(ref: ContainerRef): readonly string[] {
  const list = field(ref.extra, "deleted_ids");
  return Array.isArray(list) ? list.filter((id): id is string => typeof id === "string") : [];
}

/** The compaction that wrote a segment (`compaction_id`), undefined for other containers. */
export function compactionIdOf(ref: ContainerRef): string | undefined {
  const id = field(ref.extra, "compaction_id");
  return typeof id === "string" ? id : undefined;
}

/** `ref` with extra fields set (undefined removes one). */
export function withExtra(ref: ContainerRef, changes: Readonly<Record<string, JsonValue | undefined>>): ContainerRef {
  const extra: Record<string, JsonValue> = { ...ref.extra };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete extra[key];
    else extra[key] = value;
  }
  const { extra: _old, ...rest } = ref;
  return Object.keys(extra).length === 0 ? rest : { ...rest, extra };
}

export function retiredSegments(manifest: Manifest): RetiredSegment[] {
  const list = field(manifest.extra, "retired_mutation_segments");
  if (!Array.isArray(list)) return [];
  const out: RetiredSegment[] = [];
  for (const item of list) {
    if (typeof item !== "object" || item === null || Array.isArray(item)) continue;
    const segmentId = item["segment_id"];
    const walId = item["wal_id"];
    if (typeof segmentId === "string" && typeof walId === "string") out.push({ segmentId, walId });
  }
  return out;
}

export function recentCompactions(manifest: Manifest): string[] {
  const list = field(manifest.extra, "recent_compactions");
  return Array.isArray(list) ? list.filter((id): id is string => typeof id === "string") : [];
}

/** `manifest` with manifest-level extra fields set (undefined removes one). */
export function withManifestExtra(manifest: Manifest, changes: Readonly<Record<string, JsonValue | undefined>>): Manifest {
  const extra: Record<string, JsonValue> = { ...manifest.extra };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete extra[key];
    else extra[key] = value;
  }
  const { extra: _old, ...rest } = manifest;
  return Object.keys(extra).length === 0 ? rest : { ...rest, extra };
}

export function retiredToWire(list: readonly RetiredSegment[]): JsonValue | undefined {
  return list.length === 0 ? undefined : list.map((r) => ({ segment_id: r.segmentId, wal_id: r.walId }));
}
