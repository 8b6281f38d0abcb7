/**
 * mutation: crash-safe multi-object mutations through @skerry/wal-engine. NamespaceTable is the wal-
 * engine MutationTable of one namespace (its manifest as the table); NamespaceWals holds one WalEngine
 * per namespace with the engine's lease, target limit and re-locate settings. Used by predicate
 * mutations (write/) and compaction. Depends on core and manifest.
 *
 * Other rooms import this room through this file only.
 */
export { NamespaceWals } from "./namespace-wal.ts";
