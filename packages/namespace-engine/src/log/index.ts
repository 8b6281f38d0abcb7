/**
 * TODO room header: log
 */
export { decodeLazily, type FoldEntry, isLazy, type LazyUpsert, materialize } from "./lazy-upsert.ts";
export { decodeLogBatch, encodeLogBatch, logBatchPayloads } from "./log-batch.ts";
export { decodeLogEntry, encodeLogEntries, type LogEntry, type LogOp } from "./log-entry.ts";
