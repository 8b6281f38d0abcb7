/**
 * Garbage collection of persisted tail chunk indexes
 * (tail-chunk-index-store.ts): objects under `<namespace root>/tailidx/`,
 * filed by the id of the first container of the tail they were built for.
 *
 * Rule: such an object is deleted once no retained manifest version
 * references its first container. A tail's first container leaves the
 * manifests when a compaction takes it (the oldest batches are compacted
 * first) and never comes back, so from then on no version that can still
 * be read has that tail and the object can never be used again. Every
 * collection that expires versions lists the prefix (one LIST) and applies
 * the rule against every retained version, so objects a crash left behind
 * (or those written for a tail GC had already let go) go at the next one.
 *
 * An object written for a version committed after the collection read the
 * manifests, whose tail starts at a container new to it, may be deleted as
 * well: it is a cache, the next process to need it builds and writes it again.
 */
import type { EngineContext } from "../manifest/index.ts";
import { type NamespacePath, withRetry } from "../core/index.ts";
import { deleteObjects } from "../sharing/index.ts";
import { tailIndexFirstContainer, tailIndexPrefix } from "../tail/index.ts";

/** Deletes `path`'s tail chunk indexes whose first container is not in `live` (every retained version's containers); returns how many. */
export async function collectTailIndexGarbage(ctx: EngineContext, path: NamespacePath, live: ReadonlySet<string>): Promise<number> {
  const prefix = tailIndexPrefix(path);
  const dead = await withRetry(`list ${prefix}`, ctx.retry, ctx.random, async () => {
    const out: string[] = [];
    for await (const meta of ctx.storage.list(prefix)) {
      const first = tailIndexFirstContainer(path, meta.key);
      // A key of another shape is nobody's under this prefix: left alone.
      if (first !== undefined && !live.has(first)) out.push(meta.key);
    }
    return out;
  });
  await deleteObjects(ctx, dead);
  return dead.length;
}
