/**
 * refreshTombstones: commits the current etag of tombstone sidecars into
 * their containers' refs (`tombstones_etag`), so states cached at older
 * versions refold the containers whose deletion vectors changed.
 *
 * Sidecars change by compare-and-swap without a manifest commit (the
 * wal-engine's tombstone phase), so after a predicate mutation (and after a
 * recovery sweep, which may have finished someone else's) the engine HEADs
 * the sidecars of the touched containers (`only`; all containers with a
 * `tombstones_key` when omitted) and commits one manifest if any etag
 * changed. Returns the manifest the change is visible at (the latest one
 * when nothing changed).
 */
import type { Manifest } from "@skerry/wal-format";
import { tombstonesEtag, withExtra } from "./container-extra.ts";
import { commitChange, type EngineContext } from "./engine-context.ts";
import type { NamespacePath } from "./namespace-path.ts";
import { withRetry } from "./storage-calls.ts";

export function refreshTombstones(ctx: EngineContext, path: NamespacePath, only?: ReadonlySet<string>): Promise<Manifest> {
  return commitChange(ctx, path, async (base) => {
    const candidates = base.containers.filter((c) => c.tombstonesKey !== undefined && (only === undefined || only.has(c.id)));
    if (candidates.length === 0) return undefined;
    const etags = await Promise.all(
      candidates.map((c) =>
        withRetry(`head ${c.tombstonesKey}`, ctx.retry, ctx.random, async () => (await ctx.storage.head(c.tombstonesKey as string))?.etag),
      ),
    );
    const changed = new Map<string, string | undefined>();
    candidates.forEach((c, i) => {
      if (etags[i] !== tombstonesEtag(c)) changed.set(c.id, etags[i]);
    });
    if (changed.size === 0) return undefined;
    return {
      ...base,
      containers: base.containers.map((c) => (changed.has(c.id) ? withExtra(c, { tombstones_etag: changed.get(c.id) }) : c)),
    };
  });
}
