/**
 * The tombstone phase: every PENDING target becomes TOMBSTONED or
 * NOT_FOUND, then the doc becomes COMPLETE (DELETE: from INTENT; UPDATE:
 * from APPENDED).
 *
 * Steps:
 *   1. `table.locateRows(pending targets)`; targets not located are NOT_FOUND.
 *   2. Group located targets by segment (in target order). Per group:
 *      a. CAS the segment's tombstone sidecar: create it when absent (unless
 *         the table says it was written: then it is lost, `WalCorruptError`),
 *         add the positions otherwise; write nothing when every bit is
 *         already set (a replay after a crash between a and b);
 *      b. ONE state-doc CAS marking the group's targets TOMBSTONED with
 *         `tombstoned_in_superfile`.
 *      The last group's doc CAS also records NOT_FOUND targets and COMPLETE
 *      (clearing the lease), so a WAL touching one segment costs one sidecar
 *      CAS and one doc CAS after the lease.
 *   3. A sealed sidecar means a compaction is rewriting that segment: its
 *      targets are re-located after a backoff (they will be found in the
 *      compacted segment once the compaction commits), up to
 *      `relocatePolicy.maxAttempts` rounds, then `SegmentSealedError`.
 *      Between rounds the driver heartbeats its lease when it would lapse
 *      within half a lease (waiting writes nothing else to the doc, and a
 *      lapsed lease lets a peer's recovery take the WAL over).
 * Why it is safe to crash anywhere: sidecar bits are a set (adding twice is
 * adding once), doc outcomes only move forward from PENDING, and the doc
 * write that records a group follows the sidecar write it records.
 */
import {
  hasPosition,
  idToHex,
  type MutationState,
  type RowId,
  type TombstoneEntry,
  type TombstoneSidecarInput,
} from "@skerry/wal-format";
import { backoffDelay, CAS_NOOP, type Versioned } from "./cas-object.ts";
import { SegmentSealedError, WalCorruptError } from "./errors.ts";
import type { PipelineContext } from "./pipeline-context.ts";
import { advanceState } from "./state-transition.ts";

interface SegmentGroup {
  segmentId: string;
  targets: RowId[];
  positions: number[];
  /** The table says the sidecar exists (`RowLocation.sidecarWritten`). */
  sidecarWritten: boolean;
}

/** Thrown inside the sidecar CAS when the sidecar is sealed; never escapes this module. */
class SealedSignal {
  constructor(readonly compactionId: string) {}
}

function mark(
  doc: MutationState,
  tombstoned: ReadonlySet<RowId>,
  segmentId: string | undefined,
  notFound: ReadonlySet<RowId>,
  complete: boolean,
): MutationState | typeof CAS_NOOP {
  if (doc.state === "COMPLETE") return CAS_NOOP;
  let changed = false;
  const progress: TombstoneEntry[] = doc.tombstoneProgress.map((entry) => {
    if (entry.outcome !== "PENDING") return entry;
    if (segmentId !== undefined && tombstoned.has(entry.targetId)) {
      changed = true;
      return { ...entry, outcome: "TOMBSTONED", tombstonedInSuperfile: segmentId };
    }
    if (notFound.has(entry.targetId)) {
      changed = true;
      return { ...entry, outcome: "NOT_FOUND" };
    }
    return entry;
  });
  if (!changed && !complete) return CAS_NOOP;
  return { ...doc, tombstoneProgress: progress, ...(complete ? { state: "COMPLETE" as const } : {}) };
}

function pendingTargets(doc: MutationState): RowId[] {
  const out: RowId[] = [];
  for (const entry of doc.tombstoneProgress) if (entry.outcome === "PENDING") out.push(entry.targetId);
  return out;
}

/** Sets `group`'s positions in its sidecar; returns how many were newly set. */
async function tombstoneGroup(ctx: PipelineContext, group: SegmentGroup): Promise<number> {
  let newlySet = 0;
  await ctx.store.updateTombstones(
    group.segmentId,
    (current) => {
      if (current === null && group.sidecarWritten) {
        const key = ctx.store.layout.tombstonesKey(group.segmentId);
        throw new WalCorruptError(`tombstone sidecar ${JSON.stringify(key)} is missing; the table says it was written`, { key });
      }
      if (current?.value.seal !== undefined) throw new SealedSignal(current.value.seal.compactionId);
      const existing = current === null ? new Uint32Array(0) : Uint32Array.from(current.value.positions);
      const missing = group.positions.filter((p) => !hasPosition(existing, p));
      newlySet = missing.length;
      if (current !== null && missing.length === 0) return CAS_NOOP;
      const next: TombstoneSidecarInput = { positions: [...existing, ...missing] };
      return next;
    },
    { signal: ctx.signal },
  );
  return newlySet;
}

export interface TombstonePhaseResult {
  final: Versioned<MutationState>;
  /** True when this call wrote COMPLETE (false: a peer did). */
  completedHere: boolean;
}

export async function runTombstonePhase(
  ctx: PipelineContext,
  start: Versioned<MutationState>,
): Promise<TombstonePhaseResult> {
  let current: Versioned<MutationState> = start;
  const walHex = idToHex(start.value.walId);
  const notFound = new Set<RowId>();
  let pending = pendingTargets(current.value);
  let lastSealed = "";
  for (let round = 1; ; round++) {
    const groups: SegmentGroup[] = [];
    if (pending.length > 0) {
      const located = await ctx.table.locateRows(pending, { signal: ctx.signal });
      const bySegment = new Map<string, SegmentGroup>();
      for (const target of pending) {
        const location = located.get(target);
        if (location === undefined) {
          notFound.add(target);
          continue;
        }
        let group = bySegment.get(location.segmentId);
        if (group === undefined) {
          group = { segmentId: location.segmentId, targets: [], positions: [], sidecarWritten: false };
          bySegment.set(location.segmentId, group);
          groups.push(group);
        }
        if (location.sidecarWritten === true) group.sidecarWritten = true;
        group.targets.push(target);
        group.positions.push(location.position);
      }
    }
    const sealed: RowId[] = [];
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i] as SegmentGroup;
      let newlySet: number;
      try {
        newlySet = await tombstoneGroup(ctx, group);
      } catch (error) {
        if (!(error instanceof SealedSignal)) throw error;
        sealed.push(...group.targets);
        lastSealed = group.segmentId;
        ctx.emit({ type: "segment-sealed", walId: walHex, segmentId: group.segmentId, targets: group.targets.length, round });
        continue;
      }
      const final = i === groups.length - 1 && sealed.length === 0;
      const advanced = await advanceState(ctx, current, (doc) =>
        mark(doc, new Set(group.targets), group.segmentId, final ? notFound : new Set(), final),
      );
      current = advanced;
      ctx.emit({
        type: "segment-tombstoned",
        walId: walHex,
        segmentId: group.segmentId,
        positions: group.positions.length,
        newlySet,
      });
      if (current.value.state === "COMPLETE") return { final: current, completedHere: advanced.written && final };
    }
    if (sealed.length === 0) {
      // No groups (nothing pending, or nothing located): one CAS records NOT_FOUND and COMPLETE.
      if (current.value.state === "COMPLETE") return { final: current, completedHere: false };
      const advanced = await advanceState(ctx, current, (doc) => mark(doc, new Set(), undefined, notFound, true));
      return { final: advanced, completedHere: advanced.written };
    }
    if (round >= ctx.relocatePolicy.maxAttempts) {
      throw new SegmentSealedError(
        `${sealed.length} targets of WAL ${walHex} stayed in sealed segments (last ${lastSealed}) through ${round} re-locate rounds`,
        { segmentId: lastSealed, key: ctx.store.layout.tombstonesKey(lastSealed) },
      );
    }
    const delay = backoffDelay(ctx.relocatePolicy, round, ctx.jitter);
    // Waiting on a compaction writes nothing to the doc, so the lease would run out while we wait and a
    // peer's recovery would take the WAL over: extend it when it would lapse within half a lease.
    const lease = current.value.lease;
    if (lease !== undefined && lease.owner === ctx.handleId && lease.expiresAt < ctx.clock.now() + delay + ctx.leaseMs / 2) {
      current = await advanceState(ctx, current, (doc) => (doc.state === "COMPLETE" ? CAS_NOOP : doc));
      if (current.value.state === "COMPLETE") return { final: current, completedHere: false };
    }
    await ctx.sleep(delay, ctx.signal);
    pending = sealed;
  }
}
