/**
 * WalStore: state docs, arrow sidecars and tombstone sidecars under etag CAS
 * (the scenarios of the reference WAL store's tests), on memory and local-fs.
 */
import { FaultInjectingStorage, type StorageProvider } from "@skerry/storage-providers";
import {
  contentHash,
  type DeleteMutationState,
  encodeTombstoneSidecar,
  type MutationState,
  rowId,
  walId,
  type WalId,
} from "@skerry/wal-format";
import {
  isCasFailed,
  isHashMismatch,
  isWalAlreadyExists,
  isWalCorrupt,
  isWalNotFound,
  WalStore,
} from "@skerry/wal-engine";
import { afterEach, describe, expect, it } from "vitest";
import { listKeys, localFsProvider, memoryProvider, T0 } from "./support/fixtures.ts";

const text = (s: string) => new TextEncoder().encode(s);

function sampleState(id: bigint): DeleteMutationState {
  return {
    walId: walId(id),
    schemaVersion: 1,
    opKind: "DELETE",
    state: "INTENT",
    createdAt: T0,
    predicateRepr: "for tests",
    targetIds: [rowId(1n), rowId(2n)],
    tombstoneProgress: [
      { targetId: rowId(1n), outcome: "PENDING" },
      { targetId: rowId(2n), outcome: "PENDING" },
    ],
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

for (const provider of [memoryProvider, localFsProvider]) {
  describe(`WalStore on ${provider.name}`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    let storage: StorageProvider;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });
    async function store(root = ""): Promise<WalStore> {
      const target = await provider.create();
      storage = target.storage;
      cleanup = target.cleanup;
      return new WalStore(storage, { root });
    }

    it("create then read round-trips the state and its etag", async () => {
      const ws = await store();
      const state = sampleState(7n);
      const etag = await ws.create(state);
      const read = await ws.read(state.walId);
      expect(read.doc).toEqual(state);
      expect(read.etag).toBe(etag);
    });

    it("reading a missing state doc fails with NotFound", async () => {
      const ws = await store();
      expect(isWalNotFound(await errorOf(ws.read(walId(9999n))))).toBe(true);
      expect(await ws.tryRead(walId(9999n))).toBeNull();
    });

    it("creating a different doc under an existing wal id fails with AlreadyExists; an identical replay succeeds", async () => {
      const ws = await store();
      const state = sampleState(11n);
      const etag = await ws.create(state);
      expect(await ws.create(state)).toBe(etag);
      const other: MutationState = { ...state, predicateRepr: "other" };
      expect(isWalAlreadyExists(await errorOf(ws.create(other)))).toBe(true);
    });

    it("an update with the current etag advances the state and the etag", async () => {
      const ws = await store();
      const state = sampleState(13n);
      const e1 = await ws.create(state);
      const e2 = await ws.updateWithEtag(state.walId, e1, { ...state, state: "COMPLETE" });
      expect(e2).not.toBe(e1);
      const read = await ws.read(state.walId);
      expect(read.doc.state).toBe("COMPLETE");
      expect(read.etag).toBe(e2);
    });

    it("an update with a stale etag fails with CasFailed", async () => {
      const ws = await store();
      const state = sampleState(17n);
      const e1 = await ws.create(state);
      await ws.updateWithEtag(state.walId, e1, { ...state, predicateRepr: "first" });
      expect(isCasFailed(await errorOf(ws.updateWithEtag(state.walId, e1, { ...state, state: "COMPLETE" })))).toBe(true);
    });

    it("concurrent updates with one etag have exactly one winner", async () => {
      const ws = await store();
      const state = sampleState(23n);
      const initial = await ws.create(state);
      const N = 12;
      const outcomes = await Promise.allSettled(
        Array.from({ length: N }, (_, i) =>
          ws.updateWithEtag(state.walId, initial, { ...state, predicateRepr: `racer ${i}` }),
        ),
      );
      const ok = outcomes.filter((o) => o.status === "fulfilled").length;
      const casFailed = outcomes.filter((o) => o.status === "rejected" && isCasFailed(o.reason)).length;
      expect(ok).toBe(1);
      expect(casFailed).toBe(N - 1);
    });

    it("an arrow sidecar round-trips with its BLAKE3 verified", async () => {
      const ws = await store();
      const payload = text("hello-payload");
      await ws.putArrow(walId(29n), payload);
      expect(await ws.getArrow(walId(29n), contentHash(payload))).toEqual(payload);
      expect(await ws.getArrow(walId(29n))).toEqual(payload);
    });

    it("re-putting identical arrow bytes is idempotent; other bytes under the same wal id are refused", async () => {
      const ws = await store();
      await ws.putArrow(walId(31n), text("first"));
      await ws.putArrow(walId(31n), text("first"));
      // Deliberate difference from the reference store (which let a second
      // put pass silently): the state doc pins the hash, so replacement bytes
      // could only break a replay.
      expect(isWalAlreadyExists(await errorOf(ws.putArrow(walId(31n), text("second"))))).toBe(true);
      expect(await ws.getArrow(walId(31n))).toEqual(text("first"));
    });

    it("an arrow sidecar whose hash mismatches surfaces a typed HashMismatch", async () => {
      const ws = await store();
      await ws.putArrow(walId(37n), text("actual"));
      const bogus = "00".repeat(32);
      const error = await errorOf(ws.getArrow(walId(37n), bogus));
      expect(isHashMismatch(error)).toBe(true);
      expect(isWalCorrupt(error)).toBe(true);
      expect((error as { key: string }).key).toBe(ws.layout.arrowKey(walId(37n)));
      expect((error as { expected: string }).expected).toBe(bogus);
      expect((error as { actual: string }).actual).toBe(contentHash(text("actual")));
    });

    it("a missing tombstone sidecar reads as null", async () => {
      const ws = await store();
      expect(await ws.getTombstones("00000000-0000-4000-8000-000000000000")).toBeNull();
    });

    it("a tombstone sidecar round-trips through storage with its etag", async () => {
      const ws = await store();
      const id = "cafebabe-dead-4eef-8000-000000000001";
      const etag = await ws.putTombstones(id, null, { positions: [42, 7] });
      const got = await ws.getTombstones(id);
      expect(got?.sidecar.seal).toBeUndefined();
      expect([...(got?.sidecar.positions ?? [])]).toEqual([7, 42]);
      expect(got?.etag).toBe(etag);
    });

    it("a tombstone put with a stale etag fails with CasFailed", async () => {
      const ws = await store();
      const id = "feedface-beef-4afe-8000-000000000002";
      const e1 = await ws.putTombstones(id, null, { positions: [] });
      await ws.putTombstones(id, e1, { positions: [3] });
      expect(isCasFailed(await errorOf(ws.putTombstones(id, e1, { positions: [3, 4] })))).toBe(true);
    });

    it("a create-only tombstone put over an existing sidecar loses with CasFailed", async () => {
      const ws = await store();
      const id = "abcd0000-0000-4000-8000-000000000003";
      await ws.putTombstones(id, null, { positions: [1] });
      expect(isCasFailed(await errorOf(ws.putTombstones(id, null, { positions: [1] })))).toBe(true);
    });

    it("a corrupt or truncated tombstone sidecar surfaces a typed Corrupt error naming it", async () => {
      const ws = await store();
      const id = "dead0000-0000-4000-8000-000000000004";
      const key = ws.layout.tombstonesKey(id);
      await storage.put(key, text("not a valid sidecar"));
      const garbled = await errorOf(ws.getTombstones(id));
      expect(isWalCorrupt(garbled)).toBe(true);
      expect((garbled as { key: string }).key).toBe(key);
      const good = encodeTombstoneSidecar({ positions: [1, 2, 3] });
      await storage.put(key, good.subarray(0, good.length - 3));
      const truncated = await errorOf(ws.getTombstones(id));
      expect(isWalCorrupt(truncated)).toBe(true);
      expect((truncated as { key: string }).key).toBe(key);
    });

    it("deleting a state doc is idempotent", async () => {
      const ws = await store();
      const state = sampleState(41n);
      await ws.create(state);
      await ws.deleteState(state.walId);
      await ws.deleteState(state.walId);
      expect(await ws.tryRead(state.walId)).toBeNull();
    });

    it("deleting an arrow sidecar removes it and is idempotent", async () => {
      const ws = await store();
      await ws.putArrow(walId(43n), text("payload"));
      await ws.deleteArrow(walId(43n));
      expect(isWalNotFound(await errorOf(ws.getArrow(walId(43n))))).toBe(true);
      await ws.deleteArrow(walId(43n));
    });

    it("listWalIds returns only state docs, oldest first, ignoring other files", async () => {
      const ws = await store();
      for (const id of [50n, 10n, 30n]) await ws.create(sampleState(id));
      await ws.putArrow(walId(99n), text("ignored"));
      const prefix = ws.layout.mutationsPrefix;
      await storage.put(`${prefix}README.json`, text("{}"));
      await storage.put(`${prefix}${"A".repeat(32)}.json`, text("{}"));
      await storage.put(`${prefix}${"0".repeat(31)}.json`, text("{}"));
      await storage.put(`${prefix}${"0".repeat(32)}.json.tmp`, text("{}"));
      await storage.put(`${prefix}${"0".repeat(31)}1.txt`, text("{}"));
      const ids = await ws.listWalIds();
      expect(ids).toEqual([walId(10n), walId(30n), walId(50n)]);
    });

    it("listWalIds of an empty store is empty", async () => {
      const ws = await store();
      expect(await ws.listWalIds()).toEqual([]);
    });

    it("listTombstoneIds returns the segments that have sidecars", async () => {
      const ws = await store();
      const a = "11111111-0000-4000-8000-000000000000";
      const b = "22222222-0000-4000-8000-000000000000";
      await ws.putTombstones(a, null, { positions: [] });
      await ws.putTombstones(b, null, { positions: [] });
      await storage.put(`${ws.layout.superfilesPrefix}${a}.rows`, text("segment bytes"));
      expect(await ws.listTombstoneIds()).toEqual([a, b]);
    });

    it("listTombstoneIds of an empty store is empty", async () => {
      const ws = await store();
      expect(await ws.listTombstoneIds()).toEqual([]);
    });

    it("a doc that fails its schema, or names another wal id than its key, reads as a Corrupt error", async () => {
      const ws = await store();
      await storage.put(ws.layout.stateKey(walId(5n)), text('{"schema_version":1,"op_kind":"MERGE"}'));
      expect(isWalCorrupt(await errorOf(ws.read(walId(5n))))).toBe(true);
      const misplaced = new TextDecoder().decode(
        (await (async () => {
          await ws.create(sampleState(6n));
          return storage.get(ws.layout.stateKey(walId(6n)));
        })()).bytes,
      );
      await storage.put(ws.layout.stateKey(walId(8n)), text(misplaced));
      expect(isWalCorrupt(await errorOf(ws.read(walId(8n))))).toBe(true);
    });

    it("a newer schema_version is refused as a Corrupt error", async () => {
      const ws = await store();
      await ws.create(sampleState(12n));
      const raw = JSON.parse(new TextDecoder().decode((await storage.get(ws.layout.stateKey(walId(12n)))).bytes));
      raw.schema_version = 99;
      await storage.put(ws.layout.stateKey(walId(12n)), text(JSON.stringify(raw)));
      expect(isWalCorrupt(await errorOf(ws.read(walId(12n))))).toBe(true);
    });

    it("every key lives under the root prefix, and two roots do not see each other", async () => {
      const a = await store("acme/proj/ns1");
      const b = new WalStore(storage, { root: "/acme/proj/ns2/" });
      await a.create(sampleState(1n));
      await b.create(sampleState(2n));
      expect(await a.listWalIds()).toEqual([walId(1n)]);
      expect(await b.listWalIds()).toEqual([walId(2n)]);
      expect(await listKeys(storage)).toEqual([
        `acme/proj/ns1/wal/mutations/${"0".repeat(31)}1.json`,
        `acme/proj/ns2/wal/mutations/${"0".repeat(31)}2.json`,
      ]);
    });
  });
}

describe("WalStore unknown outcomes", () => {
  it("a state-doc update whose answer was lost after it landed still succeeds", async () => {
    const faulty = new FaultInjectingStorage(new (await import("@skerry/storage-providers")).MemoryStorage());
    const ws = new WalStore(faulty, { runtime: { sleep: async () => {} } });
    const state = sampleState(3n);
    const e1 = await ws.create(state);
    faulty.failNth(1, (c) => c.op === "put", { when: "after" });
    const e2 = await ws.updateWithEtag(state.walId as WalId, e1, { ...state, state: "COMPLETE" });
    expect((await ws.read(state.walId)).etag).toBe(e2);
  });

  it("a create whose answer was lost after it landed still succeeds", async () => {
    const faulty = new FaultInjectingStorage(new (await import("@skerry/storage-providers")).MemoryStorage());
    const ws = new WalStore(faulty, { runtime: { sleep: async () => {} } });
    faulty.failNth(1, (c) => c.op === "put", { when: "after" });
    const etag = await ws.create(sampleState(4n));
    expect((await ws.read(walId(4n))).etag).toBe(etag);
  });
});

describe("WalStore and a provider's own corruption check", () => {
  it("a provider's Corrupt (its checksum failed) surfaces as the one Corrupt code, naming the key", async () => {
    const { CorruptError, MemoryStorage } = await import("@skerry/storage-providers");
    const memory = new MemoryStorage();
    const ws = new WalStore(memory, { runtime: { sleep: async () => {} } });
    const id = "c0c0c0c0-0000-4000-8000-000000000001";
    await ws.putTombstones(id, null, { positions: [1] });
    await ws.create(sampleState(9n));
    const bad = new Set([ws.layout.tombstonesKey(id), ws.layout.stateKey(walId(9n))]);
    // A provider whose own checksum rejects these objects (what LocalFsStorage does on a CRC mismatch).
    const checking: StorageProvider = Object.create(memory, {
      get: {
        value: async (key: string, options?: unknown) => {
          if (bad.has(key)) throw new CorruptError(`object ${key} fails its checksum`, { key });
          return memory.get(key, options as never);
        },
      },
    });
    const reader = new WalStore(checking, { runtime: { sleep: async () => {} } });
    for (const [key, read] of [
      [ws.layout.tombstonesKey(id), () => reader.getTombstones(id)],
      [ws.layout.stateKey(walId(9n)), () => reader.read(walId(9n))],
    ] as const) {
      const error = await errorOf(read());
      expect(isWalCorrupt(error), String(error)).toBe(true);
      expect((error as { key: string }).key).toBe(key);
    }
  });
});
