/**
 * Predicate mutations and compaction on the real S3 server: a compaction
 * with concurrent writers and a concurrent deleteByFilter keeps everything
 * that landed meanwhile. Runs when S3_ENDPOINT is set; under CI without it
 * the suite fails loudly (the configuration check lives in
 * multi-process.test.ts).
 */
import { afterAll, describe, expect, it } from "vitest";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { NamespaceEngine } from "@skerry/namespace-engine";

const s3 = s3TestTarget("namespace-engine-mutations");
const NS = "acme/s3/mutations";

afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("predicate mutations and compaction on the real S3 server", () => {
  it("a compaction with concurrent writers and a concurrent deleteByFilter keeps every write and tombstone", async () => {
    const storage = s3.open();
    const engine = new NamespaceEngine({ storage });
    const writer = new NamespaceEngine({ storage });
    const mutator = new NamespaceEngine({ storage, relocate: { baseDelayMs: 5, maxDelayMs: 50 } });
    await engine.createNamespace(NS);
    for (let b = 0; b < 6; b++) {
      await engine.upsert(NS, Array.from({ length: 20 }, (_, i) => ({ id: `d${b * 20 + i}`, vector: [b, i], attributes: { b, even: i % 2 === 0 } })));
    }
    await engine.patchByFilter(NS, ["b", "Eq", 0], { attributes: { first: true } });
    const writes = (async () => {
      for (let i = 0; i < 5; i++) await writer.upsert(NS, [{ id: `new${i}`, vector: [9, i] }]);
    })();
    const deletion = mutator.deleteByFilter(NS, ["even", "Eq", false]);
    const report = await engine.compact(NS, { force: true });
    await Promise.all([writes, deletion]);
    expect(report.performed).toBe(true);
    const docs = await new NamespaceEngine({ storage }).documents(NS);
    const ids = new Set(docs.map((d) => d.id));
    for (let i = 0; i < 5; i++) expect(ids.has(`new${i}`)).toBe(true);
    for (let n = 0; n < 120; n++) expect(ids.has(`d${n}`), `d${n}`).toBe(n % 2 === 0);
    expect(docs.filter((d) => d.attributes?.["first"] === true).map((d) => d.id).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `d${i * 2}`).sort(),
    );
    const recovered = await new NamespaceEngine({ storage }).recover(NS);
    expect(recovered.compactions).toMatchObject({ heldByPeer: 0 });
  });
});
