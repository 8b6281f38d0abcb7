/**
 * TODO room header: manifest
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
