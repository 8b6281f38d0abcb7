/**
 * driveMutation: runs the rest of one WAL's pipeline from the snapshot the
 * driver holds (after `beginMutation`, or after a sweep acquired the lease):
 *
 *   UPDATE INTENT   -> append phase -> tombstone phase -> COMPLETE
 *   UPDATE APPENDED -> tombstone phase -> COMPLETE
 *   DELETE INTENT   -> tombstone phase -> COMPLETE
 *
 * Returns the final snapshot with the outcome counts of the completed doc
 * (targets TOMBSTONED / NOT_FOUND in total, including work an earlier,
 * crashed driver did), whether this call ran the append phase, and whether
 * this handle wrote COMPLETE (false when a peer finished first).
 *
 * Errors: whatever a phase throws, after a `wal-failed` event. The doc is
 * left as far as it got; a later sweep continues from there.
 */
import { idToHex, type MutationState, type OpKind, type WalId } from "@skerry/wal-format";
import { runAppendPhase } from "./append-phase.ts";
import type { Versioned } from "./cas-object.ts";
import { isWalEngineError } from "./errors.ts";
import type { PipelineContext } from "./pipeline-context.ts";
import { runTombstonePhase } from "./tombstone-phase.ts";

export interface DriveOutcome {
  walId: WalId;
  opKind: OpKind;
  /** True when this call ran the append phase (the WAL was an UPDATE at INTENT). */
  appendRan: boolean;
  /** False when a peer wrote COMPLETE while this handle was driving. */
  completedByThisHandle: boolean;
  tombstoned: number;
  notFound: number;
  final: Versioned<MutationState>;
}

export function outcomeCounts(doc: MutationState): { tombstoned: number; notFound: number } {
  let tombstoned = 0;
  let notFound = 0;
  for (const entry of doc.tombstoneProgress) {
    if (entry.outcome === "TOMBSTONED") tombstoned++;
    else if (entry.outcome === "NOT_FOUND") notFound++;
  }
  return { tombstoned, notFound };
}

export async function driveMutation(
  ctx: PipelineContext,
  start: Versioned<MutationState>,
  options: { arrowBytes?: Uint8Array | undefined } = {},
): Promise<DriveOutcome> {
  const walId = start.value.walId;
  const walHex = idToHex(walId);
  let current = start;
  let appendRan = false;
  let wroteComplete = false;
  try {
    if (current.value.opKind === "UPDATE" && current.value.state === "INTENT") {
      current = await runAppendPhase(ctx, current, options.arrowBytes);
      appendRan = true;
    }
    if (current.value.state !== "COMPLETE") {
      const result = await runTombstonePhase(ctx, current);
      current = result.final;
      wroteComplete = result.completedHere;
      ctx.emit({ type: "phase-completed", walId: walHex, phase: "tombstone", state: current.value.state });
    }
  } catch (error) {
    const code = isWalEngineError(error) ? error.code : ((error as { code?: string })?.code ?? "Internal");
    ctx.emit({ type: "wal-failed", walId: walHex, code, message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
  const counts = outcomeCounts(current.value);
  ctx.emit({ type: "wal-completed", walId: walHex, opKind: current.value.opKind, ...counts, byThisHandle: wroteComplete });
  return {
    walId,
    opKind: current.value.opKind,
    appendRan,
    completedByThisHandle: wroteComplete,
    ...counts,
    final: current,
  };
}
