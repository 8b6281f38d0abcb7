/**
 * The append phase of an UPDATE: INTENT -> APPENDED.
 *
 * Steps, in order:
 *   1. read the `.arrow` sidecar and check its BLAKE3 against the doc
 *      (skipped when the handle that wrote it still holds the bytes);
 *   2. `table.writeSegment(preallocated id, sidecar bytes)`: the segment is
 *      exactly the sidecar, so a replay writes identical bytes to the same
 *      key;
 *   3. `table.commitSegment(...)`: idempotent, so committing again after a
 *      crash between 3 and 4 is a no-op;
 *   4. CAS the doc to APPENDED.
 * A crash anywhere leaves the doc at INTENT and recovery repeats 1-4; each
 * step's effect is the same whether it runs once or twice.
 *
 * Errors: `HashMismatchError` (sidecar corrupt: nothing is written),
 * `WalNotFoundError` (sidecar or doc gone), `LeaseConflictError` (preempted),
 * store and table errors.
 */
import type { MutationState, UpdateMutationState } from "@skerry/wal-format";
import { idToHex } from "@skerry/wal-format";
import { CAS_NOOP, type Versioned } from "./cas-object.ts";
import type { PipelineContext } from "./pipeline-context.ts";
import { advanceState } from "./state-transition.ts";

export async function runAppendPhase(
  ctx: PipelineContext,
  current: Versioned<MutationState>,
  arrowBytes?: Uint8Array,
): Promise<Versioned<MutationState>> {
  const doc = current.value as UpdateMutationState;
  const options = { signal: ctx.signal };
  const bytes = arrowBytes ?? (await ctx.store.getArrow(doc.walId, doc.newRowContentHash, options));
  await ctx.table.writeSegment(doc.preallocatedSuperfileId, bytes, options);
  await ctx.table.commitSegment(
    doc.preallocatedSuperfileId,
    { walId: doc.walId, rowCount: doc.newRowCount, contentHash: doc.newRowContentHash },
    options,
  );
  const next = await advanceState(ctx, current, (stored) =>
    stored.state === "INTENT" ? { ...stored, state: "APPENDED" } : CAS_NOOP,
  );
  if (next.value.state === "APPENDED") {
    ctx.emit({ type: "phase-completed", walId: idToHex(doc.walId), phase: "append", state: "APPENDED" });
  }
  return next;
}
