/**
 * sharing: objects shared between namespaces. Branch and copy (namespace-fork), the project's
 * reference-count shards (who holds each shared immutable object), releasing a manifest's references
 * and deleting objects no one holds, and purging a deleted namespace. Depends on core and manifest.
 *
 * Other rooms import this room through this file only.
 */
export { type ForkMode, forkNamespace } from "./namespace-fork.ts";
export { purgeNamespace } from "./namespace-purge.ts";
export { addReferences, deleteObjects, emptyReferences, referencesOf, releaseReferences, subtractReferences } from "./object-release.ts";
export { RefcountShards, type ShardEntries } from "./refcount-shards.ts";
