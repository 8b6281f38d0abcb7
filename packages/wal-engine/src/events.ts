/**
 * Progress and outcome events of the pipeline, the recovery sweep and WAL
 * GC, delivered to an `onEvent` callback so a CLI can draw progress bars and
 * a server can export metrics.
 *
 * Events are plain objects with a `type` discriminant; ids are in their
 * 32-hex wire form so events can be logged as JSON as they are. Delivery is
 * synchronous and best-effort: an exception thrown by the listener is
 * swallowed, because an observer must never change what the pipeline does.
 */
import type { MutationStateName, OpKind } from "@skerry/wal-format";

export type WalEvent =
  /** A WAL's INTENT document was written (origin `call`) or a sweep took it over (origin `recovery`). */
  | { type: "wal-started"; walId: string; opKind: OpKind; state: MutationStateName; origin: "call" | "recovery" }
  /** A phase finished: `intent` (sidecar + INTENT doc durable), `append` (segment committed, APPENDED), `tombstone`. */
  | { type: "phase-completed"; walId: string; phase: "intent" | "append" | "tombstone"; state: MutationStateName }
  /** One segment group's tombstones landed: `positions` requested, `newlySet` not already set. */
  | { type: "segment-tombstoned"; walId: string; segmentId: string; positions: number; newlySet: number }
  /** A target's segment was sealed by compaction: the pipeline re-locates those targets. */
  | { type: "segment-sealed"; walId: string; segmentId: string; targets: number; round: number }
  | {
      type: "wal-completed";
      walId: string;
      opKind: OpKind;
      tombstoned: number;
      notFound: number;
      /** False when a peer completed it while we were driving it. */
      byThisHandle: boolean;
    }
  | { type: "wal-failed"; walId: string; code: string; message: string }
  | { type: "sweep-started"; total: number }
  | { type: "sweep-progress"; done: number; total: number; walId: string; outcome: RecoveryOutcome }
  | { type: "sweep-completed"; durationMs: number; scanned: number; errors: number }
  | { type: "gc-deleted"; key: string; kind: "state" | "arrow" | "orphan-arrow" }
  | { type: "gc-completed"; durationMs: number; deleted: number; errors: number };

/** How the sweep classified one WAL. */
export type RecoveryOutcome =
  | "already-complete"
  | "held-by-peer"
  | "full-pipeline-completed"
  | "tombstone-only-completed"
  | "vanished"
  | "cas-lost"
  | "error";

export type WalEventListener = (event: WalEvent) => void;

/** Wraps a listener so its exceptions never escape; no listener -> a no-op. */
export function safeEmitter(listener: WalEventListener | undefined): WalEventListener {
  if (listener === undefined) return () => {};
  return (event) => {
    try {
      listener(event);
    } catch {
      // An observer's failure is not the pipeline's failure.
    }
  };
}
