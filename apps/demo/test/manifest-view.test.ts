import { MemoryStorage } from "@skerry/storage-providers";
import { NamespaceEngine } from "@skerry/namespace-engine";
import { describe, expect, it } from "vitest";
import { manifestView } from "../src/http/manifest-view.ts";

describe("manifest view", () => {
  it("shows a batch carried by a manifest with its carrier version, and stored batches with their object key", async () => {
    const storage = new MemoryStorage();
    const engine = new NamespaceEngine({ storage, carriedBatches: { maxBatchBytes: 4096 } });
    await engine.createNamespace("acme/search/docs");
    await engine.upsert("acme/search/docs", [{ id: "small", attributes: { n: 1 } }]);
    await engine.upsert("acme/search/docs", [{ id: "large", text: { body: "x".repeat(8192) } }]);
    await engine.deleteByFilter("acme/search/docs", ["id", "Eq", "small"]);
    const view = await manifestView(storage, await engine.manifest("acme/search/docs"));
    const [carried, stored] = view.containers;
    expect(carried).toMatchObject({ kind: "LOG_BATCH", carrierVersion: 2, rowCount: 1, tombstonedRows: 1 });
    expect(carried!.key).toMatch(/^acme\/search\/ns\/docs\/log\/.+\.log$/);
    expect(stored).toMatchObject({ kind: "LOG_BATCH", rowCount: 1 });
    expect(stored!.carrierVersion).toBeUndefined();
    expect((await storage.head(stored!.key)) !== null).toBe(true);
  });
});
