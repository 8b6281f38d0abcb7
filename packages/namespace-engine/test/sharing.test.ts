/**
 * Branches, copies, namespace deletion with shared objects, manifest
 * retention and GC, repair, and the isolation of `atVersion` reads.
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage } from "@skerry/storage-providers";
import { isNamespaceExists, isNamespaceNotFound, isVersionNotFound, type NamespaceEngineOptions } from "@skerry/namespace-engine";
import { allKeys, errorOf, makeEngine, steppingClock } from "./support/harness.ts";
import { expectCountsNotBelowTruth, expectExactCounts, expectNoMissingObjects } from "./support/references.ts";

const SRC = "acme/search/docs";
const BR = "acme/search/branch";
const SRC_ROOT = "acme/search/ns/docs/";
const BR_ROOT = "acme/search/ns/branch/";

function setup(options: Partial<NamespaceEngineOptions> = {}) {
  const clock = steppingClock();
  const storage = new MemoryStorage({ now: () => clock.now() });
  const engine = makeEngine(storage, { clock, ...options });
  return { clock, storage, engine };
}

async function seed(engine: ReturnType<typeof setup>["engine"]) {
  await engine.createNamespace(SRC, { labels: { team: "search" } });
  await engine.upsert(SRC, [
    { id: "a", vector: [1, 0], attributes: { kind: "keep" } },
    { id: "b", vector: [0, 1], attributes: { kind: "drop" } },
    { id: "c", vector: [1, 1], attributes: { kind: "keep" } },
  ]);
  await engine.upsert(SRC, [{ id: "d", attributes: { kind: "drop" } }]);
}

const ids = async (engine: ReturnType<typeof setup>["engine"], path: string, atVersion?: number) =>
  (await engine.documents(path, atVersion === undefined ? {} : { atVersion })).map((d) => d.id);

describe("branch", () => {
  it("shares the source's immutable objects, counts the extra holder, and copies tombstones as of the branch version", async () => {
    const { storage, engine } = setup();
    await seed(engine);
    await engine.deleteByFilter(SRC, ["kind", "Eq", "drop"]);
    const before = await allKeys(storage, SRC_ROOT);
    const info = await engine.branchNamespace(SRC, BR);
    expect(info).toMatchObject({ docCount: 2, parent: { namespace: SRC }, labels: { team: "search" }, version: 1 });
    expect(await ids(engine, BR)).toEqual(["a", "c"]);
    const manifest = await engine.manifest(BR);
    // Containers stay where the source wrote them; sidecars are the branch's own.
    for (const c of manifest.containers) {
      expect(c.key.startsWith(SRC_ROOT)).toBe(true);
      if (c.tombstonesKey !== undefined) expect(c.tombstonesKey.startsWith(BR_ROOT)).toBe(true);
    }
    // Nothing else is written under the source but its carried batches, stored at their keys to be shared.
    const carried = (await engine.manifest(SRC)).containers.filter((c) => c.carrierVersion !== undefined).map((c) => c.key);
    expect(manifest.containers.every((c) => c.carrierVersion === undefined && c.inline === undefined)).toBe(true);
    expect(await allKeys(storage, SRC_ROOT)).toEqual([...before, ...carried].sort());
    const counts = await engine.refcounts("acme", "search");
    expect(counts.size).toBe(manifest.containers.length);
    for (const c of manifest.containers) expect(counts.get(c.key)).toBe(2);
    await expectExactCounts(engine, "acme", "search");
  });

  it("branches never see each other's later writes, deletions or compactions", async () => {
    const { engine } = setup();
    await seed(engine);
    await engine.branchNamespace(SRC, BR);
    await engine.upsert(SRC, [{ id: "s" }]);
    await engine.deleteByFilter(SRC, ["kind", "Eq", "keep"]);
    await engine.upsert(BR, [{ id: "x" }]);
    await engine.deleteByFilter(BR, ["kind", "Eq", "drop"]);
    await engine.compact(BR, { force: true });
    await engine.compact(SRC, { force: true });
    expect(await ids(engine, SRC)).toEqual(["b", "d", "s"]);
    expect(await ids(engine, BR)).toEqual(["a", "c", "x"]);
    // A fresh engine folds everything from storage and agrees.
    const fresh = makeEngine(engine.storage);
    expect(await ids(fresh, SRC)).toEqual(["b", "d", "s"]);
    expect(await ids(fresh, BR)).toEqual(["a", "c", "x"]);
    await expectCountsNotBelowTruth(fresh, "acme", "search");
  });

  it("branches from a given older version, and refuses an existing target, another project or a missing version", async () => {
    const { engine } = setup();
    await seed(engine);
    const info = await engine.branchNamespace(SRC, BR, { atVersion: 2, labels: { stage: "old" } });
    expect(info).toMatchObject({ parent: { namespace: SRC, version: 2 }, labels: { stage: "old" }, docCount: 3 });
    expect(isNamespaceExists(await errorOf(engine.branchNamespace(SRC, BR)))).toBe(true);
    expect((await errorOf(engine.branchNamespace(SRC, "acme/other/x")) as { code: string }).code).toBe("InvalidArgument");
    expect(isVersionNotFound(await errorOf(engine.branchNamespace(SRC, "acme/search/future", { atVersion: 99 })))).toBe(true);
    expect(isNamespaceNotFound(await errorOf(engine.branchNamespace("acme/search/nope", "acme/search/y")))).toBe(true);
  });
});

describe("copy", () => {
  it("copies every object under the new root (any project), shares nothing, and outlives the source", async () => {
    const { storage, engine } = setup();
    await seed(engine);
    await engine.deleteByFilter(SRC, ["kind", "Eq", "drop"]);
    await engine.compact(SRC, { force: true });
    await engine.upsert(SRC, [{ id: "e" }]);
    const info = await engine.copyNamespace(SRC, "acme/archive/docs");
    expect(info.parent).toBeUndefined();
    expect(info.docCount).toBe(3);
    const manifest = await engine.manifest("acme/archive/docs");
    for (const c of manifest.containers) expect(c.key.startsWith("acme/archive/ns/docs/")).toBe(true);
    expect(manifest.containers.some((c) => typeof c.extra?.["index_key"] === "string" && String(c.extra["index_key"]).startsWith("acme/archive/"))).toBe(true);
    expect(await engine.refcounts("acme", "search")).toEqual(new Map());
    expect(await engine.refcounts("acme", "archive")).toEqual(new Map());
    await engine.deleteNamespace(SRC);
    expect(await allKeys(storage, SRC_ROOT)).toEqual(await allKeys(storage, `${SRC_ROOT}manifests/`));
    expect(await ids(makeEngine(storage), "acme/archive/docs")).toEqual(["a", "c", "e"]);
  });
});

describe("namespace delete with shared objects", () => {
  it("keeps the objects a branch still references, frees the rest, and frees everything once the branch goes too", async () => {
    const { storage, engine } = setup();
    await seed(engine);
    await engine.branchNamespace(SRC, BR);
    await engine.upsert(SRC, [{ id: "after-branch" }]);
    const shared = (await engine.manifest(BR)).containers.map((c) => c.key);
    const result = await engine.deleteNamespace(SRC);
    expect(result.alreadyDeleted).toBe(false);
    for (const key of shared) expect(await storage.head(key), key).not.toBeNull();
    // The source's own later batch is gone; only shared objects and the deleted manifest remain.
    const left = (await allKeys(storage, SRC_ROOT)).filter((k) => !k.startsWith(`${SRC_ROOT}manifests/`));
    expect(left.sort()).toEqual([...shared].sort());
    expect(await ids(makeEngine(storage), BR)).toEqual(["a", "b", "c", "d"]);
    // The deleted source no longer holds anything: the branch is the only holder.
    for (const key of shared) expect((await engine.refcounts("acme", "search")).get(key)).toBe(1);
    await expectCountsNotBelowTruth(engine, "acme", "search");

    await engine.deleteNamespace(BR);
    expect((await allKeys(storage, SRC_ROOT)).filter((k) => !k.includes("/manifests/"))).toEqual([]);
    expect((await allKeys(storage, BR_ROOT)).filter((k) => !k.includes("/manifests/"))).toEqual([]);
    expect(await engine.refcounts("acme", "search")).toEqual(new Map());
  });

  it("re-creating a deleted source's name never touches the objects its branch holds", async () => {
    const { storage, engine } = setup();
    await seed(engine);
    await engine.branchNamespace(SRC, BR);
    await engine.deleteNamespace(SRC);
    await engine.createNamespace(SRC);
    await engine.upsert(SRC, [{ id: "new" }]);
    await engine.deleteNamespace(SRC);
    expect(await ids(makeEngine(storage), BR)).toEqual(["a", "b", "c", "d"]);
    await expectNoMissingObjects(engine, storage, "acme", "search");
  });
});

describe("retention and garbage collection", () => {
  it("expires old versions by policy (VersionNotFound after), never the latest, and compaction frees its inputs", async () => {
    const { storage, engine } = setup({ retention: { keepVersions: 1, keepForMs: 0 } });
    await seed(engine);
    await engine.upsert(SRC, [{ id: "e" }]);
    const inputs = (await engine.manifest(SRC)).containers.map((c) => c.key);
    const report = await engine.compact(SRC, { force: true });
    expect(report.performed).toBe(true);
    expect(report.removedObjects).toBeGreaterThanOrEqual(inputs.length);
    for (const key of inputs) expect(await storage.head(key), key).toBeNull();
    const versions = await engine.listVersions(SRC);
    expect(versions).toEqual([(await engine.manifest(SRC)).version]);
    expect(isVersionNotFound(await errorOf(engine.documents(SRC, { atVersion: 2 })))).toBe(true);
    expect(await ids(makeEngine(storage), SRC)).toEqual(["a", "b", "c", "d", "e"]);
    // Only the compacted segment, its index and the retained manifests are left.
    const left = (await allKeys(storage, SRC_ROOT)).filter((k) => !k.includes("/manifests/") && !k.includes("/compactions/"));
    expect(left.filter((k) => k.endsWith(".log"))).toEqual([]);
  });

  it("keeps versions younger than keepForMs, and a compaction of a branched source frees none of the shared inputs", async () => {
    const { storage, engine } = setup({ retention: { keepVersions: 1, keepForMs: 3_600_000 } });
    await seed(engine);
    expect((await engine.collectGarbage(SRC)).versionsDeleted).toBe(0);
    await engine.branchNamespace(SRC, BR);
    const shared = (await engine.manifest(BR)).containers.map((c) => c.key);
    const gc = await engine.collectGarbage(SRC, { retention: { keepForMs: 0 } });
    expect(gc.versionsDeleted).toBe(2);
    await engine.compact(SRC, { force: true });
    const after = await engine.collectGarbage(SRC, { retention: { keepForMs: 0 } });
    expect(after.versionsDeleted).toBe(1);
    for (const key of shared) expect(await storage.head(key), key).not.toBeNull();
    expect(await ids(makeEngine(storage), BR)).toEqual(["a", "b", "c", "d"]);
    await expectExactCounts(engine, "acme", "search");
  });

  it("a writer whose cached base is older than maxBaseAgeMs re-reads instead of recreating a collected version", async () => {
    let now = Date.parse("2026-06-01T00:00:00Z");
    const clock = { now: () => now };
    const storage = new MemoryStorage({ now: () => now });
    const stale = makeEngine(storage, { clock, maxBaseAgeMs: 1_000 });
    const other = makeEngine(storage, { clock, retention: { keepVersions: 1, keepForMs: 0 } });
    await stale.createNamespace(SRC);
    await stale.upsert(SRC, [{ id: "a" }]); // stale caches version 2
    for (let i = 0; i < 5; i++) {
      now += 10;
      await other.upsert(SRC, [{ id: `o${i}` }]);
    }
    now += 10;
    await other.collectGarbage(SRC);
    expect(await other.listVersions(SRC)).toEqual([7]);
    now += 5_000;
    const result = await stale.upsert(SRC, [{ id: "late" }]);
    expect(result.version).toBe(8);
    expect(await ids(makeEngine(storage), SRC)).toEqual(["a", "late", "o0", "o1", "o2", "o3", "o4"]);
  });
});

describe("atVersion isolation", () => {
  it("a read at an older version never sees tombstones published after it, even folding from scratch", async () => {
    const { storage, engine } = setup();
    await seed(engine);
    const before = (await engine.manifest(SRC)).version;
    const result = await engine.deleteByFilter(SRC, ["kind", "Eq", "drop"]);
    expect(result.deleted).toBe(2);
    const fresh = makeEngine(storage);
    expect(await ids(fresh, SRC, before)).toEqual(["a", "b", "c", "d"]);
    expect(await ids(fresh, SRC)).toEqual(["a", "c"]);
    // Every version between sees either none or all of the mutation's tombstones.
    for (const version of await fresh.listVersions(SRC)) {
      if (version <= before) continue;
      expect([["a", "b", "c", "d"], ["a", "c"]]).toContainEqual(await ids(makeEngine(storage), SRC, version));
    }
  });
});

describe("repair", () => {
  it("restores exact counts from the manifests after shards are lost or inflated, and sweeps only old unreferenced objects", async () => {
    const { clock, storage, engine } = setup();
    await seed(engine);
    await engine.branchNamespace(SRC, BR);
    await engine.branchNamespace(BR, "acme/search/grandchild");
    await engine.upsert(BR, [{ id: "z" }]);
    const exact = await engine.refcounts("acme", "search");
    // Lose every shard: counts fall below the truth.
    for (const key of await allKeys(storage, "acme/search/_project/refcounts/")) await storage.delete(key);
    // A leaked batch (a crashed write): younger than the grace period, so not swept yet.
    await storage.put(`${SRC_ROOT}log/00000000-0000-4000-8000-000000000001.log`, new Uint8Array([1]));
    const report = await engine.repair("acme", "search", { sweep: true });
    expect(report).toMatchObject({ live: 3, swept: 0 });
    expect(await storage.head(`${SRC_ROOT}log/00000000-0000-4000-8000-000000000001.log`)).not.toBeNull();
    expect(await engine.refcounts("acme", "search")).toEqual(exact);
    await expectExactCounts(engine, "acme", "search");

    const later = makeEngine(storage, { clock: steppingClock(clock.now() + 2 * 24 * 3600 * 1000) });
    const swept = await later.repair("acme", "search", { sweep: true, graceMs: 24 * 3600 * 1000 });
    expect(swept.swept).toBe(1);
    expect(await storage.head(`${SRC_ROOT}log/00000000-0000-4000-8000-000000000001.log`)).toBeNull();
    await expectNoMissingObjects(later, storage, "acme", "search");
    await expectExactCounts(later, "acme", "search");
    expect(await ids(later, "acme/search/grandchild")).toEqual(["a", "b", "c", "d"]);
  });
});
