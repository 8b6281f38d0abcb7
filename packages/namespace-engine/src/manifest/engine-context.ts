/**
 * EngineContext: what the engine's modules share (storage, injected time,
 * randomness and ids, retry policies, the manifest store, the state cache
 * and the per-namespace lanes), and `commitChange`, the create-and-rebase
 * loop for manifest changes other than write groups (segment commits,
 * tombstone refreshes, compaction swaps, metadata).
 *
 * `commitChange(ctx, path, change)` runs in the namespace's lane: read the
 * latest manifest; `change(base)` returns the next manifest's content, or
 * undefined when nothing needs committing (then base is returned); commit it
 * as base.version + 1 with a create-only put; on losing the race re-read and
 * call `change` again on the newer base (so `change` must derive everything
 * from the base it is given). A deleted or missing namespace fails with
 * NamespaceNotFound; after `maxCommitAttempts` lost races, ConflictError.
 * `change` must not itself run in the lane (it would wait for itself).
 */
import type { StorageProvider } from "@skerry/storage-providers";
import type { Clock, IdGenerator, Manifest, Random } from "@skerry/wal-format";
import { carryForward } from "./carried-batch.ts";
import { ConflictError, formatNamespacePath, namespaceId, NamespaceNotFoundError, type NamespacePath, pause, type RetryPolicy, type SerialQueue } from "../core/index.ts";
import type { ManifestStore } from "./manifest-store.ts";
import type { StateCache } from "../state/index.ts";

export interface EngineContext {
  readonly storage: StorageProvider;
  readonly clock: Clock;
  readonly random: Random;
  readonly ids: IdGenerator;
  readonly retry: RetryPolicy;
  readonly conflictBackoff: RetryPolicy;
  readonly maxCommitAttempts: number;
  readonly manifests: ManifestStore;
  readonly states: StateCache;
  readonly lanes: SerialQueue;
}

export type ManifestChange = (base: Manifest) => Promise<Manifest | undefined> | Manifest | undefined;

export function commitChange(ctx: EngineContext, path: NamespacePath, change: ManifestChange): Promise<Manifest> {
  const name = formatNamespacePath(path);
  return ctx.lanes.run(namespaceId(path), async () => {
    for (let attempt = 1; attempt <= ctx.maxCommitAttempts; attempt++) {
      const base = await ctx.manifests.readLatest(path);
      if (base === undefined || base.deletedAt !== undefined) throw new NamespaceNotFoundError(name);
      const changed = await change(base);
      if (changed === undefined) return base;
      const next: Manifest = carryForward({ ...changed, version: base.version + 1, updatedAt: ctx.clock.now() });
      if ((await ctx.manifests.create(path, next)) === "created") return next;
      await pause(ctx.conflictBackoff, attempt, ctx.random);
    }
    throw new ConflictError(`commit to ${name} lost the manifest race ${ctx.maxCommitAttempts} times`);
  });
}
