/**
 * Compaction: folds log batches, segments and tombstones into one segment
 * (with its query index), keeps writes and tombstones that land while it
 * runs, never blocks writers, and triggers itself in the background (by
 * default; not with `auto: false`).
 */
import { describe, expect, it } from "vitest";
import { MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import { deserializeQueryIndex, type NamespaceEngine, type StoredDocument } from "@skerry/namespace-engine";
import { makeEngine, memoryEngine } from "./support/harness.ts";

const NS = "acme/search/docs";

function snapshot(docs: StoredDocument[]): string {
  return JSON.stringify(docs, (_, value) => (value instanceof Float32Array ? Array.from(value) : value));
}

async function seed(engine: NamespaceEngine, batches = 5): Promise<void> {
  await engine.createNamespace(NS);
  for (let b = 0; b < batches; b++) {
    await engine.upsert(
      NS,
      Array.from({ length: 4 }, (_, i) => ({ id: `d${b * 4 + i}`, vector: [b, i], attributes: { b, i, kind: i % 2 === 0 ? "even" : "odd" } })),
    );
  }
  await engine.patch(NS, [{ id: "d0", attributes: { patched: true } }]);
  await engine.delete(NS, ["d1"]);
}

/** A storage that runs `hook` once, right after the first put whose key matches. */
function hookAfterPut(inner: StorageProvider, match: (key: string) => boolean, hook: () => Promise<void>): StorageProvider {
  let fired = false;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "put") {
        return async (key: string, bytes: Uint8Array, options?: unknown) => {
          const result = await target.put(key, bytes, options as never);
          if (!fired && match(key)) {
            fired = true;
            await hook();
          }
          return result;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("compaction", () => {
  it("folds every container into one segment without changing what reads return", async () => {
    const { storage, engine } = memoryEngine();
    await seed(engine);
    await engine.deleteByFilter(NS, ["kind", "Eq", "odd"]);
    await engine.patchByFilter(NS, ["b", "Eq", 2], { attributes: { touched: 1 } });
    const before = snapshot(await engine.documents(NS));
    const report = await engine.compact(NS, { force: true });
    expect(report).toMatchObject({ performed: true, liveDocuments: 10, removedObjects: 0, rebased: false });
    expect(report.segmentBytes).toBeGreaterThan(0);
    const manifest = await engine.manifest(NS);
    expect(manifest.version).toBe(report.version);
    expect(manifest.containers.map((c) => c.kind)).toEqual(["SEGMENT"]);
    expect(snapshot(await engine.documents(NS))).toBe(before);
    expect(snapshot(await makeEngine(storage).documents(NS))).toBe(before);
    // Older versions stay readable: nothing they reference was deleted.
    expect((await engine.documents(NS, { atVersion: 2 })).map((d) => d.id)).toEqual(["d0", "d1", "d2", "d3"]);
    // Again: already compact.
    expect((await engine.compact(NS, { force: true })).performed).toBe(false);
  });

  it("stores the segment's query index next to it, and the stored bytes deserialize", async () => {
    const { storage, engine } = memoryEngine();
    await seed(engine);
    await engine.compact(NS, { force: true });
    const [segment] = (await engine.manifest(NS)).containers;
    const indexKey = segment?.extra?.["index_key"];
    expect(typeof indexKey).toBe("string");
    const index = deserializeQueryIndex((await storage.get(indexKey as string)).bytes);
    expect(index.size).toBe(segment?.rowCount);
    expect(index.dimension).toBe(2);
  });

  it("does nothing below the thresholds unless forced", async () => {
    const { engine } = memoryEngine({ compaction: { auto: false, maxLogBatches: 10 } });
    await seed(engine, 3);
    expect((await engine.compact(NS)).performed).toBe(false);
    await seed2(engine, 8);
    expect((await engine.compact(NS)).performed).toBe(true);
  });

  it("keeps writes and tombstones that land while it runs (rebase), and tombstones on sealed inputs land in the new segment", async () => {
    const inner = new MemoryStorage();
    const setup = makeEngine(inner);
    await seed(setup);
    const writer = makeEngine(inner);
    const mutator = makeEngine(inner, { relocate: { baseDelayMs: 1, maxDelayMs: 5 } });
    await mutator.openNamespace(NS);
    let sealedDelete: Promise<unknown> | undefined;
    const during = async () => {
      // Before the seal: a predicate delete that completes (its bits are folded in by the compaction).
      await mutator.deleteByFilter(NS, ["id", "Eq", "d2"]);
      await writer.upsert(NS, [{ id: "new1", vector: [9, 9] }, { id: "d3", vector: [7, 7], attributes: { rewritten: true } }]);
      await writer.delete(NS, ["d4"]);
    };
    const afterSeal = async () => {
      // After the seal: this one's targets sit in sealed inputs; it re-locates until the swap commits.
      sealedDelete = mutator.deleteByFilter(NS, ["id", "In", ["d5", "d6"]]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      await writer.upsert(NS, [{ id: "new2" }]);
    };
    const compactor = makeEngine(
      hookAfterPut(
        hookAfterPut(inner, (key) => key.includes("/compactions/"), during),
        (key) => key.includes("/segments/") && key.endsWith(".arrow"),
        afterSeal,
      ),
    );
    const report = await compactor.compact(NS, { force: true });
    expect(report).toMatchObject({ performed: true, rebased: true });
    await sealedDelete;
    const ids = (await makeEngine(inner).documents(NS)).map((d) => d.id);
    expect(ids).toEqual(["d0", "d10", "d11", "d12", "d13", "d14", "d15", "d16", "d17", "d18", "d19", "d3", "d7", "d8", "d9", "new1", "new2"]);
    expect((await writer.get(NS, ["d3"]))[0]?.attributes).toEqual({ rewritten: true });
    const manifest = await writer.manifest(NS);
    expect(manifest.containers[0]?.kind).toBe("SEGMENT");
    expect(manifest.containers[0]?.tombstonesKey).toBeDefined();
  });

  it("does not compact in the background when auto is off", async () => {
    const { engine } = memoryEngine({ compaction: { auto: false, maxLogBatches: 2 } });
    await seed(engine, 4);
    await new Promise((r) => setTimeout(r, 20));
    expect((await engine.manifest(NS)).containers.every((c) => c.kind === "LOG_BATCH")).toBe(true);
  });

  it("compacts in the background by default when a write crosses a threshold, and close() waits for it", async () => {
    const { engine } = memoryEngine({ compaction: { maxLogBatches: 4 } });
    await seed(engine, 4);
    for (let i = 0; i < 200 && (await engine.manifest(NS)).containers[0]?.kind !== "SEGMENT"; i++) await new Promise((r) => setTimeout(r, 5));
    await engine.close();
    const manifest = await engine.manifest(NS);
    expect(manifest.containers[0]?.kind).toBe("SEGMENT");
    expect(manifest.containers.length).toBeLessThan(6);
  });
});

async function seed2(engine: NamespaceEngine, batches: number): Promise<void> {
  for (let b = 0; b < batches; b++) await engine.upsert(NS, [{ id: `more${b}` }]);
}
