/**
 * TODO room header: compaction
 */
export { deleteIntent, listIntentIds, readIntent } from "./compaction-intents.ts";
export { CompactionScheduler } from "./compaction-scheduler.ts";
export { type CompactionRecoveryReport, type CompactionReport, type CompactionSettings, Compactor, DEFAULT_COMPACTION_SETTINGS } from "./compactor.ts";
