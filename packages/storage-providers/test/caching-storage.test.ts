import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CachingStorage, FaultInjectingStorage, LocalFsStorage, MemoryStorage } from "@skerry/storage-providers";
import { describeStorageConformance } from "@skerry/storage-providers/testing";

/** Every block file under a disk tier's directory (in its shard directories). */
async function blockFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(root)) {
    for (const name of await readdir(join(root, shard))) if (name.endsWith(".blk")) out.push(join(root, shard, name));
  }
  return out.sort();
}

const text = (value: string) => new TextEncoder().encode(value);
const str = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describeStorageConformance({
  name: "local-fs+cache",
  keyMayBePrefixOfKey: false,
  create: async () => {
    const root = await mkdtemp(join(tmpdir(), "skerry-cached-"));
    // Every key declared immutable, a small memory tier and a disk tier, so
    // the suite's rewrites exercise invalidation and both tiers.
    const storage = new CachingStorage(new LocalFsStorage({ root: join(root, "data") }), {
      isImmutable: () => true,
      memoryBytes: 1024 * 1024,
      disk: { dir: join(root, "cache"), maxBytes: 8 * 1024 * 1024 },
    });
    const cleanup = async () => {
      await storage.flush(); // disk fills run in the background: let them land before removing the directory
      await rm(root, { recursive: true, force: true });
    };
    return { storage, cleanup };
  },
});

describeStorageConformance({
  name: "memory+cache(1 KiB blocks)",
  // Small blocks and a small memory tier: the suite's ranges and payloads
  // cross many blocks, and its rewrites exercise invalidation.
  create: async () => ({
    storage: new CachingStorage(new MemoryStorage(), {
      isImmutable: () => true,
      blockBytes: 1024,
      maxFetchBytes: 16 * 1024,
      memoryBytes: 256 * 1024,
    }),
  }),
});

describe("CachingStorage", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "skerry-cache-test-"));
  });
  const caches: CachingStorage[] = [];
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.flush()));
    await rm(dir, { recursive: true, force: true });
  });

  function setup(options: { memoryBytes?: number; disk?: boolean } = {}) {
    const inner = new FaultInjectingStorage(new MemoryStorage());
    const cache = new CachingStorage(inner, {
      isImmutable: (key) => key.startsWith("seg/"),
      memoryBytes: options.memoryBytes ?? 1024,
      ...(options.disk ? { disk: { dir: join(dir, "tier"), maxBytes: 4096 } } : {}),
    });
    caches.push(cache);
    const innerGets = () => inner.calls.filter((c) => c.op === "get").length;
    return { inner, cache, innerGets };
  }

  it("serves an immutable key from memory after the first read", async () => {
    const { cache, innerGets } = setup();
    await cache.put("seg/1", text("segment one"));
    expect(str((await cache.get("seg/1")).bytes)).toBe("segment one");
    expect(str((await cache.get("seg/1")).bytes)).toBe("segment one");
    expect(str((await cache.get("seg/1", { range: { offset: 8 } })).bytes)).toBe("one");
    expect(innerGets()).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 1, hits: 2, memoryHits: 2, memoryEntries: 1 });
  });

  it("never serves a mutable key from cache", async () => {
    const { inner, cache, innerGets } = setup();
    await cache.put("manifest/head", text("v1"));
    expect(str((await cache.get("manifest/head")).bytes)).toBe("v1");
    // A write that bypasses this wrapper (another process) is seen at once.
    await inner.inner.put("manifest/head", text("v2"));
    expect(str((await cache.get("manifest/head")).bytes)).toBe("v2");
    expect(innerGets()).toBe(2);
    expect(cache.stats()).toMatchObject({ hits: 0, bypasses: 2, memoryEntries: 0 });
  });

  it("drops a key on put and delete through it", async () => {
    const { cache } = setup();
    await cache.put("seg/x", text("old"));
    await cache.get("seg/x");
    await cache.put("seg/x", text("new"));
    expect(str((await cache.get("seg/x")).bytes)).toBe("new");
    await cache.delete("seg/x");
    expect(await cache.head("seg/x")).toBeNull();
    await expect(cache.get("seg/x")).rejects.toMatchObject({ code: "NotFound" });
  });

  it("does not fill the cache with bytes read before a concurrent write", async () => {
    const { inner, cache } = setup();
    await cache.put("seg/race", text("old"));
    inner.addLatency(30, (call) => call.op === "get", { when: "after" });
    const slowRead = cache.get("seg/race");
    await new Promise((resolve) => setTimeout(resolve, 5));
    await cache.put("seg/race", text("new"));
    expect(str((await slowRead).bytes)).toBe("old");
    inner.clearFaults();
    expect(str((await cache.get("seg/race")).bytes)).toBe("new");
  });

  it("evicts the least recently used entries beyond the byte budget", async () => {
    const { cache, innerGets } = setup({ memoryBytes: 1000 });
    for (const name of ["a", "b", "c", "d"]) await cache.put(`seg/${name}`, new Uint8Array(240));
    for (const name of ["a", "b", "c", "d"]) await cache.get(`seg/${name}`);
    await cache.get("seg/a"); // a is now the most recent
    await cache.put("seg/e", new Uint8Array(240));
    await cache.get("seg/e"); // evicts b, the least recent
    expect(cache.stats().memoryBytes).toBeLessThanOrEqual(1000);
    expect(cache.stats().evictions).toBe(1);
    const before = innerGets();
    await cache.get("seg/a");
    expect(innerGets()).toBe(before);
    await cache.get("seg/b");
    expect(innerGets()).toBe(before + 1);
  });

  it("keeps objects too large for memory on disk and serves them from there", async () => {
    const { cache, innerGets } = setup({ memoryBytes: 1000, disk: true });
    await cache.put("seg/big", new Uint8Array(2000).fill(5));
    await cache.get("seg/big");
    await cache.flush(); // disk fills run in the background
    const again = await cache.get("seg/big");
    expect(again.bytes.every((b) => b === 5)).toBe(true);
    expect(innerGets()).toBe(1);
    expect(cache.stats()).toMatchObject({ diskHits: 1, diskEntries: 1 });
  });

  it("reuses the disk tier across instances and rejects a corrupted entry", async () => {
    const first = setup({ memoryBytes: 100, disk: true });
    await first.cache.put("seg/persist", new Uint8Array(500).fill(3));
    await first.cache.get("seg/persist");
    await first.cache.flush();
    const second = setup({ memoryBytes: 100, disk: true });
    await second.inner.inner.put("seg/persist", new Uint8Array(500).fill(3));
    await second.cache.get("seg/persist");
    expect(second.innerGets()).toBe(0);
    expect(second.cache.stats().diskHits).toBe(1);

    const [file] = await blockFiles(join(dir, "tier"));
    const bytes = await readFile(file!);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(file!, bytes);
    const third = setup({ memoryBytes: 100, disk: true });
    await third.inner.inner.put("seg/persist", new Uint8Array(500).fill(3));
    const read = await third.cache.get("seg/persist");
    expect(read.bytes.every((b) => b === 3)).toBe(true);
    expect(third.cache.stats().corruptDiskEntries).toBe(1);
    expect(third.innerGets()).toBe(1);
  });
});
