/**
 * WalEngine: one handle's facade over the WAL machinery. It bundles the
 * storage and root (through a `WalStore`), the table being mutated, the
 * handle id stamped on leases, and the injected clock, randomness and id
 * generator, and offers:
 *
 * - `update` / `delete`: begin (sidecar + INTENT doc) and drive to COMPLETE;
 * - `prepareUpdate` / `prepareDelete`: the INTENT step only (for tools and
 *   benchmarks that stage interrupted work), `resume(walId)` to drive one
 *   (or, when a peer already completed it, to read its result);
 * - `scanAndRecover`: the recovery sweep (run it when a table opens, and on
 *   operator demand; nothing runs in the background);
 * - `collectGarbage`: WAL GC after a grace period;
 * - `readWal` / `listWalIds` for inspection.
 *
 * Defaults: lease 60 s, cap 100,000 targets (and new rows) per mutation,
 * recovery concurrency 8, system clock, crypto randomness.
 *
 * Errors: see `errors.ts`. `update`/`delete` throw what the pipeline throws;
 * once the INTENT doc exists the mutation is durable, and a failure after
 * that point is finished by the next recovery sweep (or by a peer that took
 * the lease, in the case of `LeaseConflictError`).
 */
import type { StorageProvider } from "@skerry/storage-providers";
import {
  type Clock,
  cryptoRandom,
  type HandleId,
  type IdSpan,
  IdGenerator,
  type MutationState,
  type OpKind,
  type Random,
  systemClock,
  type WalId,
} from "@skerry/wal-format";
import { type BegunMutation, beginMutation, type DeleteInput, type UpdateInput } from "./begin-mutation.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, type Sleep, timerSleep } from "./cas-object.ts";
import { driveMutation, outcomeCounts } from "./drive-mutation.ts";
import { isInvalidPreState } from "./errors.ts";
import { safeEmitter, type WalEventListener } from "./events.ts";
import { tryAcquireLease } from "./lease.ts";
import type { MutationTable } from "./mutation-table.ts";
import type { PipelineContext } from "./pipeline-context.ts";
import { type RecoveryReport, scanAndRecover } from "./recovery.ts";
import { collectWalGarbage, type WalGcReport } from "./wal-gc.ts";
import { type VersionedState, WalStore } from "./wal-store.ts";

export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_MAX_TARGETS = 100_000;
export const DEFAULT_RELOCATE_POLICY: RetryPolicy = { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 2_000 };

export interface WalEngineOptions {
  storage: StorageProvider;
  /** Root key prefix of the table, e.g. `acme/proj/ns1`. */
  root?: string;
  table: MutationTable;
  /** Lease owner id of this handle; minted from `idGenerator` when omitted. */
  handleId?: HandleId;
  clock?: Clock;
  /** Source of preallocated segment ids. */
  random?: Random;
  /** Source of backoff jitter; defaults to `random`. */
  jitter?: Random;
  /** Mints wal ids and new rows' ids; defaults to a generator on `clock` and `random`. */
  idGenerator?: IdGenerator;
  leaseMs?: number;
  /** Cap on targets (and on new rows) per mutation. */
  maxTargets?: number;
  /** Retry policy of every compare-and-swap loop and storage retry. */
  retryPolicy?: RetryPolicy;
  /** Re-locate rounds when a target's segment is sealed by compaction. */
  relocatePolicy?: RetryPolicy;
  sleep?: Sleep;
  onEvent?: WalEventListener;
  /** Default concurrency of `scanAndRecover`. */
  recoveryConcurrency?: number;
}

export interface MutationResult {
  walId: WalId;
  opKind: OpKind;
  /** UPDATE: the segment holding the new rows. */
  segmentId?: string;
  /** UPDATE: ids of the new rows, in order. */
  newRowIds?: readonly IdSpan[];
  tombstoned: number;
  notFound: number;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export class WalEngine {
  readonly store: WalStore;
  readonly table: MutationTable;
  readonly handleId: HandleId;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #jitter: Random;
  readonly #ids: IdGenerator;
  readonly #leaseMs: number;
  readonly #maxTargets: number;
  readonly #relocate: RetryPolicy;
  readonly #sleep: Sleep;
  readonly #emit: WalEventListener;
  readonly #recoveryConcurrency: number;

  constructor(options: WalEngineOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? cryptoRandom;
    this.#jitter = options.jitter ?? this.#random;
    this.#ids = options.idGenerator ?? new IdGenerator({ clock: this.#clock, random: this.#random });
    this.#sleep = options.sleep ?? timerSleep;
    this.store = new WalStore(options.storage, {
      root: options.root ?? "",
      runtime: { policy: options.retryPolicy ?? DEFAULT_RETRY_POLICY, random: this.#jitter, sleep: this.#sleep },
    });
    this.table = options.table;
    this.handleId = options.handleId ?? (this.#ids.next() as HandleId);
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#maxTargets = options.maxTargets ?? DEFAULT_MAX_TARGETS;
    this.#relocate = options.relocatePolicy ?? DEFAULT_RELOCATE_POLICY;
    this.#emit = safeEmitter(options.onEvent);
    this.#recoveryConcurrency = options.recoveryConcurrency ?? 8;
  }

  #context(signal: AbortSignal | undefined): PipelineContext {
    return {
      store: this.store,
      table: this.table,
      handleId: this.handleId,
      clock: this.#clock,
      leaseMs: this.#leaseMs,
      relocatePolicy: this.#relocate,
      jitter: this.#jitter,
      sleep: this.#sleep,
      emit: this.#emit,
      signal,
    };
  }

  #begin(ctx: PipelineContext, opKind: OpKind, input: UpdateInput | DeleteInput, holdLease: boolean): Promise<BegunMutation> {
    return beginMutation(
      ctx,
      { idGenerator: this.#ids, random: this.#random, maxTargets: this.#maxTargets, holdLease },
      opKind,
      input,
    );
  }

  async #run(opKind: OpKind, input: UpdateInput | DeleteInput, options: CallOptions): Promise<MutationResult> {
    const ctx = this.#context(options.signal);
    const begun = await this.#begin(ctx, opKind, input, true);
    const outcome = await driveMutation(ctx, begun.state, { arrowBytes: begun.arrowBytes });
    return resultOf(outcome.final.value, outcome);
  }

  /** UPDATE: replaces `targets` with `newRows` (which get fresh pre-minted row ids). */
  update(input: UpdateInput, options: CallOptions = {}): Promise<MutationResult> {
    return this.#run("UPDATE", input, options);
  }

  /** DELETE: tombstones `targets`. */
  delete(input: DeleteInput, options: CallOptions = {}): Promise<MutationResult> {
    return this.#run("DELETE", input, options);
  }

  /** Writes an UPDATE's sidecar and INTENT doc without driving it. */
  async prepareUpdate(input: UpdateInput, options: CallOptions & { holdLease?: boolean } = {}): Promise<WalId> {
    return (await this.#begin(this.#context(options.signal), "UPDATE", input, options.holdLease ?? false)).walId;
  }

  /** Writes a DELETE's INTENT doc without driving it. */
  async prepareDelete(input: DeleteInput, options: CallOptions & { holdLease?: boolean } = {}): Promise<WalId> {
    return (await this.#begin(this.#context(options.signal), "DELETE", input, options.holdLease ?? false)).walId;
  }

  /**
   * Acquires one WAL's lease and drives it to COMPLETE. A WAL already COMPLETE (a peer's recovery took
   * over an expired lease and finished it) is not an error: its result is read from the completed doc.
   */
  async resume(walId: WalId, options: CallOptions = {}): Promise<MutationResult> {
    const ctx = this.#context(options.signal);
    let acquired: VersionedState;
    try {
      acquired = await tryAcquireLease(this.store, walId, this.handleId, this.#clock.now(), this.#leaseMs, {
        signal: options.signal,
      });
    } catch (error) {
      if (!(isInvalidPreState(error) && error.state === "COMPLETE")) throw error;
      const { doc } = await this.store.read(walId, { signal: options.signal });
      return resultOf(doc, outcomeCounts(doc));
    }
    const outcome = await driveMutation(ctx, { value: acquired.doc, etag: acquired.etag, bytes: new Uint8Array(0) });
    return resultOf(outcome.final.value, outcome);
  }

  /** The recovery sweep; see `recovery.ts`. */
  scanAndRecover(options: CallOptions & { concurrency?: number } = {}): Promise<RecoveryReport> {
    return scanAndRecover(this.#context(options.signal), { concurrency: options.concurrency ?? this.#recoveryConcurrency });
  }

  /** WAL GC; see `wal-gc.ts`. */
  collectGarbage(options: CallOptions & { graceMs: number; concurrency?: number }): Promise<WalGcReport> {
    return collectWalGarbage(this.store, this.#clock, this.#emit, options);
  }

  readWal(walId: WalId, options: CallOptions = {}): Promise<VersionedState> {
    return this.store.read(walId, options);
  }

  listWalIds(options: CallOptions = {}): Promise<WalId[]> {
    return this.store.listWalIds(options);
  }
}

function resultOf(
  doc: MutationState,
  counts: { tombstoned: number; notFound: number },
): MutationResult {
  const base = { walId: doc.walId, opKind: doc.opKind, tombstoned: counts.tombstoned, notFound: counts.notFound };
  if (doc.opKind !== "UPDATE") return base;
  return { ...base, segmentId: doc.preallocatedSuperfileId, newRowIds: doc.mintedIdSpans };
}
