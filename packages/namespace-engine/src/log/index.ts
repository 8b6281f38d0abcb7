/**
 * log: the write log's on-storage entries. One log entry (the framed payload of an upsert, patch or
 * delete; versions 1 and 2), a log batch object (a framed log of entries), and the lazy upsert a fold
 * decodes only as far as it needs. Pure codecs over @skerry/wal-format; depends on core.
 *
 * Other rooms import this room through this file only.
 */
export { decodeLazily, type FoldEntry, isLazy, type LazyUpsert, materialize } from "./lazy-upsert.ts";
export { decodeLogBatch, encodeLogBatch, logBatchPayloads } from "./log-batch.ts";
export { decodeLogEntry, encodeLogEntries, type LogEntry, type LogOp } from "./log-entry.ts";
