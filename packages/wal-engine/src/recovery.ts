/**
 * scanAndRecover: the recovery sweep that finishes interrupted mutations.
 *
 * There is no background scan: the sweep runs when a caller invokes it
 * (when a table opens, or when an operator asks).
 *
 * 1. List the state docs under `<root>/wal/mutations/`, oldest first.
 * 2. For each WAL (up to `concurrency` at a time, started in that order):
 *    read it; COMPLETE -> skip untouched; otherwise acquire the lease (or
 *    preempt an expired one) and drive the rest of its pipeline: UPDATE at
 *    INTENT runs append + tombstone phases ("full pipeline"), UPDATE at
 *    APPENDED and DELETE at INTENT run the tombstone phase only.
 * 3. Return a `RecoveryReport`.
 *
 * One bad WAL never stops the sweep: a doc that fails its schema, a sidecar
 * whose hash mismatches, a corrupt tombstone sidecar, a table error are
 * recorded in `errors` (with the wal id, code and message) and the sweep goes
 * on; nothing is deleted. The lease of a WAL that failed is released so a
 * later sweep need not wait for it to expire.
 *
 * Counter semantics: `targetsTombstoned` / `targetsNotFound` sum the
 * outcomes of the docs this sweep completed (including targets an earlier,
 * crashed driver already recorded). `casLost` counts WALs where this handle
 * lost the doc to a peer: the lease CAS kept losing, or a peer preempted the
 * lease while we drove it. A peer finishing a WAL we were driving counts as
 * already complete.
 *
 * Errors thrown (rather than reported): only a failure to list the WALs.
 */
import { idToHex, type WalId } from "@skerry/wal-format";
import { runBounded } from "./bounded-pool.ts";
import { driveMutation } from "./drive-mutation.ts";
import { isCasFailed, isInvalidPreState, isLeaseConflict, isWalEngineError, isWalNotFound } from "./errors.ts";
import type { RecoveryOutcome } from "./events.ts";
import { releaseLease, tryAcquireLease } from "./lease.ts";
import type { PipelineContext } from "./pipeline-context.ts";

export interface RecoveryError {
  /** 32-hex wal id. */
  walId: string;
  code: string;
  message: string;
}

export interface RecoveryReport {
  /** WALs the sweep looked at (complete, skipped and driven alike). */
  scanned: number;
  /** COMPLETE WALs passed over untouched (or completed by a peer meanwhile). */
  alreadyComplete: number;
  /** WALs whose lease a live peer holds; the peer finishes them. */
  heldByPeer: number;
  /** UPDATE WALs this sweep drove from INTENT through APPENDED to COMPLETE. */
  fullPipelineCompleted: number;
  /** WALs this sweep drove through the tombstone phase only (DELETE, or UPDATE already APPENDED). */
  tombstoneOnlyCompleted: number;
  /** WALs listed but gone when read (e.g. removed by WAL GC meanwhile). */
  vanishedDuringScan: number;
  /** WALs lost to a peer through a CAS (see the module header). */
  casLost: number;
  /** TOMBSTONED targets of the WALs this sweep completed. */
  targetsTombstoned: number;
  /** NOT_FOUND targets of the WALs this sweep completed. */
  targetsNotFound: number;
  /** Per-WAL failures; the sweep went on past each. */
  errors: RecoveryError[];
}

export function emptyRecoveryReport(): RecoveryReport {
  return {
    scanned: 0,
    alreadyComplete: 0,
    heldByPeer: 0,
    fullPipelineCompleted: 0,
    tombstoneOnlyCompleted: 0,
    vanishedDuringScan: 0,
    casLost: 0,
    targetsTombstoned: 0,
    targetsNotFound: 0,
    errors: [],
  };
}

export interface RecoveryOptions {
  /** WALs driven at once; default 8. */
  concurrency?: number;
}

interface OneOutcome {
  outcome: RecoveryOutcome;
  tombstoned?: number;
  notFound?: number;
  error?: { code: string; message: string };
}

function describe(error: unknown): { code: string; message: string } {
  const code = isWalEngineError(error) ? error.code : ((error as { code?: unknown })?.code ?? "Internal");
  return { code: String(code), message: error instanceof Error ? error.message : String(error) };
}

async function recoverOne(ctx: PipelineContext, walId: WalId): Promise<OneOutcome> {
  let found: Awaited<ReturnType<typeof ctx.store.tryRead>>;
  try {
    found = await ctx.store.tryRead(walId, { signal: ctx.signal });
  } catch (error) {
    return { outcome: "error", error: describe(error) };
  }
  if (found === null) return { outcome: "vanished" };
  if (found.value.state === "COMPLETE") return { outcome: "already-complete" };

  let acquired: Awaited<ReturnType<typeof tryAcquireLease>>;
  try {
    acquired = await tryAcquireLease(ctx.store, walId, ctx.handleId, ctx.clock.now(), ctx.leaseMs, {
      known: found,
      signal: ctx.signal,
    });
  } catch (error) {
    if (isLeaseConflict(error)) return { outcome: "held-by-peer" };
    if (isInvalidPreState(error)) return { outcome: "already-complete" };
    if (isWalNotFound(error)) return { outcome: "vanished" };
    if (isCasFailed(error)) return { outcome: "cas-lost" };
    return { outcome: "error", error: describe(error) };
  }
  const startState = acquired.doc.state;
  ctx.emit({ type: "wal-started", walId: idToHex(walId), opKind: acquired.doc.opKind, state: startState, origin: "recovery" });
  try {
    // The snapshot's bytes are never compared (only value and etag are used as the known state).
    const result = await driveMutation(ctx, { value: acquired.doc, etag: acquired.etag, bytes: new Uint8Array(0) });
    if (!result.completedByThisHandle) return { outcome: "already-complete" };
    return {
      outcome: result.appendRan ? "full-pipeline-completed" : "tombstone-only-completed",
      tombstoned: result.tombstoned,
      notFound: result.notFound,
    };
  } catch (error) {
    if (isLeaseConflict(error) || isCasFailed(error)) return { outcome: "cas-lost" };
    if (isWalNotFound(error) && error.key === ctx.store.layout.stateKey(walId)) return { outcome: "vanished" };
    try {
      await releaseLease(ctx.store, walId, ctx.handleId, { signal: ctx.signal });
    } catch {
      // Best effort: the lease expires on its own.
    }
    return { outcome: "error", error: describe(error) };
  }
}

/** Runs one recovery sweep; see the module header. */
export async function scanAndRecover(ctx: PipelineContext, options: RecoveryOptions = {}): Promise<RecoveryReport> {
  const started = ctx.clock.now();
  const report = emptyRecoveryReport();
  const walIds = await ctx.store.listWalIds({ signal: ctx.signal });
  ctx.emit({ type: "sweep-started", total: walIds.length });
  let done = 0;
  await runBounded(walIds, options.concurrency ?? 8, async (walId) => {
    const one = await recoverOne(ctx, walId);
    report.scanned++;
    switch (one.outcome) {
      case "already-complete":
        report.alreadyComplete++;
        break;
      case "held-by-peer":
        report.heldByPeer++;
        break;
      case "vanished":
        report.vanishedDuringScan++;
        break;
      case "cas-lost":
        report.casLost++;
        break;
      case "full-pipeline-completed":
        report.fullPipelineCompleted++;
        break;
      case "tombstone-only-completed":
        report.tombstoneOnlyCompleted++;
        break;
      case "error":
        report.errors.push({ walId: idToHex(walId), ...(one.error ?? { code: "Internal", message: "unknown" }) });
        break;
    }
    report.targetsTombstoned += one.tombstoned ?? 0;
    report.targetsNotFound += one.notFound ?? 0;
    done++;
    ctx.emit({ type: "sweep-progress", done, total: walIds.length, walId: idToHex(walId), outcome: one.outcome });
  });
  ctx.emit({
    type: "sweep-completed",
    durationMs: ctx.clock.now() - started,
    scanned: report.scanned,
    errors: report.errors.length,
  });
  return report;
}
