/**
 * Leases on WAL state documents: which handle is driving a mutation, until
 * when.
 *
 * Leases are advisory. They keep two processes from doing the same work
 * twice, nothing more: every state change is an etag compare-and-swap on the
 * state doc, and every step of the pipeline is idempotent, so two handles
 * that both believe they hold a WAL waste work but cannot corrupt anything.
 *
 * - `tryAcquireLease`: takes a WAL with no lease, re-takes our own (and
 *   extends it), or preempts one whose `expires_at` has passed.
 * - `heartbeatLease`: extends our lease; fails if another handle took it.
 * - `releaseLease`: clears our lease (no-op when it is not ours).
 * - `leaseBlocks`: whether a doc's lease keeps `owner` out at `now`.
 *
 * A lost CAS re-reads and decides again, so a race with another acquirer ends
 * as a `LeaseConflictError` naming the winner rather than a bare CAS loss.
 *
 * Errors: `WalNotFoundError` (no doc), `InvalidPreStateError` (doc is
 * COMPLETE), `LeaseConflictError` (live lease of another handle),
 * `CasFailedError` (CAS kept losing), plus store errors.
 */
import { type HandleId, idToHex, type Lease, type MutationState, type WalId } from "@skerry/wal-format";
import { CAS_NOOP, type Versioned } from "./cas-object.ts";
import { InvalidPreStateError, LeaseConflictError, WalNotFoundError } from "./errors.ts";
import type { CallSignal, VersionedState, WalStore } from "./wal-store.ts";

/** True when `doc` carries a live lease of a handle other than `owner`. */
export function leaseBlocks(doc: MutationState, owner: HandleId, now: number): boolean {
  return doc.lease !== undefined && doc.lease.owner !== owner && doc.lease.expiresAt > now;
}

/** `doc` without its lease. */
export function withoutLease(doc: MutationState): MutationState {
  if (doc.lease === undefined) return doc;
  const { lease: _dropped, ...rest } = doc;
  return rest as MutationState;
}

/** `doc` with `owner`'s lease running until `now + durationMs` (keeps `acquiredAt` if already ours). */
export function withLease(doc: MutationState, owner: HandleId, now: number, durationMs: number): MutationState {
  const acquiredAt = doc.lease?.owner === owner ? doc.lease.acquiredAt : now;
  const lease: Lease = { owner, acquiredAt, expiresAt: now + durationMs };
  return { ...doc, lease };
}

export function leaseConflict(doc: MutationState, key: string): LeaseConflictError {
  const lease = doc.lease as Lease;
  return new LeaseConflictError(
    `WAL ${idToHex(doc.walId)} is leased by handle ${idToHex(lease.owner)} until ${new Date(lease.expiresAt).toISOString()}`,
    { key, holder: idToHex(lease.owner), expiresAt: lease.expiresAt },
  );
}

export interface LeaseCallOptions extends CallSignal {
  /** A snapshot already held (saves the first read). */
  known?: Versioned<MutationState> | null;
}

/**
 * Sets `owner`'s lease to `now + durationMs` on a WAL that still runs,
 * unless `blocked(doc)` says another handle's lease stands in the way.
 */
async function writeLease(
  store: WalStore,
  walId: WalId,
  owner: HandleId,
  now: number,
  durationMs: number,
  options: LeaseCallOptions,
  blocked: (doc: MutationState) => boolean,
): Promise<VersionedState> {
  const key = store.layout.stateKey(walId);
  const result = await store.updateState(
    walId,
    (current) => {
      if (current === null) throw new WalNotFoundError(`WAL ${idToHex(walId)} vanished`, { key });
      const doc = current.value;
      if (doc.state === "COMPLETE") {
        throw new InvalidPreStateError(`WAL ${idToHex(walId)} is already COMPLETE`, { key, state: doc.state });
      }
      if (blocked(doc)) throw leaseConflict(doc, key);
      return withLease(doc, owner, now, durationMs);
    },
    options,
  );
  if (!result.written) throw new Error("unreachable: a lease write always writes");
  return { doc: result.value, etag: result.etag };
}

/** Acquires (or preempts an expired) lease on a WAL for `owner`. */
export function tryAcquireLease(
  store: WalStore,
  walId: WalId,
  owner: HandleId,
  now: number,
  durationMs: number,
  options: LeaseCallOptions = {},
): Promise<VersionedState> {
  return writeLease(store, walId, owner, now, durationMs, options, (doc) => leaseBlocks(doc, owner, now));
}

/** Extends `owner`'s lease to `now + durationMs`; another handle's lease, even expired, is a conflict. */
export function heartbeatLease(
  store: WalStore,
  walId: WalId,
  owner: HandleId,
  now: number,
  durationMs: number,
  options: LeaseCallOptions = {},
): Promise<VersionedState> {
  return writeLease(store, walId, owner, now, durationMs, options, (doc) => doc.lease !== undefined && doc.lease.owner !== owner);
}

/** Clears `owner`'s lease; returns false (and writes nothing) when the lease is not ours or the doc is gone. */
export async function releaseLease(
  store: WalStore,
  walId: WalId,
  owner: HandleId,
  options: LeaseCallOptions = {},
): Promise<boolean> {
  const result = await store.updateState(
    walId,
    (current) => {
      if (current === null || current.value.lease?.owner !== owner) return CAS_NOOP;
      return withoutLease(current.value);
    },
    options,
  );
  return result.written;
}
