/**
 * CachingStorage disk tier: entries persist across instances, every read
 * verifies its entry (torn, truncated, corrupt or foreign files are deleted
 * and fetched again, never served), vanished files are misses, entries of
 * another version are stale, and sweeps evict the oldest entries by mtime.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CachingStorage, FaultInjectingStorage, MemoryStorage } from "@skerry/storage-providers";

function flip(file: Buffer, at: number, mask: number): Buffer {
  file[at] = file[at]! ^ mask;
  return file;
}

const equal = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Every file under the cache directory (in its shard directories), by suffix. */
async function cacheFiles(root: string, suffix = ".blk"): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, shard)).catch(() => [] as string[])) {
      if (name.endsWith(suffix)) out.push(join(root, shard, name));
    }
  }
  return out.sort();
}

describe("CachingStorage disk tier", () => {
  let dir: string;
  let cacheDir: string;
  let store: MemoryStorage;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "skerry-cache-disk-"));
    cacheDir = join(dir, "cache");
    store = new MemoryStorage();
  });
  const caches: CachingStorage[] = [];
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.flush()));
    await rm(dir, { recursive: true, force: true });
  });

  /** A cache with no memory tier, so every read goes to disk. */
  function instance(disk: { maxBytes?: number; touchIntervalMs?: number } = {}) {
    const inner = new FaultInjectingStorage(store);
    const cache = new CachingStorage(inner, {
      isImmutable: (key) => key.startsWith("seg/"),
      blockBytes: 1000,
      memoryBytes: 0,
      disk: { dir: cacheDir, maxBytes: disk.maxBytes ?? 1 << 20, ...(disk.touchIntervalMs === undefined ? {} : { touchIntervalMs: disk.touchIntervalMs }) },
    });
    caches.push(cache);
    const gets = () => inner.calls.filter((c) => c.op === "get").length;
    return { cache, gets };
  }

  it("a new instance on the same directory serves what an earlier one stored", async () => {
    const object = randomBytes(4500);
    await store.put("seg/p", object);
    const first = instance();
    await first.cache.get("seg/p", { range: { offset: 500, length: 3000 } }); // blocks 0..3
    await first.cache.flush();
    expect(await cacheFiles(cacheDir)).toHaveLength(4);

    const second = instance();
    const got = await second.cache.get("seg/p", { range: { offset: 1200, length: 2000 } }); // blocks 1..3
    expect(equal(got.bytes, object.subarray(1200, 3200))).toBe(true);
    expect(second.gets()).toBe(0);
    expect(second.cache.stats()).toMatchObject({ diskHits: 3, misses: 0 });
    // The size came from the entries: the rest of the object costs one fetch of blocks 4.
    expect(equal((await second.cache.get("seg/p")).bytes, object)).toBe(true);
    expect(second.gets()).toBe(1);
    expect(second.cache.stats()).toMatchObject({ diskHits: 7, misses: 1, innerFetches: 1 });
  });

  it("the entry format is the documented one", async () => {
    await store.put("seg/format", new Uint8Array(1234).fill(7));
    const { cache } = instance();
    await cache.get("seg/format", { range: { offset: 1000, length: 10 } });
    await cache.flush();
    const [path] = await cacheFiles(cacheDir);
    const name = path!.split("/").pop()!;
    const hash = createHash("sha256").update("seg/format").digest("hex");
    expect(path!.endsWith(join(hash.slice(0, 2), `${hash}.1000.1.blk`))).toBe(true);
    const file = await readFile(path!);
    expect(file.subarray(0, 8).toString("latin1")).toBe("SKCBLOCK");
    expect(file.readUInt16LE(8)).toBe(1);
    const headerLength = file.readUInt32LE(12);
    expect(file.readUInt32LE(16)).toBe(234);
    expect(file.byteLength).toBe(52 + headerLength + 234);
    const header = JSON.parse(file.subarray(52, 52 + headerLength).toString("utf8"));
    expect(header).toMatchObject({ key: "seg/format", block: 1, blockBytes: 1000, size: 1234 });
    expect(name).toBe(`${hash}.1000.1.blk`);
  });

  const damages: { name: string; damage: (file: Buffer, other: Buffer) => Buffer }[] = [
    { name: "empty", damage: () => Buffer.alloc(0) },
    { name: "truncated inside the fixed header", damage: (file) => file.subarray(0, 30) },
    { name: "torn: the payload cut short", damage: (file) => file.subarray(0, file.byteLength - 100) },
    { name: "torn: the tail never written (zeros)", damage: (file) => Buffer.concat([file.subarray(0, 200), Buffer.alloc(file.byteLength - 200)]) },
    { name: "a flipped payload bit", damage: (file) => flip(file, file.byteLength - 7, 0x10) },
    { name: "a flipped header byte", damage: (file) => flip(file, 60, 0x01) },
    { name: "bytes appended", damage: (file) => Buffer.concat([file, Buffer.from("extra")]) },
    { name: "random garbage", damage: (file) => randomBytes(file.byteLength) },
    { name: "another block's valid entry", damage: (_, other) => other },
    {
      name: "a future format version",
      damage: (file) => {
        file.writeUInt16LE(2, 8);
        return file;
      },
    },
  ];

  for (const { name, damage } of damages) {
    it(`an entry damaged so (${name}) is deleted and fetched again, never served`, async () => {
      const object = randomBytes(3000);
      await store.put("seg/d", object);
      const writer = instance();
      await writer.cache.get("seg/d");
      await writer.cache.flush();
      const files = await cacheFiles(cacheDir);
      expect(files).toHaveLength(3);
      const target = files.find((f) => f.endsWith(".1.blk"))!;
      const other = await readFile(files.find((f) => f.endsWith(".2.blk"))!);
      await writeFile(target, damage(await readFile(target), other));

      const reader = instance();
      const got = await reader.cache.get("seg/d", { range: { offset: 500, length: 2000 } }); // blocks 0..2
      expect(equal(got.bytes, object.subarray(500, 2500))).toBe(true);
      expect(reader.cache.stats()).toMatchObject({ corruptDiskEntries: 1, diskHits: 2, misses: 1 });
      expect(reader.gets()).toBe(1);
      await reader.cache.flush();
      // The damaged file was replaced by a good entry, which the next instance serves.
      const third = instance();
      expect(equal((await third.cache.get("seg/d")).bytes, object)).toBe(true);
      expect(third.gets()).toBe(0);
      expect(third.cache.stats().corruptDiskEntries).toBe(0);
    });
  }

  it("entries that vanish (another process evicted them, or the whole directory) are misses", async () => {
    const object = randomBytes(5000);
    await store.put("seg/v", object);
    const { cache, gets } = instance();
    await cache.get("seg/v");
    await cache.flush();
    const files = await cacheFiles(cacheDir);
    for (const file of files.slice(0, 3)) await rm(file);
    expect(equal((await cache.get("seg/v")).bytes, object)).toBe(true);
    expect(cache.stats()).toMatchObject({ diskHits: 2, corruptDiskEntries: 0, diskErrors: 0 });
    await cache.flush();
    await rm(cacheDir, { recursive: true, force: true });
    expect(equal((await cache.get("seg/v", { range: { offset: 4000 } })).bytes, object.subarray(4000))).toBe(true);
    await cache.flush(); // writing recreates the directory
    expect(await cacheFiles(cacheDir)).toHaveLength(1);
    expect(cache.stats().diskErrors).toBe(0);
    expect(gets()).toBe(3);
  });

  it("an entry of another version of the object is stale: deleted, not served", async () => {
    await store.put("seg/s", new Uint8Array(2500).fill(1));
    const first = instance();
    await first.cache.get("seg/s");
    await first.cache.flush();
    // The key is rewritten behind every cache (breaking the immutability promise).
    await store.put("seg/s", new Uint8Array(2500).fill(2));
    const second = instance();
    expect((await second.cache.head("seg/s"))!.size).toBe(2500); // learns the new etag
    const got = await second.cache.get("seg/s", { range: { offset: 900, length: 200 } });
    expect(got.bytes.every((b) => b === 2)).toBe(true);
    expect(second.cache.stats()).toMatchObject({ staleDiskEntries: 2, diskHits: 0 });
    // A read that finds a new etag mid-read starts over and never mixes versions.
    await second.cache.flush();
    await store.put("seg/s", new Uint8Array(2500).fill(3));
    const third = instance();
    const whole = await third.cache.get("seg/s"); // block 0 of version 2 on disk, the rest fetched (version 3)
    expect(new Set(whole.bytes).size).toBe(1);
  });

  it("a sweep evicts the oldest entries by mtime down to 90% of the budget, and old temp files", async () => {
    const { cache } = instance({ maxBytes: 100_000 });
    for (let i = 0; i < 10; i++) {
      await store.put(`seg/e${i}`, randomBytes(1000));
      await cache.get(`seg/e${i}`);
    }
    await cache.flush();
    const files = await cacheFiles(cacheDir);
    const entryBytes = (await stat(files[0]!)).size;
    // Age them: e0 oldest ... e9 newest.
    const now = Date.now() / 1000;
    const byKey = new Map<string, string>();
    for (let i = 0; i < 10; i++) {
      const hash = createHash("sha256").update(`seg/e${i}`).digest("hex");
      byKey.set(`seg/e${i}`, files.find((f) => f.includes(hash))!);
      await utimes(byKey.get(`seg/e${i}`)!, now - 1000 + i, now - 1000 + i);
    }
    const staleTemp = join(cacheDir, "ab", "x.blk.1.deadbeef.tmp");
    const freshTemp = join(cacheDir, "ab", "y.blk.1.deadbeef.tmp");
    await mkdir(join(cacheDir, "ab"), { recursive: true });
    await writeFile(staleTemp, "partial");
    await writeFile(freshTemp, "partial");
    await utimes(staleTemp, now - 7200, now - 7200);

    const small = new CachingStorage(store, {
      isImmutable: () => true,
      blockBytes: 1000,
      memoryBytes: 0,
      disk: { dir: cacheDir, maxBytes: entryBytes * 6 },
    });
    caches.push(small);
    const sweep = await small.sweepDisk();
    // 10 entries over a budget of 6: down to 90% of it, 5 entries, the newest.
    expect(sweep).toMatchObject({ entries: 5, evicted: 5, bytes: entryBytes * 5 });
    for (let i = 0; i < 10; i++) {
      const exists = await stat(byKey.get(`seg/e${i}`)!).then(
        () => true,
        () => false,
      );
      expect(exists, `seg/e${i}`).toBe(i >= 5);
    }
    expect(await cacheFiles(cacheDir, ".tmp")).toEqual([freshTemp]);
    expect(small.stats()).toMatchObject({ diskEvictions: 5, evictions: 5, diskEntries: 5 });
  });

  it("a read refreshes an entry's mtime, so what is read stays", async () => {
    await store.put("seg/old", randomBytes(800));
    await store.put("seg/new", randomBytes(800));
    const { cache } = instance({ touchIntervalMs: 0 });
    await cache.get("seg/old");
    await cache.get("seg/new");
    await cache.flush();
    const [a, b] = await cacheFiles(cacheDir);
    const past = Date.now() / 1000 - 3600;
    await utimes(a!, past, past);
    await utimes(b!, past, past);
    await cache.get("seg/old");
    const fresh = await cacheFiles(cacheDir).then((files) => Promise.all(files.map(async (f) => ({ f, m: (await stat(f)).mtimeMs }))));
    const oldHash = createHash("sha256").update("seg/old").digest("hex");
    for (const { f, m } of fresh) {
      if (f.includes(oldHash)) expect(m).toBeGreaterThan(Date.now() - 60_000);
      else expect(m).toBeLessThan(Date.now() - 3_000_000);
    }
  });

  it("clear drops memory, remembered metas and every disk entry", async () => {
    const object = randomBytes(2500);
    await store.put("seg/clear", object);
    const { cache, gets } = instance();
    await cache.get("seg/clear");
    await cache.flush();
    expect(await cacheFiles(cacheDir)).toHaveLength(3);
    await cache.clear();
    expect(await cacheFiles(cacheDir)).toEqual([]);
    expect(cache.stats()).toMatchObject({ memoryBytes: 0, diskEntries: 0 });
    expect(equal((await cache.get("seg/clear")).bytes, object)).toBe(true);
    expect(gets()).toBe(2);
  });

  it("a cache with a memory tier never keeps a damaged entry: it fetches, then serves from memory", async () => {
    const object = randomBytes(1500);
    await store.put("seg/m", object);
    const writer = instance();
    await writer.cache.get("seg/m");
    await writer.cache.flush();
    for (const file of await cacheFiles(cacheDir)) await truncate(file, 60);
    const reader = new CachingStorage(new FaultInjectingStorage(store), {
      isImmutable: () => true,
      blockBytes: 1000,
      disk: { dir: cacheDir, maxBytes: 1 << 20 },
    });
    caches.push(reader);
    expect(equal((await reader.get("seg/m")).bytes, object)).toBe(true);
    expect(equal((await reader.get("seg/m")).bytes, object)).toBe(true);
    expect(reader.stats()).toMatchObject({ corruptDiskEntries: 1, memoryHits: 2 });
  });
});
