import { describe, expect, it } from "vitest";
import { FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";
import { isInvalidArgument, isVersionConflict } from "@skerry/namespace-engine";
import { makeEngine, vec } from "./support/harness.ts";

const NS = "acme/search/docs";

async function setup(options: Parameters<typeof makeEngine>[1] = {}) {
  const inner = new MemoryStorage();
  await makeEngine(inner).createNamespace(NS);
  const faulty = new FaultInjectingStorage(inner);
  const engine = makeEngine(faulty, options);
  await engine.manifest(NS); // warm the manifest cache so only the commit's calls are counted
  const mark = faulty.callCount;
  const puts = () => faulty.calls.filter((c) => c.seq > mark && c.op === "put");
  return { inner, faulty, engine, puts };
}

describe.each([
  { mode: "carried", carriedBatches: true, batchObjects: 0 },
  { mode: "stored", carriedBatches: false, batchObjects: 1 },
])("group commit, $mode batches: counted storage writes", ({ carriedBatches, batchObjects }) => {
  it("coalesces N concurrent upserts into one batch and one manifest commit, each caller getting its own result", async () => {
    const { engine, puts } = await setup({ carriedBatches });
    const n = 50;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => engine.upsert(NS, [{ id: `d${i}`, vector: vec(i, 1) }])));
    const writes = puts();
    // A carried batch rides in the manifest: the commit is its one write.
    expect(writes.filter((c) => c.key.includes("/log/"))).toHaveLength(batchObjects);
    expect(writes.filter((c) => c.key.includes("/manifests/"))).toHaveLength(1);
    expect(writes).toHaveLength(1 + batchObjects);
    expect(results.every((r) => r.version === 2 && r.count === 1 && !r.deduplicated)).toBe(true);
    expect(await engine.documents(NS)).toHaveLength(n);
    expect(engine.stats()).toMatchObject({ commits: 1, batchObjects, carriedBatches: 1 - batchObjects, writesCommitted: n });
  });

  it("commits every write alone when group commit is disabled", async () => {
    const { engine, puts } = await setup({ groupCommit: false, carriedBatches });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => engine.upsert(NS, [{ id: `d${i}` }])));
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(puts()).toHaveLength(8 * (1 + batchObjects));
  });

  it("rebases over a commit of another process without losing either write", async () => {
    const { inner, engine } = await setup({ carriedBatches });
    const other = makeEngine(inner, { carriedBatches });
    await other.upsert(NS, [{ id: "theirs" }]);
    // `engine` still believes version 1 is the latest: its create of version 2 loses and rebases, reusing its batch.
    expect(await engine.upsert(NS, [{ id: "ours" }])).toMatchObject({ version: 3 });
    expect(engine.stats()).toMatchObject({ racesLost: 1, batchObjects, carriedBatches: 1 - batchObjects });
    const manifest = await other.manifest(NS);
    // Carried: the batch built for version 2 is carried by version 3, the version that committed it.
    if (carriedBatches) expect(manifest.containers.map((c) => c.carrierVersion)).toEqual([2, 3]);
    expect((await makeEngine(inner).documents(NS)).map((d) => d.id)).toEqual(["ours", "theirs"]);
  });
});

describe("group commit", () => {

  it("fails only the writes that are wrong, committing the rest together", async () => {
    const { engine, puts } = await setup();
    await engine.upsert(NS, [{ id: "exists", vector: vec(1, 1) }]);
    const outcomes = await Promise.allSettled([
      engine.upsert(NS, [{ id: "a", vector: vec(1, 2) }]),
      engine.upsert(NS, [{ id: "b", vector: vec(1, 2, 3) }]), // wrong dimension
      engine.patch(NS, [{ id: "ghost", attributes: { x: 1 } }]), // missing document
      engine.patch(NS, [{ id: "exists", attributes: { x: 1 } }]),
      engine.patch(NS, [{ id: "a", attributes: { y: 2 } }]), // sees "a" from the same group
      engine.delete(NS, ["exists"]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled", "fulfilled", "fulfilled"]);
    expect(isInvalidArgument((outcomes[1] as PromiseRejectedResult).reason)).toBe(true);
    expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({ code: "DocumentNotFound", ids: ["ghost"] });
    expect(new Set(outcomes.filter((o) => o.status === "fulfilled").map((o) => (o as PromiseFulfilledResult<{ version: number }>).value.version))).toEqual(
      new Set([3]),
    );
    expect(puts().filter((c) => c.key.includes("/manifests/"))).toHaveLength(2);
    expect((await engine.get(NS, ["a", "exists"])).map((d) => d?.attributes ?? null)).toEqual([{ y: 2 }, null]);
  });

  it("commits a conditional write alone, and two conditioned on the same version cannot both win", async () => {
    const { engine } = await setup();
    const outcomes = await Promise.allSettled([
      engine.upsert(NS, [{ id: "a" }], { ifVersion: 1 }),
      engine.upsert(NS, [{ id: "b" }], { ifVersion: 1 }),
      engine.upsert(NS, [{ id: "c" }]),
    ]);
    expect(outcomes[0]).toMatchObject({ status: "fulfilled", value: { version: 2 } });
    expect(isVersionConflict((outcomes[1] as PromiseRejectedResult).reason)).toBe(true);
    expect(outcomes[2]).toMatchObject({ status: "fulfilled", value: { version: 3 } });
  });

  it("respects the group's operation cap", async () => {
    const { engine, puts } = await setup({ groupCommit: { maxOps: 10 } });
    await Promise.all(Array.from({ length: 25 }, (_, i) => engine.upsert(NS, [{ id: `d${i}` }])));
    expect(puts().filter((c) => c.key.includes("/manifests/"))).toHaveLength(3);
  });

});
