/**
 * Branches, concurrent branching (the refcount shards' CAS), deletion with
 * shared objects, GC and repair on the real S3 server. Runs when
 * S3_ENDPOINT is set; under CI without it the suite fails loudly.
 */
import { afterAll, describe, expect, it } from "vitest";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { NamespaceEngine } from "@skerry/namespace-engine";
import { expectCountsNotBelowTruth, expectExactCounts, expectNoMissingObjects } from "./support/references.ts";

const s3 = s3TestTarget("namespace-engine-sharing");
const SRC = "acme/s3share/docs";

afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("sharing, GC and repair on the real S3 server", () => {
  it("concurrent branches from several processes' engines all count, deletion keeps shared objects, repair is exact", async () => {
    const storage = s3.open();
    const engine = new NamespaceEngine({ storage, retention: { keepVersions: 1, keepForMs: 0 } });
    await engine.createNamespace(SRC);
    for (let b = 0; b < 3; b++) await engine.upsert(SRC, Array.from({ length: 10 }, (_, i) => ({ id: `d${b}-${i}`, attributes: { b } })));
    await engine.deleteByFilter(SRC, ["b", "Eq", 1]);
    // Eight engines branch at once: every branch's holder lands in the same shards by CAS.
    const engines = Array.from({ length: 8 }, () => new NamespaceEngine({ storage }));
    await Promise.all(engines.map((e, i) => e.branchNamespace(SRC, `acme/s3share/b${i}`)));
    const shared = (await engine.manifest("acme/s3share/b0")).containers.map((c) => c.key);
    const counts = await engine.refcounts("acme", "s3share");
    for (const key of shared) expect(counts.get(key), key).toBe(9);
    await expectExactCounts(engine, "acme", "s3share");
    // The source moves on, compacts and collects: shared inputs stay for the branches.
    await engine.upsert(SRC, [{ id: "later" }]);
    await engine.compact(SRC, { force: true });
    await engine.deleteNamespace(SRC);
    for (const key of shared) expect(await storage.head(key), key).not.toBeNull();
    for (let i = 0; i < 8; i++) expect((await engine.documents(`acme/s3share/b${i}`)).length).toBe(20);
    await expectCountsNotBelowTruth(engine, "acme", "s3share");
    await Promise.all(engines.slice(0, 7).map((e, i) => e.deleteNamespace(`acme/s3share/b${i}`)));
    const report = await engine.repair("acme", "s3share");
    expect(report.live).toBe(1);
    await expectExactCounts(engine, "acme", "s3share");
    await expectNoMissingObjects(engine, storage, "acme", "s3share");
    expect((await engine.documents("acme/s3share/b7")).length).toBe(20);
  });
});
