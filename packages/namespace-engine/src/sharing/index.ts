/**
 * TODO room header: sharing
 */
export { type ForkMode, forkNamespace } from "./namespace-fork.ts";
export { purgeNamespace } from "./namespace-purge.ts";
export { addReferences, deleteObjects, emptyReferences, referencesOf, releaseReferences, subtractReferences } from "./object-release.ts";
export { RefcountShards, type ShardEntries } from "./refcount-shards.ts";
