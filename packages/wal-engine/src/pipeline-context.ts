/**
 * PipelineContext: everything one handle's pipeline steps need, injected
 * (storage through the WalStore, the table, the handle id, time, jitter,
 * sleep, the lease length, the event sink), so a run replays exactly under a
 * simulated clock and seeded randomness.
 */
import type { Clock, HandleId, Random } from "@skerry/wal-format";
import type { RetryPolicy, Sleep } from "./cas-object.ts";
import type { WalEventListener } from "./events.ts";
import type { MutationTable } from "./mutation-table.ts";
import type { WalStore } from "./wal-store.ts";

export interface PipelineContext {
  store: WalStore;
  table: MutationTable;
  /** The lease owner stamped by this handle. */
  handleId: HandleId;
  clock: Clock;
  /** Lease length; every state-doc write by the holder extends it (the heartbeat). */
  leaseMs: number;
  /** Re-locate rounds (and their backoff) when a target's segment is sealed by compaction. */
  relocatePolicy: RetryPolicy;
  /** Jitter source for backoff. */
  jitter: Random;
  sleep: Sleep;
  emit: WalEventListener;
  signal?: AbortSignal | undefined;
}
