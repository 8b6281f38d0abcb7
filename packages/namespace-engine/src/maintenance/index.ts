/**
 * maintenance: keeping namespaces healthy. NamespaceMaintenance (the engine's `openNamespace`,
 * `recover`, `compact`, `collectGarbage`, `collectWalGarbage`, `repair`, `refcounts`); manifest
 * retention and garbage collection; project repair (reference counts rebuilt, interrupted deletions
 * finished, an optional sweep); garbage collection of persisted tail chunk indexes. Depends on
 * compaction, core, manifest, sharing, tail.
 *
 * Other rooms import this room through this file only.
 */
export { DEFAULT_RETENTION, type GarbageReport, type RetentionPolicy, validateRetention } from "./manifest-retention.ts";
export { type CollectWalGarbageResult, NamespaceMaintenance, type NamespaceRecoveryReport } from "./namespace-maintenance.ts";
export type { RepairOptions, RepairReport } from "./project-repair.ts";
