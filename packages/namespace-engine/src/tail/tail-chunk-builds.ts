/**
 * Builds the tail chunks an `advance` needs (tail-chunks.ts `jobs()`) in
 * index worker threads (@skerry/query index-worker-pool.ts), so the seconds of
 * CPU a large tail's first indexing takes (IVF k-means, tokenizing: ~15-40
 * us per document) do not block the event loop every namespace of the
 * process shares. What stays on the calling thread is collecting each
 * chunk's documents (in slices, yielding between them) and posting them (in
 * slices of documents).
 *
 * The options come from the chunk's `ChunkBuild`, which also names a
 * persisted chunk's build (tail-chunk-index-store.ts): it fixes the index
 * of given documents. A chunk no worker built (no workers, too small, the
 * worker failed or died) is left to `advance`, which builds it as before:
 * the same `buildQueryIndex` over the same documents in the same order, so
 * the answers are the same wherever a chunk was built.
 */
import { buildQueryIndexOffThread, indexWorkersAvailable, type QueryIndex, type TokenizerConfig, yieldToEventLoop } from "@skerry/query";
import type { ChunkBuild } from "./tail-chunk-index-store.ts";
import { type BuiltChunkIndexes, chunkKey, type TailChunks } from "./tail-chunks.ts";

/**
 * The chunks `chunks.advance()` is about to build (except those `skip` names), built by worker threads; undefined
 * when no worker can build (`advance` then builds them all).
 */
export async function buildTailChunksOffThread(
  chunks: TailChunks,
  build: ChunkBuild,
  skip: (start: number, end: number) => boolean,
): Promise<BuiltChunkIndexes | undefined> {
  // None big enough (or no workers): nothing collected. Stored chunks are not built: a first query over a stored tail
  // starts no worker thread.
  if (!indexWorkersAvailable(chunks.largestPending(skip))) return undefined;
  const containers = chunks.fold.identities.length;
  const jobs = await chunks.jobs(yieldToEventLoop, skip);
  if (jobs.length === 0) return undefined;
  const textFields = JSON.parse(build.textFields) as Record<string, TokenizerConfig>;
  const indexes = new Map<string, QueryIndex>();
  await Promise.all(
    jobs.map(async (job) => {
      const index = await buildQueryIndexOffThread(job.docs, {
        metric: build.metric,
        ...(build.dimension === null ? {} : { dimension: build.dimension }),
        ...(job.closed ? { ann: true } : {}),
        textFields,
      });
      if (index !== undefined) indexes.set(chunkKey(job.start, job.end), index);
    }),
  );
  return indexes.size === 0 ? undefined : { containers, indexes };
}
