import { MemoryStorage } from "@skerry/storage-providers";
import { NamespaceEngine } from "@skerry/namespace-engine";
import { describe, expect, it } from "vitest";
import { INLINE_KEY, manifestView } from "../src/http/manifest-view.ts";

describe("manifest view", () => {
  it("shows a batch carried inline in the manifest as inline, with no object key, and stored batches with theirs", async () => {
    const storage = new MemoryStorage();
    const engine = new NamespaceEngine({ storage, inlineBatches: { maxBatchBytes: 4096, maxTotalBytes: 64 * 1024 } });
    await engine.createNamespace("acme/search/docs");
    await engine.upsert("acme/search/docs", [{ id: "small", attributes: { n: 1 } }]);
    await engine.upsert("acme/search/docs", [{ id: "large", text: { body: "x".repeat(8192) } }]);
    await engine.deleteByFilter("acme/search/docs", ["id", "Eq", "small"]);
    const view = await manifestView(storage, await engine.manifest("acme/search/docs"));
    const [inline, stored] = view.containers;
    expect(inline).toMatchObject({ kind: "LOG_BATCH", key: INLINE_KEY, inline: true, rowCount: 1, tombstonedRows: 1 });
    expect(stored).toMatchObject({ kind: "LOG_BATCH", rowCount: 1 });
    expect(stored!.inline).toBeUndefined();
    expect((await storage.head(stored!.key)) !== null).toBe(true);
  });
});
