/**
 * advanceState: one guarded step of a WAL's state document, used by every
 * phase after the INTENT write.
 *
 * The step runs under the CAS loop (`WalStore.updateState`), starting from
 * the snapshot the driver holds. On each attempt it re-checks, against what
 * is stored now:
 * - the doc still exists (else `WalNotFoundError`: it vanished);
 * - no other handle holds a live lease (else `LeaseConflictError`: we were
 *   preempted and must stop, the new holder finishes the work);
 * then applies `transform`, which derives the next doc from the stored one
 * (so a retry after a lost race or an unknown outcome re-applies the same
 * change to fresher data) or returns `CAS_NOOP` when the change is already
 * there. Every write by the holder also extends its lease: the heartbeat
 * rides on progress. A COMPLETE doc is written without a lease.
 */
import { idToHex, type MutationState } from "@skerry/wal-format";
import { CAS_NOOP, type CasNoop, type Versioned } from "./cas-object.ts";
import { WalNotFoundError } from "./errors.ts";
import { leaseBlocks, leaseConflict, withLease, withoutLease } from "./lease.ts";
import type { PipelineContext } from "./pipeline-context.ts";

/** The snapshot after the step; `written` is false when the change was already there. */
export type AdvancedState = Versioned<MutationState> & { written: boolean };

export type StateTransform = (doc: MutationState) => MutationState | CasNoop;

export async function advanceState(
  ctx: PipelineContext,
  current: Versioned<MutationState>,
  transform: StateTransform,
): Promise<AdvancedState> {
  const walId = current.value.walId;
  const key = ctx.store.layout.stateKey(walId);
  const result = await ctx.store.updateState(
    walId,
    (stored) => {
      if (stored === null) throw new WalNotFoundError(`WAL ${idToHex(walId)} vanished`, { key });
      const doc = stored.value;
      const now = ctx.clock.now();
      if (leaseBlocks(doc, ctx.handleId, now)) throw leaseConflict(doc, key);
      const next = transform(doc);
      if (next === CAS_NOOP) return CAS_NOOP;
      return next.state === "COMPLETE" ? withoutLease(next) : withLease(next, ctx.handleId, now, ctx.leaseMs);
    },
    { known: current, signal: ctx.signal },
  );
  if (result.written) return { value: result.value, etag: result.etag, bytes: result.bytes, written: true };
  return { ...(result.current ?? current), written: false };
}
