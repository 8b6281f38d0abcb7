/**
 * deleteByFilter / patchByFilter: results, visibility, conflict rules with
 * concurrent writes, ifVersion, and recovery of an interrupted mutation.
 */
import { describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { isVersionConflict, type NamespaceEngine } from "@skerry/namespace-engine";
import { errorOf, laterEngine, makeEngine, memoryEngine } from "./support/harness.ts";

const NS = "acme/search/docs";

async function seeded(engine: NamespaceEngine): Promise<void> {
  await engine.createNamespace(NS);
  await engine.upsert(NS, [
    { id: "a", vector: [1, 0], attributes: { status: "stale", n: 1 } },
    { id: "b", vector: [0, 1], attributes: { status: "fresh", n: 2 } },
  ]);
  await engine.upsert(NS, [
    { id: "c", vector: [1, 1], attributes: { status: "stale", n: 3 } },
    { id: "d", attributes: { status: "stale", n: 4 } },
  ]);
}

const ids = async (engine: NamespaceEngine) => (await engine.documents(NS)).map((d) => d.id);

describe("deleteByFilter", () => {
  it("deletes exactly the matching documents, visibly at once, and counts them", async () => {
    const { engine } = memoryEngine();
    await seeded(engine);
    const result = await engine.deleteByFilter(NS, ["status", "Eq", "stale"]);
    expect(result).toMatchObject({ matched: 3, deleted: 3, deletedIds: ["a", "c", "d"], skipped: 0, remaining: false });
    expect(await ids(engine)).toEqual(["b"]);
    expect((await engine.getNamespace(NS)).version).toBe(result.version);
    // Another engine (cold state) sees the same.
    const other = makeEngine(engine.storage);
    expect(await ids(other)).toEqual(["b"]);
  });

  it("never returns a deleted document, and a later upsert of the id brings it back", async () => {
    const { engine } = memoryEngine();
    await seeded(engine);
    await engine.deleteByFilter(NS, ["n", "Lte", 1]);
    expect(await engine.get(NS, ["a"])).toEqual([null]);
    await engine.upsert(NS, [{ id: "b", attributes: { status: "fresh", n: 5 } }]);
    expect(await engine.get(NS, ["a"])).toEqual([null]);
    await engine.upsert(NS, [{ id: "a", attributes: { back: true } }]);
    expect(await engine.get(NS, ["a"])).toEqual([{ id: "a", attributes: { back: true } }]);
  });

  it("matches nothing: no WAL, the snapshot's version", async () => {
    const { engine } = memoryEngine();
    await seeded(engine);
    const before = (await engine.getNamespace(NS)).version;
    expect(await engine.deleteByFilter(NS, ["status", "Eq", "none"])).toEqual({ matched: 0, deleted: 0, deletedIds: [], skipped: 0, remaining: false, version: before });
  });

  it("fails with VersionConflict when ifVersion is not the snapshot's version", async () => {
    const { engine } = memoryEngine();
    await seeded(engine);
    const version = (await engine.getNamespace(NS)).version;
    const error = await errorOf(engine.deleteByFilter(NS, ["status", "Eq", "stale"], { ifVersion: version - 1 }));
    expect(isVersionConflict(error) && error.actual === version).toBe(true);
    expect(await ids(engine)).toEqual(["a", "b", "c", "d"]);
    expect((await engine.deleteByFilter(NS, ["status", "Eq", "stale"], { ifVersion: version })).deleted).toBe(3);
  });
});

describe("patchByFilter", () => {
  it("patches exactly the matching documents, returns the latest version only, and counts them", async () => {
    const { engine } = memoryEngine();
    await seeded(engine);
    const result = await engine.patchByFilter(NS, ["status", "Eq", "stale"], { attributes: { status: "checked", n: null, extra: 1 } });
    expect(result).toMatchObject({ matched: 3, patched: 3, patchedIds: ["a", "c", "d"], skipped: 0, remaining: false });
    const docs = await engine.documents(NS);
    expect(docs.map((d) => [d.id, d.attributes])).toEqual([
      ["a", { status: "checked", extra: 1 }],
      ["b", { status: "fresh", n: 2 }],
      ["c", { status: "checked", extra: 1 }],
      ["d", { status: "checked", extra: 1 }],
    ]);
    expect(Array.from(docs[0]?.vector ?? [])).toEqual([1, 0]);
    expect(await makeEngine(engine.storage).documents(NS)).toEqual(docs);
    // The old rows are tombstoned: a refold from scratch at the latest version agrees.
    const manifest = await engine.manifest(NS);
    expect(manifest.containers.filter((c) => c.tombstonesKey !== undefined).length).toBeGreaterThanOrEqual(2);
    // A later write of a patched doc wins over it.
    await engine.patch(NS, [{ id: "a", attributes: { extra: 2 } }]);
    expect((await engine.get(NS, ["a"]))[0]?.attributes).toEqual({ status: "checked", extra: 2 });
  });

  it("rejects a patch with the wrong vector dimension before writing anything", async () => {
    const { engine } = memoryEngine();
    await seeded(engine);
    const version = (await engine.getNamespace(NS)).version;
    await expect(engine.patchByFilter(NS, ["id", "Eq", "a"], { vector: [1, 2, 3] })).rejects.toMatchObject({ code: "InvalidArgument" });
    expect((await engine.getNamespace(NS)).version).toBe(version);
  });
});

describe("target limits and partial mutations", () => {
  it("refuses a filter matching more than maxTargets, changing nothing", async () => {
    const { engine } = memoryEngine();
    await seeded(engine);
    const version = (await engine.getNamespace(NS)).version;
    const error = await errorOf(engine.deleteByFilter(NS, ["status", "Eq", "stale"], { maxTargets: 2 }));
    expect(error).toMatchObject({ code: "InvalidArgument", message: expect.stringMatching(/matches 3 documents; at most 2/) });
    await expect(engine.patchByFilter(NS, ["status", "Eq", "stale"], { attributes: { x: 1 } }, { maxTargets: 2 })).rejects.toMatchObject({ code: "InvalidArgument" });
    expect((await engine.getNamespace(NS)).version).toBe(version);
    expect(await ids(engine)).toEqual(["a", "b", "c", "d"]);
    // Exactly at the limit: applied whole.
    expect(await engine.deleteByFilter(NS, ["status", "Eq", "stale"], { maxTargets: 3 })).toMatchObject({ deleted: 3, remaining: false });
  });

  it("with allowPartial deletes the first maxTargets matches in id order and reports the rest remaining, until none remain", async () => {
    const { engine } = memoryEngine();
    await seeded(engine);
    const first = await engine.deleteByFilter(NS, ["status", "Eq", "stale"], { maxTargets: 2, allowPartial: true });
    expect(first).toMatchObject({ matched: 2, deleted: 2, deletedIds: ["a", "c"], remaining: true });
    expect(await ids(engine)).toEqual(["b", "d"]);
    const second = await engine.deleteByFilter(NS, ["status", "Eq", "stale"], { maxTargets: 2, allowPartial: true });
    expect(second).toMatchObject({ matched: 1, deleted: 1, deletedIds: ["d"], remaining: false });
    const none = await engine.deleteByFilter(NS, ["status", "Eq", "stale"], { maxTargets: 2, allowPartial: true });
    expect(none).toMatchObject({ matched: 0, deleted: 0, deletedIds: [], remaining: false });
    expect(await ids(engine)).toEqual(["b"]);
  });

  it("with allowPartial patches the first maxTargets matches; a filter the patch falsifies drains in rounds", async () => {
    const { engine } = memoryEngine();
    await seeded(engine);
    const first = await engine.patchByFilter(NS, ["status", "Eq", "stale"], { attributes: { status: "done" } }, { maxTargets: 2, allowPartial: true });
    expect(first).toMatchObject({ matched: 2, patched: 2, patchedIds: ["a", "c"], remaining: true });
    expect((await engine.get(NS, ["d"]))[0]?.attributes).toEqual({ status: "stale", n: 4 });
    const second = await engine.patchByFilter(NS, ["status", "Eq", "stale"], { attributes: { status: "done" } }, { maxTargets: 2, allowPartial: true });
    expect(second).toMatchObject({ matched: 1, patched: 1, patchedIds: ["d"], remaining: false });
    const docs = await engine.documents(NS);
    expect(docs.map((d) => [d.id, d.attributes?.["status"]])).toEqual([
      ["a", "done"],
      ["b", "fresh"],
      ["c", "done"],
      ["d", "done"],
    ]);
  });

  it("bounds maxTargets by the engine's maxMutationTargets and refuses a non-positive one", async () => {
    const { engine } = memoryEngine({ maxMutationTargets: 1 });
    await seeded(engine);
    expect(await engine.deleteByFilter(NS, ["status", "Eq", "stale"], { maxTargets: 50, allowPartial: true })).toMatchObject({ deletedIds: ["a"], remaining: true });
    await expect(engine.deleteByFilter(NS, ["status", "Eq", "stale"], { maxTargets: 0 })).rejects.toMatchObject({ code: "InvalidArgument" });
    await expect(engine.deleteByFilter(NS, ["status", "Eq", "stale"], { maxTargets: 1.5 })).rejects.toMatchObject({ code: "InvalidArgument" });
  });
});

describe("conflict rules with concurrent writes", () => {
  /** Runs `during` right after the mutation's INTENT doc is written (after its snapshot). */
  function interceptIntent(storage: MemoryStorage, during: () => Promise<void>) {
    const faulty = new FaultInjectingStorage(storage);
    let fired = false;
    const wrapped = new Proxy(faulty, {
      get(target, prop, receiver) {
        if (prop === "put") {
          return async (key: string, bytes: Uint8Array, options?: unknown) => {
            const result = await target.put(key, bytes, options as never);
            if (!fired && key.includes("/wal/mutations/") && key.endsWith(".json")) {
              fired = true;
              await during();
            }
            return result;
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return wrapped;
  }

  it("an upsert of a targeted id after the snapshot wins over deleteByFilter", async () => {
    const storage = new MemoryStorage();
    await seeded(makeEngine(storage));
    const writer = makeEngine(storage);
    const engine = makeEngine(interceptIntent(storage, async () => void (await writer.upsert(NS, [{ id: "a", attributes: { status: "new" } }]))));
    const result = await engine.deleteByFilter(NS, ["status", "Eq", "stale"]);
    expect(result).toMatchObject({ matched: 3, deleted: 2, deletedIds: ["c", "d"], skipped: 1 });
    expect(await ids(engine)).toEqual(["a", "b"]);
    expect((await engine.get(NS, ["a"]))[0]?.attributes).toEqual({ status: "new" });
  });

  it("an upsert or delete of a targeted id after the snapshot wins over patchByFilter (its row is masked)", async () => {
    const storage = new MemoryStorage();
    await seeded(makeEngine(storage));
    const writer = makeEngine(storage);
    const engine = makeEngine(
      interceptIntent(storage, async () => {
        await writer.upsert(NS, [{ id: "a", attributes: { status: "new" } }]);
        await writer.delete(NS, ["c"]);
      }),
    );
    const result = await engine.patchByFilter(NS, ["status", "Eq", "stale"], { attributes: { status: "patched" } });
    expect(result).toMatchObject({ matched: 3, patched: 1, patchedIds: ["d"], skipped: 2 });
    const docs = await makeEngine(storage).documents(NS);
    expect(docs.map((d) => [d.id, d.attributes?.["status"]])).toEqual([
      ["a", "new"],
      ["b", "fresh"],
      ["d", "patched"],
    ]);
  });

  it("a concurrent deleteByFilter of a targeted document makes it NOT_FOUND for the other", async () => {
    const storage = new MemoryStorage();
    await seeded(makeEngine(storage));
    const other = makeEngine(storage);
    const engine = makeEngine(interceptIntent(storage, async () => void (await other.deleteByFilter(NS, ["id", "In", ["a", "c"]]))));
    const result = await engine.deleteByFilter(NS, ["status", "Eq", "stale"]);
    // a and c were tombstoned by the other mutation: replaying their bits is a no-op either way.
    expect(result.matched).toBe(3);
    expect(result.deleted + result.skipped).toBe(3);
    expect(result.deletedIds).toHaveLength(result.deleted);
    expect(result.deletedIds).toContain("d");
    expect(await ids(makeEngine(storage))).toEqual(["b"]);
  });
});

describe("recovery of predicate mutations", () => {
  it("a fresh engine finishes an interrupted deleteByFilter when it opens the namespace", async () => {
    const storage = new MemoryStorage();
    await seeded(makeEngine(storage));
    const faulty = new FaultInjectingStorage(storage);
    // Die right after the INTENT doc is written.
    faulty.failWhen((call) => call.op === "put" && call.key.includes("/wal/mutations/") && call.key.endsWith(".json"), { when: "after", crash: true });
    const crashed = makeEngine(faulty, { leaseMs: 1 });
    await expect(crashed.deleteByFilter(NS, ["status", "Eq", "stale"])).rejects.toBeDefined();
    expect(await ids(makeEngine(storage))).toEqual(["a", "b", "c", "d"]);
    const fresh = laterEngine(storage);
    // Opening the namespace (any predicate mutation does) finishes it first.
    await fresh.openNamespace(NS);
    expect(await ids(fresh)).toEqual(["b"]);
    const report = await fresh.recover(NS);
    expect(report.wal).toMatchObject({ scanned: 1, alreadyComplete: 1 });
  });
});
