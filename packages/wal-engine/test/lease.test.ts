/**
 * Leases: acquire, own re-acquire, preemption after expiry, conflicts,
 * heartbeat and release. Advisory only: every change is an etag CAS.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { type DeleteMutationState, handleId, idToHex, rowId, walId } from "@skerry/wal-format";
import {
  heartbeatLease,
  isInvalidPreState,
  isLeaseConflict,
  isWalNotFound,
  releaseLease,
  tryAcquireLease,
  WalStore,
} from "@skerry/wal-engine";
import { describe, expect, it } from "vitest";
import { T0 } from "./support/fixtures.ts";

const A = handleId(0xaaaan);
const B = handleId(0xbbbbn);
const W = walId(77n);

function doc(extra: Partial<DeleteMutationState> = {}): DeleteMutationState {
  return {
    walId: W,
    schemaVersion: 1,
    opKind: "DELETE",
    state: "INTENT",
    createdAt: T0,
    predicateRepr: "x",
    targetIds: [rowId(1n)],
    tombstoneProgress: [{ targetId: rowId(1n), outcome: "PENDING" }],
    ...extra,
  };
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

async function fresh(extra: Partial<DeleteMutationState> = {}) {
  const store = new WalStore(new MemoryStorage());
  const etag = await store.create(doc(extra));
  return { store, etag };
}

describe("leases", () => {
  it("acquiring a WAL with no lease stamps owner, acquired_at and expires_at", async () => {
    const { store, etag } = await fresh();
    const got = await tryAcquireLease(store, W, A, T0 + 5, 1_000);
    expect(got.doc.lease).toEqual({ owner: A, acquiredAt: T0 + 5, expiresAt: T0 + 1_005 });
    expect(got.etag).not.toBe(etag);
    expect((await store.read(W)).etag).toBe(got.etag);
  });

  it("re-acquiring our own lease extends it and keeps acquired_at", async () => {
    const { store } = await fresh();
    await tryAcquireLease(store, W, A, T0, 1_000);
    const again = await tryAcquireLease(store, W, A, T0 + 500, 1_000);
    expect(again.doc.lease).toEqual({ owner: A, acquiredAt: T0, expiresAt: T0 + 1_500 });
  });

  it("a live lease of another handle is a typed LeaseConflict naming the holder, and nothing is written", async () => {
    const { store } = await fresh();
    const held = await tryAcquireLease(store, W, A, T0, 1_000);
    const error = await errorOf(tryAcquireLease(store, W, B, T0 + 999, 1_000));
    expect(isLeaseConflict(error)).toBe(true);
    expect((error as { holder: string }).holder).toBe(idToHex(A));
    expect((await store.read(W)).etag).toBe(held.etag);
  });

  it("an expired lease is preempted", async () => {
    const { store } = await fresh();
    await tryAcquireLease(store, W, A, T0, 1_000);
    const taken = await tryAcquireLease(store, W, B, T0 + 1_000, 1_000);
    expect(taken.doc.lease?.owner).toBe(B);
    expect(taken.doc.lease?.acquiredAt).toBe(T0 + 1_000);
  });

  it("acquiring a COMPLETE WAL is InvalidPreState; a missing one is NotFound", async () => {
    const { store } = await fresh({ state: "COMPLETE", tombstoneProgress: [{ targetId: rowId(1n), outcome: "NOT_FOUND" }] });
    expect(isInvalidPreState(await errorOf(tryAcquireLease(store, W, A, T0, 1_000)))).toBe(true);
    expect(isWalNotFound(await errorOf(tryAcquireLease(store, walId(5n), A, T0, 1_000)))).toBe(true);
  });

  it("two handles racing for an expired lease: exactly one wins, the other sees LeaseConflict", async () => {
    const { store } = await fresh({ lease: { owner: handleId(0xdeadn), acquiredAt: T0 - 10, expiresAt: T0 - 1 } });
    const results = await Promise.allSettled([
      tryAcquireLease(store, W, A, T0, 1_000),
      tryAcquireLease(store, W, B, T0, 1_000),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(isLeaseConflict(lost.reason)).toBe(true);
  });

  it("a heartbeat extends our lease, and fails with LeaseConflict once another handle took it", async () => {
    const { store } = await fresh();
    await tryAcquireLease(store, W, A, T0, 1_000);
    const beat = await heartbeatLease(store, W, A, T0 + 900, 1_000);
    expect(beat.doc.lease?.expiresAt).toBe(T0 + 1_900);
    await tryAcquireLease(store, W, B, T0 + 2_000, 1_000);
    expect(isLeaseConflict(await errorOf(heartbeatLease(store, W, A, T0 + 2_001, 1_000)))).toBe(true);
  });

  it("release clears our lease and leaves another handle's lease alone", async () => {
    const { store } = await fresh();
    await tryAcquireLease(store, W, A, T0, 1_000);
    expect(await releaseLease(store, W, B)).toBe(false);
    expect((await store.read(W)).doc.lease?.owner).toBe(A);
    expect(await releaseLease(store, W, A)).toBe(true);
    expect((await store.read(W)).doc.lease).toBeUndefined();
    expect(await releaseLease(store, walId(404n), A)).toBe(false);
  });
});
