/**
 * Inline write batches: a small batch rides in its manifest (one create per
 * commit); past the per-batch size or the manifest's cap it is stored as an
 * object (two creates, as without inlining); a rebase onto a fuller manifest
 * spills the batch. Inline containers fold, compact, branch, copy, persist
 * and take tombstones like stored ones, and reference no object.
 * (test/inline-suites.test.ts re-runs the crash and mutation suites with
 * inline batches on.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import type { Manifest } from "@skerry/wal-format";
import { allKeys, makeEngine, vec } from "./support/harness.ts";

const NS = "acme/search/docs";
const ROOT = "acme/search/ns/docs/";
const INLINE = { maxBatchBytes: 4096, maxTotalBytes: 10_000 };

const inlineBytes = (m: Manifest) => m.containers.reduce((sum, c) => sum + (c.inline?.length ?? 0), 0);
const small = (i: number) => [{ id: `d${i}`, vector: vec(i, 1), attributes: { i } }];

async function setup() {
  const inner = new MemoryStorage();
  await makeEngine(inner).createNamespace(NS);
  const faulty = new FaultInjectingStorage(inner);
  const engine = makeEngine(faulty, { inlineBatches: INLINE });
  await engine.manifest(NS);
  return { inner, faulty, engine };
}

describe("inline write batches", () => {
  it("commits a small write with one create (the manifest), readable by a fresh process", async () => {
    const { inner, faulty, engine } = await setup();
    const mark = faulty.callCount;
    const result = await engine.upsert(NS, small(1));
    const puts = faulty.calls.filter((c) => c.seq > mark && c.op === "put");
    expect(puts.map((c) => c.key.includes("/manifests/"))).toEqual([true]);
    expect(engine.stats()).toMatchObject({ commits: 1, inlineBatches: 1, batchObjects: 0 });
    const manifest = await engine.manifest(NS);
    const ref = manifest.containers[0]!;
    expect(ref.inline?.length).toBe(ref.byteSize);
    expect(await inner.head(ref.key)).toBeNull(); // nothing stored at an inline batch's key
    expect((await allKeys(inner, `${ROOT}log/`)).length).toBe(0);
    const fresh = makeEngine(inner);
    expect((await fresh.get(NS, ["d1"], { atVersion: result.version }))[0]).toMatchObject({ id: "d1", attributes: { i: 1 } });
  });

  it("stores a batch over maxBatchBytes, and the batch that would pass the manifest's cap (earlier inline batches stay)", async () => {
    const { inner, engine } = await setup();
    await engine.upsert(NS, [{ id: "big", text: { body: "x".repeat(5000) } }]);
    let manifest = await engine.manifest(NS);
    expect(manifest.containers[0]!.inline).toBeUndefined();
    expect(await inner.head(manifest.containers[0]!.key)).not.toBeNull();
    for (let i = 0; i < 120; i++) {
      await engine.upsert(NS, small(i));
      manifest = await engine.manifest(NS, { consistency: "eventual" });
      expect(inlineBytes(manifest)).toBeLessThanOrEqual(INLINE.maxTotalBytes);
    }
    const inline = manifest.containers.filter((c) => c.inline !== undefined);
    const stored = manifest.containers.filter((c) => c.inline === undefined);
    expect(inline.length).toBeGreaterThan(10);
    expect(stored.length).toBeGreaterThan(10); // spilled once the cap was reached
    for (const c of stored) expect(await inner.head(c.key), c.key).not.toBeNull();
    expect(await makeEngine(inner).documents(NS)).toHaveLength(121);
  });

  it("spills a batch to its object when a rebase lands on a manifest without room", async () => {
    const inner = new MemoryStorage();
    await makeEngine(inner).createNamespace(NS);
    const options = { inlineBatches: { maxBatchBytes: 4096, maxTotalBytes: 300 } };
    const a = makeEngine(inner, options);
    const b = makeEngine(inner, options);
    await b.manifest(NS); // b's cached base: version 1, empty
    await a.upsert(NS, small(1)); // version 2, inline (fills most of the cap)
    // Built inline on version 1 (fits alone), loses the race, rebases onto 2: both would pass the cap.
    const result = await b.upsert(NS, [{ id: "d2", text: { body: "y".repeat(150) } }]);
    expect(result.version).toBe(3);
    expect(b.stats()).toMatchObject({ racesLost: 1, batchObjects: 1, inlineBatches: 0 });
    const manifest = await b.manifest(NS);
    expect(manifest.containers.map((c) => c.inline !== undefined)).toEqual([true, false]);
    const [first, second] = manifest.containers;
    expect(second!.byteSize).toBeLessThanOrEqual(300);
    expect(first!.byteSize + second!.byteSize).toBeGreaterThan(300);
    expect(await inner.head(manifest.containers[1]!.key)).not.toBeNull();
    expect((await makeEngine(inner).documents(NS)).map((d) => d.id)).toEqual(["d1", "d2"]);
  });

  it("folds inline batches with tombstones, compacts them away, and persists their state", async () => {
    const { inner, engine } = await setup();
    for (let i = 0; i < 6; i++) await engine.upsert(NS, small(i));
    await engine.patch(NS, [{ id: "d1", attributes: { i: 100 } }]);
    await engine.delete(NS, ["d2"]);
    await engine.deleteByFilter(NS, ["i", "Eq", 3]);
    const before = await engine.documents(NS);
    expect(before.map((d) => d.id)).toEqual(["d0", "d1", "d4", "d5"]);
    const withTombstones = await engine.manifest(NS);
    expect(withTombstones.containers.every((c) => c.inline !== undefined)).toBe(true);
    expect(withTombstones.containers.some((c) => c.tombstonesKey !== undefined)).toBe(true);
    // State persistence: a restarted engine restores from its file and reads the same.
    const dir = await mkdtemp(join(tmpdir(), "skerry-inline-state-"));
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

  it("branches and copies carry inline batches in the manifest: no refcount entry, independent of the source", async () => {
    const { inner, engine } = await setup();
    for (let i = 0; i < 4; i++) await engine.upsert(NS, small(i));
    await engine.deleteByFilter(NS, ["i", "Eq", 0]);
    const expected = await engine.documents(NS);
    await engine.branchNamespace(NS, "acme/search/branch");
    await engine.copyNamespace(NS, "acme/archive/copy");
    expect(await engine.refcounts("acme", "search")).toEqual(new Map()); // nothing shared: no object to count
    const branch = await engine.manifest("acme/search/branch");
    expect(branch.containers.every((c) => c.inline !== undefined)).toBe(true);
    const copy = await engine.manifest("acme/archive/copy");
    expect(copy.containers.every((c) => c.inline !== undefined && c.key.startsWith("acme/archive/ns/copy/"))).toBe(true);
    await engine.upsert("acme/search/branch", small(9));
    await engine.deleteNamespace(NS);
    const fresh = makeEngine(inner);
    expect(await fresh.documents("acme/search/branch")).toEqual([...expected, ...(await fresh.get("acme/search/branch", ["d9"])).map((d) => d!)]);
    expect(await fresh.documents("acme/archive/copy")).toEqual(expected);
    const report = await fresh.repair("acme", "search", { sweep: true, graceMs: 0 });
    expect(report).toMatchObject({ entriesChanged: 0 });
    expect(await fresh.documents("acme/search/branch")).toHaveLength(expected.length + 1);
  });
});
