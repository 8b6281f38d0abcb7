/**
 * TODO room header: maintenance
 */
export { DEFAULT_RETENTION, type GarbageReport, type RetentionPolicy, validateRetention } from "./manifest-retention.ts";
export { type CollectWalGarbageResult, NamespaceMaintenance, type NamespaceRecoveryReport } from "./namespace-maintenance.ts";
export type { RepairOptions, RepairReport } from "./project-repair.ts";
