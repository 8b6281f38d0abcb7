/**
 * CachingStorage block reads: any range assembled from cached blocks equals
 * the inner provider's bytes, and only the missing blocks are fetched,
 * adjacent ones coalesced into one ranged GET.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type ByteRange,
  CachingStorage,
  type CachingStorageOptions,
  type GetOptions,
  type GetResult,
  MemoryStorage,
  type StorageProvider,
} from "@skerry/storage-providers";

/** mulberry32: a small seeded PRNG, so a failing case replays from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPayload(size: number, next: () => number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(next() * 256);
  return bytes;
}

/** Wraps a provider and records every get with its range. */
class GetRecorder implements StorageProvider {
  readonly name = "recorder";
  readonly gets: { key: string; range: ByteRange | undefined }[] = [];
  constructor(readonly inner: StorageProvider) {}
  get(key: string, options: GetOptions = {}): Promise<GetResult> {
    this.gets.push({ key, range: options.range === undefined ? undefined : { ...options.range } });
    return this.inner.get(key, options);
  }
  head: StorageProvider["head"] = (key, options) => this.inner.head(key, options);
  put: StorageProvider["put"] = (key, bytes, options) => this.inner.put(key, bytes, options);
  delete: StorageProvider["delete"] = (key, options) => this.inner.delete(key, options);
  list: StorageProvider["list"] = (prefix, options) => this.inner.list(prefix, options);
}

const equal = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe("CachingStorage block reads", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "skerry-cache-ranges-"));
  });
  const caches: CachingStorage[] = [];
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.flush()));
    await rm(dir, { recursive: true, force: true });
  });

  function setup(options: Partial<CachingStorageOptions> = {}) {
    const store = new MemoryStorage();
    const recorder = new GetRecorder(store);
    const cache = new CachingStorage(recorder, { isImmutable: (key) => key.startsWith("seg/"), ...options });
    caches.push(cache);
    return { store, recorder, cache };
  }

  const configurations: { label: string; options: Partial<CachingStorageOptions> }[] = [
    { label: "block 1 B, roomy memory", options: { blockBytes: 1, memoryBytes: 1 << 20, maxMemoryEntryBytes: 1 << 20 } },
    { label: "block 7 B, memory of 5 blocks", options: { blockBytes: 7, memoryBytes: 35, maxMemoryEntryBytes: 35 } },
    { label: "block 64 B, fetches of 3 blocks", options: { blockBytes: 64, maxFetchBytes: 192 } },
    { label: "block 1000 B, disk only", options: { blockBytes: 1000, memoryBytes: 0, disk: { dir: "", maxBytes: 1 << 20 } } },
    { label: "block 4096 B, tiny disk", options: { blockBytes: 4096, memoryBytes: 8192, disk: { dir: "", maxBytes: 20_000 } } },
  ];

  for (const [index, { label, options }] of configurations.entries()) {
    it(`assembles random ranges byte-exact (${label})`, async () => {
      const seed = 1000 + index;
      const next = prng(seed);
      const disk = options.disk === undefined ? undefined : { ...options.disk, dir: join(dir, `tier-${index}`), sweepEveryBytes: 4096 };
      const { store, cache } = setup({ ...options, ...(disk === undefined ? {} : { disk }) });
      const B = cache.blockBytes;
      const sizes = [0, 1, B - 1, B, B + 1, 5 * B + 3, 1 + Math.floor(next() * 9 * B)].filter((s) => s >= 0);
      const objects = new Map<string, Uint8Array>();
      for (const [i, size] of sizes.entries()) {
        const bytes = randomPayload(size, next);
        objects.set(`seg/${i}`, bytes);
        await store.put(`seg/${i}`, bytes); // behind the cache: it has never seen these keys
      }
      for (let round = 0; round < 400; round++) {
        const key = `seg/${Math.floor(next() * sizes.length)}`;
        const object = objects.get(key)!;
        const size = object.byteLength;
        const shape = next();
        let range: ByteRange | undefined;
        if (shape < 0.1) range = undefined; // whole object
        else if (shape < 0.2) range = { offset: Math.floor(next() * (size + 2 * B + 1)) }; // to the end, maybe past it
        else if (shape < 0.3) range = { offset: Math.floor(next() * (size + 2)), length: 0 };
        else range = { offset: Math.floor(next() * (size + B)), length: 1 + Math.floor(next() * 3 * B) };
        const got = await cache.get(key, { range });
        const expected = await store.get(key, { range });
        expect(equal(got.bytes, expected.bytes), `seed ${seed} round ${round}: ${key} ${JSON.stringify(range)}`).toBe(true);
        expect(got.meta.size).toBe(size);
        expect(got.meta.etag).toBe(expected.meta.etag);
        if (round % 50 === 49) await cache.flush();
      }
      const stats = cache.stats();
      expect(stats.hits).toBeGreaterThan(0);
      expect(stats.corruptDiskEntries + stats.staleDiskEntries + stats.passThroughs).toBe(0);
    });
  }

  it("fetches only the missing blocks, adjacent ones in one ranged GET", async () => {
    const { store, recorder, cache } = setup({ blockBytes: 100, memoryBytes: 1 << 20, maxMemoryEntryBytes: 1 << 20 });
    const object = randomPayload(1050, prng(7));
    await store.put("seg/a", object);

    let got = await cache.get("seg/a", { range: { offset: 150, length: 200 } }); // blocks 1..3
    expect(equal(got.bytes, object.subarray(150, 350))).toBe(true);
    expect(recorder.gets).toEqual([{ key: "seg/a", range: { offset: 100, length: 300 } }]);

    got = await cache.get("seg/a", { range: { offset: 50, length: 400 } }); // blocks 0..4, 1..3 cached
    expect(equal(got.bytes, object.subarray(50, 450))).toBe(true);
    expect(recorder.gets.slice(1)).toEqual([
      { key: "seg/a", range: { offset: 0, length: 100 } },
      { key: "seg/a", range: { offset: 400, length: 100 } },
    ]);

    got = await cache.get("seg/a"); // the whole object: blocks 5..10 missing, the last one 50 B
    expect(equal(got.bytes, object)).toBe(true);
    expect(recorder.gets.slice(3)).toEqual([{ key: "seg/a", range: { offset: 500, length: 600 } }]);

    // Everything cached: no more calls, whatever the range.
    for (const range of [{ offset: 0 }, { offset: 999, length: 51 }, { offset: 1049, length: 1 }, { offset: 1000 }]) {
      const answer = await cache.get("seg/a", { range });
      expect(equal(answer.bytes, object.subarray(range.offset, range.offset + (range.length ?? 1050)))).toBe(true);
    }
    expect(recorder.gets).toHaveLength(4);
    expect(cache.stats()).toMatchObject({ innerFetches: 4, coalescedFetches: 2, bytesFetched: 1050 });
  });

  it("caps a coalesced fetch at maxFetchBytes", async () => {
    const { store, recorder, cache } = setup({ blockBytes: 100, maxFetchBytes: 250, memoryBytes: 1 << 20, maxMemoryEntryBytes: 1 << 20 });
    const object = randomPayload(1000, prng(8));
    await store.put("seg/b", object);
    const got = await cache.get("seg/b", { range: { offset: 0, length: 1000 } });
    expect(equal(got.bytes, object)).toBe(true);
    // The first fetch (size unknown) takes blocks 0..1; then 2..9 in runs of two.
    expect(recorder.gets.map((g) => g.range)).toEqual([
      { offset: 0, length: 200 },
      { offset: 200, length: 200 },
      { offset: 400, length: 200 },
      { offset: 600, length: 200 },
      { offset: 800, length: 200 },
    ]);
  });

  it("answers the last partial block, past-the-end and empty ranges from what it knows", async () => {
    const { store, recorder, cache } = setup({ blockBytes: 100, memoryBytes: 1 << 20, maxMemoryEntryBytes: 1 << 20 });
    const object = randomPayload(1050, prng(9));
    await store.put("seg/c", object);

    const tail = await cache.get("seg/c", { range: { offset: 1000 } });
    expect(equal(tail.bytes, object.subarray(1000))).toBe(true);
    expect(tail.meta.size).toBe(1050);
    // Size unknown, range open: one fetch as large as a fetch may be (1,024 blocks here).
    expect(recorder.gets).toEqual([{ key: "seg/c", range: { offset: 1000, length: 102_400 } }]);

    const partial = await cache.get("seg/c", { range: { offset: 1040, length: 100 } });
    expect(equal(partial.bytes, object.subarray(1040))).toBe(true);
    for (const range of [{ offset: 1050 }, { offset: 5000, length: 10 }, { offset: 3, length: 0 }, { offset: 1050, length: 0 }]) {
      const answer = await cache.get("seg/c", { range });
      expect(answer.bytes.byteLength).toBe(0);
      expect(answer.meta.size).toBe(1050);
    }
    expect(recorder.gets).toHaveLength(1); // the size was known after the first answer

    // An object the cache never saw: a past-the-end read costs one call, then none.
    await store.put("seg/d", object.subarray(0, 10));
    expect((await cache.get("seg/d", { range: { offset: 500, length: 5 } })).bytes.byteLength).toBe(0);
    expect((await cache.get("seg/d", { range: { offset: 700 } })).bytes.byteLength).toBe(0);
    expect(recorder.gets).toHaveLength(2);
  });

  it("a whole-object read of a large object leaves the memory tier alone", async () => {
    const { store, cache } = setup({ blockBytes: 100, memoryBytes: 1000 }); // reads over 250 B skip memory
    await store.put("seg/small", randomPayload(200, prng(10)));
    await cache.get("seg/small");
    expect(cache.stats().memoryBytes).toBe(200);
    const big = randomPayload(5000, prng(11));
    await store.put("seg/big", big);
    expect(equal((await cache.get("seg/big")).bytes, big)).toBe(true);
    expect(cache.stats()).toMatchObject({ memoryBytes: 200, memoryEvictions: 0 });
    // A small range of it is cached, as blocks.
    await cache.get("seg/big", { range: { offset: 4950, length: 100 } });
    expect(cache.stats().memoryBytes).toBe(200 + 100); // block 49, whole
    const innerBefore = cache.stats().innerFetches;
    await cache.get("seg/big", { range: { offset: 4960, length: 10 } });
    expect(cache.stats().innerFetches).toBe(innerBefore);
  });

  it("a write through the wrapper drops every block of the key", async () => {
    const { cache } = setup({ blockBytes: 10, memoryBytes: 1 << 20, maxMemoryEntryBytes: 1 << 20, disk: { dir: join(dir, "tier"), maxBytes: 1 << 20 } });
    const one = randomPayload(95, prng(12));
    const two = randomPayload(42, prng(13));
    await cache.put("seg/w", one);
    await cache.get("seg/w");
    await cache.flush();
    await cache.put("seg/w", two);
    expect(equal((await cache.get("seg/w", { range: { offset: 30, length: 50 } })).bytes, two.subarray(30))).toBe(true);
    expect(equal((await cache.get("seg/w")).bytes, two)).toBe(true);
    await cache.delete("seg/w");
    await expect(cache.get("seg/w", { range: { offset: 0, length: 5 } })).rejects.toMatchObject({ code: "NotFound" });
    expect(cache.stats().staleDiskEntries).toBe(0);
  });
});
