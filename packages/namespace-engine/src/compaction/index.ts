/**
 * compaction: folding containers into bounded segments with their query indexes. The tiered policy
 * (which run is due), the Compactor (intent document, fold, segment and index written, manifest swap,
 * recovery of interrupted runs), compaction intents, the stored index version check, and the
 * CompactionScheduler that runs compactions in the background after writes. Depends on core, manifest,
 * namespace, state, tail (and mutation's types).
 *
 * Other rooms import this room through this file only.
 */
export { deleteIntent, listIntentIds, readIntent } from "./compaction-intents.ts";
export { CompactionScheduler } from "./compaction-scheduler.ts";
export { type CompactionRecoveryReport, type CompactionReport, type CompactionSettings, Compactor, DEFAULT_COMPACTION_SETTINGS } from "./compactor.ts";
