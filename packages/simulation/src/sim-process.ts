/**
 * SimProcess: one simulated Skerry process: a NamespaceEngine over its own
 * FaultInjectingStorage (seeded random failures before and after the call,
 * Conflict and Unavailable, latency on every call through the scheduler's
 * sleep) over a ProcessGate over the shared store.
 *
 * `crash()` arms a crash at the process's next storage call (before the
 * call, or after it landed: FaultInjectingStorage's `crash` rule) and kills
 * the gate at once, so nothing of this incarnation reaches the store after
 * that call; its pending operations are abandoned (they fail on their own,
 * fast, since every later call fails). The simulation then starts a fresh
 * incarnation with empty in-memory state.
 */
import { NamespaceEngine } from "@skerry/namespace-engine";
import { FaultInjectingStorage, type RecordedCall, type StorageProvider } from "@skerry/storage-providers";
import { ProcessGate } from "./process-gate.ts";
import type { SimRandom } from "./sim-random.ts";
import type { SimScheduler } from "./sim-scheduler.ts";

export interface FaultProfile {
  /** Probability that a storage call fails (before or after the inner call). */
  readonly failureRate: number;
  /** Of the failures, the fraction injected after the call landed (answer lost). */
  readonly afterFraction: number;
  /** Of the failures of conditional puts, the fraction raised as Conflict. */
  readonly conflictFraction: number;
  /** Latency of every call, ms of simulated time (at least 1, so calls reorder). */
  readonly latencyMs: readonly [number, number];
  /** Known-bug fences: fault combinations left out until the bug is fixed (ci-seeds.ts). */
  readonly fences?: readonly KnownBugFence[] | undefined;
}

/**
 * `manifest-readback`: never fail a read of a manifest key this process
 * tried to create (bug SIM-1, seed 9: ManifestStore.create takes a failed
 * read-back of its own landed manifest for another writer's).
 * `wal-complete-by-peer`: accept InvalidPreState "already COMPLETE" from a
 * predicate mutation as an unknown outcome (bug SIM-2, seed 61).
 */
export type KnownBugFence = "manifest-readback" | "wal-complete-by-peer";

/** Simulated lease length; short, so crashed drivers are taken over within a run. */
export const SIM_LEASE_MS = 3_000;

export interface FaultCounts {
  calls: number;
  failedBefore: number;
  failedAfter: number;
  conflict: number;
  unavailable: number;
  crashed: number;
}

export function emptyFaultCounts(): FaultCounts {
  return { calls: 0, failedBefore: 0, failedAfter: 0, conflict: 0, unavailable: 0, crashed: 0 };
}

export function addCalls(counts: FaultCounts, calls: readonly RecordedCall[]): void {
  for (const call of calls) {
    counts.calls++;
    if (call.outcome === "failed-before") counts.failedBefore++;
    else if (call.outcome === "failed-after") counts.failedAfter++;
    else if (call.outcome === "crashed") counts.crashed++;
    else continue;
    if (call.errorCode === "Conflict") counts.conflict++;
    else if (call.errorCode === "Unavailable" && call.outcome !== "crashed") counts.unavailable++;
  }
}

/** Manifest retention of every simulated engine: short, so versions expire (and objects are freed) within a run. */
export const SIM_RETENTION = { keepVersions: 4, keepForMs: 2_500 } as const;
/** A commit never builds on a base older than this; well below SIM_RETENTION.keepForMs (docs/namespace-engine.md). */
export const SIM_MAX_BASE_AGE_MS = 500;

export interface EngineMode {
  /** Segments bounded at a few documents' bytes: folds write several segments (merges then never fit). */
  readonly smallSegments?: boolean | undefined;
  /**
   * The engine settings of the harness as it was when SIM-1 and SIM-2 were found (every backoff zero,
   * default retention), so those seeds replay exactly as found (test/seed-*.test.ts).
   */
  readonly asFound?: boolean | undefined;
  /**
   * An engine the driver awaits itself (setup, auditor, final checks): zero backoffs, since nothing would
   * fire its timers. Such engines run fault-free, so they only ever back off after a lost race.
   */
  readonly direct?: boolean | undefined;
  /** Every write batch is stored as an object first (the engine's `carriedBatches: false`). */
  readonly storedBatches?: boolean | undefined;
}

/**
 * Engine options that keep every engine path on simulated time: backoffs (storage retries, the
 * wal-engine's CAS retries and re-locate rounds) wait on the scheduler's clock through the engine's
 * injected `sleep`; leases and retention run on its clock. The write committer's lost-race backoff and
 * group-commit wait go through the same `sleep`.
 */
export function engineFor(storage: StorageProvider, scheduler: SimScheduler, random: SimRandom, mode: EngineMode = {}): NamespaceEngine {
  const zero = { baseDelayMs: 0, maxDelayMs: 0 };
  const timed = mode.asFound !== true && mode.direct !== true;
  return new NamespaceEngine({
    storage,
    clock: scheduler,
    random,
    ...(timed ? { sleep: scheduler.sleep } : {}),
    retry: { attempts: 4, ...(timed ? { baseDelayMs: 5, maxDelayMs: 80 } : zero) },
    conflictBackoff: timed ? { baseDelayMs: 2, maxDelayMs: 40 } : zero,
    relocate: { maxAttempts: 40, ...(timed ? { baseDelayMs: 10, maxDelayMs: 120 } : zero) },
    leaseMs: SIM_LEASE_MS,
    ...(mode.storedBatches === true ? { carriedBatches: false } : {}),
    // Tiered with small thresholds: unforced compactions fold short tails and merge segments (runs that do not
    // start at the first container, delete markers); forced ones fold everything.
    compaction: { auto: false, policy: "tiered", maxLogBatches: 2, maxContainers: 6, mergeFactor: 2, tierBaseBytes: 1 << 20, maxSegmentBytes: mode.smallSegments === true ? 600 : 1 << 20 },
    readStalenessMs: 1_000,
    ...(mode.asFound === true ? {} : { retention: SIM_RETENTION, maxBaseAgeMs: SIM_MAX_BASE_AGE_MS }),
  });
}

export class SimProcess {
  readonly name: string;
  readonly incarnation: number;
  readonly engine: NamespaceEngine;
  readonly storage: FaultInjectingStorage;
  readonly #gate: ProcessGate;

  constructor(
    name: string,
    incarnation: number,
    shared: StorageProvider,
    scheduler: SimScheduler,
    random: SimRandom,
    faults: FaultProfile,
    asFound?: boolean,
  ) {
    this.name = name;
    this.incarnation = incarnation;
    this.#gate = new ProcessGate(shared, scheduler, `${name}#${incarnation}`);
    this.storage = new FaultInjectingStorage(this.#gate, { sleep: scheduler.sleep, maxRecordedCalls: 1_000_000 });
    const created = new Set<string>();
    const fenceReadback = faults.fences?.includes("manifest-readback") === true;
    this.storage.randomFaults({
      seed: random.derive("faults").seed,
      // Calls the matcher exempts get neither faults nor latency; they still pass the gate.
      match: (call) => {
        if (call.op === "put" && call.mode === "create" && call.key.includes("/manifests/")) created.add(call.key);
        return !(fenceReadback && call.op === "get" && created.has(call.key));
      },
      failureRate: faults.failureRate,
      afterFraction: faults.afterFraction,
      conflictFraction: faults.conflictFraction,
      latencyMs: faults.latencyMs,
    });
    // Half the incarnations store every batch as an object, so carrying and storing writers share namespaces.
    const storedBatches = asFound !== true && random.derive("inline").chance(0.5);
    // A third of the incarnations cut compaction outputs into small segments (several per fold).
    const smallSegments = asFound !== true && random.derive("segments").chance(0.34);
    this.engine = engineFor(this.storage, scheduler, random.derive("engine"), { asFound, storedBatches, smallSegments });
  }

  get dead(): boolean {
    return this.#gate.dead;
  }

  /** Crash at the next storage call (`when`: before it, or after it landed), then nothing more. */
  crash(when: "before" | "after"): void {
    this.storage.failWhen(() => true, { when, crash: true });
    // The armed call itself may be one already asleep in latency: let exactly
    // the calls that reach FaultInjectingStorage's rule decide, and kill the
    // gate once the crash fired (checked by the simulation after each event).
  }

  /** Kills the gate: called once the crash rule fired, or to stop the process outright. */
  kill(): void {
    this.#gate.kill();
  }
}
