/**
 * Conditional batch writes on the real S3 server: engines racing compare-and-set increments on one document
 * (create-only manifest puts decide the races) lose no update. Runs when S3_ENDPOINT is set.
 */
import { afterAll, describe, expect, it } from "vitest";
import { s3TestTarget } from "@skerry/storage-providers/testing";
import { NamespaceEngine } from "@skerry/namespace-engine";

const s3 = s3TestTarget("namespace-engine-conditional-writes");
const NS = "acme/s3/conditional";

afterAll(() => s3.cleanup());

describe.skipIf(!s3.shouldRun)("conditional batch writes on the real S3 server", () => {
  it("engines racing compare-and-set increments lose no update, and each increment's patch commits with it", async () => {
    const storage = s3.open();
    await new NamespaceEngine({ storage }).createNamespace(NS);
    await new NamespaceEngine({ storage }).upsert(NS, [{ id: "counter", attributes: { n: 0 } }]);
    const engines = Array.from({ length: 3 }, () => new NamespaceEngine({ storage, maxCommitAttempts: 1000, compaction: { auto: false } }));
    const perEngine = 4;
    await Promise.all(
      engines.map(async (engine, e) => {
        let won = 0;
        while (won < perEngine) {
          const [doc] = await engine.get(NS, ["counter"]);
          const n = doc?.attributes?.["n"] as number;
          const result = await engine.write(NS, {
            upserts: [{ id: "counter", attributes: { n: n + 1 } }],
            patches: [{ id: "counter", attributes: { [`by${e}`]: n + 1 } }],
            upsertCondition: ["n", "Eq", n],
          });
          // The patch sees the upsert only when it applied; otherwise it patches the current document.
          if (result.upserted.length === 1) won++;
        }
      }),
    );
    const [doc] = await new NamespaceEngine({ storage }).get(NS, ["counter"]);
    expect(doc?.attributes?.["n"]).toBe(3 * perEngine);
    // The last increment replaced the document and its own patch landed in the same commit; nothing wrote after it.
    const marks = Object.entries(doc?.attributes ?? {}).filter(([k]) => k.startsWith("by"));
    expect(marks.map(([, v]) => v)).toEqual([3 * perEngine]);
    await Promise.all(engines.map((e) => e.close()));
  }, 120_000);
});
