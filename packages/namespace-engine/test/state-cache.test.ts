/**
 * The materialized-state cache: LRU by entries and by estimated bytes,
 * one build per namespace at a time, advanced (not rebuilt) by commits,
 * and pins (persisted, re-warmed by `start`) and `warm`.
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage } from "@skerry/storage-providers";
import { isNamespaceNotFound } from "@skerry/namespace-engine";
import { errorOf, makeEngine, memoryEngine } from "./support/harness.ts";

const docs = (n: number, prefix = "d") =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, vector: [i, 1, 2, 3], attributes: { text: "x".repeat(100), i } }));

describe("state cache", () => {
  it("evicts least recently used states beyond the entry budget", async () => {
    const { engine } = memoryEngine({ stateCacheEntries: 2 });
    for (const ns of ["a", "b", "c"]) {
      await engine.createNamespace(`acme/s/${ns}`);
      await engine.upsert(`acme/s/${ns}`, docs(3));
    }
    await engine.documents("acme/s/a");
    await engine.documents("acme/s/b");
    await engine.documents("acme/s/a"); // a is now more recent than b
    await engine.documents("acme/s/c");
    const stats = engine.stats().stateCache;
    expect(stats.entries).toBe(2);
    expect(stats.evictions).toBeGreaterThanOrEqual(1);
    const folded = engine.stats().containersFolded;
    await engine.documents("acme/s/a"); // still cached
    expect(engine.stats().containersFolded).toBe(folded);
    await engine.documents("acme/s/b"); // evicted: folded again
    expect(engine.stats().containersFolded).toBe(folded + 1);
  });

  it("evicts by estimated bytes, never a pinned namespace", async () => {
    const { engine } = memoryEngine({ stateCacheBytes: 40_000 });
    for (const ns of ["big", "other"]) {
      await engine.createNamespace(`acme/s/${ns}`);
      await engine.upsert(`acme/s/${ns}`, docs(100, ns));
    }
    const warmed = await engine.pin("acme/s/big");
    expect(warmed).toMatchObject({ version: 2, docCount: 100 });
    expect(warmed.bytes).toBeGreaterThan(40_000);
    await engine.documents("acme/s/other");
    const stats = engine.stats().stateCache;
    expect(stats.entries).toBe(1); // "other" did not fit beside the pinned one
    expect(stats.pinned).toBe(1);
    const folded = engine.stats().containersFolded;
    await engine.documents("acme/s/big");
    expect(engine.stats().containersFolded).toBe(folded);
    await engine.unpin("acme/s/big");
    expect(engine.stats().stateCache.entries).toBe(0);
  });

  it("runs one build per namespace for concurrent readers, and a commit advances the state by its new container only", async () => {
    const storage = new MemoryStorage();
    const writer = makeEngine(storage);
    await writer.createNamespace("acme/s/n");
    for (let i = 0; i < 5; i++) await writer.upsert("acme/s/n", docs(2, `b${i}-`));
    const reader = makeEngine(storage);
    const results = await Promise.all(Array.from({ length: 10 }, () => reader.documents("acme/s/n")));
    expect(results.every((r) => r.length === 10)).toBe(true);
    expect(reader.stats().containersFolded).toBe(5);
    expect(reader.stats().stateCache.builds).toBe(1);
    await reader.upsert("acme/s/n", [{ id: "new" }]);
    expect((await reader.documents("acme/s/n")).length).toBe(11);
    expect(reader.stats().containersFolded).toBe(6);
  });

  it("persists pins engine-wide: a restarted engine warms them on start; info says pinned; unpin is persisted", async () => {
    const storage = new MemoryStorage();
    const first = makeEngine(storage);
    await first.createNamespace("acme/s/hot");
    await first.createNamespace("acme/s/cold");
    await first.upsert("acme/s/hot", docs(4));
    await first.pin("acme/s/hot");
    expect(isNamespaceNotFound(await errorOf(first.pin("acme/s/missing")))).toBe(true);
    expect(await first.pinnedNamespaces()).toEqual(["acme/s/hot"]);
    expect((await first.getNamespace("acme/s/hot")).pinned).toBe(true);
    expect((await first.getNamespace("acme/s/cold")).pinned).toBe(false);

    const restarted = makeEngine(storage);
    const report = await restarted.start();
    expect(report.warmed).toEqual([expect.objectContaining({ path: "acme/s/hot", version: 2, docCount: 4 })]);
    expect(report.failed).toEqual([]);
    const folded = restarted.stats().containersFolded;
    expect((await restarted.documents("acme/s/hot")).length).toBe(4);
    expect(restarted.stats().containersFolded).toBe(folded); // served warm
    expect((await restarted.getNamespace("acme/s/hot")).pinned).toBe(true);

    await restarted.unpin("acme/s/hot");
    expect(await makeEngine(storage).pinnedNamespaces()).toEqual([]);
    await first.deleteNamespace("acme/s/cold");
    await first.pin("acme/s/hot");
    await first.deleteNamespace("acme/s/hot");
    expect((await makeEngine(storage).start()).failed).toEqual([{ path: "acme/s/hot", code: "NamespaceNotFound" }]);
  });
});
