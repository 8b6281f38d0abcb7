/**
 * TODO room header: tail
 */
export { coldTailBases } from "./cold-tail-bases.ts";
export { foldIdentity, TailFold } from "./query-tail.ts";
export type { RangedTailChunk } from "./ranged-tail-chunk.ts";
export { isSummarizedFold } from "./summarized-fold-error.ts";
export { type ChunkBuild, TailChunkIndexStore, type TailChunkIndexStoreStats, tailIndexFirstContainer, tailIndexPrefix } from "./tail-chunk-index-store.ts";
export { type ChunkIndexer, chunkKey, type TailChunk, TailChunks } from "./tail-chunks.ts";
