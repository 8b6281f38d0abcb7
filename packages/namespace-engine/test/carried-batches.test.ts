/**
 * Carried write batches (the default): a batch rides in the manifest that
 * commits it, so a commit is one create; later versions keep the ref without
 * the bytes; manifest GC moves a batch a retained version still needs to its
 * key before deleting its carrier; branches and copies store carried batches
 * as objects. A batch over `maxBatchBytes` is stored first (two creates).
 * (test/stored-batch-suites.test.ts re-runs the crash and mutation suites
 * with every batch stored.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { decodeManifest, encodeManifest, type Manifest } from "@skerry/wal-format";
import { isCorrupt, manifestKey, namespacePath } from "@skerry/namespace-engine";
import { allKeys, errorOf, makeEngine, steppingClock, vec } from "./support/harness.ts";
import { expectExactCounts, expectNoMissingObjects } from "./support/references.ts";

const NS = "acme/search/docs";
const PATH = namespacePath("acme", "search", "docs");
const ROOT = "acme/search/ns/docs/";

const small = (i: number) => [{ id: `d${i}`, vector: vec(i, 1), attributes: { i } }];
const holding = (m: Manifest) => m.containers.filter((c) => c.inline !== undefined);

async function setup() {
  const clock = steppingClock();
  const inner = new MemoryStorage({ now: () => clock.now() });
  await makeEngine(inner, { clock }).createNamespace(NS);
  const faulty = new FaultInjectingStorage(inner);
  const engine = makeEngine(faulty, { clock });
  await engine.manifest(NS);
  return { inner, faulty, engine, clock };
}

describe("carried write batches", () => {
  it("commits a write with one create (its manifest), which alone holds the batch's bytes", async () => {
    const { inner, faulty, engine } = await setup();
    const mark = faulty.callCount;
    const first = await engine.upsert(NS, small(1));
    const puts = faulty.calls.filter((c) => c.seq > mark && c.op === "put");
    expect(puts.map((c) => c.key)).toEqual([manifestKey(PATH, first.version)]);
    expect(engine.stats()).toMatchObject({ commits: 1, carriedBatches: 1, batchObjects: 0 });
    const second = await engine.upsert(NS, small(2));
    // Each version holds only its own batch; the earlier one names its carrier.
    const manifest = decodeManifest((await inner.get(manifestKey(PATH, second.version))).bytes);
    expect(manifest.containers.map((c) => [c.carrierVersion, c.inline !== undefined])).toEqual([
      [first.version, false],
      [second.version, true],
    ]);
    expect(holding(manifest)[0]?.inline?.length).toBe(manifest.containers[1]?.byteSize);
    expect(await allKeys(inner, `${ROOT}log/`)).toEqual([]); // nothing stored at the batches' keys
    const fresh = makeEngine(inner);
    expect((await fresh.documents(NS)).map((d) => d.id)).toEqual(["d1", "d2"]);
    expect((await fresh.get(NS, ["d1"], { atVersion: first.version }))[0]).toMatchObject({ id: "d1", attributes: { i: 1 } });
  });

  it("stores a batch over maxBatchBytes as its object first (two creates); 0 stores every batch", async () => {
    const { inner, faulty } = await setup();
    const engine = makeEngine(faulty, { carriedBatches: { maxBatchBytes: 4096 } });
    const mark = faulty.callCount;
    await engine.upsert(NS, [{ id: "big", text: { body: "x".repeat(5000) } }]);
    const puts = faulty.calls.filter((c) => c.seq > mark && c.op === "put").map((c) => c.key);
    const manifest = await engine.manifest(NS);
    const ref = manifest.containers[0]!;
    expect(puts).toEqual([ref.key, manifestKey(PATH, manifest.version)]);
    expect(ref.carrierVersion).toBeUndefined();
    expect(ref.inline).toBeUndefined();
    await engine.upsert(NS, small(1));
    expect((await engine.manifest(NS)).containers[1]?.carrierVersion).toBeDefined();
    const never = makeEngine(inner, { carriedBatches: { maxBatchBytes: 0 } });
    await never.upsert(NS, small(2));
    expect((await never.manifest(NS)).containers[2]?.carrierVersion).toBeUndefined();
    expect((await makeEngine(inner).documents(NS)).map((d) => d.id)).toEqual(["big", "d1", "d2"]);
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => makeEngine(inner, { carriedBatches: { maxBatchBytes: bad } })).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    }
  });

  it("moves a batch a retained version still needs to its key before GC deletes its carrier", async () => {
    const { inner, engine } = await setup();
    for (let i = 0; i < 6; i++) await engine.upsert(NS, small(i));
    await engine.deleteByFilter(NS, ["i", "Eq", 3]);
    const expected = await engine.documents(NS);
    const latest = await engine.manifest(NS);
    const report = await engine.collectGarbage(NS, { retention: { keepVersions: 2, keepForMs: 0 } });
    expect(report.versionsDeleted).toBe(latest.version - 2);
    // Batches whose carriers expired (below the oldest retained version) are objects at their keys now.
    const stored = latest.containers.filter((c) => c.carrierVersion !== undefined && c.carrierVersion < latest.version - 1);
    expect(stored.length).toBeGreaterThan(3);
    expect(await allKeys(inner, `${ROOT}log/`)).toEqual(stored.map((c) => c.key).sort());
    const fresh = makeEngine(inner);
    expect(await fresh.documents(NS)).toEqual(expected);
    expect(await fresh.documents(NS, { atVersion: latest.version - 1 })).toHaveLength(6);
    await expectNoMissingObjects(fresh, inner, "acme", "search");
    // Once compaction folds them away and their last version expires, the stored batches are deleted.
    await engine.compact(NS, { force: true });
    await engine.collectGarbage(NS, { retention: { keepVersions: 1, keepForMs: 0 } });
    expect(await allKeys(inner, `${ROOT}log/`)).toEqual([]);
    expect(await makeEngine(inner).documents(NS)).toEqual(expected);
  });

  it("folds carried batches with tombstones, compacts them away, and persists their state", async () => {
    const { inner, engine } = await setup();
    for (let i = 0; i < 6; i++) await engine.upsert(NS, small(i));
    await engine.patch(NS, [{ id: "d1", attributes: { i: 100 } }]);
    await engine.delete(NS, ["d2"]);
    await engine.deleteByFilter(NS, ["i", "Eq", 3]);
    const before = await engine.documents(NS);
    expect(before.map((d) => d.id)).toEqual(["d0", "d1", "d4", "d5"]);
    const withTombstones = await engine.manifest(NS);
    expect(withTombstones.containers.every((c) => c.carrierVersion !== undefined)).toBe(true);
    expect(withTombstones.containers.some((c) => c.tombstonesKey !== undefined)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), "skerry-carried-state-"));
    try {
      const first = makeEngine(inner, { stateDir: dir });
      await first.warm(NS);
      await first.close(); // the snapshot is written in the background; close waits for it
      const restarted = makeEngine(inner, { stateDir: dir });
      await restarted.warm(NS);
      expect(restarted.stats().statePersistence?.restored).toBe(1);
      expect(await restarted.documents(NS)).toEqual(before);
      await restarted.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await engine.compact(NS, { force: true });
    const compacted = await engine.manifest(NS);
    expect(compacted.containers.map((c) => c.kind)).toEqual(["SEGMENT"]);
    expect(await makeEngine(inner).documents(NS)).toEqual(before);
    expect(await makeEngine(inner).documents(NS, { atVersion: withTombstones.version })).toEqual(before);
  });

  it("branches share carried batches as objects stored under the source; copies store them under the target", async () => {
    const { inner, engine } = await setup();
    for (let i = 0; i < 4; i++) await engine.upsert(NS, small(i));
    await engine.deleteByFilter(NS, ["i", "Eq", 0]);
    const expected = await engine.documents(NS);
    const source = await engine.manifest(NS);
    await engine.branchNamespace(NS, "acme/search/branch");
    await engine.copyNamespace(NS, "acme/archive/copy");
    const branch = await engine.manifest("acme/search/branch");
    expect(branch.containers.map((c) => c.key)).toEqual(source.containers.map((c) => c.key));
    expect(branch.containers.every((c) => c.carrierVersion === undefined && c.inline === undefined)).toBe(true);
    for (const c of branch.containers) expect(await inner.head(c.key), c.key).not.toBeNull();
    const copy = await engine.manifest("acme/archive/copy");
    expect(copy.containers.every((c) => c.carrierVersion === undefined && c.key.startsWith("acme/archive/ns/copy/log/"))).toBe(true);
    for (const c of copy.containers) expect(await inner.head(c.key), c.key).not.toBeNull();
    const counts = await engine.refcounts("acme", "search");
    for (const c of branch.containers) expect(counts.get(c.key)).toBe(2);
    await expectExactCounts(engine, "acme", "search");
    await engine.upsert("acme/search/branch", small(9));
    await engine.deleteNamespace(NS); // the source's carriers go; the branch's objects stay held
    const fresh = makeEngine(inner);
    expect((await fresh.documents("acme/search/branch")).map((d) => d.id)).toEqual([...expected.map((d) => d.id), "d9"]);
    expect(await fresh.documents("acme/archive/copy")).toEqual(expected);
    await fresh.repair("acme", "search", { sweep: true, graceMs: 0 });
    await expectExactCounts(fresh, "acme", "search");
    await expectNoMissingObjects(fresh, inner, "acme", "search");
    expect(await fresh.documents("acme/search/branch")).toHaveLength(expected.length + 1);
  });

  it("detects a carrier that does not hold the batch, and a batch found nowhere", async () => {
    const { inner, engine } = await setup();
    const first = await engine.upsert(NS, small(1));
    await engine.upsert(NS, small(2));
    // Rewrite the carrier of d1 without its batch (damage): the reader must not fold it silently.
    const carrierKey = manifestKey(PATH, first.version);
    const carrier = decodeManifest((await inner.get(carrierKey)).bytes);
    await inner.put(carrierKey, encodeManifest({ ...carrier, containers: [] }));
    const error = await errorOf(makeEngine(inner).documents(NS));
    expect(isCorrupt(error)).toBe(true);
    expect(String((error as Error).message)).toContain("does not carry");
    // Carrier gone and nothing stored at the key: missing.
    await inner.delete(carrierKey);
    const missing = await errorOf(makeEngine(inner).documents(NS));
    expect(isCorrupt(missing)).toBe(true);
    expect(String((missing as Error).message)).toContain("missing");
  });
});
