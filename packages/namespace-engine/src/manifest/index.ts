/**
 * manifest: immutable numbered manifests and what they reference. ManifestStore (read the latest or a
 * version, create-only commits, rollback detection, the registry marker's high water); ManifestReads
 * (the manifest a read uses, strong or eventual, and confirming a corruption before reporting it); the
 * engine's extra fields on container refs; write batches carried by manifests; tombstone sidecars
 * (objects, snapshots, publishing their etags); the namespace registry marker; and EngineContext with
 * `commitChange`, the create-and-rebase loop every metadata commit uses. Depends on core.
 *
 * Other rooms import this room through this file only.
 */
export { asStored, carryForward, isCarried, readContainerBytes, storeBatch } from "./carried-batch.ts";
export { compactionIdOf, deletedIdsOf, incarnationOf, indexKeyOf, maskedPositions, mutationWalId, RECENT_COMPACTIONS_LIMIT, recentCompactions, type RetiredSegment, retiredSegments, retiredToWire, sidecarForRead, tombstonesEtag, tombstonesSnapshot, withExtra, withManifestExtra } from "./container-extra.ts";
export { commitChange, type EngineContext } from "./engine-context.ts";
export { ManifestReads } from "./manifest-reads.ts";
export { isManifestRollback } from "./manifest-rollback-error.ts";
export { ManifestStore } from "./manifest-store.ts";
export { registerNamespace } from "./registry-marker.ts";
export { decodeTombstones, snapshotHash, verifySnapshot } from "./tombstone-object.ts";
export { assertSidecarNotLost, refreshTombstones } from "./tombstone-refresh.ts";
