/**
 * tail: the log tail as queries see it. The fold of a manifest's unindexed containers (query-tail),
 * indexed in chunks that merge as the tail grows (tail-chunks, tail-chunk-builds), closed chunks'
 * indexes persisted and read back whole or by range (tail-chunk-index-store, ranged-tail-chunk) with
 * their fold summaries, and the tail's PATCH bases read cold from segments. Depends on core, log,
 * manifest, state, and @skerry/query.
 *
 * Other rooms import this room through this file only.
 */
export { coldTailBases } from "./cold-tail-bases.ts";
export { foldIdentity, TailFold } from "./query-tail.ts";
export type { RangedTailChunk } from "./ranged-tail-chunk.ts";
export { isSummarizedFold } from "./summarized-fold-error.ts";
export { type ChunkBuild, TailChunkIndexStore, type TailChunkIndexStoreStats, tailIndexFirstContainer, tailIndexPrefix } from "./tail-chunk-index-store.ts";
export { type ChunkIndexer, chunkKey, type TailChunk, TailChunks } from "./tail-chunks.ts";
