/**
 * TODO room header: maintenance
 */
export { collectManifestGarbage, DEFAULT_RETENTION, type GarbageReport, type RetentionPolicy, validateRetention } from "./manifest-retention.ts";
export { type RepairOptions, repairProject, type RepairReport } from "./project-repair.ts";
